"""A two-stage Fellegi-Sunter model for outcome -> crime-suspect links.

A candidate pair is a link when the outcome record and the suspect are the **same person** and the
record disposes of **that crime**. Repeat offenders make the second question the hard one: most
candidate pairs are the right person on the wrong crime, so one EM over all comparisons learns
"same person" and leaves the crime evidence unweighted (we measured this; see docs/linkage_method.md).
So the model has two stages, each an engine :class:`~linkage.engine.LinkageModel`:

* **person**: names, date of birth, PNC ID, sex. u from random record pairs, m by EM over the candidates
  (Splink's training order). Gives P(same person).
* **crime**: offence compatibility, offence date, directional outcome lag, force, place, crime reference.
  EM over the pairs that are the same person with probability >= ``person_threshold``: there a
  non-match is "the same person's other crime", which is exactly the population u must describe.
  Gives P(this crime | same person).

Scoring has three classes: **M** this crime of this person, **S** the same person's other crime, **D** a
different person. The crime stage gives the odds M:S (with a record-level posterior: a record disposes of
at most one of its candidates, see :func:`fit_record_em`); the odds M:D are the person odds times the
crime comparisons' Bayes factor against random pairs. ``match_weight`` is the log2 odds of M against both;
``person_probability``, ``crime_probability`` and ``bf_<comparison>`` (log2 Bayes factors) explain it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from linkage._io import write_text
from linkage.engine import Comparison, LinkageModel, jit
from linkage.engine.blocking import BlockingRule
from linkage.engine.kernels import run_chunks
from linkage.engine.model import prediction_frame, weight_probability
from linkage.errors import LinkageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

__all__ = [
    "CRIME_KEY",
    "PARAMS_FORMAT",
    "PERSON_COMPARISONS",
    "RecordEMResult",
    "TwoStageModel",
    "combine_weights",
    "crime_keys",
    "fit_record_em",
    "record_posterior",
]

PARAMS_FORMAT = "linkage-justice-two-stage/2"

CRIME_KEY = "crime_key"
"""Level-frame column :meth:`TwoStageModel.compare` adds: a hash of the left record's crime identity, so
the record-level step treats two suspect rows of one crime as one alternative (:func:`record_posterior`)."""

PERSON_COMPARISONS: tuple[str, ...] = ("name", "dob", "pnc_id", "sex")
"""Comparison names that belong to the person stage; every other comparison is in the crime stage."""


def combine_weights(w_person: np.ndarray, w_crime: np.ndarray) -> np.ndarray:
    """log2 odds of ``sigmoid(w_person) * sigmoid(w_crime)`` (weights in bits), computed in log space so
    pairs whose probabilities both round to 1.0 keep distinct weights."""
    a = np.asarray(w_person, dtype=float) * np.log(2.0)
    b = np.asarray(w_crime, dtype=float) * np.log(2.0)
    log_p = -np.logaddexp(0.0, -a) - np.logaddexp(0.0, -b)
    log_not_a = -np.logaddexp(0.0, a)  # log(1 - sigmoid(a))
    log_not_b = -np.logaddexp(0.0, b)
    log_not_p = np.logaddexp(log_not_a, -np.logaddexp(0.0, -a) + log_not_b)
    return (log_p - log_not_p) / np.log(2.0)


@dataclass(frozen=True)
class RecordEMResult:
    """Outcome of :func:`fit_record_em`: iterations run, convergence, and the expected share of records
    with a true crime among their candidates."""

    iterations: int
    converged: bool
    share_records_matched: float
    n_pairs: int
    pi: float
    log_likelihood: tuple[float, ...] = field(default=(), repr=False)


def fit_record_em(
    model: LinkageModel,
    levels: pd.DataFrame,
    records: np.ndarray,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    ll_tol: float = 1e-6,
    floor: float = 1e-4,
) -> RecordEMResult:
    """EM for m, u and the prior in which each outcome record has **at most one** true candidate.

    The E-step shares each record's probability of having a match among its candidates (softmax of
    their log-odds against "none of them"), instead of treating every pair as independent. Plain EM on
    same-person pairs otherwise settles on a class like "a caution within weeks of any of this person's
    crimes", because a repeat offender's other crimes agree on much of the crime evidence. Missing
    levels are neutral. Sets ``model.m``, ``model.u`` and ``model.prior`` (per-candidate prior).

    Converged when no m, u or pi moves by ``tol`` **or** an iteration gains less than ``ll_tol`` nats of
    log-likelihood per pair. The second matters when every record's crime is among its candidates: the
    maximum-likelihood pi is then 1, on the boundary, where EM creeps towards it sublinearly (pi 0.992
    at iteration 10, 0.99995 at 200 on the 'small' world, seed 4, cautions) while the likelihood is flat
    (0.02 nats gained over those 190 iterations on 1,755 pairs): the data cannot tell those fits apart.
    """
    names = model.names
    X = levels[names].to_numpy(dtype=np.int64)
    rec_codes, _ = pd.factorize(pd.Series(records))
    n_rec = int(rec_codes.max()) + 1 if len(rec_codes) else 0
    comps = model.comparisons
    m = [_start_m(c.n_levels) for c in comps]
    # Start from "agreement is evidence": m geometric towards level 0, u flat. (Starting u at the level
    # frequencies lets the classes swap when most candidates are true matches.)
    u = [np.full(c.n_levels, 1.0 / c.n_levels) for c in comps]
    # Record r has a true crime among its n_r candidates with probability pi, each equally likely a
    # priori: P(candidate k | data) = (pi/n_r) BF_k / ((1 - pi) + (pi/n_r) sum_k BF_k).
    n_cand = np.bincount(rec_codes, minlength=n_rec).astype(float)
    pi = 0.5
    converged = False
    iterations = 0
    p = np.zeros(len(X))
    trace: list[float] = []
    gain = np.inf
    for it in range(1, max_iter + 1):
        iterations = it
        score = np.log(pi) - np.log(n_cand[rec_codes])
        log_u_total = 0.0
        for j in range(len(comps)):
            col = X[:, j]
            ok = col >= 0
            idx = np.where(ok, col, 0)
            log_u = np.where(ok, np.log(np.maximum(u[j][idx], floor)), 0.0)
            score += np.where(ok, np.log(np.maximum(m[j][idx], floor)), 0.0) - log_u
            log_u_total += float(log_u.sum())
        none = np.full(n_rec, np.log(max(1.0 - pi, 1e-12)))
        top = np.maximum(none, _group_max(score, rec_codes, n_rec))
        e = np.exp(score - top[rec_codes])
        denom = np.exp(none - top) + np.bincount(rec_codes, weights=e, minlength=n_rec)
        p = e / denom[rec_codes]
        # log P(data) = sum over pairs of log u + sum over records of log((1 - pi) + pi/n sum_k BF_k)
        trace.append(log_u_total + float((top + np.log(denom)).sum()))
        if len(trace) > 1:
            gain = trace[-1] - trace[-2]
            if abs(gain) < ll_tol * max(len(X), 1):
                converged = True
                break
        change = 0.0
        for j, c in enumerate(comps):
            col = X[:, j]
            ok = col >= 0
            mm = np.bincount(col[ok], weights=p[ok], minlength=c.n_levels)
            uu = np.bincount(col[ok], weights=1.0 - p[ok], minlength=c.n_levels)
            mm = mm / mm.sum() if mm.sum() > 0 else m[j]
            uu = uu / uu.sum() if uu.sum() > 0 else u[j]
            change = max(change, float(np.abs(mm - m[j]).max()), float(np.abs(uu - u[j]).max()))
            m[j], u[j] = mm, uu
        new_pi = float(np.clip(np.bincount(rec_codes, weights=p, minlength=n_rec).mean(), 1e-6, 1 - 1e-6))
        change = max(change, abs(new_pi - pi))
        pi = new_pi
        if change < tol:
            converged = True
            break
    if not converged:
        logger.warning(
            "record EM did not converge in %d iterations (last log-likelihood gain %.3g nats)", max_iter, gain
        )
    for j, c in enumerate(comps):
        mv = np.maximum(m[j], floor)
        uv = np.maximum(u[j], floor)
        model.set_m_u(c.name, mv / mv.sum(), uv / uv.sum())
    # Per-pair prior for prediction: pi spread over a record's candidates on average.
    model.prior = float(np.clip(pi * n_rec / max(len(X), 1), 1e-9, 1 - 1e-9))
    model.u_source = "record-constrained EM over same-person candidate pairs"
    matched = float(np.bincount(rec_codes, weights=p, minlength=n_rec).mean()) if n_rec else 0.0
    return RecordEMResult(
        iterations=iterations,
        converged=converged,
        share_records_matched=matched,
        n_pairs=len(X),
        pi=pi,
        log_likelihood=tuple(trace),
    )


def record_posterior(
    bf_bits: np.ndarray, records: np.ndarray, pi: float, alternatives: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Probability (and its log2 odds) that each candidate is its record's true crime, when a record has
    one with probability ``pi``, equally likely any of its candidates a priori; ``bf_bits`` is each
    candidate's summed log2 Bayes factor.

    ``alternatives`` (optional, one key per candidate, e.g. :data:`CRIME_KEY`) says which candidates of a
    record are the **same crime** (the same person entered twice as a suspect on it): they count as one
    alternative, with the largest Bayes factor among them, and each gets that alternative's probability,
    so a duplicated suspect does not split the record's probability in two.
    """
    bf_bits = np.asarray(bf_bits, dtype=float)
    codes, _ = pd.factorize(pd.Series(records))
    if alternatives is not None and len(codes):
        group = (
            pd.DataFrame({"r": codes, "a": np.asarray(alternatives)}).groupby(["r", "a"], sort=False).ngroup()
        )
        g = group.to_numpy(dtype=np.int64)
        n_groups = int(g.max()) + 1
        g_bits = _group_max(bf_bits, g, n_groups)
        g_rec = np.zeros(n_groups, dtype=np.int64)
        g_rec[g] = codes
        post, logit = record_posterior(g_bits, g_rec, pi)
        return post[g], logit[g]
    n_rec = int(codes.max()) + 1 if len(codes) else 0
    n_cand = np.bincount(codes, minlength=n_rec).astype(float)
    score = bf_bits * np.log(2.0) + np.log(pi) - np.log(n_cand[codes])
    none = np.full(n_rec, np.log(max(1.0 - pi, 1e-12)))
    top = np.maximum(none, _group_max(score, codes, n_rec))
    e = np.exp(score - top[codes])
    total = np.exp(none - top) + np.bincount(codes, weights=e, minlength=n_rec)
    post = e / total[codes]
    rest = np.maximum(total[codes] - e, 1e-300)  # "none" and the record's other candidates
    logit = (np.log(np.maximum(e, 1e-300)) - np.log(rest)) / np.log(2.0)
    return post, np.clip(logit, -60.0, 60.0)


