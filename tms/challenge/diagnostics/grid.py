"""The model on the full 113×113 input grid: one pass over every input, last-position activations kept.

Glossary: N = 12,769 inputs [x, y, 113] in row-major order (``data.all_pairs()``); a *grid* is a (113, 113)
array indexed [x, y] whose ``.ravel()`` is in the same order as the N inputs; d = d_model, m = d_mlp,
h = n_heads, k = key position. Activations are taken at the last position (the "=" token), the only one
whose logits give the label.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tms.challenge import data as challenge_data
from tms.challenge import model as challenge_model
from tms.errors import TmsError

RESID_MID = "blocks.0.hook_resid_mid"
PATTERN = "blocks.0.attn.hook_pattern"
POST = "blocks.0.mlp.hook_post"
BATCH = 4096  # inputs per forward call; every call has this shape (one compilation)


class GridRun(NamedTuple):
    """The model on all N = 12,769 inputs, last position only.

    logit_diff: (N,) logit[1] − logit[0]; pred: (N,) uint8 labels; resid_mid: (N, d); post: (N, m) MLP
    activations (hook_post); pattern: (N, h, k) attention of the last query over keys 0..2 (hook_pattern).
    """

    logit_diff: np.ndarray
    pred: np.ndarray
    resid_mid: np.ndarray
    post: np.ndarray
    pattern: np.ndarray


def grid_tokens() -> np.ndarray:
    """(N, 3) int32 tokens of every input, row-major (x outer, y inner)."""
    return challenge_data.tokens(challenge_data.all_pairs())


def chunks(rows: np.ndarray, batch: int = BATCH):
    """(start, chunk) pairs of ``batch`` rows each; the last chunk is padded by repeating its first row so
    that every chunk has one shape (one compilation)."""
    for s in range(0, len(rows), batch):
        chunk = rows[s:s + batch]
        if len(chunk) < batch and len(rows) > batch:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], batch - len(chunk), axis=0)])
        yield s, chunk


def run_grid(params, hooks=None, batch: int = BATCH) -> GridRun:
    """Run the model (optionally with intervention hooks) on every input and keep last-position activations."""
    if batch < 1:
        raise TmsError(f"batch must be >= 1; got {batch}")
    toks = grid_tokens()
    parts = []
    for s, chunk in chunks(toks, batch):
        logits, cache = challenge_model.forward(params, chunk, hooks)
        n = min(batch, len(toks) - s)
        parts.append((
            np.asarray(logits[:n, -1, 1] - logits[:n, -1, 0]),
            np.asarray(cache[RESID_MID][:n, -1]),
            np.asarray(cache[POST][:n, -1]),
            np.asarray(cache[PATTERN][:n, :, -1, :]),
        ))
    ld, rm, post, pat = (np.concatenate(p) for p in zip(*parts))
    return GridRun(ld, (ld > 0).astype(np.uint8), rm, post, pat)


def as_grid(values) -> np.ndarray:
    """(N, ...) -> (113, 113, ...) indexed [x, y]."""
    values = np.asarray(values)
    if values.shape[0] != challenge_data.N_PAIRS:
        raise TmsError(f"values must have {challenge_data.N_PAIRS} rows (one per input); got shape {values.shape}")
    return values.reshape((challenge_data.N_VALUES, challenge_data.N_VALUES) + values.shape[1:])


def flat_labels(name: str, labels) -> np.ndarray:
    """(113, 113) or (N,) 0/1 labels -> (N,) uint8; ValueError naming ``name`` otherwise."""
    a = np.asarray(labels)
    if a.size != challenge_data.N_PAIRS:
        raise TmsError(f"{name} must hold {challenge_data.N_PAIRS} labels ((113, 113) grid or flat); got shape {a.shape}")
    a = a.reshape(-1)
    if not np.isin(a, (0, 1)).all():
        raise TmsError(f"{name} must hold only 0 and 1")
    return a.astype(np.uint8)


def tail_logit_diff(params, resid_mid) -> np.ndarray:
    """(N,) logit[1] − logit[0] from last-position resid_mid (N, d) through the MLP and the unembedding:
    (r + ReLU(r W_in + b_in) W_out + b_out) · (W_U[:, 1] − W_U[:, 0]) (float32, like the model; no LayerNorm,
    no unembedding bias). Equal to the model's logit difference when ``resid_mid`` is the model's own."""
    r = np.asarray(resid_mid, np.float32)
    W_in = np.asarray(params["W_in"], np.float32)
    if r.ndim != 2 or r.shape[1] != W_in.shape[0]:
        raise TmsError(f"resid_mid must have shape (N, d_model={W_in.shape[0]}); got {r.shape}")
    W_U = np.asarray(params["W_U"], np.float32)
    u = W_U[:, 1] - W_U[:, 0]
    post = np.maximum(r @ W_in + np.asarray(params["b_in"], np.float32)[None, :], 0.0)
    return r @ u + post @ (np.asarray(params["W_out"], np.float32) @ u) + float(np.asarray(params["b_out"]) @ u)
