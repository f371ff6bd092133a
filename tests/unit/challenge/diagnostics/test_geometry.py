"""Geometry measures of hand-built matrices."""

import numpy as np

from tms.challenge.diagnostics import geometry as G


def test_geometry_table_on_hand_built_matrices():
    objs = {"orthonormal": np.eye(6)[:, :4], "antipodal": np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 2.0]])}
    t = G.geometry_table(objs).set_index("object")
    row = np.asarray(t.loc["orthonormal", ["frobenius", "mean_dimensionality", "max_abs_cosine"]], dtype=float)
    np.testing.assert_allclose(row, [4.0, 1.0, 0.0], atol=1e-12)  # pandas 2 gives an object Series here
    np.testing.assert_allclose(t.loc["antipodal", "frobenius"], 6.0)
    np.testing.assert_allclose(t.loc["antipodal", "mean_dimensionality"], (0.5 + 0.5 + 1) / 3)
    np.testing.assert_allclose(t.loc["orthonormal", "effective_rank"], 4.0)
    assert "orthonormal:random" in t.index and t.loc["orthonormal", "census"] == "4×dedicated"
