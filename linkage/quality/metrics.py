"""Precision, recall and F1 of outcome links against the synthetic truth, overall, by source and by
subgroup, with Wilson score intervals (:func:`linkage.evaluation.rates.wilson_interval`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.errors import LinkageError
from linkage.reference import offence_codes

logger = logging.getLogger(__name__)

__all__ = ["QualityReport", "evaluate", "by_subgroup", "threshold_sweep", "precision_recall_chart"]

_KEY = ["source", "record_id"]
_TARGET = ["force", "crime_ref", "suspect_ref"]


def _require(frame: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LinkageError(f"{argument} lacks column(s) {missing}; has {list(frame.columns)}")


def _truth_targets(truth: pd.DataFrame) -> pd.DataFrame:
    """Truth rows that point at a crime (rows with a blank crime_ref have no true match)."""
    _require(truth, _KEY + _TARGET, "truth")
    t = truth[_KEY + _TARGET].copy()
    for col in _KEY + _TARGET:
        t[col] = t[col].astype("string")
    return t[t["crime_ref"].notna() & (t["crime_ref"] != "")]


def mark_correct(links: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """``links`` with ``correct`` (right crime and suspect) and ``correct_crime`` (right crime) columns."""
    _require(links, _KEY + _TARGET, "links")
    t = _truth_targets(truth).rename(columns={c: f"true_{c}" for c in _TARGET})
    out = links.copy()
    for col in _KEY + _TARGET:
        out[col] = out[col].astype("string")
    out = out.merge(t, on=_KEY, how="left", validate="many_to_one")
    crime = (out["force"] == out["true_force"]) & (out["crime_ref"] == out["true_crime_ref"])
    out["correct_crime"] = crime.fillna(False).astype(bool)
    out["correct"] = (crime & (out["suspect_ref"] == out["true_suspect_ref"])).fillna(False).astype(bool)
    return out


@dataclass(frozen=True)
class QualityReport:
    """Linkage quality against truth.

    ``table`` has one row per source plus ``all``: n_links, n_true (records with a true crime), tp
    (right crime and suspect), precision, recall and F1 with Wilson ``*_low``/``*_high`` bounds at
    ``1 - alpha``, and ``tp_crime``/``precision_crime``/``recall_crime`` counting a link to the right crime
    but the wrong co-suspect as correct; ``n_ambiguous`` the links flagged ``ambiguous`` (another candidate
    crime of the same person within 1 bit) and ``n_ambiguous_unlinked`` the records left unlinked because
    the evidence could not separate the person's crimes.
    """

    table: pd.DataFrame
    alpha: float
    method: str = "Wilson score interval (statsmodels proportion_confint)"

    def f1(self, source: str = "all") -> float:
        """F1 of one source (or ``'all'``)."""
        return float(self.table.loc[source, "f1"])

    def to_markdown(self) -> str:
        """A compact table for logs and notes."""
        cols = ["n_links", "n_true", "tp", "precision", "recall", "f1", "n_ambiguous", "n_ambiguous_unlinked"]
        lines = ["| source | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
        for name in self.table.index:
            cells = []
            for c in cols:
                value = self.table.loc[name, c]
                cells.append(f"{value:.4f}" if c in ("precision", "recall", "f1") else f"{int(value)}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _scores(tp: np.ndarray, n_links: np.ndarray, n_true: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_links > 0, tp / np.maximum(n_links, 1), np.nan)
        recall = np.where(n_true > 0, tp / np.maximum(n_true, 1), np.nan)
        f1 = np.where(n_links + n_true > 0, 2 * tp / np.maximum(n_links + n_true, 1), np.nan)
    # The package's one Wilson implementation (imported here: linkage.evaluation pulls in geopandas).
    from linkage.evaluation import rates

    p_lo, p_hi = rates.wilson_interval(tp, n_links, alpha)
    r_lo, r_hi = rates.wilson_interval(tp, n_true, alpha)
    return {
        "precision": precision,
        "precision_low": p_lo,
        "precision_high": p_hi,
        "recall": recall,
        "recall_low": r_lo,
        "recall_high": r_hi,
        "f1": f1,
    }


def _count_source(frame: pd.DataFrame | None, source: str) -> int:
    if frame is None or not len(frame):
        return 0
    return int(len(frame) if source == "all" else (frame["source"] == source).sum())


def evaluate(
    links: pd.DataFrame, truth: pd.DataFrame, alpha: float = 0.05, ambiguous: pd.DataFrame | None = None
) -> QualityReport:
    """Precision, recall and F1 of ``links`` against ``truth``, overall and by source.

    A link is correct when its (source, record_id) is in ``truth`` with the same force, crime_ref and
    suspect_ref. Recall's denominator is every truth row that points at a crime, linked or not.
    ``ambiguous`` (``LinkResult.ambiguous``: records whose person is clear but crime is not, left
    unlinked) is counted per source in ``n_ambiguous_unlinked``.
    """
    if not 0 < alpha < 1:
        raise LinkageError(f"alpha must be in (0, 1), got {alpha!r}")
    marked = mark_correct(links, truth)
    t = _truth_targets(truth)
    sources = sorted(set(t["source"].dropna()) | set(marked["source"].dropna()))
    rows = []
    for name in [*sources, "all"]:
        m = marked if name == "all" else marked[marked["source"] == name]
        n_true = len(t) if name == "all" else int((t["source"] == name).sum())
        rows.append(
            {
                "source": name,
                "n_links": len(m),
                "n_true": n_true,
                "tp": int(m["correct"].sum()),
                "tp_crime": int(m["correct_crime"].sum()),
                # links with a rival crime of the same person within 1 bit (flagged), and records left
                # unlinked because the evidence could not separate the person's crimes
                "n_ambiguous": int(m["ambiguous"].fillna(False).astype(bool).sum())
                if "ambiguous" in m
                else 0,
                "n_ambiguous_unlinked": _count_source(ambiguous, name),
            }
        )
    table = pd.DataFrame(rows).set_index("source")
    table = table.assign(
        **_scores(table["tp"].to_numpy(), table["n_links"].to_numpy(), table["n_true"].to_numpy(), alpha)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        table["precision_crime"] = table["tp_crime"] / table["n_links"].where(table["n_links"] > 0)
        table["recall_crime"] = table["tp_crime"] / table["n_true"].where(table["n_true"] > 0)
    return QualityReport(table=table, alpha=alpha)


_AGE_BANDS = (0, 18, 25, 35, 50, 200)
_AGE_LABELS = ("under 18", "18-24", "25-34", "35-49", "50+")


def _records(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every outcome record with its subgroup attributes taken from the record itself."""
    # Deferred: quality stays importable without the linkage engine; only record subgroups need the sources.
    from linkage.justice.outcome_sources import REGISTRY

    frames = []
    for source, spec in REGISTRY.items():
        if source not in tables:
            continue
        t = tables[source]
        rid = spec.record_ids(t)
        date_col = spec.outcome_date
        dob = pd.to_datetime(t["date_of_birth"], errors="coerce")
        when = pd.to_datetime(t["offence_date"], errors="coerce").fillna(
            pd.to_datetime(t[date_col], errors="coerce")
        )
        # in days, not nanoseconds: a mistyped DOB centuries away (1694 for 1964) must not overflow
        gap = when.to_numpy("datetime64[D]") - dob.to_numpy("datetime64[D]")
        age = pd.Series(np.where(np.isnat(gap), np.nan, gap.astype("int64")) / 365.25, index=t.index)
        frames.append(
            pd.DataFrame(
                {
                    "source": source,
                    "record_id": rid.to_numpy(),
                    "record_force": t["force"].astype("string").to_numpy(),
                    "sex": t["sex"].astype("string").fillna("U").to_numpy(),
                    "age_band": pd.cut(age, _AGE_BANDS, right=False, labels=_AGE_LABELS)
                    .astype("string")
                    .fillna("unknown")
                    .to_numpy(),
                }
            )
        )
    if not frames:
        raise LinkageError(f"tables has none of the outcome sources {list(REGISTRY)}")
    return pd.concat(frames, ignore_index=True)


