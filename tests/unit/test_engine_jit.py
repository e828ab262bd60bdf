"""The compiled scoring kernels (linkage.engine.jit) against the numpy formulas they replace: same
float64 weights and float32 Bayes factors bit for bit, missing levels neutral, term frequencies only at
the exact level, empty inputs, and threaded chunks equal to one serial pass."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from linkage.engine import jit, kernels
from linkage.engine.comparisons import ExactMatch
from linkage.engine.model import LinkageModel


def _reference(codes, tables, prior, tf, exact, tf_minimum=1e-9):
    """The numpy scoring formula score_levels replaces (one take per comparison, 0.0 for level -1)."""
    n = codes.shape[1]
    acc = np.full(n, prior, dtype=np.float64)
    bf = np.empty(codes.shape, dtype=np.float32)
    for j, table in enumerate(tables):
        col = codes[j]
        w = np.concatenate([[0.0], table]).take(col.astype(np.intp) + 1)
        if tf[j] is not None:
            adj = (col == exact[j]) & ~np.isnan(tf[j])
            w[adj] -= np.log2(np.maximum(tf[j][adj].astype(np.float64), tf_minimum))
        acc += w
        bf[j] = w
    return acc, bf


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    tables = [rng.normal(0, 5, size=k) for k in (2, 5, 3)]
    codes = np.stack([rng.integers(-1, len(t), size=n) for t in tables]).astype(np.int8)
    rel = rng.uniform(0, 0.2, size=n).astype(np.float32)
    rel[rng.random(n) < 0.2] = np.nan
    rel[:3] = 0.0  # below tf_minimum: clipped
    return codes, tables, rel


def _run_kernel(codes, tables, prior, rel, exact_level):
    k, n = codes.shape
    tf_row = np.array([-1, 0, -1], dtype=np.int64)
    adj = (codes[1] == exact_level) & ~np.isnan(rel)
    tf_mask = adj[None, :].copy()
    tf_bits = np.zeros((1, n))
    tf_bits[0, adj] = np.log2(np.maximum(rel[adj].astype(np.float64), 1e-9))
    bf = np.empty((k, n), dtype=np.float32)
    total = np.empty(n)
    jit.score_levels(codes, jit.padded_tables(tables), prior, tf_row, tf_mask, tf_bits, bf, total)
    return total, bf


@pytest.mark.parametrize("n", [0, 1, 1000])
def test_score_levels_is_the_numpy_formula_bit_for_bit(n):
    codes, tables, rel = _inputs(n)
    total, bf = _run_kernel(codes, tables, -7.25, rel, exact_level=0)
    ref_total, ref_bf = _reference(codes, tables, -7.25, [None, rel, None], [0, 0, 0])
    np.testing.assert_array_equal(total, ref_total)
    np.testing.assert_array_equal(bf, ref_bf)
    if n:
        missing = codes == -1
        assert missing.any() and (bf[missing] == 0).all()  # a missing level is neutral


def test_sum_lookups_is_the_numpy_sum():
    codes, tables, _ = _inputs(500, seed=3)
    out = np.empty(500)
    jit.sum_lookups(codes, jit.padded_tables(tables), out)
    ref = np.zeros(500)
    for j, t in enumerate(tables):
        ref += np.concatenate([[0.0], t]).take(codes[j].astype(np.intp) + 1)
    np.testing.assert_array_equal(out, ref)
    empty = np.empty(0)
    jit.sum_lookups(codes[:, :0], jit.padded_tables(tables), empty)  # no pairs: no error


def test_padded_tables_put_missing_at_zero():
    padded = jit.padded_tables([np.array([1.0, 2.0]), np.array([3.0])])
    np.testing.assert_array_equal(padded, [[0.0, 1.0, 2.0], [0.0, 3.0, 0.0]])
    assert jit.padded_tables([]).shape == (0, 1)


def _fitted_model(n=5000, seed=1):
    rng = np.random.default_rng(seed)
    comps = [ExactMatch("a"), ExactMatch("b", tf=True), ExactMatch("c")]
    model = LinkageModel(comps, [])
    model.prior = 0.01
    for c in comps:
        model.m[c.name] = np.array([0.9, 0.1])
        model.u[c.name] = np.array([0.05, 0.95])
    levels = pd.DataFrame({c.name: rng.integers(-1, 2, size=n).astype(np.int8) for c in comps})
    tf = rng.uniform(0, 0.1, size=n)
    tf[rng.random(n) < 0.3] = np.nan
    levels["tf_b"] = tf
    return model, levels


def test_score_arrays_on_threads_and_chunks_equal_one_serial_pass(monkeypatch):
    model, levels = _fitted_model()
    monkeypatch.setattr(kernels, "THREADS", 1)
    monkeypatch.setattr(kernels, "RUN_CHUNK", 1 << 20)
    serial = model.score_arrays(levels)
    monkeypatch.setattr(kernels, "THREADS", 2)
    monkeypatch.setattr(kernels, "RUN_CHUNK", 333)  # many uneven chunks
    threaded = model.score_arrays(levels)
    np.testing.assert_array_equal(threaded[0], serial[0])
    np.testing.assert_array_equal(threaded[1], serial[1])
    codes = np.stack([levels[c.name].to_numpy() for c in model.comparisons])
    tables = [model.weight_table(c.name) for c in model.comparisons]
    ref_total, ref_bf = _reference(
        codes, tables, math.log2(0.01) - math.log2(0.99), [None, levels["tf_b"].to_numpy(), None], [0, 0, 0]
    )
    np.testing.assert_array_equal(serial[0], ref_total)
    np.testing.assert_array_equal(serial[1], ref_bf)
    empty = model.score_arrays(levels.iloc[:0])
    assert empty[0].shape == (0,) and empty[1].shape == (3, 0)


def _old_sort_join(lcode, rcode, dedupe):
    """The numpy sort join emit_join_pairs replaced (repeat + arange offsets)."""
    order = np.argsort(rcode, kind="stable")
    rsorted = rcode[order]
    start = np.searchsorted(rsorted, lcode, side="left")
    end = np.searchsorted(rsorted, lcode, side="right")
    counts = np.where(lcode >= 0, end - start, 0)
    total = int(counts.sum())
    left_pos = np.repeat(np.arange(len(lcode), dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    right_pos = order[np.repeat(start, counts) + offsets].astype(np.int64)
    if dedupe:
        keep = left_pos < right_pos
        left_pos, right_pos = left_pos[keep], right_pos[keep]
    return left_pos, right_pos


@pytest.mark.parametrize("dedupe", [False, True])
def test_sort_join_threaded_equals_serial_and_the_numpy_join(monkeypatch, dedupe):
    from linkage.engine.blocking import _sort_join

    rng = np.random.default_rng(3)
    lcode = rng.integers(-1, 40, size=5000)  # -1: missing key, never paired
    rcode = lcode.copy() if dedupe else rng.integers(-1, 40, size=3000)
    monkeypatch.setattr(kernels, "THREADS", 1)
    serial = _sort_join(lcode, rcode, dedupe=dedupe)
    monkeypatch.setattr(kernels, "THREADS", 2)
    monkeypatch.setattr(kernels, "RUN_CHUNK", 4096)  # many chunks of left rows
    threaded = _sort_join(lcode, rcode, dedupe=dedupe)
    ref = _old_sort_join(lcode, rcode, dedupe)
    assert len(ref[0]) > 100_000
    for got in (serial, threaded):
        assert got[0].dtype == np.int64 and got[1].dtype == np.int64
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
    assert (lcode[serial[0]] == rcode[serial[1]]).all() and (lcode[serial[0]] >= 0).all()


def test_sort_join_empty_and_all_missing():
    from linkage.engine.blocking import _sort_join

    empty = np.zeros(0, dtype=np.int64)
    for lcode, rcode in ((empty, empty), (empty, np.arange(3)), (np.full(4, -1), np.full(5, -1))):
        lp, rp = _sort_join(lcode, rcode, dedupe=False)
        assert len(lp) == 0 and len(rp) == 0 and lp.dtype == np.int64


def test_pairs_increasing():
    lp = np.array([0, 0, 1, 3], dtype=np.int64)
    assert jit.pairs_increasing(lp, np.array([1, 2, 0, 0], dtype=np.int64))
    assert not jit.pairs_increasing(lp, np.array([1, 1, 0, 0], dtype=np.int64))  # duplicate pair
    assert not jit.pairs_increasing(lp, np.array([2, 1, 0, 0], dtype=np.int64))  # right out of order
    assert not jit.pairs_increasing(lp[::-1].copy(), np.zeros(4, dtype=np.int64))  # left out of order
    assert jit.pairs_increasing(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
