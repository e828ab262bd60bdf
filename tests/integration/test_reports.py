"""End-to-end reports: public-only (City of London real files; another force's older files), a small
synthetic trailblazer world (DiD coverage, no personal data in the output), and reproducibility."""

from __future__ import annotations

import json
import random
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from linkage.cli import main
from linkage.reporting import gather, load_config, run_report
from linkage.reporting.publish import DISPLAY_LABELS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
SECTION_TITLES = (
    "Data summary",
    "Linkage quality",
    "Outcomes",
    "Time to outcome",
    "Maps",
    "Trailblazer evaluation",
)
WITHHELD = ["[c]"]  # published CSVs mark withheld cells [c]
OGL = "Contains public sector information licensed under the Open Government Licence v3.0."


def _tables_and_manifest(folder: Path) -> tuple[dict[str, bytes], dict]:
    tables = {p.name: p.read_bytes() for p in sorted((folder / "tables").glob("*.csv"))}
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("run")
    return tables, manifest


def test_city_public_only_report_twice_identical(tmp_path):
    cfg = ROOT / "trailblazers" / "city-of-london-public.yaml"
    assert main(["report", str(cfg), "--out", str(tmp_path / "a")]) == 0
    assert main(["report", str(cfg), "--out", str(tmp_path / "b")]) == 0
    a, b = tmp_path / "a" / "city-of-london-public", tmp_path / "b" / "city-of-london-public"
    ta, ma = _tables_and_manifest(a)
    tb, mb = _tables_and_manifest(b)
    assert ta == tb and len(ta) >= 5
    # The commit is the working tree's HEAD at run time; on a shared tree someone may commit between the
    # two runs, so compare it by form and everything else exactly.
    for m in (ma, mb):
        assert re.fullmatch(r"[0-9a-f]{40}|unknown", m.pop("git_commit"))
    assert ma == mb
    strip = re.compile(rb"git commit <code>[0-9a-f]{12}</code>")
    assert strip.sub(b"", (a / "report.html").read_bytes()) == strip.sub(
        b"", (b / "report.html").read_bytes()
    )
    html = (a / "report.html").read_text()
    for title in SECTION_TITLES:
        assert re.search(rf"<h2 id=\"s-\w+\">\d+\. {title}</h2>", html), title
    assert OGL in html
    assert "needs restricted record-level extracts" in html  # linkage quality says what it needs
    # Self-contained: figures are inline; no link leaves the file (base64 pixels may spell "http").
    body = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html.split("<main>")[1].split("<footer>")[0])
    assert '<img src="data:image/png;base64,' in html and "http" not in body
    assert ma["seed"] == 1 and len(ma["config_sha256"]) == 64
    street = [k for k in ma["input_files"] if k.endswith("street.csv")]
    assert len(street) == 12  # every bundled 2024 street file is hashed
    # Row accounting in the data summary equals the loader's (read = accepted + quarantined per file).
    files = pd.read_csv(a / "tables" / "data_files.csv")
    assert (files["rows read"] == files["accepted"] + files["quarantined"]).all()
    assert (a / "city-of-london-public-outcomes.csv").exists()


def _write_cumbria(folder: Path) -> None:
    """Small police.uk files for Cumbria Constabulary in two old vintages (hand-written here).

    2012-11: the 2012 layout (no Crime ID, British National Grid easting/northing), eleven categories.
    2013-03: Crime ID and WGS84, but still pre-2014 outcome labels and the eleven-category crime types.
    """
    rng = random.Random(7)
    types = [
        "Anti-social behaviour",
        "Burglary",
        "Violent crime",
        "Other theft",
        "Public disorder and weapons",
        "Criminal damage and arson",
        "Shoplifting",
        "Vehicle crime",
        "Drugs",
        "Other crime",
    ]
    outcomes = [
        "No further action at this time",
        "Under investigation",
        "Offender given a caution",
        "Offender imprisoned",
        "Suspect charged",
        "Offender given community penalty",
    ]
    (folder / "2012-11").mkdir(parents=True)
    (folder / "2013-03").mkdir(parents=True)
    lines = ["Month,Reported by,Falls within,Easting,Northing,Location,Crime type,Context"]
    for i in range(300):
        e, n = 340000 + rng.randint(-3000, 3000), 556000 + rng.randint(-3000, 3000)
        lines.append(
            f"2012-11,Cumbria Constabulary,Cumbria Constabulary,{e},{n},On or near Street {i % 30},"
            f"{rng.choice(types)},"
        )
    (folder / "2012-11" / "2012-11-cumbria-street.csv").write_text("\n".join(lines) + "\n")
    lines = [
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
        "Last outcome category,Context"
    ]
    for i in range(300):
        t = rng.choice(types)
        cid = "" if t == "Anti-social behaviour" else f"{rng.getrandbits(256):064x}"
        out = "" if t == "Anti-social behaviour" else rng.choice(outcomes)
        lon, lat = -2.93 + rng.uniform(-0.04, 0.04), 54.89 + rng.uniform(-0.03, 0.03)
        lines.append(
            f"{cid},2013-03,Cumbria Constabulary,Cumbria Constabulary,{lon:.6f},{lat:.6f},"
            f"On or near Street {i % 30},E0100{5000 + i % 12},Carlisle 0{i % 12:02d}A,{t},{out},"
        )
    (folder / "2013-03" / "2013-03-cumbria-street.csv").write_text("\n".join(lines) + "\n")


