"""Linkage error in the estimates: multiple imputation of link sets and a clerical-review correction.

Every rate and DiD built on linked data treats the accepted links as known. Two ways to carry the linkage
uncertainty into an estimate:

* **Multiple imputation of link sets** (the approach of Goldstein, Harron & Wade 2012 and of Rubin 1987
  applied to linkage): each imputation draws every scored candidate pair as a match with its match
  probability, resolves the draws one-to-one with the engine's own constraint
  (:func:`linkage.justice.assignment.resolve_conflicts`; deterministic-rule pairs are always kept), and runs
  the estimator on that link set. Rubin's rules combine the imputations: the total variance is the
  mean within-imputation variance plus (1 + 1/m) times the between-imputation variance, with the
  Barnard-Rubin degrees of freedom; the share of the total variance that is between imputations is the
  part of the interval that is linkage. This is only as good as the match probabilities' calibration,
  and matches never proposed as candidates (missed by blocking) cannot be drawn.
* **Clerical-review correction**: when an outcome indicator comes from linked records only, the linked
  rate is about ``recall / precision`` times the true rate (missed links hide outcomes, false links add
  them), so a rate or a difference of rates divides by that factor. The review's precision and recall
  intervals enter the standard error by the delta method. It assumes precision and recall are the same
  in the groups compared (trailblazer and comparison, before and after): give them by group when they
  differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from linkage.evaluation.disclosure import round_to_base
from linkage.evaluation.rates import wilson_interval

__all__ = ["RubinResult", "corrected_for_review", "impute_link_sets", "multiply_impute", "rubin"]


@dataclass(frozen=True)
class RubinResult:
    """Estimates from ``m`` imputations combined by Rubin's rules."""

    estimate: float
    std_error: float
    ci_lower: float
    ci_upper: float
    within: float  # mean within-imputation variance
    between: float  # between-imputation variance
    df: float
    m: int
    alpha: float

    @property
    def linkage_share(self) -> float:
        """Share of the total variance that is between imputations (the linkage part of the interval)."""
        total = self.std_error**2
        return float((1 + 1 / self.m) * self.between / total) if total > 0 else 0.0

    def covers(self, value: float) -> bool:
        """True when ``value`` lies inside the interval."""
        return bool(self.ci_lower <= value <= self.ci_upper)


