"""Linear probes: can x and y be read linearly from resid_mid?

A multinomial logistic regression from activations ``X: (N, d)`` to an integer class, trained on the
challenge's train half, scored on its test half. The published solution reports 100% for x and 78% for y on
the original model.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tms.challenge import data as D
from tms.challenge.diagnostics.directions import _matrix, pca
from tms.challenge.diagnostics.registry import Outcome, register

if TYPE_CHECKING:
    from tms.challenge.diagnostics.context import Diagnosis


@partial(jax.jit, static_argnames=("n_classes", "steps", "lr", "l2"))
def _probe_fit(X, t, n_classes: int, steps: int, lr: float, l2: float):
    Y = jax.nn.one_hot(t, n_classes)

    def loss(p):
        logits = X @ p["W"] + p["b"][None, :]
        return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(logits), -1)) + l2 * jnp.sum(p["W"] ** 2)

    opt = optax.adam(lr)
    p = {"W": jnp.zeros((X.shape[1], n_classes)), "b": jnp.zeros(n_classes)}

    def step(carry, _):
        p, s = carry
        upd, s = opt.update(jax.grad(loss)(p), s, p)
        return (optax.apply_updates(p, upd), s), None

    return jax.lax.scan(step, (p, opt.init(p)), None, length=steps)[0][0]


class ProbeResult(NamedTuple):
    train_accuracy: float
    test_accuracy: float
    weights: np.ndarray  # (d, C) on standardised inputs
    bias: np.ndarray  # (C,)


def linear_probe(X, target, train_idx, test_idx, n_classes: int | None = None, steps: int = 500,
                 lr: float = 0.05, l2: float = 1e-4, whiten: bool = True) -> ProbeResult:
    """Multinomial logistic-regression probe from ``X: (N, d)`` to integer classes ``target`` (N,).

    Fitted by full-batch Adam from zero weights (deterministic) on the train rows, with an L2 penalty
    ``l2``; accuracy on train and test rows. Inputs are whitened with the train rows' PCA (components with
    variance below 1e-10 of the largest dropped) when ``whiten``, else standardised per coordinate. Either
    is an invertible linear map, so the probe stays linear in X; whitening only conditions the
    optimisation (activations whose variance sits in a few directions train slowly otherwise).
    ``weights`` are returned in the transformed coordinates.
    """
    X = _matrix("X", X)
    t = np.asarray(target).reshape(-1).astype(np.int64)
    if t.shape[0] != X.shape[0]:
        raise ValueError(f"target must have {X.shape[0]} entries; got {t.shape}")
    C = int(t.max()) + 1 if n_classes is None else n_classes
    if t.min() < 0 or t.max() >= C:
        raise ValueError(f"target must lie in 0..{C - 1}; got {t.min()}..{t.max()}")
    tr, te = np.asarray(train_idx), np.asarray(test_idx)
    if whiten:
        pc = pca(X[tr])
        keep = pc.variance > 1e-10 * pc.variance[0]
        Xs = jnp.asarray((X - pc.mean) @ pc.components[keep].T / np.sqrt(pc.variance[keep]), jnp.float32)
    else:
        mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-8
        Xs = jnp.asarray((X - mu) / sd, jnp.float32)
    p = _probe_fit(Xs[tr], jnp.asarray(t[tr]), C, steps, float(lr), float(l2))
    pred = np.asarray(jnp.argmax(Xs @ p["W"] + p["b"][None, :], -1))
    return ProbeResult(float((pred[tr] == t[tr]).mean()), float((pred[te] == t[te]).mean()),
                       np.asarray(p["W"]), np.asarray(p["b"]))


@register("probes", "linear probes for x and y from resid_mid (train half -> test half)")
def probe_diagnostic(dx: Diagnosis) -> Outcome:
    tr, te = D.split()
    pairs = D.all_pairs()
    numbers = {}
    for i, name in enumerate(("x", "y")):
        pr = linear_probe(dx.full.resid_mid, pairs[:, i], tr, te, n_classes=D.N_VALUES,
                          steps=dx.settings.probe_steps)
        numbers[f"probe_{name}"], numbers[f"probe_{name}_train"] = pr.test_accuracy, pr.train_accuracy
    return Outcome(numbers, {}, {})
