"""Charts that explain a model.

Each function returns a bare ``matplotlib.figure.Figure`` (no pyplot, so no global backend state: it
renders with Agg on ``savefig`` and displays inline in Jupyter); the caller saves or shows it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

__all__ = ["m_u_chart", "match_weight_histogram", "match_weights_chart", "waterfall_chart"]


def _level_axis_labels(params: pd.DataFrame) -> list[str]:
    return [f"{c}: {lab}" for c, lab in zip(params["comparison"], params["label"], strict=True)]


def m_u_chart(params: pd.DataFrame) -> Figure:
    """m and u per comparison level, side by side (levels top to bottom as in the m/u table)."""
    fig = Figure(figsize=(10, max(3.0, 0.28 * len(params) + 1)))
    ax_m, ax_u = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(params))[::-1]
    labels = _level_axis_labels(params)
    ax_m.barh(y, params["m"], color="tab:green")
    ax_u.barh(y, params["u"], color="tab:red")
    ax_u.set_xscale("log")
    ax_m.set_yticks(y, labels, fontsize=7)
    ax_m.set_xlabel("m: P(level | match)")
    ax_u.set_xlabel("u: P(level | non-match), log scale")
    ax_m.set_xlim(0, 1)
    fig.suptitle("m and u parameters")
    fig.tight_layout()
    return fig


def match_weights_chart(params: pd.DataFrame, prior: float | None) -> Figure:
    """log2(m/u) per comparison level, with the prior weight as the first bar."""
    weights = params["match_weight"].to_numpy(dtype=float)
    labels = _level_axis_labels(params)
    if prior is not None:
        weights = np.concatenate([[np.log2(prior) - np.log2(1 - prior)], weights])
        labels = ["prior", *labels]
    fig = Figure(figsize=(7, max(3.0, 0.28 * len(labels) + 1)))
    ax = fig.subplots()
    y = np.arange(len(labels))[::-1]
    ax.barh(y, weights, color=np.where(weights >= 0, "tab:green", "tab:red"))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("match weight, log2(m/u)")
    ax.set_title("Match weights by comparison level")
    fig.tight_layout()
    return fig


def match_weight_histogram(predictions: pd.DataFrame, bins: int = 60) -> Figure:
    """Distribution of predicted match weights (log count scale)."""
    w = predictions["match_weight"].to_numpy(dtype=float)
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    if len(w):
        ax.hist(w, bins=bins, color="tab:blue", log=True)
    ax.axvline(0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xlabel("match weight (log2 odds); 0 = probability 0.5")
    ax.set_ylabel("pairs (log scale)")
    ax.set_title(f"Match weight distribution ({len(w):,} pairs)")
    fig.tight_layout()
    return fig


def waterfall_chart(table: pd.DataFrame) -> Figure:
    """Waterfall of one pair's weight from a waterfall table (:meth:`LinkageModel.waterfall` or
    :meth:`linkage.justice.model.TwoStageModel.waterfall`).

    Each contribution row is a bar from the running weight before it to ``cumulative_weight`` (green up,
    red down); rows of kind ``total`` (a stage's subtotal, drawn grey) and ``final`` (blue) are bars from
    0. A new stage starts again from 0 at its prior.
    """
    kind = (
        table["kind"].to_numpy()
        if "kind" in table.columns
        else np.where(table["step"] == "final", "final", "comparison")
    )
    cumulative = table["cumulative_weight"].to_numpy(dtype=float)
    contrib = table["log2_bayes_factor"].to_numpy(dtype=float)
    is_bar = (kind != "total") & (kind != "final")
    height = np.where(is_bar, contrib, cumulative)
    bottom = np.where(is_bar, cumulative - contrib, 0.0)
    colours = np.where(
        kind == "final",
        "tab:blue",
        np.where(kind == "total", "tab:gray", np.where(height >= 0, "tab:green", "tab:red")),
    )
    fig = Figure(figsize=(max(8.0, 0.45 * len(table) + 2), 4.5))
    ax = fig.subplots()
    x = np.arange(len(table))
    ax.bar(x, height, bottom=bottom, color=colours)
    steps = table["step"].astype(str)
    labels = [
        f"{s}\n{lab}" if lab else s
        for s, lab in zip(steps, table["label"].fillna("").astype(str).str.slice(0, 40), strict=True)
    ]
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.axhline(0, color="black", linewidth=0.8)
    total = float(cumulative[-1])
    prob = 1.0 / (1.0 + 2.0 ** (-total))
    ax.set_ylabel("match weight (log2)")
    ax.set_title(f"Waterfall: final weight {total:.2f}, probability {prob:.3f}")
    fig.tight_layout()
    return fig
