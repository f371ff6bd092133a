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
                  "median of paired ratios", "cold (JAX's compile + first call",
                  "PyTorch setup pilot (median s per step of all the SAEs): 1 thread",
                  "JAX side by side (2 calls, warm)"):  # the test process has 2 CPU devices (conftest)
        assert label in out, label
    ratios = re.findall(r"(\d+\.\d+)x", out)  # at 3 steps the cold ratio rounds to 0.0x: only their presence
    assert len(ratios) == 6


def test_the_sae_peer_split_among_processes_trains_every_sae(monkeypatch):
    """The PyTorch peer's side-by-side setup (one single-thread process per core, the SAEs split) trains each SAE
    once: the parts cover the seeds exactly (checked in this process by recording what each part trains)."""
    from tms.bench import sae
    from tms.bench.trainers import TorchSetup

    parts = []
    monkeypatch.setattr(sae, "in_processes", lambda make_run, args: parts.extend(a[0] for a in args))
    sae.torch_run(TorchSetup(3, 1), 7, 2, 4, 8, sae.pentagon(), 0.9)
    assert len(parts) == 3 and sorted(s for p in parts for s in p) == list(range(7))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


@pytest.mark.slow  # four training calls compiled: about 20 s
def test_selection_bench_trains_the_same_saes_both_ways(capsys):
    """`python -m tms.bench.sae_select`: the shipped top-k selection and the argsort ranking train bit for bit the
    same TopK and BatchTopK SAEs (the bench checks it and prints it), timings printed side by side."""
    from tms.bench import sae_select

    sae_select.main(["--steps", "3", "--repeats", "1", "--sizes", "9"])
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "load average after" in out
    lines = [line for line in out.splitlines() if "d_sae=" in line]
    assert len(lines) == 2 and all(line.endswith("same SAEs: yes") for line in lines), out


def test_auxk_bench_trains_both_implementations_side_by_side(capsys):
    """`python -m tms.bench.sae_auxk`: the shipped AuxK and the first (gathering) one compiled into the same
    training call, timed side by side; their weights agree to float32 rounding."""
    from tms.bench import sae_auxk

    sae_auxk.main(["--steps", "30", "--repeats", "1", "--setting", "reduced"])
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "load average after" in out
    lines = [line for line in out.splitlines() if "d_sae=" in line]
    assert len(lines) == 2 and all("warm shipped" in line and "first" in line for line in lines), out
    for line in lines:
        diff = float(line.split("max weight difference ")[1].split(";")[0])
        assert 0 <= diff < 1e-4, line
