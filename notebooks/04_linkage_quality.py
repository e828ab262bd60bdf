# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 Linkage quality
#
# **What this notebook is for.** A linked outcome rate is only as good as the linkage behind it. Missed links
# make outcome rates look lower than they are; false links make them look higher; and neither error is spread
# evenly, so a group whose records are harder to link (more name variants, more missing identifiers) can
# look as if it gets different outcomes when it does not.
#
# On synthetic data we know the truth, so we can measure **precision** (the share of links that are right)
# and **recall** (the share of true links found) exactly. On real data we cannot; instead a reviewer looks at
# a sample of pairs and we *estimate* precision and recall from their labels. This notebook does both, on
# the same world, so you can see how well the clerical estimate recovers the truth.

# %% tags=["parameters"]
from pathlib import Path

# The repository root: the nearest folder above the working directory holding pyproject.toml (nbval and
# JupyterLab run a notebook with notebooks/ as the working directory; this also works from the root).
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())

AREA = "small"  # synthetic world preset (linkage/synth/presets.py)
SEED = 1
REVIEW_PAIRS = 150  # size of the clerical review sample
DATA = ROOT / "data"

# %%
import tempfile
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import numpy as np
import pandas as pd

from linkage.justice import LinkSettings, link_outcomes
from linkage.quality import (
    by_subgroup,
    draw_review_sample,
    estimate_from_review,
    evaluate,
    mark_correct,
    precision_recall_chart,
    read_review,
    threshold_sweep,
    write_review_sample,
)
from linkage.synth import PRESETS, WorldSpec, generate, preset

# linkage's charts are bare matplotlib Figures (no backend chosen); show them inline here.
# %matplotlib inline
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 30)

