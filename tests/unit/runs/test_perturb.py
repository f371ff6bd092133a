"""Perturbing one feature along a grid axis: the grid's per-feature rows, the sweep-file syntax, the table
columns, the saved config, and errors that name the field."""

import dataclasses

import numpy as np
import pytest

from tms.engine import data as tdata
from tms.runs.grid import Grid
from tms.runs.spec import SpecError, parse_spec


def doc(perturb, **data):
    return {"model": {"n_features": 4, "n_hidden": 2}, "data": {"density": 0.1, **data, "perturb": perturb},
            "train": {"steps": 20, "batch_size": 16}}


def test_density_perturbation_rows_and_columns():
    spec = parse_spec(doc({"feature": 2, "density": {"log": [0.1, 0.001], "num": 3}}))
    g = spec.grid
    assert g.shape == (3, 1, 1, 1) and g.perturb_feature == 2
    expected = np.full((3, 4), 0.9)
    expected[:, 2] = 1 - np.array([0.1, 0.01, 0.001])
    np.testing.assert_allclose(g.sparsity_rows, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.sparsity, 0.9, rtol=0, atol=1e-12)  # the other features' sparsity
    hp = g.cell_hparams(4, np.arange(3))
    np.testing.assert_allclose(np.asarray(hp.sparsity), expected, rtol=1e-6)
    cols = g.table_columns(np.arange(3), np.zeros(3, int))
    assert list(cols) == ["perturb_feature", "perturb_sparsity", "perturb_density", "importance_constant"]
    np.testing.assert_allclose(cols["perturb_density"], [0.1, 0.01, 0.001], rtol=1e-12)
    assert Grid.from_dict(g.to_dict()).to_dict() == g.to_dict()


def test_importance_perturbation_and_both_axes():
    g = parse_spec(doc({"feature": 0, "importance": [1.0, 0.5], "sparsity": [0.9, 0.99]})).grid
    assert g.shape == (2, 2, 1, 1)
    np.testing.assert_allclose(g.importance, [[1.0, 1, 1, 1], [0.5, 1, 1, 1]], rtol=0, atol=0)
    np.testing.assert_allclose(g.sparsity_rows[:, 0], [0.9, 0.99], rtol=1e-12)
    np.testing.assert_allclose(g.sparsity_rows[:, 1:], 0.9, rtol=1e-12)
    hp = g.cell_hparams(4, np.arange(4))  # flat (S, I): (0,0), (0,1), (1,0), (1,1)
    np.testing.assert_allclose(np.asarray(hp.importance)[:, 0], [1.0, 0.5, 1.0, 0.5], rtol=1e-7)
    np.testing.assert_allclose(np.asarray(hp.sparsity)[:, 0], [0.9, 0.9, 0.99, 0.99], rtol=1e-6)
    sub = g.subset(np.array([1]), np.array([1]))
    assert sub.shape == (1, 1, 1, 1) and sub.perturb_feature == 0
    np.testing.assert_allclose(sub.sparsity_rows[0, 0], 0.99, rtol=1e-12)
    np.testing.assert_allclose(sub.importance_params["perturb_importance"], [0.5], rtol=0)


def test_a_perturbed_sweep_trains_and_tables_name_the_columns(tmp_path):
    from tms.runs.store import run_sweep

    spec = parse_spec(doc({"feature": 1, "density": [0.1, 0.01]}))
    res = run_sweep(spec, tmp_path / "p", progress=False)
    df = res.to_frame()
    assert {"perturb_feature", "perturb_density", "perturb_sparsity"} <= set(df.columns)
    np.testing.assert_allclose(df["perturb_density"], [0.1, 0.01], rtol=1e-12)
    assert (df["perturb_feature"] == 1).all()
    assert "perturb_density" in (tmp_path / "p" / "table.csv").read_text().splitlines()[0]


def test_unperturbed_grids_keep_their_dict():
    g = Grid.make(3, sparsity=[0.1, 0.2])
    assert "perturb_feature" not in g.to_dict() and g.sparsity_rows is None
    assert dataclasses.replace(Grid.from_dict(g.to_dict())).perturb_feature == -1


@pytest.mark.parametrize("perturb, match", [
    ({"feature": 4, "density": 0.1}, r"perturb.feature must be an integer feature index in \[0, 3\]"),
    ({"feature": 0}, "give one of perturb.density"),
    ({"feature": 0, "density": 0.1, "sparsity": 0.5}, "give one of perturb.density"),
    ({"feature": 0, "colour": 1}, "unknown key 'data.perturb.colour'"),
    ({"feature": 0, "density": 1.5}, r"perturb.density: density must lie in \(0, 1\]"),
    ({"feature": 0, "importance": -1.0}, "perturb.importance must be finite and >= 0"),
    ({"feature": "a", "density": 0.1}, "data.perturb.feature must be an integer"),
])
def test_bad_perturbations_name_the_field(perturb, match):
    with pytest.raises(SpecError, match=match):
        parse_spec(doc(perturb), "x.toml")


def test_perturbing_density_needs_one_base_sparsity():
    with pytest.raises(SpecError, match="need one base sparsity"):
        parse_spec(doc({"feature": 0, "density": 0.01}, density=[0.1, 0.2]), "x.toml")


def test_perturb_rows_reference():
    rows = tdata.perturb_rows([1.0, 2.0, 3.0], 1, [5.0, 6.0])
    np.testing.assert_array_equal(rows, [[1.0, 5.0, 3.0], [1.0, 6.0, 3.0]])
