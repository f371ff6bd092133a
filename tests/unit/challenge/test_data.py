"""Challenge #2 data: the labelling rule, the split, the shipped reference labels, boundary distances."""

import random

import numpy as np
import pytest

from tms.challenge import data as D


def test_label_counts_and_shapes():
    grid = D.label_grid()
    assert grid.shape == (113, 113) and grid.dtype == np.uint8
    assert int(grid.sum()) == 5465
    assert set(np.unique(grid)) == {0, 1}


def test_labels_match_reference_file():
    ref = D.load_reference()  # package data: always present
    np.testing.assert_array_equal(D.label_grid(), ref["labels"])
    # The file's own statements about the original model (its README).
    agree = (ref["model_labels"] == ref["labels"]).ravel()
    tr, te = D.split()
    np.testing.assert_allclose(agree.mean(), 0.9864, atol=5e-5)
    np.testing.assert_allclose(agree[tr].mean(), 0.9970, atol=5e-5)
    np.testing.assert_allclose(agree[te].mean(), 0.9757, atol=5e-5)


def test_label_rule_by_hand():
    # Direct float evaluation of the rule on a few points, written independently.
    sets = {0: {45, 46}, 1: {0, 41}, 3: {2, 5}, 5: {2, 3}, 7: {3, 4}}
    for x, y in [(0, 0), (0, 112), (45, 0), (46, 1), (41, 10), (2, 5), (3, 100), (4, 112), (112, 112), (20, 20)]:
        a = x**2 < 200 * np.sqrt(y)
        b = y**2 < 600 * np.sqrt(x)
        c = x + y < 133
        r = 4 * a + 2 * b + c
        expected = int(x in D.REGION_SETS[r])
        assert D.label_fn(np.array([x]), np.array([y]))[0] == expected, (x, y, r)
        if r in sets and x in sets[r]:
            assert expected == 1
    # the exact integer form agrees with the float inequalities on the whole grid
    x, y = np.meshgrid(np.arange(113.0), np.arange(113.0), indexing="ij")
    r = 4 * (x**2 < 200 * np.sqrt(y)) + 2 * (y**2 < 600 * np.sqrt(x)) + (x + y < 133)
    np.testing.assert_array_equal(D.regions(x.astype(int), y.astype(int)), r)


def test_pairs_tokens_split():
    pairs = D.all_pairs()
    assert pairs.shape == (12769, 2)
    np.testing.assert_array_equal(pairs[114], [1, 1])
    toks = D.tokens(pairs[:3])
    np.testing.assert_array_equal(toks, [[0, 0, 113], [0, 1, 113], [0, 2, 113]])
    assert toks.dtype == np.int32
    tr, te = D.split()
    assert len(tr) == 6384 and len(te) == 6385
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(12769))
    # the challenge's own recipe, verbatim, with the global random module
    state = random.getstate()
    try:
        ref = [(x, y) for x in range(113) for y in range(113)]
        random.seed(0)
        random.shuffle(ref)
    finally:
        random.setstate(state)
    np.testing.assert_array_equal(pairs[tr], np.array(ref[:6384]))
    np.testing.assert_array_equal(pairs[te], np.array(ref[6384:]))
    train, test = D.datasets()
    assert train.tokens.shape == (6384, 3) and test.labels.shape == (6385,)


def test_bad_inputs():
    with pytest.raises(ValueError, match="x must lie in 0..112"):
        D.label_fn(np.array([113]), np.array([0]))
    with pytest.raises(ValueError, match="pairs"):
        D.tokens(np.zeros((3, 3), int))


def test_boundaries_and_distance():
    a, b, c = D.boundaries()
    np.testing.assert_allclose(a.x**2, 200 * np.sqrt(a.y), rtol=1e-9)
    np.testing.assert_allclose(b.y**2, 600 * np.sqrt(b.x), rtol=1e-9)
    np.testing.assert_allclose(c.x + c.y, 133)
    d = D.boundary_distance(np.array([[100, 100], [0, 0]]))
    np.testing.assert_allclose(d[0, 2], 67 / np.sqrt(2), atol=0.05)  # distance to x + y = 133
    np.testing.assert_allclose(d[1], [0, 0, 133 / np.sqrt(2)], atol=0.05)


def test_reference_is_package_data():
    import hashlib
    from importlib import resources
    from pathlib import Path

    import tms.challenge

    path = D.reference_labels_path()
    assert path == Path(tms.challenge.__file__).parent / "reference" / "challenge2_labels.npz"
    assert path.is_file()
    data = (resources.files("tms.challenge") / "reference" / "challenge2_labels.npz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == "c920c670dea93ff97c0594cbffb39ee5b2318820fecc95b804b330737841ee5a"
    ref = D.load_reference()
    assert set(ref) == {"labels", "model_labels"}
    assert ref["labels"].shape == ref["model_labels"].shape == (113, 113)
    assert ref["labels"].dtype == np.uint8 and int(ref["labels"].sum()) == 5465
    assert int(ref["model_labels"].sum()) == 5427
    assert int((ref["labels"] != ref["model_labels"]).sum()) == 174


def test_no_run_time_path_outside_the_package():
    """The challenge code reads nothing from beside the repository (the reference data is package data)."""
    from pathlib import Path

    import tms.challenge

    root = Path(tms.challenge.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "../shared" in p.read_text() or '"shared"' in p.read_text() or "'shared'" in p.read_text()]
    assert offenders == []