def test_public_only_other_force_older_vintages(tmp_path):
    _write_cumbria(tmp_path / "cumbria")
    cfg = {
        "slug": "cumbria-public",
        "title": "Cumbria: outcomes in published police.uk data",
        "area": {
            "name": "Carlisle",
            "force": "Cumbria Constabulary",
            "force_boundaries": str(DATA / "boundaries" / "police_force_areas_pfa20.geojson"),
        },
        "period": {"start": "2012-11", "end": "2013-03"},
        "sources": {"police_uk": ["cumbria"]},
    }
    path = tmp_path / "cumbria-public.yaml"
    path.write_text(yaml.safe_dump(cfg))
    html_path = run_report(load_config(path), tmp_path / "reports")
    html = html_path.read_text()
    for title in SECTION_TITLES:
        assert title in html
    # Old labels were translated: "Offender imprisoned" counts as a court result (charged or summonsed).
    mix = pd.read_csv(html_path.parent / "tables" / "outcomes_mix.csv", na_values=WITHHELD)
    assert "Charged or summonsed" in set(mix["outcome"])
    assert "Other" not in set(mix["outcome"])
    assert "needs restricted record-level extracts" in html
    assert "comparison areas" in html  # the DiD section says what it lacks
    assert OGL in html


SMALL_WORLD = {
    "start_month": "2024-01",
    "months": 12,
    "go_live_month": "2024-07",
    "noise": "typical",
    "intervention": {"oocd_pp": 10.0, "days_to_outcome": -5.0},
    "areas": [
        {
            "name": "Southwark",
            "force": "Metropolitan Police Service",
            "role": "trailblazer",
            "crimes_per_month": 1000,
            "geography": {"lsoa_prefix": "Southwark"},
        },
        {
            "name": "Lewisham",
            "force": "Metropolitan Police Service",
            "role": "comparison",
            "crimes_per_month": 1000,
            "geography": {"lsoa_prefix": "Lewisham"},
        },
    ],
}


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory):
    """A small synthetic trailblazer world (about 24,000 crimes), linked and reported once for these tests."""
    tmp = tmp_path_factory.mktemp("synthetic")
    cfg = {
        "slug": "small-trailblazer",
        "title": "Small synthetic trailblazer",
        "area": {
            "name": "Southwark",
            "force": "Metropolitan Police Service",
            "boundary_file": str(DATA / "boundaries" / "london-2021-lsoa-gen20.shp"),
        },
        "comparison_areas": ["Lewisham"],
        "sources": {"synthetic_world": SMALL_WORLD},
        "seed": 11,
    }
    path = tmp / "small-trailblazer.yaml"
    path.write_text(yaml.safe_dump(cfg))
    config = load_config(path)
    html = run_report(config, tmp / "reports")
    return config, html.parent