def crime_keys(left: pd.DataFrame, pairs: pd.MultiIndex, columns: Sequence[str]) -> np.ndarray:
    """Per pair, a 64-bit hash of the left record's ``columns`` (the crime's identity, e.g. force and
    crime reference): equal for two suspects of the same crime. Stable across runs and partitions."""
    missing = [c for c in columns if c not in left.columns]
    if missing:
        raise LinkageError(f"left lacks crime key column(s) {missing}; has {list(left.columns)}")
    per_left = pd.util.hash_pandas_object(left[list(columns)], index=False).to_numpy().view(np.int64)
    lmap = left.index.get_indexer(pairs.levels[0])
    if (lmap < 0).any():
        raise LinkageError("pairs: some left labels are not in the left index")
    return per_left[lmap][pairs.codes[0]]


def _start_m(k: int) -> np.ndarray:
    head = 0.5 ** np.arange(k - 1)
    return np.append(0.9 * head / head.sum(), 0.1)


def _group_max(values: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, groups, values)
    return out


def _floor(model: LinkageModel, floor: float) -> None:
    """Keep every m and u at least ``floor`` (renormalised): EM drives unseen levels to ~0, which would
    give single comparisons weights of +-40 bits and let one level overrule all the others."""
    for c in model.comparisons:
        for table in (model.m, model.u):
            v = np.maximum(np.asarray(table[c.name], dtype=float), floor)
            table[c.name] = v / v.sum()


