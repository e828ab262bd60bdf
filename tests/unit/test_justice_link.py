"""The justice linker on a small hand-made world (expected links chosen by construction, noted inline),
plus the optimal conflict resolution and the crime-level result, each checked by hand."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from linkage.errors import ConfigError, LinkageError
from linkage.justice import (
    PUBLICATION_KEY_ENV,
    LinkSettings,
    link_outcomes,
    resolve_conflicts,
    synthetic_publication_key,
)
from linkage.justice.inputs import build_left
from linkage.justice.result import crime_outcome_table

F = "Testshire Police"
D = pd.Timestamp


def _world() -> dict[str, pd.DataFrame]:
    crimes = pd.DataFrame(
        {
            "crime_ref": ["C1", "C2", "C3", "C4", "C5", "C6", "C7"],
            "force": F,
            "offence_code": ["8N", "46", "58D", "34B", "46", "49", "49"],
            "crime_type": [
                "Violence and sexual offences",
                "Shoplifting",
                "Criminal damage and arson",
                "Robbery",
                "Shoplifting",
                "Other theft",
                "Other theft",
            ],
            "committed_date": pd.to_datetime(
                [
                    "2020-01-10",
                    "2020-03-01",
                    "2020-02-01",
                    "2020-04-01",
                    "2020-05-05",
                    "2020-06-01",
                    "2020-04-20",
                ]
            ),
            "recorded_date": pd.to_datetime(
                [
                    "2020-01-11",
                    "2020-03-01",
                    "2020-02-02",
                    "2020-04-01",
                    "2020-05-05",
                    "2020-06-02",
                    "2020-04-21",
                ]
            ),
            "longitude": [-0.09, -0.091, -0.092, -0.093, -0.094, np.nan, -0.095],
            "latitude": [51.515, 51.516, 51.517, 51.518, 51.519, np.nan, 51.52],
            "lsoa_code": ["E01000001"] * 5 + [None, "E01000002"],
        }
    )
    people = {
        "A": ("John", "Smith", "1990-05-03", "M", "2008/0012345Z"),
        "B": ("Mary", "Jones", "1985-07-21", "F", None),
        "P": ("Peter", "Brown", "1995-11-30", "M", "2012/0543210K"),
        "Q": ("Paul", "Green", "1993-02-14", "M", "2011/0222222B"),
        "W": ("Alan", "White", "1970-01-09", "M", None),
    }
    rows = [("C1", "1", "A"), ("C2", "1", "A"), ("C3", "1", "B"), ("C4", "1", "P"), ("C4", "2", "Q"),
            ("C5", "1", "W"), ("C7", "1", "P")]  # fmt: skip
    suspects = pd.DataFrame(
        [
            {
                "crime_ref": c,
                "force": F,
                "suspect_ref": s,
                "forename": people[p][0],
                "surname": people[p][1],
                "date_of_birth": D(people[p][2]),
                "sex": people[p][3],
                "pnc_id": people[p][4],
                "postcode": None,
            }
            for c, s, p in rows
        ]  # fmt: skip
    )
    cautions = pd.DataFrame(
        {
            # k1: A for C1, PNC in short form, offence recorded as ABH (8N); k2: B for C3, crime_ref typed.
            "caution_id": ["k1", "k2"],
            "force": F,
            "forename": ["Jon", "Mary"],
            "surname": ["Smith", "Jones"],
            "date_of_birth": pd.to_datetime(["1990-05-03", "1985-07-21"]),
            "sex": ["M", "F"],
            "pnc_id": ["08/12345Z", None],
            "offence_code_cjs": ["OF61047", "CD71001"],
            "offence_date": pd.to_datetime(["2020-01-10", "2020-02-01"]),
            "caution_date": pd.to_datetime(["2020-02-01", "2020-03-15"]),
            "caution_type": ["adult simple caution", "adult conditional caution"],
            "crime_ref": [None, "C3"],
        }
    )
    pnds = pd.DataFrame(
        {
            # n1: A for C2 (shoplifting, on the day, near the crime point); n2: W for C5.
            "pnd_id": ["n1", "n2"],
            "force": F,
            "forename": ["John", "Alan"],
            "surname": ["Smith", "White"],
            "date_of_birth": pd.to_datetime(["1990-05-03", "1970-01-09"]),
            "sex": ["M", "M"],
            "pnc_id": [None, None],
            "pnd_offence": ["Retail theft under £100", "Retail theft under £100"],
            "offence_date": pd.to_datetime(["2020-03-01", "2020-05-05"]),
            "issue_date": pd.to_datetime(["2020-03-01", "2020-05-05"]),
            "longitude": [-0.0911, -0.0941],
            "latitude": [51.5161, 51.5191],
            "status": ["paid", "unpaid"],
        }
    )
    court = pd.DataFrame(
        {
            # case X: P, line 1 robbery (C4), line 2 theft (C7). case Y: Q, robbery (C4, suspect 2).
            "case_id": ["X", "X", "Y"],
            "offence_seq": ["1", "2", "1"],
            "court": "Testshire Magistrates' Court",
            "force": F,
            "forename": ["Peter", "Peter", "Paul"],
            "surname": ["Brown", "Brown", "Green"],
            "date_of_birth": pd.to_datetime(["1995-11-30", "1995-11-30", "1993-02-14"]),
            "sex": "M",
            "pnc_id": ["2012/0543210K", "2012/0543210K", "11/0222222B"],
            "offence_code_cjs": ["TH68018", "TH68001", "TH68018"],
            "offence_date": pd.to_datetime(["2020-04-01", "2020-04-20", "2020-04-01"]),
            "hearing_date": pd.to_datetime(["2020-09-01", "2020-09-01", "2020-10-01"]),
            "verdict": ["guilty plea", "guilty plea", "not guilty"],
            "disposal": ["immediate custody", "fine", None],
            "tic": [None, None, None],
        }
    )
    crimes, suspects = _add_background(crimes, suspects)
    cautions, pnds, court = _background_outcomes(crimes, suspects, cautions, pnds, court)
    return {"crimes": crimes, "suspects": suspects, "cautions": cautions, "penalty_notices": pnds,
            "court_outcomes": court}  # fmt: skip


_FORENAMES = ["Adam", "Beth", "Carl", "Dana", "Evan", "Fern", "Gary", "Hana", "Ivan", "Jade", "Kurt", "Lena"]
_SURNAMES = ["Archer", "Baker", "Cole", "Doyle", "Evans", "Fox", "Grant", "Hale", "Irwin", "Jarvis"]


def _add_background(crimes: pd.DataFrame, suspects: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """120 other crimes, each with a different person who has no outcome record: the non-matches that
    random-pair u estimates need (12 x 10 distinct names, dates of birth a week apart)."""
    n = 120
    refs = [f"B{i:03d}" for i in range(n)]
    bg_crimes = pd.DataFrame(
        {
            "crime_ref": refs,
            "force": F,
            "offence_code": ["46", "8N", "58D", "49"] * (n // 4),
            "crime_type": "Other crime",
            "committed_date": pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(n) * 3, unit="D"),
            "recorded_date": pd.Timestamp("2020-01-02") + pd.to_timedelta(np.arange(n) * 3, unit="D"),
            "longitude": -0.1,
            "latitude": 51.5,
            "lsoa_code": "E01000003",
        }
    )
    bg_suspects = pd.DataFrame(
        {
            "crime_ref": refs,
            "force": F,
            "suspect_ref": "1",
            "forename": [_FORENAMES[i % 12] for i in range(n)],
            "surname": [_SURNAMES[i // 12] for i in range(n)],
            "date_of_birth": pd.Timestamp("1960-01-01") + pd.to_timedelta(np.arange(n) * 7, unit="D"),
            "sex": "M",
            "pnc_id": [f"2000/{i:07d}A" for i in range(n)],
            "postcode": None,
        }
    )
    return pd.concat([crimes, bg_crimes], ignore_index=True), pd.concat(
        [suspects, bg_suspects], ignore_index=True
    )


_CJS = {"46": "TH68010", "8N": "OF61047", "58D": "CD71001", "49": "TH68001"}  # from cjs_offences.csv
_PND = {"46": "Retail theft under £100", "58D": "Destroying or damaging property under £300"}


def _background_outcomes(crimes, suspects, cautions, pnds, court):
    """Clean outcome records for some background crimes (record ids starting 'b'), so each source has
    enough records for the EM: cautions for B000-B029, penalty notices for the shoplifting and damage
    crimes among B030-B059, court lines for B060-B089. Each is the crime's own suspect, recorded exactly."""
    bg = crimes[crimes["crime_ref"].str.startswith("B")].merge(suspects, on=["force", "crime_ref"])
    bg = bg.reset_index(drop=True)
    person = {c: bg[c] for c in ("forename", "surname", "date_of_birth", "sex", "pnc_id")}

    def part(lo, hi):
        return bg.iloc[lo:hi]

    c = part(0, 30)
    bc = pd.DataFrame(
        {
            "caution_id": "b" + c["crime_ref"],
            "force": F,
            **{k: v.iloc[0:30].to_numpy() for k, v in person.items()},
            "offence_code_cjs": c["offence_code"].map(_CJS).to_numpy(),
            "offence_date": c["committed_date"].to_numpy(),
            "caution_date": (c["committed_date"] + pd.Timedelta(days=20)).to_numpy(),
            "caution_type": "adult simple caution",
            "crime_ref": None,
        }
    )
    p = part(30, 60)
    p = p[p["offence_code"].isin(list(_PND))]
    bp = pd.DataFrame(
        {
            "pnd_id": "b" + p["crime_ref"],
            "force": F,
            **{k: p[k].to_numpy() for k in person},
            "pnd_offence": p["offence_code"].map(_PND).to_numpy(),
            "offence_date": p["committed_date"].to_numpy(),
            "issue_date": (p["committed_date"] + pd.Timedelta(days=1)).to_numpy(),
            "longitude": p["longitude"].to_numpy(),
            "latitude": p["latitude"].to_numpy(),
            "status": "paid",
        }
    )
    k = part(60, 90)
    bk = pd.DataFrame(
        {
            "case_id": "b" + k["crime_ref"],
            "offence_seq": "1",
            "court": "Testshire Magistrates' Court",
            "force": F,
            **{key: k[key].to_numpy() for key in person},
            "offence_code_cjs": k["offence_code"].map(_CJS).to_numpy(),
            "offence_date": k["committed_date"].to_numpy(),
            "hearing_date": (k["committed_date"] + pd.Timedelta(days=90)).to_numpy(),
            "verdict": "guilty",
            "disposal": "fine",
            "tic": None,
        }
    )
    return (
        pd.concat([cautions, bc], ignore_index=True),
        pd.concat([pnds, bp], ignore_index=True),
        pd.concat([court, bk], ignore_index=True),
    )