def _hand_att(world, config, crimes: pd.DataFrame) -> dict[str, float]:
    """The effect each DiD estimates, computed here from the world's columns without the library's
    helpers: trailblazer crimes recorded from go-live whose window is complete, located (the DiD works
    on LSOA-month cells), each crime's outcome with minus without the intervention, measured as the
    report measures it (out-of-court disposal within 90 days; days to the police outcome capped at 90;
    a police outcome within 30 days)."""
    ev = config.evaluation
    f, n = ev.followup_days, ev.outcome_within_days
    ct = world.crime_truth.merge(
        crimes[["force", "crime_ref", "lsoa_code"]].astype("string"),
        on=["force", "crime_ref"],
        how="inner",
    )
    rec = pd.to_datetime(ct["recorded_date"])
    d1 = ct["days_to_outcome"].astype(float)
    d0 = ct["days_to_outcome_without_intervention"].astype(float)
    treated = (ct["role"] == "trailblazer") & (rec >= config.go_live) & ct["lsoa_code"].notna()
    named = (
        treated & ct["suspect_identified"].astype(bool) & (rec + pd.Timedelta(days=f) <= config.period_end)
    )
    every = treated & (rec + pd.Timedelta(days=n) <= config.period_end)
    o1 = ct["oocd"].astype(bool) & (d1 <= f)
    o0 = ct["oocd_without_intervention"].astype(bool) & (d0 <= f)
    return {
        "share of crimes with a named suspect": 100 * (o1.astype(float) - o0.astype(float))[named].mean(),
        "days from recording": (d1.clip(upper=f) - d0.clip(upper=f))[named].mean(),
        "share of all crimes with a police outcome": 100
        * ((d1 <= n).astype(float) - (d0 <= n))[every].mean(),
    }


@pytest.mark.parametrize("slug", ["london-south", "london-east"])
def test_did_interval_covers_true_effect(shipped_reports, slug):
    """On each shipped synthetic trailblazer configuration (its own seed and size), every DiD interval
    covers the effect it estimates, and the report's 'true effect' is that effect, recomputed here.

    One configuration is one draw: a 95% interval misses about one time in twenty, so this test alone
    cannot show coverage. benchmarks/bench_did_coverage.py measures it over seeds (docs/reports.md)."""
    from linkage.synth import generate

    config = load_config(ROOT / "trailblazers" / f"{slug}.yaml")
    built = shipped_reports[slug]
    did = pd.read_csv(built.folder / "tables" / "evaluation_did.csv", na_values=WITHHELD)
    assert len(did) == 3
    world = generate(config.synthetic_world, seed=config.seed)  # a WorldSpec, parsed once by load_config
    hand = _hand_att(world, config, built.restricted["crimes"])
    for prefix, truth in hand.items():
        row = did[did["outcome"].str.startswith(prefix)]
        assert len(row) == 1, prefix
        row = row.iloc[0]
        assert float(row["true effect"]) == pytest.approx(truth, abs=1e-4), prefix
        assert row["95% CI lower"] <= truth <= row["95% CI upper"], (prefix, row.to_dict())
        assert row["interval covers truth"] in (True, "True")
    # The realised effects are the configured ones, roughly (the DiD's window and capping change them).
    oocd = hand["share of crimes with a named suspect"]
    assert 0.5 * world.spec.intervention.oocd_pp < oocd < 1.5 * world.spec.intervention.oocd_pp


def test_public_only_did_with_public_comparison_areas(tmp_path):
    """A public-only configuration that names comparison areas (with their own police.uk files) and a
    go-live month gets a DiD of the out-of-court disposal share of all crimes, from police.uk outcomes.

    The police.uk files here are a synthetic world's published view (SMALL_WORLD: Southwark trailblazer,
    Lewisham comparison), so the effect is known: the hand computation below measures each treated
    crime's outcome with and without the intervention the way the public files show it (an out-of-court
    disposal whose outcome month starts at most 90 days after the crime month starts, known by the end).
    """
    from linkage.synth import WorldSpec, generate
    from linkage.synth.world import write_police_uk

    world = generate(WorldSpec.from_dict(SMALL_WORLD), seed=11)
    write_police_uk(tmp_path / "police-uk", world.street, world.outcomes)
    cfg = {
        "slug": "southwark-public",
        "title": "Southwark: public police.uk evaluation",
        "area": {
            "name": "Southwark",
            "force": "Metropolitan Police Service",
            "lsoa_name_prefix": "Southwark",
            "boundary_file": str(DATA / "boundaries" / "london-2021-lsoa-gen20.shp"),
        },
        "period": {"start": "2024-01", "end": "2024-12", "go_live": "2024-07"},
        "comparison_areas": [
            {"name": "Lewisham", "police_uk": ["police-uk"], "lsoa_name_prefix": "Lewisham"}
        ],
        "sources": {"police_uk": ["police-uk"]},
    }
    path = tmp_path / "southwark-public.yaml"
    path.write_text(yaml.safe_dump(cfg))
    config = load_config(path)
    html = run_report(config, tmp_path / "reports").read_text()
    did = pd.read_csv(
        tmp_path / "reports" / "southwark-public" / "tables" / "evaluation_did.csv", na_values=WITHHELD
    )
    assert did["outcome"].tolist() == [
        "share of crimes ending in an out-of-court disposal within 90 days",
        "share of all crimes with a final outcome within 30 days",
    ]
    assert "public police.uk data only" in html
    # Hand ATT. The street rows with a Crime ID are the world's crimes in order (area by area).
    crimes = world.street[world.street["crime_id"].notna()].reset_index(drop=True)
    ct = world.crime_truth
    assert (crimes["crime_type"].to_numpy() == ct["crime_type"].to_numpy()).all()
    rec = pd.to_datetime(ct["recorded_date"])
    month = rec.dt.to_period("M").dt.to_timestamp()
    end = config.period_end

    def oocd_in_window(oocd, days):
        when = rec + pd.to_timedelta(days, unit="D")
        gap = (when.dt.to_period("M").dt.to_timestamp() - month).dt.days
        return (oocd.astype(bool) & (gap <= 90) & (when <= end)).astype(float)

    y1 = oocd_in_window(ct["oocd"], ct["days_to_outcome"])
    y0 = oocd_in_window(ct["oocd_without_intervention"], ct["days_to_outcome_without_intervention"])
    treated = (
        (ct["area"] == "Southwark")
        & (month >= config.go_live)
        & (month + pd.Timedelta(days=90) <= end)
        & crimes["lsoa_code"].notna().to_numpy()
    )
    truth = 100 * (y1 - y0)[treated].mean()
    row = did.iloc[0]
    assert 1.0 < truth < world.spec.intervention.oocd_pp  # diluted by crimes with no suspect
    assert row["95% CI lower"] <= truth <= row["95% CI upper"], (truth, row.to_dict())


