# ruff: noqa: E501  (long lines are notebook cell sources, kept as an analyst would read them)
"""Write the analyst notebooks in notebooks/ from the Python source below, then execute them in place.

The notebooks are kept here as lists of cells so that they are easy to review and maintain (one diff in
one Python file, not JSON). Running this script rewrites every ``notebooks/NN_*.ipynb`` with nbformat and
executes it with nbclient, with ``notebooks/`` as the working directory (exactly as nbval runs them in
CI), so the stored outputs come from a run on the bundled data.

    .venv/bin/python tools/build_notebooks.py              # write and execute all six
    .venv/bin/python tools/build_notebooks.py 03 04        # only the notebooks whose names start so
    .venv/bin/python tools/build_notebooks.py --no-execute # write without outputs

Conventions the cells follow (tests/unit/test_notebooks_collected.py checks some of them):

* one code cell tagged ``parameters`` (area, seed, data location); paths are built from the repository
  root, found by walking up from the working directory to ``pyproject.toml``;
* no ``def`` or ``class``: every piece of logic is a call into ``linkage``;
* cells whose output is deterministic and worth checking in CI start with ``# NBVAL_CHECK_OUTPUT`` and
  print plain text (no paths, timings or memory addresses);
* ``linkage`` modules that draw figures select matplotlib's Agg backend when imported, so each notebook
  imports everything first and then switches to the inline backend;
* stored outputs show no PNC IDs or CRO numbers (synthetic names only where the story needs them).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"

CHECK = "# NBVAL_CHECK_OUTPUT\n"

FIND_ROOT = """from pathlib import Path

# The repository root: the nearest folder above the working directory holding pyproject.toml (nbval and
# JupyterLab run a notebook with notebooks/ as the working directory; this also works from the root).
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())
"""

INLINE = """# linkage's charts are bare matplotlib Figures (no backend chosen); show them inline here.
%matplotlib inline
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 30)
"""


def md(text: str) -> tuple[str, str]:
    return ("md", text.strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", text.strip("\n"))


def params(text: str) -> tuple[str, str]:
    return ("params", text.strip("\n"))


# --------------------------------------------------------------------------------------------------- 01
NB01 = [
    md("""
# 01 Exploring published police.uk data

