"""The size-and-penalty signs against hand-built dictionaries, planted dead latents and hand-made loss tables."""

import numpy as np
import pandas as pd
import pytest

from tms.analysis import dictionary as dic
from tms.analysis import sae_signs as sg
from tms.errors import TmsError


def _unit(A):
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def test_cross_mmcs_of_a_dictionary_with_itself_permuted_and_rescaled_is_one():
    rng = np.random.default_rng(0)
    D = rng.normal(size=(20, 12))
    np.testing.assert_allclose(sg.cross_mmcs(D, D), 1.0, rtol=1e-12)
    copy = 3.0 * D[rng.permutation(20)]
    np.testing.assert_allclose(sg.cross_mmcs(D, copy), 1.0, rtol=1e-12)
    bigger = np.concatenate([copy, rng.normal(size=(30, 12))])  # a larger dictionary holding the smaller one
    np.testing.assert_allclose(sg.cross_mmcs(D, bigger), 1.0, rtol=1e-12)
    assert sg.cross_mmcs(bigger, D) < 0.8  # not symmetric: the 30 extra latents find no copy


def test_cross_mmcs_is_signed_a_flipped_basis_is_no_copy():
    E = np.eye(6)
    np.testing.assert_allclose(sg.cross_mmcs(E, -E[::-1]), 0.0, atol=1e-15)  # cos −1 with its own, 0 with others
    half = np.where(np.arange(6) < 3, 1.0, -1.0)[:, None] * E  # three flipped of six
    np.testing.assert_allclose(sg.cross_mmcs(E, half), 0.5, rtol=1e-12)


def test_cross_mmcs_of_random_dictionaries_matches_the_random_expectation():
    rng = np.random.default_rng(1)
    d, n, m = 16, 24, 40
    values = [sg.cross_mmcs(rng.normal(size=(n, d)), rng.normal(size=(m, d))) for _ in range(300)]
    expected = dic.expected_random_mmcs(d, m)
    se = np.std(values) / np.sqrt(len(values))
    np.testing.assert_allclose(np.mean(values), expected, atol=max(4 * se, 2e-3))
    assert 0.4 < expected < 0.8


def test_relative_fall_by_hand():
    np.testing.assert_allclose(sg.relative_fall([1.0, 0.5, 0.48, 0.6]), [np.nan, 0.5, 0.04, -0.25], rtol=1e-12)
    assert np.isnan(sg.relative_fall([0.0, 1.0])[1])  # no relative change from a zero loss


def _sweep(n=16, d=12, sizes=(8, 16, 32, 64), seeds=(0, 1), dead=None, losses=None, seed=0):
    """A hand-made sweep of one architecture at one knob: the size-16 dictionary is the truth (permuted), larger
    ones add random latents, the size-8 one mixes pairs of features; ``dead[size]`` planted dead latents."""
    rng = np.random.default_rng(seed)
    T = rng.normal(size=(n, d))
    rows, decs = [], []
    for s in seeds:
        for size, loss in zip(sizes, losses or (1.0, 0.3, 0.29, 0.29)):
            if size < n:
                D = T[:size] + T[size:2 * size]
            else:
                D = np.concatenate([T[rng.permutation(n)], rng.normal(size=(size - n, d))])
            Z = rng.exponential(size=(400, size)) * (rng.random((400, size)) < 0.2)
            Z[:, : (dead or {}).get(size, 0)] = 0.0  # planted dead latents
            act = dic.activity(Z)
            rows.append({"arch": "relu", "knob": 0.1, "d_sae": size, "seed": s, "mmcs": dic.mmcs(D, T)[0],
                         "dead": act["dead"], "loss": loss + 0.001 * s})
            decs.append(D)
    return pd.DataFrame(rows), decs


def test_planted_dead_latents_are_counted_and_pick_the_size_before_they_appear():
    frame, decs = _sweep(dead={32: 6, 64: 40})
    table = sg.signs_table(frame, decs)
    np.testing.assert_array_equal(table["dead"], [0, 0, 6, 40])
    np.testing.assert_allclose(table["dead_frac"], [0, 0, 6 / 32, 40 / 64], rtol=1e-12)
    assert sg.pick_sizes(table)["dead"] == 16
    assert sg.pick_sizes(table, dead_tol=0.2)["dead"] == 32  # 6/32 = 0.19 tolerated
    frame, decs = _sweep(dead={8: 1, 16: 2, 32: 6, 64: 40})
    assert np.isnan(sg.pick_sizes(sg.signs_table(frame, decs), dead_tol=0.05)["dead"])  # every size has dead ones


def test_stickiness_picks_where_the_largest_fall_lands():
    frame, decs = _sweep(losses=(1.0, 0.5, 0.48, 0.47))
    table = sg.signs_table(frame, decs)
    L = np.array([1.0, 0.5, 0.48, 0.47])  # seed 0; seed 1 adds 0.001
    np.testing.assert_allclose(table["loss"], L + 0.0005, rtol=1e-12)
    per_seed = [sg.relative_fall(L), sg.relative_fall(L + 0.001)]  # the falls are per seed, then averaged
    np.testing.assert_allclose(table["loss_fall"], np.mean(per_seed, axis=0), rtol=1e-12)
    assert sg.pick_sizes(table)["sticky"] == 16
    frame, decs = _sweep(losses=(1.0, 0.9, 0.3, 0.29))  # the loss keeps falling to 32 latents
    assert sg.pick_sizes(sg.signs_table(frame, decs))["sticky"] == 32