def published_text(path: Path) -> str:
    """A published file as text: an ODS workbook's sheets (content.xml), anything else as UTF-8."""
    if path.suffix == ".ods":
        with zipfile.ZipFile(path) as z:
            return z.read("content.xml").decode("utf-8")
    return path.read_text(encoding="utf-8")


def published_cells(path: Path) -> set[str]:
    """Every cell of a CSV file or of every sheet of an ODS workbook, stripped."""
    if path.suffix == ".ods":
        sheets = pd.read_excel(path, engine="odf", sheet_name=None, header=None, dtype=str)
        return {str(v).strip() for f in sheets.values() for v in f.stack()}
    return set(pd.read_csv(path, dtype=str).stack().str.strip())


def test_no_personal_data_in_report(synthetic_report):
    config, folder = synthetic_report
    from linkage.synth import generate

    world = generate(config.synthetic_world, seed=config.seed)  # a WorldSpec, parsed once by load_config
    people = world.people
    names = set((people["forename"] + " " + people["surname"]).dropna())
    for table in (world.suspects, world.cautions, world.penalty_notices, world.court_outcomes):
        names |= set(table["forename"].astype(str) + " " + table["surname"].astype(str))
    dobs = set()
    for table in (people, world.suspects, world.cautions, world.penalty_notices, world.court_outcomes):
        dob = pd.to_datetime(table["date_of_birth"]).dropna()
        dobs |= set(dob.dt.strftime("%Y-%m-%d")) | set(dob.dt.strftime("%d/%m/%Y"))
    pncs = set()
    for table in (people, world.suspects, world.cautions, world.penalty_notices, world.court_outcomes):
        pncs |= set(table["pnc_id"].dropna().astype(str))
    # Latitudes (51.xxxxxx here) cannot be mistaken for a rate or a difference; a longitude near 0 can
    # (0.014596 is also a plausible rate), so longitudes are checked only as "longitude,latitude" pairs.
    coords = set()
    for table in (world.crimes, world.penalty_notices):
        located = table.dropna(subset=["longitude", "latitude"])
        coords |= {f"{v:.6f}" for v in located["latitude"]}
        coords |= {f"{x:.6f},{y:.6f}" for x, y in zip(located["longitude"], located["latitude"], strict=True)}
    surnames = set(people["surname"].dropna())
    assert len(names) > 100 and len(dobs) > 100 and len(pncs) > 100 and len(coords) > 100
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files) and any(p.name == "report.html" for p in files)
    # Pull every candidate token of each kind out of the text, then intersect with the world's values.
    patterns = {
        "name": (re.compile(r"(?=([A-Z][A-Za-z'-]+ [A-Z][A-Za-z'-]+))"), names),
        "date of birth": (re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}"), dobs),
        "PNC ID": (re.compile(r"\d{2,4}/\d{7}[A-Z]"), pncs),
        "coordinate pair": (re.compile(r"(?=(-?\d+\.\d{6},-?\d+\.\d{6}))"), coords),
        "latitude": (re.compile(r"\d+\.\d{6}"), coords),
    }
    for path in files:
        text = published_text(path)
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)  # figures are pixels, not text
        for what, (pattern, values) in patterns.items():
            hits = set(pattern.findall(text)) & values
            assert not hits, f"{path.name} contains {what}(s): {sorted(hits)[:3]}"
        if path.suffix in (".csv", ".ods"):
            cells = published_cells(path)
            assert not (cells & surnames), f"{path.name} has surname cells {sorted(cells & surnames)[:3]}"