def _offence_group(crimes: pd.DataFrame) -> pd.Series:
    """Home Office offence group of each crime (reference crosswalk); the police.uk crime type where the
    code is unknown."""
    groups = offence_codes().set_index("ho_code")["offence_group"]
    code = crimes["offence_code"].astype("string").str.strip()
    return code.map(groups).astype("string").fillna(crimes["crime_type"].astype("string"))


def by_subgroup(
    links: pd.DataFrame,
    truth: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    by: Sequence[str] = ("source", "force", "offence_group", "sex", "age_band"),
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Link rate, precision and recall per subgroup, one block of rows per variable in ``by``.

    Subgroups come from the outcome record (force, sex, age at offence) and, for ``offence_group``, from
    the true crime (or the linked crime for records with no true crime). Missed links are rarely spread
    evenly, and a subgroup with low recall has its outcome rates biased downwards.

    Columns: variable, group, n_records, n_linked, link_rate, n_true, tp, precision, recall (with Wilson
    bounds), f1.
    """
    allowed = {"source", "force", "offence_group", "sex", "age_band"}
    bad = [b for b in by if b not in allowed]
    if bad:
        raise LinkageError(f"by has unknown subgroup(s) {bad}; allowed {sorted(allowed)}")
    records = _records(tables)
    marked = mark_correct(links, truth)
    t = _truth_targets(truth)
    rec = records.merge(t, on=_KEY, how="left")
    rec = rec.merge(
        marked[_KEY + ["correct", "crime_ref", "force"]].rename(
            columns={"crime_ref": "link_crime_ref", "force": "link_force"}
        ),
        on=_KEY,
        how="left",
        validate="one_to_one",
    )
    rec["linked"] = rec["link_crime_ref"].notna()
    rec["has_true"] = rec["crime_ref"].notna()
    rec["correct"] = rec["correct"].eq(True)
    crimes = tables.get("crimes")
    if crimes is not None and "offence_group" in by:
        groups = (
            crimes[["force", "crime_ref"]]
            .astype("string")
            .assign(offence_group=_offence_group(crimes).to_numpy())
        )
        g_true = rec[["force", "crime_ref"]].merge(groups, on=["force", "crime_ref"], how="left")[
            "offence_group"
        ]
        g_link = rec[["link_force", "link_crime_ref"]].merge(
            groups.rename(columns={"force": "link_force", "crime_ref": "link_crime_ref"}),
            on=["link_force", "link_crime_ref"],
            how="left",
        )["offence_group"]
        rec["offence_group"] = g_true.fillna(g_link).fillna("unknown").to_numpy()
    else:
        rec["offence_group"] = "unknown"
    rec["force_group"] = rec["record_force"].fillna("unknown")
    out = []
    for var in by:
        col = "force_group" if var == "force" else var
        grp = rec.groupby(col, sort=True, dropna=False)
        agg = pd.DataFrame(
            {
                "n_records": grp.size(),
                "n_linked": grp["linked"].sum(),
                "n_true": grp["has_true"].sum(),
                "tp": grp["correct"].sum(),
            }
        )
        agg.index = agg.index.astype(str)
        agg = agg.reset_index(names="group")
        agg.insert(0, "variable", var)
        out.append(agg)
    table = pd.concat(out, ignore_index=True)
    n_rec = table["n_records"].to_numpy()
    table["link_rate"] = table["n_linked"] / np.maximum(n_rec, 1)
    scores = _scores(
        table["tp"].to_numpy(float), table["n_linked"].to_numpy(float), table["n_true"].to_numpy(float), alpha
    )
    return table.assign(**scores)


def threshold_sweep(
    candidates: pd.DataFrame,
    truth: pd.DataFrame,
    score: str = "match_weight",
    thresholds: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Precision, recall and F1 if each outcome record were linked to its best-scoring candidate when that
    score reaches a threshold. One row per (source, threshold), plus source ``all``.

    ``thresholds`` defaults to every distinct score (rounded to 0.1), which traces the whole precision-
    recall curve. This ignores the one-to-one constraints, so it shows the model, not the final links.
    """
    _require(candidates, _KEY + _TARGET + [score], "candidates")
    ordered = candidates.sort_values(_KEY + [score], ascending=[True, True, False], kind="mergesort")
    best = ordered.drop_duplicates(_KEY, keep="first")
    marked = mark_correct(best, truth)
    t = _truth_targets(truth)
    if thresholds is None:
        thresholds = np.unique(np.round(marked[score].to_numpy(float), 1))
    th = np.sort(np.asarray(thresholds, dtype=float))
    rows = []
    for name in [*sorted(marked["source"].unique()), "all"]:
        m = marked if name == "all" else marked[marked["source"] == name]
        n_true = len(t) if name == "all" else int((t["source"] == name).sum())
        s = np.sort(m[score].to_numpy(float))
        s_correct = np.sort(m.loc[m["correct"], score].to_numpy(float))
        n_links = len(s) - np.searchsorted(s, th, side="left")
        tp = len(s_correct) - np.searchsorted(s_correct, th, side="left")
        scores = _scores(tp.astype(float), n_links.astype(float), np.full(len(th), float(n_true)), 0.05)
        rows.append(
            pd.DataFrame(
                {"source": name, "threshold": th, "n_links": n_links, "tp": tp, "n_true": n_true, **scores}
            )
        )
    return pd.concat(rows, ignore_index=True)


def precision_recall_chart(sweep: pd.DataFrame, ax=None):
    """Precision-recall curve per source from :func:`threshold_sweep`; returns the matplotlib Axes
    (on a new ``matplotlib.figure.Figure`` when ``ax`` is None: no pyplot state, any backend)."""
    from matplotlib.figure import Figure

    _require(sweep, ["source", "precision", "recall"], "sweep")
    if ax is None:
        ax = Figure(figsize=(6, 4.5)).subplots()
    for name, part in sweep.groupby("source", sort=True):
        part = part.sort_values("recall", kind="mergesort")
        ax.plot(part["recall"], part["precision"], marker=".", markersize=3, label=str(name))
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall by source (best candidate per record)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left")
    return ax
