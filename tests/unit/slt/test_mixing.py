"""Chains started in each basin: labels per segment and the transition table."""

import numpy as np
import pytest

from tms.slt.mixing import label_paths, mixing_table
from tms.slt.settings import PosteriorSettings


def test_chains_started_in_a_deep_basin_stay_and_the_table_counts_them():
    s = PosteriorSettings(sizes=(20_000,), chains=2, steps=40, step_scale=0.05)
    paths = label_paths(s, starts=("6",), segments=4)
    lab = paths[(20_000, "6")]
    assert lab.shape == (2, 4) and (lab == "6").all()  # 40 small steps at n = 20,000 cannot leave the 6-gon
    row = mixing_table(paths).iloc[0]
    assert row.changes_per_chain == 0 and row.left_start == 0 and row.end_6 == 1.0


def test_mixing_table_counts_changes():
    paths = {(100, "5"): np.array([["5", "6", "6", "5"], ["5", "5", "5", "5"]])}
    row = mixing_table(paths).iloc[0]
    np.testing.assert_allclose([row.changes_per_chain, row.left_start, row.end_5, row.end_6], [1.0, 0.5, 1.0, 0.0])


def test_segments_are_checked():
    with pytest.raises(ValueError, match="segments"):
        label_paths(PosteriorSettings(sizes=(100,), chains=2, steps=3), segments=5)
