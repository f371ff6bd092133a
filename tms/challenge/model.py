"""The challenge #2 transformer as pure JAX functions on a params dict.

A faithful port of the 1-layer model of Casper's mechanistic interpretability
challenge #2: token + learned positional embedding, 8 causal attention heads
(scores scaled by 1/√d_head, no biases), a ReLU MLP with biases b_in/b_out,
unembedding without bias, no LayerNorm. Parameters and activations carry
TransformerLens names so that every diagnostic reads like the community's.

Axes: batch (b), position (p, q = query, k = key; n_ctx = 3), head (h),
d_head (e), d_model (d), d_mlp (m), d_vocab (v).

Params (dict of arrays):
    W_E (v, d), W_pos (n_ctx, d), W_Q / W_K / W_V (h, d, e), W_O (h, e, d),
    W_in (d, m), b_in (m,), W_out (m, d), b_out (d,), W_U (d, v).

Hooks (like TransformerLens run_with_hooks): `forward(..., hooks=...)` takes a
dict hook_name -> fn(activation) -> activation, or a sequence of named hooks
as built by the helpers below (`fixed_pattern_hook`, `ablate_neurons_hook`,
`ablate_heads_hook`, `replace_hook`); each helper returns a function that
carries its default hook name in `.hook_name`, so both
`hooks={"blocks.0.mlp.hook_post": ablate_neurons_hook([3])}` and
`hooks=[ablate_neurons_hook([3])]` work. The cache stores post-hook values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import TmsError

PARAM_NAMES = ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "b_in", "W_out", "b_out", "W_U")

HOOK_NAMES = (
    "hook_embed",
    "hook_pos_embed",
    "blocks.0.hook_resid_pre",
    "blocks.0.attn.hook_q",
    "blocks.0.attn.hook_k",
    "blocks.0.attn.hook_v",
    "blocks.0.attn.hook_attn_scores",
    "blocks.0.attn.hook_pattern",
    "blocks.0.attn.hook_z",
    "blocks.0.hook_attn_out",
    "blocks.0.hook_resid_mid",
    "blocks.0.mlp.hook_pre",
    "blocks.0.mlp.hook_post",
    "blocks.0.hook_mlp_out",
    "blocks.0.hook_resid_post",
)

# Masked attention scores (the original subtracted 1e10 before scaling; any value
# this negative gives an exactly zero softmax weight in float32).
IGNORE = -1e10


@dataclass(frozen=True)
class Config:
    """Architecture of the challenge transformer (defaults: the original's)."""

    d_model: int = 128
    n_heads: int = 8
    d_head: int = 16
    d_mlp: int = 1024
    d_vocab: int = 114
    n_ctx: int = 3

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise TmsError(f"Config.{name} must be a positive integer; got {value!r}")

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Expected shape of every parameter, in our (TransformerLens) layout."""
        d, h, e, m, v, n = self.d_model, self.n_heads, self.d_head, self.d_mlp, self.d_vocab, self.n_ctx
        return {
            "W_E": (v, d), "W_pos": (n, d), "W_Q": (h, d, e), "W_K": (h, d, e), "W_V": (h, d, e),
            "W_O": (h, e, d), "W_in": (d, m), "b_in": (m,), "W_out": (m, d), "b_out": (d,), "W_U": (d, v),
        }

    @classmethod
    def from_params(cls, params: Mapping) -> "Config":
        """Read the architecture off the parameter shapes."""
        h, d, e = params["W_Q"].shape
        return cls(d_model=d, n_heads=h, d_head=e, d_mlp=params["W_in"].shape[1],
                   d_vocab=params["W_E"].shape[0], n_ctx=params["W_pos"].shape[0])


def check_params(params: Mapping, cfg: Config | None = None) -> Config:
    """Raise ValueError listing missing/unexpected names and wrong shapes; return the Config."""
    missing = [k for k in PARAM_NAMES if k not in params]
    extra = [k for k in params if k not in PARAM_NAMES]
    if missing or extra:
        raise TmsError(f"params: missing {missing}, unexpected {extra}")
    cfg = cfg or Config.from_params(params)
    bad = [f"{k}: expected {s}, got {tuple(params[k].shape)}"
           for k, s in cfg.shapes().items() if tuple(params[k].shape) != s]
    if bad:
        raise TmsError("params have wrong shapes: " + "; ".join(bad))
    return cfg


def init_params(cfg: Config, key: jax.Array) -> dict[str, jax.Array]:
    """Random float32 params with the original challenge code's initialisation.

    Every matrix is N(0, 1) / √d_model except W_U (N(0, 1) / √d_vocab); biases are zero.
    One draw of all the normals at once (a single small compiled op), cut into matrices.
    """
    shapes = cfg.shapes()
    names = ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U")
    sizes = [math.prod(shapes[n]) for n in names]
    flat = np.asarray(jax.random.normal(key, (sum(sizes),), jnp.float32))
    params = {}
    for name, chunk in zip(names, np.split(flat, np.cumsum(sizes)[:-1])):
        scale = 1.0 / math.sqrt(cfg.d_vocab if name == "W_U" else cfg.d_model)
        params[name] = jnp.asarray((scale * chunk).reshape(shapes[name]), jnp.float32)
    params["b_in"] = jnp.zeros(shapes["b_in"], jnp.float32)
    params["b_out"] = jnp.zeros(shapes["b_out"], jnp.float32)
    return {k: params[k] for k in PARAM_NAMES}


def check_tokens(tokens, cfg: Config) -> None:
    """ValueError unless tokens is (batch, p ≤ n_ctx) integers in 0..d_vocab-1 (concrete arrays only)."""
    shape = np.shape(tokens)
    if len(shape) != 2 or not 1 <= shape[1] <= cfg.n_ctx:
        raise TmsError(f"tokens must have shape (batch, pos) with 1 <= pos <= n_ctx={cfg.n_ctx}; got {shape}")
    if isinstance(tokens, jax.core.Tracer):
        return
    t = np.asarray(tokens)
    if not np.issubdtype(t.dtype, np.integer):
        raise TmsError(f"tokens must be integers; got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= cfg.d_vocab):
        raise TmsError(f"tokens must lie in 0..{cfg.d_vocab - 1}; got range {t.min()}..{t.max()}")


# --------------------------------------------------------------------------- forward


def _normalise_hooks(hooks) -> dict[str, list[Callable]]:
    if hooks is None:
        return {}
    if isinstance(hooks, Mapping):
        items = list(hooks.items())
    elif callable(hooks):
        items = [(getattr(hooks, "hook_name", None), hooks)]
    else:
        items = [(getattr(h, "hook_name", None), h) for h in hooks]
    out: dict[str, list[Callable]] = {}
    for name, fn in items:
        if name is None:
            raise TmsError("a hook in a sequence must carry .hook_name; pass a dict name -> fn instead")
        if name not in HOOK_NAMES:
            raise TmsError(f"unknown hook name {name!r}; allowed: {', '.join(HOOK_NAMES)}")
        fns = fn if isinstance(fn, (list, tuple)) else [fn]
        out.setdefault(name, []).extend(fns)
    return out


def _forward(params, tokens, hooks: dict[str, list[Callable]]):
    cache = {}

    def hook(name, x):
        for fn in hooks.get(name, ()):
            x = fn(x)
        cache[name] = x
        return x

    n_pos = tokens.shape[1]
    e = params["W_Q"].shape[-1]
    embed = hook("hook_embed", jnp.take(params["W_E"], tokens, axis=0))  # (b, p, d)
    pos = hook("hook_pos_embed", jnp.broadcast_to(params["W_pos"][None, :n_pos], embed.shape))
    resid = hook("blocks.0.hook_resid_pre", embed + pos)
    q = hook("blocks.0.attn.hook_q", jnp.einsum("bpd,hde->bphe", resid, params["W_Q"]))
    k = hook("blocks.0.attn.hook_k", jnp.einsum("bpd,hde->bphe", resid, params["W_K"]))
    v = hook("blocks.0.attn.hook_v", jnp.einsum("bpd,hde->bphe", resid, params["W_V"]))
    scores = jnp.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(e)
    causal = jnp.tril(jnp.ones((n_pos, n_pos), dtype=bool))
    scores = hook("blocks.0.attn.hook_attn_scores", jnp.where(causal[None, None], scores, IGNORE))
    pattern = hook("blocks.0.attn.hook_pattern", jax.nn.softmax(scores, axis=-1))
    z = hook("blocks.0.attn.hook_z", jnp.einsum("bhqk,bkhe->bqhe", pattern, v))
    attn_out = hook("blocks.0.hook_attn_out", jnp.einsum("bqhe,hed->bqd", z, params["W_O"]))
    resid = hook("blocks.0.hook_resid_mid", resid + attn_out)
    pre = hook("blocks.0.mlp.hook_pre", resid @ params["W_in"] + params["b_in"][None, None, :])
    post = hook("blocks.0.mlp.hook_post", jax.nn.relu(pre))
    mlp_out = hook("blocks.0.hook_mlp_out", post @ params["W_out"] + params["b_out"][None, None, :])
    resid = hook("blocks.0.hook_resid_post", resid + mlp_out)
    logits = resid @ params["W_U"]
    return logits, cache


_forward_jit = jax.jit(lambda params, tokens: _forward(params, tokens, {}))


def forward(params, tokens, hooks=None):
    """Full forward pass. tokens: (batch, pos ≤ n_ctx) ints in 0..d_vocab-1.

    Returns (logits (batch, pos, d_vocab), cache dict hook_name -> activation).
    Without hooks the pass is jit-compiled; with hooks it runs op by op (hooks are
    arbitrary Python functions of JAX arrays). Inside a jitted caller, tokens may
    be traced.
    """
    cfg = Config.from_params(params)
    check_tokens(tokens, cfg)
    hooks = _normalise_hooks(hooks)
    tokens = jnp.asarray(tokens, jnp.int32)
    if not hooks and not isinstance(tokens, jax.core.Tracer):
        return _forward_jit(params, tokens)
    return _forward(params, tokens, hooks)


def forward_last(params, tokens):
    """Logits at the last position only, (batch, d_vocab): the training fast path.

    Equal to forward(params, tokens)[0][:, -1] up to float rounding, computed with
    less work, which is all the loss needs:
    - keys, values and the last query depend on (position, token) only, so they are
      computed once per vocabulary entry (tables of (n_ctx, d_vocab, ...)) and gathered;
    - the attention and the MLP run at the last position only.
    No hooks, no token checks (jit-friendly).
    """
    h, d, e = params["W_Q"].shape
    b, n_pos = tokens.shape
    table = params["W_E"][None, :, :] + params["W_pos"][:n_pos, None, :]  # (p, v, d)
    w_kv = jnp.concatenate([params["W_K"], params["W_V"]], axis=-1)  # (h, d, 2e)
    kv_table = jnp.einsum("pvd,hdf->pvhf", table, w_kv)  # (p, v, h, 2e)
    kv = kv_table[jnp.arange(n_pos)[None, :], tokens]  # (b, p, h, 2e)
    k, v = kv[..., :e], kv[..., e:]
    q = jnp.einsum("vd,hde->vhe", table[-1], params["W_Q"])[tokens[:, -1]]  # (b, h, e)
    scores = (q[:, None] * k).sum(-1) / math.sqrt(e)  # (b, p, h); every key ≤ last is visible
    pattern = jax.nn.softmax(scores, axis=1)
    z = (pattern[..., None] * v).sum(1)  # (b, h, e)
    mid = table[-1][tokens[:, -1]] + z.reshape(b, h * e) @ params["W_O"].reshape(h * e, d)
    post = jax.nn.relu(mid @ params["W_in"] + params["b_in"][None, :])
    return (mid + post @ params["W_out"] + params["b_out"][None, :]) @ params["W_U"]


def last_logit_diff(params, tokens, hooks=None) -> jax.Array:
    """logit[1] − logit[0] at the last position, (batch,)."""
    logits, _ = forward(params, tokens, hooks)
    return logits[:, -1, 1] - logits[:, -1, 0]


def predict(params, tokens, hooks=None) -> np.ndarray:
    """Model labels (batch,) uint8: 1 where logit[1] > logit[0] at the last position."""
    return np.asarray(last_logit_diff(params, tokens, hooks) > 0).astype(np.uint8)


# --------------------------------------------------------------------------- hooks


def _named(fn: Callable, name: str) -> Callable:
    fn.hook_name = name
    return fn


def fixed_pattern_hook(pattern, query_positions: Iterable[int] | None = None) -> Callable:
    """Hook for "blocks.0.attn.hook_pattern" replacing the attention pattern by a fixed one.

    pattern: (n_heads, q, k), the same for every input (e.g. the data-set mean).
    query_positions: if given, only those query rows are replaced (e.g. [-1] or [2]
    for the last position); the others keep the model's own pattern.
    """
    pattern = jnp.asarray(pattern)
    if pattern.ndim != 3:
        raise TmsError(f"pattern must have shape (n_heads, q, k); got {pattern.shape}")
    rows = None if query_positions is None else np.asarray(list(query_positions), dtype=np.int64)

    def fn(act):  # act: (b, h, q, k)
        if pattern.shape != act.shape[1:]:
            raise TmsError(f"pattern shape {pattern.shape} does not match activation {act.shape[1:]}")
        fixed = jnp.broadcast_to(pattern[None], act.shape).astype(act.dtype)
        if rows is None:
            return fixed
        return act.at[:, :, rows, :].set(fixed[:, :, rows, :])

    return _named(fn, "blocks.0.attn.hook_pattern")


def ablate_neurons_hook(neurons, values=None) -> Callable:
    """Hook for "blocks.0.mlp.hook_post": set chosen neurons to zero or to given values.

    neurons: (k,) indices into d_mlp. values: None (zero ablation) or an array
    broadcastable to (batch, pos, k), e.g. (k,) or (pos, k) per-neuron means.
    """
    idx = np.atleast_1d(np.asarray(neurons, dtype=np.int64))

    def fn(act):  # act: (b, p, m)
        if idx.size and (idx.min() < -act.shape[-1] or idx.max() >= act.shape[-1]):
            raise TmsError(f"neurons must lie in 0..{act.shape[-1] - 1}; got {idx.min()}..{idx.max()}")
        v = 0.0 if values is None else jnp.broadcast_to(jnp.asarray(values, act.dtype), act.shape[:-1] + idx.shape)
        return act.at[..., idx].set(v)

    return _named(fn, "blocks.0.mlp.hook_post")


def ablate_heads_hook(heads, values=None) -> Callable:
    """Hook for "blocks.0.attn.hook_z": set chosen heads' outputs to zero or to given values.

    heads: (k,) head indices. values: None (zero ablation) or an array broadcastable
    to (batch, pos, k, d_head), e.g. (pos, k, d_head) per-head means.
    """
    idx = np.atleast_1d(np.asarray(heads, dtype=np.int64))

    def fn(act):  # act: (b, p, h, e)
        if idx.size and (idx.min() < -act.shape[2] or idx.max() >= act.shape[2]):
            raise TmsError(f"heads must lie in 0..{act.shape[2] - 1}; got {idx.min()}..{idx.max()}")
        target = act.shape[:2] + idx.shape + act.shape[3:]
        v = 0.0 if values is None else jnp.broadcast_to(jnp.asarray(values, act.dtype), target)
        return act.at[:, :, idx, :].set(v)

    return _named(fn, "blocks.0.attn.hook_z")


def replace_hook(values, name: str | None = None) -> Callable:
    """Hook that replaces an activation by `values` (broadcast to the activation's shape).

    name: the hook point (stored in .hook_name; needed when passing a sequence of hooks).
    """
    if name is not None and name not in HOOK_NAMES:
        raise TmsError(f"unknown hook name {name!r}; allowed: {', '.join(HOOK_NAMES)}")
    values = jnp.asarray(values)

    def fn(act):
        return jnp.broadcast_to(values.astype(act.dtype), act.shape)

    fn.hook_name = name
    return fn
