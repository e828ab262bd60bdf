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
# # 02 Restricted extracts and data quality
#
# **What this notebook is for.** Linking outcomes to crimes needs record-level data that never leaves a
# secure environment: the force's **crimes** and named **suspects**, and the **cautions**, **penalty notices
# for disorder** and **court outcomes** held by other systems. This repository never holds real personal
# data. Instead, `linkage.synth` generates a **synthetic world**: crimes, people and their outcomes drawn
# from published national figures, then written out as extracts with exactly the columns the real extracts
# have (the *contracts* in `linkage.sources.contracts`), with realistic recording faults, and with the
# **truth** (which record belongs to which crime) kept aside so linkage can be scored.
#
# You will:
#
# 1. generate a small world and look at its tables;
# 2. write its extracts to files and load them back through the same validating loader used for real
#    extracts, including a deliberately damaged file, to see **quarantine** at work;
# 3. check the world against published figures with the **calibration table**.

# %% tags=["parameters"]
from pathlib import Path

# The repository root: the nearest folder above the working directory holding pyproject.toml (nbval and
# JupyterLab run a notebook with notebooks/ as the working directory; this also works from the root).
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())

AREA = "small"  # a preset in linkage/synth/presets.py: one trailblazer and one comparison borough
SEED = 1
CALIBRATION_PRESET = "essex-2018"  # the Essex-like world the calibration targets describe
DATA = ROOT / "data"

# %%
import tempfile
from pathlib import Path

import pandas as pd

from linkage.sources import EXTRACTS, QUARANTINE_COLUMNS, read_extract, read_police_uk
from linkage.synth import generate, preset
from linkage.synth.calibration import calibration_table

# linkage's charts are bare matplotlib Figures (no backend chosen); show them inline here.
# %matplotlib inline
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 30)

# %% [markdown]
# ## 1. A synthetic world
#
# A world specification names the areas (their force, geography and volume), the months, the noise profile
# of the outcome records and, for a trailblazer world, the go-live month and the intervention's effect.
# `generate(spec, seed)` is deterministic: the same spec and seed give the same world, byte for byte.

# %%
spec = preset(AREA)
world = generate(spec, seed=SEED)

# %%
# NBVAL_CHECK_OUTPUT

print(f"{spec.months} months from {spec.start_month}; noise profile {spec.noise_profile.name!r}")
for area in spec.areas:
    print(f"  {area.name} ({area.role}): about {area.crimes_per_month:,.0f} crimes a month")
print()
for name in ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes", "truth"]:
    print(f"{name:16s} {len(world.table(name)):>6,} rows")
print()
print(f"public police.uk view: {len(world.street):,} street rows, {len(world.outcomes):,} outcome rows")

# %% [markdown]
# The tables, and what links them:
#
# | table | one row per | key | links to a crime by |
# |---|---|---|---|
# | `crimes` | recorded crime | force, crime_ref | - |
# | `suspects` | named suspect on a crime | force, crime_ref, suspect_ref | crime_ref (same system) |
# | `cautions` | caution | caution_id | names, date of birth, PNC ID, offence, dates; a hand-typed crime_ref, often blank |
# | `penalty_notices` | penalty notice for disorder | pnd_id | names, date of birth, place, offence, dates; PNC ID usually missing |
# | `court_outcomes` | offence line of a court case | case_id, offence_seq | names, date of birth, PNC ID, CJS offence code, dates |
#
# Only `crimes` and `suspects` share a key. Everything else has to be **linked**. The contract of each
# extract (column, type, whether required, allowed values) is data, so the loader, the generator and the
# data dictionary (`docs/data_dictionary.md`) all read the same definition:

# %%
pd.DataFrame(
    [{"column": c.name, "kind": c.kind, "required": c.required, "description": c.description}
     for c in EXTRACTS["cautions"].columns]
)

# %% [markdown]
# What a caution record looks like. The people are synthetic; the PNC ID column is left out of everything
# shown in these notebooks all the same, as it would be in any output from real data.

# %%
world.cautions.drop(columns=["pnc_id"]).head(3)

# %% [markdown]
# The generator copies each outcome record from the true person and crime, then adds the faults real
# recording has: typos, nicknames, a middle name typed into the forename, day and month swapped, a wrong
# digit in a date of birth, a short-form or missing PNC ID, a charge altered from the recorded offence,
# shifted dates. The `faults` table records every fault applied:

# %%
faults = world.faults.groupby(["fault", "source"]).size().unstack(fill_value=0)
print(faults.to_string())

