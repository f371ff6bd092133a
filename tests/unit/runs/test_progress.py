"""The work-weighted progress bar of the SAE experiment's stages, and the cost model it is weighted by."""

import pytest

from tms.runs.kinds.sae import call_seconds, parse_sae_spec
from tms.runs.progress import WorkBar, running_credit


def test_work_bar_counts_estimated_work_and_never_passes_its_total(capsys):
    bar = WorkBar(10.0, "[sae] test", enabled=True)
    bar.update(4.0, "relu done")
    assert bar.done == 4.0 and bar.bar is not None and bar.bar.n == pytest.approx(4.0)
    bar.update(7.5, "topk done")  # an estimate past the total stops at it
    assert bar.done == 10.0 and bar.bar.n == pytest.approx(10.0)
    bar.close()
    err = capsys.readouterr().err
    assert "[sae] test" in err and "100%" in err and "topk done" in err


def test_running_calls_count_at_the_finished_pace_up_to_most_of_their_estimate():
    # pace 2 (estimated seconds per second): 30 s into a 462-estimate call counts 60; 300 s into a 100 counts 90
    running = {"geometry": (462.0, 100.0), "small": (100.0, -170.0)}
    assert running_credit(2.0, running, now=130.0) == pytest.approx(60.0 + 90.0, rel=1e-12)
    assert running_credit(2.0, {}, now=130.0) == 0.0
    assert running_credit(2.0, {"late": (10.0, 200.0)}, now=130.0) == 0.0  # a start after now counts nothing


def test_a_work_bar_counts_a_long_call_still_running_when_another_finishes(monkeypatch):
    """Two calls side by side: when the short one finishes, the long one counts for its elapsed time at the short
    one's pace, so the ETA no longer waits for it; the bar never goes back and ends at its total."""
    clock = iter([0.0, 0.0, 100.0, 150.0, 400.0, 500.0])  # 2 starts, short ends, third starts, long ends, third
    monkeypatch.setattr("tms.runs.progress._now", lambda: next(clock))
    bar = WorkBar(800.0, "[reproduce] test", enabled=True)
    bar.started("long", 500.0)
    bar.started("short", 200.0)
    bar.update(200.0, "short done", key="short")  # pace 2; the long one 100 s in: 200 more
    assert bar.done == 200.0 and bar.bar.n == pytest.approx(400.0)
    bar.started("third", 100.0)
    bar.update(500.0, "long done", key="long")  # pace 700 / 500 s; the third, 250 s in, capped at 90
    assert bar.done == 700.0 and bar.bar.n == pytest.approx(790.0)
    bar.update(100.0, "third done")  # finished without its key: its full estimate, the total
    assert bar.bar.n == pytest.approx(800.0)
    bar.close()


def test_a_disabled_work_bar_prints_nothing(capsys):
    bar = WorkBar(3, "[sae] quiet", enabled=False)
    for _ in range(3):
        bar.update(1)
    bar.close()
    assert bar.done == 3 and bar.bar is None and capsys.readouterr() == ("", "")


def test_call_seconds_is_the_sweep_estimate_of_one_chunk():
    doc = {"name": "x", "kind": "sae", "source": {"type": "synthetic", "n_true": 16, "d_in": 8, "mean_active": 2.0},
           "sae": {"archs": ["relu"], "ratios": [1.0], "penalties": [0.01, 0.1]},
           "train": {"steps": 300, "batch": 64, "seeds": [0, 1]}}
    spec = parse_sae_spec(doc)
    assert spec.n_chunks == 1
    expected = 4 * 300 * (6e-5 + 12 * 8 * 16 * 64 / 2e10) + 5.0  # 2 penalties x 2 seeds, one size of 16 latents
    assert call_seconds(4, 300, 8, 16, 64) == pytest.approx(expected, rel=1e-12)
    assert spec.estimate_seconds() == pytest.approx(expected, rel=1e-12)


def test_the_sae_estimate_weighs_each_architecture_and_runs_chunks_two_at_a_time():
    doc = {"name": "x", "kind": "sae", "source": {"type": "synthetic", "n_true": 16, "d_in": 8, "mean_active": 2.0},
           "sae": {"archs": ["relu", "batchtopk"], "ratios": [1.0, 2.0], "penalties": [0.1], "ks": [1, 2, 3]},
           "train": {"steps": 300, "batch": 64, "seeds": [0]}}
    spec = parse_sae_spec(doc)
    assert spec.n_chunks == 4  # (architecture, size) pairs
    per_step = lambda d: 6e-5 + 12 * 8 * d * 64 / 2e10
    relu = [1 * 300 * per_step(d) + 5.0 for d in (16, 32)]
    topk = [3 * 300 * per_step(d) * 3.5 + 5.0 for d in (16, 32)]  # three k values, BatchTopK 3.5x ReLU's cost
    assert call_seconds(3, 300, 8, 32, 64, "batchtopk") == pytest.approx(topk[1], rel=1e-12)
    assert call_seconds(1, 300, 8, 32, 64, "not-registered") == pytest.approx(relu[1], rel=1e-12)
    assert spec.estimate_seconds() == pytest.approx(sum(relu + topk) / 2, rel=1e-12)