def test_pattern_scan_would_catch_a_leak(tmp_path):
    """The scan above is not vacuous: a planted name, PNC ID and coordinate are found by the same patterns."""
    text = "note: Jane Doe, 2012/0012345Z, -0.123456, 1990-01-31"
    assert "Jane Doe" in set(re.findall(r"(?=([A-Z][A-Za-z'-]+ [A-Z][A-Za-z'-]+))", text))
    assert re.findall(r"\d{2,4}/\d{7}[A-Z]", text) == ["2012/0012345Z"]
    assert re.findall(r"\d+\.\d{6}", "at 51.501234 on the map") == ["51.501234"]
    assert "-0.123456,51.501234" in re.findall(r"(?=(-?\d+\.\d{6},-?\d+\.\d{6}))", "-0.123456,51.501234")
    assert re.findall(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}", text) == ["1990-01-31"]


def test_synthetic_report_sections_and_disclosure(synthetic_report):
    _, folder = synthetic_report
    html = (folder / "report.html").read_text()
    assert "Illustrative report" in html and "synthetic" in html.lower()
    counts = pd.read_csv(folder / "tables" / "outcomes_by_crime_type_counts.csv", na_values=WITHHELD)
    values = counts.drop(columns=counts.columns[0]).to_numpy().ravel()
    published = values[~pd.isna(values)]
    assert (published % 5 == 0).all()  # rounded to base 5
    assert not ((published > 0) & (published < 10)).any()  # nothing under the threshold survives
    log = pd.read_csv(folder / "disclosure_log.csv")
    assert {"table", "row", "column", "action", "reason"} <= set(log.columns)
    assert "Linkage quality" in html and "needs restricted" not in html


def test_synthetic_report_shows_linkage_adjusted_shares(synthetic_report):
    """Issue 16c: linked-only shares as linked and linkage-adjusted, the adjusted interval no narrower
    (the review's uncertainty is added), the share of it that is linkage, and which one the report
    leads with."""
    _, folder = synthetic_report
    html = (folder / "report.html").read_text()
    assert "The report leads with the linkage-adjusted share" in html
    table = pd.read_csv(folder / "tables" / "evaluation_linkage_adjusted.csv")
    assert len(table) >= 1 and "crimes" not in table.columns  # rates only, no counts
    width = table["adjusted, 95% CI upper"] - table["adjusted, 95% CI lower"]
    as_linked = table["as linked, 95% CI upper"] - table["as linked, 95% CI lower"]
    assert (width >= as_linked - 1e-3).all()  # published to 0.1 pp
    share = table["share of adjusted variance from linkage"]
    assert ((share >= 0) & (share <= 1)).all()
    assert {"true share", "adjusted covers truth"} <= set(table.columns)  # a synthetic world knows the truth