# %%
world = generate(preset(AREA), seed=SEED)
tables = {name: world.table(name) for name in ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes"]}
result = link_outcomes(tables, LinkSettings(seed=SEED))

# %% [markdown]
# ## 1. Precision and recall against the truth
#
# A link is correct when it names the right crime **and** the right suspect. Recall's denominator is every
# outcome record that truly belongs to a crime in the data, linked or not. Intervals are 95% Wilson score
# intervals: with a few dozen cautions they are wide, and should be.

# %%
# NBVAL_CHECK_OUTPUT

quality = evaluate(result.links, world.truth)
columns = ["n_links", "n_true", "tp", "precision", "precision_low", "precision_high",
           "recall", "recall_low", "recall_high", "f1"]
print(quality.table[columns].to_string(float_format="{:.3f}".format))

# %% [markdown]
# The same pipeline on a world with the **hard** noise profile (more typos, nicknames, missing PNC IDs,
# altered charges and shifted dates) shows how quality degrades as the records get messier:

# %%
hard_world = generate(WorldSpec.from_dict({**PRESETS[AREA], "noise": "hard"}), seed=SEED)
hard_tables = {name: hard_world.table(name) for name in tables}
hard_result = link_outcomes(hard_tables, LinkSettings(seed=SEED))

# %%
# NBVAL_CHECK_OUTPUT

hard = evaluate(hard_result.links, hard_world.truth)
print(pd.DataFrame({"typical F1": quality.table["f1"], "hard F1": hard.table["f1"]}).to_string(
    float_format="{:.3f}".format))

# %% [markdown]
# ## 2. Choosing a threshold
#
# Every candidate pair has a match weight. Raising the threshold trades recall for precision. The sweep
# links each outcome record to its best candidate when that candidate's weight reaches the threshold (it
# ignores the one-to-one constraints, so it describes the model, not the final links). The default link
# threshold is a match probability of 0.5, a match weight of 0.

# %%
# NBVAL_CHECK_OUTPUT

sweep = threshold_sweep(result.candidates, world.truth, thresholds=[-10, -5, 0, 5, 10, 15])
view = sweep[sweep["source"] == "all"][["threshold", "n_links", "tp", "precision", "recall", "f1"]]
print(view.to_string(index=False, float_format="{:.3f}".format))

# %%
full_sweep = threshold_sweep(result.candidates, world.truth)
ax = precision_recall_chart(full_sweep)
ax.figure.set_dpi(80)
ax.figure

# %% [markdown]
# The curve hugs the top-right corner: over a wide range of thresholds almost every link is right and
# almost every true link is found, so the result does not hinge on the exact threshold. On real data, where
# the curve is unknown, the clerical review below is how you check that.
#
# ## 3. Who gets missed? Link rates and recall by subgroup
#
# `by_subgroup` breaks the link rate (the share of outcome records linked to any crime), precision and recall
# down by source, force, offence group, sex and age band. A subgroup with lower recall has its outcome rates
# biased downwards in any analysis of linked data.

# %%
subgroups = by_subgroup(result.links, world.truth, tables)
shown = subgroups[subgroups["variable"].isin(["sex", "age_band", "offence_group"])]
print(shown[["variable", "group", "n_records", "link_rate", "recall", "recall_low", "recall_high"]].to_string(
    index=False, float_format="{:.3f}".format))

# %% [markdown]
# With a few hundred outcome records the intervals overlap for almost every group, so nothing here is
# evidence of a difference. In a real project the same table on a full year of a force's records is what you
# would publish alongside any outcome rate broken down by these groups.
#
# ## 4. The clerical review round trip
#
# On real data there is no truth table. The workflow is:
#
# 1. **draw** a random sample of candidate pairs stratified by match weight (and by whether they were
#    linked): every stratum gets at least 5 pairs, so the small uncertain middle is seen, and the rest of the
#    sample is spread in proportion to stratum size. Write it to CSV with both records side by side.
#    Unlinked pairs far below the threshold (weight under -10 by default: they disagree on almost
#    everything) are not sampled and are assumed to be non-matches, the usual "grey zone" design;
# 2. a **reviewer** fills `reviewer_label` with `Y` (same person and crime), `N`, or `?` (cannot tell);
# 3. **read** the labels back (every label is checked) and **estimate** precision and recall: each reviewed
#    pair stands for (stratum size / pairs reviewed in its stratum) pairs, the inverse of its chance of
#    being drawn, with intervals.
#
# The sample file holds personal data: in a real project it stays in the secure environment.

# %%
workdir = Path(tempfile.mkdtemp(prefix="linkage-nb04-"))
sample = draw_review_sample(result.candidates, n=REVIEW_PAIRS, seed=SEED)
sample_path = write_review_sample(sample, workdir / "review_sample.csv")
print(sample.groupby(["stratum"], sort=True).agg(
    pairs_in_stratum=("stratum_size", "first"), sampled=("review_id", "size")).to_string())

# %% [markdown]
# What the reviewer sees for one pair (PNC ID columns left out here; the real file has them, because a
# reviewer needs them):

# %%
sample.drop(columns=sample.filter(like="pnc").columns).head(2).T

# %% [markdown]
# Here we play the reviewer with the synthetic truth: `Y` when the pair names the true crime and suspect,
# `N` otherwise. (A real reviewer also answers `?` sometimes, and sometimes gets it wrong.) Then the labelled
# file is read back exactly as a returned review would be.

# %%
labelled = sample.copy()
labelled["reviewer_label"] = np.where(mark_correct(sample, world.truth)["correct"].to_numpy(), "Y", "N")
write_review_sample(labelled, workdir / "review_returned.csv")
review = read_review(workdir / "review_returned.csv")

# %%
# NBVAL_CHECK_OUTPUT

estimate = estimate_from_review(review, result.candidates)
truth_all = quality.table.loc["all"]
print(f"reviewed pairs: {estimate.n_reviewed} ({estimate.n_unsure} unsure)")
print(f"precision: estimated {estimate.precision:.3f} "
      f"({estimate.precision_interval[0]:.3f} to {estimate.precision_interval[1]:.3f}); "
      f"true {truth_all['precision']:.3f}")
print(f"recall:    estimated {estimate.recall:.3f} "
      f"({estimate.recall_interval[0]:.3f} to {estimate.recall_interval[1]:.3f}); "
      f"true {truth_all['recall']:.3f}")

# %%
estimate.strata

# %% [markdown]
# How to read the estimate:
#
# * **Precision** from the review should agree closely with the truth when the reviewer is always right, as
#   our simulated one is: compare the two figures above.
# * **Recall** from a review can only count true links the reviewer could see. True links that blocking never
#   proposed (notebook 03), and true links among the unsampled pairs below the grey-zone threshold, are
#   invisible to it. So the review's recall is an upper bound, and here it sits above the truth-based recall.
# * The estimates weigh each reviewed pair by the inverse of its chance of being drawn (the `weight` column
#   above), so they are unbiased over repeated samples, and they never use the model's own probabilities:
#   the review judges the model, not the other way round. The intervals (Korn-Graubard: Clopper-Pearson at
#   the sample's effective size) stay open even when every reviewed link is right, because the unreviewed
#   links could still hold a few errors. They describe sampling uncertainty within the reviewed strata,
#   **not** the two assumptions above, which is how the truth can sit outside the recall interval. Report
#   the assumptions with the figures.
# * To learn more, review more pairs in the strata around the threshold, where labels are mixed, not more of
#   the obvious ones.
