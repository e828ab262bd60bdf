"""Generate one area of the world: crimes, suspects, the outcome process and the outcome records.

Each area draws from its own random streams (``SeedSequence([seed, area_index])``), so a world is the
concatenation of its areas and can be generated and written area by area (see
:func:`linkage.synth.world.write_world_chunked`) with the same bytes as in one go.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from linkage.reference import (
    ALTERNATIVE_CHARGES,
    CONVICTING_VERDICTS,
    CRIME_TYPES,
    cjs_offences,
    compatible_groups,
    court_outcome_label,
    offence_codes,
    pnd_offences,
)
from linkage.synth import faults as flt
from linkage.synth import targets as tg
from linkage.synth.geography import load_geography
from linkage.synth.people import draw_surnames, format_pnc, make_people
from linkage.synth.spec import NoiseProfile, WorldSpec

logger = logging.getLogger(__name__)

CRIME_CATEGORIES = tuple(t for t in CRIME_TYPES if t != "Anti-social behaviour")
_KEY = {k: i for i, k in enumerate(tg.OUTCOME_KEYS)}
_OOCD = np.array([_KEY[k] for k in tg.OOCD_KEYS])
NS, EVID, CHARGE, TIC, CAUTION, PND, LR = (
    _KEY[k]
    for k in ("no_suspect", "evidential", "charge", "tic", "caution", "penalty_notice", "local_resolution")
)


@dataclass
class AreaParts:
    """Every table of one area, plus the sums behind the realised intervention effect."""

    tables: dict[str, pd.DataFrame]
    effect_sums: dict[str, float]


def _rngs(seed: int, index: int, n: int = 8) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence([int(seed), int(index)]).spawn(n)]


def _draw_index(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=float))
    idx = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    return np.minimum(idx, len(cum) - 1)


def _choose_in_groups(keys: np.ndarray, table_keys: np.ndarray, table_values: np.ndarray, rng) -> np.ndarray:
    """For each key pick a uniformly random value among the table rows with that key (NA when none)."""
    order = np.argsort(table_keys, kind="stable")
    tk, tv = table_keys[order], table_values[order]
    lo = np.searchsorted(tk, keys, side="left")
    hi = np.searchsorted(tk, keys, side="right")
    count = hi - lo
    pick = lo + np.floor(rng.random(len(keys)) * np.maximum(count, 1)).astype(np.int64)
    out = (
        np.where(count > 0, tv[np.minimum(pick, len(tv) - 1)], None) if len(tv) else np.full(len(keys), None)
    )
    return out.astype(object)


def force_initials(force: str) -> str:
    """Short force prefix for crime references: initials of the capitalised words (``CLP``)."""
    words = [w for w in re.split(r"[\s&]+", force) if w[:1].isupper()]
    return "".join(w[0] for w in words)[:4] or "X"


@cache
def _alternative_offences() -> tuple[np.ndarray, np.ndarray]:
    """(ho_code, alternative ho_code) pairs a charge can be altered between."""
    codes = offence_codes()
    groups = codes.set_index("ho_code")["offence_group"]
    compat = compatible_groups()
    pairs = []
    ho = codes["ho_code"].to_numpy()
    grp = codes["offence_group"].to_numpy()
    for a, ga in zip(ho, grp, strict=True):
        for b, gb in zip(ho, grp, strict=True):
            if a != b and (ga == gb or frozenset((ga, gb)) in compat):
                pairs.append((a, b))
    for pair in ALTERNATIVE_CHARGES:
        a, b = sorted(pair)
        if a in groups.index and b in groups.index:
            pairs += [(a, b), (b, a)]
    frame = pd.DataFrame(pairs, columns=["a", "b"]).drop_duplicates().sort_values(["a", "b"], kind="stable")
    return frame["a"].to_numpy(dtype=object), frame["b"].to_numpy(dtype=object)


def cjs_codes_for(ho: np.ndarray, altered: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A CJS code per Home Office code; where ``altered``, a code of a compatible different offence."""
    cjs = cjs_offences()
    tk = cjs["ho_code"].to_numpy(dtype=object)
    tv = cjs["cjs_code"].to_numpy(dtype=object)
    target = np.asarray(ho, dtype=object).copy()
    if altered.any():
        a, b = _alternative_offences()
        alt = _choose_in_groups(target[altered], a, b, rng)
        target[altered] = np.where(pd.isna(alt), target[altered], alt)
    return _choose_in_groups(target, tk, tv, rng)


@dataclass
class _Crimes:
    """Per-crime arrays of one area, in recorded-date order."""

    recorded: np.ndarray  # datetime64[ns]
    committed: np.ndarray  # datetime64[ns]
    crime_type: np.ndarray
    ho: np.ndarray
    point: np.ndarray  # index into the area's map points
    located: np.ndarray  # False: "No Location"

    def __len__(self) -> int:
        return len(self.recorded)


@dataclass
class _Outcomes:
    """Per-crime outcome process: keys with and without the intervention, days and dates."""

    key: np.ndarray
    base: np.ndarray
    treated: np.ndarray
    identified: np.ndarray
    days: np.ndarray
    days_base: np.ndarray
    police_date: np.ndarray  # datetime64[ns]: police outcome (charge date for charges)
    z: np.ndarray  # the normal draw behind the days

    @property
    def oocd(self) -> np.ndarray:
        return np.isin(self.key, _OOCD)

    @property
    def oocd_base(self) -> np.ndarray:
        return np.isin(self.base, _OOCD)


@dataclass
class _Suspects:
    """Per-suspect arrays: crime index, number within the crime, person index and outcome key."""

    crime: np.ndarray
    number: np.ndarray
    person: np.ndarray
    key: np.ndarray
    people: pd.DataFrame


def generate_area(spec: WorldSpec, index: int, seed: int) -> AreaParts:
    """All tables of area ``index`` of ``spec``."""
    area = spec.areas[index]
    r_geo, r_crime, r_out, r_sus, r_court, r_rec, r_fault, r_pub = _rngs(seed, index)
    geo = load_geography(dict(area.geography), r_geo, where=f"areas[{index}].geography")
    months = spec.month_starts
    crimes = _make_crimes(area, geo, months, r_crime)
    r_shock = _shock_rng(seed, index) if spec.shocks.active else None
    outc = _outcome_process(spec, area, crimes, r_out, r_shock)
    sus = _assign_suspects(outc, r_sus, months[0], index)
    _no_youth_penalty_notices(crimes, outc, sus)
    lines = _court_lines(crimes, outc, sus, r_court)
    lines = pd.concat([lines, _attach_tics(lines, crimes, outc, sus, r_court, spec)], ignore_index=True)
    lines["label"] = court_outcome_label(lines["verdict"], lines["disposal"]).to_numpy()
    crime_ref = _crime_refs(area.force, index, crimes.recorded)
    events, hidden, last = _police_events(spec, crimes, outc, sus, lines, r_pub)
    crime_truth = _crime_truth(area, crimes, outc, sus, lines, crime_ref, last)
    tables = _restricted_tables(spec, index, geo, crimes, outc, sus, lines, crime_ref, r_rec, r_fault)
    tables["crime_truth"] = crime_truth
    tables["street"], tables["outcomes"] = _public_view(
        r_pub, area, geo, tables["crimes"], crime_truth, events, hidden, crimes, months
    )
    used = np.unique(sus.person)
    people = sus.people.iloc[used].drop(columns=["pnc_year", "pnc_serial"]).assign(area=area.name)
    tables["people"] = people.reset_index(drop=True)
    tsel = outc.treated & outc.identified
    effect_sums = {
        "n_treated": float(outc.treated.sum()),
        "n_treated_identified": float(tsel.sum()),
        "oocd_diff": float(outc.oocd[tsel].sum() - outc.oocd_base[tsel].sum()),
        "days_diff": float((outc.days[tsel] - outc.days_base[tsel]).sum()),
    }
    order = ("crimes", "suspects", "cautions", "penalty_notices", "court_outcomes", "truth", "people")
    order += ("crime_truth", "suspect_truth", "faults", "street", "outcomes")
    return AreaParts({name: tables[name] for name in order}, effect_sums)