def rubin(
    estimates: np.ndarray, variances: np.ndarray, *, alpha: float = 0.05, df_complete: float = np.inf
) -> RubinResult:
    """Combine per-imputation ``estimates`` and their ``variances`` (Rubin 1987; Barnard & Rubin 1999 df)."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = len(q)
    if m < 2 or len(u) != m:
        raise ValueError(f"rubin: need at least two imputations with a variance each, got {m} and {len(u)}")
    qbar, within = float(q.mean()), float(u.mean())
    between = float(q.var(ddof=1))
    total = within + (1 + 1 / m) * between
    if between <= 0:
        df = df_complete
    else:
        lam = (1 + 1 / m) * between / total
        df_old = (m - 1) / lam**2
        df = df_old
        if np.isfinite(df_complete):
            df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
            df = 1 / (1 / df_old + 1 / df_obs)
    crit = float(stats.t.ppf(1 - alpha / 2, df)) if np.isfinite(df) else float(stats.norm.ppf(1 - alpha / 2))
    se = float(np.sqrt(total))
    return RubinResult(qbar, se, qbar - crit * se, qbar + crit * se, within, between, float(df), m, alpha)


def impute_link_sets(candidates: pd.DataFrame, m: int, *, seed: int) -> Iterator[pd.DataFrame]:
    """``m`` link sets drawn from the candidates' match probabilities under the one-to-one constraint.

    ``candidates`` is :attr:`linkage.justice.LinkResult.candidates` (``source``, ``record_id``, ``force``,
    ``crime_ref``, ``suspect_ref``, ``left_pos``, ``right_pos``, ``match_probability``, ``rule`` and the
    outcome fields ``r_outcome_date``, ``r_outcome_label``). Each draw yields links in the form
    :func:`linkage.justice.crime_outcome_table` takes. Pairs decided by a deterministic rule are always
    kept; other pairs are drawn with their probability, then conflicts resolved per source (each record
    at most one crime-suspect; each crime-suspect at most one caution and one penalty notice) keeping the
    likelier pair. Court-outcome lines are constrained by record only (a crime-suspect may have several).
    """
    # Deferred: evaluation stays importable without the linkage engine; only imputation needs its constraint.
    from linkage.justice.assignment import resolve_conflicts
    from linkage.justice.outcome_sources import outcome_source  # deferred too: the sources' constraint units

    need = ["source", "record_id", "force", "crime_ref", "suspect_ref", "left_pos", "right_pos"]
    need += ["match_probability", "rule", "r_outcome_date", "r_outcome_label"]
    missing = [c for c in need if c not in candidates.columns]
    if missing:
        raise KeyError(
            f"candidates lack column(s) {missing}: link with candidates kept (the report's default)"
        )
    rng = np.random.default_rng(seed)
    prob = candidates["match_probability"].to_numpy(float)
    is_rule = candidates["rule"].astype(str).str.startswith("rule:").to_numpy()
    source = candidates["source"].astype(str).to_numpy()
    lpos = candidates["left_pos"].to_numpy(np.int64)
    rpos = candidates["right_pos"].to_numpy(np.int64)
    for _ in range(m):
        drawn = is_rule | (rng.random(len(prob)) < prob)
        keep = np.zeros(len(prob), dtype=bool)
        for s in np.unique(source):
            idx = np.flatnonzero(drawn & (source == s))
            if not len(idx):
                continue
            # a source constrained within a unit (court lines: per case) is constrained by record only
            left = np.arange(len(idx)) if outcome_source(s).unit_within is not None else lpos[idx]
            score = np.where(is_rule[idx], 2.0, 0.0) + prob[idx] + 1e-6
            keep[idx] = resolve_conflicts(left, rpos[idx], score)
        sel = candidates.loc[keep, ["source", "record_id", "force", "crime_ref", "suspect_ref"]].copy()
        sel["outcome_date"] = candidates.loc[keep, "r_outcome_date"].to_numpy()
        sel["outcome_label"] = candidates.loc[keep, "r_outcome_label"].to_numpy()
        sel["match_probability"] = prob[keep]
        yield sel.reset_index(drop=True)


def multiply_impute(
    candidates: pd.DataFrame,
    estimator: Callable[[pd.DataFrame], tuple[float, float]],
    *,
    m: int = 10,
    seed: int = 0,
    alpha: float = 0.05,
) -> RubinResult:
    """Run ``estimator(links) -> (estimate, variance)`` on ``m`` imputed link sets; Rubin's rules."""
    results = [estimator(links) for links in impute_link_sets(candidates, m, seed=seed)]
    est, var = (np.array(v, dtype=float) for v in zip(*results, strict=True))
    return rubin(est, var, alpha=alpha)


def corrected_for_review(
    estimate: float,
    std_error: float,
    *,
    precision: float,
    precision_interval: tuple[float, float],
    recall: float,
    recall_interval: tuple[float, float],
    alpha: float = 0.05,
) -> tuple[float, float, float, float]:
    """A linked-only rate (or difference of rates) divided by recall / precision, with a delta-method SE.

    The review's intervals are read as normal with half-width 1.96 SE. Returns (estimate, SE, lower, upper).
    """
    if not (0 < precision <= 1 and 0 < recall <= 1):
        raise ValueError(f"precision and recall must be in (0, 1], got {precision} and {recall}")
    z = float(stats.norm.ppf(1 - alpha / 2))
    se_p = (precision_interval[1] - precision_interval[0]) / (2 * 1.959964)
    se_r = (recall_interval[1] - recall_interval[0]) / (2 * 1.959964)
    factor = precision / recall
    adj = estimate * factor
    # Var(x * p / r) by the delta method with x, p, r independent.
    var = (
        (factor * std_error) ** 2
        + (estimate / recall * se_p) ** 2
        + (estimate * precision / recall**2 * se_r) ** 2
    )
    se = float(np.sqrt(var))
    return float(adj), se, float(adj - z * se), float(adj + z * se)


