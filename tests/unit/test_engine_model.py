"""The Fellegi-Sunter model: EM recovery, missing = neutral, term frequencies, supervised fit, persistence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from linkage.engine import DateComparison, ExactMatch, LinkageModel, NameComparison, block_on
from linkage.errors import LinkageError

# Known parameters the level frame is simulated from (level 0 = agreement ... last = disagreement).
TRUE_M = {
    "name": [0.70, 0.12, 0.08, 0.04, 0.06],
    "dob": [0.85, 0.03, 0.05, 0.02, 0.05],
    "sex": [0.95, 0.05],
}
TRUE_U = {
    "name": [0.01, 0.02, 0.04, 0.03, 0.90],
    "dob": [0.004, 0.001, 0.02, 0.05, 0.925],
    "sex": [0.5, 0.5],
}
LAMBDA = 0.1


def _model(**kwargs) -> LinkageModel:
    comps = [NameComparison("name"), DateComparison("dob"), ExactMatch("sex")]
    return LinkageModel(comps, [block_on("name")], **kwargs)


def _simulate(n: int, seed: int, missing: float) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < LAMBDA
    data = {}
    for name in TRUE_M:
        k = len(TRUE_M[name])
        lev = np.where(
            is_match, rng.choice(k, size=n, p=TRUE_M[name]), rng.choice(k, size=n, p=TRUE_U[name])
        ).astype(np.int8)
        lev[rng.random(n) < missing] = -1
        data[name] = lev
    return pd.DataFrame(data), is_match


def test_em_recovers_simulated_parameters_with_missing_values():
    levels, _ = _simulate(60_000, seed=1, missing=0.15)
    model = _model()
    result = model.fit_em(levels, max_iter=500, tol=1e-8)
    assert result.converged
    # Tolerances: about 4 standard errors of a proportion from ~5,000 matches / ~45,000 non-matches.
    assert result.lambda_candidates == pytest.approx(LAMBDA, abs=0.01)
    for name in TRUE_M:
        np.testing.assert_allclose(model.m[name], TRUE_M[name], atol=0.03)
        np.testing.assert_allclose(model.u[name], TRUE_U[name], atol=0.01)
    # The likelihood never decreases along EM iterations.
    assert np.all(np.diff(result.log_likelihood) > -1e-6)


def test_em_with_fixed_u_keeps_u_and_uses_given_prior():
    levels, _ = _simulate(20_000, seed=2, missing=0.0)
    model = _model(probability_two_random_records_match=1e-4)
    for name in TRUE_U:
        model.set_m_u(name, TRUE_M[name], TRUE_U[name])
    model.fit_em(levels, fix_u=True, max_iter=200)
    for name in TRUE_U:
        np.testing.assert_allclose(model.u[name], TRUE_U[name])
        np.testing.assert_allclose(model.m[name], TRUE_M[name], atol=0.03)
    assert model.prior == 1e-4


def test_em_is_deterministic():
    levels, _ = _simulate(5_000, seed=3, missing=0.1)
    a, b = _model(), _model()
    a.fit_em(levels)
    b.fit_em(levels)
    pd.testing.assert_frame_equal(a.parameters(), b.parameters())


def test_missing_level_is_neutral():
    model = _model()
    for name in TRUE_M:
        model.set_m_u(name, TRUE_M[name], TRUE_U[name])
    model.prior = 0.5
    levels = pd.DataFrame({"name": [0, 0], "dob": [-1, 0], "sex": [1, -1]}, dtype=np.int8)
    pred = model.predict(levels)
    assert pred["bf_dob"].iloc[0] == 0.0
    assert pred["bf_sex"].iloc[1] == 0.0
    # Weight = log2 prior odds (0 here) + log2(m/u) of the non-missing comparisons only.
    expected0 = np.log2(0.70 / 0.01) + np.log2(0.05 / 0.5)
    expected1 = np.log2(0.70 / 0.01) + np.log2(0.85 / 0.004)
    np.testing.assert_allclose(pred["match_weight"], [expected0, expected1])
    np.testing.assert_allclose(pred["match_probability"], 1 / (1 + 2.0 ** -np.array([expected0, expected1])))


def test_term_frequency_makes_rare_agreement_weigh_more():
    # Right data: 50 Smiths, 1 Przybylski, 49 others; the left records agree exactly with one of each.
    right = pd.DataFrame({"sn": ["smith"] * 50 + ["przybylski"] + [f"name{i}" for i in range(49)]})
    left = pd.DataFrame({"sn": ["Smith", "PRZYBYLSKI"]})
    model = LinkageModel([NameComparison("sn", tf=True)], [block_on("sn")])
    pairs = pd.MultiIndex.from_tuples([(0, 0), (1, 50)])
    levels = model.compare(pairs, left, right)
    assert levels["sn"].tolist() == [0, 0]
    model.set_m_u("sn", [0.9, 0.04, 0.03, 0.01, 0.02], [0.05, 0.05, 0.05, 0.05, 0.8])
    model.prior = 0.01
    bf = model.predict(levels)["bf_sn"].to_numpy()
    assert bf[1] > bf[0]
    # u at the exact level is scaled by each value's frequency, so the two weights differ by
    # log2(f_smith / f_przybylski) = log2((50/100) / (1/100)) = log2(50).
    assert bf[1] - bf[0] == pytest.approx(np.log2(50))
    # Without the tf columns both agreements weigh log2(0.9 / 0.05).
    plain = model.predict(levels[["sn"]])["bf_sn"].to_numpy()
    np.testing.assert_allclose(plain, [np.log2(0.9 / 0.05)] * 2)


def test_fit_supervised_counts_levels_with_smoothing():
    model = LinkageModel([ExactMatch("x")], [block_on("x")])
    levels = pd.DataFrame({"x": [0, 0, 1, -1, 1, 1, 0, 1]}, dtype=np.int8)
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    model.fit_supervised(levels, labels, smoothing=0.5)
    # Matches (non-missing): levels 0, 0, 1 -> m = (2.5, 1.5) / 4.
    # Non-matches: 1, 1, 0, 1 -> u = (1.5, 3.5) / 5.
    np.testing.assert_allclose(model.m["x"], [0.625, 0.375])
    np.testing.assert_allclose(model.u["x"], [0.3, 0.7])
    assert model.prior == 0.5


def test_estimate_u_random_finds_chance_agreement():
    rng = np.random.default_rng(5)
    left = pd.DataFrame({"x": rng.choice(list("abcd"), size=2_000)})
    right = pd.DataFrame({"x": rng.choice(list("abcd"), size=2_000)})
    model = LinkageModel([ExactMatch("x")], [block_on("x")])
    model.estimate_u_random(left, right, n=40_000, seed=1)
    # Four equally likely values: two random records agree with probability 1/4.
    assert model.u["x"][0] == pytest.approx(0.25, abs=0.01)


def _fitted_tf_model():
    left = pd.DataFrame({"sn": ["smith", "jones", "przybylski", "smith"], "dob": ["1980-01-01"] * 4})
    right = pd.DataFrame(
        {"sn": ["smith", "jones", "przybylski", "smyth"], "dob": ["1980-01-01"] * 3 + [None]}
    )
    model = LinkageModel([NameComparison("sn"), DateComparison("dob")], [block_on("dob")])
    pairs = pd.MultiIndex.from_product([range(4), range(4)])
    levels = model.compare(pairs, left, right)
    model.set_m_u("sn", [0.8, 0.1, 0.05, 0.03, 0.02], [0.01, 0.01, 0.02, 0.02, 0.94])
    model.set_m_u("dob", [0.9, 0.02, 0.04, 0.02, 0.02], [0.01, 0.001, 0.009, 0.03, 0.95])
    model.prior = 0.001
    return model, left, right, levels


def test_waterfall_adds_up_to_the_prediction():
    model, left, right, levels = _fitted_tf_model()
    pred = model.predict(levels)
    for lpos, rpos in [(0, 0), (2, 2), (3, 3), (1, 0)]:
        table = model.waterfall(left.iloc[lpos], right.iloc[rpos])
        exact = levels.loc[(lpos, rpos), "sn"] == 0  # an exact surname match carries a term-frequency row
        tf_row = ["sn term frequency"] if exact else []
        assert table["step"].tolist() == ["prior", "sn", *tf_row, "dob", "final"]
        final = table["cumulative_weight"].iloc[-1]
        assert final == pred.loc[(lpos, rpos), "match_weight"]
        assert np.isclose(table["log2_bayes_factor"].iloc[:-1].sum(), final, rtol=0, atol=1e-9)
        pd.testing.assert_frame_equal(table, model.waterfall_from_levels(levels, (lpos, rpos)))
    fig = model.waterfall_chart(left.iloc[0], right.iloc[0])
    assert isinstance(fig, Figure)


def test_waterfall_shows_the_term_frequency_adjustment():
    left = pd.DataFrame({"sn": ["smith", "przybylski"]})
    right = pd.DataFrame({"sn": ["smith", "smith", "smith", "przybylski"]})
    model = LinkageModel([NameComparison("sn")], [block_on("sn")])
    levels = model.compare(pd.MultiIndex.from_tuples([(0, 0), (1, 3)]), left, right)
    model.set_m_u("sn", [0.8, 0.1, 0.05, 0.03, 0.02], [0.01, 0.01, 0.02, 0.02, 0.94])
    model.prior = 0.2
    # f_R(smith) = 3/4, f_R(przybylski) = 1/4; sum_v f_L(v) f_R(v) = 0.5*0.75 + 0.5*0.25 = 0.5, so the
    # relative frequencies are 1.5 (smith) and 0.5 (przybylski): -log2(1.5) and +1 bit.
    # Weight = log2(0.2/0.8) + log2(0.8/0.01) - log2(r).
    for pair, rel in (((0, 0), 1.5), ((1, 3), 0.5)):
        table = model.waterfall(left.iloc[pair[0]], right.iloc[pair[1]])
        expected = math.log2(0.2 / 0.8) + math.log2(0.8 / 0.01) - math.log2(rel)
        tf = table.set_index("step").loc["sn term frequency"]
        assert tf["log2_bayes_factor"] == pytest.approx(-math.log2(rel))
        assert tf["u"] == pytest.approx(0.01 * rel)
        assert table["cumulative_weight"].iloc[-1] == pytest.approx(expected)
        assert model.predict(levels).loc[pair, "match_weight"] == pytest.approx(expected)


def test_charts_are_figures():
    model, _, _, levels = _fitted_tf_model()
    for fig in (
        model.m_u_chart(),
        model.match_weights_chart(),
        model.match_weight_chart(model.predict(levels)),
    ):
        assert isinstance(fig, Figure)
        assert fig.axes


def test_parameters_round_trip_through_json(tmp_path):
    model, _, _, levels = _fitted_tf_model()
    path = tmp_path / "params.json"
    model.save_parameters(path)
    other = LinkageModel(model.comparisons, model.blocking_rules)
    other.load_parameters(path)
    pd.testing.assert_frame_equal(other.predict(levels), model.predict(levels))
    other.save_parameters(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    table = model.parameters()
    assert list(table.columns) == ["comparison", "level", "label", "m", "u", "bayes_factor", "match_weight"]
    np.testing.assert_allclose(table["match_weight"], np.log2(table["m"] / table["u"]))


def test_load_rejects_parameters_for_another_model(tmp_path):
    model, *_ = _fitted_tf_model()
    path = tmp_path / "params.json"
    model.save_parameters(path)
    other = LinkageModel(
        [NameComparison("sn", jw_thresholds=(0.9,)), DateComparison("dob")], [block_on("dob")]
    )
    with pytest.raises(LinkageError, match="level labels"):
        other.load_parameters(path)


def test_argument_errors():
    with pytest.raises(LinkageError, match="unique"):
        LinkageModel([ExactMatch("x"), ExactMatch("x")], [block_on("x")])
    with pytest.raises(LinkageError, match="probability_two_random_records_match"):
        LinkageModel([ExactMatch("x")], [block_on("x")], probability_two_random_records_match=2.0)
    model = LinkageModel([ExactMatch("x")], [block_on("x")])
    with pytest.raises(LinkageError, match="no parameters"):
        model.predict(pd.DataFrame({"x": [0]}, dtype=np.int8))
    with pytest.raises(LinkageError, match="estimate_u_random"):
        model.fit_em(pd.DataFrame({"x": [0, 1]}, dtype=np.int8), fix_u=True)
    with pytest.raises(LinkageError, match="index must be unique"):
        model.candidate_pairs(pd.DataFrame({"x": [1, 2]}, index=[0, 0]))


def test_term_frequency_with_differently_named_right_column():
    left = pd.DataFrame({"surname": ["smith", "przybylski"]})
    right = pd.DataFrame({"family_name": ["smith"] * 3 + ["przybylski"] + ["jones"] * 6})
    model = LinkageModel(
        [NameComparison("surname", right_col="family_name")], [block_on(("surname", "family_name"))]
    )
    pairs = model.candidate_pairs(left, right)
    levels = model.compare(pairs, left, right)
    # f_R(smith) = 3/10, f_R(przybylski) = 1/10; denominator sum_v f_L(v) f_R(v) = 0.5*0.3 + 0.5*0.1 = 0.2.
    np.testing.assert_allclose(levels.loc[(0, 0), "tf_surname"], 0.3 / 0.2, rtol=1e-6)
    np.testing.assert_allclose(levels.loc[(1, 3), "tf_surname"], 0.1 / 0.2, rtol=1e-6)


def test_comparisons_on_threads_give_the_serial_levels(monkeypatch):
    # compare() runs the comparisons side by side on a thread pool; the level frame (and the term
    # frequencies) must be the serial path's, value for value.
    import linkage.engine.kernels as kernels
    import linkage.engine.model as engine_model

    names = np.array(["smith", "smyth", "jones", "johns", "brown", "braun", None, ""], dtype=object)
    n = 3000

    def frame(seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        return pd.DataFrame(
            {
                "name": r.choice(names, n),
                "dob": pd.to_datetime("1980-01-01") + pd.to_timedelta(r.integers(0, 400, n), unit="D"),
                "sex": r.choice(["f", "m", None], n),
            }
        )

    left, right = frame(1), frame(2)
    model = LinkageModel(
        [NameComparison("name"), DateComparison("dob"), ExactMatch("sex")], [block_on("sex")]
    )
    pairs = model.candidate_pairs(left, right)
    assert len(pairs) > 1000
    monkeypatch.setattr(engine_model, "_PARALLEL_COMPARE_MIN", 0)
    monkeypatch.setattr(kernels, "THREADS", 1)
    serial = model.compare(pairs, left, right)
    monkeypatch.setattr(kernels, "THREADS", 2)
    threaded = model.compare(pairs, left, right)
    pd.testing.assert_frame_equal(serial, threaded, check_exact=True)
    assert (serial["name"] >= 0).any() and (serial["name"] == -1).any()