def _make_crimes(area, geo, months: pd.DatetimeIndex, rng: np.random.Generator) -> _Crimes:
    """Monthly Poisson volumes, recorded and committed dates, crime types, offence codes and map points."""
    mix = tg.crime_mix(area.crime_mix, geo.observed_mix)
    per_month = rng.poisson(area.crimes_per_month, len(months))
    n = int(per_month.sum())
    m_idx = np.repeat(np.arange(len(months)), per_month)
    dim = months.days_in_month.to_numpy()[m_idx]
    day = np.floor(rng.random(n) * dim).astype(np.int64)
    recorded = months.to_numpy()[m_idx] + day.astype("timedelta64[D]")
    lag = np.where(
        rng.random(n) < tg.RECORDING_LAG_SAME_DAY, 0, np.round(rng.lognormal(np.log(7.0), 1.2, n))
    ).astype(np.int64)
    committed = recorded - lag.astype("timedelta64[D]")
    t_idx = _draw_index(rng, mix.reindex(CRIME_CATEGORIES).to_numpy(), n)
    order = np.lexsort((t_idx, recorded))  # stable order by recorded date, then type
    recorded, committed, t_idx = recorded[order], committed[order], t_idx[order]
    ho = np.empty(n, dtype=object)
    point = np.empty(n, dtype=np.int64)
    offmix = tg.offence_mix()
    for ti, ctype in enumerate(CRIME_CATEGORIES):
        sel = np.flatnonzero(t_idx == ti)
        if not len(sel):
            continue
        sub = offmix[offmix["crime_type"] == ctype]
        ho[sel] = sub["ho_code"].to_numpy(dtype=object)[
            _draw_index(rng, sub["offences"].to_numpy(), len(sel))
        ]
        w = geo.points["weight"].to_numpy(float)
        if geo.type_counts is not None and geo.type_counts[ctype].sum() > 0:
            w = geo.type_counts[ctype].to_numpy(float)
        point[sel] = _draw_index(rng, w, len(sel))
    located = rng.random(n) >= geo.no_location_share
    crime_type = np.array(CRIME_CATEGORIES, dtype=object)[t_idx]
    return _Crimes(recorded, committed, crime_type, ho, point, located)


def _crime_rates(crimes: _Crimes) -> np.ndarray:
    """Outcome probabilities per crime: its type's row, charge share scaled by the offence code.

    The code's relative charge rate (national 2017/18) scales the charge share; the other outcomes are
    scaled to keep the row summing to 1.
    """
    type_rates = tg.outcome_rates().reindex(list(CRIME_CATEGORIES))
    rates = type_rates.to_numpy()[pd.Index(CRIME_CATEGORIES).get_indexer(crimes.crime_type)]
    mult = pd.Series(crimes.ho).map(tg.charge_multipliers()).fillna(1.0).to_numpy()
    p_type = rates[:, CHARGE].copy()
    p_charge = np.minimum(p_type * mult, tg.MAX_CHARGE_SHARE)
    rates *= ((1.0 - p_charge) / np.maximum(1.0 - p_type, 1e-12))[:, None]
    rates[:, CHARGE] = p_charge
    return rates


