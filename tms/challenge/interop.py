"""TransformerLens interop: our params to a ``HookedTransformer`` and back (transformer-lens 3.9.0).

Our parameters already use TransformerLens's names and layouts (``W_Q: (n_heads, d_model, d_head)``,
``W_O: (n_heads, d_head, d_model)``, ``W_in: (d_model, d_mlp)``, ...), so the export is a renaming to
TransformerLens's module paths plus the biases our model does not have, all zero: ``b_Q, b_K, b_V``
(n_heads, d_head), ``b_O`` (d_model,) and ``b_U`` (d_vocab,). The config is a 1-layer model with no
normalisation, ReLU MLP, learned ("standard") positional embedding, causal attention scaled by 1/√d_head.
Both models compute the same function; their hooks carry the same names (TransformerLens adds
``unembed.hook_in`` = our ``blocks.0.hook_resid_post`` and ``unembed.hook_out`` = the logits). One difference
in the cache: masked attention scores are ``-inf`` in TransformerLens and ``model.IGNORE`` (−1e10) here;
both give an exactly zero attention weight.

The import refuses what our model cannot represent: any other architecture setting, a non-zero bias among
``b_Q, b_K, b_V, b_O, b_U``, unknown parameters, wrong shapes; the error names them.

torch and transformer_lens are imported inside the functions that need them (the ``interop`` extra:
``pip install "tms[interop]"``), so importing this module, or ``tms.challenge``, needs neither.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Mapping

import numpy as np

from tms.challenge.model import PARAM_NAMES, Config, check_params
from tms.errors import require

from ..errors import TmsError

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer, HookedTransformerConfig

# our name -> TransformerLens state-dict key
STATE_DICT_KEYS = {
    "W_E": "embed.W_E", "W_pos": "pos_embed.W_pos",
    "W_Q": "blocks.0.attn.W_Q", "W_K": "blocks.0.attn.W_K", "W_V": "blocks.0.attn.W_V", "W_O": "blocks.0.attn.W_O",
    "W_in": "blocks.0.mlp.W_in", "b_in": "blocks.0.mlp.b_in", "W_out": "blocks.0.mlp.W_out",
    "b_out": "blocks.0.mlp.b_out", "W_U": "unembed.W_U",
}
ZERO_BIASES = ("blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O", "unembed.b_U")
BUFFERS = ("blocks.0.attn.mask", "blocks.0.attn.IGNORE")  # TransformerLens's own; not parameters

# TransformerLens hooks that our forward pass names differently
EXTRA_HOOKS = {"unembed.hook_in": "blocks.0.hook_resid_post", "unembed.hook_out": "logits"}

# Architecture settings our model has; a HookedTransformerConfig with any other value is refused on import.
ARCHITECTURE = {
    "n_layers": 1, "normalization_type": None, "act_fn": "relu", "positional_embedding_type": "standard",
    "attention_dir": "causal", "attn_only": False, "gated_mlp": False, "parallel_attn_mlp": False,
    "use_attn_scale": True, "scale_attn_by_inverse_layer_idx": False, "use_qk_norm": False,
    "use_local_attn": False, "post_embedding_ln": False, "final_rms": False, "n_key_value_heads": None,
    "attn_scores_soft_cap": -1.0, "output_logits_soft_cap": -1.0, "num_experts": None,
}


def transformer_lens_config(cfg: Config) -> dict:
    """Keyword arguments of ``HookedTransformerConfig`` for our architecture (no torch needed)."""
    return dict(ARCHITECTURE, d_model=cfg.d_model, d_head=cfg.d_head, n_heads=cfg.n_heads, d_mlp=cfg.d_mlp,
                d_vocab=cfg.d_vocab, d_vocab_out=cfg.d_vocab, n_ctx=cfg.n_ctx, attn_scale=math.sqrt(cfg.d_head),
                default_prepend_bos=False, model_name="tms-challenge-2")


def state_dict_arrays(params: Mapping) -> dict[str, np.ndarray]:
    """Our params as a TransformerLens state dict of float32 NumPy arrays (zero b_Q, b_K, b_V, b_O, b_U)."""
    cfg = check_params(params)
    out = {STATE_DICT_KEYS[k]: np.array(params[k], dtype=np.float32) for k in PARAM_NAMES}
    zeros = {"blocks.0.attn.b_Q": (cfg.n_heads, cfg.d_head), "blocks.0.attn.b_K": (cfg.n_heads, cfg.d_head),
             "blocks.0.attn.b_V": (cfg.n_heads, cfg.d_head), "blocks.0.attn.b_O": (cfg.d_model,),
             "unembed.b_U": (cfg.d_vocab,)}
    out.update({k: np.zeros(s, np.float32) for k, s in zeros.items()})
    return out


def to_transformer_lens(params: Mapping, device: str = "cpu") -> tuple["HookedTransformerConfig", dict]:
    """(HookedTransformerConfig, state dict of float32 torch tensors) for our params."""
    torch = require("torch", "interop", "TransformerLens interop")
    HookedTransformerConfig = require("transformer_lens", "interop", "TransformerLens interop").HookedTransformerConfig

    cfg = HookedTransformerConfig(**transformer_lens_config(check_params(params)), device=device,
                                  dtype=torch.float32, init_weights=False)
    return cfg, {k: torch.from_numpy(v) for k, v in state_dict_arrays(params).items()}


def to_hooked_transformer(params: Mapping, device: str = "cpu") -> "HookedTransformer":
    """A ``HookedTransformer`` (eval mode) computing the same function as our model with ``params``."""
    HookedTransformer = require("transformer_lens", "interop", "TransformerLens interop").HookedTransformer

    cfg, state = to_transformer_lens(params, device)
    with warnings.catch_warnings():  # 3.9.0 announces HookedTransformer's removal in 4.0; we pin 3.9.0
        warnings.filterwarnings("ignore", message="HookedTransformer is deprecated", category=DeprecationWarning)
        model = HookedTransformer(cfg, move_to_device=True)
    full = model.state_dict()
    missing = sorted(set(full) - set(state) - set(BUFFERS))
    if missing:
        raise TmsError(f"transformer_lens {_version()} expects parameters this export does not write: {missing}")
    full.update({k: v.to(full[k].device) for k, v in state.items()})
    model.load_state_dict(full, strict=True)
    return model.eval()


def from_transformer_lens(model, cfg: Config | None = None) -> dict[str, np.ndarray]:
    """Our params (float32 NumPy) from a ``HookedTransformer`` or a TransformerLens state dict.

    A model's config is checked against our architecture (:data:`ARCHITECTURE`, attn_scale = √d_head,
    d_vocab_out = d_vocab); for a bare state dict, ``cfg`` (default: read off the shapes) fixes the shapes.
    ValueError names every setting, key or non-zero bias our model cannot represent.
    """
    if hasattr(model, "state_dict") and hasattr(model, "cfg"):
        _check_architecture(model.cfg)
        state = model.state_dict()
    elif isinstance(model, Mapping):
        state = model
    else:
        raise TypeError(f"expected a HookedTransformer or a state dict; got {type(model).__name__}")
    arrays = {k: _numpy(v) for k, v in state.items()}
    missing = [k for k in STATE_DICT_KEYS.values() if k not in arrays]
    unexpected = [k for k in arrays if k not in STATE_DICT_KEYS.values() and k not in ZERO_BIASES + BUFFERS]
    if missing or unexpected:
        raise TmsError(f"TransformerLens state dict: missing keys {missing}; unexpected keys {unexpected}")
    nonzero = [k for k in ZERO_BIASES if k in arrays and np.any(arrays[k] != 0)]
    if nonzero:
        raise TmsError(f"our model has no biases {nonzero}; they must be zero to import")
    params = {k: np.array(arrays[STATE_DICT_KEYS[k]], dtype=np.float32) for k in PARAM_NAMES}
    check_params(params, cfg)
    return params


def _check_architecture(tl_cfg) -> None:
    bad = [f"{k}={getattr(tl_cfg, k)!r} (need {v!r})" for k, v in ARCHITECTURE.items()
           if hasattr(tl_cfg, k) and getattr(tl_cfg, k) != v]
    if tl_cfg.use_attn_scale and not math.isclose(float(tl_cfg.attn_scale), math.sqrt(tl_cfg.d_head)):
        bad.append(f"attn_scale={tl_cfg.attn_scale!r} (need √d_head = {math.sqrt(tl_cfg.d_head)})")
    if tl_cfg.d_vocab_out != tl_cfg.d_vocab:
        bad.append(f"d_vocab_out={tl_cfg.d_vocab_out} (need d_vocab = {tl_cfg.d_vocab})")
    if bad:
        raise TmsError("HookedTransformer architecture differs from the challenge model's: " + "; ".join(bad))


def _numpy(value) -> np.ndarray:
    """A torch tensor (any device) or array-like -> NumPy array, without importing torch."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        value = (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()
    return np.asarray(value)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("transformer-lens")
    except PackageNotFoundError:
        return "(not installed)"
