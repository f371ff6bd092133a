"""`python -m tms.bench.neurons` prints, from one invocation, the fast path, the generic path and PyTorch side by
side for each kind and size, with the machine line and compile times (a smoke test: no timing is asserted)."""

import re

import pytest


@pytest.mark.slow  # 18 s of compiling 8 programs (CI's 10-minute budget); the slow suite runs it
def test_neurons_bench_prints_fast_generic_and_torch(capsys):
    pytest.importorskip("torch")
    from tms.bench import neurons

    neurons.main(["--kinds", "relu_hidden", "abs", "--sizes", "3x2", "--steps", "4", "--repeats", "1",
                  "--instances", "2"])
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "load average before" in out and "load average after" in out
    rows = [line for line in out.splitlines() if re.match(r"(relu_hidden|abs)\s+n=", line)]
    assert [r.split()[0] for r in rows] == ["relu_hidden", "abs"]
    for r in rows:
        for label in ("tms fast path", "generic path", "PyTorch", "fast / PyTorch", "generic / PyTorch", "compile",
                      "side by side (2 chunks)", "side by side / PyTorch"):  # 2 CPU devices in tests (conftest)
            assert label in r, (label, r)
        rates = [float(v) for v in re.findall(r"(\d+\.\d+) steps/s", r)]
        assert rates and all(v > 0 for v in rates)
