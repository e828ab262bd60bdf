"""Coverage of the reports' difference-in-differences on the shipped synthetic trailblazer areas.

For each shipped trailblazer configuration with a synthetic world and a go-live month, and each seed, the
script regenerates the world (area sizes scaled by ``--scale``), links it exactly as ``linkage report``
does (:func:`linkage.reporting.builder.gather`), and runs the report's own evaluation section
(:func:`linkage.reporting.sections.evaluation_section`) - the same flags, populations, model, clustering
and true effects the report prints. With ``--truth-links`` it also runs the section on the linked view
rebuilt from the world's *true* links, to separate linkage error from estimator bias.

Per configuration and outcome it prints the mean estimate, the mean true effect, the mean bias
(estimate - truth) with its Monte Carlo standard error, the empirical coverage of the 95% interval, and
writes every per-seed row to ``benchmarks/out/did_coverage.csv``.

``--staggered`` (issue 16) runs panel worlds with staggered go-lives (one trailblazer from month 4, two
from month 8, the rest never) whose effect grows with time since go-live, with area-month shocks: the
report's staggered estimator (:mod:`linkage.evaluation.staggered`; placebo-in-space and LSOA-bootstrap
intervals) against pooled two-way fixed effects; rows go to ``benchmarks/out/did_coverage_staggered.csv``.
No linkage: it checks the estimator, not the world.

``--harder`` runs the harder worlds of issue 16 instead: ``--areas`` London boroughs (two trailblazers),
each with its own random walk of area-month shocks in the out-of-court disposal rate, linkage at the hard
noise profile, half the worlds with the effect and half with none (for the size of the tests). Each world
is linked once (the report's own ``gather``) and every method is run on the same linked crimes: the
report's LSOA-clustered DiD, the area-month-clustered DiD, and the placebo-in-space randomisation test
(:mod:`linkage.evaluation.placebo`). It prints coverage of the true ATT and the rejection rate of the null
per setting and method; per-world rows go to ``benchmarks/out/did_coverage_harder.csv``.

Examples::

    .venv/bin/python benchmarks/bench_did_coverage.py --seeds 20 --scale 0.3
    nice -n 10 .venv/bin/python benchmarks/bench_did_coverage.py --harder --seeds 100
    .venv/bin/python benchmarks/bench_did_coverage.py --configs london-south --seeds 30 --truth-links
    .venv/bin/python benchmarks/bench_did_coverage.py --staggered --seeds 40
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from statsmodels.stats.proportion import proportion_confint

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkage.reporting import builder as B  # noqa: E402, N812
from linkage.reporting.config import config_from_dict  # noqa: E402

OUT = ROOT / "benchmarks" / "out"


def _config(slug: str, seed: int, scale: float, per_month: int | None = None):
    path = ROOT / "trailblazers" / f"{slug}.yaml"
    raw = yaml.safe_load(path.read_text())
    raw = copy.deepcopy(raw)
    for area in raw["sources"]["synthetic_world"]["areas"]:
        size = per_month if per_month is not None else area["crimes_per_month"] * scale
        area["crimes_per_month"] = max(1, int(round(size)))
    raw["seed"] = int(seed)
    return config_from_dict(raw, base=path.parent, source=str(path))


def _truth_linked(data) -> pd.DataFrame:
    """The linked view rebuilt from the world's true links (no linkage error), as the report builds it."""
    from linkage.evaluation.frames import linked_crimes
    from linkage.justice import build_right, crime_outcome_table

    tables, truth = data.tables, data.tables["truth"]
    rows = []
    for source in ("cautions", "penalty_notices", "court_outcomes"):
        if source not in tables or tables[source].empty:
            continue
        right = build_right(source, tables[source])
        t = truth[truth["source"] == source][["record_id", "force", "crime_ref", "suspect_ref"]]
        merged = t.merge(right[["record_id", "outcome_date", "outcome_label"]], on="record_id", how="inner")
        rows.append(merged.assign(source=source))
    links = pd.concat(rows, ignore_index=True)
    co = crime_outcome_table(tables["crimes"], tables["suspects"], links)
    ct = data.world.crime_truth
    roles = ct[["force", "crime_ref", "area", "role"]].copy()
    roles["treated"] = (roles["role"] == "trailblazer").astype("int64")
    cfg = data.config
    linked = linked_crimes(
        co,
        areas=roles[["force", "crime_ref", "area", "treated"]],
        police_outcomes=B._police_record(ct, cfg),
        default_area=cfg.area.name,
    )
    keep = roles.loc[roles["role"].isin(["trailblazer", "comparison"]), ["force", "crime_ref"]]
    linked = linked.merge(keep.astype("string"), on=["force", "crime_ref"], how="inner")
    return linked[(linked["month"] >= cfg.start) & (linked["month"] <= cfg.end)].reset_index(drop=True)