def test_build_left_one_row_per_crime_suspect():
    w = _world()
    left = build_left(w["crimes"], w["suspects"])
    assert len(left) == 7 + 120  # 7 suspect rows (C6 has no suspect) and 120 background rows
    assert left.loc[left["crime_ref"] == "C4", "suspect_ref"].tolist() == ["1", "2"]
    assert left.loc[left["crime_ref"] == "C1", "pnc_key"].iloc[0] == "08/0012345Z"


def test_link_small_world():
    w = _world()
    res = link_outcomes(w)
    got = {(r.source, r.record_id): (r.crime_ref, r.suspect_ref) for r in res.links.itertuples()}
    background = {k: v for k, v in got.items() if k[1].startswith("b")}
    # every background record links to the crime its id names ('b' + crime_ref), suspect 1
    assert background == {k: (k[1][1:].split(":")[0], "1") for k in background}
    assert len(background) == 30 + 15 + 30
    got = {k: v for k, v in got.items() if not k[1].startswith("b")}
    expected = {
        ("cautions", "k1"): ("C1", "1"),
        ("cautions", "k2"): ("C3", "1"),
        ("penalty_notices", "n1"): ("C2", "1"),
        ("penalty_notices", "n2"): ("C5", "1"),
        ("court_outcomes", "X:1"): ("C4", "1"),
        ("court_outcomes", "X:2"): ("C7", "1"),
        ("court_outcomes", "Y:1"): ("C4", "2"),
    }
    assert got == expected
    rules = res.links.set_index("record_id")["rule"]
    # k1: PNC same serial in the other form + same offence + caution 22 days after -> the PNC rule.
    assert rules["k1"] == "rule:pnc+offence+window"
    # k2: crime_ref exact, name and DOB exact -> the crime_ref rule.
    assert rules["k2"] == "rule:crime_ref+name+dob"
    assert set(res.models) == {"cautions", "penalty_notices", "court_outcomes"}
    assert res.unlinked.empty
    co = res.crime_outcomes.set_index("crime_ref")
    assert len(co) == 7 + 120  # one row per crime, C6 included
    # C4: prison (rank 7, suspect 1) and not guilty (rank 7, suspect 2, later date) -> the later one.
    assert co.loc["C4", "final_outcome"] == "Defendant found not guilty"
    assert co.loc["C4", "n_suspects"] == 2 and co.loc["C4", "n_outcome_records"] == 2
    assert co.loc["C1", "final_outcome"] == "Offender given a caution"
    assert pd.isna(co.loc["C6", "final_outcome"])
    cand = res.candidates
    assert {"l_surname", "r_surname", "match_weight", "linked"} <= set(cand.columns)


