"""The Fellegi-Sunter linkage model: Index -> Compare -> Classify over composable parts.

``LinkageModel(comparisons, blocking_rules)`` follows recordlinkage's three steps:

* :meth:`LinkageModel.candidate_pairs` (Index): the union of the blocking rules, as a MultiIndex of
  (left label, right label);
* :meth:`LinkageModel.compare` (Compare): an ``int8`` level frame, one column per comparison
  (``-1`` = missing, neutral), plus a float ``tf_<name>`` column for each comparison with a
  term-frequency column;
* :meth:`LinkageModel.fit_em` / :meth:`LinkageModel.fit_supervised` then :meth:`LinkageModel.predict`
  (Classify): match weights (log2 Bayes factors) and probabilities.

The multi-level EM is implemented here in numpy: rows of the level frame are collapsed to distinct
agreement patterns with counts, so each iteration costs O(patterns), not O(pairs).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from linkage._io import write_text
from linkage.engine import jit, kernels
from linkage.engine.blocking import BlockingRule, CandidatePairs, generate_candidates
from linkage.engine.comparisons import Comparison
from linkage.engine.kernels import run_chunks  # re-exported: the justice scoring chunks with it
from linkage.errors import LinkageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

__all__ = ["EMResult", "LinkageModel"]

PARAMS_FORMAT = "linkage-engine-parameters/1"
_FLOOR = 1e-12  # smallest m or u used inside logs (an unobserved level is "very unlikely", not impossible)


@dataclass(frozen=True)
class EMResult:
    """Outcome of :meth:`LinkageModel.fit_em`.

    ``lambda_candidates`` is the estimated share of matches among the fitted pairs; ``n_patterns``
    the number of distinct level patterns the EM ran on; ``log_likelihood`` the trace per iteration.
    """

    iterations: int
    converged: bool
    lambda_candidates: float
    n_pairs: int
    n_patterns: int
    log_likelihood: tuple[float, ...] = field(repr=False)


def _logit2(p: float) -> float:
    return math.log2(p) - math.log2(1.0 - p)


def _position(levels: pd.DataFrame, pair: Any) -> int:
    """Row position of index label ``pair`` in ``levels`` (which must hold it exactly once)."""
    loc = levels.index.get_indexer_for([pair]) if not isinstance(pair, list) else np.array([-1])
    if len(loc) != 1 or loc[0] < 0:
        raise LinkageError(f"pair {pair!r} is not (exactly once) in the levels index")
    return int(loc[0])


class LinkageModel:
    """A Fellegi-Sunter model over ``comparisons``, with candidates from ``blocking_rules``.

    ``probability_two_random_records_match`` (Splink's lambda over ALL record pairs) is the prior
    used with u estimated from random pairs (``fit_em(fix_u=True)``). With ``fix_u=False`` the EM
    fits a two-class mixture of the candidate pairs themselves and the prior becomes the estimated
    share of matches among candidates (the recordlinkage ECM convention).
    """

    def __init__(
        self,
        comparisons: Sequence[Comparison],
        blocking_rules: Sequence[BlockingRule],
        probability_two_random_records_match: float | None = None,
    ) -> None:
        problems = []
        comparisons = list(comparisons)
        if not comparisons:
            problems.append("comparisons is empty")
        names = [getattr(c, "name", None) for c in comparisons]
        for c, n in zip(comparisons, names, strict=True):
            if not isinstance(c, Comparison):
                problems.append(f"comparisons: {c!r} is not a Comparison")
            elif not n or not isinstance(n, str):
                problems.append(f"comparisons: {c!r} has no name")
            elif len(c.level_labels) < 2:
                problems.append(
                    f"comparison {n!r}: level_labels needs at least 2 levels, got {c.level_labels!r}"
                )
        dupes = sorted({n for n in names if names.count(n) > 1 and n is not None})
        if dupes:
            problems.append(f"comparison names must be unique, repeated: {dupes}")
        for r in blocking_rules:
            if not isinstance(r, BlockingRule):
                problems.append(f"blocking_rules: {r!r} is not a BlockingRule (use block_on(...))")
        p = probability_two_random_records_match
        if p is not None and not (0.0 < p < 1.0):
            problems.append(f"probability_two_random_records_match must be in (0, 1), got {p!r}")
        if problems:
            raise LinkageError("invalid LinkageModel: " + "; ".join(problems))
        self.comparisons: list[Comparison] = comparisons
        self.blocking_rules: list[BlockingRule] = list(blocking_rules)
        self.probability_two_random_records_match = p
        self.m: dict[str, np.ndarray] = {}
        self.u: dict[str, np.ndarray] = {}
        self.prior: float | None = None
        self.u_source: str | None = None
        self._n_possible_pairs: int | None = None
        self._tf_tables: dict[str, pd.Series] = {}
        self._tf_base: dict[str, float] = {}

    # --- helpers
    @property
    def names(self) -> list[str]:
        """Comparison names, in order (the level frame's columns)."""
        return [c.name for c in self.comparisons]

    def _comparison(self, name: str) -> Comparison:
        for c in self.comparisons:
            if c.name == name:
                return c
        raise LinkageError(f"no comparison named {name!r}; have {self.names}")

    @staticmethod
    def _check_frame(frame: pd.DataFrame, arg: str) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise LinkageError(f"{arg} must be a pandas DataFrame, got {type(frame).__name__}")
        if not frame.index.is_unique:
            dup = frame.index[frame.index.duplicated()][:3].tolist()
            raise LinkageError(f"{arg} index must be unique (record labels); repeated: {dup}")

    @staticmethod
    def _index_names(left: pd.DataFrame, right: pd.DataFrame | None) -> list[str]:
        if right is None:
            name = left.index.name or "record"
            return [f"{name}_1", f"{name}_2"]
        ln = left.index.name or "left"
        rn = right.index.name or "right"
        if ln == rn:
            return [f"{ln}_1", f"{rn}_2"]
        return [ln, rn]

    def _positions(
        self, pairs: pd.MultiIndex, left: pd.DataFrame, right: pd.DataFrame | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(pairs, pd.MultiIndex) or pairs.nlevels != 2:
            raise LinkageError(
                f"pairs must be a 2-level MultiIndex of (left, right) labels, got {type(pairs)}"
            )
        other = left if right is None else right
        lmap = left.index.get_indexer(pairs.levels[0])
        rmap = other.index.get_indexer(pairs.levels[1])
        lpos = lmap[pairs.codes[0]] if len(pairs) else np.empty(0, dtype=np.int64)
        rpos = rmap[pairs.codes[1]] if len(pairs) else np.empty(0, dtype=np.int64)
        if (lpos < 0).any() or (rpos < 0).any():
            raise LinkageError("pairs: some labels are not in the left/right index")
        return lpos.astype(np.int64, copy=False), rpos.astype(np.int64, copy=False)

    # --- index
    def candidates(self, left: pd.DataFrame, right: pd.DataFrame | None = None) -> CandidatePairs:
        """Candidate pairs as row positions with the rule that first generated each."""
        self._check_frame(left, "left")
        if right is not None:
            self._check_frame(right, "right")
        cands = generate_candidates(self.blocking_rules, left, right)
        n = len(left)
        self._n_possible_pairs = n * (n - 1) // 2 if right is None else n * len(right)
        logger.info("candidate pairs: %d of %d possible", len(cands), self._n_possible_pairs)
        return cands

    def candidate_pairs(self, left: pd.DataFrame, right: pd.DataFrame | None = None) -> pd.MultiIndex:
        """Index step: the blocking union as a (left, right) label MultiIndex; ``right=None`` dedupes."""
        cands = self.candidates(left, right)
        other = left if right is None else right
        return pd.MultiIndex(
            levels=[left.index, other.index],
            codes=[cands.left_pos, cands.right_pos],
            names=self._index_names(left, right),
            verify_integrity=False,
        )

    def candidate_pairs_by_rule(self, left: pd.DataFrame, right: pd.DataFrame | None = None) -> pd.Series:
        """The candidate pairs with the name of the blocking rule that first generated each."""
        cands = self.candidates(left, right)
        other = left if right is None else right
        index = pd.MultiIndex(
            levels=[left.index, other.index],
            codes=[cands.left_pos, cands.right_pos],
            names=self._index_names(left, right),
            verify_integrity=False,
        )
        rules = pd.Categorical.from_codes(cands.rule, categories=list(cands.rule_names))
        return pd.Series(rules, index=index, name="blocking_rule")

    # --- compare
    def compare(
        self,
        pairs: pd.MultiIndex,
        left: pd.DataFrame,
        right: pd.DataFrame | None = None,
        *,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Compare step: an ``int8`` level column per comparison (plus ``tf_<name>``), indexed by pairs.

        ``progress=True`` shows a tqdm bar over the comparisons (for long runs from the command line).
        """
        self._check_frame(left, "left")
        if right is not None:
            self._check_frame(right, "right")
        lpos, rpos = self._positions(pairs, left, right)
        other = left if right is None else right
        n = len(left)
        self._n_possible_pairs = n * (n - 1) // 2 if right is None else n * len(other)
        return self._compare_positions(lpos, rpos, left, other, index=pairs, progress=progress)

    def _compare_positions(
        self,
        lpos: np.ndarray,
        rpos: np.ndarray,
        left: pd.DataFrame,
        other: pd.DataFrame,
        index: pd.Index | None = None,
        with_tf: bool = True,
        progress: bool = False,
    ) -> pd.DataFrame:
        dedupe = left is other
        data: dict[str, np.ndarray] = {}
        bar = tqdm(total=len(self.comparisons), desc="compare", unit="comparison", disable=not progress,
                   leave=False)  # fmt: skip

        def level(c: Comparison) -> np.ndarray:
            lev = np.asarray(c.levels_for_pairs(left, other, lpos, rpos), dtype=np.int8)
            if lev.shape != lpos.shape:
                raise LinkageError(
                    f"comparison {c.name!r} returned {lev.shape} levels for {lpos.shape} pairs"
                )
            if lev.size and (lev.max() >= c.n_levels or lev.min() < -1):
                raise LinkageError(f"comparison {c.name!r} returned a level outside -1..{c.n_levels - 1}")
            bar.update(1)
            return lev

        # Comparisons are independent: on a small thread pool (numpy, pyarrow and rapidfuzz release the
        # GIL in their loops), each result stored under its own name, in the comparisons' order, so
        # the frame does not depend on scheduling.
        threads = kernels.THREADS
        if threads > 1 and len(self.comparisons) > 1 and len(lpos) >= _PARALLEL_COMPARE_MIN:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                futures = [pool.submit(level, c) for c in self.comparisons]
                for c, fut in zip(self.comparisons, futures, strict=True):
                    data[c.name] = fut.result()
        else:
            for c in self.comparisons:
                data[c.name] = level(c)
        bar.close()
        if with_tf:
            for c in self.comparisons:
                if c.tf_column is None:
                    continue
                table = c.tf_table(other, c.tf_column if dedupe else c.tf_right_column)
                base = float((table**2).sum()) if dedupe else float((c.tf_table(left) * table).sum())
                self._tf_tables[c.name] = table
                self._tf_base[c.name] = max(base, _FLOOR)
                # Only exact-level pairs need a term frequency.
                exact = np.flatnonzero(data[c.name] == c.exact_level)
                tf = np.full(len(lpos), np.nan, dtype=np.float32)
                tf[exact] = c.tf_values(left, lpos[exact], table) / self._tf_base[c.name]
                data[f"tf_{c.name}"] = tf
        index = index if index is not None else pd.RangeIndex(len(lpos))
        return pd.DataFrame(data, index=index, copy=False)

    # --- u (random pairs)
    def estimate_u_random(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame | None = None,
        n: int = 1_000_000,
        seed: int = 0,
        smoothing: float = 0.5,
    ) -> pd.DataFrame:
        """Estimate u from ``n`` uniformly random record pairs (matches among them are negligible).

        ``smoothing`` pseudo-counts per level keep an unseen level's u above zero. Returns the u table.
        """
        self._check_frame(left, "left")
        if n < 1:
            raise LinkageError(f"n must be a positive number of random pairs, got {n!r}")
        other = left if right is None else right
        rng = np.random.default_rng(seed)
        lpos = rng.integers(0, len(left), size=n)
        rpos = rng.integers(0, len(other), size=n)
        if right is None:
            same = lpos == rpos
            rpos[same] = (rpos[same] + 1) % len(left)
        levels = self._compare_positions(lpos, rpos, left, other, with_tf=False)
        for c in self.comparisons:
            col = levels[c.name].to_numpy()
            counts = np.bincount(col[col >= 0], minlength=c.n_levels).astype(float)
            self.u[c.name] = (counts + smoothing) / (counts.sum() + smoothing * c.n_levels)
        self.u_source = f"random pairs (n={n}, seed={seed})"
        self._n_possible_pairs = len(left) * (len(left) - 1) // 2 if right is None else len(left) * len(other)
        return self.parameters()[["comparison", "level", "label", "u"]]

    # --- EM
    def _patterns(self, levels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing_cols = [n for n in self.names if n not in levels.columns]
        if missing_cols:
            raise LinkageError(f"levels frame lacks comparison columns {missing_cols}")
        X = levels[self.names].to_numpy(dtype=np.int8)
        radices = [c.n_levels + 1 for c in self.comparisons]
        if math.prod(radices) < 2**62:
            key = np.zeros(len(X), dtype=np.int64)
            for j, r in enumerate(radices):
                key = key * r + (X[:, j].astype(np.int64) + 1)
            # Hash-based grouping (O(pairs)), then sort the few distinct patterns for a stable order.
            inverse, uniq = pd.factorize(key, sort=False)
            counts = np.bincount(inverse, minlength=len(uniq))
            order = np.argsort(uniq, kind="stable")
            uniq, counts = uniq[order], counts[order]
            pats = np.empty((len(uniq), len(radices)), dtype=np.int64)
            rem = uniq.copy()
            for j in range(len(radices) - 1, -1, -1):
                pats[:, j] = rem % radices[j] - 1
                rem //= radices[j]
            return pats, counts.astype(float)
        pats, counts = np.unique(X, axis=0, return_counts=True)
        return pats.astype(np.int64), counts.astype(float)

    def _initial_m(self, c: Comparison) -> np.ndarray:
        # Agreement-heavy start: 0.9 spread geometrically over the agreeing levels, 0.1 on "different".
        k = c.n_levels
        head = 0.5 ** np.arange(k - 1)
        return np.append(0.9 * head / head.sum(), 0.1)

    def fit_em(
        self,
        levels: pd.DataFrame,
        max_iter: int = 100,
        tol: float = 1e-6,
        fix_u: bool = False,
        fix: Sequence[str] = (),
        initial_lambda: float = 0.05,
        ll_tol: float = 1e-6,
    ) -> EMResult:
        """Multi-level Fellegi-Sunter EM over the level frame; missing levels are neutral.

        ``fix_u=True`` keeps u (from :meth:`estimate_u_random`) and estimates m and the share of
        matches; the prior becomes ``probability_two_random_records_match`` if given, else the
        estimated number of matches divided by all possible pairs. ``fix`` names comparisons left out
        of this session entirely (Splink practice for comparisons implied by the blocking rule).

        Converged when no parameter moves by ``tol``, or when an iteration gains less than ``ll_tol``
        nats of log-likelihood per pair: near a boundary (a level whose m or u tends to 0, or lambda
        to 0 or 1) EM creeps sublinearly while the likelihood is already flat, so a parameter-change
        test alone can run to any iteration cap without changing the fit the data support.
        """
        if max_iter < 1:
            raise LinkageError(f"max_iter must be >= 1, got {max_iter!r}")
        if not (0.0 < initial_lambda < 1.0):
            raise LinkageError(f"initial_lambda must be in (0, 1), got {initial_lambda!r}")
        unknown = [f for f in fix if f not in self.names]
        if unknown:
            raise LinkageError(f"fix names unknown comparisons {unknown}; have {self.names}")
        if fix_u:
            lacking = [c.name for c in self.comparisons if c.name not in self.u and c.name not in fix]
            if lacking:
                raise LinkageError(f"fix_u=True but u is not set for {lacking}; call estimate_u_random first")
        pats, w = self._patterns(levels)
        if len(pats) == 0:
            raise LinkageError("levels is empty; nothing to fit")
        active = [j for j, c in enumerate(self.comparisons) if c.name not in fix]
        m = {}
        u = {}
        for j in active:
            c = self.comparisons[j]
            col = pats[:, j]
            ok = col >= 0
            freq = np.bincount(col[ok], weights=w[ok], minlength=c.n_levels) + 0.5
            m[j] = self.m[c.name].copy() if c.name in self.m else self._initial_m(c)
            u[j] = self.u[c.name].copy() if (fix_u or c.name in self.u) else freq / freq.sum()
        lam = initial_lambda
        total = w.sum()
        trace: list[float] = []
        converged = False
        iterations = 0
        for iterations in range(1, max_iter + 1):  # noqa: B007 (used after the loop)
            # E-step: log-likelihood of each pattern under each class (missing contributes 0).
            log_m = np.zeros(len(pats))
            log_u = np.zeros(len(pats))
            for j in active:
                col = pats[:, j]
                ok = col >= 0
                idx = np.where(ok, col, 0)
                log_m += np.where(ok, np.log(np.maximum(m[j][idx], _FLOOR)), 0.0)
                log_u += np.where(ok, np.log(np.maximum(u[j][idx], _FLOOR)), 0.0)
            a = np.log(lam) + log_m
            b = np.log1p(-lam) + log_u
            mx = np.maximum(a, b)
            ll_rows = mx + np.log(np.exp(a - mx) + np.exp(b - mx))
            p = np.exp(a - ll_rows)
            trace.append(float((w * ll_rows).sum()))
            if len(trace) > 1 and abs(trace[-1] - trace[-2]) < ll_tol * total:
                converged = True  # the likelihood is flat: further iterations only creep (see docstring)
                break
            # M-step.
            wp, wq = w * p, w * (1.0 - p)
            change = 0.0
            for j in active:
                c = self.comparisons[j]
                col = pats[:, j]
                ok = col >= 0
                mm = np.bincount(col[ok], weights=wp[ok], minlength=c.n_levels)
                mm = mm / mm.sum() if mm.sum() > 0 else m[j]
                change = max(change, float(np.abs(mm - m[j]).max()))
                m[j] = mm
                if not fix_u:
                    uu = np.bincount(col[ok], weights=wq[ok], minlength=c.n_levels)
                    uu = uu / uu.sum() if uu.sum() > 0 else u[j]
                    change = max(change, float(np.abs(uu - u[j]).max()))
                    u[j] = uu
            new_lam = float(np.clip(wp.sum() / total, 1e-12, 1 - 1e-12))
            change = max(change, abs(new_lam - lam))
            lam = new_lam
            if change < tol:
                converged = True
                break
        if not converged:
            gain = trace[-1] - trace[-2] if len(trace) > 1 else float("nan")
            logger.warning(
                "EM did not converge in %d iterations (last change above tol=%g, log-likelihood gain %.3g)",
                max_iter,
                tol,
                gain,
            )
        for j in active:
            name = self.comparisons[j].name
            self.m[name] = m[j]
            if not fix_u:
                self.u[name] = u[j]
        if fix_u:
            if self.probability_two_random_records_match is not None:
                self.prior = self.probability_two_random_records_match
            else:
                if not self._n_possible_pairs:
                    raise LinkageError("fix_u=True needs the number of possible pairs; call compare() first")
                self.prior = float(np.clip(lam * total / self._n_possible_pairs, 1e-12, 0.5))
        else:
            self.prior = lam
            self.u_source = "EM over candidate pairs"
        result = EMResult(
            iterations=iterations,
            converged=converged,
            lambda_candidates=lam,
            n_pairs=int(total),
            n_patterns=len(pats),
            log_likelihood=tuple(trace),
        )
        logger.info("EM: %s", result)
        return result

    # --- supervised
    def fit_supervised(
        self, levels: pd.DataFrame, labels: pd.Series | np.ndarray, smoothing: float = 0.5
    ) -> None:
        """m and u as smoothed level frequencies among labelled matches and non-matches.

        ``labels`` is boolean per row of ``levels`` (a Series is aligned on the index). The prior is
        the share of matches among the labelled pairs.
        """
        if isinstance(labels, pd.Series):
            labels = labels.reindex(levels.index)
            if labels.isna().any():
                raise LinkageError("labels: some rows of levels have no label")
        y = np.asarray(labels, dtype=bool)
        if len(y) != len(levels):
            raise LinkageError(f"labels has {len(y)} values for {len(levels)} level rows")
        if y.all() or not y.any():
            raise LinkageError("labels must contain both matches and non-matches")
        for c in self.comparisons:
            col = levels[c.name].to_numpy()
            for target, cls in ((self.m, y), (self.u, ~y)):
                sel = col[cls & (col >= 0)]
                counts = np.bincount(sel, minlength=c.n_levels).astype(float)
                target[c.name] = (counts + smoothing) / (counts.sum() + smoothing * c.n_levels)
        self.prior = float(y.mean())
        self.u_source = "labelled pairs"

    def set_m_u(self, name: str, m: Sequence[float], u: Sequence[float]) -> None:
        """Set one comparison's m and u by hand (each must sum to 1, one value per level)."""
        c = self._comparison(name)
        for arg, v in (("m", m), ("u", u)):
            arr = np.asarray(v, dtype=float)
            if arr.shape != (c.n_levels,) or (arr < 0).any() or not np.isclose(arr.sum(), 1.0):
                raise LinkageError(
                    f"{arg} for {name!r} must be {c.n_levels} non-negative values summing to 1, got {v}"
                )
        self.m[name] = np.asarray(m, dtype=float)
        self.u[name] = np.asarray(u, dtype=float)

    # --- classify
    def _check_fitted(self) -> None:
        lacking = [n for n in self.names if n not in self.m or n not in self.u]
        if lacking or self.prior is None:
            raise LinkageError(
                f"model has no parameters for {lacking or 'the prior'}; "
                "call fit_em, fit_supervised or load_parameters"
            )

    def weight_table(self, name: str) -> np.ndarray:
        """log2(m/u) per level of comparison ``name``."""
        m = np.maximum(self.m[name], _FLOOR)
        u = np.maximum(self.u[name], _FLOOR)
        return np.log2(m) - np.log2(u)

    def bayes_factor_parts(
        self, levels: pd.DataFrame, tf_minimum: float = 1e-9
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per comparison, each pair's level weight ``log2(m/u)`` (0 where missing) and its
        term-frequency adjustment ``-log2(r)`` (0 where none applies), both float64 in bits.

        Term-frequency adjustment (Splink's): where a ``tf_<name>`` column holds the relative term
        frequency ``r = f(v) / sum_w fL(w) fR(w)`` of the agreed value (1 = a typical agreement), the
        exact level's u is multiplied by ``r``; with u from random pairs (``u ~ sum fL fR``) this is
        exactly "u replaced by the frequency of v". :meth:`predict` and the waterfalls both use this.
        """
        self._check_fitted()
        level_bf: dict[str, np.ndarray] = {}
        tf_bf: dict[str, np.ndarray] = {}
        for c in self.comparisons:
            col = levels[c.name].to_numpy()
            # Prepend 0.0 so level -1 (missing) looks up a neutral weight: one take per comparison.
            table = np.concatenate([[0.0], self.weight_table(c.name)])
            level_bf[c.name] = table.take(col.astype(np.intp) + 1)
            tf_col = f"tf_{c.name}"
            if c.tf_column is not None and tf_col in levels.columns:
                exact = np.flatnonzero(col == c.exact_level)
                rel = levels[tf_col].to_numpy()[exact].astype(float)
                ok = ~np.isnan(rel)
                adj = np.zeros(len(col))
                adj[exact[ok]] = -np.log2(np.maximum(rel[ok], tf_minimum))
                tf_bf[c.name] = adj
        return level_bf, tf_bf

    def score_arrays(
        self,
        levels: pd.DataFrame,
        tf_minimum: float = 1e-9,
        bf_out: np.ndarray | None = None,
        total_out: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Match weight (float64, log2 odds) and the per-comparison log2 Bayes factors (float32, one row
        per comparison, shape ``(k, n)``) of every pair, as :meth:`predict` reports them but without a
        DataFrame: lookups of the ``int8`` levels into small weight tables, in chunks on a thread pool
        (numpy releases the GIL), each chunk written in place, so the result does not depend on
        scheduling. Term frequencies as in :meth:`bayes_factor_parts`. ``bf_out`` (optional, float32
        ``(k, n)``) receives the Bayes factors in place (e.g. rows of a larger block), ``total_out``
        (optional, float64 ``(n,)``) the match weights. One compiled pass per chunk
        (:func:`linkage.engine.jit.score_levels`) reads each pair's levels once; term-frequency
        logarithms are numpy's."""
        self._check_fitted()
        n = len(levels)
        comps = self.comparisons
        codes = [levels[c.name].to_numpy() for c in comps]
        tf_cols = [
            levels[f"tf_{c.name}"].to_numpy()
            if c.tf_column is not None and f"tf_{c.name}" in levels.columns
            else None
            for c in comps
        ]
        total = np.empty(n, dtype=np.float64) if total_out is None else total_out
        if total.shape != (n,):
            raise LinkageError(f"total_out must have shape {(n,)}, got {total.shape}")
        bf = np.empty((len(comps), n), dtype=np.float32) if bf_out is None else bf_out
        if bf.shape != (len(comps), n):
            raise LinkageError(f"bf_out must have shape {(len(comps), n)}, got {bf.shape}")
        prior = _logit2(self.prior)
        padded = jit.padded_tables([self.weight_table(c.name) for c in comps])  # level -1 reads 0.0
        with_tf = [j for j, tf in enumerate(tf_cols) if tf is not None]
        tf_row = np.full(len(comps), -1, dtype=np.int64)
        tf_row[with_tf] = np.arange(len(with_tf))

        def chunk(start: int, stop: int) -> None:
            m = stop - start
            block = np.empty((len(comps), m), dtype=np.int8)
            for j in range(len(comps)):
                block[j] = codes[j][start:stop]
            tf_mask = np.zeros((len(with_tf), m), dtype=bool)
            tf_bits = np.zeros((len(with_tf), m), dtype=np.float64)
            for r, j in enumerate(with_tf):
                rel = tf_cols[j][start:stop]
                adj = (block[j] == comps[j].exact_level) & ~np.isnan(rel)
                tf_mask[r] = adj
                tf_bits[r, adj] = np.log2(np.maximum(rel[adj].astype(np.float64), tf_minimum))
            jit.score_levels(
                block, padded, prior, tf_row, tf_mask, tf_bits, bf[:, start:stop], total[start:stop]
            )

        run_chunks(n, chunk)
        return total, bf

    def predict(self, levels: pd.DataFrame, tf_minimum: float = 1e-9) -> pd.DataFrame:
        """Match weight (log2 odds), match probability and ``bf_<name>`` (log2 Bayes factor, term
        frequency included, float32) per pair; see :meth:`bayes_factor_parts` and :meth:`score_arrays`."""
        n = len(levels)
        head = np.empty((2, n))
        total, bf = self.score_arrays(levels, tf_minimum)
        head[0] = total
        weight_probability(total, out=head[1])
        return prediction_frame(
            (("match_weight", "match_probability"), head),
            bf,
            [f"bf_{c.name}" for c in self.comparisons],
            levels.index,
        )

    def parameters(self) -> pd.DataFrame:
        """The m/u table: comparison, level, label, m, u, bayes_factor, match_weight (log2)."""
        rows = []
        for c in self.comparisons:
            m = self.m.get(c.name)
            u = self.u.get(c.name)
            for level, label in enumerate(c.level_labels):
                mv = float(m[level]) if m is not None else np.nan
                uv = float(u[level]) if u is not None else np.nan
                bf = max(mv, _FLOOR) / max(uv, _FLOOR) if m is not None and u is not None else np.nan
                rows.append(
                    {
                        "comparison": c.name,
                        "level": level,
                        "label": label,
                        "m": mv,
                        "u": uv,
                        "bayes_factor": bf,
                        "match_weight": math.log2(bf) if bf == bf else np.nan,
                    }  # fmt: skip
                )
        return pd.DataFrame(rows)

    # --- explain
    def waterfall_steps(self, levels: pd.DataFrame, position: int) -> pd.DataFrame:
        """The contribution rows (prior, then per comparison its level weight and, where it applies, a
        term-frequency row) of the pair at row ``position`` of ``levels``, without a final row.

        Columns: step, kind (``prior``, ``comparison`` or ``term frequency``), level, label, m, u (for a
        term-frequency row, u times the relative frequency), log2_bayes_factor.
        """
        one = levels.iloc[[position]]
        level_bf, tf_bf = self.bayes_factor_parts(one)
        rows = [{"step": "prior", "kind": "prior", "level": np.nan, "label": "", "m": np.nan,
                 "u": self.prior, "log2_bayes_factor": _logit2(self.prior)}]  # fmt: skip
        for c in self.comparisons:
            lev = int(one[c.name].iloc[0])
            if lev < 0:
                rows.append({"step": c.name, "kind": "comparison", "level": -1, "label": "missing",
                             "m": np.nan, "u": np.nan, "log2_bayes_factor": 0.0})  # fmt: skip
                continue
            m, u = float(self.m[c.name][lev]), float(self.u[c.name][lev])
            rows.append({"step": c.name, "kind": "comparison", "level": lev, "label": c.level_labels[lev],
                         "m": m, "u": u, "log2_bayes_factor": float(level_bf[c.name][0])})  # fmt: skip
            rel = float(one[f"tf_{c.name}"].iloc[0]) if c.name in tf_bf else np.nan
            if lev == c.exact_level and rel == rel:  # a term frequency applies (rel is not NaN)
                adj = float(tf_bf[c.name][0])
                rows.append({"step": f"{c.name} term frequency", "kind": "term frequency", "level": lev,
                             "label": f"value {rel:.3g}x as common as a typical agreement", "m": m,
                             "u": u * rel, "log2_bayes_factor": adj})  # fmt: skip
        return pd.DataFrame(rows)

    def waterfall_from_levels(self, levels: pd.DataFrame, pair: Any) -> pd.DataFrame:
        """Each comparison's contribution to the match weight of ``pair`` (a label of ``levels``'s
        index, e.g. ``(left_label, right_label)``): prior first, a term-frequency row after each level
        it adjusts, then ``final``, whose ``cumulative_weight`` is :meth:`predict`'s ``match_weight``.
        """
        position = _position(levels, pair)
        frame = self.waterfall_steps(levels, position)
        frame["cumulative_weight"] = frame["log2_bayes_factor"].cumsum()
        total = float(self.predict(levels.iloc[[position]])["match_weight"].iloc[0])
        final = {"step": "final", "kind": "final", "level": np.nan, "label": "", "m": np.nan, "u": np.nan,
                 "log2_bayes_factor": np.nan, "cumulative_weight": total}  # fmt: skip
        frame = pd.concat([frame, pd.DataFrame([final])], ignore_index=True)
        frame["match_probability"] = 1.0 / (1.0 + np.exp2(-frame["cumulative_weight"]))
        return frame

    def compare_records(
        self, left_row: pd.Series | Mapping[str, Any], right_row: pd.Series | Mapping[str, Any]
    ) -> pd.DataFrame:
        """The one-row level frame of two records, with term frequencies from the tables of the most
        recent :meth:`compare` (or :meth:`set_term_frequencies`), exactly as :meth:`compare` stores them."""
        lf = pd.DataFrame([dict(left_row)])
        rf = pd.DataFrame([dict(right_row)])
        zero = np.zeros(1, dtype=np.int64)
        data: dict[str, np.ndarray] = {}
        for c in self.comparisons:
            data[c.name] = np.asarray(c.levels_for_pairs(lf, rf, zero, zero), dtype=np.int8)
        for c in self.comparisons:
            if c.tf_column is None or c.name not in self._tf_tables:
                continue
            tf = np.full(1, np.nan, dtype=np.float32)
            if data[c.name][0] == c.exact_level:
                tf[:] = c.tf_values(lf, zero, self._tf_tables[c.name]) / self._tf_base[c.name]
            data[f"tf_{c.name}"] = tf
        return pd.DataFrame(data)

    def waterfall(
        self, left_row: pd.Series | Mapping[str, Any], right_row: pd.Series | Mapping[str, Any]
    ) -> pd.DataFrame:
        """:meth:`waterfall_from_levels` for two records (see :meth:`compare_records`)."""
        return self.waterfall_from_levels(self.compare_records(left_row, right_row), 0)

    def m_u_chart(self) -> Figure:
        """Bar chart of m and u per level, one panel per comparison."""
        # Here, not at the top: the charts load matplotlib, needed only when one is drawn.
        from linkage.engine.charts import m_u_chart

        return m_u_chart(self.parameters())

    def match_weights_chart(self) -> Figure:
        """Match weight per comparison level (Splink's match weights chart)."""
        # Here, not at the top: the charts load matplotlib, needed only when one is drawn.
        from linkage.engine.charts import match_weights_chart

        return match_weights_chart(self.parameters(), self.prior)

    def match_weight_chart(self, predictions: pd.DataFrame) -> Figure:
        """Histogram of predicted match weights."""
        # Here, not at the top: the charts load matplotlib, needed only when one is drawn.
        from linkage.engine.charts import match_weight_histogram

        return match_weight_histogram(predictions)

    def waterfall_chart(
        self, left_row: pd.Series | Mapping[str, Any], right_row: pd.Series | Mapping[str, Any]
    ) -> Figure:
        """Waterfall chart of :meth:`waterfall` for one pair."""
        # Here, not at the top: the charts load matplotlib, needed only when one is drawn.
        from linkage.engine.charts import waterfall_chart

        return waterfall_chart(self.waterfall(left_row, right_row))

    # --- persistence
    def parameters_dict(self) -> dict[str, Any]:
        """The fitted parameters as plain JSON-able data."""
        self._check_fitted()
        return {
            "format": PARAMS_FORMAT,
            "prior": self.prior,
            "probability_two_random_records_match": self.probability_two_random_records_match,
            "u_source": self.u_source,
            "comparisons": [
                {
                    "name": c.name,
                    "level_labels": list(c.level_labels),
                    "tf_column": c.tf_column,
                    "m": [float(x) for x in self.m[c.name]],
                    "u": [float(x) for x in self.u[c.name]],
                }  # fmt: skip
                for c in self.comparisons
            ],
            "term_frequencies": self.term_frequencies_dict(),
        }

    def term_frequencies_dict(self) -> dict[str, dict[str, Any]]:
        """The term-frequency tables of the most recent :meth:`compare` as plain data: per comparison,
        ``values`` and ``frequencies`` (same order, sorted by value) and ``base`` (the denominator
        ``sum_v fL(v) fR(v)``). Empty before any compare."""
        out: dict[str, dict[str, Any]] = {}
        for name in sorted(self._tf_tables):
            table = self._tf_tables[name].sort_index(kind="mergesort")
            out[name] = {
                "values": table.index.tolist(),
                "frequencies": [float(x) for x in table.to_numpy(dtype=float)],
                "base": float(self._tf_base[name]),
            }
        return out

    def set_term_frequencies(self, data: Mapping[str, Mapping[str, Any]], source: str = "parameters") -> None:
        """Install tables from :meth:`term_frequencies_dict` (used by :meth:`waterfall` on records; a
        later :meth:`compare` replaces them with the frequencies of the data it compares)."""
        problems = []
        for name, d in data.items():
            if name not in self.names:
                problems.append(f"term frequencies for unknown comparison {name!r}")
            elif len(d.get("values", ())) != len(d.get("frequencies", ())):
                problems.append(f"{name!r}: values and frequencies differ in length")
            elif not isinstance(d.get("base"), int | float) or not d["base"] > 0:
                problems.append(f"{name!r}: base must be a positive number, got {d.get('base')!r}")
        if problems:
            raise LinkageError(f"{source}: " + "; ".join(problems))
        for name, d in data.items():
            self._tf_tables[name] = pd.Series(
                np.asarray(d["frequencies"], dtype=float), index=pd.Index(d["values"]), name="proportion"
            )
            self._tf_base[name] = float(d["base"])

    def save_parameters(self, path: str | PathLike[str]) -> None:
        """Write the parameters as JSON (atomic, sorted keys: same model => same bytes)."""
        write_text(path, json.dumps(self.parameters_dict(), indent=2, sort_keys=True) + "\n")

    def load_parameters(self, path: str | PathLike[str]) -> None:
        """Read parameters written by :meth:`save_parameters`; names and level labels must match."""
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise LinkageError(f"{path}: cannot read model parameters ({exc})") from exc
        self.set_parameters_dict(data, source=str(path))

    def set_parameters_dict(self, data: Mapping[str, Any], source: str = "parameters") -> None:
        """Install parameters from :meth:`parameters_dict` output, checking every comparison first."""
        problems = []
        if data.get("format") != PARAMS_FORMAT:
            problems.append(f"format must be {PARAMS_FORMAT!r}, got {data.get('format')!r}")
        given = {d.get("name"): d for d in data.get("comparisons", [])}
        for c in self.comparisons:
            d = given.get(c.name)
            if d is None:
                problems.append(f"no parameters for comparison {c.name!r}")
                continue
            if tuple(d.get("level_labels", ())) != tuple(c.level_labels):
                problems.append(
                    f"{c.name!r}: level labels {d.get('level_labels')} != model's {list(c.level_labels)}"
                )
        extra = sorted(set(given) - set(self.names), key=str)
        if extra:
            problems.append(f"parameters for unknown comparisons {extra}")
        prior = data.get("prior")
        if not isinstance(prior, int | float) or not (0 < prior < 1):
            problems.append(f"prior must be in (0, 1), got {prior!r}")
        if problems:
            raise LinkageError(f"{source}: " + "; ".join(problems))
        for c in self.comparisons:
            self.m[c.name] = np.asarray(given[c.name]["m"], dtype=float)
            self.u[c.name] = np.asarray(given[c.name]["u"], dtype=float)
        self.prior = float(prior)
        self.u_source = data.get("u_source")
        self.probability_two_random_records_match = data.get("probability_two_random_records_match")
        self.set_term_frequencies(data.get("term_frequencies", {}), source=source)


# Comparisons run side by side (on kernels.THREADS threads) when there are at least this many pairs.
_PARALLEL_COMPARE_MIN = 1 << 16


def weight_probability(weight: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Probability of log2 odds ``weight`` (clipped to +-1000 bits), chunked on the thread pool."""
    weight = np.asarray(weight, dtype=np.float64)
    out = np.empty_like(weight) if out is None else out

    def chunk(start: int, stop: int) -> None:
        part = out[start:stop]
        np.maximum(weight[start:stop], -1000, out=part)  # np.clip, but faster (NaN stays NaN)
        np.minimum(part, 1000, out=part)
        np.negative(part, out=part)
        np.exp2(part, out=part)
        part += 1.0
        np.reciprocal(part, out=part)

    run_chunks(len(weight), chunk)
    return out


def prediction_frame(
    head: Mapping[str, np.ndarray] | tuple[Sequence[str], np.ndarray],
    bf: np.ndarray,
    bf_names: Sequence[str],
    index: pd.Index,
) -> pd.DataFrame:
    """A prediction frame from float64 ``head`` columns (a dict of arrays, or a ``(h, n)`` array with
    names) and a ``(k, n)`` float32 Bayes-factor block, without pandas consolidating (copying) the blocks:
    one float64 block and one float32 block."""
    block = head[1] if isinstance(head, tuple) else np.vstack(list(head.values()))
    names = list(head[0]) if isinstance(head, tuple) else list(head)
    first = pd.DataFrame(block.T, columns=names, index=index, copy=False)
    second = pd.DataFrame(bf.T, columns=list(bf_names), index=index, copy=False)
    return pd.concat([first, second], axis=1, copy=False)
