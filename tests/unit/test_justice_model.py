"""The two-stage model's arithmetic, checked against hand calculations."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from linkage.errors import LinkageError
from linkage.justice.model import TwoStageModel, combine_weights, fit_record_em, record_posterior


def test_record_posterior_by_hand():
    # One record, two candidates with summed log2 Bayes factors 1 and 0 (BF 2 and 1), pi = 0.5:
    # weights (pi/2)*2 = 0.5 and (pi/2)*1 = 0.25 against "none" (1 - pi) = 0.5; total 1.25.
    post, logit = record_posterior(np.array([1.0, 0.0]), np.array(["r1", "r1"]), 0.5)
    assert post.tolist() == pytest.approx([0.4, 0.2])
    # log2 odds of 0.4 = log2(0.5 / 0.75)
    assert logit[0] == pytest.approx(math.log2(0.5 / 0.75))


def test_record_posterior_records_are_independent():
    # r2's single candidate with BF 8 (3 bits), pi = 0.5: 0.5*8 / (0.5 + 0.5*8) = 8/9, whatever r1 holds.
    post, _ = record_posterior(np.array([1.0, 0.0, 3.0]), np.array(["r1", "r1", "r2"]), 0.5)
    assert post[2] == pytest.approx(8 / 9)


def test_combine_weights_by_hand():
    # sigmoid(0) * sigmoid(0) = 1/4 -> log2 odds log2(1/3); large weights stay finite and ordered.
    assert combine_weights(np.array([0.0]), np.array([0.0]))[0] == pytest.approx(math.log2(1 / 3))
    big = combine_weights(np.array([60.0, 60.0]), np.array([60.0, 70.0]))
    assert np.isfinite(big).all() and big[1] > big[0]
    # One certain stage leaves the other's weight: sigmoid(50)*sigmoid(2) ~ sigmoid(2).
    assert combine_weights(np.array([50.0]), np.array([2.0]))[0] == pytest.approx(2.0, abs=1e-6)


# --------------------------------------------------------------------------------------------- small world
@pytest.fixture(scope="module")
def small_world():
    """The 'small' synthetic preset, seed 1 (about 4,800 crimes, 270 court lines; ~2 s to generate)."""
    from linkage.synth import generate, preset

    world = generate(preset("small"), seed=1)
    return {n: world.table(n) for n in ("crimes", "suspects", "cautions", "court_outcomes", "truth")}


def _fit_source(tables, source: str):
    """Left, right, level frame and a two-stage model fitted as ``link_outcomes`` fits it."""
    from linkage.justice import LinkSettings, build_left, build_right, source_spec

    settings = LinkSettings().for_source(source)
    left = build_left(tables["crimes"], tables["suspects"])
    right = build_right(source, tables[source])
    spec = source_spec(source, settings)
    model = TwoStageModel(list(spec.comparisons), list(spec.blocking_rules))
    pairs = model.candidate_pairs_by_rule(left, right).index
    levels = model.compare(pairs, left, right)
    model.fit(levels, left, right, seed=0, max_iter=settings.max_em_iterations)
    return left, right, levels, model, spec


@pytest.fixture(scope="module")
def court(small_world):
    return _fit_source(small_world, "court_outcomes")


def test_parameters_round_trip_through_json_gives_identical_predictions(court, tmp_path):
    left, right, levels, model, spec = court
    text = json.dumps(model.to_parameters_dict(), sort_keys=True)
    data = json.loads(text)
    # Everything predict reads is in the dict (not just m and u): the record-level prior, the third class.
    assert data["crime_pi"] == model.crime_pi and data["u_different_person"]
    assert data["term_frequencies"]["name"]["values"]
    other = TwoStageModel.from_parameters_dict(data, spec.comparisons, spec.blocking_rules)
    expected = model.predict(levels)
    pd.testing.assert_frame_equal(other.predict(levels), expected)
    # Applied to data afresh (compare again with the loaded model), the predictions are the same too.
    fresh = other.compare(levels.index, left, right)
    pd.testing.assert_frame_equal(other.predict(fresh), expected)
    assert json.dumps(other.to_parameters_dict(), sort_keys=True) == text
    # A file round trip through save_parameters / load_parameters.
    model.save_parameters(tmp_path / "court.json")
    again = TwoStageModel.load_parameters(tmp_path / "court.json", spec.comparisons, spec.blocking_rules)
    pd.testing.assert_frame_equal(again.predict(levels), expected)


def test_parameters_for_another_spec_are_refused(court, small_world):
    from linkage.justice import LinkSettings, source_spec

    *_, model, _ = court
    cautions = source_spec("cautions", LinkSettings().for_source("cautions"))  # has crime_ref, no court_area
    with pytest.raises(LinkageError, match="comparisons"):
        TwoStageModel.from_parameters_dict(
            model.to_parameters_dict(), cautions.comparisons, cautions.blocking_rules
        )
    bad = {**model.to_parameters_dict(), "crime_pi": 1.5}
    with pytest.raises(LinkageError, match="crime_pi"):
        TwoStageModel.from_parameters_dict(bad, model.full.comparisons, model.full.blocking_rules)


def _pairs_to_explain(pred: pd.DataFrame, n_spread: int = 30) -> list:
    """Pairs spread over the whole frame plus every candidate of the three records with most
    same-person candidates (where the record-level step moves the weight most)."""
    spread = list(pred.index[:: max(len(pred) // n_spread, 1)])
    same = pred[pred["person_probability"] >= 0.9]
    busiest = same.index.get_level_values(1).value_counts(sort=True).index[:3]
    rivals = list(pred.index[pred.index.get_level_values(1).isin(busiest)])[:40]
    return spread + rivals


@pytest.mark.parametrize("source", ["court_outcomes", "cautions"])
def test_waterfall_ends_at_the_prediction(small_world, court, source):
    left, right, levels, model, _ = court if source == "court_outcomes" else _fit_source(small_world, source)
    pred = model.predict(levels)
    pairs = _pairs_to_explain(pred)
    kinds = set()
    for pair in pairs:
        table = model.waterfall(levels, pair)
        kinds |= set(table["kind"])
        assert np.isclose(
            table["cumulative_weight"].iloc[-1], pred.loc[pair, "match_weight"], rtol=0, atol=1e-9
        )
        assert np.isclose(table["match_probability"].iloc[-1], pred.loc[pair, "match_probability"], rtol=0)
        # Each stage's rows add up to its total, and each step moves the weight by its stated change.
        for stage, total in (("person", "person total"), ("crime", "crime total (this pair alone)")):
            rows = table[(table["stage"] == stage) & ~table["kind"].isin(["total", "record"])]
            subtotal = table.loc[table["step"] == total, "cumulative_weight"].item()
            assert np.isclose(rows["log2_bayes_factor"].sum(), subtotal, rtol=0, atol=1e-9)
        after = table.loc[table["kind"].isin(["record", "three-class"])]
        before = table["cumulative_weight"].shift().loc[after.index]
        assert np.allclose(before + after["log2_bayes_factor"], after["cumulative_weight"], rtol=0, atol=1e-9)
    # The pairs exercise the term-frequency row and the record-level step.
    assert {"term frequency", "record", "three-class"} <= kinds


def test_waterfall_person_stage_includes_the_name_term_frequency(court):
    _, _, levels, model, _ = court
    pred = model.predict(levels)
    exact = levels.index[(levels["name"] == 0).to_numpy() & levels["tf_name"].notna().to_numpy()]
    pair = exact[0]
    table = model.waterfall(levels, pair).set_index("step")
    rel = float(levels.loc[pair, "tf_name"])
    # The name row plus its term-frequency row is the name's Bayes factor predict used.
    name_bits = table.loc["name", "log2_bayes_factor"] + table.loc["name term frequency", "log2_bayes_factor"]
    assert table.loc["name term frequency", "log2_bayes_factor"] == pytest.approx(-math.log2(rel))
    assert name_bits == pytest.approx(pred.loc[pair, "bf_name"], abs=1e-5)  # bf_* are stored as float32
    assert table.loc["person total", "cumulative_weight"] == pytest.approx(
        math.log2(pred.loc[pair, "person_probability"] / (1 - pred.loc[pair, "person_probability"])), abs=1e-6
    )


def test_waterfall_chart_and_errors(court):
    _, _, levels, model, _ = court
    pair = levels.index[0]
    assert model.waterfall_chart(levels, pair).axes
    with pytest.raises(LinkageError, match="not"):
        model.waterfall(levels, (-1, -1))
    with pytest.raises(LinkageError, match="left_label, right_label"):
        model.waterfall(levels, 3)


def test_record_posterior_counts_one_crime_once():
    # Record r1: candidates A1 and A2 are the same crime (a suspect entered twice), B another crime.
    # log2 BFs 1, 1, 0 (BF 2, 2, 1), pi = 0.5. As alternatives {A, B}: A weighs (0.5/2)*2 = 0.5, B
    # (0.5/2)*1 = 0.25, none 0.5; total 1.25, so P(A) = 0.4 for both A rows and P(B) = 0.2.
    post, logit = record_posterior(np.array([1.0, 1.0, 0.0]), np.array(["r1"] * 3), 0.5, np.array([7, 7, 9]))
    assert post.tolist() == pytest.approx([0.4, 0.4, 0.2])
    assert logit[0] == pytest.approx(math.log2(0.5 / 0.75))
    # Without the crime key the duplicate splits A: weights 1/3, 1/3, 1/6 against 0.5 -> 0.25 each.
    post, _ = record_posterior(np.array([1.0, 1.0, 0.0]), np.array(["r1"] * 3), 0.5)
    assert post.tolist() == pytest.approx([0.25, 0.25, 0.125])


def test_a_suspect_entered_twice_on_one_crime_still_links(small_world):
    from linkage.justice import link_outcomes

    truth = small_world["truth"]
    key = ["force", "crime_ref", "suspect_ref"]
    picked = truth[truth["source"].isin(["cautions", "court_outcomes"])].groupby("source").head(4)
    suspects = small_world["suspects"]
    twice = suspects.merge(picked[key], on=key, validate="one_to_one")
    twice["suspect_ref"] = twice["suspect_ref"] + "b"  # same person, same crime, a second suspect row
    tables = {**small_world, "suspects": pd.concat([suspects, twice], ignore_index=True)}
    result = link_outcomes(tables, sources=["cautions", "court_outcomes"])
    links = result.links.set_index(["source", "record_id"])
    for row in picked.itertuples():
        link = links.loc[(row.source, row.record_id)]  # KeyError = left unlinked (the 0.5/0.5 split)
        assert link["crime_ref"] == row.crime_ref
        assert link["suspect_ref"] in {row.suspect_ref, row.suspect_ref + "b"}
        assert link["match_probability"] > 0.99


def _every_record_has_its_crime(seed: int = 0, n_records: int = 300, n_candidates: int = 4):
    """Levels of three yes/no comparisons: each record's first candidate is its crime (agrees with
    probability 0.9 on each), the others are the same person's other crimes (agree with probability 0.2).
    Every record has its crime among its candidates, so the maximum-likelihood pi is 1: on the boundary."""
    rng = np.random.default_rng(seed)
    p_agree = np.full((n_records, n_candidates, 3), 0.2)
    p_agree[:, 0, :] = 0.9
    agree = rng.random(p_agree.shape) < p_agree
    levels = pd.DataFrame((~agree).reshape(-1, 3).astype(np.int8), columns=["a", "b", "c"])
    return levels, np.repeat(np.arange(n_records), n_candidates)


def test_record_em_converges_when_pi_tends_to_one():
    from linkage.engine import ExactMatch, LinkageModel, block_on

    levels, records = _every_record_has_its_crime()

    def fitted(**kwargs):
        model = LinkageModel([ExactMatch("a"), ExactMatch("b"), ExactMatch("c")], [block_on("a")])
        result = fit_record_em(model, levels, records, **kwargs)
        bits = model.predict(levels).filter(like="bf_").to_numpy(float).sum(axis=1)
        return result, record_posterior(bits, records, result.pi)[0]

    # The old test (no parameter moves by 1e-6) needed 56 iterations here, over the old cap of 50, as pi
    # crept towards 1; the likelihood was flat long before.
    result, post = fitted(max_iter=50)
    assert result.converged and result.iterations < 50
    gains = np.diff(result.log_likelihood)
    assert abs(gains[-1]) < 1e-6 * len(levels)
    assert (gains > -1e-9).all()  # EM does not lower the likelihood
    # Run to the fixed point (no likelihood stop, tiny tol): pi is closer to 1, the posteriors barely move.
    exact, exact_post = fitted(max_iter=5_000, tol=1e-12, ll_tol=0.0)
    assert exact.pi > result.pi > 0.99
    assert np.abs(post - exact_post).max() < 0.01
    assert ((post > 0.5) == (exact_post > 0.5)).all()


def test_predict_without_intermediates_equals_the_full_scores_on_threads_and_chunks(court, monkeypatch):
    """predict computes in place (keep=False); it must give the full _scores' head and Bayes factors, and
    many small chunks on two threads the one serial pass."""
    import linkage.engine.kernels as kernels

    _, _, levels, model, _ = court
    monkeypatch.setattr(kernels, "THREADS", 1)
    full = model._scores(levels, keep=True)
    serial = model.predict(levels)
    monkeypatch.setattr(kernels, "THREADS", 2)
    monkeypatch.setattr(kernels, "RUN_CHUNK", 97)
    threaded = model.predict(levels)
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)
    head = ("match_weight", "match_probability", "person_probability", "crime_probability")
    np.testing.assert_array_equal(serial[list(head)].to_numpy().T, full["head"])
    np.testing.assert_array_equal(serial.filter(like="bf_").to_numpy().T, full["bf"])
    assert model.u_different_person and full["record_step"].any()  # the three-class and record paths ran
    np.testing.assert_array_equal(full["weight"], full["head"][0])
    empty = model.predict(levels.iloc[:0])
    assert len(empty) == 0 and list(empty.columns) == list(serial.columns)