def test_synthetic_report_shows_bootstrap_and_synthetic_did_rows(synthetic_report):
    """Issue 16d: the placebo table also holds the wild cluster bootstrap and the synthetic DiD, as
    numbers; what cannot be estimated here (one comparison area: no donor placebos) is blank and said in
    words, and the prose says which method leads and why."""
    _, folder = synthetic_report
    html = (folder / "report.html").read_text()
    blanks = ["not bounded", "not available", "no placebos", "not applicable"]  # words for blanks, not [c]
    table = pd.read_csv(
        folder / "tables" / "evaluation_placebo_oocd.csv", na_values=blanks, keep_default_na=False
    )
    methods = list(table["method"])
    assert methods[0] == "placebo in space" and "placebo in time" in methods
    wb = table[table["method"].str.startswith("wild cluster bootstrap")]
    sd = table[table["method"].str.startswith("synthetic DiD")]
    assert len(wb) == 1 and len(sd) == 1
    assert table["estimate"].dtype.kind == "f" and table["p"].dtype.kind == "f"  # numbers as numbers
    did = pd.read_csv(folder / "tables" / "evaluation_did.csv", na_values=WITHHELD).iloc[0]
    # Two areas: the area-level WLS DiD of the bootstrap equals the placebo contrast of area changes only
    # up to the crime weighting, so it is checked against the DiD's interval instead of an exact value.
    assert did["95% CI lower"] - 5 <= wb["estimate"].iloc[0] <= did["95% CI upper"] + 5
    assert 0 < wb["p"].iloc[0] <= 1
    assert sd[["95% CI lower", "95% CI upper", "p"]].isna().all(axis=None)  # no donor placebos
    assert "synthetic DiD: no placebo interval or p-value (1 donor area(s) for 1 trailblazer(s)" in html
    assert "the report leads with the cluster-robust DiD" in html
    assert "with 2 areas here no test has a known size" in html  # the 200-world figures are for 12
    assert "crimes" not in table.columns  # estimates and p-values only, no counts


def test_synthetic_report_shows_imputed_linked_outcomes(synthetic_report):
    """Issue 16d: linked-only share and mean days to the linked outcome, as linked and by multiple
    imputation of link sets (Rubin's rules), with the part of each interval that is linkage; rates and
    means only, no counts."""
    _, folder = synthetic_report
    html = (folder / "report.html").read_text()
    assert "Multiple imputation of link sets. The table below draws 10 link sets" in html
    table = pd.read_csv(folder / "tables" / "evaluation_linkage_imputed.csv", na_values=["not estimable"])
    assert len(table) >= 1 and not any("crimes" in c or c == "linked" for c in table.columns)
    for what in ("share", "days"):
        share = table[f"{what}: variance from linkage"]
        assert ((share >= 0) & (share <= 1)).all()
    assert (table["imputed share, 95% CI lower"] <= table["imputed share"]).all()
    assert (table["imputed share"] <= table["imputed share, 95% CI upper"]).all()
    days = table.dropna(subset=["mean days imputed"])
    assert len(days) >= 1
    assert (days["imputed, 95% CI lower (days)"] <= days["mean days imputed"]).all()
    assert (days["mean days imputed"] <= days["imputed, 95% CI upper (days)"]).all()
    # Issue 16g: a synthetic world shows each true value (on the world's true links) and what covers it.
    truth_cols = {
        "true share",
        "true mean days",
        "as linked share covers truth",
        "imputed share covers truth",
    }
    assert truth_cols | {"as linked mean days covers truth", "imputed mean days covers truth"} <= set(
        table.columns
    )
    assert ((table["true share"] >= 0) & (table["true share"] <= 1)).all()
    assert "True values (imputed shares and mean days): this is a synthetic world" in html
    # The adjusted table's as-linked share is the same rounded rate as this one's.
    adjusted = pd.read_csv(folder / "tables" / "evaluation_linkage_adjusted.csv").set_index("linked record")
    mine = table.set_index("linked record")
    common = mine.index.intersection(adjusted.index)
    assert len(common) >= 1
    assert np.allclose(mine.loc[common, "as linked share"], adjusted.loc[common, "as linked"])


def test_synthetic_report_shows_linkage_did(synthetic_report):
    """Issue 16g: the DiD of a linked record within the follow-up window, as linked and multiply imputed,
    with the part of the imputed variance that is linkage, the true-links DiD and which interval covers
    it; estimates only, no counts; the prose says which it leads with."""
    _, folder = synthetic_report
    html = (folder / "report.html").read_text()
    assert "The report leads with the imputed DiD" in html
    table = pd.read_csv(folder / "tables" / "evaluation_linkage_did.csv")
    assert len(table) >= 1 and not any("crimes" in c for c in table.columns)
    assert (
        (table["share of imputed variance from linkage"] >= 0)
        & (table["share of imputed variance from linkage"] <= 1)
    ).all()
    assert (table["imputed, 95% CI lower"] <= table["imputed (pp)"]).all()
    assert (table["imputed (pp)"] <= table["imputed, 95% CI upper"]).all()
    assert {"true (pp, on the true links)", "as linked covers truth", "imputed covers truth"} <= set(
        table.columns
    )


