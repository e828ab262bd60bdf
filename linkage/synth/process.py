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
    CRIME_TYPES,
    DISPOSALS,
    cjs_offences,
    compatible_groups,
    court_outcome_label,
    offence_codes,
    pnd_offences,
)
from linkage.synth import faults as flt
from linkage.synth import targets as tg
from linkage.synth.geography import load_geography
from linkage.synth.people import format_pnc, make_people
from linkage.synth.spec import NoiseProfile, WorldSpec

logger = logging.getLogger(__name__)

CRIME_CATEGORIES = tuple(t for t in CRIME_TYPES if t != "Anti-social behaviour")
_KEY = {k: i for i, k in enumerate(tg.OUTCOME_KEYS)}
_OOCD = np.array([_KEY[k] for k in tg.OOCD_KEYS])
NS, EVID, CHARGE, TIC, CAUTION, PND = (
    _KEY[k] for k in ("no_suspect", "evidential", "charge", "tic", "caution", "penalty_notice")
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


def generate_area(spec: WorldSpec, index: int, seed: int) -> AreaParts:
    """All tables of area ``index`` of ``spec``."""
    area = spec.areas[index]
    r_geo, r_crime, r_out, r_sus, r_court, r_rec, r_fault, r_pub = _rngs(seed, index)
    noise = spec.noise_profile
    end = spec.end_date
    geo = load_geography(dict(area.geography), r_geo, where=f"areas[{index}].geography")
    mix = tg.crime_mix(area.crime_mix, geo.observed_mix)

    # --- crimes --------------------------------------------------------------------------------------------
    months = spec.month_starts
    per_month = r_crime.poisson(area.crimes_per_month, len(months))
    n = int(per_month.sum())
    m_idx = np.repeat(np.arange(len(months)), per_month)
    dim = months.days_in_month.to_numpy()[m_idx]
    day = np.floor(r_crime.random(n) * dim).astype(np.int64)
    recorded = months.to_numpy()[m_idx] + day.astype("timedelta64[D]")
    lag = np.where(
        r_crime.random(n) < tg.RECORDING_LAG_SAME_DAY, 0, np.round(r_crime.lognormal(np.log(7.0), 1.2, n))
    ).astype(np.int64)
    committed = recorded - lag.astype("timedelta64[D]")
    types = np.array(CRIME_CATEGORIES, dtype=object)
    t_idx = _draw_index(r_crime, mix.reindex(CRIME_CATEGORIES).to_numpy(), n)
    order = np.lexsort((t_idx, recorded))  # stable order by recorded date, then type
    recorded, committed, t_idx = recorded[order], committed[order], t_idx[order]
    ho = np.empty(n, dtype=object)
    point = np.empty(n, dtype=np.int64)
    offmix = tg.offence_mix()
    pts = geo.points
    for ti, ctype in enumerate(CRIME_CATEGORIES):
        sel = np.flatnonzero(t_idx == ti)
        if not len(sel):
            continue
        sub = offmix[offmix["crime_type"] == ctype]
        ho[sel] = sub["ho_code"].to_numpy(dtype=object)[
            _draw_index(r_crime, sub["offences"].to_numpy(), len(sel))
        ]
        w = pts["weight"].to_numpy(float)
        if geo.type_counts is not None and geo.type_counts[ctype].sum() > 0:
            w = geo.type_counts[ctype].to_numpy(float)
        point[sel] = _draw_index(r_crime, w, len(sel))
    located = r_crime.random(n) >= geo.no_location_share
    crime_type = types[t_idx]

    # --- outcome process (final outcomes, before censoring) -----------------------------------------------
    # Each crime's outcome probabilities: its type's row, with the charge share scaled by the offence
    # code's relative charge rate (national 2017/18) and the other outcomes scaled to keep the row at 1.
    type_rates = tg.outcome_rates().reindex(list(CRIME_CATEGORIES)).to_numpy()
    rates = type_rates[t_idx]
    mult = pd.Series(ho).map(tg.charge_multipliers()).fillna(1.0).to_numpy()
    p_type = rates[:, CHARGE].copy()
    p_charge = np.minimum(p_type * mult, tg.MAX_CHARGE_SHARE)
    rates *= ((1.0 - p_charge) / np.maximum(1.0 - p_type, 1e-12))[:, None]
    rates[:, CHARGE] = p_charge
    cum = np.cumsum(rates, axis=1)
    base = (r_out.random(n)[:, None] > cum).sum(axis=1).clip(0, len(tg.OUTCOME_KEYS) - 1)
    go_live = spec.go_live
    treated = np.full(n, area.role == "trailblazer" and go_live is not None) & (
        recorded >= (np.datetime64(go_live) if go_live is not None else np.datetime64("NaT"))
    )
    key = base.copy()
    identified = base != NS
    is_oocd = np.isin(base, _OOCD)
    p_oocd = rates[:, _OOCD].sum(axis=1) / np.maximum(1.0 - rates[:, NS], 1e-12)
    delta = spec.intervention.oocd_pp / 100.0
    v = r_out.random(n)
    if delta > 0:
        prob = np.clip(delta / np.maximum(1.0 - p_oocd, 1e-12), 0, 1)
        switch = treated & identified & ~is_oocd & (v < prob)
        oocd_w = rates[:, _OOCD]
        pick = (r_out.random(n)[:, None] > np.cumsum(oocd_w / oocd_w.sum(1, keepdims=True), 1)).sum(1)
        key = np.where(switch, _OOCD[np.minimum(pick, len(_OOCD) - 1)], key)
    elif delta < 0:
        prob = np.clip(-delta / np.maximum(p_oocd, 1e-12), 0, 1)
        switch = treated & identified & is_oocd & (v < prob)
        other = rates.copy()
        other[:, _OOCD] = 0.0
        other[:, NS] = 0.0
        other[:, TIC] = 0.0
        pick = (r_out.random(n)[:, None] > np.cumsum(other / other.sum(1, keepdims=True), 1)).sum(1)
        key = np.where(switch, np.minimum(pick, len(tg.OUTCOME_KEYS) - 1), key)
    else:
        r_out.random(n)  # keep the stream position independent of the intervention
    del cum

    # Days from recording to the police outcome (charge date for charges). The same normal draw gives the
    # days of the outcome with the intervention (key) and without it (base): the counterfactual.
    med = np.array([tg.DAYS_TO_OUTCOME.get(k, (1.0, 1.0))[0] for k in tg.OUTCOME_KEYS])
    sig = np.array([tg.DAYS_TO_OUTCOME.get(k, (1.0, 1.0))[1] for k in tg.OUTCOME_KEYS])
    z = r_out.standard_normal(n)
    summary_type = np.isin(crime_type, tg.SUMMARY_TYPES)

    def draw_days(k: np.ndarray) -> np.ndarray:
        d = np.round(med[k] * np.exp(sig[k] * z))
        return np.where(summary_type & (k == CHARGE), np.minimum(d, tg.SUMMARY_CHARGE_LIMIT_DAYS), d)

    days_base = draw_days(base)
    shift = spec.intervention.days_to_outcome
    days = draw_days(key)
    days = np.where(treated & identified, np.maximum(days + np.round(shift), 0), days).astype(np.int64)
    police_date = recorded + days.astype("timedelta64[D]")

    # --- suspects and people -------------------------------------------------------------------------------
    extra = np.where(
        r_sus.random(n) < tg.EXTRA_SUSPECT_SHARE, r_sus.geometric(1 - tg.THIRD_SUSPECT_SHARE, n), 0
    )
    n_sus = np.where(identified, 1 + np.where(key == TIC, 0, extra), 0)
    s_crime = np.repeat(np.arange(n), n_sus)
    s_no = np.arange(len(s_crime)) - np.repeat(np.cumsum(n_sus) - n_sus, n_sus) + 1
    slots = len(s_crime)
    pool = max(20, int(np.ceil(slots * tg.POOL_PER_SUSPECT)))
    people = make_people(r_sus, pool, months[0], prefix=f"A{index:02d}P")
    propensity = r_sus.pareto(tg.PROPENSITY_PARETO, pool) + 1.0
    s_person = _draw_index(r_sus, propensity, slots)
    # Co-suspects of one crime are different people.
    dup = s_no > 1
    for _ in range(5):
        prev_same = np.zeros(slots, dtype=bool)
        prev_same[1:] = (s_person[1:] == s_person[:-1]) & (s_crime[1:] == s_crime[:-1])
        if not (prev_same & dup).any():
            break
        s_person = np.where(prev_same & dup, (s_person + 1) % pool, s_person)
    same = r_sus.random(slots) < tg.CO_SUSPECT_SAME_OUTCOME
    s_key = np.where((s_no == 1) | same, key[s_crime], EVID)

    # --- court: charged suspects, cases, verdicts ---------------------------------------------------------
    charge_date = police_date
    ch = np.flatnonzero(s_key == CHARGE)
    first_hearing = charge_date[s_crime[ch]] + np.round(
        tg.DAYS_CHARGE_TO_HEARING[0] * np.exp(tg.DAYS_CHARGE_TO_HEARING[1] * r_court.standard_normal(len(ch)))
    ).astype("timedelta64[D]")
    o = np.lexsort((s_crime[ch], charge_date[s_crime[ch]], s_person[ch]))
    ch, first_hearing = ch[o], first_hearing[o]
    cdate = charge_date[s_crime[ch]]
    newcase = np.ones(len(ch), dtype=bool)
    if len(ch) > 1:
        gap = (cdate[1:] - cdate[:-1]).astype("timedelta64[D]").astype(np.int64)
        newcase[1:] = (s_person[ch][1:] != s_person[ch][:-1]) | (gap > tg.CASE_WINDOW_DAYS)
    case_no = np.cumsum(newcase) - 1
    n_cases = int(case_no.max() + 1) if len(ch) else 0
    case_hearing = np.full(n_cases, np.datetime64("1970-01-01"), dtype="datetime64[D]")
    if len(ch):
        np.maximum.at(case_hearing, case_no, first_hearing.astype("datetime64[D]"))
    hearing = case_hearing[case_no].astype("datetime64[ns]")
    verdict = np.array(list(tg.VERDICT_P), dtype=object)[
        _draw_index(r_court, list(tg.VERDICT_P.values()), len(ch))
    ]
    ctype_ch = crime_type[s_crime[ch]]
    disposal = _disposals(r_court, ctype_ch)
    convicted = np.isin(verdict, ["guilty", "guilty plea"])
    disposal = np.where(convicted, disposal, None)
    court_lines = pd.DataFrame(
        {
            "slot": ch,
            "case_no": case_no,
            "hearing": hearing,
            "verdict": verdict,
            "disposal": disposal,
            "tic": None,
            "crown": False,
        }
    )
    # Crown Court: lines sent up get a second record at the Crown Court, months later.
    sent = np.flatnonzero(verdict == "sent to Crown Court")
    crown_delay = np.round(
        tg.DAYS_TO_CROWN_COURT[0] * np.exp(tg.DAYS_TO_CROWN_COURT[1] * r_court.standard_normal(len(sent)))
    )
    crown_case_delay = pd.Series(crown_delay).groupby(case_no[sent]).transform("max").to_numpy()
    crown_verdict = np.array(list(tg.CROWN_VERDICT_P), dtype=object)[
        _draw_index(r_court, list(tg.CROWN_VERDICT_P.values()), len(sent))
    ]
    crown_disposal = _disposals(r_court, ctype_ch[sent])
    crown_disposal = np.where(np.isin(crown_verdict, ["guilty", "guilty plea"]), crown_disposal, None)
    crown = pd.DataFrame(
        {
            "slot": ch[sent],
            "case_no": case_no[sent],
            "hearing": hearing[sent] + crown_case_delay.astype("timedelta64[D]"),
            "verdict": crown_verdict,
            "disposal": crown_disposal,
            "tic": None,
            "crown": True,
        }
    )
    # TICs: a TIC crime joins a convicted magistrates' case of the same area heard after it was committed.
    tic_crimes = np.flatnonzero(key == TIC)
    tic_slots = np.flatnonzero((s_key == TIC) & (s_no == 1))
    first_line = court_lines.drop_duplicates("case_no")
    hosts = first_line[np.isin(first_line["verdict"], ["guilty", "guilty plea"])].sort_values(
        ["hearing", "case_no"], kind="stable"
    )
    h_dates = hosts["hearing"].to_numpy()
    need = committed[tic_crimes] + np.timedelta64(tg.TIC_HOST_MIN_DAYS, "D")
    lo = np.searchsorted(h_dates, need.astype("datetime64[ns]"), side="left")
    avail = len(hosts) - lo
    pick = lo + np.floor(r_court.random(len(tic_crimes)) * np.minimum(avail, 20)).astype(np.int64)
    ok = avail > 0
    host_rows = hosts.iloc[pick[ok]] if ok.any() else hosts.iloc[:0]
    tic_ok_slots = tic_slots[ok]
    s_person[tic_ok_slots] = s_person[host_rows["slot"].to_numpy()]
    tic_lines = pd.DataFrame(
        {
            "slot": tic_ok_slots,
            "case_no": host_rows["case_no"].to_numpy(),
            "hearing": host_rows["hearing"].to_numpy(),
            "verdict": host_rows["verdict"].to_numpy(),
            "disposal": host_rows["disposal"].to_numpy(),
            "tic": "Y",
            "crown": False,
        }
    )
    # TIC crimes without a host case end as evidential difficulties (suspect identified, no record).
    failed = tic_crimes[~ok]
    key[failed] = EVID
    evid_days = np.round(med[EVID] * np.exp(sig[EVID] * z[failed]))
    days_base[failed] = evid_days
    days[failed] = np.where(treated[failed], np.maximum(evid_days + np.round(shift), 0), evid_days)
    police_date[failed] = recorded[failed] + days[failed].astype("timedelta64[D]")
    s_key[tic_slots[~ok]] = EVID
    police_date[tic_crimes[ok]] = host_rows["hearing"].to_numpy().astype("datetime64[D]")
    # A TIC's outcome date is its host case's hearing, with or without the intervention.
    host_days = (
        (police_date[tic_crimes[ok]] - recorded[tic_crimes[ok]]).astype("timedelta64[D]").astype(np.int64)
    )
    days[tic_crimes[ok]] = host_days
    days_base[tic_crimes[ok]] = host_days
    lines = pd.concat([court_lines, crown, tic_lines], ignore_index=True)

    # Final court label of each charged crime (primary suspect; Crown result when sent up).
    lines["label"] = court_outcome_label(lines["verdict"], lines["disposal"]).to_numpy()
    primary = lines[(s_no[lines["slot"].to_numpy()] == 1) & lines["tic"].isna()].sort_values(
        ["slot", "crown"], kind="stable"
    )
    prim_first = primary.drop_duplicates("slot", keep="first")
    prim_last = primary.drop_duplicates("slot", keep="last")

    # --- truth per crime ------------------------------------------------------------------------------------
    yy = pd.DatetimeIndex(recorded).year.to_numpy()
    seq = pd.Series(np.arange(n)).groupby(yy).cumcount().to_numpy() + 1
    prefix = force_initials(area.force)
    crime_ref = (
        f"{prefix}/"
        + pd.Series(yy % 100).astype(str).str.zfill(2)
        + f"/{index:02d}"
        + pd.Series(seq).astype(str).str.zfill(6)
    ).to_numpy(dtype=object)
    final_label = np.array([tg.OUTCOME_LABEL[k] for k in tg.OUTCOME_KEYS], dtype=object)[key]
    final_date = police_date.astype("datetime64[ns]").copy()
    pc = s_crime[prim_last["slot"].to_numpy()]
    final_label[pc] = prim_last["label"].to_numpy()
    final_date[pc] = prim_last["hearing"].to_numpy()
    # Charged crimes whose primary suspect's line was never created cannot exist (primary always shares key).
    end64 = np.datetime64(end)
    # police.uk events (label, date) per crime, in order.
    ev_crime = [np.arange(n)]
    police_labels = np.array([tg.OUTCOME_LABEL[k] for k in tg.OUTCOME_KEYS], dtype=object)
    ev_label = [np.where(key == CHARGE, "Suspect charged", police_labels[key])]
    ev_date = [police_date.astype("datetime64[ns]")]
    mag_first = prim_first[~prim_first["crown"]]
    pcs = s_crime[mag_first["slot"].to_numpy()]
    ev_crime.append(pcs)
    ev_label.append(mag_first["label"].to_numpy(dtype=object))
    ev_date.append(mag_first["hearing"].to_numpy())
    crown_prim = primary[primary["crown"]]
    ev_crime.append(s_crime[crown_prim["slot"].to_numpy()])
    ev_label.append(crown_prim["label"].to_numpy(dtype=object))
    ev_date.append(crown_prim["hearing"].to_numpy())
    events = pd.DataFrame(
        {
            "crime": np.concatenate(ev_crime),
            "label": np.concatenate(ev_label).astype(object),
            "date": np.concatenate(ev_date).astype("datetime64[ns]"),
            "stage": np.concatenate([np.zeros(n, int), np.ones(len(pcs), int), np.full(len(crown_prim), 2)]),
        }
    )
    # Court results reach police.uk months after the hearing (the record has to come back to the police).
    court_ev = events["stage"].to_numpy() > 0
    lag = np.round(
        tg.PUBLIC_COURT_LAG_DAYS[0] * np.exp(tg.PUBLIC_COURT_LAG_DAYS[1] * r_pub.standard_normal(len(events)))
    )
    events["date"] = events["date"] + pd.to_timedelta(np.where(court_ev, lag, 0), unit="D")
    events = events[events["date"] <= end64].sort_values(["crime", "stage"], kind="stable")
    court_stage = events["stage"] > 0
    hidden = court_stage & (
        (events["date"] >= tg.COURT_RESULT_UNAVAILABLE_FROM)
        & (r_pub.random(len(events)) < tg.COURT_RESULT_UNAVAILABLE_SHARE)
    )
    last = pd.Series("Under investigation", index=np.arange(n), dtype=object)
    latest = events.drop_duplicates("crime", keep="last")
    last[latest["crime"].to_numpy()] = np.where(
        hidden[latest.index].to_numpy(), "Court result unavailable", latest["label"].to_numpy()
    )
    charged_waiting = (key == CHARGE) & (police_date <= end64) & (last.to_numpy() == "Suspect charged")
    waiting_label = np.where(
        np.datetime64(tg.COURT_RESULT_UNAVAILABLE_FROM) <= police_date.astype("datetime64[ns]"),
        "Court result unavailable",
        "Awaiting court outcome",
    )
    last[charged_waiting] = waiting_label[charged_waiting]
    final_oocd = np.isin(key, _OOCD)
    crime_truth = pd.DataFrame(
        {
            "crime_ref": pd.array(crime_ref, dtype="string"),
            "force": area.force,
            "area": area.name,
            "role": area.role,
            "crime_type": crime_type,
            "offence_code": ho,
            "recorded_date": recorded.astype("datetime64[ns]"),
            "suspect_identified": identified,
            "n_suspects": n_sus,
            "outcome_key": np.array(tg.OUTCOME_KEYS, dtype=object)[key],
            "ho_outcome_type": np.array([tg.HO_OUTCOME_TYPE[k] for k in tg.OUTCOME_KEYS])[key],
            "outcome_date": police_date.astype("datetime64[ns]"),
            "final_outcome": final_label,
            "final_date": final_date,
            "last_outcome": last.to_numpy(dtype=object),
            "oocd": final_oocd,
            "oocd_without_intervention": is_oocd,
            "treated": treated,
            "days_to_outcome": days,
            "days_to_outcome_without_intervention": days_base.astype(np.int64),
        }
    )
    # --- restricted tables ---------------------------------------------------------------------------------
    lon = np.where(located, pts["longitude"].to_numpy()[point], np.nan)
    lat = np.where(located, pts["latitude"].to_numpy()[point], np.nan)
    lsoa = np.where(located, pts["lsoa_code"].to_numpy(dtype=object)[point], None)
    crimes = pd.DataFrame(
        {
            "crime_ref": crime_ref,
            "force": area.force,
            "offence_code": ho,
            "crime_type": crime_type,
            "committed_date": committed.astype("datetime64[ns]"),
            "recorded_date": recorded.astype("datetime64[ns]"),
            "longitude": lon,
            "latitude": lat,
            "lsoa_code": lsoa,
        }
    )
    person = people.iloc[s_person].reset_index(drop=True)
    suspect_ref = ("S" + pd.Series(s_no).astype(str)).to_numpy(dtype=object)
    sus_pnc = np.where(
        r_rec.random(slots) < noise.suspect_pnc_missing, None, person["pnc_id"].to_numpy(dtype=object)
    )
    postcode = np.where(r_rec.random(slots) < 0.2, None, person["postcode"].to_numpy(dtype=object))
    suspects = pd.DataFrame(
        {
            "crime_ref": crime_ref[s_crime],
            "force": area.force,
            "suspect_ref": suspect_ref,
            "forename": person["forename"].to_numpy(dtype=object),
            "surname": person["surname"].to_numpy(dtype=object),
            "date_of_birth": person["date_of_birth"].to_numpy(),
            "sex": person["sex"].to_numpy(dtype=object),
            "pnc_id": sus_pnc,
            "postcode": postcode,
        }
    )
    suspect_truth = pd.DataFrame(
        {
            "crime_ref": crime_ref[s_crime],
            "force": area.force,
            "suspect_ref": suspect_ref,
            "person_id": person["person_id"].to_numpy(dtype=object),
            "outcome_key": np.array(tg.OUTCOME_KEYS, dtype=object)[s_key],
        }
    )
    age_years = (committed[s_crime] - person["date_of_birth"].to_numpy().astype("datetime64[D]")).astype(
        np.int64
    ) / 365.25
    ctx = _RecordContext(noise, r_fault, person, s_crime, crime_ref, committed, ho, crime_type, area.force)

    # Cautions
    cs = np.flatnonzero((s_key == CAUTION) & (police_date[s_crime] <= end64))
    cs = cs[np.lexsort((cs, police_date[s_crime[cs]]))]
    youth = age_years[cs] < 18
    cond = r_rec.random(len(cs)) < np.where(youth, 0.10, tg.CONDITIONAL_CAUTION_SHARE)
    ctype = np.where(
        youth,
        np.where(cond, "youth conditional caution", "youth caution"),
        np.where(cond, "adult conditional caution", "adult simple caution"),
    )
    caution_id = f"CA{index:02d}" + pd.Series(np.arange(1, len(cs) + 1)).astype(str).str.zfill(7).to_numpy(
        dtype=object
    )
    cautions, cfaults = ctx.records(
        "cautions",
        cs,
        caution_id,
        police_date[s_crime[cs]],
        noise.pnc_missing_caution,
        noise.offence_altered_caution,
    )
    cautions = cautions.rename(columns={"disposal_date": "caution_date"})
    cautions.insert(0, "caution_id", caution_id)
    cautions["caution_type"] = ctype
    ref_out, ref_faults = ctx.crime_refs(cs, caution_id)
    cautions["crime_ref"] = ref_out
    cfaults = pd.concat([cfaults, ref_faults], ignore_index=True)

    # Penalty notices
    ps = np.flatnonzero((s_key == PND) & (police_date[s_crime] <= end64))
    ps = ps[np.lexsort((ps, police_date[s_crime[ps]]))]
    pnd_id = f"PN{index:02d}" + pd.Series(np.arange(1, len(ps) + 1)).astype(str).str.zfill(7).to_numpy(
        dtype=object
    )
    pnds, pfaults = ctx.records(
        "penalty_notices", ps, pnd_id, police_date[s_crime[ps]], noise.pnc_missing_pnd, None
    )
    pnds = pnds.rename(columns={"disposal_date": "issue_date"})
    pnds.insert(0, "pnd_id", pnd_id)
    pnds["pnd_offence"] = _pnd_offence(ho[s_crime[ps]], crime_type[s_crime[ps]], r_rec)
    pnds["longitude"] = lon[s_crime[ps]]
    pnds["latitude"] = lat[s_crime[ps]]
    pnds["status"] = np.array(list(tg.PND_STATUS_P), dtype=object)[
        _draw_index(r_rec, list(tg.PND_STATUS_P.values()), len(ps))
    ]

    # Court outcomes
    lines = lines[lines["hearing"] <= end64].copy()
    lines["crime_seq"] = s_crime[lines["slot"].to_numpy()]
    lines["offence_date"] = committed[lines["crime_seq"].to_numpy()].astype("datetime64[ns]")
    lines["tic_order"] = lines["tic"].notna()
    lines = lines.sort_values(
        ["crown", "case_no", "tic_order", "offence_date", "crime_seq", "slot"], kind="stable"
    )
    case_key = np.where(lines["crown"], "T", "M")
    case_id = (
        case_key
        + f"{index:02d}"
        + pd.Series(lines["case_no"].to_numpy() + 1).astype(str).str.zfill(7).to_numpy()
    ).astype(object)
    lines["case_id"] = case_id
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
    courts.insert(
        2,
        "court",
        np.where(lines["crown"], f"{area.name} Crown Court", f"{area.name} Magistrates' Court").astype(
            object
        ),
    )
    courts["verdict"] = lines["verdict"].to_numpy(dtype=object)
    courts["disposal"] = lines["disposal"].to_numpy(dtype=object)
    courts["tic"] = lines["tic"].to_numpy(dtype=object)

    truth = pd.concat(
        [
            _truth("cautions", caution_id, cs, s_crime, crime_ref, suspect_ref, area.force),
            _truth("penalty_notices", pnd_id, ps, s_crime, crime_ref, suspect_ref, area.force),
            _truth("court_outcomes", record_id, slots_c, s_crime, crime_ref, suspect_ref, area.force),
        ],
        ignore_index=True,
    )
    fault_log = pd.concat([cfaults, pfaults, kfaults], ignore_index=True)

    # --- public view ---------------------------------------------------------------------------------------
    street, outcomes = _public_view(
        r_pub, spec, area, geo, crimes, crime_truth, events, hidden, point, located, mix, months
    )

    used = np.unique(s_person)
    people_out = people.iloc[used].drop(columns=["pnc_year", "pnc_serial"]).assign(area=area.name)
    tables = {
        "crimes": crimes,
        "suspects": suspects,
        "cautions": cautions,
        "penalty_notices": pnds,
        "court_outcomes": courts,
        "truth": truth,
        "people": people_out.reset_index(drop=True),
        "crime_truth": crime_truth,
        "suspect_truth": suspect_truth,
        "faults": fault_log,
        "street": street,
        "outcomes": outcomes,
    }
    tsel = treated & identified
    effect_sums = {
        "n_treated": float(treated.sum()),
        "n_treated_identified": float(tsel.sum()),
        "oocd_diff": float(final_oocd[tsel].sum() - is_oocd[tsel].sum()),
        "days_diff": float((days[tsel] - days_base[tsel]).sum()),
    }
    return AreaParts(tables, effect_sums)


def _disposals(rng: np.random.Generator, ctype: np.ndarray) -> np.ndarray:
    names = np.array(list(tg.DISPOSAL_P), dtype=object)
    assert set(names) <= set(DISPOSALS)
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


def _truth(source, record_id, slots, s_crime, crime_ref, suspect_ref, force) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": source,
            "record_id": np.asarray(record_id, dtype=object),
            "crime_ref": crime_ref[s_crime[slots]],
            "force": force,
            "suspect_ref": suspect_ref[slots],
        }
    )


@dataclass
class _RecordContext:
    noise: NoiseProfile
    rng: np.random.Generator
    person: pd.DataFrame
    s_crime: np.ndarray
    crime_ref: np.ndarray
    committed: np.ndarray
    ho: np.ndarray
    crime_type: np.ndarray
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
        frame = frame.drop(columns="record_id")
        faults = pd.concat(
            [pd.DataFrame({"source": source, "record_id": ids, "fault": name}) for name, ids in log],
            ignore_index=True,
        )
        return frame, faults

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


def _public_view(rng, spec, area, geo, crimes, crime_truth, events, hidden, point, located, mix, months):
    """police.uk street and outcomes rows of one area (canonical column names)."""
    n = len(crimes)
    pts = geo.points
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
            "longitude": street_lon(crimes, c),
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


def street_lon(crimes: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    """Longitude of crimes ``c`` (helper kept separate for readability)."""
    return crimes["longitude"].to_numpy()[c]
