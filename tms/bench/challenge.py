"""Benchmark: epochs per second of challenge training, JAX (ours) vs PyTorch CPU, interleaved, in one invocation.

Same model (challenge transformer, default Config), same data (the 6,384-example train half, full batch),
same optimiser (AdamW, betas (0.9, 0.98), weight decay 1.0, lr 1e-3, no warm-up in the timed region).
PyTorch is timed two ways: "torch-full" runs the whole forward pass (all three positions, as the original
challenge training did); "torch-last" uses the same algorithm as our JAX step (per-token key/value/query
tables, attention and MLP at the last position only, see model.forward_last), so the ratio against it
isolates the framework.

Trials alternate JAX, torch-full, torch-last, JAX, ... (``--repeats`` rounds, default 5) after compiling
and warming up each; the median of each is printed with two ratios (the median of the per-round ratios,
the headline, and the ratio of the medians; see :mod:`tms.bench.common`). Compilation is timed apart.

    python -m tms.bench.challenge [--epochs 20] [--repeats 5] [--torch-threads auto] [--no-torch]

torch is an optional dependency (extra "bench"); without it only JAX is timed.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

import jax
import numpy as np

from tms.challenge import model as M
from tms.challenge import train as T

from .common import cpu_peak, interleave, load_average, median, ratios
from .trainers import check_threads


def jax_trainer(epochs: int, cfg: M.Config | None = None) -> tuple[float, Callable[[], None]]:
    """Our compiled full-batch training (``epochs`` per run): ``(compile seconds, run)`` after a warm-up."""
    cfg = cfg or M.Config()
    tcfg = T.TrainConfig(epochs=epochs, log_every=epochs, warmup=0)
    opt, run_epochs = T.make_run_epochs(tcfg)
    train_b, _ = T.challenge_batches()
    params = M.init_params(cfg, jax.random.key(0))
    state = [T.TrainState(params, opt.init(params))]
    t0 = time.perf_counter()
    compiled = run_epochs.lower(state[0], train_b, epochs).compile()
    compile_s = time.perf_counter() - t0

    def run():
        state[0] = jax.block_until_ready(compiled(state[0], train_b))

    run()  # warm-up
    return compile_s, run


def _torch_model(torch, cfg: M.Config, params: dict, last_only: bool):
    """The challenge transformer in PyTorch, our layout, initialised from `params`."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            for k, v in params.items():
                setattr(self, k, nn.Parameter(torch.tensor(np.array(v))))
            self.register_buffer("mask", torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool)))

        def forward(self, tokens):
            if last_only:  # the same algorithm as model.forward_last: per-token K/V/Q tables, last position
                n, e = tokens.shape[1], cfg.d_head
                table = self.W_E[None] + self.W_pos[:n, None]  # (p, v, d)
                kv = torch.einsum("pvd,hdf->pvhf", table, torch.cat([self.W_K, self.W_V], -1))
                kv = kv[torch.arange(n)[None, :], tokens]  # (b, p, h, 2e)
                k, v = kv[..., :e], kv[..., e:]
                q = torch.einsum("vd,hde->vhe", table[-1], self.W_Q)[tokens[:, -1]]
                a = torch.softmax((q[:, None] * k).sum(-1) / math.sqrt(e), 1)  # (b, p, h)
                z = (a[..., None] * v).sum(1).reshape(tokens.shape[0], -1)
                mid = table[-1][tokens[:, -1]] + z @ self.W_O.reshape(-1, cfg.d_model)
            else:
                x = self.W_E[tokens] + self.W_pos[None]
                k = torch.einsum("bpd,hde->bphe", x, self.W_K)
                v = torch.einsum("bpd,hde->bphe", x, self.W_V)
                q = torch.einsum("bpd,hde->bphe", x, self.W_Q)
                s = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(cfg.d_head)
                a = torch.softmax(s.masked_fill(~self.mask, -1e10), -1)
                mid = x + torch.einsum("bhqk,bkhe,hed->bqd", a, v, self.W_O)
            out = mid + torch.relu(mid @ self.W_in + self.b_in) @ self.W_out + self.b_out
            logits = out @ self.W_U
            return logits if last_only else logits[:, -1]

    return Net()