def test_police_uk_outcomes_file():
    res = link_outcomes(_world())
    out = res.to_police_uk_outcomes(lsoa_names={"E01000001": "Testshire 001A"}, synthetic_seed=0)
    assert list(out.columns) == [
        "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
        "LSOA code", "LSOA name", "Outcome type",
    ]  # fmt: skip
    assert len(out) == 7 + 75
    assert out["Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
    first = out[out["Month"] == "2020-02"].iloc[0]  # earliest hand-made outcome: caution k1, crime C1
    assert first["Month"] == "2020-02" and first["Outcome type"] == "Offender given a caution"
    assert first["LSOA name"] == "Testshire 001A"
    # Located to LSOA only by default: a restricted crimes table may hold exact locations.
    assert out["Longitude"].isna().all() and out["Latitude"].isna().all() and (out["Location"] == "").all()
    points = res.to_police_uk_outcomes(synthetic_seed=0, map_points=True)
    assert points["Longitude"].notna().any() and points["Latitude"].notna().any()


@pytest.mark.parametrize(
    ("lp", "rp", "score", "keep"),
    [
        # Greedy by score would take (0,0)=5 alone (total 5); the optimum is (0,1)+(1,0) = 8.
        ([0, 0, 1], [0, 1, 0], [5.0, 4.0, 4.0], [False, True, True]),
        # Two independent components, one a single pair; the other a 2x1 conflict won by the higher score.
        ([0, 1, 2], [0, 1, 1], [1.0, 2.0, 3.0], [True, False, True]),
        # Order of input does not matter: same as the first case, rows reversed.
        ([1, 0, 0], [0, 1, 0], [4.0, 4.0, 5.0], [True, True, False]),
    ],
)
def test_resolve_conflicts_by_hand(lp, rp, score, keep):
    assert resolve_conflicts(np.array(lp), np.array(rp), np.array(score)).tolist() == keep


def test_resolve_conflicts_rejects_non_positive():
    with pytest.raises(LinkageError, match="positive"):
        resolve_conflicts(np.array([0]), np.array([0]), np.array([0.0]))


def test_crime_outcome_ties_go_to_later_date():
    crimes = _world()["crimes"].iloc[:1]
    links = pd.DataFrame(
        {
            "source": ["cautions", "penalty_notices"],
            "record_id": ["a", "b"],
            "force": F,
            "crime_ref": "C1",
            "suspect_ref": ["1", "2"],
            # Both rank 3 (out-of-court disposals): the later one is the last outcome.
            "outcome_date": pd.to_datetime(["2020-03-01", "2020-02-01"]),
            "outcome_label": ["Offender given a caution", "Offender given penalty notice"],
        }
    )
    out = crime_outcome_table(crimes, _world()["suspects"], links)
    assert out.loc[0, "final_outcome"] == "Offender given a caution"
    assert out.loc[0, "final_outcome_source"] == "cautions"


def test_settings_from_dict_collects_every_problem():
    with pytest.raises(ConfigError) as err:
        LinkSettings.from_dict(
            {
                "sources": {
                    "cautions": {"threshold": 1.5, "long_days": 10, "typical_days": 20},
                    "parking": {},
                    "court_outcomes": {"rules": "yes", "colour": 1},
                },
                "seed": -1,
            }
        )
    text = str(err.value)
    assert len(err.value.problems) == 6
    for needle in ("threshold", "long_days", "parking", "rules", "colour", "seed"):
        assert needle in text


def test_settings_round_trip():
    s = LinkSettings.from_dict({"sources": {"penalty_notices": {"threshold": 0.8, "typical_days": 7}}})
    assert s.for_source("penalty_notices").threshold == 0.8
    assert s.for_source("penalty_notices").long_days == 120  # default kept
    assert LinkSettings.from_dict(s.to_dict()) == s


def test_link_command_writes_outputs_deterministically(tmp_path):
    from linkage.cli import main

    w = _world()
    data = tmp_path / "world" / "restricted"
    data.mkdir(parents=True)
    for name, frame in w.items():
        frame.to_csv(data / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    truth = pd.DataFrame(
        {
            "source": ["cautions", "cautions", "penalty_notices", "penalty_notices"] + ["court_outcomes"] * 3,
            "record_id": ["k1", "k2", "n1", "n2", "X:1", "X:2", "Y:1"],
            "crime_ref": ["C1", "C3", "C2", "C5", "C4", "C7", "C4"],
            "force": F,
            "suspect_ref": ["1", "1", "1", "1", "1", "1", "2"],
        }
    )
    bg = [
        (src, rid, rid[1:].split(":")[0])
        for src, key in (
            ("cautions", "caution_id"),
            ("penalty_notices", "pnd_id"),
            ("court_outcomes", "case_id"),
        )
        for rid in w[src][key]
        if rid.startswith("b")
    ]
    bg_truth = pd.DataFrame(
        {
            "source": [b[0] for b in bg],
            "record_id": [b[1] + (":1" if b[0] == "court_outcomes" else "") for b in bg],
            "crime_ref": [b[2] for b in bg],
            "force": F,
            "suspect_ref": "1",
        }
    )
    pd.concat([truth, bg_truth]).to_csv(data / "truth.csv", index=False)
    # A synthetic world's manifest: its seed keys the Crime IDs (test_link_command_needs_publication_key).
    manifest = {"generator": "linkage.synth test", "seed": 7}
    (tmp_path / "world" / "manifest.json").write_text(json.dumps(manifest))
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run
        argv = ["link", "--data", str(tmp_path / "world"), "--out", str(out), "--truth", "--no-progress"]
        assert main([*argv, "--review-sample", "20"]) == 0
        outs.append(out)
    for name in (
        "links.csv",
        "crime_outcomes.csv",
        "quality_by_source.csv",
        "models/cautions.json",
        "review_sample.csv",
        "police_uk_outcomes.csv",
    ):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    # Row accounting per input file, and every quarantined row kept (none in this clean world).
    accounting = pd.read_csv(outs[0] / "row_accounting.csv")
    assert (accounting["rows_read"] == accounting["accepted"] + accounting["quarantined"]).all()
    assert accounting.set_index("kind").loc["truth", "rows_read"] == len(pd.read_csv(data / "truth.csv"))
    assert len(pd.read_csv(outs[0] / "quarantine.csv")) == accounting["quarantined"].sum() == 0
    rows = json.loads((outs[0] / "run.json").read_text())["rows"]
    assert rows["rows_read"] == accounting["rows_read"].sum()
    quality = pd.read_csv(outs[0] / "quality_by_source.csv").set_index("source")
    assert quality.loc["all", "f1"] == 1.0  # every link of the hand-made world is right (see above)
    bad = tmp_path / "bad.yaml"
    bad.write_text("linkage:\n  sources:\n    cautions: {threshold: 2}\n")
    assert (
        main(
            ["link", "--data", str(tmp_path / "world"), "--out", str(tmp_path / "c"), "--settings", str(bad)]
        )
        == 2
    )


def test_rules_can_be_switched_off():
    settings = LinkSettings.from_dict(
        {"sources": {s: {"rules": False} for s in ("cautions", "court_outcomes")}}
    )
    res = link_outcomes(_world(), settings=settings, sources=["cautions", "court_outcomes"])
    assert not res.links["rule"].str.startswith("rule:").any()
    assert set(res.links["source"]) == {"cautions", "court_outcomes"}


def test_two_stage_model_supervised_alternative():
    """With clerical labels (here: the hand-made world's known links), both stages fit from labels and
    the labelled links outscore every other candidate of their record."""
    from linkage.justice.inputs import build_left, build_right
    from linkage.justice.model import TwoStageModel
    from linkage.justice.outcome_sources import source_spec
    from linkage.justice.settings import DEFAULT_SOURCES

    w = _world()
    left = build_left(w["crimes"], w["suspects"])
    right = build_right("court_outcomes", w["court_outcomes"])
    spec = source_spec("court_outcomes", DEFAULT_SOURCES["court_outcomes"])
    model = TwoStageModel(list(spec.comparisons), list(spec.blocking_rules))
    pairs = model.candidate_pairs_by_rule(left, right).index
    levels = model.compare(pairs, left, right)
    lrow = left.iloc[pairs.get_level_values(0)]
    rrow = right.iloc[pairs.get_level_values(1)]
    # The hand-made lines, and each background line 'b<crime_ref>:1' belongs to <crime_ref>, suspect 1.
    truth = {"X:1": ("C4", "1"), "X:2": ("C7", "1"), "Y:1": ("C4", "2")}
    truth |= {r: (r[1:-2], "1") for r in right["record_id"] if r.startswith("b")}
    is_match = [
        truth.get(r) == (c, s)
        for r, c, s in zip(rrow["record_id"], lrow["crime_ref"], lrow["suspect_ref"], strict=True)
    ]
    same_person = (lrow["pnc_key"].to_numpy() == rrow["pnc_key"].to_numpy()) | pd.Series(is_match).to_numpy()
    model.fit_supervised(levels, is_match, same_person)
    pred = model.predict(levels).assign(record=rrow["record_id"].to_numpy(), match=is_match)
    best = pred.sort_values("match_weight", ascending=False, kind="mergesort").drop_duplicates("record")
    assert best["match"].all()


def _crime_id_by_hand(key: bytes, force: str, crime_ref: str) -> str:
    """RFC 2104 HMAC-SHA256 written out with hashlib (independent of the hmac module used by the code)."""
    block = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block) + f"{force}|{crime_ref}".encode()).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in block) + inner).hexdigest()


