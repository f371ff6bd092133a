"""``python -m tms.bench``: JAX as one call and as chunks side by side against PyTorch in its best setup (one process
on 1 or every core, or a single-thread process per core with the instances split), all printed from one run. Timings
are never asserted; what is checked is that every contender ran and is printed, and the CPU accounting."""

import pytest

from tms.bench.common import OtherCpu, timed
from tms.bench.toy import main
from tms.bench.trainers import Setting, TorchSetup, torch_processes, torch_setups


def test_timed_counts_the_cpu_of_other_processes():
    assert timed(lambda: OtherCpu(2.5)).cpu >= 2.5
    assert timed(lambda: None).cpu < 2.5


def test_the_pilot_tries_the_peer_side_by_side_too():
    import os

    cores = len(os.sched_getaffinity(0))
    setups = torch_setups(Setting(5, 2, 8, 16))
    assert TorchSetup(1, 1) in setups and TorchSetup(1, cores) in setups
    assert (TorchSetup(cores, 1) in setups) == (cores > 1)
    assert torch_setups(Setting(5, 2, 1, 16)) == [TorchSetup(1, t) for t in sorted({1, cores})]  # 1 instance: no split
    assert str(TorchSetup(2, 1)) == "2 processes x 1 thread" and str(TorchSetup(1, 2)) == "2 threads"


def test_torch_processes_train_their_parts_and_report_their_cpu():
    pytest.importorskip("torch")
    run = torch_processes(Setting(5, 2, 5, 16), steps=20, processes=2)
    out = run()
    assert isinstance(out, OtherCpu) and out.seconds > 0
    assert timed(run).cpu >= 0.0


def test_the_benchmark_prints_every_contender(capsys):
    pytest.importorskip("torch")
    main(["--steps", "3", "--torch-steps", "2", "--repeats", "3", "--instances", "4", "--batch", "16"])
    out = capsys.readouterr().out
    assert "PyTorch setup pilot (median ms/step): 1 thread" in out and "processes x 1 thread" in out
    assert "JAX side by side (2 chunks of 2+ instances" in out
    assert "JAX / PyTorch: median of paired ratios" in out
    assert "JAX side by side (2 chunks) / PyTorch: median of paired ratios" in out
    assert "% of peak, side by side" in out
