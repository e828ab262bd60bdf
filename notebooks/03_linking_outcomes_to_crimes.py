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
# # 03 Linking outcomes to crimes
#
# **What this notebook is for.** A court result, a caution or a penalty notice says *who* was dealt with and
# *for what*, but not *which recorded crime* it disposes of. Finding that crime (and the suspect on it) is a
# record linkage problem with no shared key: names typed differently in different systems, dates of birth
# with slips, PNC IDs missing or in short form, charges altered from the recorded offence, results arriving
# months later, and the same person appearing on several crimes.
#
# `linkage.justice.link_outcomes` solves it with the **Fellegi-Sunter** model in the classic three steps:
#
# 1. **Index (blocking)**: choose candidate pairs cheaply, without comparing every record with every crime;
# 2. **Compare**: score each candidate pair on each field, at several levels (exact, close, far, missing);
# 3. **Classify**: weigh the levels with m and u probabilities estimated by EM, add deterministic rules
#    where a link is plain on its face, and enforce the justice constraints (each outcome record disposes
#    of at most one crime-suspect).
#
# This notebook takes one source (court outcome lines, by default) through those steps on a synthetic
# world, then explains one pair. All names shown are synthetic.

# %% tags=["parameters"]
from pathlib import Path

# The repository root: the nearest folder above the working directory holding pyproject.toml (nbval and
# JupyterLab run a notebook with notebooks/ as the working directory; this also works from the root).
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())

AREA = "small"  # synthetic world preset (linkage/synth/presets.py)
SEED = 1
SOURCE = "court_outcomes"  # or "cautions", "penalty_notices"
DATA = ROOT / "data"

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import numpy as np
import pandas as pd

from linkage.engine import generate_candidates
from linkage.engine.charts import match_weight_histogram
from linkage.justice import LinkSettings, build_left, build_right, link_outcomes, source_spec
from linkage.quality import evaluate
from linkage.synth import generate, preset

# linkage's charts are bare matplotlib Figures (no backend chosen); show them inline here.
# %matplotlib inline
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 30)