def test_rebuilding_gives_identical_tables(synthetic_report, tmp_path):
    """Generate, link and build again from the same configuration: every table is byte-identical."""
    from linkage.reporting import build_report, write_report

    config, folder = synthetic_report
    data = gather(config)
    write_report(build_report(data), data, tmp_path / "again", started=0.0)
    first, _ = _tables_and_manifest(folder)
    again, _ = _tables_and_manifest(tmp_path / "again")
    assert first == again
    assert (folder / "small-trailblazer-outcomes.csv").read_bytes() == (
        tmp_path / "again" / "small-trailblazer-outcomes.csv"
    ).read_bytes()


def test_restricted_extracts_path(tmp_path):
    """Restricted extracts given as files (here a small synthetic world written to CSV) go through the
    extract loaders, the linkage and every section; the trailblazer area is defined by LSOA codes."""
    from linkage.synth import WorldSpec, generate

    spec = {
        "start_month": "2024-01",
        "months": 8,
        "go_live_month": "2024-05",
        "areas": [
            {
                "name": "Southwark",
                "force": "Metropolitan Police Service",
                "role": "trailblazer",
                "crimes_per_month": 500,
                "geography": {"lsoa_prefix": "Southwark"},
            },
            {
                "name": "Lewisham",
                "force": "Metropolitan Police Service",
                "role": "comparison",
                "crimes_per_month": 500,
                "geography": {"lsoa_prefix": "Lewisham"},
            },
        ],
    }
    world = generate(WorldSpec.from_dict(spec), seed=3)
    world.write(tmp_path / "world", "csv")
    trail = world.crime_truth["role"].eq("trailblazer").to_numpy()
    codes = sorted(world.crimes.loc[trail, "lsoa_code"].dropna().unique())
    kinds = ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes"]
    cfg = {
        "slug": "extracts",
        "title": "Restricted extracts",
        "area": {"name": "Southwark", "force": "Metropolitan Police Service", "lsoa_codes": codes},
        "period": {"start": "2024-01", "end": "2024-08", "go_live": "2024-05"},
        "sources": {
            "extracts": {k: f"world/restricted/{k}.csv" for k in kinds} | {"truth": "world/truth/truth.csv"}
        },
    }
    (tmp_path / "extracts.yaml").write_text(yaml.safe_dump(cfg))
    # A reviewer's labelled sample of this linkage's candidate pairs (labelled here from the truth file),
    # named in the configuration as sources.clerical_review.
    from linkage.quality import draw_review_sample, mark_correct, write_review_sample

    data = gather(load_config(tmp_path / "extracts.yaml"))
    sample = draw_review_sample(data.link_result.candidates, n=120, seed=5)
    correct = mark_correct(sample, data.tables["truth"])["correct"].to_numpy(bool)
    sample["reviewer_label"] = ["Y" if c else "N" for c in correct]
    write_review_sample(sample, tmp_path / "secure" / "review.csv")
    cfg["sources"]["clerical_review"] = "secure/review.csv"
    (tmp_path / "extracts.yaml").write_text(yaml.safe_dump(cfg))
    html = run_report(load_config(tmp_path / "extracts.yaml"), tmp_path / "reports")
    folder = html.parent
    clerical = pd.read_csv(folder / "tables" / "linkage_clerical_estimate.csv", na_values=WITHHELD).set_index(
        "measure"
    )
    # The published truth column may be withheld (fewer than `threshold` false links overall), so compare
    # with the unprotected truth precision of the same linkage (gathered above, before the review was named).
    truth_precision = float(data.quality.loc["all", "precision"])
    assert clerical.loc["precision", "95% lower"] <= truth_precision + 0.02
    assert "named in the configuration" in html.read_text()
    files = pd.read_csv(folder / "tables" / "data_files.csv")
    shown = {DISPLAY_LABELS.get(k, k) for k in (*kinds, "truth")}  # the report's display labels
    assert set(files["kind"]) == shown
    assert truth_precision > 0.9  # linked against the truth extract
    quality = pd.read_csv(folder / "tables" / "linkage_precision_recall.csv", na_values=WITHHELD).set_index(
        "source"
    )
    sources = ("cautions", "court_outcomes", "penalty_notices", "all")
    assert set(quality.index) >= {DISPLAY_LABELS[s] for s in sources}
    text = html.read_text()
    assert "carries no police outcome" in text
    assert (folder / "tables" / "evaluation_did.csv").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sum(k.endswith(".csv") for k in manifest["input_files"]) == 7  # six extracts and the review


