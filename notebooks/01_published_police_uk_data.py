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
# # 01 Exploring published police.uk data
#
# **What this notebook is for.** Every month each police force in England and Wales publishes its recorded
# crimes on [data.police.uk](https://data.police.uk): a *street* file (one row per crime or anti-social
# behaviour incident, with an anonymised location and the crime's latest outcome) and an *outcomes* file
# (one row per outcome recorded that month, for crimes of that month or earlier). These files are public,
# so everything here is real data: the City of London Police files for 2024 bundled in `data/`.
#
# You will:
#
# 1. load the files with `linkage.sources.read_police_uk` and account for every row (accepted or
#    quarantined, and why);
# 2. look at the crime mix and the *last outcome* police.uk shows for each crime;
# 3. map the published **map points** and the LSOAs (small census areas) the crimes fall in.
#
# The public files hold no identifiers of people, so they cannot say *which* caution or court result belongs
# to which crime: that needs the restricted extracts of notebook 02 and the linkage of notebook 03.

# %% tags=["parameters"]
from pathlib import Path

# The repository root: the nearest folder above the working directory holding pyproject.toml (nbval and
# JupyterLab run a notebook with notebooks/ as the working directory; this also works from the root).
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())

AREA = "city-of-london"  # folder under data/police-uk/
FORCE = "City of London Police"  # as police.uk spells it
SEED = 1  # nothing here is random; kept for a uniform parameters cell
DATA = ROOT / "data"
POLICE_UK = DATA / "police-uk" / AREA
LSOA_BOUNDARIES = DATA / "boundaries" / "london-2021-lsoa-gen20.shp"
FORCE_BOUNDARIES = DATA / "boundaries" / "police_force_areas_pfa20.geojson"
MIN_CRIMES = 10  # maps show map points and LSOAs with at least this many crimes

# %%
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

# linkage's charts are bare matplotlib Figures (no backend chosen); show them inline here.
# %matplotlib inline
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 30)

# %% [markdown]
# ## 1. Load and account for every row
#
# `read_police_uk` takes a file, a month folder, a whole archive tree or a zip. It detects each file's kind
# from its header (not its name), converts every published vintage to one canonical form, and puts each row
# either in the accepted table of its kind or in quarantine with a reason. The identity
# **rows read = accepted + quarantined** holds for every file.

# %%
# NBVAL_CHECK_OUTPUT

load = read_police_uk(POLICE_UK)
by_file = load.summary.by_file.assign(file=load.summary.by_file["file"].str.rsplit("/", n=1).str[-1])
print(by_file.to_string(index=False))
print()
print(f"TOTAL: read {load.summary.rows_read:,}, accepted {load.summary.accepted:,}, "
      f"quarantined {load.summary.quarantined:,}")
for reason, count in load.summary.by_reason.items():
    print(f"  {reason}: {count}")

# %% [markdown]
# No row of these files was quarantined, although some repeat. police.uk publishes them that way on
# purpose, so the loader keeps them (docs/data_dictionary.md):
#
# * **street rows repeating a Crime ID** (another map point or outcome for the same crime ID): police.uk
#   counts every row of a street file as a crime record, so every row is kept and crime counts match
#   police.uk's own.
# * **identical outcomes rows**: one row per suspect, so two suspects charged for one crime give two
#   identical rows. All are kept, and the `suspects` column counts them per Crime ID, month and outcome.
#
# Rows that *are* unusable (an unparseable month, coordinates outside the UK, a month superseded by a newer
# release of the same file) are quarantined, never silently dropped: each keeps its file, line number, the
# offending column and value, and the raw row, so it can be checked by hand.

# %%
street, outcomes = load.tables["street"], load.tables["outcomes"]
print("street rows sharing a Crime ID with another row:", int(street["crime_id"].dropna().duplicated(keep=False).sum()))
print("outcomes rows of a crime with several suspects:", int((outcomes["suspects"] > 1).sum()))
print("quarantined rows:", len(load.quarantined[QUARANTINE_COLUMNS]))

# %% [markdown]
# ## 2. What was published: crime mix
#
# The street files hold crimes *and* anti-social behaviour (ASB) incidents. ASB has no Crime ID and no
# outcomes, so outcome analyses leave it out. The City of London is unusual: a small resident population,
# a large daytime one, so theft and shoplifting loom larger than in most forces.

# %%
# NBVAL_CHECK_OUTPUT

street = load.tables["street"]
mix = street["crime_type"].value_counts().rename("rows").to_frame()
mix["share"] = (mix["rows"] / mix["rows"].sum()).round(3)
print(f"{len(street):,} accepted street rows, {street['month'].nunique()} months")
print(mix.to_string())