# %%
world = generate(preset(AREA), seed=SEED)
tables = {name: world.table(name) for name in ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes"]}
left = build_left(tables["crimes"], tables["suspects"])
right = build_right(SOURCE, tables[SOURCE])
spec = source_spec(SOURCE, LinkSettings().for_source(SOURCE))
candidates = generate_candidates(list(spec.blocking_rules), left, right)
result = link_outcomes(tables, LinkSettings(seed=SEED))  # the whole pipeline, every source
scored = result.candidates[result.candidates["source"] == SOURCE]

# %%
# NBVAL_CHECK_OUTPUT

print(f"left:  {len(left):,} crime-suspects (crimes joined to their named suspects)")
print(f"right: {len(right):,} {SOURCE.replace('_', ' ')} records")
print(f"every record against every crime-suspect: {len(left) * len(right):,} pairs")

# %% [markdown]
# `link_outcomes` ran the whole pipeline for every source above; the rest of the notebook takes it apart.
# Any warning the library logs (for example that an EM fit stopped at its iteration cap,
# `max_em_iterations` in the link settings, before its parameters stopped changing) is printed under the
# cell; notebook 04 checks whether the links are good regardless.
#
# ## 1. Blocking: which pairs are worth comparing?
#
# A blocking rule keeps only pairs that agree exactly on some key. Each rule is a small value built with
# `block_on(...)`; the union of several rules catches pairs that any one would miss. The rules for this
# source are listed in the table below, in the order they are applied. They start from the strongest keys,
# the PNC ID serial (short and long forms normalised to one key) and the date of birth, then add name-based
# keys (the surname's Soundex code with the year of birth or with the day and month of birth; both initials
# with the force and the year of birth; forename and surname swapped) that catch records where an
# identifier is missing or mistyped.
#
# The table shows, for each rule, how many pairs it generates on its own, how many *new* pairs it adds to the
# rules before it, and the **blocking recall**: the share of true links (known in the synthetic world) that
# are among the candidates so far. A true link that blocking misses can never be found later, so recall here
# is the ceiling for the whole linkage.

# %%
# NBVAL_CHECK_OUTPUT

rows = []
for k, rule in enumerate(spec.blocking_rules, start=1):
    so_far = scored[scored["blocking_rule"].isin([r.name for r in spec.blocking_rules[:k]])]
    rows.append({
        "rule": rule.name,
        "pairs on its own": len(rule.pairs(left, right)[0]),
        "new pairs": int(candidates.counts_by_rule()[rule.name]),
        "candidates so far": len(so_far),
        "blocking recall": round(float(evaluate(so_far, world.truth).table.loc[SOURCE, "recall"]), 4),
    })
print(pd.DataFrame(rows).to_string(index=False))
print(f"\n{len(candidates):,} candidate pairs instead of {len(left) * len(right):,}")

# %% [markdown]
# Blocking on the PNC ID alone would miss every record whose PNC ID is missing (a penalty notice usually has
# none; court and caution records sometimes lack one). Date of birth recovers most of those; the
# name-based rules are there for records whose date of birth was typed wrong as well, and the table shows
# how much each actually adds here. The candidate count stays a tiny fraction of the full cross product.
#
# ## 2. Comparisons: levels, not yes/no
#
# Each comparison turns a pair into a **level**. Names: exact, forename and surname swapped, nickname
# ("Bob" for "Robert"), initial plus surname, then Jaro-Winkler similarity bands. Dates of birth: exact,
# day and month swapped, one digit off, same year. The **directional time** comparison asks whether the
# outcome came after the offence within the usual lag for this kind of outcome (days for a penalty notice,
# weeks for a caution, months for a court result). **Offence compatibility** compares the crime's Home Office
# offence code with the court's CJS code through the crosswalk: same offence, same group (charge altered),
# compatible group, incompatible. A missing value is its own level, and it counts as neutral evidence.

# %%
pd.DataFrame(
    [{"comparison": c.name, "levels (0 = strongest agreement)": " | ".join(c.level_labels)}
     for c in spec.comparisons]
)

# %% [markdown]
# How the candidate pairs of this source fall across the levels of two comparisons, split by whether the
# pair ended up linked. Linked pairs sit almost all at the top levels; the many unlinked candidates are mostly
# *the right person on the wrong crime* (the same offender's other crimes), which is why offence, dates and
# outcome lag matter as much as names.

# %%
for comparison in ["name", "offence"]:
    labels = dict(enumerate(next(c for c in spec.comparisons if c.name == comparison).level_labels))
    table = pd.crosstab(scored[f"level_{comparison}"].map(labels).fillna("missing"), scored["linked"])
    print(table.to_string(), end="\n\n")

# %% [markdown]
# ## 3. The model: m and u
#
# For each comparison level, **m** is the probability of seeing that level when the pair is a true link, and
# **u** when it is not. A level's **match weight** is log2(m/u): positive weights are evidence for a link,
# negative against. Adding the weights of a pair's levels to the prior gives its total match weight, and
# from it the match probability.
#
# The justice model has two stages, because most candidate pairs are *the right person on the wrong crime*:
#
# * the **person** stage (name, date of birth, PNC ID, sex): u from random pairs of records, m by EM;
# * the **crime** stage (offence, offence date, outcome lag, force, and where the source has them the
#   place of a penalty notice, the court's area or the hand-typed crime reference), estimated by EM among
#   the pairs that are almost surely the same person, where a non-match means "this person's other crime".
#
# The link probability is, roughly, P(same person) x P(this crime | same person); section 5 shows the exact
# steps, including the weighing of a record's rival crimes and of a different person.

# %%
model = result.models[SOURCE]
parameters = model.parameters()[["stage", "comparison", "label", "m", "u", "match_weight"]]
print(parameters.to_string(index=False, float_format="{:.4f}".format))

# %%
model.person.m_u_chart()

# %%
model.crime.m_u_chart()

# %% [markdown]
# Read the charts level by level: *PNC ID exact* is common among true links (m near 1) and very rare among
# random pairs (u tiny), so it carries a large positive weight; *offence incompatible* is rare among true
# links, so it carries a large negative one.
#
# The distribution of match weights over all candidate pairs is bimodal: a large mass of clear non-links
# and a smaller mass of clear links, with few pairs in between. Those few are where clerical review (notebook
# 04) earns its keep.

# %%
match_weight_histogram(scored)

# %% [markdown]
# ## 4. Rules, constraints and the result
#
# Before the model, **deterministic rules** mark pairs that are links on their face (for example PNC ID
# exact, compatible offence and the outcome inside the usual window). Then the model scores everything, and
# the **constraints** keep, for each outcome record, at most one crime-suspect (and each crime-suspect takes
# at most one record of a source), resolving conflicts with an optimal assignment on the scores rather than
# by whichever pair came first. Every link records what made it:

# %%
# NBVAL_CHECK_OUTPUT

print(result.links.groupby(["source", "rule"]).size().rename("links").to_string())
print()
print(result.blocking.pivot(index="blocking_rule", columns="source", values="pairs").fillna(0).astype(int).to_string())

# %% [markdown]
# ## 5. Explaining one pair
#
# Take one court record that the **model** (not a rule) linked, where the person stage is sure about
# several candidate crimes: the same person, several of their crimes. Its candidates, best first:

# %%
same_person = scored[scored["person_probability"] > 0.9]["record_id"].value_counts()
model_linked = scored[(scored["rule"] == "model") & scored["record_id"].isin(same_person[same_person > 1].index)]
record = model_linked.sort_values("record_id")["record_id"].iloc[0]
its_candidates = scored[scored["record_id"] == record].sort_values("match_weight", ascending=False)
print(f"record {record}: {len(its_candidates)} candidate crime-suspect(s)")
print(its_candidates[["crime_ref", "suspect_ref", "person_probability", "crime_probability",
                      "match_weight", "linked"]].to_string(index=False, float_format="{:.3f}".format))

# %% [markdown]
# The records side by side (synthetic people; PNC IDs are never shown):

# %%
best = its_candidates.iloc[0]
fields = ["forename", "surname", "date_of_birth", "sex", "offence", "date"]
pd.DataFrame(
    {
        "crime and suspect": best[[f"l_{f}" for f in fields]].to_numpy(),
        SOURCE.replace("_", " "): best[[f"r_{f}" for f in fields]].to_numpy(),
    },
    index=["forename", "surname", "date of birth", "sex", "offence code (HO / CJS)", "offence date"],
)

# %% [markdown]
# The **waterfall** shows how each comparison moves the match weight, starting from the prior. The person
# stage first: does this record describe the same person as the suspect? An exact name match is followed by
# its **term frequency** row: agreeing on a common name is weaker evidence than agreeing on a rare one.

# %%
left_row, right_row = left.iloc[int(best["left_pos"])], right.iloc[int(best["right_pos"])]
model.person.waterfall_chart(left_row, right_row)

# %% [markdown]
# Then the crime stage: given it is the same person, is it *this* crime? Compare the linked crime with the
# runner-up (the same person's other crime): the offence and the dates decide.

# %%
model.crime.waterfall_chart(left_row, right_row)

# %%
runner_up = its_candidates.iloc[1]
model.crime.waterfall_chart(left.iloc[int(runner_up["left_pos"])], right.iloc[int(runner_up["right_pos"])])

# %% [markdown]
# The whole model for this pair, in one table. The score needs more than the pair itself: the crime stage
# weighs this crime against **the same person's other candidate crimes** for the same record (a record
# disposes of at most one of them), and the final step weighs "this crime of this person" against **a
# different person** whose crime merely looks similar. So the waterfall takes the level frame of every
# candidate pair (the compare step of section 2) and the pair's labels:
#
# * person stage: the prior, each person comparison (with the name's term-frequency row), the person total;
# * crime stage: the prior, each crime comparison, the crime total for this pair alone, then
#   **other candidate crimes of this person**: the record-level step, which lifts a crime that clearly beats
#   its rivals and lowers one that does not;
# * **different-person alternative**: the three-class step; its label gives the odds against a different
#   person (the person weight plus the crime evidence against random pairs);
# * **final**: the model's match weight and probability for the pair.

# %%
pairs = pd.MultiIndex.from_arrays([scored["left_pos"], scored["right_pos"]], names=["left", "right"])
levels = model.compare(pairs, left, right)
pair = (int(best["left_pos"]), int(best["right_pos"]))
table = model.waterfall(levels, pair)
print(table[["stage", "step", "label", "log2_bayes_factor", "cumulative_weight", "match_probability"]].to_string(
    index=False, float_format="{:.3f}".format))

# %%
model.waterfall_chart(levels, pair)

# %% [markdown]
# The waterfall's last row is the model's own score for the pair (the figure the link was made on), and each
# comparison's rows add up to the Bayes factor stored with the candidate (`bf_*` columns):

# %%
# NBVAL_CHECK_OUTPUT

final = table.iloc[-1]
print(f"waterfall: match weight {final['cumulative_weight']:.3f}, probability {final['match_probability']:.4f}")
print(f"model:     match weight {best['match_weight']:.3f}, probability {best['match_probability']:.4f}")
rows = table[table["kind"].isin(["comparison", "term frequency"])]
per_comparison = rows.assign(step=rows["step"].str.removesuffix(" term frequency")).groupby("step", sort=False)[
    "log2_bayes_factor"].sum()
used = pd.Series({name: best[f"bf_{name}"] for name in per_comparison.index})
print("comparison rows add up to the stored Bayes factors:", bool(np.allclose(per_comparison, used, atol=1e-4)))
print(f"P(same person) = {best['person_probability']:.4f}; "
      f"P(this crime | same person) = {best['crime_probability']:.4f} "
      f"against {len(its_candidates) - 1} rival candidate(s)")

# %% [markdown]
# ## What to take away
#
# * Blocking sets the ceiling on recall: check it against truth (synthetic) or a clerical sample (real).
# * Multi-level comparisons with neutral missing values let imperfect evidence count for something without
#   letting a missing PNC ID count against a link.
# * Separating "same person" from "this crime" is what makes linkage work for repeat offenders; the
#   waterfall shows which fields decided a link, so an analyst can check any link they doubt.
# * Notebook 04 measures how good the links are, overall and for different groups of people.