def test_police_uk_crime_ids_are_keyed_not_plain_hashes(monkeypatch):
    """Review finding: an unsalted SHA-256 of force|crime_ref was reversed by enumerating references."""
    monkeypatch.delenv(PUBLICATION_KEY_ENV, raising=False)
    res = link_outcomes(_world())
    key = b"k" * 32
    out = res.to_police_uk_outcomes(key=key)
    merged = res.links.sort_values(
        ["outcome_date", "force", "crime_ref", "source", "record_id"], kind="mergesort"
    )
    forces, refs = merged["force"].tolist(), merged["crime_ref"].tolist()
    plain = [hashlib.sha256(f"{f}|{c}".encode()).hexdigest() for f, c in zip(forces, refs, strict=True)]
    assert not set(plain) & set(out["Crime ID"])  # the enumerable hash is gone
    by_hand = [_crime_id_by_hand(key, f, c) for f, c in zip(forces, refs, strict=True)]
    assert out["Crime ID"].tolist() == by_hand
    pd.testing.assert_frame_equal(out, res.to_police_uk_outcomes(key=key))  # deterministic per key
    other = res.to_police_uk_outcomes(key=b"q" * 32)
    assert not set(other["Crime ID"]) & set(out["Crime ID"])
    # The environment variable is the key when none is passed.
    monkeypatch.setenv(PUBLICATION_KEY_ENV, "k" * 32)
    pd.testing.assert_frame_equal(res.to_police_uk_outcomes(), out)


