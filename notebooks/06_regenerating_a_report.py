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
# # 06 Regenerating a report from a configuration
#
# **What this notebook is for.** Every trailblazer report is regenerated from one YAML file in
# `trailblazers/`: the area, period and go-live, comparison areas, data sources, linkage and disclosure
# settings and the seed. The command line does it in one step (`linkage report trailblazers/<slug>.yaml`,
# or `make report` for all of them). This notebook runs the same steps from Python, into a temporary folder
# rather than `reports/`, and then looks at what **disclosure control** changed on the way.
#
# The configuration used is the shipped `city-of-london`: the real police.uk files for 2024 plus a synthetic
# restricted layer (suspects, cautions, penalty notices, court outcomes) on the City's real map points.

# %% tags=["parameters"]
from pathlib import Path

# The repository root: the nearest folder above the working directory holding pyproject.toml (nbval and
# JupyterLab run a notebook with notebooks/ as the working directory; this also works from the root).
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())

AREA = "city-of-london"  # a configuration in trailblazers/
SEED = 2024  # the configuration's own seed: the report matches `make report`
DATA = ROOT / "data"
TRAILBLAZERS = ROOT / "trailblazers"

# %%
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
from linkage.config import config_from_dict, load_config
from linkage.pipeline import run
from linkage.reporting import build_report, write_report

# linkage's charts are bare matplotlib Figures (no backend chosen); show them inline here.
# %matplotlib inline
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 30)

# %% [markdown]
# ## 1. The configuration
#
# `load_config` validates the file on load. Relative paths are resolved against the folder holding the
# YAML, so the same file works from any working directory.

# %%
# NBVAL_CHECK_OUTPUT

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

# %% [markdown]
# A configuration with mistakes is rejected with **every** problem listed at once, each naming the field and
# the bad value, so a researcher fixes them in one pass:

# %%
# NBVAL_CHECK_OUTPUT

broken = copy.deepcopy(raw)
broken["period"] = {"start": "2024-13", "end": "2024-12", "go_live": "July"}
broken["disclosure"] = {"threshold": 0, "rounding": 5}
broken["colour"] = "blue"
try:
    config_from_dict(broken, base=shipped.source.parent, source="broken example")
except ConfigError as error:
    print(error)

# %% [markdown]
# ## 2. Regenerate the report
#
# `run_report(config, out_root)` is `linkage.pipeline.run` (load, validate and link every source, measure
# linkage quality: a `RunResult`), `build_report` (every section, with disclosure control inside each) and
# `write_report` (the files). We call the three steps separately to keep the run's result for section 3.
# The output goes to a temporary folder.

# %%
out_root = Path(tempfile.mkdtemp(prefix="linkage-nb06-"))
started = time.time()
data = run(config)
report = build_report(data)
html = write_report(report, data, out_root / config.slug, started=started)

# %%
# NBVAL_CHECK_OUTPUT

folder = html.parent
print("\n".join(sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())))

# %% [markdown]
# `report.html` is one self-contained file (figures embedded) that opens in any browser without a server;
# `tables/*.csv` are the published tables; `city-of-london-outcomes.csv` is a police.uk-style outcomes file
# built from the linked result; `manifest.json` records what the run used, so anyone can check a report
# was built from the inputs it claims:

# %%
# NBVAL_CHECK_OUTPUT

manifest = json.loads((folder / "manifest.json").read_text())
for key in ["slug", "config_file", "config_sha256", "package", "package_version", "seed"]:
    print(f"{key:16s} {manifest[key]}")
print("input files (SHA-256):")
for name, digest in manifest["input_files"].items():
    print(f"  {digest[:16]}...  {name}")
print("also recorded: git commit, Python version, start time and run time (not shown: they change per run)")

# %% [markdown]
# Same configuration and seed, same tables: `make report` run twice gives identical tables and manifests
# apart from the run time. The headline figures at the top of the report:

# %%
pd.DataFrame(report.headline, columns=["measure", "value"])

# %% [markdown]
# ## 3. What disclosure control changed
#
# The linked layer is person-level data, so every count and rate in the report passes disclosure control
# (`linkage.evaluation.disclosure`, settings from the configuration's `disclosure:` block):
#
# * **primary suppression**: a person-based cell below the threshold (10) is withheld, shown as `[c]`;
# * **secondary suppression**: further cells are withheld so the primary ones cannot be recovered by
#   subtracting from row and column totals;
# * **rounding**: published counts are rounded to the base (5).
#
# Here is one table before and after: crimes by crime type and final outcome group in the linked view.

# %%
counts = outcome_table(data.linked, rows="crime_type")
counts

# %%
protected = protect_counts(counts, config.disclosure, name="outcomes_by_crime_type_counts")
protected.display()

# %%
# NBVAL_CHECK_OUTPUT

hidden = protected.suppressed.drop(index="Total", columns="Total")
actions = protected.log.groupby("action").size()
print(f"{hidden.to_numpy().sum()} of {hidden.size} cells withheld")
print(actions.to_string())

# %% [markdown]
# Could an intruder recover a withheld cell from what is published? `audit_suppression` works out, for each
# hidden cell, the smallest and largest value consistent with every published cell and total (a small linear
# programme). A cell is **exposed** if that range is narrower than one.

# %%
# NBVAL_CHECK_OUTPUT

audit = audit_suppression(
    counts,
    hidden,
    row_totals_hidden=protected.suppressed["Total"].drop("Total").to_numpy(),
    col_totals_hidden=protected.suppressed.loc["Total"].drop("Total").to_numpy(),
    grand_hidden=bool(protected.suppressed.loc["Total", "Total"]),
)
print(f"{len(audit)} hidden cells; exposed: {int(audit['exposed'].sum())}; "
      f"narrowest feasible range: {float((audit['upper'] - audit['lower']).min()):.0f}")

# %% [markdown]
# ### The disclosure log
#
# Every action taken on every published table is written to `disclosure_log.csv` beside the report (and
# shown at its end), so a checker can see what was withheld and why without seeing the values:

# %%
# NBVAL_CHECK_OUTPUT

disclosure_log = pd.read_csv(folder / "disclosure_log.csv")
print(disclosure_log.groupby(["table", "action"]).size().rename("entries").to_string())

# %%
disclosure_log.head(10)

# %% [markdown]
# Finally, the rule that matters most: nothing in `reports/` may carry a name, a date of birth, a PNC ID, a
# CRO number or an exact location. A quick scan of everything written:

# %%
# NBVAL_CHECK_OUTPUT

written = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())
pnc = re.findall(r"\b\d{2}(?:\d{2})?/\d{7}[A-Z]\b", written)
cro = re.findall(r"\b\d{6}/\d{2}[A-Z]\b", written)
words = re.findall(r"[A-Z][A-Z'-]+", written.upper())
people = data.tables["suspects"]
names = set(zip(people["forename"].str.upper(), people["surname"].str.upper()))
print(f"PNC IDs: {len(pnc)}; CRO numbers: {len(cro)}")
print(f"synthetic suspects' full names (forename surname) anywhere in the output: {len(names & set(zip(words, words[1:])))}")

# %% [markdown]
# ## What to take away
#
# * A report is a function of its configuration, its inputs and its seed; the manifest proves which.
# * Disclosure control is applied inside each section, before anything is written; the log shows every
#   cell it touched, and the audit shows the withheld cells cannot be worked back out from the totals.
# * Regenerate into a scratch folder while you experiment; `make report` rebuilds the published `reports/`.
