"""``python -m tms.bench --profile``: every part of the step is timed and printed, the dense path with its matmul
ceiling (timings themselves are never asserted)."""

import math

import pytest

from tms.bench.profile import PARTS, print_profiles, profile_size, profile_steps
from tms.bench.toy import main


@pytest.mark.slow  # 17 s (CI's 10-minute budget); test_profile_flag_prints_the_table keeps the profile in the default suite
def test_profile_times_every_part_and_the_dense_ceiling(capsys):
    small = profile_size(5, 2, instances=4, batch=16, steps=5, repeats=3)
    dense = profile_size(20, 5, instances=3, batch=16, steps=5, repeats=3)  # n·m = 100: the dense path
    for p in (small, dense):
        assert set(p.ms) == set(PARTS)
        assert all(math.isfinite(v) and v > 0 for v in p.ms.values())
        assert p.step_gflops > 0
    assert small.matmul_gflops is None and dense.matmul_gflops > 0
    print_profiles([small, dense])
    out = capsys.readouterr().out
    assert "grads+opt" in out and "(5, 2)" in out and "(20, 5)" in out


def test_profile_steps_shrink_with_the_model():
    assert profile_steps(5, 2, 1024, 500) == 500
    assert 10 <= profile_steps(400, 30, 1024, 500) < profile_steps(20, 5, 1024, 500) < 500


def test_profile_flag_prints_the_table(capsys):
    main(["--profile", "--skip-torch", "--steps", "5", "--repeats", "3", "--instances", "4", "--batch", "16"])
    out = capsys.readouterr().out
    assert "median ms per step of each part" in out and "(5, 2)" in out