def _rows(data, crimes, view: str, slug: str, seed: int) -> list[dict]:
    sec = B.report_evaluation(data, crimes, B.true_effects(data.world, data.config, crimes))
    table = next(t.frame for t in sec.tables if t.name == "evaluation_did")
    key_col = "key" if "key" in table.columns else "outcome"
    out = []
    for _, r in table.iterrows():
        truth = r.get("true effect", np.nan)
        out.append(
            {
                "config": slug,
                "seed": seed,
                "links": view,
                "outcome": r[key_col],
                "unit": r["unit"],
                "estimate": float(r["estimate"]),
                "ci_lower": float(r["95% CI lower"]),
                "ci_upper": float(r["95% CI upper"]),
                "true": float(truth) if pd.notna(truth) else np.nan,
                "crimes": int(r["crimes"]),
            }
        )
    return out


def _summary(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.dropna(subset=["true"]).copy()
    rows["bias"] = rows["estimate"] - rows["true"]
    rows["covered"] = (rows["ci_lower"] <= rows["true"]) & (rows["true"] <= rows["ci_upper"])
    rows["halfwidth"] = (rows["ci_upper"] - rows["ci_lower"]) / 2
    g = rows.groupby(["config", "links", "outcome"], sort=False)
    s = g.agg(
        seeds=("seed", "size"),
        mean_estimate=("estimate", "mean"),
        mean_true=("true", "mean"),
        mean_bias=("bias", "mean"),
        sd_bias=("bias", "std"),
        mean_halfwidth=("halfwidth", "mean"),
        covered=("covered", "sum"),
    ).reset_index()
    s["bias_mcse"] = s["sd_bias"] / np.sqrt(s["seeds"])
    s["coverage"] = s["covered"] / s["seeds"]
    lo, hi = proportion_confint(s["covered"], s["seeds"], alpha=0.05, method="wilson")
    s["coverage_ci"] = [f"[{a:.2f}, {b:.2f}]" for a, b in zip(lo, hi, strict=True)]
    return s


HARDER_BOROUGHS = (
    "Southwark",
    "Lambeth",
    "Lewisham",
    "Wandsworth",
    "Croydon",
    "Barnet",
    "Bromley",
    "Ealing",
    "Newham",
    "Enfield",
    "Brent",
    "Greenwich",
    "Hackney",
    "Haringey",
    "Redbridge",
    "Hounslow",
)


HARDER_TRAILBLAZERS = 2  # the first two boroughs of HARDER_BOROUGHS go live; the rest are comparisons


def harder_config(
    seed: int,
    *,
    oocd_pp: float,
    shock_sd_pp: float = 1.5,
    trend_pp: float = 0.0,
    noise: str = "hard",
    n_areas: int = 12,
    per_month: int = 80,
):
    """A harder synthetic trailblazer: ``n_areas`` boroughs (the first two trailblazers), area-month
    shocks, hard-noise linkage, ``oocd_pp`` effect; the configuration the report would read."""
    base_path = ROOT / "trailblazers" / "london-south.yaml"
    raw = copy.deepcopy(yaml.safe_load(base_path.read_text()))
    names = HARDER_BOROUGHS[:n_areas]
    if len(names) < n_areas:
        raise ValueError(f"--areas at most {len(HARDER_BOROUGHS)}")
    world = raw["sources"]["synthetic_world"]
    world["noise"] = noise
    world["intervention"] = {"oocd_pp": float(oocd_pp), "days_to_outcome": 0.0}
    world["shocks"] = {"area_month_sd_pp": float(shock_sd_pp), "trailblazer_trend_pp": float(trend_pp)}
    world["areas"] = [
        {
            "name": name,
            "force": "Metropolitan Police Service",
            "role": "trailblazer" if i < HARDER_TRAILBLAZERS else "comparison",
            "crimes_per_month": per_month,
            "geography": {"lsoa_prefix": name},
        }
        for i, name in enumerate(names)
    ]
    raw["comparison_areas"] = list(names[HARDER_TRAILBLAZERS:])
    raw["seed"] = int(seed)
    return config_from_dict(raw, base=base_path.parent, source=f"harder world seed {seed}")


def harder_rows(data, setting: str, seed: int, keep: Path | None = None) -> list[dict]:
    """Every method on one linked world's out-of-court disposal outcome: one row per method."""
    from linkage.evaluation.frames import add_flags, did_outcomes, did_sample

    cfg, ev = data.config, data.config.evaluation
    flagged = add_flags(
        data.linked,
        period_end=cfg.period_end,
        within_days=ev.outcome_within_days,
        followup_days=ev.followup_days,
    )
    spec = next(o for o in did_outcomes(flagged, within_days=ev.outcome_within_days) if o.key == "oocd")
    sub = did_sample(flagged, spec)
    truth = B.true_effects(data.world, cfg, data.linked)["oocd"]
    if keep is not None:  # the linked sample, to try later methods without linking again
        keep.mkdir(parents=True, exist_ok=True)
        cols = ["area", "treated", "month", "lsoa_code", "oocd"]
        dest = keep / f"{setting.replace(' ', '_')}_{seed}.parquet"
        sub[cols].assign(true_pp=truth).to_parquet(dest.with_suffix(".tmp"))
        dest.with_suffix(".tmp").replace(dest)  # atomic: a stopped run leaves no half-written sample
    return method_rows(sub, truth, cfg.go_live, ev.alpha, setting, seed)


def method_rows(
    sub: pd.DataFrame, truth: float, go_live, alpha: float, setting: str, seed: int, *, extra: bool = True
) -> list[dict]:
    """Every method on one world's linked DiD sample (``sub``: area, treated, month, lsoa_code, oocd)."""
    from linkage.evaluation import did
    from linkage.evaluation.bootstrap import wild_cluster_bootstrap
    from linkage.evaluation.did import event_study
    from linkage.evaluation.placebo import space_placebo, time_placebo
    from linkage.evaluation.synthetic_did import synthetic_did

    out = []
    for cluster in ("lsoa", "area-month"):
        r = did(sub, outcome="oocd", go_live=go_live, cluster=cluster, alpha=alpha)
        out.append((f"DiD, {cluster} clusters", r.estimate, r.ci_lower, r.ci_upper, r.p_value))
    sp = space_placebo(sub, outcome="oocd", go_live=go_live, alpha=alpha, seed=seed)
    out.append(("placebo in space (randomisation)", sp.estimate, sp.ci_lower, sp.ci_upper, sp.p_value))
    if extra:  # issue 16c: the wild cluster bootstrap and synthetic DiD (about 0.1-0.3 s CPU each)
        wb = wild_cluster_bootstrap(sub, outcome="oocd", go_live=go_live, alpha=alpha, seed=seed)
        out.append(("wild cluster bootstrap (area, Webb)", wb.estimate, wb.ci_lower, wb.ci_upper, wb.p_value))
        sd = synthetic_did(sub, outcome="oocd", go_live=go_live, alpha=alpha, seed=seed)
        out.append(("synthetic DiD (placebo variance)", sd.estimate, sd.ci_lower, sd.ci_upper, sd.p_value))
    tp = time_placebo(sub, outcome="oocd", go_live=go_live)
    pretrend = event_study(sub, outcome="oocd", go_live=go_live, cluster="lsoa", alpha=alpha).pretrend_p
    return [
        {
            "setting": setting,
            "seed": seed,
            "method": m,
            "estimate": 100 * est,
            "ci_lower": 100 * lo,
            "ci_upper": 100 * hi,
            "p": p,
            "true": truth,
            "time_placebo_p": tp.p_value,
            "pretrend_p": pretrend,
            "crimes": len(sub),
            "areas": int(sub["area"].nunique()),
        }
        for m, est, lo, hi, p in out
    ]


def run_from_kept(
    folder: Path, out: Path, alpha: float = 0.05, shock_sd: float | None = None
) -> pd.DataFrame:
    """Every method on the linked samples kept by ``--keep`` (no linking): the same rows as a full run."""
    go_live = harder_config(1, oocd_pp=0.0).go_live
    rows: list[dict] = []
    t0, c0 = time.time(), time.process_time()
    files = sorted(folder.glob("*.parquet"))
    for f in files:
        setting_slug, seed = f.stem.rsplit("_", 1)
        setting = setting_slug.replace("_", " ")
        sub = pd.read_parquet(f)
        rows += method_rows(sub, float(sub["true_pp"].iloc[0]), go_live, alpha, setting, int(seed))
    frame = pd.DataFrame(rows).sort_values(["setting", "seed", "method"], kind="stable")
    if shock_sd is not None:
        frame["shock_sd_pp"] = shock_sd
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(out)
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(harder_summary(frame).round(3).to_string(index=False))
    print(
        f"\n{len(files)} worlds from {folder} -> {out}; {time.time() - t0:.0f}s wall, "
        f"{time.process_time() - c0:.0f}s CPU",
        file=sys.stderr,
    )
    return frame


def judged(rows: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per-world rows with ``covered`` (the interval holds the true effect) and ``rejects`` (p <= alpha)."""
    return rows.assign(
        covered=(rows["ci_lower"] <= rows["true"]) & (rows["true"] <= rows["ci_upper"]),
        rejects=rows["p"] <= alpha,
    )


def harder_summary(rows: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Coverage of the true ATT and rejection rate of 'no effect', per setting and method."""
    rows = judged(rows, alpha)
    rows["bias"] = rows["estimate"] - rows["true"]
    if "pretrend_p" not in rows:  # rows written before the pre-trend test was recorded
        rows["pretrend_p"] = np.nan
    rows["pretrend_flag"] = rows["pretrend_p"] <= alpha
    g = rows.groupby(["setting", "method"], sort=False)
    s = g.agg(
        worlds=("seed", "size"),
        mean_true=("true", "mean"),
        mean_bias=("bias", "mean"),
        covered=("covered", "sum"),
        rejected=("rejects", "sum"),
        median_halfwidth=("ci_upper", lambda c: float(np.median((c - rows.loc[c.index, "ci_lower"]) / 2))),
        pretrend_flagged=("pretrend_flag", "mean"),
    ).reset_index()
    s["coverage"] = s["covered"] / s["worlds"]
    s["rejection_rate"] = s["rejected"] / s["worlds"]
    lo, hi = proportion_confint(s["covered"], s["worlds"], alpha=0.05, method="wilson")
    s["coverage_ci"] = [f"[{a:.2f}, {b:.2f}]" for a, b in zip(lo, hi, strict=True)]
    return s


HARDER_SETTINGS = {
    "shocks+hard, effect 10pp": {"oocd_pp": 10.0},
    "shocks+hard, no effect": {"oocd_pp": 0.0},
    "shocks+hard, trailblazer trend 1pp a month, effect 10pp": {"oocd_pp": 10.0, "trend_pp": 1.0},
}
SETTING_KEYS = {
    "shocks+hard, effect 10pp": "effect",
    "shocks+hard, no effect": "null",
    "shocks+hard, trailblazer trend 1pp a month, effect 10pp": "trend",
}


def method_evidence(rows: pd.DataFrame, command: str, alpha: float = 0.05):
    """The per-method record the report's prose quotes (:mod:`linkage.evaluation.method_evidence`)."""
    from linkage.evaluation.method_evidence import METHOD_KEYS, CoverageEvidence, MethodRecord

    if "shock_sd_pp" not in rows or rows["shock_sd_pp"].isna().any() or rows["shock_sd_pp"].nunique() != 1:
        raise ValueError(
            "--record needs rows from one shock size (run with --shock-sd, or from-kept with it)"
        )
    if rows["areas"].nunique() != 1:
        raise ValueError("--record needs rows from worlds with one number of areas")
    rows = rows[rows["setting"].map(SETTING_KEYS).isin(["effect", "null"])]  # parallel trends hold
    rows = judged(rows, alpha).assign(null=rows["setting"].map(SETTING_KEYS) == "null")
    records = {}
    for label, g in rows.groupby("method", sort=True):
        records[METHOD_KEYS[label]] = MethodRecord(
            method=label,
            worlds=len(g),
            covered=int(g["covered"].sum()),
            effect_worlds=int((~g["null"]).sum()),
            rejected_effect=int(g.loc[~g["null"], "rejects"].sum()),
            null_worlds=int(g["null"].sum()),
            rejected_null=int(g.loc[g["null"], "rejects"].sum()),
            median_halfwidth_pp=round(float(np.median((g["ci_upper"] - g["ci_lower"]) / 2)), 2),
        )
    effect = HARDER_SETTINGS["shocks+hard, effect 10pp"]["oocd_pp"]
    return CoverageEvidence(
        areas=int(rows["areas"].iloc[0]),
        treated=HARDER_TRAILBLAZERS,
        shock_sd_pp=float(rows["shock_sd_pp"].iloc[0]),
        noise="hard",
        effect_pp=float(effect),
        command=command,
        methods=records,
    )


def record(rows: pd.DataFrame, argv: list[str]) -> None:
    """Write the evidence file the report reads, and say where."""
    from linkage.evaluation.method_evidence import write_method_evidence

    command = " ".join(["benchmarks/bench_did_coverage.py", *argv])
    path = write_method_evidence(method_evidence(rows, command))
    print(f"recorded -> {path.relative_to(ROOT)}", file=sys.stderr)


def run_harder(args) -> pd.DataFrame:
    """The harder worlds: alternate settings seed by seed so a partial run covers each setting."""
    out = Path(args.out if args.out != str(OUT / "did_coverage.csv") else OUT / "did_coverage_harder.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    t0 = time.time()
    seeds = args.seed_list or range(args.first_seed, args.first_seed + args.seeds)
    wanted = {"both": ("effect", "null")}.get(args.settings, (args.settings,))
    settings = {k: v for k, v in HARDER_SETTINGS.items() if SETTING_KEYS[k] in wanted}
    for seed in seeds:
        for setting, kw in settings.items():
            t = time.time()
            cfg = harder_config(
                seed, shock_sd_pp=args.shock_sd, n_areas=args.areas, per_month=args.per_month, **kw
            )
            data = B.gather(cfg)
            rows += [
                {**r, "shock_sd_pp": args.shock_sd}
                for r in harder_rows(data, setting, seed, Path(args.keep) if args.keep else None)
            ]
            print(f"{setting} seed {seed}: {time.time() - t:.1f}s", file=sys.stderr, flush=True)
            pd.DataFrame(rows).to_csv(out, index=False)
    frame = pd.DataFrame(rows)
    summary = harder_summary(frame)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.round(3).to_string(index=False))
    print(
        f"\n{frame['seed'].nunique()} seeds x {len(settings)} settings = "
        f"{len(frame) // frame['method'].nunique()} worlds -> {out}; {time.time() - t0:.0f}s",
        file=sys.stderr,
    )
    return frame


# --- issue 16: staggered go-live coverage (block begins; kept apart from the --harder code) ---------------
STAGGERED_GO = (3, 7, 7)  # month index of each trailblazer's go-live (the others never go live)


def staggered_world(
    seed: int,
    *,
    n_areas: int = 12,
    lsoas: int = 20,
    per_month: int = 300,
    growth_pp: float = 2.0,
    shock_sd_pp: float = 1.5,
    months: int = 12,
) -> tuple[pd.DataFrame, float, dict]:
    """A panel world of crime rows (area, lsoa_code, month, 0/1 y) with staggered go-lives: the effect is
    ``growth_pp`` in the go-live month and grows by ``growth_pp`` a month after it; every area has its own
    random walk of area-month shocks (sd ``shock_sd_pp``), LSOA levels and a common month trend. Returns
    the crimes, the true ATT (mean effect over the treated crimes, pp) and each trailblazer's go-live."""
    rng = np.random.default_rng(seed)
    month_starts = pd.date_range("2024-01-01", periods=months, freq="MS")
    go = {f"A{i:02d}": month_starts[g] for i, g in enumerate(STAGGERED_GO)}
    frames, effects = [], []
    for i in range(n_areas):
        name = f"A{i:02d}"
        level = 0.15 + 0.03 * rng.standard_normal()
        lsoa_level = 0.03 * rng.standard_normal(lsoas)
        shock = np.cumsum(rng.normal(0.0, shock_sd_pp / 100.0, months))
        n = rng.poisson(per_month, months)
        m_idx = np.repeat(np.arange(months), n)
        l_idx = rng.integers(0, lsoas, len(m_idx))
        since = m_idx - STAGGERED_GO[i] if i < len(STAGGERED_GO) else np.full(len(m_idx), -1)
        effect = np.where(since >= 0, growth_pp / 100.0 * (since + 1), 0.0)
        p = np.clip(level + lsoa_level[l_idx] + 0.004 * m_idx + shock[m_idx], 0.01, 0.9)
        p_treated = np.clip(p + effect, 0.0, 1.0)
        y = rng.random(len(m_idx)) < p_treated
        effects.append((p_treated - p)[since >= 0])
        frames.append(
            pd.DataFrame(
                {
                    "area": name,
                    "lsoa_code": [f"{name}L{k:02d}" for k in l_idx],
                    "month": month_starts[m_idx],
                    "y": y.astype(float),
                    "treated": int(name in go),
                }
            )
        )
    crimes = pd.concat(frames, ignore_index=True)
    return crimes, 100.0 * float(np.concatenate(effects).mean()), go


def pooled_twfe(crimes: pd.DataFrame, go: dict, alpha: float = 0.05) -> tuple[float, float, float]:
    """Pooled two-way fixed effects (one after-own-go-live coefficient, area and month effects), WLS on
    LSOA-month cells, LSOA-clustered: what the report does not use for staggered go-lives (pp)."""
    import statsmodels.api as sm

    cells = (
        crimes.groupby(["area", "lsoa_code", "month"], observed=True)["y"].agg(["mean", "size"]).reset_index()
    )
    own = pd.to_datetime(cells["area"].map(go))
    cells["post"] = (own.notna() & (cells["month"] >= own)).astype(float)
    X = pd.concat(
        [
            cells[["post"]],
            pd.get_dummies(cells["area"], prefix="a", drop_first=True, dtype=float),
            pd.get_dummies(cells["month"].dt.strftime("%m"), prefix="m", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    groups = cells["lsoa_code"].astype("category").cat.codes.to_numpy()
    fit = sm.WLS(cells["mean"].to_numpy(), sm.add_constant(X), weights=cells["size"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    lo, hi = fit.conf_int(alpha=alpha).loc["post"]
    return 100 * float(fit.params["post"]), 100 * float(lo), 100 * float(hi)


def staggered_rows(seed: int, **world) -> list[dict]:
    """The staggered estimator (both intervals) and pooled TWFE on one panel world."""
    from linkage.evaluation.staggered import staggered_estimate

    crimes, truth, go = staggered_world(seed, **world)
    res = staggered_estimate(crimes, outcome="y", go_live_by_area=go, seed=seed)
    tw = pooled_twfe(crimes, go)
    out = [
        ("group-time ATT, placebo in space (go-lives reassigned)", res.estimate, res.ci_lower, res.ci_upper),
        ("group-time ATT, LSOA bootstrap within areas", res.estimate, res.boot_lower, res.boot_upper),
        ("pooled TWFE, LSOA clusters", tw[0] / 100, tw[1] / 100, tw[2] / 100),
    ]
    return [
        {
            "seed": seed,
            "method": m,
            "estimate": 100 * e,
            "ci_lower": 100 * lo,
            "ci_upper": 100 * hi,
            "true": truth,
            "assignments": res.n_assignments,
        }
        for m, e, lo, hi in out
    ]


def run_staggered(args) -> int:
    """Coverage and bias of the staggered estimator against pooled TWFE on panel worlds whose effect grows
    with time since go-live (``--growth`` pp a month)."""
    out = Path(args.out if args.out != str(OUT / "did_coverage.csv") else OUT / "did_coverage_staggered.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    seeds = args.seed_list or range(args.first_seed, args.first_seed + args.seeds)
    rows: list[dict] = []
    t0, c0 = time.time(), time.process_time()
    for seed in seeds:
        rows += staggered_rows(
            seed,
            n_areas=args.areas,
            per_month=args.per_month,
            growth_pp=args.growth,
            shock_sd_pp=args.shock_sd,
        )
        pd.DataFrame(rows).to_csv(out.with_suffix(".tmp"), index=False)
        out.with_suffix(".tmp").replace(out)
    frame = pd.DataFrame(rows)
    frame["covered"] = (frame["ci_lower"] <= frame["true"]) & (frame["true"] <= frame["ci_upper"])
    frame["bias"] = frame["estimate"] - frame["true"]
    s = (
        frame.groupby("method", sort=False)
        .agg(
            worlds=("seed", "size"),
            mean_true=("true", "mean"),
            mean_estimate=("estimate", "mean"),
            mean_bias=("bias", "mean"),
            sd_bias=("bias", "std"),
            covered=("covered", "sum"),
            median_halfwidth=(
                "ci_upper",
                lambda c: float(np.median((c - frame.loc[c.index, "ci_lower"]) / 2)),
            ),
        )
        .reset_index()
    )
    s["bias_mcse"] = s["sd_bias"] / np.sqrt(s["worlds"])
    s["coverage"] = s["covered"] / s["worlds"]
    lo, hi = proportion_confint(s["covered"], s["worlds"], alpha=0.05, method="wilson")
    s["coverage_ci"] = [f"[{a:.2f}, {b:.2f}]" for a, b in zip(lo, hi, strict=True)]
    with pd.option_context("display.width", 220, "display.max_columns", 20, "display.max_colwidth", 60):
        print(s.round(3).to_string(index=False))
    print(
        f"\n{len(frame) // 3} worlds ({args.areas} areas, go-live months {STAGGERED_GO}, "
        f"{args.per_month} crimes per area-month, effect +{args.growth} pp a month since go-live, "
        f"shocks sd {args.shock_sd} pp) -> {out}; "
        f"{time.time() - t0:.0f}s wall, {time.process_time() - c0:.0f}s CPU",
        file=sys.stderr,
    )
    return 0


def add_staggered_args(ap: argparse.ArgumentParser) -> None:
    """The --staggered flags (--areas, --per-month and --shock-sd are shared with --harder)."""
    ap.add_argument(
        "--staggered", action="store_true", help="staggered go-lives: group-time ATT vs pooled TWFE"
    )
    ap.add_argument("--growth", type=float, default=2.0, help="--staggered: effect growth, pp per month")


# --- issue 16 staggered block ends -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["london-south", "london-east"])
    ap.add_argument("--seeds", type=int, default=20, help="number of seeds (1..N)")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=0.3, help="multiply every area's crimes_per_month")
    ap.add_argument("--crimes-per-month", type=int, help="set every area to this size (overrides --scale)")
    ap.add_argument("--seed-list", type=int, nargs="+", help="these seeds instead of --first-seed/--seeds")
    ap.add_argument("--truth-links", action="store_true", help="also run on the true links")
    ap.add_argument("--out", default=str(OUT / "did_coverage.csv"))
    ap.add_argument("--harder", action="store_true", help="the harder worlds of issue 16 (see above)")
    ap.add_argument("--areas", type=int, default=12, help="--harder: boroughs (first two trailblazers)")
    ap.add_argument("--per-month", type=int, default=80, help="--harder: crimes per month per borough")
    ap.add_argument("--shock-sd", type=float, default=1.5, help="--harder: area-month random-walk step (pp)")
    ap.add_argument(
        "--settings",
        choices=("both", "effect", "null", "trend"),
        default="both",
        help="--harder: which settings to run: both = effect and null (one each lets effect and no-effect "
        "worlds use disjoint seeds); trend = the effect with a trailblazer pre-trend that differs",
    )
    ap.add_argument("--keep", help="--harder: folder to keep each world's linked DiD sample in (parquet)")
    ap.add_argument("--from-kept", help="--harder: run every method on the samples kept in this folder")
    ap.add_argument("--summarise", nargs="+", help="--harder: print the table from these per-world CSVs only")
    ap.add_argument(
        "--record",
        action="store_true",
        help="--harder / --summarise / --from-kept: write linkage/evaluation/data/method_coverage.json, "
        "the figures the report's prose quotes",
    )
    add_staggered_args(ap)
    args = ap.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.ERROR)
    if args.staggered:
        return run_staggered(args)
    if args.summarise:  # a partial or split run: the same table from the rows written so far
        frame = pd.concat([pd.read_csv(f) for f in args.summarise], ignore_index=True)
        frame = frame.drop_duplicates(["setting", "seed", "method"])
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(harder_summary(frame).round(3).to_string(index=False))
        print(f"\n{len(frame) // frame['method'].nunique()} worlds", file=sys.stderr)
        if args.record:
            record(frame, argv)
        return 0
    if args.harder and args.from_kept:
        dest = Path(args.out if args.out != str(OUT / "did_coverage.csv") else OUT / "did_coverage_kept.csv")
        frame = run_from_kept(Path(args.from_kept), dest, shock_sd=args.shock_sd)
        if args.record:
            record(frame, argv)
        return 0
    if args.harder:
        frame = run_harder(args)
        if args.record:
            record(frame, argv)
        return 0
    rows: list[dict] = []
    t0 = time.time()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for slug in args.configs:
        seeds = args.seed_list or range(args.first_seed, args.first_seed + args.seeds)
        for seed in seeds:
            t = time.time()
            cfg = _config(slug, seed, args.scale, args.crimes_per_month)
            data = B.gather(cfg)
            rows += _rows(data, data.linked, "linked", slug, seed)
            if args.truth_links:
                rows += _rows(data, _truth_linked(data), "truth", slug, seed)
            print(f"{slug} seed {seed}: {time.time() - t:.1f}s", file=sys.stderr, flush=True)
            frame = pd.DataFrame(rows)
            frame.to_csv(out, index=False)  # after every seed, so a long run can be read while it runs
    summary = _summary(frame)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.drop(columns=["sd_bias"]).round(3).to_string(index=False))
    print(f"\n{len(frame)} rows -> {out}; {time.time() - t0:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
