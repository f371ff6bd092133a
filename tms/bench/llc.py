"""LLC estimation, ours (JAX: chains vmapped, one compiled call) against devinterp 2.0.1 (PyTorch: its SGLD
optimizer and its chain loop, one chain after another), on the same TMS model, data and hyperparameters.

    python -m tms.bench.llc [--chains 4] [--draws 500] [--repeats 5]

devinterp gets the fastest data it accepts: its 2.0.1 chain loop builds its own ``DataLoader`` and indexes
each batch as ``batch["input_ids"]``, so a ``TensorDataset`` (tuples) does not run; of the two dict-shaped
sources, a list of ``{"input_ids": row}`` tensors collated a batch of 500 in ~14 ms, the HuggingFace
``datasets.Dataset`` in torch format that its docs describe in ~150-170 ms (both under load 20; docs/slt.md),
so the list is used. Each round times, in order: ours
**cold** (the sampler's compilation caches cleared first, so compilation is included), ours **warm**
(compiled), devinterp (nothing to compile; warmed up before the rounds) in its best setup: a short pilot (a
tenth of the draws) times one process on 1 thread and on every core, and one single-thread process per core
with the chains split between them (devinterp 2.0.1 runs chains one after another; splitting them is what a
user with several cores can do), and the fastest is timed (``--threads N`` skips the pilot).
Prints both estimates with their chain standard errors, the medians, and the cold and warm ratios (median of
the per-round ratios), with the load average before and after. :func:`devinterp_llc` is also what the
cross-check test runs (tests/acceptance/test_slt.py).
"""

from __future__ import annotations

import argparse
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ..engine.data import high_sparsity_set
from ..errors import MissingExtraError, require
from ..slt import SGLDConfig, default_nbeta, estimate_llc
from ..slt.llc import compiled_sampler
from ..slt.toy import dense_loss, kgon_point
from .common import cpu_peak, interleave, load_average, median
from .trainers import add_threads_option, check_threads, chosen_setup, in_processes