def _draw_days(key: np.ndarray, crime_type: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Days from recording to the police outcome of each key (log-normal), summary charges capped."""
    med = np.array([tg.DAYS_TO_OUTCOME.get(k, (1.0, 1.0))[0] for k in tg.OUTCOME_KEYS])
    sig = np.array([tg.DAYS_TO_OUTCOME.get(k, (1.0, 1.0))[1] for k in tg.OUTCOME_KEYS])
    days = np.minimum(np.round(med[key] * np.exp(sig[key] * z)), tg.MAX_DAYS_TO_OUTCOME)
    summary = np.isin(crime_type, tg.SUMMARY_TYPES) & (key == CHARGE)
    return np.where(summary, np.minimum(days, tg.SUMMARY_CHARGE_LIMIT_DAYS), days)


def _shock_rng(seed: int, index: int) -> np.random.Generator:
    """The area's own stream for shocks, apart from the other eight: worlds without shocks are unchanged."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index), 7919]))


def area_shock_path(spec: WorldSpec, area, rng: np.random.Generator) -> np.ndarray:
    """The area's shock by month (proportion units): a random walk, plus the trailblazer's own trend."""
    n_months = spec.months
    sd = spec.shocks.area_month_sd_pp / 100.0
    path = np.cumsum(rng.normal(0.0, sd, n_months)) if sd > 0 else np.zeros(n_months)
    if area.role == "trailblazer":
        path = path + spec.shocks.trailblazer_trend_pp / 100.0 * np.arange(n_months)
    return path


def _shift_oocd(
    key: np.ndarray, rates: np.ndarray, shift: np.ndarray, eligible: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Move P(OOCD | named suspect) by ``shift`` (proportion, per crime) among ``eligible`` crimes.

    A rise switches non-OOCD suspect outcomes to an OOCD (drawn by the crime's OOCD mix) with probability
    shift / (1 - p); a fall switches OOCDs to another suspect outcome with probability -shift / p.
    """
    n = len(key)
    identified = key != NS
    is_oocd = np.isin(key, _OOCD)
    p_oocd = rates[:, _OOCD].sum(axis=1) / np.maximum(1.0 - rates[:, NS], 1e-12)
    v = rng.random(n)
    up = np.clip(shift / np.maximum(1.0 - p_oocd, 1e-12), 0, 1)
    down = np.clip(-shift / np.maximum(p_oocd, 1e-12), 0, 1)
    to_oocd = eligible & identified & ~is_oocd & (v < up)
    from_oocd = eligible & identified & is_oocd & (v < down)
    oocd_w = rates[:, _OOCD]
    pick_o = (rng.random(n)[:, None] > np.cumsum(oocd_w / oocd_w.sum(1, keepdims=True), 1)).sum(1)
    other = rates.copy()
    other[:, _OOCD] = 0.0
    other[:, NS] = 0.0
    other[:, TIC] = 0.0
    pick_x = (rng.random(n)[:, None] > np.cumsum(other / other.sum(1, keepdims=True), 1)).sum(1)
    out = np.where(to_oocd, _OOCD[np.minimum(pick_o, len(_OOCD) - 1)], key)
    return np.where(from_oocd, np.minimum(pick_x, len(tg.OUTCOME_KEYS) - 1), out)


def _outcome_process(
    spec: WorldSpec,
    area,
    crimes: _Crimes,
    rng: np.random.Generator,
    shock_rng: np.random.Generator | None = None,
) -> _Outcomes:
    """Final outcomes with and without the intervention, and the days to the police outcome.

    With ``shock_rng`` (the world has shocks) the outcome without the intervention first takes the area's
    shock path (:func:`area_shock_path`), so the shocks move both and never enter the true effect.
    """
    n = len(crimes)
    rates = _crime_rates(crimes)
    cum = np.cumsum(rates, axis=1)
    base = (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, len(tg.OUTCOME_KEYS) - 1)
    del cum
    if shock_rng is not None:
        path = area_shock_path(spec, area, shock_rng)
        first = np.datetime64(spec.month_starts[0].date(), "M")
        m_idx = (crimes.recorded.astype("datetime64[M]") - first).astype(np.int64).clip(0, spec.months - 1)
        base = _shift_oocd(base, rates, path[m_idx], np.ones(n, dtype=bool), shock_rng)
    go_live = spec.area_go_live(area)  # the area's own go-live month (staggered), else the world's
    treated = np.zeros(n, dtype=bool)
    if go_live is not None:
        treated = crimes.recorded >= np.datetime64(go_live.date(), "D")
    key = base.copy()
    identified = base != NS
    is_oocd = np.isin(base, _OOCD)
    p_oocd = rates[:, _OOCD].sum(axis=1) / np.maximum(1.0 - rates[:, NS], 1e-12)
    delta = spec.intervention.oocd_pp / 100.0
    v = rng.random(n)
    if delta > 0:
        # P(OOCD | suspect) rises by delta: non-OOCD suspect outcomes switch with prob delta / (1 - p).
        prob = np.clip(delta / np.maximum(1.0 - p_oocd, 1e-12), 0, 1)
        switch = treated & identified & ~is_oocd & (v < prob)
        oocd_w = rates[:, _OOCD]
        pick = (rng.random(n)[:, None] > np.cumsum(oocd_w / oocd_w.sum(1, keepdims=True), 1)).sum(1)
        key = np.where(switch, _OOCD[np.minimum(pick, len(_OOCD) - 1)], key)
    elif delta < 0:
        prob = np.clip(-delta / np.maximum(p_oocd, 1e-12), 0, 1)
        switch = treated & identified & is_oocd & (v < prob)
        other = rates.copy()
        other[:, _OOCD] = 0.0
        other[:, NS] = 0.0
        other[:, TIC] = 0.0
        pick = (rng.random(n)[:, None] > np.cumsum(other / other.sum(1, keepdims=True), 1)).sum(1)
        key = np.where(switch, np.minimum(pick, len(tg.OUTCOME_KEYS) - 1), key)
    else:
        rng.random(n)  # keep the stream position independent of the intervention
    # The same normal draw gives the days with the intervention (key) and without it (base).
    z = rng.standard_normal(n)
    days_base = _draw_days(base, crimes.crime_type, z)
    days = _draw_days(key, crimes.crime_type, z)
    shift = np.round(spec.intervention.days_to_outcome)
    days = np.where(treated & identified, np.maximum(days + shift, 0), days).astype(np.int64)
    police_date = crimes.recorded + days.astype("timedelta64[D]")
    return _Outcomes(key, base, treated, identified, days, days_base, police_date, z)


def _assign_suspects(outc: _Outcomes, rng: np.random.Generator, start: pd.Timestamp, index: int) -> _Suspects:
    """Suspects of crimes with an identified suspect, drawn from the area's pool with Pareto propensity."""
    n = len(outc.key)
    extra = np.where(rng.random(n) < tg.EXTRA_SUSPECT_SHARE, rng.geometric(1 - tg.THIRD_SUSPECT_SHARE, n), 0)
    n_sus = np.where(outc.identified, 1 + np.where(outc.key == TIC, 0, extra), 0)
    s_crime = np.repeat(np.arange(n), n_sus)
    s_no = np.arange(len(s_crime)) - np.repeat(np.cumsum(n_sus) - n_sus, n_sus) + 1
    slots = len(s_crime)
    pool = max(20, int(np.ceil(slots * tg.POOL_PER_SUSPECT)))
    people = make_people(rng, pool, start, prefix=f"A{index:02d}P")
    propensity = rng.pareto(tg.PROPENSITY_PARETO, pool) + 1.0
    s_person = _draw_index(rng, propensity, slots)
    dup = s_no > 1  # co-suspects of one crime are different people
    for _ in range(5):
        prev_same = np.zeros(slots, dtype=bool)
        prev_same[1:] = (s_person[1:] == s_person[:-1]) & (s_crime[1:] == s_crime[:-1])
        if not (prev_same & dup).any():
            break
        s_person = np.where(prev_same & dup, (s_person + 1) % pool, s_person)
    same = rng.random(slots) < tg.CO_SUSPECT_SAME_OUTCOME
    s_key = np.where((s_no == 1) | same, outc.key[s_crime], EVID)
    return _Suspects(s_crime, s_no, s_person, s_key, people)


def _age_years(when: np.ndarray, dob: np.ndarray) -> np.ndarray:
    """Age in years (float) at ``when`` of people born on ``dob``."""
    days = (when.astype("datetime64[D]") - dob.astype("datetime64[D]")).astype(np.int64)
    return days / 365.25


def _no_youth_penalty_notices(crimes: _Crimes, outc: _Outcomes, sus: _Suspects) -> None:
    """Suspects under 18 get a community resolution (local resolution) instead of a penalty notice.

    Penalty notices for disorder are for adults; both are out-of-court disposals, so the intervention's
    out-of-court indicator is unchanged. Updates ``sus`` (and ``outc`` for first suspects) in place.
    """
    dob = sus.people["date_of_birth"].to_numpy().astype("datetime64[D]")[sus.person]
    youth = _age_years(crimes.committed[sus.crime], dob) < 18
    swap = youth & (sus.key == PND)
    sus.key[swap] = LR
    first = sus.crime[swap & (sus.number == 1)]
    outc.key[first] = LR
    outc.base[first] = np.where(outc.base[first] == PND, LR, outc.base[first])


def _court_lines(crimes: _Crimes, outc: _Outcomes, sus: _Suspects, rng: np.random.Generator) -> pd.DataFrame:
    """Magistrates' lines of charged suspects (grouped into cases) and their Crown Court second records."""
    ch = np.flatnonzero(sus.key == CHARGE)
    cdate = outc.police_date[sus.crime[ch]]
    first_hearing = cdate + np.round(
        tg.DAYS_CHARGE_TO_HEARING[0] * np.exp(tg.DAYS_CHARGE_TO_HEARING[1] * rng.standard_normal(len(ch)))
    ).astype("timedelta64[D]")
    o = np.lexsort((sus.crime[ch], cdate, sus.person[ch]))
    ch, first_hearing, cdate = ch[o], first_hearing[o], cdate[o]
    # A person's charges within CASE_WINDOW_DAYS of the previous one join one case.
    newcase = np.ones(len(ch), dtype=bool)
    if len(ch) > 1:
        gap = (cdate[1:] - cdate[:-1]).astype("timedelta64[D]").astype(np.int64)
        newcase[1:] = (sus.person[ch][1:] != sus.person[ch][:-1]) | (gap > tg.CASE_WINDOW_DAYS)
    case_no = np.cumsum(newcase) - 1
    n_cases = int(case_no.max() + 1) if len(ch) else 0
    case_hearing = np.full(n_cases, np.datetime64("1970-01-01"), dtype="datetime64[D]")
    if len(ch):
        np.maximum.at(case_hearing, case_no, first_hearing.astype("datetime64[D]"))
    hearing = case_hearing[case_no].astype("datetime64[ns]")
    verdict = np.array(list(tg.VERDICT_P), dtype=object)[
        _draw_index(rng, list(tg.VERDICT_P.values()), len(ch))
    ]
    ctype = crimes.crime_type[sus.crime[ch]]
    disposal = np.where(np.isin(verdict, CONVICTING_VERDICTS), _disposals(rng, ctype), None)
    mags = pd.DataFrame(
        {"slot": ch, "case_no": case_no, "hearing": hearing, "verdict": verdict, "disposal": disposal}
    ).assign(tic=None, crown=False)
    # Lines sent up get a second record at the Crown Court, months later (one delay per case).
    sent = np.flatnonzero(verdict == "sent to Crown Court")
    delay = np.round(
        tg.DAYS_TO_CROWN_COURT[0] * np.exp(tg.DAYS_TO_CROWN_COURT[1] * rng.standard_normal(len(sent)))
    )
    case_delay = pd.Series(delay).groupby(case_no[sent]).transform("max").to_numpy()
    c_verdict = np.array(list(tg.CROWN_VERDICT_P), dtype=object)[
        _draw_index(rng, list(tg.CROWN_VERDICT_P.values()), len(sent))
    ]
    c_disposal = _disposals(rng, ctype[sent])
    c_disposal = np.where(np.isin(c_verdict, CONVICTING_VERDICTS), c_disposal, None)
    crown = pd.DataFrame(
        {
            "slot": ch[sent],
            "case_no": case_no[sent],
            "hearing": hearing[sent] + case_delay.astype("timedelta64[D]"),
            "verdict": c_verdict,
            "disposal": c_disposal,
        }
    ).assign(tic=None, crown=True)
    return pd.concat([mags, crown], ignore_index=True)


def _attach_tics(
    lines: pd.DataFrame, crimes: _Crimes, outc: _Outcomes, sus: _Suspects, rng: np.random.Generator, spec
) -> pd.DataFrame:
    """TIC lines: each TIC crime joins a convicted magistrates' case heard at least TIC_HOST_MIN_DAYS after
    it was committed (one of the next 20 such cases). Its suspect becomes that case's defendant. TIC crimes
    without such a case end as evidential difficulties. Updates ``outc`` and ``sus`` in place."""
    tic_crimes = np.flatnonzero(outc.key == TIC)
    tic_slots = np.flatnonzero((sus.key == TIC) & (sus.number == 1))  # one suspect each, same order
    mags = lines[~lines["crown"]]
    first_line = mags.drop_duplicates("case_no")
    hosts = first_line[np.isin(first_line["verdict"], CONVICTING_VERDICTS)].sort_values(
        ["hearing", "case_no"], kind="stable"
    )
    need = (crimes.committed[tic_crimes] + np.timedelta64(tg.TIC_HOST_MIN_DAYS, "D")).astype("datetime64[ns]")
    lo = np.searchsorted(hosts["hearing"].to_numpy(), need, side="left")
    avail = len(hosts) - lo
    pick = lo + np.floor(rng.random(len(tic_crimes)) * np.minimum(avail, 20)).astype(np.int64)
    ok = avail > 0
    host = hosts.iloc[pick[ok]] if ok.any() else hosts.iloc[:0]
    sus.person[tic_slots[ok]] = sus.person[host["slot"].to_numpy()]
    tics = pd.DataFrame(
        {
            "slot": tic_slots[ok],
            "case_no": host["case_no"].to_numpy(),
            "hearing": host["hearing"].to_numpy(),
            "verdict": host["verdict"].to_numpy(),
            "disposal": host["disposal"].to_numpy(),
        }
    ).assign(tic="Y", crown=False)
    failed = tic_crimes[~ok]
    outc.key[failed] = EVID
    sus.key[tic_slots[~ok]] = EVID
    evid_days = _draw_days(np.full(len(failed), EVID), crimes.crime_type[failed], outc.z[failed])
    outc.days_base[failed] = evid_days
    shift = np.round(spec.intervention.days_to_outcome)
    outc.days[failed] = np.where(outc.treated[failed], np.maximum(evid_days + shift, 0), evid_days)
    outc.police_date[failed] = crimes.recorded[failed] + outc.days[failed].astype("timedelta64[D]")
    # A TIC's outcome date is its host case's hearing, with or without the intervention.
    done = tic_crimes[ok]
    outc.police_date[done] = host["hearing"].to_numpy().astype("datetime64[D]")
    host_days = (outc.police_date[done] - crimes.recorded[done]).astype("timedelta64[D]").astype(np.int64)
    outc.days[done] = host_days
    outc.days_base[done] = host_days
    return tics


def _crime_refs(force: str, index: int, recorded: np.ndarray) -> np.ndarray:
    """``<force initials>/<YY>/<area><serial>``: unique within the force, serials restart each year."""
    yy = pd.DatetimeIndex(recorded).year.to_numpy()
    seq = pd.Series(np.arange(len(recorded))).groupby(yy).cumcount().to_numpy() + 1
    return (
        f"{force_initials(force)}/"
        + pd.Series(yy % 100).astype(str).str.zfill(2)
        + f"/{index:02d}"
        + pd.Series(seq).astype(str).str.zfill(6)
    ).to_numpy(dtype=object)


def _primary_lines(lines: pd.DataFrame, sus: _Suspects) -> pd.DataFrame:
    """Non-TIC court lines of each crime's first suspect, magistrates' before Crown Court."""
    return lines[(sus.number[lines["slot"].to_numpy()] == 1) & lines["tic"].isna()].sort_values(
        ["slot", "crown"], kind="stable"
    )


def _police_events(
    spec: WorldSpec, crimes: _Crimes, outc: _Outcomes, sus: _Suspects, lines: pd.DataFrame, rng
) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """police.uk outcome events known by the period end, which are hidden, and each crime's last outcome."""
    n = len(crimes)
    end64 = np.datetime64(spec.end_date)
    police_labels = np.array([tg.OUTCOME_LABEL[k] for k in tg.OUTCOME_KEYS], dtype=object)
    primary = _primary_lines(lines, sus)
    mag_first = primary.drop_duplicates("slot", keep="first")
    mag_first = mag_first[~mag_first["crown"]]
    crown = primary[primary["crown"]]
    events = pd.DataFrame(
        {
            "crime": np.concatenate(
                [np.arange(n), sus.crime[mag_first["slot"].to_numpy()], sus.crime[crown["slot"].to_numpy()]]
            ),
            "label": np.concatenate(
                [
                    np.where(outc.key == CHARGE, "Suspect charged", police_labels[outc.key]),
                    mag_first["label"].to_numpy(dtype=object),
                    crown["label"].to_numpy(dtype=object),
                ]
            ).astype(object),
            "date": np.concatenate(
                [
                    outc.police_date.astype("datetime64[ns]"),
                    mag_first["hearing"].to_numpy(),
                    crown["hearing"].to_numpy(),
                ]
            ).astype("datetime64[ns]"),
            "stage": np.concatenate([np.zeros(n, int), np.ones(len(mag_first), int), np.full(len(crown), 2)]),
        }
    )
    # Court results reach police.uk months after the hearing (the record has to come back to the police).
    court_ev = events["stage"].to_numpy() > 0
    lag = np.round(
        tg.PUBLIC_COURT_LAG_DAYS[0] * np.exp(tg.PUBLIC_COURT_LAG_DAYS[1] * rng.standard_normal(len(events)))
    )
    events["date"] = events["date"] + pd.to_timedelta(np.where(court_ev, lag, 0), unit="D")
    events = events[events["date"] <= end64].sort_values(["crime", "stage"], kind="stable")
    hidden = (events["stage"] > 0) & (
        (events["date"] >= tg.COURT_RESULT_UNAVAILABLE_FROM)
        & (rng.random(len(events)) < tg.COURT_RESULT_UNAVAILABLE_SHARE)
    )
    last = np.full(n, "Under investigation", dtype=object)
    latest = events.drop_duplicates("crime", keep="last")
    last[latest["crime"].to_numpy()] = np.where(
        hidden[latest.index].to_numpy(), "Court result unavailable", latest["label"].to_numpy()
    )
    waiting = (outc.key == CHARGE) & (outc.police_date <= end64) & (last == "Suspect charged")
    waiting_label = np.where(
        np.datetime64(tg.COURT_RESULT_UNAVAILABLE_FROM) <= outc.police_date.astype("datetime64[ns]"),
        "Court result unavailable",
        "Awaiting court outcome",
    )
    last[waiting] = waiting_label[waiting]
    return events, hidden, last


def _crime_truth(area, crimes, outc, sus, lines, crime_ref, last) -> pd.DataFrame:
    """One row per crime: area, role, outcome with and without the intervention, dates, last outcome."""
    final_label = np.array([tg.OUTCOME_LABEL[k] for k in tg.OUTCOME_KEYS], dtype=object)[outc.key]
    final_date = outc.police_date.astype("datetime64[ns]").copy()
    prim_last = _primary_lines(lines, sus).drop_duplicates("slot", keep="last")
    pc = sus.crime[prim_last["slot"].to_numpy()]
    final_label[pc] = prim_last["label"].to_numpy()
    final_date[pc] = prim_last["hearing"].to_numpy()
    n_sus = np.bincount(sus.crime, minlength=len(crimes))
    return pd.DataFrame(
        {
            "crime_ref": pd.array(crime_ref, dtype="string"),
            "force": area.force,
            "area": area.name,
            "role": area.role,
            "crime_type": crimes.crime_type,
            "offence_code": crimes.ho,
            "recorded_date": crimes.recorded.astype("datetime64[ns]"),
            "suspect_identified": outc.identified,
            "n_suspects": n_sus,
            "outcome_key": np.array(tg.OUTCOME_KEYS, dtype=object)[outc.key],
            "ho_outcome_type": np.array([tg.HO_OUTCOME_TYPE[k] for k in tg.OUTCOME_KEYS])[outc.key],
            "outcome_date": outc.police_date.astype("datetime64[ns]"),
            "final_outcome": final_label,
            "final_date": final_date,
            "last_outcome": last,
            "oocd": outc.oocd,
            "oocd_without_intervention": outc.oocd_base,
            "treated": outc.treated,
            "days_to_outcome": outc.days,
            "days_to_outcome_without_intervention": outc.days_base.astype(np.int64),
        }
    )


def _serials(prefix: str, n: int) -> np.ndarray:
    return (prefix + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(7)).to_numpy(dtype=object)


def _restricted_tables(spec, index, geo, crimes, outc, sus, lines, crime_ref, r_rec, r_fault) -> dict:
    """crimes, suspects and the outcome records (with faults), truth, suspect_truth and the fault log.

    Named steps, called in a fixed order because they share the random streams ``r_rec`` (record
    values) and ``r_fault`` (faults): crimes, suspects, cautions, penalty notices, court lines, truth.
    """
    area, noise = spec.areas[index], spec.noise_profile
    end64 = np.datetime64(spec.end_date)
    pts = geo.points
    lon = np.where(crimes.located, pts["longitude"].to_numpy()[crimes.point], np.nan)
    lat = np.where(crimes.located, pts["latitude"].to_numpy()[crimes.point], np.nan)
    out: dict[str, pd.DataFrame] = {}
    out["crimes"] = _crime_rows(area, crimes, crime_ref, pts, lon, lat)
    person, suspect_ref, out["suspects"], out["suspect_truth"] = _suspect_rows(
        area, noise, sus, crime_ref, r_rec
    )
    dob = person["date_of_birth"].to_numpy().astype("datetime64[D]")
    age_years = _age_years(crimes.committed[sus.crime], dob)
    ctx = _RecordContext(
        noise, r_fault, person, sus.crime, crime_ref, crimes.committed, crimes.ho, area.force
    )
    disposal_date = outc.police_date[sus.crime]
    out["cautions"], cs, caution_id, cfaults = _caution_rows(
        index, noise, ctx, sus, disposal_date, age_years, end64, r_rec
    )
    out["penalty_notices"], ps, pnd_id, pfaults = _penalty_notice_rows(
        index, noise, ctx, sus, crimes, disposal_date, lon, lat, end64, r_rec
    )
    out["court_outcomes"], record_id, slots_c, kfaults = _court_rows(
        index, area, noise, ctx, sus, crimes, lines, end64
    )
    out["truth"] = _truth_rows(
        area,
        crime_ref,
        sus,
        suspect_ref,
        [
            ("cautions", caution_id, cs),
            ("penalty_notices", pnd_id, ps),
            ("court_outcomes", record_id, slots_c),
        ],
    )
    out["faults"] = pd.concat([*cfaults, pfaults, kfaults], ignore_index=True)
    return out


def _crime_rows(area, crimes, crime_ref, pts, lon, lat) -> pd.DataFrame:
    """The crimes extract: one row per recorded crime, its map point and LSOA where located."""
    return pd.DataFrame(
        {
            "crime_ref": crime_ref,
            "force": area.force,
            "offence_code": crimes.ho,
            "crime_type": crimes.crime_type,
            "committed_date": crimes.committed.astype("datetime64[ns]"),
            "recorded_date": crimes.recorded.astype("datetime64[ns]"),
            "longitude": lon,
            "latitude": lat,
            "lsoa_code": np.where(
                crimes.located, pts["lsoa_code"].to_numpy(dtype=object)[crimes.point], None
            ),
        }
    )


def _suspect_rows(area, noise, sus, crime_ref, r_rec):
    """(person per suspect slot, suspect_ref, suspects extract, suspect_truth); draws PNC and postcode
    gaps from ``r_rec``."""
    slots = len(sus.crime)
    person = sus.people.iloc[sus.person].reset_index(drop=True)
    suspect_ref = ("S" + pd.Series(sus.number).astype(str)).to_numpy(dtype=object)
    sus_pnc = np.where(
        r_rec.random(slots) < noise.suspect_pnc_missing, None, person["pnc_id"].to_numpy(dtype=object)
    )
    postcode = np.where(r_rec.random(slots) < 0.2, None, person["postcode"].to_numpy(dtype=object))
    # Issue 13: a blank date of birth on the suspect side, from a spawned generator (other draws unchanged).
    dob_blank = r_rec.spawn(1)[0].random(slots) < noise.suspect_dob_blank
    sus_dob = pd.Series(person["date_of_birth"].to_numpy()).astype("datetime64[ns]").mask(dob_blank)
    suspects = pd.DataFrame(
        {
            "crime_ref": crime_ref[sus.crime],
            "force": area.force,
            "suspect_ref": suspect_ref,
            "forename": person["forename"].to_numpy(dtype=object),
            "surname": person["surname"].to_numpy(dtype=object),
            "date_of_birth": sus_dob.to_numpy(),
            "sex": person["sex"].to_numpy(dtype=object),
            "pnc_id": sus_pnc,
            "postcode": postcode,
        }
    )
    suspect_truth = pd.DataFrame(
        {
            "crime_ref": crime_ref[sus.crime],
            "force": area.force,
            "suspect_ref": suspect_ref,
            "person_id": person["person_id"].to_numpy(dtype=object),
            "outcome_key": np.array(tg.OUTCOME_KEYS, dtype=object)[sus.key],
        }
    )
    return person, suspect_ref, suspects, suspect_truth


def _caution_rows(index, noise, ctx, sus, disposal_date, age_years, end64, r_rec):
    """(cautions extract, suspect slots, caution ids, [record faults, crime_ref faults]) for cautions
    given by the period end, in date order; youth and conditional shares from the targets."""
    cs = np.flatnonzero((sus.key == CAUTION) & (disposal_date <= end64))
    cs = cs[np.lexsort((cs, disposal_date[cs]))]
    youth = age_years[cs] < 18
    cond = r_rec.random(len(cs)) < np.where(
        youth, tg.YOUTH_CONDITIONAL_CAUTION_SHARE, tg.CONDITIONAL_CAUTION_SHARE
    )
    ctype = np.where(
        youth,
        np.where(cond, "youth conditional caution", "youth caution"),
        np.where(cond, "adult conditional caution", "adult simple caution"),
    )
    caution_id = _serials(f"CA{index:02d}", len(cs))
    cautions, cfaults = ctx.records(
        "cautions",
        cs,
        caution_id,
        disposal_date[cs],
        noise.pnc_missing_caution,
        noise.offence_altered_caution,
    )
    cautions = cautions.rename(columns={"disposal_date": "caution_date"})
    cautions.insert(0, "caution_id", caution_id)
    cautions["caution_type"] = ctype
    cautions["crime_ref"], ref_faults = ctx.crime_refs(cs, caution_id)
    return cautions, cs, caution_id, [cfaults, ref_faults]


def _penalty_notice_rows(index, noise, ctx, sus, crimes, disposal_date, lon, lat, end64, r_rec):
    """(penalty notices extract, suspect slots, notice ids, faults) for notices issued by the period end;
    the notice location is the crime's map point."""
    ps = np.flatnonzero((sus.key == PND) & (disposal_date <= end64))
    ps = ps[np.lexsort((ps, disposal_date[ps]))]
    pnd_id = _serials(f"PN{index:02d}", len(ps))
    pnds, pfaults = ctx.records("penalty_notices", ps, pnd_id, disposal_date[ps], noise.pnc_missing_pnd, None)
    pnds = pnds.rename(columns={"disposal_date": "issue_date"})
    pnds.insert(0, "pnd_id", pnd_id)
    pnds["pnd_offence"] = _pnd_offence(crimes.ho[sus.crime[ps]], crimes.crime_type[sus.crime[ps]], r_rec)
    pnds["longitude"] = lon[sus.crime[ps]]
    pnds["latitude"] = lat[sus.crime[ps]]
    pnds["status"] = np.array(list(tg.PND_STATUS_P), dtype=object)[
        _draw_index(r_rec, list(tg.PND_STATUS_P.values()), len(ps))
    ]
    return pnds, ps, pnd_id, pfaults


def _court_rows(index, area, noise, ctx, sus, crimes, lines, end64):
    """(court outcomes extract, record ids ``case_id:offence_seq``, suspect slots, faults): lines heard
    by the period end, numbered within case (charged lines before TICs, then by offence date)."""
    lines = lines[lines["hearing"] <= end64].copy()
    lines["crime_seq"] = sus.crime[lines["slot"].to_numpy()]
    lines["offence_date"] = crimes.committed[lines["crime_seq"].to_numpy()].astype("datetime64[ns]")
    lines["tic_order"] = lines["tic"].notna()
    lines = lines.sort_values(
        ["crown", "case_no", "tic_order", "offence_date", "crime_seq", "slot"], kind="stable"
    )
    number = pd.Series(lines["case_no"].to_numpy() + 1).astype(str).str.zfill(7).to_numpy()
    lines["case_id"] = (np.where(lines["crown"], "T", "M") + f"{index:02d}" + number).astype(object)
    lines["offence_seq"] = lines.groupby("case_id", sort=False).cumcount().to_numpy() + 1
    lines = lines.sort_values(["hearing", "case_id", "offence_seq"], kind="stable").reset_index(drop=True)
    record_id = (lines["case_id"] + ":" + lines["offence_seq"].astype(str)).to_numpy(dtype=object)
    slots_c = lines["slot"].to_numpy()
    courts, kfaults = ctx.records(
        "court_outcomes",
        slots_c,
        record_id,
        lines["hearing"].to_numpy(),
        noise.pnc_missing_court,
        noise.offence_altered_court,
    )
    courts = courts.rename(columns={"disposal_date": "hearing_date"})
    courts.insert(0, "case_id", lines["case_id"].to_numpy(dtype=object))
    courts.insert(1, "offence_seq", lines["offence_seq"].astype(str).to_numpy(dtype=object))
    court_names = np.where(lines["crown"], f"{area.name} Crown Court", f"{area.name} Magistrates' Court")
    courts.insert(2, "court", court_names.astype(object))
    courts["verdict"] = lines["verdict"].to_numpy(dtype=object)
    courts["disposal"] = lines["disposal"].to_numpy(dtype=object)
    courts["tic"] = lines["tic"].to_numpy(dtype=object)
    return courts, record_id, slots_c, kfaults


def _truth_rows(area, crime_ref, sus, suspect_ref, parts) -> pd.DataFrame:
    """The linkage truth: for each (source, record ids, suspect slots) the crime and suspect disposed of."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "source": source,
                    "record_id": np.asarray(ids, dtype=object),
                    "crime_ref": crime_ref[sus.crime[sl]],
                    "force": area.force,
                    "suspect_ref": suspect_ref[sl],
                }
            )
            for source, ids, sl in parts
        ],
        ignore_index=True,
    )


def _disposals(rng: np.random.Generator, ctype: np.ndarray) -> np.ndarray:
    """A disposal per convicted line, the custody weight scaled by crime type (:data:`tg.CUSTODY_FACTOR`)."""
    names = np.array(list(tg.DISPOSAL_P), dtype=object)
    base = np.array(list(tg.DISPOSAL_P.values()))
    factor = pd.Series(ctype).map(tg.CUSTODY_FACTOR).fillna(1.0).to_numpy()
    w = np.tile(base, (len(ctype), 1))
    w[:, 0] *= factor
    cum = np.cumsum(w / w.sum(1, keepdims=True), axis=1)
    idx = (rng.random(len(ctype))[:, None] > cum).sum(1)
    return names[np.minimum(idx, len(names) - 1)]


def _pnd_offence(ho: np.ndarray, ctype: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    table = pnd_offences()
    exact = _choose_in_groups(
        np.asarray(ho, dtype=object),
        table["ho_code"].to_numpy(dtype=object),
        table["pnd_offence"].to_numpy(dtype=object),
        rng,
    )
    by_type = _choose_in_groups(
        np.asarray(ctype, dtype=object),
        table["police_uk_category"].to_numpy(dtype=object),
        table["pnd_offence"].to_numpy(dtype=object),
        rng,
    )
    anything = table["pnd_offence"].to_numpy(dtype=object)[rng.integers(0, len(table), len(ho))]
    return np.where(pd.isna(exact), np.where(pd.isna(by_type), anything, by_type), exact)


@dataclass
class _RecordContext:
    noise: NoiseProfile
    rng: np.random.Generator
    person: pd.DataFrame
    s_crime: np.ndarray
    crime_ref: np.ndarray
    committed: np.ndarray
    ho: np.ndarray
    force: str

    def records(self, source, slots, record_id, disposal_date, pnc_missing, altered_rate):
        """Person fields, PNC, offence code and dates of outcome records, with faults; and the fault log."""
        nz, rng = self.noise, self.rng
        n = len(slots)
        p = self.person.iloc[slots]
        log: list[tuple[str, np.ndarray]] = []
        fore = p["forename"].to_numpy(dtype=object).copy()
        sur = p["surname"].to_numpy(dtype=object).copy()
        middle = p["middle_name"].to_numpy(dtype=object)
        m = rng.random(n) < nz.nickname
        nick, has = flt.nicknames(fore[m], rng)
        fore[m] = nick
        log.append(("nickname", _ids(record_id, m, has)))
        m = (rng.random(n) < nz.middle_name) & ~pd.isna(middle)
        fore[m] = fore[m] + " " + middle[m]
        log.append(("middle_name", _ids(record_id, m)))
        m = rng.random(n) < nz.name_typo
        which = rng.random(n) < 0.5
        mf, ms = m & which, m & ~which
        fore[mf] = flt.keyboard_typos(fore[mf], rng)
        sur[ms] = flt.keyboard_typos(sur[ms], rng)
        log.append(("name_typo", _ids(record_id, m)))
        m = rng.random(n) < nz.name_swap
        fore[m], sur[m] = sur[m], fore[m].copy()
        log.append(("name_swap", _ids(record_id, m)))
        m = rng.random(n) < nz.alias
        sur[m] = draw_surnames(rng, int(m.sum()))
        log.append(("alias", _ids(record_id, m)))
        dob = pd.Series(p["date_of_birth"].to_numpy()).astype("datetime64[ns]")
        m = rng.random(n) < nz.dob_day_month_swap
        swapped, did = flt.dob_day_month_swap(dob[m])
        dob[m] = swapped.to_numpy()
        log.append(("dob_day_month_swap", _ids(record_id, m, did)))
        m = rng.random(n) < nz.dob_digit
        dob[m] = flt.dob_wrong_digit(dob[m], rng).to_numpy()
        log.append(("dob_digit", _ids(record_id, m)))
        sex = p["sex"].to_numpy(dtype=object).copy()
        m = rng.random(n) < nz.sex_unknown
        sex[m] = "U"
        log.append(("sex_unknown", _ids(record_id, m)))
        missing = rng.random(n) < pnc_missing
        short = (rng.random(n) < nz.pnc_short) & ~missing
        pnc = format_pnc(p["pnc_year"].to_numpy(), p["pnc_serial"].to_numpy(), short)
        pnc = np.where(missing, None, pnc)
        log.append(("pnc_missing", _ids(record_id, missing)))
        log.append(("pnc_short", _ids(record_id, short)))
        crimes = self.s_crime[slots]
        offence_date = pd.Series(self.committed[crimes].astype("datetime64[ns]"))
        m = rng.random(n) < nz.offence_date_shift
        offence_date[m] = flt.shift_days(offence_date[m], rng, 14).to_numpy()
        log.append(("offence_date_shift", _ids(record_id, m)))
        ddate = pd.Series(np.asarray(disposal_date).astype("datetime64[ns]"))
        m = rng.random(n) < nz.disposal_date_shift
        ddate[m] = flt.shift_days(ddate[m], rng, 7).to_numpy()
        log.append(("disposal_date_shift", _ids(record_id, m)))
        frame = pd.DataFrame(
            {
                "record_id": np.asarray(record_id, dtype=object),
                "force": self.force,
                "forename": fore,
                "surname": sur,
                "date_of_birth": dob.to_numpy(),
                "sex": sex,
                "pnc_id": pnc,
            }
        )
        if altered_rate is not None:
            m = rng.random(n) < altered_rate
            frame["offence_code_cjs"] = cjs_codes_for(self.ho[crimes], m, rng)
            log.append(("offence_altered", _ids(record_id, m)))
        frame["offence_date"] = offence_date.to_numpy()
        frame["disposal_date"] = ddate.to_numpy()
        log.extend(self._more_faults(frame, record_id, rng.spawn(1)[0]))
        frame = frame.drop(columns="record_id")
        faults = pd.concat(
            [pd.DataFrame({"source": source, "record_id": ids, "fault": name}) for name, ids in log],
            ignore_index=True,
        )
        return frame, faults

    def _more_faults(self, frame, record_id, rng):
        """Faults of issue 13 (blank, mistyped or impossible DOBs, surname changes, CJS codes outside the
        crosswalk), applied in place from their own generator; returns the fault log entries."""
        nz = self.noise
        n = len(frame)
        log: list[tuple[str, np.ndarray]] = []
        sur = frame["surname"].to_numpy(dtype=object).copy()
        m = rng.random(n) < nz.surname_change
        sur[m] = flt.surname_changes(sur[m], draw_surnames(rng, int(m.sum())), rng)
        frame["surname"] = sur
        log.append(("surname_change", _ids(record_id, m)))
        dob = pd.Series(frame["date_of_birth"].to_numpy()).astype("datetime64[ns]")
        m = rng.random(n) < nz.dob_year_slip
        dob[m] = flt.dob_year_slip(dob[m], rng).to_numpy()
        log.append(("dob_year_slip", _ids(record_id, m)))
        m = rng.random(n) < nz.dob_transpose
        new, did = flt.dob_transpose(dob[m], rng)
        dob[m] = new.to_numpy()
        log.append(("dob_transpose", _ids(record_id, m, did)))
        m = rng.random(n) < nz.dob_month_digit
        new, did = flt.dob_month_digit(dob[m], rng)
        dob[m] = new.to_numpy()
        log.append(("dob_month_digit", _ids(record_id, m, did)))
        m = rng.random(n) < nz.dob_blank
        dob[m] = pd.NaT
        log.append(("dob_blank", _ids(record_id, m)))
        frame["date_of_birth"] = dob.to_numpy()
        if "offence_code_cjs" in frame.columns:
            m = rng.random(n) < nz.cjs_unlisted
            listed = set(cjs_offences()["cjs_code"].astype(str))
            codes = frame["offence_code_cjs"].to_numpy(dtype=object).copy()
            codes[m] = flt.unlisted_cjs_codes(codes[m], listed, rng)
            frame["offence_code_cjs"] = codes
            log.append(("cjs_unlisted", _ids(record_id, m)))
        return log

    def crime_refs(self, slots, record_id):
        """Hand-typed crime references of cautions: blank, mistyped or another crime's, at noise rates."""
        nz, rng = self.noise, self.rng
        n = len(slots)
        refs = self.crime_ref[self.s_crime[slots]].copy()
        blank = rng.random(n) < nz.crime_ref_blank
        wrong = (rng.random(n) < nz.crime_ref_wrong) & ~blank
        typo = wrong & (rng.random(n) < 0.5)
        other = wrong & ~typo
        if typo.any():
            refs[typo] = flt.digit_typo(refs[typo].astype(str), rng, last=6)
        if other.any():
            refs[other] = self.crime_ref[rng.integers(0, len(self.crime_ref), other.sum())]
        refs = np.where(blank, None, refs)
        faults = pd.concat(
            [
                pd.DataFrame(
                    {"source": "cautions", "record_id": _ids(record_id, blank), "fault": "crime_ref_blank"}
                ),
                pd.DataFrame(
                    {"source": "cautions", "record_id": _ids(record_id, wrong), "fault": "crime_ref_wrong"}
                ),
            ],
            ignore_index=True,
        )
        return refs, faults


def _ids(record_id, mask, applied=None) -> np.ndarray:
    ids = np.asarray(record_id, dtype=object)[mask]
    if applied is not None:
        ids = ids[np.asarray(applied, dtype=bool)]
    return ids


def _public_view(rng, area, geo, crimes, crime_truth, events, hidden, arrays: _Crimes, months):
    """police.uk street and outcomes rows of one area (canonical column names)."""
    n = len(crimes)
    pts = geo.points
    point, located = arrays.point, arrays.located
    crime_id = flt.hex_ids(rng, n)
    month = crimes["recorded_date"].dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    loc = np.where(located, pts["location"].to_numpy(dtype=object)[point], "No Location")
    lsoa_name = np.where(located, pts["lsoa_name"].to_numpy(dtype=object)[point], None)
    street = pd.DataFrame(
        {
            "crime_id": crime_id,
            "month": month.to_numpy(),
            "reported_by": area.force,
            "falls_within": area.force,
            "longitude": crimes["longitude"].to_numpy(),
            "latitude": crimes["latitude"].to_numpy(),
            "location": loc,
            "lsoa_code": crimes["lsoa_code"].to_numpy(dtype=object),
            "lsoa_name": lsoa_name,
            "crime_type": crimes["crime_type"].to_numpy(dtype=object),
            "last_outcome": crime_truth["last_outcome"].to_numpy(dtype=object),
            "context": None,
        }
    )
    # Anti-social behaviour: public view only, no Crime ID, no outcome.
    ratio = tg.asb_ratio(area.crime_mix, geo.observed_mix)
    per_month = rng.poisson(area.crimes_per_month * ratio, len(months))
    m = int(per_month.sum())
    if geo.type_counts is not None and geo.type_counts["Anti-social behaviour"].sum() > 0:
        w = geo.type_counts["Anti-social behaviour"].to_numpy(float)
    else:
        w = pts["weight"].to_numpy(float)
    apoint = _draw_index(rng, w, m)
    alocated = rng.random(m) >= geo.no_location_share
    asb = pd.DataFrame(
        {
            "crime_id": None,
            "month": np.repeat(months.to_numpy(), per_month).astype("datetime64[ns]"),
            "reported_by": area.force,
            "falls_within": area.force,
            "longitude": np.where(alocated, pts["longitude"].to_numpy()[apoint], np.nan),
            "latitude": np.where(alocated, pts["latitude"].to_numpy()[apoint], np.nan),
            "location": np.where(alocated, pts["location"].to_numpy(dtype=object)[apoint], "No Location"),
            "lsoa_code": np.where(alocated, pts["lsoa_code"].to_numpy(dtype=object)[apoint], None),
            "lsoa_name": np.where(alocated, pts["lsoa_name"].to_numpy(dtype=object)[apoint], None),
            "crime_type": "Anti-social behaviour",
            "last_outcome": None,
            "context": None,
        }
    )
    street = (
        pd.concat([street, asb], ignore_index=True).sort_values("month", kind="stable").reset_index(drop=True)
    )
    # Outcomes file rows: one per published event, court events hidden after mid-2019.
    ev = events[~hidden.to_numpy()]
    c = ev["crime"].to_numpy()
    outcomes = pd.DataFrame(
        {
            "crime_id": crime_id[c],
            "month": pd.DatetimeIndex(ev["date"]).to_period("M").to_timestamp().astype("datetime64[ns]"),
            "reported_by": area.force,
            "falls_within": area.force,
            "longitude": crimes["longitude"].to_numpy()[c],
            "latitude": crimes["latitude"].to_numpy()[c],
            "location": loc[c],
            "lsoa_code": crimes["lsoa_code"].to_numpy(dtype=object)[c],
            "lsoa_name": lsoa_name[c],
            "outcome_type": ev["label"].to_numpy(dtype=object),
        }
    )
    dup = rng.random(len(outcomes)) < tg.PUBLIC_DUPLICATE_SHARE
    outcomes = pd.concat([outcomes, outcomes[dup]]).sort_values("month", kind="stable").reset_index(drop=True)
    return street, outcomes
