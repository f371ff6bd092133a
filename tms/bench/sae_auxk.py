"""TopK and BatchTopK training with the shipped AuxK against its first implementation.

``python -m tms.bench.sae_auxk [--steps 300] [--repeats 3] [--dead-window 100] [--setting full reduced]``

AuxK (Gao et al.) reconstructs the residual from the ``aux_k`` largest dead latents. The first implementation
ranked the dead latents with ``lax.top_k`` at every step and gathered each example's ``aux_k`` decoder rows
(``W_dec[idx]``: batch × aux_k × d_in floats, and a scatter of the same size in the backward pass). The shipped one
(:func:`tms.engine.sae.architectures.auxk_loss`) multiplies a dense activation matrix by the decoder and takes the
cheapest exact route for the whole call: nothing when no SAE of the call has a dead latent, no ranking when none
has more than ``aux_k``. Both are compiled into the same training call (TopK or BatchTopK, k = 3, 4, 6, 8 in one
call) and timed cold (compile + first call) and warm, interleaved, medians printed with the machine line and load
average; the largest weight difference between the two (float32 rounding, amplified by Adam) and the dead
latents at the last step (which route the shipped one took) are printed beside them. The dead window is 100 steps
by default (training's is 500), so that latents die within the bench's steps and AuxK has work to do.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

import jax
import jax.numpy as jnp
import numpy as np

from ..engine.sae import SaeConfig, sae_hparams, synthetic_source
from ..engine.sae import architectures as A
from ..engine.sae.config import with_k_max
from .common import cpu_peak, load_average
from .sae_select import contest

KS = (3, 4, 6, 8)
SETTINGS = {"full": {"n_true": 512, "d_in": 256, "mean_active": 5.0, "batch": 256},  # Sharkey et al.'s, at 1x
            "reduced": {"n_true": 64, "d_in": 32, "mean_active": 2.5, "batch": 128}}  # tms reproduce sae's, at 2x


def gather_auxk_loss(p, H, Z, dead, cfg, most_dead=None):
    """The first implementation: rank the dead latents every step, gather each example's decoder rows."""
    err = jax.lax.stop_gradient(H - jax.vmap(A.decode, (None, 0))(p, Z))
    pre = jax.vmap(A.pre_acts, (None, 0))(p, H)
    aux_k = cfg.aux_k_used
    vals, idx = jax.lax.top_k(jnp.where(dead[None, :], pre, -jnp.inf), aux_k)
    vals = jnp.where(jnp.isfinite(vals), jax.nn.relu(vals), 0.0)
    err_hat = jnp.einsum("bk,bkd->bd", vals, p["W_dec"][idx])
    scale = jnp.minimum(jnp.sum(dead) / aux_k, 1.0)
    return scale * jnp.mean(jnp.sum((err - err_hat) ** 2, axis=-1))


@contextmanager
def gather_auxk():
    """Trace inside this block to compile the first AuxK instead of the shipped one."""
    saved = A.auxk_loss
    A.auxk_loss = gather_auxk_loss
    try:
        yield
    finally:
        A.auxk_loss = saved


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tms.bench.sae_auxk", description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dead-window", type=int, default=100, help="steps without firing before a latent is dead")
    ap.add_argument("--setting", nargs="+", default=["full", "reduced"], choices=sorted(SETTINGS))
    ap.add_argument("--archs", nargs="+", default=["topk", "batchtopk"], choices=["topk", "batchtopk"])
    a = ap.parse_args(argv)
    peak = cpu_peak()
    print(f"machine: {peak.model}, {peak.cores} CPU cores, {peak.isa}; jax {jax.__version__}; "
          f"load average before {load_average()}", flush=True)
    print(f"{len(KS)} SAEs per call (k = {', '.join(map(str, KS))}), {a.steps} steps, aux_k = d_in / 2, dead after "
          f"{a.dead_window} steps without firing; "
          f"{a.repeats} interleaved warm trials; seconds per call", flush=True)
    data_key = jax.random.PRNGKey(0)
    for name in a.setting:
        s = SETTINGS[name]
        source = synthetic_source(s["n_true"], s["d_in"], s["mean_active"])
        d_sae = s["n_true"] if name == "full" else 2 * s["n_true"]
        for arch in a.archs:
            config = SaeConfig(arch, s["d_in"], d_sae, batch=s["batch"], steps=a.steps, dead_window=a.dead_window)
            hp = sae_hparams(config, k=KS, lr=[1e-3])
            config = with_k_max(config, hp)
            keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(len(KS), dtype=jnp.uint32))
            out_new, out_old, cold_new, cold_old, w_new, w_old = contest(config, source, hp, keys, data_key,
                                                                         a.repeats, swap=gather_auxk)
            diff = max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
                       for x, y in zip(jax.tree.leaves(out_new[0]), jax.tree.leaves(out_old[0])))
            dead = np.asarray(out_new[1][:, -1, 3]).astype(int).tolist()
            print(f"  {name:7s} {arch:9s} d_in={s['d_in']:3d} d_sae={d_sae:4d}: warm shipped {w_new:7.2f}  "
                  f"first {w_old:7.2f} ({w_old / w_new:4.1f}x); cold shipped {cold_new:7.2f}  first {cold_old:7.2f} "
                  f"({cold_old / cold_new:4.1f}x); max weight difference {diff:.1e}; dead at the end {dead}",
                  flush=True)
    print(f"load average after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