# %% [markdown]
# ## 2. Loading extracts: validation and quarantine
#
# Real extracts arrive as CSV or Parquet files. `read_extract(kind, path)` checks the header against the
# contract (a missing or unexpected column stops the load with an error naming it), then checks every row:
# dates parse, required values are present, categories are known, the key is unique. A bad row is not
# dropped and not "fixed": it goes to **quarantine** with its file, line, column, value and reason, and the
# load still accounts for every row.
#
# First the clean files, written by the generator exactly as an extract would arrive:

# %%
# NBVAL_CHECK_OUTPUT

workdir = Path(tempfile.mkdtemp(prefix="linkage-nb02-"))
paths = world.write(workdir / "world", fmt="csv")
for kind in ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes"]:
    s = read_extract(kind, paths[kind]).summary
    print(f"{kind:16s} read {s.rows_read:>6,}  accepted {s.accepted:>6,}  quarantined {s.quarantined}")

# %% [markdown]
# Now a damaged copy of the cautions extract, the kind of thing that happens in a real hand-over: an
# impossible date, a sex code outside the contract, a blank surname and a record sent twice.

# %%
raw = pd.read_csv(paths["cautions"], dtype=str, keep_default_na=False)
raw.loc[0, "caution_date"] = "2024-02-30"
raw.loc[1, "sex"] = "X"
raw.loc[2, "surname"] = ""
damaged = pd.concat([raw, raw.iloc[[3]]], ignore_index=True)
damaged_path = workdir / "cautions_damaged.csv"
damaged.to_csv(damaged_path, index=False)

# %%
# NBVAL_CHECK_OUTPUT

messy = read_extract("cautions", damaged_path)
s = messy.summary
print(f"read {s.rows_read}, accepted {s.accepted}, quarantined {s.quarantined}")
print(s.by_reason)
print()
print(messy.quarantined[[c for c in QUARANTINE_COLUMNS if c != "source_file"]].to_string(index=False))

# %% [markdown]
# Every damaged row was caught with a reason a data manager can act on; the other rows load as before.
# The CSV line number (`source_row`) counts the header as line 1. The quarantine table (with the raw rows)
# can be written next to the run with `LoadResult.write_quarantine(path)`; it holds personal data, so in a
# real project it stays in the secure environment with the extracts, never in `reports/`.
#
# The world also publishes its own police.uk-style files, which load through the public loader of notebook
# 01 exactly like the real ones, including the repeated rows real files carry (one outcomes row per
# suspect), which are kept the same way:

# %%
published = read_police_uk(workdir / "world" / "police-uk")
print(f"{len(published.files)} files: read {published.summary.rows_read:,}, "
      f"accepted {published.summary.accepted:,}, quarantined {published.summary.quarantined:,}")
print(published.summary.by_reason)

# %% [markdown]
# ## 3. Is the world realistic? The calibration table
#
# A synthetic world is only useful if it looks like the real thing where it matters for linkage and for
# outcome rates. `calibration_table` measures a generated world against published figures (DOMAIN.md
# section 3: the Essex street files of January to July 2018, Home Office outcome and timeliness figures, the
# national offence-code mix) and marks each row pass or fail against a stated tolerance. It is run on the
# Essex-like preset the targets describe; `linkage calibrate` does the same from the command line and writes
# `docs/calibration.csv`.

# %%
calibration_world = generate(preset(CALIBRATION_PRESET), seed=SEED)
calibration = calibration_table(calibration_world)

# %%
# NBVAL_CHECK_OUTPUT

summary = calibration.groupby("check", sort=False)["passed"].agg(rows="size", passed="sum")
print(f"{len(calibration_world.crimes):,} crimes generated; "
      f"{int(calibration['passed'].sum())} of {len(calibration)} calibration rows pass")
print(summary.to_string())

# %%
calibration[["check", "group", "item", "generated", "target", "low", "high", "passed"]].head(24)

# %% [markdown]
# Rows that fail (if any) are the ones to read before trusting a figure that depends on them:

# %%
calibration.loc[~calibration["passed"], ["check", "group", "item", "generated", "target", "low", "high", "source"]]

# %% [markdown]
# ## What to take away
#
# * The synthetic extracts have the same columns, types and faults as real ones, so every step downstream
#   (linkage, quality, evaluation, reports) runs unchanged on either. The **truth** table is what makes the
#   synthetic world useful: it lets us *score* linkage (notebook 04) and *check* an evaluation against a
#   known effect (notebook 05).
# * Validation is strict and loud: a header that breaks the contract stops the load; a bad row is
#   quarantined with its reason, never silently dropped or guessed at.
# * Calibration is against a handful of published figures with stated tolerances; it shows the world is
#   plausible, not that it is right in every respect. Figures from it illustrate the method and must never
#   be quoted as statistics about a real area.