**What this notebook is for.** Every month each police force in England and Wales publishes its recorded
crimes on [data.police.uk](https://data.police.uk): a *street* file (one row per crime or anti-social
behaviour incident, with an anonymised location and the crime's latest outcome) and an *outcomes* file
(one row per outcome recorded that month, for crimes of that month or earlier). These files are public,
so everything here is real data: the City of London Police files for 2024 bundled in `data/`.

You will:

1. load the files with `linkage.sources.read_police_uk` and account for every row (accepted or
   quarantined, and why);
2. look at the crime mix and the *last outcome* police.uk shows for each crime;
3. map the published **map points** and the LSOAs (small census areas) the crimes fall in.

The public files hold no identifiers of people, so they cannot say *which* caution or court result belongs
to which crime: that needs the restricted extracts of notebook 02 and the linkage of notebook 03.
"""),
    params(
        FIND_ROOT
        + """
AREA = "city-of-london"  # folder under data/police-uk/
FORCE = "City of London Police"  # as police.uk spells it
SEED = 1  # nothing here is random; kept for a uniform parameters cell
DATA = ROOT / "data"
POLICE_UK = DATA / "police-uk" / AREA
LSOA_BOUNDARIES = DATA / "boundaries" / "london-2021-lsoa-gen20.shp"
FORCE_BOUNDARIES = DATA / "boundaries" / "police_force_areas_pfa20.geojson"
MIN_CRIMES = 10  # maps show map points and LSOAs with at least this many crimes
"""
    ),
    code(
        """
import pandas as pd

from linkage.evaluation import (
    force_outline,
    load_boundaries,
    lsoa_choropleth,
    outcome_rates,
    outcome_table,
    point_map,
    public_crimes,
)
from linkage.sources import QUARANTINE_COLUMNS, read_police_uk

"""
        + INLINE
    ),
    md("""
## 1. Load and account for every row

`read_police_uk` takes a file, a month folder, a whole archive tree or a zip. It detects each file's kind
from its header (not its name), converts every published vintage to one canonical form, and puts each row
either in the accepted table of its kind or in quarantine with a reason. The identity
**rows read = accepted + quarantined** holds for every file.
"""),
    code(
        CHECK
        + """
load = read_police_uk(POLICE_UK)
by_file = load.summary.by_file.assign(file=load.summary.by_file["file"].str.rsplit("/", n=1).str[-1])
print(by_file.to_string(index=False))
print()
print(f"TOTAL: read {load.summary.rows_read:,}, accepted {load.summary.accepted:,}, "
      f"quarantined {load.summary.quarantined:,}")
for reason, count in load.summary.by_reason.items():
    print(f"  {reason}: {count}")
"""
    ),
    md("""
No row of these files was quarantined, although some repeat. police.uk publishes them that way on
purpose, so the loader keeps them (docs/data_dictionary.md):

* **street rows repeating a Crime ID** (another map point or outcome for the same crime ID): police.uk
  counts every row of a street file as a crime record, so every row is kept and crime counts match
  police.uk's own.
* **identical outcomes rows**: one row per suspect, so two suspects charged for one crime give two identical
  rows. All are kept, and the `suspects` column counts them per Crime ID, month and outcome.

Rows that *are* unusable (an unparseable month, coordinates outside the UK, a month superseded by a newer
release of the same file) are quarantined, never silently dropped: each keeps its file, line number, the
offending column and value, and the raw row, so it can be checked by hand.
"""),
    code("""
street, outcomes = load.tables["street"], load.tables["outcomes"]
print("street rows sharing a Crime ID with another row:", int(street["crime_id"].dropna().duplicated(keep=False).sum()))
print("outcomes rows of a crime with several suspects:", int((outcomes["suspects"] > 1).sum()))
print("quarantined rows:", len(load.quarantined[QUARANTINE_COLUMNS]))
"""),
    md("""
## 2. What was published: crime mix

The street files hold crimes *and* anti-social behaviour (ASB) incidents. ASB has no Crime ID and no
outcomes, so outcome analyses leave it out. The City of London is unusual: a small resident population,
a large daytime one, so theft and shoplifting loom larger than in most forces.
"""),
    code(
        CHECK
        + """
street = load.tables["street"]
mix = street["crime_type"].value_counts().rename("rows").to_frame()
mix["share"] = (mix["rows"] / mix["rows"].sum()).round(3)
print(f"{len(street):,} accepted street rows, {street['month'].nunique()} months")
print(mix.to_string())
"""
    ),
    md("""
## 3. Last outcomes: the public view of what happened

`public_crimes` turns the street rows into one row per crime (ASB excluded), keeping police.uk's
*Last outcome category* and grouping the 28 published outcome labels into a handful of outcome groups
(charged, out-of-court disposal, unable to prosecute, no suspect, and so on). `outcome_rates` then gives
the share of crimes in each group with a 95% Wilson score interval.

**Caveat.** The last outcome is a snapshot taken when the file was published. Crimes from late in the year
are more likely to show *Under investigation* simply because they are recent; court results recorded
after publication, and most court results since mid-2019, never reach police.uk at all.
"""),
    code(
        CHECK
        + """
public = public_crimes(street, load.tables["outcomes"], area=FORCE)
overall = outcome_rates(public, by=())
print(f"{len(public):,} crimes (anti-social behaviour excluded)")
print(overall[["outcome_group", "count", "n", "rate", "lower", "upper"]].to_string(
    index=False, float_format="{:.3f}".format))
"""
    ),
    md("""
The mix differs a great deal by crime type: shoplifting (where the suspect is often detained on the spot)
is charged far more often than theft from the person (where there rarely is a suspect). `outcome_table` is
the crime type by outcome group count table behind those rates.
"""),
    code("""
by_type = outcome_table(public, rows="crime_type")
by_type
"""),
    code("""
shares = by_type.div(by_type.sum(axis=1), axis=0)
ax = shares.plot.barh(stacked=True, figsize=(9, 5), width=0.8, colormap="tab10")
ax.set_xlabel("share of crimes")
ax.set_ylabel("")
ax.set_title(f"{FORCE}, 2024: last outcome group by crime type (police.uk)")
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
ax.figure.set_dpi(80)
"""),
    md("""
### The outcomes file

Only the March 2024 outcomes file is bundled. It lists the outcomes *recorded in March*, for crimes of
March or earlier months, so one crime can appear in several monthly outcomes files as its case moves on.
"""),
    code(
        CHECK
        + """
outcomes = load.tables["outcomes"]
crime_months = outcomes.merge(street[["crime_id", "month"]], on="crime_id", how="left", suffixes=("", "_crime"))
print(f"{len(outcomes):,} outcome rows recorded in March 2024")
print(f"  for crimes of an earlier month: {int((crime_months['month_crime'] < crime_months['month']).sum()):,}")
print(f"  for crimes of March itself:     {int((crime_months['month_crime'] == crime_months['month']).sum()):,}")
print(f"  for crimes not in the bundled 2024 street files (recorded before 2024): "
      f"{int(crime_months['month_crime'].isna().sum()):,}")
print()
print(outcomes["outcome_type"].value_counts().head(8).to_string())
"""
    ),
    md("""
## 4. Where: map points and LSOAs

police.uk protects victims by **location anonymisation**: each crime is moved to the nearest point on a
national master list of map points (street centres and public places, each covering at least eight postal
addresses) and labelled *On or near ...*. So the coordinates are map points, never addresses, and busy
points (stations, shopping centres) carry many crimes. Each crime also carries the 2021 LSOA its map
point falls in.

Maps are drawn in British National Grid (EPSG:27700). The force outline comes from the ONS police force
area boundaries, the LSOAs from the ONS 2021 LSOA boundaries (generalised to 20 m).
"""),
    code(
        CHECK
        + """
points = public.dropna(subset=["longitude", "latitude"])
per_point = points.groupby(["longitude", "latitude"]).size()
per_lsoa = points.groupby("lsoa_code").size()
print(f"{len(points):,} crimes at {len(per_point):,} map points in {len(per_lsoa)} LSOAs; "
      f"{len(public) - len(points)} crimes have no location")
print(f"map points with at least {MIN_CRIMES} crimes: {int((per_point >= MIN_CRIMES).sum())} "
      f"(holding {int(per_point[per_point >= MIN_CRIMES].sum()):,} crimes); "
      f"LSOAs with at least {MIN_CRIMES}: {int((per_lsoa >= MIN_CRIMES).sum())}")
print("Busiest map points (crimes, anti-social behaviour excluded):")
located = street[(street["crime_type"] != "Anti-social behaviour") & street["longitude"].notna()]
print(located["location"].value_counts().head(5).to_string())
"""
    ),
    code("""
lsoas = load_boundaries(LSOA_BOUNDARIES)
outline = force_outline(FORCE_BOUNDARIES, FORCE)
no_suspect = "No suspect identified"
by_point = outcome_rates(public, by=("longitude", "latitude"))
by_point = by_point[(by_point["outcome_group"] == no_suspect) & (by_point["n"] >= MIN_CRIMES)]
fig = point_map(
    by_point,
    boundaries=lsoas,
    outline=outline,
    value="rate",
    size="n",
    title=f"{FORCE}, 2024: crimes per map point (colour: no suspect identified)",
    legend_label="share: no suspect identified",
)
fig.set_dpi(70)
"""),
    md("""
The circle at each map point has an area proportional to its crimes; the force outline is drawn in dark
grey. Only map points with at least `MIN_CRIMES` crimes are drawn: the City's files also carry a thin
scatter of crimes at map points well outside the Square Mile (one or two each, across London), which
would otherwise shrink the City to a dot, and points just outside the boundary streets the City shares
with its neighbours, which is why its crimes fall in LSOAs of neighbouring boroughs too. The same rate by
LSOA (LSOAs with at least `MIN_CRIMES` crimes):
"""),
    code("""
by_lsoa = outcome_rates(public, by=("lsoa_code",))
by_lsoa = by_lsoa[(by_lsoa["outcome_group"] == no_suspect) & (by_lsoa["n"] >= MIN_CRIMES)]
fig = lsoa_choropleth(
    by_lsoa,
    lsoas,
    value="rate",
    title=f"{FORCE}, 2024: share of crimes with no suspect identified, by 2021 LSOA",
    legend_label="share: no suspect identified",
)
fig.set_dpi(70)
"""),
    md("""
## What to take away

* The public files are well-formed but repeat rows by design: about 2% of street rows repeat a Crime ID and
  outcomes files have one row per suspect; both are kept, so counts match police.uk's own.
* police.uk's *last outcome* answers "what is the latest thing that happened to this crime?", not "was
  anyone cautioned, fined or convicted?": it has no link to the person or to records held outside the
  police (courts, penalty notice processing). Notebooks 02 to 05 build that link.
* Rates come with Wilson intervals; a small crime type in a small force has wide ones.
* These files are already public, so no disclosure control is needed to show them. Anything derived from
  restricted, person-level data is different (notebook 06).
"""),
]

# --------------------------------------------------------------------------------------------------- 02
NB02 = [
    md("""
# 02 Restricted extracts and data quality

**What this notebook is for.** Linking outcomes to crimes needs record-level data that never leaves a
secure environment: the force's **crimes** and named **suspects**, and the **cautions**, **penalty notices
for disorder** and **court outcomes** held by other systems. This repository never holds real personal
data. Instead, `linkage.synth` generates a **synthetic world**: crimes, people and their outcomes drawn
from published national figures, then written out as extracts with exactly the columns the real extracts
have (the *contracts* in `linkage.sources.contracts`), with realistic recording faults, and with the
**truth** (which record belongs to which crime) kept aside so linkage can be scored.

You will:

1. generate a small world and look at its tables;
2. write its extracts to files and load them back through the same validating loader used for real
   extracts, including a deliberately damaged file, to see **quarantine** at work;
3. check the world against published figures with the **calibration table**.
"""),
    params(
        FIND_ROOT
        + """
AREA = "small"  # a preset in linkage/synth/presets.py: one trailblazer and one comparison borough
SEED = 1
CALIBRATION_PRESET = "essex-2018"  # the Essex-like world the calibration targets describe
DATA = ROOT / "data"
"""
    ),
    code(
        """
import tempfile
from pathlib import Path

import pandas as pd

from linkage.sources import EXTRACTS, QUARANTINE_COLUMNS, read_extract, read_police_uk
from linkage.synth import generate, preset
from linkage.synth.calibration import calibration_table

"""
        + INLINE
    ),
    md("""
## 1. A synthetic world

A world specification names the areas (their force, geography and volume), the months, the noise profile
of the outcome records and, for a trailblazer world, the go-live month and the intervention's effect.
`generate(spec, seed)` is deterministic: the same spec and seed give the same world, byte for byte.
"""),
    code("""
spec = preset(AREA)
world = generate(spec, seed=SEED)
"""),
    code(
        CHECK
        + """
print(f"{spec.months} months from {spec.start_month}; noise profile {spec.noise_profile.name!r}")
for area in spec.areas:
    print(f"  {area.name} ({area.role}): about {area.crimes_per_month:,.0f} crimes a month")
print()
for name in ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes", "truth"]:
    print(f"{name:16s} {len(world.table(name)):>6,} rows")
print()
print(f"public police.uk view: {len(world.street):,} street rows, {len(world.outcomes):,} outcome rows")
"""
    ),
    md("""
The tables, and what links them:

| table | one row per | key | links to a crime by |
|---|---|---|---|
| `crimes` | recorded crime | force, crime_ref | - |
| `suspects` | named suspect on a crime | force, crime_ref, suspect_ref | crime_ref (same system) |
| `cautions` | caution | caution_id | names, date of birth, PNC ID, offence, dates; a hand-typed crime_ref, often blank |
| `penalty_notices` | penalty notice for disorder | pnd_id | names, date of birth, place, offence, dates; PNC ID usually missing |
| `court_outcomes` | offence line of a court case | case_id, offence_seq | names, date of birth, PNC ID, CJS offence code, dates |

Only `crimes` and `suspects` share a key. Everything else has to be **linked**. The contract of each
extract (column, type, whether required, allowed values) is data, so the loader, the generator and the
data dictionary (`docs/data_dictionary.md`) all read the same definition:
"""),
    code("""
pd.DataFrame(
    [{"column": c.name, "kind": c.kind, "required": c.required, "description": c.description}
     for c in EXTRACTS["cautions"].columns]
)
"""),
    md("""
What a caution record looks like. The people are synthetic; the PNC ID column is left out of everything
shown in these notebooks all the same, as it would be in any output from real data.
"""),
    code("""
world.cautions.drop(columns=["pnc_id"]).head(3)
"""),
    md("""
The generator copies each outcome record from the true person and crime, then adds the faults real
recording has: typos, nicknames, a middle name typed into the forename, day and month swapped, a wrong
digit in a date of birth, a short-form or missing PNC ID, a charge altered from the recorded offence,
shifted dates. The `faults` table records every fault applied:
"""),
    code(
        """
faults = world.faults.groupby(["fault", "source"]).size().unstack(fill_value=0)
print(faults.to_string())
"""
    ),
    md("""
## 2. Loading extracts: validation and quarantine

Real extracts arrive as CSV or Parquet files. `read_extract(kind, path)` checks the header against the
contract (a missing or unexpected column stops the load with an error naming it), then checks every row:
dates parse, required values are present, categories are known, the key is unique. A bad row is not
dropped and not "fixed": it goes to **quarantine** with its file, line, column, value and reason, and the
load still accounts for every row.

First the clean files, written by the generator exactly as an extract would arrive:
"""),
    code(
        CHECK
        + """
workdir = Path(tempfile.mkdtemp(prefix="linkage-nb02-"))
paths = world.write(workdir / "world", fmt="csv")
for kind in ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes"]:
    s = read_extract(kind, paths[kind]).summary
    print(f"{kind:16s} read {s.rows_read:>6,}  accepted {s.accepted:>6,}  quarantined {s.quarantined}")
"""
    ),
    md("""
Now a damaged copy of the cautions extract, the kind of thing that happens in a real hand-over: an
impossible date, a sex code outside the contract, a blank surname and a record sent twice.
"""),
    code("""
raw = pd.read_csv(paths["cautions"], dtype=str, keep_default_na=False)
raw.loc[0, "caution_date"] = "2024-02-30"
raw.loc[1, "sex"] = "X"
raw.loc[2, "surname"] = ""
damaged = pd.concat([raw, raw.iloc[[3]]], ignore_index=True)
damaged_path = workdir / "cautions_damaged.csv"
damaged.to_csv(damaged_path, index=False)
"""),
    code(
        CHECK
        + """
messy = read_extract("cautions", damaged_path)
s = messy.summary
print(f"read {s.rows_read}, accepted {s.accepted}, quarantined {s.quarantined}")
print(s.by_reason)
print()
print(messy.quarantined[[c for c in QUARANTINE_COLUMNS if c != "source_file"]].to_string(index=False))
"""
    ),
    md("""
Every damaged row was caught with a reason a data manager can act on; the other rows load as before.
The CSV line number (`source_row`) counts the header as line 1. The quarantine table (with the raw rows)
can be written next to the run with `LoadResult.write_quarantine(path)`; it holds personal data, so in a
real project it stays in the secure environment with the extracts, never in `reports/`.

The world also publishes its own police.uk-style files, which load through the public loader of notebook
01 exactly like the real ones, including the repeated rows real files carry (one outcomes row per
suspect), which are kept the same way:
"""),
    code(
        """
published = read_police_uk(workdir / "world" / "police-uk")
print(f"{len(published.files)} files: read {published.summary.rows_read:,}, "
      f"accepted {published.summary.accepted:,}, quarantined {published.summary.quarantined:,}")
print(published.summary.by_reason)
"""
    ),
    md("""
## 3. Is the world realistic? The calibration table

A synthetic world is only useful if it looks like the real thing where it matters for linkage and for
outcome rates. `calibration_table` measures a generated world against published figures (DOMAIN.md
section 3: the Essex street files of January to July 2018, Home Office outcome and timeliness figures, the
national offence-code mix) and marks each row pass or fail against a stated tolerance. It is run on the
Essex-like preset the targets describe; `linkage calibrate` does the same from the command line and writes
`docs/calibration.csv`.
"""),
    code("""
calibration_world = generate(preset(CALIBRATION_PRESET), seed=SEED)
calibration = calibration_table(calibration_world)
"""),
    code(
        CHECK
        + """
summary = calibration.groupby("check", sort=False)["passed"].agg(rows="size", passed="sum")
print(f"{len(calibration_world.crimes):,} crimes generated; "
      f"{int(calibration['passed'].sum())} of {len(calibration)} calibration rows pass")
print(summary.to_string())
"""
    ),
    code("""
calibration[["check", "group", "item", "generated", "target", "low", "high", "passed"]].head(24)
"""),
    md("""
Rows that fail (if any) are the ones to read before trusting a figure that depends on them:
"""),
    code("""
calibration.loc[~calibration["passed"], ["check", "group", "item", "generated", "target", "low", "high", "source"]]
"""),
    md("""
## What to take away

* The synthetic extracts have the same columns, types and faults as real ones, so every step downstream
  (linkage, quality, evaluation, reports) runs unchanged on either. The **truth** table is what makes the
  synthetic world useful: it lets us *score* linkage (notebook 04) and *check* an evaluation against a
  known effect (notebook 05).
* Validation is strict and loud: a header that breaks the contract stops the load; a bad row is
  quarantined with its reason, never silently dropped or guessed at.
* Calibration is against a handful of published figures with stated tolerances; it shows the world is
  plausible, not that it is right in every respect. Figures from it illustrate the method and must never
  be quoted as statistics about a real area.
"""),
]

# --------------------------------------------------------------------------------------------------- 03
NB03 = [
    md("""
# 03 Linking outcomes to crimes

**What this notebook is for.** A court result, a caution or a penalty notice says *who* was dealt with and
*for what*, but not *which recorded crime* it disposes of. Finding that crime (and the suspect on it) is a
record linkage problem with no shared key: names typed differently in different systems, dates of birth
with slips, PNC IDs missing or in short form, charges altered from the recorded offence, results arriving
months later, and the same person appearing on several crimes.

`linkage.justice.link_outcomes` solves it with the **Fellegi-Sunter** model in the classic three steps:

1. **Index (blocking)**: choose candidate pairs cheaply, without comparing every record with every crime;
2. **Compare**: score each candidate pair on each field, at several levels (exact, close, far, missing);
3. **Classify**: weigh the levels with m and u probabilities estimated by EM, add deterministic rules
   where a link is plain on its face, and enforce the justice constraints (each outcome record disposes
   of at most one crime-suspect).

This notebook takes one source (court outcome lines, by default) through those steps on a synthetic
world, then explains one pair. All names shown are synthetic.
"""),
    params(
        FIND_ROOT
        + """
AREA = "small"  # synthetic world preset (linkage/synth/presets.py)
SEED = 1
SOURCE = "court_outcomes"  # or "cautions", "penalty_notices"
DATA = ROOT / "data"
"""
    ),
    code(
        """
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import numpy as np
import pandas as pd

from linkage.engine import generate_candidates
from linkage.engine.charts import match_weight_histogram
from linkage.justice import LinkSettings, build_left, build_right, link_outcomes, source_spec
from linkage.quality import evaluate
from linkage.synth import generate, preset

"""
        + INLINE
    ),
    code("""
world = generate(preset(AREA), seed=SEED)
tables = {name: world.table(name) for name in ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes"]}
left = build_left(tables["crimes"], tables["suspects"])
right = build_right(SOURCE, tables[SOURCE])
spec = source_spec(SOURCE, LinkSettings().for_source(SOURCE))
candidates = generate_candidates(list(spec.blocking_rules), left, right)
result = link_outcomes(tables, LinkSettings(seed=SEED))  # the whole pipeline, every source
scored = result.candidates[result.candidates["source"] == SOURCE]
"""),
    code(
        CHECK
        + """
print(f"left:  {len(left):,} crime-suspects (crimes joined to their named suspects)")
print(f"right: {len(right):,} {SOURCE.replace('_', ' ')} records")
print(f"every record against every crime-suspect: {len(left) * len(right):,} pairs")
"""
    ),
    md("""
`link_outcomes` ran the whole pipeline for every source above; the rest of the notebook takes it apart.
Any warning the library logs (for example that an EM fit stopped at its iteration cap,
`max_em_iterations` in the link settings, before its parameters stopped changing) is printed under the
cell; notebook 04 checks whether the links are good regardless.

## 1. Blocking: which pairs are worth comparing?

A blocking rule keeps only pairs that agree exactly on some key. Each rule is a small value built with
`block_on(...)`; the union of several rules catches pairs that any one would miss. The rules for this
source are listed in the table below, in the order they are applied. They start from the strongest keys,
the PNC ID serial (short and long forms normalised to one key) and the date of birth, then add name-based
keys (the surname's Soundex code with the year of birth or with the day and month of birth; both initials
with the force and the year of birth; forename and surname swapped) that catch records where an
identifier is missing or mistyped.

The table shows, for each rule, how many pairs it generates on its own, how many *new* pairs it adds to the
rules before it, and the **blocking recall**: the share of true links (known in the synthetic world) that
are among the candidates so far. A true link that blocking misses can never be found later, so recall here
is the ceiling for the whole linkage.
"""),
    code(
        CHECK
        + """
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
print(f"\\n{len(candidates):,} candidate pairs instead of {len(left) * len(right):,}")
"""
    ),
    md("""
Blocking on the PNC ID alone would miss every record whose PNC ID is missing (a penalty notice usually has
none; court and caution records sometimes lack one). Date of birth recovers most of those; the
name-based rules are there for records whose date of birth was typed wrong as well, and the table shows
how much each actually adds here. The candidate count stays a tiny fraction of the full cross product.

## 2. Comparisons: levels, not yes/no

Each comparison turns a pair into a **level**. Names: exact, forename and surname swapped, nickname
("Bob" for "Robert"), initial plus surname, then Jaro-Winkler similarity bands. Dates of birth: exact,
day and month swapped, one digit off, same year. The **directional time** comparison asks whether the
outcome came after the offence within the usual lag for this kind of outcome (days for a penalty notice,
weeks for a caution, months for a court result). **Offence compatibility** compares the crime's Home Office
offence code with the court's CJS code through the crosswalk: same offence, same group (charge altered),
compatible group, incompatible. A missing value is its own level, and it counts as neutral evidence.
"""),
    code("""
pd.DataFrame(
    [{"comparison": c.name, "levels (0 = strongest agreement)": " | ".join(c.level_labels)}
     for c in spec.comparisons]
)
"""),
    md("""
How the candidate pairs of this source fall across the levels of two comparisons, split by whether the
pair ended up linked. Linked pairs sit almost all at the top levels; the many unlinked candidates are mostly
*the right person on the wrong crime* (the same offender's other crimes), which is why offence, dates and
outcome lag matter as much as names.
"""),
    code(
        """
for comparison in ["name", "offence"]:
    labels = dict(enumerate(next(c for c in spec.comparisons if c.name == comparison).level_labels))
    table = pd.crosstab(scored[f"level_{comparison}"].map(labels).fillna("missing"), scored["linked"])
    print(table.to_string(), end="\\n\\n")
"""
    ),
    md("""
## 3. The model: m and u

For each comparison level, **m** is the probability of seeing that level when the pair is a true link, and
**u** when it is not. A level's **match weight** is log2(m/u): positive weights are evidence for a link,
negative against. Adding the weights of a pair's levels to the prior gives its total match weight, and
from it the match probability.

The justice model has two stages, because most candidate pairs are *the right person on the wrong crime*:

* the **person** stage (name, date of birth, PNC ID, sex): u from random pairs of records, m by EM;
* the **crime** stage (offence, offence date, outcome lag, force, and where the source has them the
  place of a penalty notice, the court's area or the hand-typed crime reference), estimated by EM among
  the pairs that are almost surely the same person, where a non-match means "this person's other crime".

The link probability is, roughly, P(same person) x P(this crime | same person); section 5 shows the exact
steps, including the weighing of a record's rival crimes and of a different person.
"""),
    code(
        """
model = result.models[SOURCE]
parameters = model.parameters()[["stage", "comparison", "label", "m", "u", "match_weight"]]
print(parameters.to_string(index=False, float_format="{:.4f}".format))
"""
    ),
    code("""
model.person.m_u_chart()
"""),
    code("""
model.crime.m_u_chart()
"""),
    md("""
Read the charts level by level: *PNC ID exact* is common among true links (m near 1) and very rare among
random pairs (u tiny), so it carries a large positive weight; *offence incompatible* is rare among true
links, so it carries a large negative one.

The distribution of match weights over all candidate pairs is bimodal: a large mass of clear non-links
and a smaller mass of clear links, with few pairs in between. Those few are where clerical review (notebook
04) earns its keep.
"""),
    code("""
match_weight_histogram(scored)
"""),
    md("""
## 4. Rules, constraints and the result

Before the model, **deterministic rules** mark pairs that are links on their face (for example PNC ID
exact, compatible offence and the outcome inside the usual window). Then the model scores everything, and
the **constraints** keep, for each outcome record, at most one crime-suspect (and each crime-suspect takes
at most one record of a source), resolving conflicts with an optimal assignment on the scores rather than
by whichever pair came first. Every link records what made it:
"""),
    code(
        CHECK
        + """
print(result.links.groupby(["source", "rule"]).size().rename("links").to_string())
print()
print(result.blocking.pivot(index="blocking_rule", columns="source", values="pairs").fillna(0).astype(int).to_string())
"""
    ),
    md("""
## 5. Explaining one pair

Take one court record that the **model** (not a rule) linked, where the person stage is sure about
several candidate crimes: the same person, several of their crimes. Its candidates, best first:
"""),
    code(
        """
same_person = scored[scored["person_probability"] > 0.9]["record_id"].value_counts()
model_linked = scored[(scored["rule"] == "model") & scored["record_id"].isin(same_person[same_person > 1].index)]
record = model_linked.sort_values("record_id")["record_id"].iloc[0]
its_candidates = scored[scored["record_id"] == record].sort_values("match_weight", ascending=False)
print(f"record {record}: {len(its_candidates)} candidate crime-suspect(s)")
print(its_candidates[["crime_ref", "suspect_ref", "person_probability", "crime_probability",
                      "match_weight", "linked"]].to_string(index=False, float_format="{:.3f}".format))
"""
    ),
    md("""
The records side by side (synthetic people; PNC IDs are never shown):
"""),
    code("""
best = its_candidates.iloc[0]
fields = ["forename", "surname", "date_of_birth", "sex", "offence", "date"]
pd.DataFrame(
    {
        "crime and suspect": best[[f"l_{f}" for f in fields]].to_numpy(),
        SOURCE.replace("_", " "): best[[f"r_{f}" for f in fields]].to_numpy(),
    },
    index=["forename", "surname", "date of birth", "sex", "offence code (HO / CJS)", "offence date"],
)
"""),
    md("""
The **waterfall** shows how each comparison moves the match weight, starting from the prior. The person
stage first: does this record describe the same person as the suspect? An exact name match is followed by
its **term frequency** row: agreeing on a common name is weaker evidence than agreeing on a rare one.
"""),
    code("""
left_row, right_row = left.iloc[int(best["left_pos"])], right.iloc[int(best["right_pos"])]
model.person.waterfall_chart(left_row, right_row)
"""),
    md("""
Then the crime stage: given it is the same person, is it *this* crime? Compare the linked crime with the
runner-up (the same person's other crime): the offence and the dates decide.
"""),
    code("""
model.crime.waterfall_chart(left_row, right_row)
"""),
    code("""
runner_up = its_candidates.iloc[1]
model.crime.waterfall_chart(left.iloc[int(runner_up["left_pos"])], right.iloc[int(runner_up["right_pos"])])
"""),
    md("""
The whole model for this pair, in one table. The score needs more than the pair itself: the crime stage
weighs this crime against **the same person's other candidate crimes** for the same record (a record
disposes of at most one of them), and the final step weighs "this crime of this person" against **a
different person** whose crime merely looks similar. So the waterfall takes the level frame of every
candidate pair (the compare step of section 2) and the pair's labels:

* person stage: the prior, each person comparison (with the name's term-frequency row), the person total;
* crime stage: the prior, each crime comparison, the crime total for this pair alone, then
  **other candidate crimes of this person**: the record-level step, which lifts a crime that clearly beats
  its rivals and lowers one that does not;
* **different-person alternative**: the three-class step; its label gives the odds against a different
  person (the person weight plus the crime evidence against random pairs);
* **final**: the model's match weight and probability for the pair.
"""),
    code(
        """
pairs = pd.MultiIndex.from_arrays([scored["left_pos"], scored["right_pos"]], names=["left", "right"])
levels = model.compare(pairs, left, right)
pair = (int(best["left_pos"]), int(best["right_pos"]))
table = model.waterfall(levels, pair)
print(table[["stage", "step", "label", "log2_bayes_factor", "cumulative_weight", "match_probability"]].to_string(
    index=False, float_format="{:.3f}".format))
"""
    ),
    code("""
model.waterfall_chart(levels, pair)
"""),
    md("""
The waterfall's last row is the model's own score for the pair (the figure the link was made on), and each
comparison's rows add up to the Bayes factor stored with the candidate (`bf_*` columns):
"""),
    code(
        CHECK
        + """
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
"""
    ),
    md("""
## What to take away

* Blocking sets the ceiling on recall: check it against truth (synthetic) or a clerical sample (real).
* Multi-level comparisons with neutral missing values let imperfect evidence count for something without
  letting a missing PNC ID count against a link.
* Separating "same person" from "this crime" is what makes linkage work for repeat offenders; the
  waterfall shows which fields decided a link, so an analyst can check any link they doubt.
* Notebook 04 measures how good the links are, overall and for different groups of people.
"""),
]

# --------------------------------------------------------------------------------------------------- 04
NB04 = [
    md("""
# 04 Linkage quality

**What this notebook is for.** A linked outcome rate is only as good as the linkage behind it. Missed links
make outcome rates look lower than they are; false links make them look higher; and neither error is spread
evenly, so a group whose records are harder to link (more name variants, more missing identifiers) can
look as if it gets different outcomes when it does not.

On synthetic data we know the truth, so we can measure **precision** (the share of links that are right)
and **recall** (the share of true links found) exactly. On real data we cannot; instead a reviewer looks at
a sample of pairs and we *estimate* precision and recall from their labels. This notebook does both, on
the same world, so you can see how well the clerical estimate recovers the truth.
"""),
    params(
        FIND_ROOT
        + """
AREA = "small"  # synthetic world preset (linkage/synth/presets.py)
SEED = 1
REVIEW_PAIRS = 150  # size of the clerical review sample
DATA = ROOT / "data"
"""
    ),
    code(
        """
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

"""
        + INLINE
    ),
    code("""
world = generate(preset(AREA), seed=SEED)
tables = {name: world.table(name) for name in ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes"]}
result = link_outcomes(tables, LinkSettings(seed=SEED))
"""),
    md("""
## 1. Precision and recall against the truth

A link is correct when it names the right crime **and** the right suspect. Recall's denominator is every
outcome record that truly belongs to a crime in the data, linked or not. Intervals are 95% Wilson score
intervals: with a few dozen cautions they are wide, and should be.
"""),
    code(
        CHECK
        + """
quality = evaluate(result.links, world.truth)
columns = ["n_links", "n_true", "tp", "precision", "precision_low", "precision_high",
           "recall", "recall_low", "recall_high", "f1"]
print(quality.table[columns].to_string(float_format="{:.3f}".format))
"""
    ),
    md("""
The same pipeline on a world with the **hard** noise profile (more typos, nicknames, missing PNC IDs,
altered charges and shifted dates) shows how quality degrades as the records get messier:
"""),
    code("""
hard_world = generate(WorldSpec.from_dict({**PRESETS[AREA], "noise": "hard"}), seed=SEED)
hard_tables = {name: hard_world.table(name) for name in tables}
hard_result = link_outcomes(hard_tables, LinkSettings(seed=SEED))
"""),
    code(
        CHECK
        + """
hard = evaluate(hard_result.links, hard_world.truth)
print(pd.DataFrame({"typical F1": quality.table["f1"], "hard F1": hard.table["f1"]}).to_string(
    float_format="{:.3f}".format))
"""
    ),
    md("""
## 2. Choosing a threshold

Every candidate pair has a match weight. Raising the threshold trades recall for precision. The sweep
links each outcome record to its best candidate when that candidate's weight reaches the threshold (it
ignores the one-to-one constraints, so it describes the model, not the final links). The default link
threshold is a match probability of 0.5, a match weight of 0.
"""),
    code(
        CHECK
        + """
sweep = threshold_sweep(result.candidates, world.truth, thresholds=[-10, -5, 0, 5, 10, 15])
view = sweep[sweep["source"] == "all"][["threshold", "n_links", "tp", "precision", "recall", "f1"]]
print(view.to_string(index=False, float_format="{:.3f}".format))
"""
    ),
    code("""
full_sweep = threshold_sweep(result.candidates, world.truth)
ax = precision_recall_chart(full_sweep)
ax.figure.set_dpi(80)
ax.figure
"""),
    md("""
The curve hugs the top-right corner: over a wide range of thresholds almost every link is right and
almost every true link is found, so the result does not hinge on the exact threshold. On real data, where
the curve is unknown, the clerical review below is how you check that.

## 3. Who gets missed? Link rates and recall by subgroup

`by_subgroup` breaks the link rate (the share of outcome records linked to any crime), precision and recall
down by source, force, offence group, sex and age band. A subgroup with lower recall has its outcome rates
biased downwards in any analysis of linked data.
"""),
    code(
        """
subgroups = by_subgroup(result.links, world.truth, tables)
shown = subgroups[subgroups["variable"].isin(["sex", "age_band", "offence_group"])]
print(shown[["variable", "group", "n_records", "link_rate", "recall", "recall_low", "recall_high"]].to_string(
    index=False, float_format="{:.3f}".format))
"""
    ),
    md("""
With a few hundred outcome records the intervals overlap for almost every group, so nothing here is
evidence of a difference. In a real project the same table on a full year of a force's records is what you
would publish alongside any outcome rate broken down by these groups.

## 4. The clerical review round trip

On real data there is no truth table. The workflow is:

1. **draw** a random sample of candidate pairs stratified by match weight (and by whether they were
   linked): every stratum gets at least 5 pairs, so the small uncertain middle is seen, and the rest of the
   sample is spread in proportion to stratum size. Write it to CSV with both records side by side.
   Unlinked pairs far below the threshold (weight under -10 by default: they disagree on almost
   everything) are not sampled and are assumed to be non-matches, the usual "grey zone" design;
2. a **reviewer** fills `reviewer_label` with `Y` (same person and crime), `N`, or `?` (cannot tell);
3. **read** the labels back (every label is checked) and **estimate** precision and recall: each reviewed
   pair stands for (stratum size / pairs reviewed in its stratum) pairs, the inverse of its chance of
   being drawn, with intervals.

The sample file holds personal data: in a real project it stays in the secure environment.
"""),
    code(
        """
workdir = Path(tempfile.mkdtemp(prefix="linkage-nb04-"))
sample = draw_review_sample(result.candidates, n=REVIEW_PAIRS, seed=SEED)
sample_path = write_review_sample(sample, workdir / "review_sample.csv")
print(sample.groupby(["stratum"], sort=True).agg(
    pairs_in_stratum=("stratum_size", "first"), sampled=("review_id", "size")).to_string())
"""
    ),
    md("""
What the reviewer sees for one pair (PNC ID columns left out here; the real file has them, because a
reviewer needs them):
"""),
    code("""
sample.drop(columns=sample.filter(like="pnc").columns).head(2).T
"""),
    md("""
Here we play the reviewer with the synthetic truth: `Y` when the pair names the true crime and suspect,
`N` otherwise. (A real reviewer also answers `?` sometimes, and sometimes gets it wrong.) Then the labelled
file is read back exactly as a returned review would be.
"""),
    code("""
labelled = sample.copy()
labelled["reviewer_label"] = np.where(mark_correct(sample, world.truth)["correct"].to_numpy(), "Y", "N")
write_review_sample(labelled, workdir / "review_returned.csv")
review = read_review(workdir / "review_returned.csv")
"""),
    code(
        CHECK
        + """
estimate = estimate_from_review(review, result.candidates)
truth_all = quality.table.loc["all"]
print(f"reviewed pairs: {estimate.n_reviewed} ({estimate.n_unsure} unsure)")
print(f"precision: estimated {estimate.precision:.3f} "
      f"({estimate.precision_interval[0]:.3f} to {estimate.precision_interval[1]:.3f}); "
      f"true {truth_all['precision']:.3f}")
print(f"recall:    estimated {estimate.recall:.3f} "
      f"({estimate.recall_interval[0]:.3f} to {estimate.recall_interval[1]:.3f}); "
      f"true {truth_all['recall']:.3f}")
"""
    ),
    code("""
estimate.strata
"""),
    md("""
How to read the estimate:

* **Precision** from the review should agree closely with the truth when the reviewer is always right, as
  our simulated one is: compare the two figures above.
* **Recall** from a review can only count true links the reviewer could see. True links that blocking never
  proposed (notebook 03), and true links among the unsampled pairs below the grey-zone threshold, are
  invisible to it. So the review's recall is an upper bound, and here it sits above the truth-based recall.
* The estimates weigh each reviewed pair by the inverse of its chance of being drawn (the `weight` column
  above), so they are unbiased over repeated samples, and they never use the model's own probabilities:
  the review judges the model, not the other way round. The intervals (Korn-Graubard: Clopper-Pearson at
  the sample's effective size) stay open even when every reviewed link is right, because the unreviewed
  links could still hold a few errors. They describe sampling uncertainty within the reviewed strata,
  **not** the two assumptions above, which is how the truth can sit outside the recall interval. Report
  the assumptions with the figures.
* To learn more, review more pairs in the strata around the threshold, where labels are mixed, not more of
  the obvious ones.
"""),
]

# --------------------------------------------------------------------------------------------------- 05
NB05 = [
    md("""
# 05 Outcome analysis and trailblazer evaluation

**What this notebook is for.** With outcomes linked to crimes, we can ask the questions the public data
cannot answer well: what share of crimes end in a charge, a caution or a penalty notice; how long that
takes; and whether a **trailblazer** (a local change in practice, here widening the use of out-of-court
disposals) changed those outcomes compared with similar areas that did not take part.

The data are a synthetic world built from the `london-south` trailblazer configuration: Southwark and
Lambeth (trailblazers, go-live July 2024) against Lewisham and Wandsworth (comparison areas), scaled down
so the notebook runs in seconds. The world was generated with a **known effect**, so we can check whether
the difference-in-differences estimate recovers it. Each step calls the same functions the report uses.
"""),
    params(
        FIND_ROOT
        + """
AREA = "london-south"  # a configuration in trailblazers/
SEED = 20240701  # the configuration's own seed
CRIMES_PER_MONTH = 600  # per borough; the configuration has 1,900-2,600 (scaled down for speed)
DATA = ROOT / "data"
LSOA_BOUNDARIES = DATA / "boundaries" / "london-2021-lsoa-gen20.shp"
"""
    ),
    code(
        """
import copy
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import matplotlib.pyplot as plt
import pandas as pd

from linkage.evaluation import (
    add_flags,
    compare_views,
    did,
    event_study,
    km_by_group,
    km_table_at,
    load_boundaries,
    lsoa_choropleth,
    median_table,
    outcome_rates,
    protect_rates,
)
from linkage.reporting import config_from_dict, gather, load_config

"""
        + INLINE
    ),
    md("""
## 1. Build the linked data from the configuration

`load_config` reads and validates the YAML; we scale the synthetic areas down and set the seed, then
`gather` does what the report does: generate the world, link its cautions, penalty notices and court
outcomes to its crimes (notebook 03), and return the **crime-level linked view**: one row per crime with
its area, whether the area is a trailblazer (`treated`), its final outcome and when it happened.
"""),
    code("""
shipped = load_config(ROOT / "trailblazers" / f"{AREA}.yaml")
raw = copy.deepcopy(dict(shipped.raw))
for area in raw["sources"]["synthetic_world"]["areas"]:
    area["crimes_per_month"] = CRIMES_PER_MONTH
raw["seed"] = SEED
config = config_from_dict(raw, base=shipped.source.parent, source=shipped.source)
data = gather(config)  # generate the world, link its outcome records, build the crime-level views
linked = data.linked
"""),
    code(
        CHECK
        + """
print(f"{config.title}")
print(f"period {config.start:%b %Y} to {config.end:%b %Y}, go-live {config.go_live:%b %Y}")
print(linked.groupby(["treated", "area"]).size().rename("crimes").to_string())
"""
    ),
    md("""
## 2. Outcome rates, with Wilson intervals

The share of crimes reaching each outcome group, by area, with 95% Wilson score intervals. The linked view
takes each crime's final outcome by the police.uk hierarchy from the force's own record *and* the linked
cautions, penalty notices and court results.
"""),
    code(
        """
rates = outcome_rates(linked, by=("area",))
wide = rates.pivot(index="outcome_group", columns="area", values="rate").reindex(rates["outcome_group"].unique())
print(wide.to_string(float_format="{:.3f}".format))
"""
    ),
    code("""
rates[rates["outcome_group"] == "Out-of-court disposal"][["area", "count", "n", "rate", "lower", "upper"]]
"""),
    md("""
### Public view against linked view

The same world also publishes its own police.uk-style files. `compare_views` sets the final-outcome mix
there beside the linked view. In this synthetic world both are drawn from the same truth at the same
snapshot, so they should agree, and they do to within a fraction of a percentage point: a check that
linking the outcome records back to crimes recovers what the force itself published. On real data the same
comparison shows what linkage adds, chiefly the court results that police.uk has largely lacked since
mid-2019 and outcomes recorded after the publication snapshot.
"""),
    code(
        """
views = compare_views(data.world_public, linked)
print(views[["outcome_group", "rate police.uk (public)", "rate linked", "difference_pp"]].to_string(
    index=False, float_format="{:.3f}".format))
"""
    ),
    md("""
## 3. Time to outcome: Kaplan-Meier

How long from recording to a final outcome? Crimes still open at the end of the period are **censored**:
we know only that their outcome, if any, comes later. Kaplan-Meier curves (statsmodels `SurvfuncRight`)
use them correctly; a simple average of the observed times would not. Curves by crime type, with medians
and 95% intervals (NaN where the median is not reached within the period):
"""),
    code(
        """
curves = km_by_group(linked, by="crime_type", period_end=config.period_end)
print(median_table(curves, label="crime_type").to_string(index=False, float_format="{:.1f}".format))
"""
    ),
    code("""
fig, ax = plt.subplots(figsize=(8, 4.5), dpi=80)
for curve in curves:
    ax.step(curve.times, 1 - curve.survival, where="post", label=f"{curve.group} ({curve.n:,})")
ax.set_xlabel("days from recording")
ax.set_ylabel("share of crimes with a final outcome")
ax.set_xlim(0, 365)
ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
ax.set_title("Time to final outcome by crime type (Kaplan-Meier, censored at the period end)")
fig.tight_layout()
"""),
    code("""
km_table_at(curves, days=(7, 28, 91, 182))
"""),
    md("""
## 4. Difference-in-differences against the true effect

The question: did out-of-court disposals (OOCDs) become more common in the trailblazer areas after
go-live than they would have without it? The comparison areas stand in for "without it": the estimate is
(trailblazer after - trailblazer before) - (comparison after - comparison before), fitted as a linear
probability model with area and month fixed effects on LSOA-month cells, with standard errors clustered on
LSOA.

Two choices matter:

* the intervention acts on crimes **with a named suspect** (there is no one to caution otherwise), so the
  outcome is measured among those crimes;
* every outcome is measured over a **fixed window** after recording (`add_flags`: 90 days here), counting
  only crimes recorded at least that long before the period end. Without this, recent crimes, which are
  open simply because they are recent, would make the after-period look worse.
"""),
    code(
        CHECK
        + """
flags = add_flags(linked, period_end=config.period_end,
                  within_days=config.evaluation.outcome_within_days,
                  followup_days=config.evaluation.followup_days)
named = flags[flags["identified"]]
oocd = named.dropna(subset=["oocd"]).astype({"oocd": float})
estimate = did(oocd, outcome="oocd", go_live=config.go_live, cluster=config.evaluation.cluster)
row = estimate.as_row()
true_pp = data.true_effects["oocd"]
print(f"OOCD share, crimes with a named suspect: DiD {row['estimate']:+.2f} pp "
      f"(95% CI {row['ci_lower']:+.2f} to {row['ci_upper']:+.2f}), {row['crimes']:,} crimes, "
      f"{row['clusters']} LSOA clusters")
print(f"true effect realised in the world: {true_pp:+.2f} pp; interval covers it: {estimate.covers(true_pp / 100)}")
print()
print(estimate.means.to_string(index=False, float_format="{:.3f}".format))
"""
    ),
    md("""
The same estimate with standard errors clustered on area-month instead of LSOA: with only four areas, area
clustering alone would give four clusters and unreliable intervals, so LSOA is the main choice and this is
a sensitivity check.
"""),
    code(
        """
for cluster in ["lsoa", "area-month"]:
    r = did(oocd, outcome="oocd", go_live=config.go_live, cluster=cluster).as_row()
    print(f"clustered on {cluster:10s}: {r['estimate']:+.2f} pp ({r['ci_lower']:+.2f} to {r['ci_upper']:+.2f}), "
          f"{r['clusters']} clusters")
"""
    ),
    md("""
### Event study and pre-trends

DiD assumes the two groups would have moved in parallel without the trailblazer. We cannot test that after
go-live, but we can look before it: the event study estimates the trailblazer-comparison gap month by month
relative to go-live (month -1 is the reference). Pre-go-live coefficients near zero, and a joint test that
does not reject them all being zero, are reassuring (not proof).
"""),
    code(
        """
study = event_study(oocd, outcome="oocd", go_live=config.go_live, cluster=config.evaluation.cluster)
print(f"pre-trend test: chi-squared {study.pretrend_stat:.2f} on {study.pretrend_df} df, p = {study.pretrend_p:.3f}")
"""
    ),
    code("""
coef = study.coefficients
fig, ax = plt.subplots(figsize=(7, 3.8), dpi=80)
ax.errorbar(coef["relative_month"], 100 * coef["estimate"],
            yerr=[100 * (coef["estimate"] - coef["ci_lower"]), 100 * (coef["ci_upper"] - coef["estimate"])],
            fmt="o", capsize=3)
ax.axhline(0, color="black", linewidth=0.8)
ax.axvline(-0.5, color="grey", linestyle="--", linewidth=0.8)
ax.axhline(true_pp, color="tab:red", linestyle=":", label=f"true effect {true_pp:+.1f} pp")
ax.set_xlabel("months relative to go-live")
ax.set_ylabel("trailblazer minus comparison (pp)")
ax.legend()
ax.set_title("Event study: OOCD share, crimes with a named suspect")
fig.tight_layout()
"""),
    md("""
### Time to outcome

The trailblazer was also set up to reach police outcomes faster. The outcome here is days from recording
to the police outcome, capped at the 90-day window (a restricted mean: crimes still open count as 90).
"""),
    code(
        CHECK
        + """
days = named.dropna(subset=["days_capped"]).astype({"days_capped": float})
speed = did(days, outcome="days_capped", go_live=config.go_live, cluster=config.evaluation.cluster)
row = speed.as_row(scale=1.0, unit="days")
true_days = data.true_effects["days_capped"]
print(f"days to police outcome (capped at {config.evaluation.followup_days}): DiD {row['estimate']:+.2f} days "
      f"(95% CI {row['ci_lower']:+.2f} to {row['ci_upper']:+.2f})")
print(f"true effect realised in the world: {true_days:+.2f} days; interval covers it: {speed.covers(true_days)}")
"""
    ),
    md("""
Compare each estimate with the truth printed beside it. The truth is not the configured +10 pp or -5
days: it is the average, over the trailblazer crimes after go-live that this DiD uses, of each crime's
outcome with the intervention minus its outcome without it (the world generates both), measured the same
way - out-of-court disposal within the window, days capped at 90. For days that includes the cases the
intervention moved to a (faster) out-of-court disposal, so it is larger than the 5-day shift alone.

A 95% interval should cover the true effect in about 95 worlds out of 100, so one miss in one world is not
by itself a fault; a miss that repeats across seeds is a bias. An earlier version of this notebook compared
this days estimate (on every crime with a named suspect) with a true effect computed only for crimes *not*
ending in an out-of-court disposal - two different quantities, which looked like a bias of about 3 days.
`benchmarks/bench_did_coverage.py` now reruns the report's own DiD over 20 seeds per shipped area and
reports bias and coverage per outcome (figures in docs/reports.md). Finding mismatches like this is exactly
what a synthetic world with a known effect is for.

## 5. Maps

Maps of person-based rates pass the same disclosure control as tables: `protect_rates` withholds the rate
of any LSOA whose numerator (or its complement) is below the threshold, and the map draws it hatched. That
rules out an LSOA map of a rare outcome: out-of-court disposals number a handful per LSOA in a year.
"""),
    code(
        """
by_lsoa = outcome_rates(named, by=("lsoa_code",))
oocd_lsoa, _ = protect_rates(by_lsoa[by_lsoa["outcome_group"] == "Out-of-court disposal"], config.disclosure)
print(f"OOCD share by LSOA: withheld for {int(oocd_lsoa['rate'].isna().sum())} of {len(oocd_lsoa)} LSOAs "
      f"(threshold {config.disclosure.threshold})")
"""
    ),
    md("""
A commoner outcome maps well at LSOA level: the share of all crimes closed with no suspect identified.
Neighbouring LSOAs outside the four boroughs are drawn in light grey for orientation.
"""),
    code("""
lsoas = load_boundaries(LSOA_BOUNDARIES)
all_lsoa = outcome_rates(linked, by=("lsoa_code",))
no_suspect, log = protect_rates(all_lsoa[all_lsoa["outcome_group"] == "No suspect identified"], config.disclosure)
fig = lsoa_choropleth(no_suspect, lsoas, value="rate",
                      title="Share of crimes closed with no suspect identified, 2024 (linked view)",
                      legend_label="share: no suspect identified")
fig.set_dpi(70)
"""),
    md("""
## What to take away

* Rates carry Wilson intervals; time to outcome uses Kaplan-Meier so open crimes are censored, not
  ignored or counted as failures.
* The DiD compares changes, not levels, so stable differences between areas drop out; what remains rests on
  parallel trends, which the event study lets you inspect.
* Each outcome is measured over a fixed follow-up window, and the comparison set is crimes with a named
  suspect, because that is where the intervention acts.
* On synthetic data, check every estimate against the realised effect; on real data, the same code runs
  without the truth column, and the linkage quality of notebook 04 tells you how far to trust the inputs.
"""),
]

# --------------------------------------------------------------------------------------------------- 06
NB06 = [
    md("""
# 06 Regenerating a report from a configuration

**What this notebook is for.** Every trailblazer report is regenerated from one YAML file in
`trailblazers/`: the area, period and go-live, comparison areas, data sources, linkage and disclosure
settings and the seed. The command line does it in one step (`linkage report trailblazers/<slug>.yaml`,
or `make report` for all of them). This notebook runs the same steps from Python, into a temporary folder
rather than `reports/`, and then looks at what **disclosure control** changed on the way.

The configuration used is the shipped `city-of-london`: the real police.uk files for 2024 plus a synthetic
restricted layer (suspects, cautions, penalty notices, court outcomes) on the City's real map points.
"""),
    params(
        FIND_ROOT
        + """
AREA = "city-of-london"  # a configuration in trailblazers/
SEED = 2024  # the configuration's own seed: the report matches `make report`
DATA = ROOT / "data"
TRAILBLAZERS = ROOT / "trailblazers"
"""
    ),
    code(
        """
import copy
import json
import re
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import pandas as pd

from linkage.errors import ConfigError
from linkage.evaluation import audit_suppression, outcome_table, protect_counts
from linkage.reporting import build_report, config_from_dict, gather, load_config, write_report

"""
        + INLINE
    ),
    md("""
## 1. The configuration

`load_config` validates the file on load. Relative paths are resolved against the folder holding the
YAML, so the same file works from any working directory.
"""),
    code(
        CHECK
        + """
shipped = load_config(TRAILBLAZERS / f"{AREA}.yaml")
raw = copy.deepcopy(dict(shipped.raw))
raw["seed"] = SEED
config = config_from_dict(raw, base=shipped.source.parent, source=shipped.source, default_slug=AREA)
print(f"slug:        {config.slug}")
print(f"title:       {config.title}")
print(f"area:        {config.area.name} ({config.area.force})")
print(f"period:      {config.start:%Y-%m} to {config.end:%Y-%m}; go-live {config.go_live}")
print(f"police.uk:   {[p.name for p in config.police_uk]}")
print(f"synthetic:   {config.synthetic_world is not None}; extracts: {sorted(config.extracts)}")
print(f"disclosure:  threshold {config.disclosure.threshold}, rounding base {config.disclosure.rounding_base}")
print(f"seed:        {config.seed}")
print(f"config hash: {config.config_hash}")
"""
    ),
    md("""
A configuration with mistakes is rejected with **every** problem listed at once, each naming the field and
the bad value, so a researcher fixes them in one pass:
"""),
    code(
        CHECK
        + """
broken = copy.deepcopy(raw)
broken["period"] = {"start": "2024-13", "end": "2024-12", "go_live": "July"}
broken["disclosure"] = {"threshold": 0, "rounding": 5}
broken["colour"] = "blue"
try:
    config_from_dict(broken, base=shipped.source.parent, source="broken example")
except ConfigError as error:
    print(error)
"""
    ),
    md("""
## 2. Regenerate the report

`run_report(config, out_root)` is `gather` (load, validate and link every source), `build_report` (every
section, with disclosure control inside each) and `write_report` (the files). We call the three steps
separately to keep the gathered data for section 3. The output goes to a temporary folder.
"""),
    code("""
out_root = Path(tempfile.mkdtemp(prefix="linkage-nb06-"))
started = time.time()
data = gather(config)
report = build_report(data)
html = write_report(report, data, out_root / config.slug, started=started)
"""),
    code(
        CHECK
        + """
folder = html.parent
print("\\n".join(sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())))
"""
    ),
    md("""
`report.html` is one self-contained file (figures embedded) that opens in any browser without a server;
`tables/*.csv` are the published tables; `city-of-london-outcomes.csv` is a police.uk-style outcomes file
built from the linked result; `manifest.json` records what the run used, so anyone can check a report
was built from the inputs it claims:
"""),
    code(
        CHECK
        + """
manifest = json.loads((folder / "manifest.json").read_text())
for key in ["slug", "config_file", "config_sha256", "package", "package_version", "seed"]:
    print(f"{key:16s} {manifest[key]}")
print("input files (SHA-256):")
for name, digest in manifest["input_files"].items():
    print(f"  {digest[:16]}...  {name}")
print("also recorded: git commit, Python version, start time and run time (not shown: they change per run)")
"""
    ),
    md("""
Same configuration and seed, same tables: `make report` run twice gives identical tables and manifests
apart from the run time. The headline figures at the top of the report:
"""),
    code("""
pd.DataFrame(report.headline, columns=["measure", "value"])
"""),
    md("""
## 3. What disclosure control changed

The linked layer is person-level data, so every count and rate in the report passes disclosure control
(`linkage.evaluation.disclosure`, settings from the configuration's `disclosure:` block):

* **primary suppression**: a person-based cell below the threshold (10) is withheld, shown as `[c]`;
* **secondary suppression**: further cells are withheld so the primary ones cannot be recovered by
  subtracting from row and column totals;
* **rounding**: published counts are rounded to the base (5).

Here is one table before and after: crimes by crime type and final outcome group in the linked view.
"""),
    code("""
counts = outcome_table(data.linked, rows="crime_type")
counts
"""),
    code("""
protected = protect_counts(counts, config.disclosure, name="outcomes_by_crime_type_counts")
protected.display()
"""),
    code(
        CHECK
        + """
hidden = protected.suppressed.drop(index="Total", columns="Total")
actions = protected.log.groupby("action").size()
print(f"{hidden.to_numpy().sum()} of {hidden.size} cells withheld")
print(actions.to_string())
"""
    ),
    md("""
Could an intruder recover a withheld cell from what is published? `audit_suppression` works out, for each
hidden cell, the smallest and largest value consistent with every published cell and total (a small linear
programme). A cell is **exposed** if that range is narrower than one.
"""),
    code(
        CHECK
        + """
audit = audit_suppression(
    counts,
    hidden,
    row_totals_hidden=protected.suppressed["Total"].drop("Total").to_numpy(),
    col_totals_hidden=protected.suppressed.loc["Total"].drop("Total").to_numpy(),
    grand_hidden=bool(protected.suppressed.loc["Total", "Total"]),
)
print(f"{len(audit)} hidden cells; exposed: {int(audit['exposed'].sum())}; "
      f"narrowest feasible range: {float((audit['upper'] - audit['lower']).min()):.0f}")
"""
    ),
    md("""
### The disclosure log

Every action taken on every published table is written to `disclosure_log.csv` beside the report (and
shown at its end), so a checker can see what was withheld and why without seeing the values:
"""),
    code(
        CHECK
        + """
disclosure_log = pd.read_csv(folder / "disclosure_log.csv")
print(disclosure_log.groupby(["table", "action"]).size().rename("entries").to_string())
"""
    ),
    code("""
disclosure_log.head(10)
"""),
    md("""
Finally, the rule that matters most: nothing in `reports/` may carry a name, a date of birth, a PNC ID, a
CRO number or an exact location. A quick scan of everything written:
"""),
    code(
        CHECK
        + """
written = "\\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())
pnc = re.findall(r"\\b\\d{2}(?:\\d{2})?/\\d{7}[A-Z]\\b", written)
cro = re.findall(r"\\b\\d{6}/\\d{2}[A-Z]\\b", written)
words = re.findall(r"[A-Z][A-Z'-]+", written.upper())
people = data.tables["suspects"]
names = set(zip(people["forename"].str.upper(), people["surname"].str.upper()))
print(f"PNC IDs: {len(pnc)}; CRO numbers: {len(cro)}")
print(f"synthetic suspects' full names (forename surname) anywhere in the output: {len(names & set(zip(words, words[1:])))}")
"""
    ),
    md("""
## What to take away

* A report is a function of its configuration, its inputs and its seed; the manifest proves which.
* Disclosure control is applied inside each section, before anything is written; the log shows every
  cell it touched, and the audit shows the withheld cells cannot be worked back out from the totals.
* Regenerate into a scratch folder while you experiment; `make report` rebuilds the published `reports/`.
"""),
]

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_published_police_uk_data": NB01,
    "02_restricted_extracts_and_data_quality": NB02,
    "03_linking_outcomes_to_crimes": NB03,
    "04_linkage_quality": NB04,
    "05_outcomes_and_trailblazer_evaluation": NB05,
    "06_regenerating_a_report": NB06,
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook from (kind, source) cells; cell ids are stable so rebuilds diff cleanly."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, source) in enumerate(cells):
        if kind == "md":
            cell = new_markdown_cell(source)
        else:
            cell = new_code_cell(source)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
        cell["id"] = f"{name[:2]}-{i:02d}"
        nb.cells.append(cell)
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> None:
    """Run every cell with notebooks/ as the working directory (as nbval does)."""
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}}
    )
    client.execute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("only", nargs="*", help="build only notebooks whose names start with these")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    args = parser.parse_args(argv)
    for name, cells in NOTEBOOKS.items():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        nb = build(name, cells)
        path = NB_DIR / f"{name}.ipynb"
        if not args.no_execute:
            started = time.time()
            try:
                execute(nb)
            except Exception:
                path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")  # keep outputs to debug
                raise
            print(f"{name}: executed in {time.time() - started:.1f}s", file=sys.stderr)
        nbformat.validate(nb)
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