def linked_shares(
    crimes: pd.DataFrame,
    links: pd.DataFrame,
    reviews: dict[str, object],
    *,
    truth: pd.DataFrame | None = None,
    alpha: float = 0.05,
    rounding_base: int = 1,
) -> pd.DataFrame:
    """Per source: the share of ``crimes`` with a linked record of that source, as linked and adjusted.

    ``crimes`` (``force``, ``crime_ref``) is the population (e.g. crimes with a named suspect); ``links``
    the accepted links (``source``, ``force``, ``crime_ref``); ``reviews`` maps a source to its clerical
    review estimate (:class:`linkage.quality.ReviewEstimate`: ``precision``, ``recall`` and their
    intervals). These rates come from linked records only, so missed links (recall < 1) bias them down
    and false links (precision < 1) up. The as-linked interval is Wilson's, sampling only; the adjusted
    one divides by recall / precision (:func:`corrected_for_review`) and its variance adds the review's
    uncertainty: ``linkage_share`` is the part of that variance which is linkage. With ``truth``
    (``source``, ``force``, ``crime_ref``: the synthetic world's true links) the true share is added.
    Counts are rounded to ``rounding_base`` first (a published report's disclosure rounding), so nothing
    computed here undoes the rounding.
    """

    def rounded(x: int) -> int:
        return int(round_to_base(np.array([float(x)]), rounding_base)[0])

    keys = crimes[["force", "crime_ref"]].astype("string").drop_duplicates()
    n = rounded(len(keys))
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows = []
    for source, review in sorted(reviews.items()):
        mine = links.loc[links["source"].astype(str) == source, ["force", "crime_ref"]].astype("string")
        k = rounded(keys.merge(mine.drop_duplicates(), on=["force", "crime_ref"], how="inner").shape[0])
        k = min(k, n)
        if n == 0:
            continue
        rate = k / n
        lo, hi = (float(v) for v in np.ravel(wilson_interval(np.array([k]), np.array([n]), alpha=alpha)))
        se = float(np.sqrt(max(rate * (1 - rate), 1e-12) / n))
        adj, adj_se, adj_lo, adj_hi = corrected_for_review(
            rate,
            se,
            precision=float(review.precision),
            precision_interval=tuple(review.precision_interval),
            recall=float(review.recall),
            recall_interval=tuple(review.recall_interval),
            alpha=alpha,
        )
        sampling = (float(review.precision) / float(review.recall) * se) ** 2
        row = {
            "source": source,
            "linked": k,
            "crimes": n,
            "as_linked": rate,
            "as_linked_lower": lo,
            "as_linked_upper": hi,
            "precision": float(review.precision),
            "recall": float(review.recall),
            "adjusted": adj,
            "adjusted_lower": max(adj_lo, 0.0),
            "adjusted_upper": adj_hi,
            "linkage_share": float(1 - sampling / adj_se**2) if adj_se > 0 else 0.0,
            "width_ratio": float(2 * z * adj_se / (hi - lo)) if hi > lo else np.nan,
        }
        if truth is not None:
            t = truth.loc[truth["source"].astype(str) == source, ["force", "crime_ref"]].astype("string")
            kt = rounded(keys.merge(t.drop_duplicates(), on=["force", "crime_ref"], how="inner").shape[0])
            row["true"] = kt / n
        rows.append(row)
    return pd.DataFrame(rows)


__all__.append("linked_shares")


def _days_to_first(crimes: pd.DataFrame, links: pd.DataFrame) -> pd.Series:
    """Per crime of ``crimes`` (``force``, ``crime_ref``, ``start_date``) with a record in ``links``: days
    from recording to its first linked outcome date (records without a date are left out)."""
    mine = links[["force", "crime_ref", "outcome_date"]].copy()
    mine["outcome_date"] = pd.to_datetime(mine["outcome_date"], errors="coerce")
    mine = mine.dropna(subset=["outcome_date"]).astype({"force": "string", "crime_ref": "string"})
    first = mine.groupby(["force", "crime_ref"], as_index=False)["outcome_date"].min()
    both = crimes.merge(first, on=["force", "crime_ref"], how="inner")
    return (both["outcome_date"] - both["start_date"]).dt.days.astype(float)