def devinterp_llc(W, b, X, *, step_size: float, localization: float, nbeta: float, chains: int, draws: int,
                  burn_in: int, batch_size: int, seed: int = 0, first_chain: int = 0) -> dict:
    """λ̂ by devinterp: ``devinterp.slt.sampler.sample_single_chain`` with ``devinterp.optim.SGLD`` per chain,
    the loss recorded at each draw by a callback, λ̂_c = nβ (mean draw loss − L_n(w*)) as devinterp's
    ``compute_llc`` forms it. ``W: (m, n)``, ``b: (n,)``, ``X: (N, n)`` (NumPy). Returns llc, llc_se, llc_std,
    llc_per_chain. Runs chains ``first_chain`` .. ``first_chain + chains - 1`` (chain ``c`` seeded ``seed + c``),
    so a set of chains split among processes gives the chains one process gives."""
    torch = require("torch", "slt", "the devinterp cross-check")
    SGLD = require("devinterp.optim", "slt", "the devinterp cross-check").SGLD
    from devinterp.slt.sampler import sample_single_chain

    class TMS(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.Parameter(torch.tensor(np.asarray(W), dtype=torch.float32))
            self.b = torch.nn.Parameter(torch.tensor(np.asarray(b), dtype=torch.float32))

        def forward(self, x):  # x: (batch, n)
            return torch.relu(x @ self.W.T @ self.W + self.b)

    def evaluate(model, data):
        x = data["input_ids"]
        return ((model(x) - x) ** 2).sum(dim=1).mean(), {}

    model = TMS()
    Xt = torch.tensor(np.asarray(X), dtype=torch.float32)
    with torch.no_grad():
        init_loss = float(evaluate(model, {"input_ids": Xt})[0])
    dataset = [{"input_ids": row} for row in Xt]  # the fastest source its loop accepts (module docstring)
    per_chain = []
    for c in range(first_chain, first_chain + chains):
        losses: list[float] = []
        record = losses.append
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sample_single_chain(model, dataset, evaluate, {"W": None, "b": None}, num_draws=draws,
                                num_burnin_steps=burn_in, sampling_method=SGLD,
                                sampling_method_kwargs=dict(lr=step_size, localization=localization, nbeta=nbeta),
                                chain=c, seed=seed + c, dataloader_seed=seed + c, batch_size=batch_size,
                                callbacks=[lambda loss, _record=record, **_: _record(float(loss))])
        per_chain.append(nbeta * (np.mean(losses) - init_loss))
    per_chain = np.asarray(per_chain)
    return {"llc": float(per_chain.mean()),
            "llc_se": float(per_chain.std(ddof=1) / np.sqrt(chains)) if chains > 1 else float("nan"),
            "llc_std": float(per_chain.std()), "llc_per_chain": per_chain}


def devinterp_run(W, b, X, hp: dict, first_chain: int, chains: int, threads: int):
    """``run()``: :func:`devinterp_llc` for chains ``first_chain`` .. on ``threads`` PyTorch threads, after a
    warm-up (one chain, a few draws)."""
    import torch

    torch.set_num_threads(threads)
    devinterp_llc(W, b, X, **{**hp, "chains": 1, "draws": 5, "burn_in": 0})

    def run():
        torch.set_num_threads(threads)
        return devinterp_llc(W, b, X, **{**hp, "chains": chains}, first_chain=first_chain)

    return run


def devinterp_setup_run(W, b, X, hp: dict, setup):
    """``run()`` for devinterp in ``setup`` (a :class:`tms.bench.trainers.TorchSetup`): in this process, or the
    chains split among processes."""
    if setup.processes == 1:
        return devinterp_run(W, b, X, hp, 0, hp["chains"], setup.threads)
    parts = np.array_split(np.arange(hp["chains"]), setup.processes)
    return in_processes(devinterp_run, [(W, b, X, hp, int(p[0]), len(p), setup.threads) for p in parts])


def setup(n: int = 10_000, label: str = "6", seed: int = 0):
    """The shared problem: the k-gon ``label``, ``n`` high-sparsity examples (dense), nβ = n/log n."""
    data = high_sparsity_set(jax.random.PRNGKey(seed), n, 6)
    return kgon_point(label), np.asarray(data.dense()), default_nbeta(n)


def ours_llc(point, X, *, step_size, localization, nbeta, chains, draws, burn_in, batch_size, seed=0):
    cfg = SGLDConfig(chains=chains, draws=draws, burn_in=burn_in, batch_size=batch_size)
    return estimate_llc(dense_loss(), point, jnp.asarray(X), step_size=step_size, localization=localization,
                        nbeta=nbeta, config=cfg, key=jax.random.PRNGKey(seed))


_LOSS = dense_loss()  # one function object, so the compiled sampler is reused across trials


def _require_extras() -> None:
    try:  # before any work: the comparison is the point of this script
        require("torch", "slt", "python -m tms.bench.llc (the devinterp comparison)")
        require("devinterp", "slt", "python -m tms.bench.llc (the devinterp comparison)")
    except MissingExtraError as e:
        raise SystemExit(f"error: {e}") from None


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m tms.bench.llc", description=__doc__.splitlines()[0])
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--burn-in", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--n", type=int, default=10_000, help="sample size (default 10,000)")
    ap.add_argument("--repeats", type=int, default=5)
    add_threads_option(ap)
    a = ap.parse_args(argv)
    check_threads(ap, a.threads)
    _require_extras()
    point, X, nb = setup(a.n)
    hp = dict(step_size=0.1 / nb, localization=1.0, nbeta=nb, chains=a.chains, draws=a.draws, burn_in=a.burn_in,
              batch_size=a.batch_size)
    cfg = SGLDConfig(chains=a.chains, draws=a.draws, burn_in=a.burn_in, batch_size=a.batch_size)
    Xj = jnp.asarray(X)

    def ours():
        return estimate_llc(_LOSS, point, Xj, step_size=hp["step_size"], localization=1.0, nbeta=nb, config=cfg)

    def ours_cold():
        compiled_sampler.cache_clear()
        jax.clear_caches()
        return ours()

    peak = cpu_peak()
    print(f"machine: {peak.model}, {peak.cores} CPU cores, {peak.isa}; jax {jax.__version__}")
    print(f"load average before: {load_average()}")
    print(f"6-gon, n={a.n}, nβ={nb:.1f}, ε={hp['step_size']:.3g}, γ=1, batch {a.batch_size}, "
          f"{a.chains} chains x ({a.burn_in} burn-in + {a.draws} draws)", flush=True)
    Wn, bn = np.asarray(point.W), np.asarray(point.b)
    short = {**hp, "draws": max(10, a.draws // 10), "burn_in": a.burn_in // 10}
    best = chosen_setup(a.threads, lambda u: devinterp_setup_run(Wn, bn, X, short, u), a.chains, 1,
                        "devinterp setup pilot (median s, a tenth of the draws)", scale=1, digits=2)
    theirs = devinterp_setup_run(Wn, bn, X, hp, best)
    e_ours, e_dev = ours(), devinterp_llc(Wn, bn, X, **hp)  # the warm-ups; devinterp's estimate from one process
    print(f"ours      λ̂ = {e_ours.llc:.3f} ± {e_ours.llc_se:.3f} (s.e.)")
    print(f"devinterp λ̂ = {e_dev['llc']:.3f} ± {e_dev['llc_se']:.3f} (s.e.)")
    print(f"devinterp timed in its best setup: {best}")
    times = interleave({"ours cold": ours_cold, "ours warm": ours, "devinterp": theirs}, a.repeats,
                       on_round=lambda r, row: print(f"round {r + 1}: " + ", ".join(
                           f"{k} {t.wall:.2f} s" for k, t in row.items()), flush=True))
    wall = {k: [t.wall for t in v] for k, v in times.items()}
    out = {k: median(v) for k, v in wall.items()}
    for mode in ("cold", "warm"):
        out[f"ratio_{mode}"] = median([d / o for o, d in zip(wall[f"ours {mode}"], wall["devinterp"])])
    print(f"wall time, median of {a.repeats}: ours cold {out['ours cold']:.3f} s, ours warm {out['ours warm']:.3f} s, "
          f"devinterp {out['devinterp']:.3f} s")
    print(f"devinterp/ours = {out['ratio_cold']:.1f}x cold (compilation included), {out['ratio_warm']:.1f}x warm "
          f"(median of per-round ratios)")
    print(f"load average after: {load_average()}")
    return out


if __name__ == "__main__":
    main()
