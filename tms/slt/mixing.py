"""Do posterior chains at β = 1 mix between the k-gon basins? Chains started *in* each basin, labelled at
checkpoints, transitions counted.

:func:`tms.slt.bayes.posterior_phases` labels where chains started at W = 0 end up; that fraction is a
posterior mass only if the chains cross between basins many times within the run. Here, at each n, ``chains``
chains start at each of the k-gons ``starts`` (the same point for all of them; the SGLD noise differs), run
``segments`` × ``segment_steps`` SGLD steps of the posterior exp(−n L_n(w)) N(w; 0, 1/prior_precision), and
are labelled (:func:`tms.analysis.polytopes.kgon_labels`) after every segment. A chain that mixes changes
label often and forgets its start: the end-label fractions from different starts agree. A chain that does
not stays where it started, and no basin mass can be read from any of them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..analysis.polytopes import kgon_labels
from ..engine.data import high_sparsity_set
from ..engine.models import Params
from ..errors import TmsError
from .kgon import check_sizes
from .llc import compiled_sampler
from .sampler import SGLDConfig, sgld_hparams
from .settings import PosteriorSettings
from .toy import kgon_point, set_loss


def label_paths(settings: PosteriorSettings, starts=("5", "5+", "6"), segments: int = 10, seed: int = 0,
                progress=None) -> dict:
    """``{(n, start): labels (chains, segments)}``: each chain's k-gon label after each segment.

    Chain steps per segment: ``settings.steps // segments`` (so the total matches ``settings.steps``); step
    ε = step_scale / n, prior N(0, 1/prior_precision) as in :func:`tms.slt.bayes.posterior_phases`, and the
    same data set per n (same key).
    """
    sizes = check_sizes(settings.sizes)
    if not isinstance(segments, int) or segments < 1 or settings.steps // segments < 1:
        raise TmsError(f"segments must be an integer in [1, steps={settings.steps}]; got {segments!r}")
    seg = settings.steps // segments
    config = SGLDConfig(chains=settings.chains, draws=1, burn_in=seg - 1)
    sampler = compiled_sampler(set_loss, config)
    centre = Params(jnp.zeros((2, 6), jnp.float32), jnp.zeros(6, jnp.float32))
    out = {}
    for i, n in enumerate(sizes):
        key = jax.random.fold_in(jax.random.PRNGKey(seed), n)
        data = high_sparsity_set(jax.random.fold_in(key, 0), n, 6)
        hp = sgld_hparams(settings.step_scale / n, settings.prior_precision, float(n))
        for j, start in enumerate(starts):
            p = kgon_point(start)
            state = jax.tree.map(lambda a: jnp.broadcast_to(a, (settings.chains,) + a.shape), p)
            labels = []
            for s in range(segments):
                k = jax.random.fold_in(jax.random.fold_in(key, 100 + j), s)
                state = jax.device_get(sampler(centre, data, hp, k, state)).last
                labels.append(np.asarray(kgon_labels(np.asarray(state.W, np.float64),
                                                     np.asarray(state.b, np.float64))).astype(str))
            out[(n, start)] = np.stack(labels, axis=1)
        if progress is not None:
            progress(i + 1, len(sizes))
    return out


def mixing_table(paths: dict) -> pd.DataFrame:
    """One row per (n, start): chains, label changes per chain (mean), fraction of chains that ever left the
    start label, and the end-label fractions of the 5-gon, 5+-gon and 6-gon (others summed)."""
    rows = []
    for (n, start), lab in paths.items():
        changes = (lab[:, 1:] != lab[:, :-1]).sum(axis=1)
        end = lab[:, -1]
        rows.append({"n": n, "start": start, "chains": lab.shape[0], "segments": lab.shape[1],
                     "changes_per_chain": float(changes.mean()), "left_start": float(np.mean((lab != start).any(1))),
                     "end_5": float(np.mean(end == "5")), "end_5+": float(np.mean(end == "5+")),
                     "end_6": float(np.mean(end == "6")), "end_other": float(np.mean(~np.isin(end, ["5", "5+", "6"])))})
    return pd.DataFrame(rows)