def imputed_linked_outcomes(
    crimes: pd.DataFrame,
    candidates: pd.DataFrame,
    links: pd.DataFrame,
    *,
    m: int = 10,
    seed: int = 0,
    alpha: float = 0.05,
    rounding_base: int = 1,
    truth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per source, by multiple imputation of link sets (:func:`impute_link_sets`, Rubin's rules): the share
    of ``crimes`` with a linked record of that source and the mean days from recording to that record's
    outcome, as linked and imputed, with the part of each imputed variance that is linkage.

    ``crimes`` (``force``, ``crime_ref``, ``start_date``) is the population; ``links`` the accepted links
    (``source``, ``force``, ``crime_ref``, ``outcome_date``); ``candidates`` every scored pair with its match
    probability. Within an imputation the share's variance is binomial and the mean's is ``s^2 / k``. The
    share is computed from counts rounded to ``rounding_base`` (as :func:`linked_shares`). ``min_linked`` is
    the fewest crimes with a record that any of the means rests on (as linked, in any imputation or, with
    ``truth``, in the truth), for disclosure control by the caller. Deterministic given ``seed``.

    The as-linked share has a Wilson interval (sampling only), the as-linked mean a normal one. With
    ``truth`` (the synthetic world's true links with their outcome dates: :func:`true_links`) each row
    also has ``true_share`` and ``true_days`` - the same quantities on the true links, same population,
    same rounding - and whether each interval covers them (``*_covers``); without it those columns are
    absent.
    """

    def rounded(x: float) -> float:
        return float(round_to_base(np.array([float(x)]), rounding_base)[0])

    pop = crimes[["force", "crime_ref", "start_date"]].astype({"force": "string", "crime_ref": "string"})
    pop = pop.drop_duplicates(["force", "crime_ref"])
    pop["start_date"] = pd.to_datetime(pop["start_date"])
    n = rounded(len(pop))
    sources = sorted(set(candidates["source"].astype(str)) & set(links["source"].astype(str)))
    if n <= 0 or not sources:
        return pd.DataFrame()
    draws = {s: ([], [], [], [], []) for s in sources}  # share, share var, mean, mean var, k
    for imputed in impute_link_sets(candidates, m, seed=seed):
        for s in sources:
            days = _days_to_first(pop, imputed[imputed["source"].astype(str) == s])
            share = min(rounded(len(days)), n) / n
            d = draws[s]
            d[0].append(share)
            d[1].append(max(share * (1 - share), 1e-12) / n)
            d[2].append(float(days.mean()) if len(days) else np.nan)
            d[3].append(float(days.var(ddof=1)) / len(days) if len(days) > 1 else np.nan)
            d[4].append(len(days))
    rows = []
    z = float(stats.norm.ppf(1 - alpha / 2))
    for s in sources:
        share, share_var, mean, mean_var, k = (np.array(v, dtype=float) for v in draws[s])
        linked_days = _days_to_first(pop, links[links["source"].astype(str) == s])
        row: dict[str, object] = {"source": s, "min_linked": int(min(k.min(), len(linked_days)))}
        k_linked = min(rounded(len(linked_days)), n)
        row["as_linked_share"] = k_linked / n
        lo, hi = (float(v[0]) for v in wilson_interval(np.array([k_linked]), np.array([n]), alpha=alpha))
        row.update(as_linked_share_lower=lo, as_linked_share_upper=hi)
        sh = rubin(share, share_var, alpha=alpha)
        row.update(
            imputed_share=sh.estimate,
            imputed_share_lower=max(sh.ci_lower, 0.0),
            imputed_share_upper=sh.ci_upper,
            share_linkage=sh.linkage_share,
        )
        if len(linked_days) > 1:
            se = float(linked_days.std(ddof=1)) / np.sqrt(len(linked_days))
            mu = float(linked_days.mean())
            row.update(as_linked_days=mu, as_linked_days_lower=mu - z * se, as_linked_days_upper=mu + z * se)
        else:
            row.update(as_linked_days=np.nan, as_linked_days_lower=np.nan, as_linked_days_upper=np.nan)
        if np.isfinite(mean).all() and np.isfinite(mean_var).all():
            md = rubin(mean, mean_var, alpha=alpha)
            row.update(
                imputed_days=md.estimate,
                imputed_days_lower=md.ci_lower,
                imputed_days_upper=md.ci_upper,
                days_linkage=md.linkage_share,
            )
        else:
            row.update(imputed_days=np.nan, imputed_days_lower=np.nan, imputed_days_upper=np.nan)
            row["days_linkage"] = np.nan
        if truth is not None:
            true_days = _days_to_first(pop, truth[truth["source"].astype(str) == s])
            row["min_linked"] = int(min(int(row["min_linked"]), len(true_days)))
            row["true_share"] = min(rounded(len(true_days)), n) / n
            row["true_days"] = float(true_days.mean()) if len(true_days) else np.nan
            for what, value in (("share", row["true_share"]), ("days", row["true_days"])):
                for how in ("as_linked", "imputed"):
                    lo, hi = (float(row[f"{how}_{what}_{end}"]) for end in ("lower", "upper"))  # type: ignore[arg-type]
                    row[f"{how}_{what}_covers"] = bool(lo <= float(value) <= hi)  # type: ignore[arg-type]
        rows.append(row)
    return pd.DataFrame(rows)


__all__.append("imputed_linked_outcomes")


def true_links(truth: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The synthetic world's true links (``truth``: ``source``, ``record_id``, ``force``, ``crime_ref``) with
    each record's outcome date and label read from its source table in ``tables`` exactly as the linkage
    reads them (:class:`linkage.justice.outcome_sources.OutcomeSource`), so a quantity computed on these
    links is the one the estimates computed on linked or imputed links are after. A record missing from
    its table keeps its link and has no date. Sources the registry does not know are left out."""
    from linkage.justice.outcome_sources import REGISTRY  # deferred as in impute_link_sets

    frames = []
    for source, rows in truth.groupby(truth["source"].astype(str), sort=True):
        if source not in REGISTRY:
            continue
        mine = pd.DataFrame(
            {
                "source": source,
                "record_id": rows["record_id"].astype("string").to_numpy(),
                "force": rows["force"].astype("string").to_numpy(),
                "crime_ref": rows["crime_ref"].astype("string").to_numpy(),
            }
        )
        table = tables.get(source)
        if table is None or table.empty:
            mine["outcome_date"], mine["outcome_label"] = pd.NaT, pd.NA
        else:
            spec = REGISTRY[source]
            dated = pd.DataFrame(
                {
                    "record_id": spec.record_ids(table).to_numpy(),
                    "outcome_date": pd.to_datetime(table[spec.outcome_date], errors="coerce").to_numpy(),
                    "outcome_label": spec.outcome_label(table).to_numpy(),
                }
            ).drop_duplicates("record_id")
            dated["record_id"] = dated["record_id"].astype("string")
            mine = mine.merge(dated, on="record_id", how="left")
        frames.append(mine)
    cols = ["source", "record_id", "force", "crime_ref", "outcome_date", "outcome_label"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


__all__.append("true_links")


def _within(pop: pd.DataFrame, links: pd.DataFrame, followup_days: int) -> np.ndarray:
    """0/1 per row of ``pop`` (``force``, ``crime_ref``, ``start_date``): a record in ``links`` whose
    outcome date is within ``followup_days`` of recording (the window the DiD's other outcomes use)."""
    mine = links[["force", "crime_ref", "outcome_date"]].copy()
    mine["outcome_date"] = pd.to_datetime(mine["outcome_date"], errors="coerce")
    mine = mine.dropna(subset=["outcome_date"]).astype({"force": "string", "crime_ref": "string"})
    first = mine.groupby(["force", "crime_ref"], as_index=False)["outcome_date"].min()
    both = pop[["force", "crime_ref", "start_date"]].merge(first, on=["force", "crime_ref"], how="left")
    days = (both["outcome_date"] - both["start_date"]).dt.days
    return (days.notna() & (days <= followup_days)).to_numpy(dtype=float)


def imputed_did(
    crimes: pd.DataFrame,
    candidates: pd.DataFrame,
    links: pd.DataFrame,
    *,
    go_live: pd.Timestamp,
    period_end: pd.Timestamp,
    followup_days: int = 90,
    cluster: str = "lsoa",
    m: int = 10,
    seed: int = 0,
    alpha: float = 0.05,
    truth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per source, the difference-in-differences of an outcome only linkage gives - the crime has a linked
    record of that source dated within ``followup_days`` of recording - as linked and by multiple
    imputation of link sets (the DiD on each imputed link set, Rubin's rules).

    ``crimes`` is the population (e.g. crimes with a named suspect: ``force``, ``crime_ref``,
    ``start_date``, ``month``, ``area``, ``treated`` and ``lsoa_code``), kept where the follow-up window is
    complete by ``period_end`` and the crime has an LSOA, as :func:`linkage.evaluation.did_sample` keeps
    them; the DiD is :func:`linkage.evaluation.did.did` (cluster-robust, ``cluster``). Within an
    imputation the variance is the DiD's own squared SE; ``linkage_share`` is the part of the imputed
    variance that is between imputations. ``min_flagged`` is the fewest crimes with the outcome in any
    one link set (as linked, imputed or true), for disclosure control by the caller. With ``truth`` (true
    links with dates, :func:`true_links`) the same DiD on the true links is ``true`` and each interval's
    coverage of it is added; without it those columns are absent. Proportions (x100 for pp).
    Deterministic given ``seed``. A DiD that cannot be estimated raises ``ValueError``.
    """
    from linkage.evaluation.did import did  # same stage; deferred to keep this module's imports light

    pop = crimes.astype({"force": "string", "crime_ref": "string"}).drop_duplicates(["force", "crime_ref"])
    pop = pop.assign(start_date=pd.to_datetime(pop["start_date"]))
    keep = pop["start_date"] + pd.Timedelta(days=followup_days) <= pd.Timestamp(period_end)
    if "lsoa_code" in pop.columns:
        keep &= pop["lsoa_code"].notna()
    pop = pop[keep].reset_index(drop=True)
    sources = sorted(set(candidates["source"].astype(str)) & set(links["source"].astype(str)))
    if pop.empty or not sources:
        return pd.DataFrame()

    def fit(link_set: pd.DataFrame, source: str) -> tuple[float, float, float, float, int]:
        flag = _within(pop, link_set[link_set["source"].astype(str) == source], followup_days)
        res = did(pop.assign(_linked=flag), outcome="_linked", go_live=go_live, cluster=cluster, alpha=alpha)
        return res.estimate, res.std_error, res.ci_lower, res.ci_upper, int(flag.sum())

    draws: dict[str, list[tuple[float, float, float, float, int]]] = {s: [] for s in sources}
    for imputed in impute_link_sets(candidates, m, seed=seed):
        for s in sources:
            draws[s].append(fit(imputed, s))
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows = []
    for s in sources:
        est, se, lo, hi, k = fit(links, s)
        q = np.array([d[0] for d in draws[s]])
        u = np.array([d[1] ** 2 for d in draws[s]])
        mi = rubin(q, u, alpha=alpha)
        row: dict[str, object] = {
            "source": s,
            "min_flagged": int(min(k, *(d[4] for d in draws[s]))),
            "as_linked": est,
            "as_linked_lower": lo,
            "as_linked_upper": hi,
            "imputed": mi.estimate,
            "imputed_lower": mi.ci_lower,
            "imputed_upper": mi.ci_upper,
            "linkage_share": mi.linkage_share,
            "width_ratio": float(2 * z * mi.std_error / (hi - lo)) if hi > lo else np.nan,
            "df": mi.df,
        }
        if truth is not None:
            t_est, _, _, _, t_k = fit(truth, s)
            row["min_flagged"] = int(min(int(row["min_flagged"]), t_k))  # type: ignore[call-overload]
            row["true"] = t_est
            row["as_linked_covers"] = bool(lo <= t_est <= hi)
            row["imputed_covers"] = mi.covers(t_est)
        rows.append(row)
    return pd.DataFrame(rows)


__all__.append("imputed_did")