class TwoStageModel:
    """Person stage and crime stage over one set of comparisons and blocking rules (see module doc)."""

    def __init__(
        self,
        comparisons: Sequence[Comparison],
        blocking_rules: Sequence[BlockingRule],
        person: Sequence[str] = PERSON_COMPARISONS,
        person_threshold: float = 0.9,
        floor: float = 1e-4,
        crime_key: Sequence[str] | None = ("force", "crime_ref"),
    ) -> None:
        if not 0.0 < person_threshold < 1.0:
            raise LinkageError(f"person_threshold must be in (0, 1), got {person_threshold!r}")
        comparisons = list(comparisons)
        if CRIME_KEY in [c.name for c in comparisons]:
            raise LinkageError(f"comparison name {CRIME_KEY!r} is reserved for the crime key column")
        p_comps = [c for c in comparisons if c.name in person]
        c_comps = [c for c in comparisons if c.name not in person]
        if not p_comps or not c_comps:
            raise LinkageError(
                f"need comparisons in both stages; person={[c.name for c in p_comps]}, "
                f"crime={[c.name for c in c_comps]}"
            )
        self.full = LinkageModel(comparisons, blocking_rules)
        self.person = LinkageModel(p_comps, blocking_rules)
        self.crime = LinkageModel(c_comps, blocking_rules)
        self.person_threshold = person_threshold
        self.floor = floor
        self.crime_key: tuple[str, ...] | None = None if crime_key is None else tuple(crime_key)
        self.crime_pi: float | None = None
        self.u_different_person: dict[str, np.ndarray] = {}

    @property
    def names(self) -> list[str]:
        """Every comparison name (the level frame's columns)."""
        return self.full.names

    # Index and compare are the full model's.
    def candidate_pairs_by_rule(self, left: pd.DataFrame, right: pd.DataFrame) -> pd.Series:
        """Candidate pairs (MultiIndex of left, right labels) with the blocking rule that made each."""
        return self.full.candidate_pairs_by_rule(left, right)

    def compare(self, pairs: pd.MultiIndex, left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        """Level frame of every comparison (and term-frequency columns). The stages get the term-frequency
        tables too, so their record-based waterfalls (``model.person.waterfall(l, r)``) include them."""
        levels = self.full.compare(pairs, left, right)
        self._share_term_frequencies()
        if self.crime_key is not None:
            levels[CRIME_KEY] = crime_keys(left, pairs, self.crime_key)
        return levels

    def _share_term_frequencies(self) -> None:
        tf = self.full.term_frequencies_dict()
        for stage in (self.person, self.crime):
            stage.set_term_frequencies({k: v for k, v in tf.items() if k in stage.names})

    def fit(
        self,
        levels: pd.DataFrame,
        left: pd.DataFrame,
        right: pd.DataFrame,
        *,
        n_random: int = 200_000,
        seed: int = 0,
        max_iter: int = 100,
    ) -> dict[str, Any]:
        """Fit both stages; returns the two EM results and the number of same-person pairs."""
        n = int(min(len(left) * len(right), n_random))
        self.person.estimate_u_random(left, right, n=n, seed=seed)
        person_em = self.person.fit_em(levels, max_iter=max_iter, fix_u=True)
        p_person = self.person.predict(levels)["match_probability"].to_numpy()
        same = levels[p_person >= self.person_threshold]
        if len(same) < 2:
            raise LinkageError(
                f"only {len(same)} candidate pair(s) are the same person with probability >= "
                f"{self.person_threshold}; too few to fit the crime stage"
            )
        if CRIME_KEY in same.columns:
            # Two suspect rows of one crime (the same person entered twice) are one alternative.
            key = pd.DataFrame({"r": same.index.get_level_values(1), "k": same[CRIME_KEY].to_numpy()})
            same = same[~key.duplicated().to_numpy()]
        records = np.asarray(same.index.get_level_values(1))
        crime_em = fit_record_em(self.crime, same, records, max_iter=max_iter, floor=self.floor)
        self.crime_pi = crime_em.pi
        _floor(self.person, self.floor)
        # What the crime comparisons look like between different people (random pairs): the third class.
        random_crime = LinkageModel(self.crime.comparisons, self.full.blocking_rules)
        random_crime.estimate_u_random(left, right, n=n, seed=seed + 1)
        self.u_different_person = {}
        for c in self.crime.comparisons:
            v = np.maximum(np.asarray(random_crime.u[c.name], dtype=float), self.floor)
            self.u_different_person[c.name] = v / v.sum()
        logger.info("two-stage model: %d same-person pairs of %d", len(same), len(levels))
        return {"person": person_em, "crime": crime_em, "n_same_person": len(same)}

    def fit_supervised(
        self, levels: pd.DataFrame, labels: pd.Series | np.ndarray, same_person: np.ndarray
    ) -> None:
        """Fit both stages from clerical labels: the person stage on ``same_person`` (bool per pair),
        the crime stage on ``labels`` among the same-person pairs."""
        y = np.asarray(labels, dtype=bool)
        sp = np.asarray(same_person, dtype=bool)
        self.person.fit_supervised(levels, sp)
        self.crime.fit_supervised(levels[sp], y[sp])

    def _scores(
        self,
        levels: pd.DataFrame,
        head: np.ndarray | None = None,
        bf: np.ndarray | None = None,
        keep: bool = True,
    ) -> dict[str, Any]:
        """Every intermediate of :meth:`predict` per pair (the waterfall charts them). Per-pair steps are
        table lookups on the ``int8`` levels, in chunks on a thread pool (:func:`run_chunks`); only the
        record-level step groups pairs. ``head`` (float64 ``(4, n)``: weight, probability, person and
        crime probability) and ``bf`` (float32, person then crime comparisons) receive results in place.
        ``keep=False`` (:meth:`predict`) keeps only ``head`` and ``bf`` right: the person and pair weights
        are computed into ``head``'s weight and probability rows and overwritten, and the three-class
        terms live per chunk, so no further pair-length array is allocated (same results)."""
        n = len(levels)
        kp = len(self.person.comparisons)
        head = np.empty((4, n)) if head is None else head
        bf = np.empty((kp + len(self.crime.comparisons), n), dtype=np.float32) if bf is None else bf
        w_person, bf_person = self.person.score_arrays(
            levels, bf_out=bf[:kp], total_out=None if keep else head[0]
        )
        w_pair, bf_crime = self.crime.score_arrays(  # crime stage, this pair alone
            levels, bf_out=bf[kp:], total_out=None if keep else head[1]
        )
        p_person = weight_probability(w_person, out=head[2])
        p_crime = weight_probability(w_pair, out=head[3])
        w_crime = w_pair
        record_step = np.zeros(len(levels), dtype=bool)
        if self.crime_pi is not None and isinstance(levels.index, pd.MultiIndex):
            # Among the same person's candidates, a record disposes of at most one crime.
            record_step = p_person >= self.person_threshold
            sel = np.flatnonzero(record_step)
            bf_bits = bf_crime[:, sel].astype(np.float64).sum(axis=0)
            records = levels.index.codes[1][sel]
            alternatives = levels[CRIME_KEY].to_numpy()[sel] if CRIME_KEY in levels.columns else None
            post, logit = record_posterior(bf_bits, records, self.crime_pi, alternatives)
            if keep:
                w_crime = np.empty_like(w_pair)

                def copy(start: int, stop: int) -> None:
                    w_crime[start:stop] = w_pair[start:stop]

                run_chunks(n, copy)
            p_crime[sel] = post
            w_crime[sel] = logit
        # written in full by the chunks below when there is a third class, else NaN
        bf_d = np.empty(n) if self.u_different_person and keep else np.full(n if keep else 0, np.nan)
        w_md = np.empty(n) if self.u_different_person and keep else np.full(n if keep else 0, np.nan)
        weight = head[0]
        if self.u_different_person:
            # Three classes: this crime (M), the same person's other crime (S), a different person (D).
            # odds(M:S) is the crime stage; odds(M:D) is the person odds times the crime comparisons'
            # Bayes factor against random pairs, so strong crime evidence (same offence, same day, same
            # place) can carry a pair whose names disagree (an alias), and weak crime evidence cannot.
            comps = self.crime.comparisons
            codes = [levels[c.name].to_numpy() for c in comps]
            m_d = [np.maximum(self.crime.m[c.name], self.floor) for c in comps]
            u_d = [self.u_different_person[c.name] for c in comps]
            padded = jit.padded_tables([np.log2(m) - np.log2(u) for m, u in zip(m_d, u_d, strict=True)])

            def chunk(start: int, stop: int) -> None:
                block = np.empty((len(codes), stop - start), dtype=np.int8)
                for j, col in enumerate(codes):
                    block[j] = col[start:stop]
                acc = bf_d[start:stop] if keep else np.empty(stop - start)
                md = w_md[start:stop] if keep else np.empty(stop - start)
                jit.sum_lookups(block, padded, acc)
                np.add(w_person[start:stop], acc, out=md)  # w_person may be weight's own rows: read first
                weight[start:stop] = -np.logaddexp2(-w_crime[start:stop], -md)

            run_chunks(n, chunk)
        else:
            weight[:] = combine_weights(w_person, w_crime)
        weight_probability(weight, out=head[1])
        return {
            "head": head,
            "bf": bf,
            "bf_person": bf_person,
            "bf_crime": bf_crime,
            "w_person": w_person,
            "p_person": p_person,
            "w_pair": w_pair,
            "w_crime": w_crime,
            "p_crime": p_crime,
            "record_step": record_step,
            "bf_d": bf_d,
            "w_md": w_md,
            "weight": weight,
        }

    def predict(self, levels: pd.DataFrame) -> pd.DataFrame:
        """``match_weight``, ``match_probability``, ``person_probability``, ``crime_probability`` and
        ``bf_<comparison>`` (float32) per pair. The level frame's index must be (left, right) labels for the
        record-level step (a record's candidates are the rows sharing its right label)."""
        s = self._scores(levels, keep=False)
        names = [f"bf_{c.name}" for c in (*self.person.comparisons, *self.crime.comparisons)]
        head_names = ("match_weight", "match_probability", "person_probability", "crime_probability")
        return prediction_frame((head_names, s["head"]), s["bf"], names, levels.index)

    def parameters(self) -> pd.DataFrame:
        """The m/u table of both stages, with a ``stage`` column."""
        return pd.concat(
            [self.person.parameters().assign(stage="person"), self.crime.parameters().assign(stage="crime")],
            ignore_index=True,
        )

    def waterfall(self, levels: pd.DataFrame, pair: tuple[Any, Any]) -> pd.DataFrame:
        """How the model reaches ``pair``'s match weight, row by row; the last row equals :meth:`predict`.

        ``levels`` is the level frame (index of (left, right) labels) holding the pair and the other
        candidates of the same outcome record, which the record-level step weighs it against. Rows, each
        with ``stage``, ``step``, ``kind``, ``label``, ``log2_bayes_factor`` (the step's change in bits)
        and ``cumulative_weight`` (the weight after it):

        * person stage: ``person prior``; each person comparison, with a ``term frequency`` row after an
          exact name match; ``person total`` (the person weight, kind ``total``);
        * crime stage: ``crime prior``; each crime comparison; ``crime total (this pair alone)``;
        * ``other candidate crimes of this person``: the record-level posterior (:func:`record_posterior`
          with ``crime_pi``) against the record's other same-person candidates; 0 when the person
          probability is below ``person_threshold``;
        * ``different-person alternative``: the three-class combination with the odds against a
          different person (person weight plus the crime evidence against random pairs, in the label);
        * ``final``: ``cumulative_weight`` and ``match_probability`` are :meth:`predict`'s.
        """
        if not isinstance(levels.index, pd.MultiIndex) or levels.index.nlevels != 2:
            raise LinkageError("levels must be indexed by (left, right) labels, as compare() returns")
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise LinkageError(f"pair must be a (left_label, right_label) tuple, got {pair!r}")
        record = levels.index.get_level_values(1) == pair[1]
        group = levels[record]
        where = group.index.get_indexer_for([pair])
        if len(where) != 1 or where[0] < 0:
            raise LinkageError(f"pair {pair!r} is not (exactly once) in the levels index")
        i = int(where[0])
        s = self._scores(group)
        person = self.person.waterfall_steps(group, i).assign(stage="person")
        person.loc[person["kind"] == "prior", "step"] = "person prior"
        person["cumulative_weight"] = person["log2_bayes_factor"].cumsum()
        crime = self.crime.waterfall_steps(group, i).assign(stage="crime")
        crime.loc[crime["kind"] == "prior", "step"] = "crime prior"
        crime["cumulative_weight"] = crime["log2_bayes_factor"].cumsum()
        w_person, w_pair, w_crime, weight = (
            float(s[k][i]) for k in ("w_person", "w_pair", "w_crime", "weight")
        )
        alternatives = group[CRIME_KEY].to_numpy() if CRIME_KEY in group.columns else np.arange(len(group))
        n_rivals = len(np.unique(alternatives[s["record_step"]])) - 1 if s["record_step"][i] else 0
        if s["record_step"][i]:
            record_label = f"{n_rivals} other candidate crime(s) of this person; crime_pi {self.crime_pi:.3f}"
        else:
            record_label = f"not applied: P(same person) {s['p_person'][i]:.3f} < {self.person_threshold}"
        if self.u_different_person:
            alt_label = (
                f"vs different person {s['w_md'][i]:.2f} = person {w_person:.2f} "
                f"+ crime vs random pairs {s['bf_d'][i]:.2f}"
            )
        else:
            alt_label = f"combined with the person weight {w_person:.2f}"

        def summary(stage: str, step: str, kind: str, label: str, change: float, after: float) -> dict:
            return {"stage": stage, "step": step, "kind": kind, "label": label, "log2_bayes_factor": change,
                    "cumulative_weight": after}  # fmt: skip

        frame = pd.concat(
            [
                person,
                pd.DataFrame([summary("person", "person total", "total", "", np.nan, w_person)]),
                crime,
                pd.DataFrame(
                    [
                        summary("crime", "crime total (this pair alone)", "total", "", np.nan, w_pair),
                        summary(
                            "crime",
                            "other candidate crimes of this person",
                            "record",
                            record_label,
                            w_crime - w_pair,
                            w_crime,
                        ),  # fmt: skip
                        summary(
                            "combined",
                            "different-person alternative",
                            "three-class",
                            alt_label,
                            weight - w_crime,
                            weight,
                        ),  # fmt: skip
                        summary("combined", "final", "final", "", np.nan, weight),
                    ]
                ),
            ],
            ignore_index=True,
        )
        frame["match_probability"] = 1.0 / (1.0 + np.exp2(-np.clip(frame["cumulative_weight"], -1000, 1000)))
        cols = ["stage", "step", "kind", "level", "label", "m", "u", "log2_bayes_factor", "cumulative_weight",
                "match_probability"]  # fmt: skip
        return frame[cols]

    def waterfall_chart(self, levels: pd.DataFrame, pair: tuple[Any, Any]) -> Figure:
        """Chart of :meth:`waterfall` (:func:`linkage.engine.charts.waterfall_chart`)."""
        # Here, not at the top: the charts load matplotlib, needed only when one is drawn.
        from linkage.engine.charts import waterfall_chart

        return waterfall_chart(self.waterfall(levels, pair))

    # --- persistence
    def to_parameters_dict(self) -> dict[str, Any]:
        """Everything :meth:`predict` needs, as plain JSON-able data: both stages' m, u and prior, the
        record-level prior ``crime_pi``, the different-person u table, ``floor``, ``person_threshold``,
        the person-stage comparison names and the term-frequency tables of the last :meth:`compare`.

        Apply a model fitted on one sample to other data with :meth:`from_parameters_dict` (the link
        threshold is not the model's: it lives in :class:`~linkage.justice.settings.SourceSettings`).
        """
        return {
            "format": PARAMS_FORMAT,
            "comparisons": self.names,
            "person_comparisons": self.person.names,
            "person_threshold": float(self.person_threshold),
            "floor": float(self.floor),
            "crime_key": None if self.crime_key is None else list(self.crime_key),
            "crime_pi": None if self.crime_pi is None else float(self.crime_pi),
            "u_different_person": {
                name: [float(x) for x in v] for name, v in sorted(self.u_different_person.items())
            },
            "person": self.person.parameters_dict(),
            "crime": self.crime.parameters_dict(),
            "term_frequencies": self.full.term_frequencies_dict(),
        }

    parameters_dict = to_parameters_dict

    @classmethod
    def from_parameters_dict(
        cls,
        data: Mapping[str, Any],
        comparisons: Sequence[Comparison],
        blocking_rules: Sequence[BlockingRule],
        source: str = "parameters",
    ) -> TwoStageModel:
        """A model with the parameters of :meth:`to_parameters_dict` over ``comparisons`` (which must
        have the names and level labels the parameters were fitted with, e.g. from
        :func:`~linkage.justice.link.source_spec`) and ``blocking_rules``."""
        if not isinstance(data, Mapping):
            raise LinkageError(f"{source}: parameters must be a mapping, got {type(data).__name__}")
        model = cls(
            comparisons,
            blocking_rules,
            person=tuple(data.get("person_comparisons", PERSON_COMPARISONS)),
            person_threshold=float(data.get("person_threshold", 0.9)),
            floor=float(data.get("floor", 1e-4)),
            crime_key=data.get("crime_key", ("force", "crime_ref")),
        )
        model.set_parameters_dict(data, source=source)
        return model

    def set_parameters_dict(self, data: Mapping[str, Any], source: str = "parameters") -> None:
        """Install parameters from :meth:`to_parameters_dict`; every problem is reported at once."""
        problems = []
        if data.get("format") != PARAMS_FORMAT:
            problems.append(f"format must be {PARAMS_FORMAT!r}, got {data.get('format')!r}")
        if list(data.get("comparisons", [])) != self.names:
            problems.append(f"comparisons {data.get('comparisons')!r} != model's {self.names}")
        if list(data.get("person_comparisons", [])) != self.person.names:
            problems.append(
                f"person_comparisons {data.get('person_comparisons')!r} != model's {self.person.names}"
            )
        pi = data.get("crime_pi")
        if pi is not None and not (isinstance(pi, int | float) and 0.0 < pi < 1.0):
            problems.append(f"crime_pi must be None or in (0, 1), got {pi!r}")
        udp = data.get("u_different_person", {})
        for c in self.crime.comparisons:
            if udp and len(udp.get(c.name, ())) != c.n_levels:
                problems.append(f"u_different_person[{c.name!r}] needs {c.n_levels} values")
        if problems:
            raise LinkageError(f"{source}: " + "; ".join(problems))
        self.person.set_parameters_dict(data["person"], source=f"{source}: person")
        self.crime.set_parameters_dict(data["crime"], source=f"{source}: crime")
        self.full.set_term_frequencies(data.get("term_frequencies", {}), source=source)
        self._share_term_frequencies()
        self.person_threshold = float(data["person_threshold"])
        self.floor = float(data["floor"])
        self.crime_pi = None if pi is None else float(pi)
        self.u_different_person = {n: np.asarray(v, dtype=float) for n, v in udp.items()}

    def save_parameters(self, path: str | PathLike[str]) -> None:
        """Write :meth:`to_parameters_dict` as JSON (atomic, sorted keys: same model => same bytes)."""
        write_text(path, json.dumps(self.to_parameters_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load_parameters(
        cls,
        path: str | PathLike[str],
        comparisons: Sequence[Comparison],
        blocking_rules: Sequence[BlockingRule],
    ) -> TwoStageModel:
        """Read a file written by :meth:`save_parameters` (see :meth:`from_parameters_dict`)."""
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise LinkageError(f"{path}: cannot read model parameters ({exc})") from exc
        return cls.from_parameters_dict(data, comparisons, blocking_rules, source=str(path))
