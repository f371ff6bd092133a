"""N SAEs trained in one compiled JAX call against the same N trained one at a time in PyTorch.

``python -m tms.bench.sae [--n 64] [--steps 1000] [--repeats 3]``

Both train ReLU+L1 SAEs (``d_sae`` latents on ``d_in``-wide activations of the pentagon toy model at sparsity
0.9, Adam, batch ``--batch``, decoder rows renormalised after each step) for the same steps. PyTorch runs the
loop ARENA's and SAELens's training loops run: one SAE, one ``torch.optim.Adam``, one step per Python
iteration, the batch drawn on the fly, no autograd anomaly checks, ``zero_grad(set_to_none=True)``; and it
gets its best setup: a short interleaved pilot times one process on 1 thread and on every core, and one
single-thread process per core with the SAEs split between them, and the fastest is timed (``--threads N``
skips the pilot: one process, N threads). JAX is timed as one call and, where it shows several CPU devices (as the ``tms`` command sets up), as the SAEs
split into one call per device side by side (how an SAE sweep's chunks train by default), both warm (compiled before the
first trial) and its compile time printed apart. Trials are interleaved; medians and the median of paired
ratios are printed with the machine line and the load average before and after.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from ..engine.sae import SaeConfig, pentagon, sae_hparams, toy_model_source, train_saes
from .common import cpu_peak, interleave, load_average, median, ratios
from .trainers import TorchSetup, add_threads_option, check_threads, chosen_setup, in_processes


def torch_one_at_a_time(seeds, steps: int, batch: int, d_sae: int, W: np.ndarray, sparsity: float) -> None:
    """The SAEs ``seeds`` (an int: ``range(seeds)``) trained one after another, ARENA/SAELens style."""
    import torch

    Wt = torch.as_tensor(W)
    d_in, n_feat = W.shape
    for seed in (range(seeds) if isinstance(seeds, int) else seeds):
        g = torch.Generator().manual_seed(seed)
        W_dec = torch.randn(d_sae, d_in, generator=g)
        W_dec = W_dec / W_dec.norm(dim=1, keepdim=True)
        params = [torch.nn.Parameter(W_dec.T.clone()), torch.nn.Parameter(torch.zeros(d_sae)),
                  torch.nn.Parameter(W_dec.clone()), torch.nn.Parameter(torch.zeros(d_in))]
        W_enc, b_enc, W_dec, b_dec = params
        opt = torch.optim.Adam(params, lr=1e-3)
        alpha = 0.01 * (1 + seed % 4)
        for _ in range(steps):
            x = torch.rand(batch, n_feat, generator=g) * (torch.rand(batch, n_feat, generator=g) > sparsity)
            h = x @ Wt.T
            z = torch.relu((h - b_dec) @ W_enc + b_enc)
            loss = ((z @ W_dec + b_dec - h) ** 2).sum(-1).mean() + alpha * z.sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                W_dec /= W_dec.norm(dim=1, keepdim=True)


def torch_sae_run(seeds, steps: int, batch: int, d_sae: int, W: np.ndarray, sparsity: float, threads: int):
    """``run()``: :func:`torch_one_at_a_time` for ``seeds`` on ``threads`` threads, after a short warm-up."""
    import torch

    torch.set_num_threads(threads)
    torch_one_at_a_time([0], min(steps, 20), batch, d_sae, W, sparsity)

    def run():
        torch.set_num_threads(threads)
        torch_one_at_a_time(seeds, steps, batch, d_sae, W, sparsity)

    return run


def torch_run(setup: TorchSetup, n: int, steps: int, batch: int, d_sae: int, W: np.ndarray, sparsity: float):
    """``run()`` for ``n`` SAEs in ``setup``: in this process, or the SAEs split among processes."""
    if setup.processes == 1:
        return torch_sae_run(n, steps, batch, d_sae, W, sparsity, setup.threads)
    return in_processes(torch_sae_run, [([int(i) for i in part], steps, batch, d_sae, W, sparsity, setup.threads)
                                        for part in np.array_split(np.arange(n), setup.processes)])


def jax_side_by_side(config, source, hp, seeds, workers: int):
    """``run()``: the SAEs split into ``workers`` calls of :func:`train_saes`, each on its own device, side by side."""
    from ..engine.sae.config import SaeHparams
    from ..runs.side_by_side import side_by_side

    parts = np.array_split(np.arange(len(seeds)), workers)
    hps = [SaeHparams(*(np.asarray(v)[p] for v in hp)) for p in parts]

    def run():
        for _ in side_by_side(lambda i: jax.block_until_ready(train_saes(config, source, hps[i], seeds[parts[i]]).params),
                              range(workers), workers):
            pass

    return run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tms.bench.sae", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=64, help="SAEs")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--d-sae", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    add_threads_option(ap)
    a = ap.parse_args(argv)
    check_threads(ap, a.threads)
    from ..runs.side_by_side import use_cpu_cores

    use_cpu_cores()  # a CPU device per core, as the tms command has (only if JAX has not started yet)
    import torch

    peak = cpu_peak()
    print(f"machine: {peak.model}, {peak.cores} CPU cores, {peak.isa}; jax {jax.__version__}, torch "
          f"{torch.__version__}; load average before {load_average()}", flush=True)
    W, S = pentagon(), 0.9
    source = toy_model_source(W, S)
    config = SaeConfig("relu", 2, a.d_sae, batch=a.batch, steps=a.steps)
    hp = sae_hparams(config, penalty=[0.01 * (1 + i % 4) for i in range(a.n)], lr=[1e-3])
    seeds = np.arange(a.n)

    contenders, cold = jax_contenders(config, source, hp, seeds)
    pilot_steps = max(2, a.steps // 10)
    setup = chosen_setup(a.threads, lambda u: torch_run(u, a.n, pilot_steps, a.batch, a.d_sae, W, S), a.n,
                         pilot_steps, "PyTorch setup pilot (median s per step of all the SAEs)", scale=1, digits=4)
    contenders["torch"] = torch_run(setup, a.n, a.steps, a.batch, a.d_sae, W, S)
    trials = interleave(contenders, a.repeats)
    print(f"{a.n} SAEs (d_in=2, d_sae={a.d_sae}), {a.steps} steps x batch {a.batch}, {a.repeats} interleaved trials")
    report(trials, cold, setup, min(jax.local_device_count(), a.n))
    print(f"load average after: {load_average()}", flush=True)


def jax_contenders(config, source, hp, seeds) -> tuple[dict, dict]:
    """JAX's contenders, each called once (compiled) with its seconds printed: one call, and (with several CPU
    devices) one call per device side by side. Returns ``({name: run}, {name: first call's seconds})``."""
    def ours():
        jax.block_until_ready(train_saes(config, source, hp, seeds).params)

    contenders, cold = {"jax": ours}, {}
    workers = min(jax.local_device_count(), len(seeds))
    if workers > 1:
        contenders["side"] = jax_side_by_side(config, source, hp, seeds, workers)
    for name, run in contenders.items():
        t0 = time.perf_counter()
        run()
        cold[name] = time.perf_counter() - t0
        label = f"JAX side by side ({workers} calls), compile" if name == "side" else "JAX compile"
        print(f"{label} + first call: {cold[name]:.2f} s", flush=True)
    return contenders, cold


def report(trials: dict, cold: dict, setup: TorchSetup, workers: int) -> None:
    """The medians, the speed-ups (warm: median of paired ratios and ratio of medians; cold: the first call
    against PyTorch's median) of each JAX contender against PyTorch."""
    t = [x.wall for x in trials["torch"]]
    j = [x.wall for x in trials["jax"]]
    paired, of_medians = ratios([1 / x for x in j], [1 / x for x in t])
    print(f"  JAX, all in one call (warm): median {median(j):.2f} s")
    print(f"  PyTorch, one at a time ({setup}): median {median(t):.2f} s")
    print(f"  speed-up: {paired:.1f}x (median of paired ratios), {of_medians:.1f}x (ratio of medians)")
    print(f"  cold (JAX's compile + first call, {cold['jax']:.2f} s, against PyTorch's median): "
          f"{median(t) / cold['jax']:.1f}x")
    if "side" in trials:
        sv = [x.wall for x in trials["side"]]
        sp, sm = ratios([1 / x for x in sv], [1 / x for x in t])
        print(f"  JAX side by side ({workers} calls, warm): median {median(sv):.2f} s; speed-up "
              f"{sp:.1f}x (median of paired ratios), {sm:.1f}x (ratio of medians); cold ({cold['side']:.2f} s): "
              f"{median(t) / cold['side']:.1f}x")


if __name__ == "__main__":
    main()