def test_cross_sign_peaks_where_the_dictionary_is_the_truth():
    frame, decs = _sweep()
    table = sg.signs_table(frame, decs)
    cross = table["cross"].to_numpy()
    np.testing.assert_allclose(cross[1], 1.0, rtol=1e-12)  # 16 -> 32: every true feature found again
    assert np.isnan(cross[3]) and cross[0] < 0.95 and cross[2] < 0.85  # 8 mixes; 32's random half is unmatched
    np.testing.assert_allclose(table["cross_random"].iloc[0], dic.expected_random_mmcs(12, 16), rtol=1e-12)
    assert sg.pick_sizes(table)["cross"] == 16


def test_cross_pairs_each_dictionary_with_the_larger_one_of_the_next_seed():
    rng = np.random.default_rng(4)
    E, R1, R2 = np.eye(8), rng.normal(size=(4, 8)), rng.normal(size=(8, 8))
    decs = [E[:4], E, R1, R2]  # seed 0 nested (the larger holds the smaller), seed 1 unrelated random
    frame = pd.DataFrame({"arch": "relu", "knob": 0.1, "d_sae": [4, 8, 4, 8], "seed": [0, 0, 1, 1], "mmcs": 0.5,
                          "dead": 0, "loss": 1.0})
    table = sg.signs_table(frame, decs)
    want = (sg.cross_mmcs(E[:4], R2) + sg.cross_mmcs(R1, E)) / 2  # seed 0 -> seed 1's larger, seed 1 -> seed 0's
    np.testing.assert_allclose(table["cross"].iloc[0], want, rtol=1e-12)
    assert table["cross_other_seed"].iloc[0] == 1.0 and want < 0.9
    alone = sg.signs_table(frame.iloc[:2], decs[:2])  # one seed: the same-seed pair, flagged
    assert alone["cross"].iloc[0] == pytest.approx(1.0, abs=1e-12) and alone["cross_other_seed"].iloc[0] == 0.0


def test_scores_hits_and_regret_by_hand():
    frame, decs = _sweep(dead={32: 6, 64: 40}, losses=(1.0, 0.9, 0.3, 0.29))
    table = sg.signs_table(frame, decs)
    mm = dict(zip(table["d_sae"], table["mmcs"]))
    assert mm[8] < 0.95 and mm[16] == pytest.approx(1.0, abs=1e-12)
    s = sg.score_signs(table).iloc[0]
    assert s["truth_size"] == 16  # 16, 32 and 64 all reach MMCS 1: ties go to the smallest size
    assert (s["dead_size"], s["sticky_size"], s["cross_size"], s["largest_size"]) == (16, 32, 16, 64)
    assert (s["dead_hit"], s["sticky_hit"], s["cross_hit"], s["largest_hit"]) == (True, False, True, False)
    np.testing.assert_allclose(s["sticky_regret"], mm[16] - mm[32], atol=1e-12)
    assert "dead_count" not in s  # no true count given
    counted = sg.score_signs(table, n_true=16).iloc[0]
    assert (counted["truth_count"], counted["dead_count"], counted["sticky_count"]) == (True, True, False)
    summary = sg.summarize_scores(sg.score_signs(table, n_true=16)).set_index("sign")
    assert summary.loc["dead", "hits"] == 1 and summary.loc["sticky", "hits"] == 0
    assert summary.loc["cross", "picks"] == 1 and summary.loc["truth", "hits"] == 1
    assert summary.loc["largest", "count"] == 0 and summary.loc["cross", "count"] == 1
    np.testing.assert_allclose(summary.loc["sticky", "mean_regret"], mm[16] - mm[32], atol=1e-12)


def test_joint_pick_ranks_knobs_by_cross_mmcs():
    a, da = _sweep(seed=0)
    b, db = _sweep(seed=0)
    b = b.assign(knob=0.3, mmcs=b["mmcs"] - 0.1)  # a worse knob (by the truth) ...
    db = [D + 0.5 * np.random.default_rng(9).normal(size=D.shape) for D in db]  # ... with noisier dictionaries
    table = sg.signs_table(pd.concat([a, b], ignore_index=True), da + db)
    j = sg.joint_picks(table).iloc[0]
    assert (j["truth_knob"], j["truth_size"]) == (0.1, 16)
    assert (j["cross_knob"], j["cross_size"]) == (0.1, 16) and j["cross_regret"] == pytest.approx(0.0, abs=1e-12)


def test_bad_input_is_named():
    frame, decs = _sweep()
    with pytest.raises(TmsError, match="lacks column"):
        sg.signs_table(frame.drop(columns="loss"), decs)
    with pytest.raises(TmsError, match="decoders"):
        sg.signs_table(frame, decs[:-1])
    with pytest.raises(TmsError, match="shape"):
        sg.signs_table(frame, [D.T for D in decs])
    with pytest.raises(TmsError, match="two SAEs of one size"):
        sg.signs_table(pd.concat([frame, frame.iloc[:1]], ignore_index=True), decs + decs[:1])