# (table, numerator, denominator, rate) for every published rate whose counts are published beside it.
RATE_COLUMNS = [
    ("linkage_link_rates", "records linked", "outcome records", "link rate"),
    ("linkage_precision_recall", "correct links", "links", "precision"),
    ("linkage_precision_recall", "correct links", "true matches", "recall"),
    ("linkage_by_subgroup", "linked", "records", "link rate"),
    ("outcomes_mix", "crimes", "all crimes", "rate"),
    ("outcomes_public_vs_linked", "count linked", "n linked", "rate linked"),
    (
        "outcomes_public_vs_linked",
        "count police.uk (public)",
        "n police.uk (public)",
        "rate police.uk (public)",
    ),
    ("maps_lsoa_action_rate", "crimes with action", "crimes", "action rate"),
]


def test_published_rates_cannot_undo_rounding_or_suppression(synthetic_report):
    """Every published rate is rounded numerator / rounded denominator (to 0.1%), or withheld: a rate
    printed from exact counts (0.988062 = 1407/1424) would give back counts that were rounded, and a
    small numerator or complement that was suppressed."""
    config, folder = synthetic_report
    base = config.disclosure.rounding_base
    checked = 0
    for table, num, den, rate in RATE_COLUMNS:
        frame = pd.read_csv(folder / "tables" / f"{table}.csv", na_values=WITHHELD)
        shown = frame[frame[rate].notna()]
        assert shown[[num, den]].notna().all().all(), f"{table}: a published {rate} without its counts"
        assert (shown[num] % base == 0).all() and (shown[den] % base == 0).all(), table
        exact = shown[num] / shown[den]  # to 0.1 pp, or to 6 decimals where the counts are beside it
        off = [(shown[rate] - exact.round(d)).abs() < 1e-9 for d in (3, 6)]
        on_grid = off[0] | off[1]
        assert on_grid.all(), (table, rate, shown[[num, den, rate]])
        assert not ((shown[rate] == 0) & (shown[num] > 0)).any(), (table, rate, "a rate rounded to 0")
        checked += len(shown)
    # The rates-by-crime-type table (downloaded long, numbers as numbers): each shown rate is the rounded
    # count of the count table over the rounded crimes, to 0.1%.
    counts = pd.read_csv(
        folder / "tables" / "outcomes_by_crime_type_counts.csv", index_col=0, na_values=WITHHELD
    )
    long = pd.read_csv(folder / "tables" / "outcomes_rates_by_crime_type.csv", na_values=WITHHELD)
    for rec in long[long["rate"].notna()].itertuples(index=False):
        crime_type, group, crimes, rate = rec[0], rec[1], rec[2], rec[4]
        cnt = counts.loc[crime_type, group]
        assert pd.notna(cnt) and cnt % base == 0, (crime_type, group)
        assert abs(rate - round(cnt / crimes, 3)) < 1e-9, (crime_type, group, rate)
        checked += 1
    assert checked > 50
    # Rates without counts beside them (intervals, subgroup precision and recall, time-to-outcome shares,
    # the clerical estimate) are published to 0.1 percentage point at most.
    for path in sorted((folder / "tables").glob("*.csv")):
        frame = pd.read_csv(path, na_values=WITHHELD)
        for col in frame.columns:
            is_rate = any(k in col for k in ("rate", "precision", "recall", "lower", "upper", "by day"))
            if not is_rate or frame[col].dtype.kind != "f":
                continue
            if path.stem.startswith(("evaluation_", "time_to_outcome_medians")):
                continue  # model estimates and medians in days, not shares of counts
            if path.stem == "outcomes_public_vs_linked":
                continue  # intervals from the rounded counts published beside them (6 decimals)
            values = frame[col].dropna().to_numpy()
            off_grid = np.abs(np.round(values * 1000) - values * 1000)
            assert (off_grid < 1e-6).all(), (path.name, col)
    pr = pd.read_csv(folder / "tables" / "linkage_precision_recall.csv", na_values=WITHHELD).set_index(
        "source"
    )
    links = pd.read_csv(folder / "tables" / "linkage_link_rates.csv", na_values=WITHHELD).set_index("source")
    sub = pd.read_csv(folder / "tables" / "linkage_by_subgroup.csv", na_values=WITHHELD)
    sub = sub[sub["breakdown"] == DISPLAY_LABELS["source"]].set_index("group")
    for source in links.index.intersection(pr.index):  # the shared cell is withheld in both or neither
        assert pd.isna(links.loc[source, "link rate"]) == pd.isna(pr.loc[source, "links"]), source
        if source in sub.index:
            assert pd.isna(links.loc[source, "link rate"]) == pd.isna(sub.loc[source, "link rate"]), source
