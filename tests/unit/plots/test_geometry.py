"""Geometry figures (tms.plots.geometry): dimensions per feature and the census, on hand-built weights."""

import numpy as np
import pytest

from tms import plots


def test_feature_geometry_figure_hand_built(fake_results, panels):
    W = np.zeros((3, 1, 1, 1, 2, 4))
    W[0, 0, 0, 0, :, :2] = np.eye(2)  # two dedicated, two dropped: D* = 2/2 = 1
    W[1, 0, 0, 0] = [[1, -1, 0, 0], [0, 0, 1, -1]]  # two antipodal pairs: D* = 1/2
    W[2, 0, 0, 0, :, 1:4] = [[1, -0.5, -0.5], [0, np.sqrt(3) / 2, -np.sqrt(3) / 2]]  # triangle: D* = 2/3
    res = fake_results(W, sparsity=[0.0, 0.9, 0.5])
    fig = plots.feature_geometry_figure(res)
    ax0, ax1 = panels(fig)
    line = ax0.lines[0]
    np.testing.assert_allclose(line.get_xdata(), [1.0, 2.0, 10.0])
    np.testing.assert_allclose(line.get_ydata(), [1.0, 2 / 3, 0.5])
    ref = sorted(round(l.get_ydata()[0], 6) for l in ax1.lines[1:])
    np.testing.assert_allclose(ref, sorted([3 / 4, 2 / 3, 1 / 2, 2 / 5, 3 / 8]), atol=1e-6)
    pts = ax1.collections[0].get_offsets()
    np.testing.assert_allclose(np.sort(pts[:, 1]), np.sort(np.r_[[1, 1, 0, 0], [0.5] * 4, [0, 2 / 3, 2 / 3, 2 / 3]]),
                               atol=1e-12)
    x = np.repeat([1.0, 10.0, 2.0], 4)
    ratio = np.log10(pts[:, 0] / x)
    assert np.all(np.abs(ratio) <= 0.08)  # jitter within ±0.08 decades
    for ax in (ax0, ax1):
        assert "1/(1−S)" in ax.get_xlabel() and ax.get_ylabel() and ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="jitter"):
        plots.feature_geometry_figure(res, jitter=2.0)



def test_census_figure_hand_built(intro_like, panels):
    fig = plots.census_figure(intro_like)
    (ax,) = panels(fig)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["dedicated", "pentagon", "not represented"]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(3, 2)  # (types, sparsities)
    np.testing.assert_allclose(heights, [[2, 0], [0, 5], [3, 0]], atol=1e-12)
    assert "sparsity" in ax.get_xlabel() and ax.get_ylabel()

