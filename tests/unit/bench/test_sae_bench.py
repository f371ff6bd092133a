"""`python -m tms.bench.sae` prints, from one invocation, JAX's warm and cold time and PyTorch's, with the
machine line (a smoke test: no timing is asserted)."""

import re

import pytest


def test_sae_bench_prints_warm_cold_and_torch(capsys):
    pytest.importorskip("torch")
    from tms.bench import sae

    sae.main(["--n", "2", "--steps", "3", "--repeats", "1", "--batch", "8"])
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "load average before" in out and "load average after" in out
    for label in ("JAX compile + first call", "JAX, all in one call (warm)", "PyTorch, one at a time",
                  "median of paired ratios", "cold (JAX's compile + first call"):
        assert label in out, label
    ratios = re.findall(r"(\d+\.\d+)x", out)  # at 3 steps the cold ratio rounds to 0.0x: only their presence
    assert len(ratios) == 3
