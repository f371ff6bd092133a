"""Benchmark: epochs per second of challenge training, JAX (ours) vs PyTorch CPU, in one invocation.

Same model (challenge transformer, default Config), same data (the 6,384-example
train half, full batch), same optimiser (AdamW, betas (0.9, 0.98), weight decay
1.0, lr 1e-3, no warm-up in the timed region). PyTorch is timed two ways:
"torch-full" runs the whole forward pass (all three positions, as the original
challenge training did); "torch-last" uses the same algorithm as our JAX step
(per-token key/value/query tables, attention and MLP at the last position only,
see model.forward_last), so the ratio against it isolates the framework.

    python -m tms.bench.challenge [--epochs 20] [--repeats 3] [--no-torch]

torch is an optional dependency (extra "bench"); without it only JAX is timed.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import jax
import numpy as np

from tms.challenge import model as M
from tms.challenge import train as T


def bench_jax(epochs: int = 20, repeats: int = 3, cfg: M.Config = M.Config()) -> float:
    """Best-of-`repeats` epochs/s of our compiled full-batch training step (compile excluded)."""
    tcfg = T.TrainConfig(epochs=epochs, log_every=epochs, warmup=0)
    opt, run = T.make_run_epochs(tcfg)
    train_b, _ = T.challenge_batches()
    params = M.init_params(cfg, jax.random.key(0))
    state = T.TrainState(params, opt.init(params))
    state = jax.block_until_ready(run(state, train_b, epochs))  # compile + warm-up
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        state = jax.block_until_ready(run(state, train_b, epochs))
        best = min(best, time.perf_counter() - t)
    return epochs / best


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


def bench_torch(epochs: int = 20, repeats: int = 3, cfg: M.Config = M.Config(), last_only: bool = False) -> float:
    """Best-of-`repeats` epochs/s of the same training in PyTorch on the CPU."""
    import torch

    torch.manual_seed(0)
    train_b, _ = T.challenge_batches()
    tokens = torch.tensor(np.array(train_b.tokens), dtype=torch.long)
    labels = torch.tensor(np.array(train_b.labels), dtype=torch.long)
    net = _torch_model(torch, cfg, M.init_params(cfg, jax.random.key(0)), last_only)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)

    def run(n):
        for _ in range(n):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(tokens), labels)
            loss.backward()
            opt.step()

    run(2)  # warm-up
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        run(epochs)
        best = min(best, time.perf_counter() - t)
    return epochs / best


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m tms.bench.challenge", description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20, help="epochs per timed repeat (>= 1)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats; the best is reported (>= 1)")
    ap.add_argument("--no-torch", action="store_true", help="time only JAX")
    args = ap.parse_args(argv)
    if args.epochs < 1 or args.repeats < 1:
        ap.error("--epochs and --repeats must be >= 1")
    print(f"challenge transformer, full batch of 6384, {os.cpu_count()} CPU cores, jax {jax.__version__} "
          f"on {jax.devices()[0].platform}; best of {args.repeats} x {args.epochs} epochs")
    out = {"jax": bench_jax(args.epochs, args.repeats)}
    print(f"  jax (ours, last-position step): {out['jax']:8.2f} epochs/s")
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("  torch not installed: skipping the PyTorch comparison (pip install 'tms[bench]')")
            return out
        print(f"  torch {torch.__version__}, {torch.get_num_threads()} threads")
        out["torch_full"] = bench_torch(args.epochs, args.repeats, last_only=False)
        print(f"  torch-full (all positions):     {out['torch_full']:8.2f} epochs/s  "
              f"-> jax / torch = {out['jax'] / out['torch_full']:.2f}x")
        out["torch_last"] = bench_torch(args.epochs, args.repeats, last_only=True)
        print(f"  torch-last (same computation):  {out['torch_last']:8.2f} epochs/s  "
              f"-> jax / torch = {out['jax'] / out['torch_last']:.2f}x")
    return out


if __name__ == "__main__":
    main()