def test_police_uk_crime_ids_need_a_key_for_real_extracts(monkeypatch):
    monkeypatch.delenv(PUBLICATION_KEY_ENV, raising=False)
    res = link_outcomes(_world())
    with pytest.raises(LinkageError, match=PUBLICATION_KEY_ENV):
        res.to_police_uk_outcomes()
    with pytest.raises(LinkageError, match="at least 16 bytes"):
        res.to_police_uk_outcomes(key=b"short")
    # Synthetic worlds: a key derived from the seed, stable for a seed and different between seeds.
    a = res.to_police_uk_outcomes(synthetic_seed=3)
    pd.testing.assert_frame_equal(a, res.to_police_uk_outcomes(synthetic_seed=3))
    assert (a["Crime ID"] == res.to_police_uk_outcomes(key=synthetic_publication_key(3))["Crime ID"]).all()
    assert not set(a["Crime ID"]) & set(res.to_police_uk_outcomes(synthetic_seed=4)["Crime ID"])


def test_link_command_needs_publication_key(tmp_path, monkeypatch, capsys):
    from linkage.cli import main

    monkeypatch.delenv(PUBLICATION_KEY_ENV, raising=False)
    data = tmp_path / "extract"
    data.mkdir()
    for name, frame in _world().items():
        frame.to_csv(data / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    argv = ["link", "--data", str(data), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main(argv) == 2  # no synthetic manifest and no key: refuse to publish Crime IDs
    assert PUBLICATION_KEY_ENV in capsys.readouterr().err
    assert not (tmp_path / "o" / "police_uk_outcomes.csv").exists()
    monkeypatch.setenv(PUBLICATION_KEY_ENV, "a-test-key-of-32-bytes-length!!!")
    assert main(argv) == 0
    ids = pd.read_csv(tmp_path / "o" / "police_uk_outcomes.csv")["Crime ID"]
    assert ids.str.fullmatch(r"[0-9a-f]{64}").all()


def test_blank_dob_and_no_pnc_still_links_within_the_offence_window():
    # n2 (Alan White for C5) loses its DOB: no pass keyed on DOB or PNC can find it; the name passes
    # restricted to the offence-date window must, and the blank DOB must not count against it.
    w = _world()
    pnds = w["penalty_notices"].copy()
    pnds.loc[pnds["pnd_id"] == "n2", "date_of_birth"] = pd.NaT
    w["penalty_notices"] = pnds
    assert w["penalty_notices"].set_index("pnd_id")["date_of_birth"].isna().sum() == 1
    res = link_outcomes(w, sources=["penalty_notices"])
    got = res.links.set_index("record_id")
    assert (got.loc["n2", "crime_ref"], got.loc["n2", "suspect_ref"]) == ("C5", "1")
    cand = res.candidates
    n2 = cand[(cand["record_id"] == "n2") & cand["linked"]]
    assert n2["blocking_rule"].iloc[0].endswith("[window]")
    assert (n2["level_dob"] == -1).all()  # missing: neutral


def test_pass_completeness_with_truth():
    w = _world()
    links = link_outcomes(w).links
    truth = links[["source", "record_id", "force", "crime_ref", "suspect_ref"]]  # the hand-checked links
    res = link_outcomes(w, truth=truth)
    pc = res.pass_completeness
    assert set(pc["source"]) == {"cautions", "penalty_notices", "court_outcomes"}
    overall = pc[pc["blocking_rule"] == "all passes"].set_index("source")
    assert (overall["completeness"] == 1.0).all()
    assert (pc["found"] <= pc["true_pairs"]).all()
    pnc = pc[(pc["source"] == "court_outcomes") & (pc["blocking_rule"] == "pnc")]
    assert int(pnc["found"].iloc[0]) >= 3  # X:1, X:2, Y:1 carry PNC IDs on both sides


def test_ambiguous_crime_is_reported_with_its_candidates():
    from linkage.justice.assignment import ambiguous_crimes

    # one record (right 0), one person with two crimes (left 0, 1): each crime alone is below the
    # threshold (0.45 each) but together the person is clear -> linked to the better one, flagged.
    lpos, rpos = np.array([0, 1]), np.array([0, 0])
    keep = np.zeros(2, dtype=bool)
    new, tied = ambiguous_crimes(
        lpos, rpos, lpos, keep, np.array([-0.2, -0.3]), np.array([0.99, 0.99]), np.array([0.45, 0.45]), 0.5
    )
    assert new.tolist() == [True, False]
    assert tied.tolist() == ["1", ""]
    # a different person (low person probability) is never an ambiguous candidate
    new, _ = ambiguous_crimes(
        lpos, rpos, lpos, keep, np.array([-0.2, -0.3]), np.array([0.1, 0.99]), np.array([0.45, 0.45]), 0.5
    )
    assert not new.any()


def test_links_carry_the_ambiguity_columns():
    res = link_outcomes(_world())
    assert {"ambiguous", "candidate_crimes"} <= set(res.links.columns)
    assert not res.links["ambiguous"].any()  # the hand-made world separates every crime
    assert res.ambiguous.empty


def test_windowed_name_passes_join_within_the_offence_window():
    # The windowed passes' DateRange join gives exactly the pairs of the plain key join whose dates lie in
    # the offence-date window (a missing date on either side keeps the pair), as the former post-filter did.
    from linkage.engine import block_on
    from linkage.justice.link import in_offence_window
    from linkage.justice.outcome_sources import source_spec
    from linkage.justice.settings import LinkSettings

    rng = np.random.default_rng(11)
    day0 = pd.Timestamp("2024-01-01")

    def dates(n: int, span: int) -> pd.Series:
        out = pd.Series(day0 + pd.to_timedelta(rng.integers(0, span, n), unit="D"))
        return out.mask(rng.random(n) < 0.1)

    key = pd.array(rng.integers(0, 5, 80), dtype="UInt64")
    left = pd.DataFrame({"names_sdx_force": key[:50], "committed_date": dates(50, 300)})
    right = pd.DataFrame(
        {"names_sdx_force": key[50:], "offence_date": dates(30, 300), "outcome_date": dates(30, 400)}
    )
    spec = source_spec("penalty_notices", LinkSettings().for_source("penalty_notices"))
    rule = next(r for r in spec.blocking_rules if r.name == "names_soundex+force [window]")
    assert rule.window is not None and spec.window_days == 60
    whole = dataclasses.replace(rule, window=dataclasses.replace(rule.window, nearest=None, nearest_col=None))
    lp, rp = whole.pairs(left, right)
    plp, prp = block_on("names_sdx_force").pairs(left, right)
    near = in_offence_window(left, right, plp, prp, spec.window_days, tolerance_days=10**6)
    assert set(zip(lp.tolist(), rp.tolist(), strict=True)) == set(
        zip(plp[near].tolist(), prp[near].tolist(), strict=True)
    )
    assert len(lp) == len(set(zip(lp.tolist(), rp.tolist(), strict=True))) > 0
    # the pass itself keeps, of those, each dated record's nearest few crimes (engine 17i)
    klp, krp = rule.pairs(left, right)
    assert set(zip(klp.tolist(), krp.tolist(), strict=True)) < set(zip(lp.tolist(), rp.tolist(), strict=True))
    both = right["offence_date"].notna().to_numpy()[krp] & left["committed_date"].notna().to_numpy()[klp]
    kept, within = np.bincount(krp[both], minlength=len(right)), np.bincount(rp, minlength=len(right))
    assert (kept <= within).all() and (kept < within).any()  # fewer where the window held more


@pytest.mark.parametrize("source", ["cautions", "penalty_notices", "court_outcomes"])
def test_each_records_candidates_stay_bounded_as_a_force_grows(source):
    # An outcome whose person shares a date of birth (and PNC and surname) with ever more crimes in the
    # window: every dated pass keeps a bounded number of them, so candidates grow with the outcomes, not
    # with outcomes x crimes; and the crime committed on the offence date is always among them.
    from linkage.engine import generate_candidates
    from linkage.justice.outcome_sources import source_spec

    spec = source_spec(source, LinkSettings().for_source(source))
    dated = [r for r in spec.blocking_rules if r.window is not None]
    assert dated and all(r.window.nearest for r in dated)
    keys = {"pnc_key": 7, "dob_key": 19900101, "surname_sdx": 3, "dob_mmdd": 101}
    right = pd.DataFrame(
        {**{k: [v] for k, v in keys.items()}, "offence_date": [pd.Timestamp("2024-03-01")]}
    ).assign(outcome_date=pd.Timestamp("2024-03-02"))
    rules = [r for r in dated if all(isinstance(k, str) and k in keys for k in r.keys)]
    assert {r.name for r in rules} >= {"pnc", "dob", "dob+surname_soundex", "surname_soundex+birth_day_month"}
    counts = []
    for n in (1_000, 4_000):
        # one crime a day, alternately before and after the offence date, out to n / 2 days either side
        offset = (np.arange(n) // 2 + 1) * np.where(np.arange(n) % 2 == 0, -1, 1)
        offset[0] = 0
        day = right["offence_date"].iloc[0] + pd.to_timedelta(offset, unit="D")
        left = pd.DataFrame({k: [v] * n for k, v in keys.items()}).assign(committed_date=day)
        cands = generate_candidates(rules, left, right)
        counts.append(len(cands))
        on_the_day = np.flatnonzero(day == right["offence_date"].iloc[0])
        assert set(on_the_day[:1]) <= set(cands.left_pos.tolist())
    assert counts[0] == counts[1] <= sum(r.window.nearest for r in rules)


def test_person_keys_hash_the_same_parts_alike_in_any_frame():
    from linkage.justice.inputs import _hash_key, _text

    a = _hash_key(pd.Series(["S530", "S530", None]), pd.Series(["J500", "J500", "J500"]))
    b = _hash_key(pd.Series(["x", "S530"]), pd.Series(["y", "J500"]))
    assert a.iloc[0] == a.iloc[1] == b.iloc[1] != b.iloc[0]
    assert a.isna().tolist() == [False, False, True]  # a missing part: no key
    raw = pd.Series([" C1 ", "", "  ", None, "C1", "c1"], dtype=object)
    expected = raw.astype("string").str.strip()
    pd.testing.assert_series_equal(_text(raw), expected.mask(expected == ""))


@pytest.mark.parametrize(("fore", "sur"), [("brown", "PETER"), ("bRöwn", "pEtEr")])
def test_names_swapped_pass_folds_case_and_diacritics(fore: str, sur: str):
    # A court line with forename and surname swapped, typed in another case (and an accent): the
    # names_swapped pass must pair it with P's crime-suspects (Peter Brown) on the folded names.
    from linkage.justice.inputs import build_right
    from linkage.justice.outcome_sources import source_spec

    tables = _world()
    court = tables["court_outcomes"].iloc[[0]].assign(forename=fore, surname=sur)
    left = build_left(tables["crimes"], tables["suspects"])
    right = build_right("court_outcomes", court)
    spec = source_spec("court_outcomes", LinkSettings().for_source("court_outcomes"))
    rule = next(r for r in spec.blocking_rules if r.name == "names_swapped")
    lp, rp = rule.pairs(left, right)
    paired = set(left["crime_ref"].iloc[lp].astype(str))
    assert {"C4", "C7"} <= paired  # Peter Brown's two crimes
    assert (rp == 0).all()