def torch_trainer(epochs: int, last_only: bool, threads: int, cfg: M.Config | None = None) -> Callable[[], None]:
    """The same training in PyTorch on the CPU (``epochs`` per run), after a 2-epoch warm-up."""
    import torch

    cfg = cfg or M.Config()

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    train_b, _ = T.challenge_batches()
    tokens = torch.tensor(np.array(train_b.tokens), dtype=torch.long)
    labels = torch.tensor(np.array(train_b.labels), dtype=torch.long)
    net = _torch_model(torch, cfg, M.init_params(cfg, jax.random.key(0)), last_only)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)

    def epochs_(k):
        for _ in range(k):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(tokens), labels)
            loss.backward()
            opt.step()

    def run():
        torch.set_num_threads(threads)
        epochs_(epochs)

    epochs_(2)  # warm-up
    return run


def torch_best_threads(last_only: bool, epochs: int = 1, rounds: int = 3) -> tuple[int, dict[int, float]]:
    """The faster of 1 and all cores for one PyTorch trainer: a short interleaved pilot, median s/epoch."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    counts = sorted({1, cores})
    runs = {t: torch_trainer(epochs, last_only, t) for t in counts}
    per_epoch = {t: median([tr.wall for tr in trials]) / epochs for t, trials in interleave(runs, rounds).items()}
    return min(per_epoch, key=per_epoch.get), per_epoch


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m tms.bench.challenge", description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20, help="epochs per timed trial (>= 1; default 20)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="interleaved trials per trainer; the median is reported (>= 3; default 5)")
    ap.add_argument("--torch-threads", default="auto",
                    help="PyTorch threads: a number, or 'auto' (the faster of 1..cores in a pilot; default)")
    ap.add_argument("--no-torch", action="store_true", help="time only JAX")
    args = ap.parse_args(argv)
    if args.epochs < 1 or args.repeats < 3:
        ap.error("--epochs must be >= 1 and --repeats >= 3")
    check_threads(ap, args.torch_threads, "--torch-threads")
    peak = cpu_peak()
    print(f"challenge transformer, full batch of 6384; {peak.model}, {peak.cores} CPU cores; jax {jax.__version__} "
          f"on {jax.devices()[0].platform}; load average {load_average()}")
    compile_s, jax_run = jax_trainer(args.epochs)
    print(f"  JAX compile: {compile_s:.2f} s (excluded)")
    runs = {"jax": jax_run}
    names = {"jax": "jax (ours, last-position step)"}
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("  torch not installed: timing JAX only (pip install 'tms[bench]' with a pinned torch)")
        else:
            print(f"  torch {torch.__version__}")
            for key, last_only, what in (("torch_full", False, "all positions"), ("torch_last", True, "same computation")):
                threads = args.torch_threads
                if threads == "auto":
                    threads, pilot = torch_best_threads(last_only)
                    print(f"  {key.replace('_', '-')} thread pilot (median s/epoch): "
                          + ", ".join(f"{t}: {v:.3f}" for t, v in pilot.items()) + f" -> {threads}")
                runs[key] = torch_trainer(args.epochs, last_only, int(threads))
                names[key] = f"{key.replace('_', '-')} ({what}, {threads} thr)"
    print(f"  {args.repeats} interleaved rounds of {args.epochs} epochs each (" + ", ".join(runs) + "), epochs/s:")
    trials = interleave(runs, args.repeats,
                        lambda r, row: print(f"    round {r + 1}: " + "  ".join(
                            f"{k} {args.epochs / t.wall:7.2f}" for k, t in row.items()), flush=True))
    rates = {k: [args.epochs / t.wall for t in v] for k, v in trials.items()}
    out = {k: median(v) for k, v in rates.items()}
    for k, v in rates.items():
        cpu = median([t.cpu / args.epochs for t in trials[k]])
        line = f"  {names[k]:40s} median {out[k]:8.2f} epochs/s (CPU {cpu:.3f} s/epoch)"
        if k != "jax":
            paired, of_medians = ratios(rates["jax"], v)
            out[f"ratio_{k}"] = paired
            line += f"  -> jax / {k.replace('_', '-')}: {paired:.2f}x paired median ({of_medians:.2f}x of medians)"
        print(line)
    print(f"  load average at the end: {load_average()}")
    return out


if __name__ == "__main__":
    main()