# %% [markdown]
# ## 3. Last outcomes: the public view of what happened
#
# `public_crimes` turns the street rows into one row per crime (ASB excluded), keeping police.uk's
# *Last outcome category* and grouping the 28 published outcome labels into a handful of outcome groups
# (charged, out-of-court disposal, unable to prosecute, no suspect, and so on). `outcome_rates` then gives
# the share of crimes in each group with a 95% Wilson score interval.
#
# **Caveat.** The last outcome is a snapshot taken when the file was published. Crimes from late in the year
# are more likely to show *Under investigation* simply because they are recent; court results recorded
# after publication, and most court results since mid-2019, never reach police.uk at all.

# %%
# NBVAL_CHECK_OUTPUT

public = public_crimes(street, load.tables["outcomes"], area=FORCE)
overall = outcome_rates(public, by=())
print(f"{len(public):,} crimes (anti-social behaviour excluded)")
print(overall[["outcome_group", "count", "n", "rate", "lower", "upper"]].to_string(
    index=False, float_format="{:.3f}".format))

# %% [markdown]
# The mix differs a great deal by crime type: shoplifting (where the suspect is often detained on the spot)
# is charged far more often than theft from the person (where there rarely is a suspect). `outcome_table` is
# the crime type by outcome group count table behind those rates.

# %%
by_type = outcome_table(public, rows="crime_type")
by_type

# %%
shares = by_type.div(by_type.sum(axis=1), axis=0)
ax = shares.plot.barh(stacked=True, figsize=(9, 5), width=0.8, colormap="tab10")
ax.set_xlabel("share of crimes")
ax.set_ylabel("")
ax.set_title(f"{FORCE}, 2024: last outcome group by crime type (police.uk)")
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
ax.figure.set_dpi(80)

# %% [markdown]
# ### The outcomes file
#
# Only the March 2024 outcomes file is bundled. It lists the outcomes *recorded in March*, for crimes of
# March or earlier months, so one crime can appear in several monthly outcomes files as its case moves on.

# %%
# NBVAL_CHECK_OUTPUT

outcomes = load.tables["outcomes"]
crime_months = outcomes.merge(street[["crime_id", "month"]], on="crime_id", how="left", suffixes=("", "_crime"))
print(f"{len(outcomes):,} outcome rows recorded in March 2024")
print(f"  for crimes of an earlier month: {int((crime_months['month_crime'] < crime_months['month']).sum()):,}")
print(f"  for crimes of March itself:     {int((crime_months['month_crime'] == crime_months['month']).sum()):,}")
print(f"  for crimes not in the bundled 2024 street files (recorded before 2024): "
      f"{int(crime_months['month_crime'].isna().sum()):,}")
print()
print(outcomes["outcome_type"].value_counts().head(8).to_string())

# %% [markdown]
# ## 4. Where: map points and LSOAs
#
# police.uk protects victims by **location anonymisation**: each crime is moved to the nearest point on a
# national master list of map points (street centres and public places, each covering at least eight postal
# addresses) and labelled *On or near ...*. So the coordinates are map points, never addresses, and busy
# points (stations, shopping centres) carry many crimes. Each crime also carries the 2021 LSOA its map
# point falls in.
#
# Maps are drawn in British National Grid (EPSG:27700). The force outline comes from the ONS police force
# area boundaries, the LSOAs from the ONS 2021 LSOA boundaries (generalised to 20 m).

# %%
# NBVAL_CHECK_OUTPUT

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

# %%
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

# %% [markdown]
# The circle at each map point has an area proportional to its crimes; the force outline is drawn in dark
# grey. Only map points with at least `MIN_CRIMES` crimes are drawn: the City's files also carry a thin
# scatter of crimes at map points well outside the Square Mile (one or two each, across London), which
# would otherwise shrink the City to a dot, and points just outside the boundary streets the City shares
# with its neighbours, which is why its crimes fall in LSOAs of neighbouring boroughs too. The same rate by
# LSOA (LSOAs with at least `MIN_CRIMES` crimes):

# %%
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

# %% [markdown]
# ## What to take away
#
# * The public files are well-formed but repeat rows by design: about 2% of street rows repeat a Crime ID
#   and outcomes files have one row per suspect; both are kept, so counts match police.uk's own.
# * police.uk's *last outcome* answers "what is the latest thing that happened to this crime?", not "was
#   anyone cautioned, fined or convicted?": it has no link to the person or to records held outside the
#   police (courts, penalty notice processing). Notebooks 02 to 05 build that link.
# * Rates come with Wilson intervals; a small crime type in a small force has wide ones.
# * These files are already public, so no disclosure control is needed to show them. Anything derived from
#   restricted, person-level data is different (notebook 06).
