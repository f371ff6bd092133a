"""The absolute-value model's sweep beside an independent PyTorch implementation written as ARENA's notebook writes
it (every instance in one tensor, ``xavier_normal_`` on the stacked tensor, ``torch.rand`` data, Adam), slow.

It checks the lab's training at n = 100, m = 40 against a peer, and that the initialisation is what decides the
sparse half of the sweep in both (docs/privileged.md): with the notebooks' init both compute many features at
densities 0.03 and 0.01; with one model's Xavier init (the lab's default) the peer fails as the lab did.
"""

import dataclasses

import numpy as np
import pytest

from tms.analysis.neurons import abs_census
from tms.experiments.neurons import density_params
from tms.experiments.registry import shipped_spec
from tms.runs.pipeline import run_chunks
from tms.runs.results import Results

pytestmark = pytest.mark.slow

STEPS = 3000  # of 1,024 examples: the budget of tms reproduce computation, with the paper's batch


def torch_abs(densities, n, m, steps, *, per_model_init=False, seed=0):
    """``(W1: (D, m, n), W2: (D, n, m))`` of an ARENA-style |x| model trained at each density, I_i = 0.8^i."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    k = len(densities)
    W1 = torch.nn.init.xavier_normal_(torch.empty(k, m, n))
    W2 = torch.nn.init.xavier_normal_(torch.empty(k, n, m))
    if per_model_init:  # Xavier for one model: std sqrt(2 / (m + n)) for both matrices
        W1, W2 = (torch.randn(k, m, n) * (2 / (m + n)) ** 0.5, torch.randn(k, n, m) * (2 / (m + n)) ** 0.5)
    W1, W2, b = (torch.nn.Parameter(t) for t in (W1, W2, torch.zeros(k, n)))
    density = torch.tensor(densities, dtype=torch.float32)[None, :, None]
    importance = 0.8 ** torch.arange(n, dtype=torch.float32)
    opt = torch.optim.Adam([W1, W2, b], lr=1e-3)
    for _ in range(steps):
        x = torch.where(torch.rand(1024, k, n) <= density, 2 * torch.rand(1024, k, n) - 1, torch.zeros(()))
        y = torch.relu(torch.einsum("knm,bkm->bkn", W2, torch.relu(torch.einsum("kmn,bkn->bkm", W1, x))) + b)
        loss = (importance * (x.abs() - y) ** 2).sum(-1).mean(0).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return W1.detach().numpy().astype(np.float64), W2.detach().numpy().astype(np.float64)


def computed(W1, W2):
    return [int(abs_census(a, c)[1].computed.sum()) for a, c in zip(W1, W2)]


def test_lab_and_pytorch_peer_agree_on_the_computation_sweep_and_on_what_the_init_does():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    spec = shipped_spec("computation_sweep_paper")
    spec = dataclasses.replace(spec, static=dataclasses.replace(spec.static, steps=STEPS))
    assert spec.static.init_scale == 0.18
    lab, dens = density_params(Results(spec.static, spec.grid, run_chunks(spec, progress=False)))
    n, m = spec.static.n_features, spec.static.n_hidden
    peer = torch_abs(list(dens), n, m, STEPS)
    peer_default = torch_abs(list(dens), n, m, STEPS, per_model_init=True)
    lab_c, peer_c, default_c = computed(lab["W1"], lab["W2"]), computed(*peer), computed(*peer_default)
    mid = [list(dens).index(d) for d in (0.03, 0.01)]
    print("densities", [float(d) for d in dens], "lab", lab_c, "peer", peer_c, "peer, one model's Xavier init", default_c)
    # measured (2026-12-07, seed 0), densities 1 ... 0.001: lab 9 11 14 18 21 17 7, peer 10 11 14 17 24 16 11,
    # peer with one model's Xavier init 10 13 3 1 2 4 3
    for k in mid:
        assert lab_c[k] > 12 and peer_c[k] > 12, (lab_c, peer_c)
        assert abs(lab_c[k] - peer_c[k]) <= 8, (lab_c, peer_c)
        assert default_c[k] <= 6, default_c  # the default init fails in the peer too
    # dense end: each of the 40 neurons monosemantic in both
    for W1, W2 in ((lab["W1"][0], lab["W2"][0]), (peer[0][0], peer[1][0])):
        neurons, _ = abs_census(W1, W2)
        assert (neurons.label == "monosemantic").sum() >= 38
