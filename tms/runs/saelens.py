"""SAEs to and from SAELens's on-disk format (a folder with ``cfg.json`` and ``sae_weights.safetensors``).

The folder follows SAELens 6's layout, read from its ``SAE.save_model`` / ``SAE.load_from_disk``:

- ``cfg.json``: ``architecture``, ``d_in``, ``d_sae``, ``dtype`` ("float32"), ``device`` ("cpu"),
  ``apply_b_dec_to_input`` (true: every architecture here encodes ``h − b_dec``), ``normalize_activations``
  ("none"), ``reshape_activations`` ("none"), ``metadata`` (``sae_lens_version`` = "6.0.0", the format version
  this writer follows, plus ``source = "tms"``), the architecture's own keys (``k`` and
  ``rescale_acts_by_decoder_norm`` for topk), and a ``tms`` block (our architecture, settings and
  hyperparameters) that SAELens ignores and :func:`import_saelens` reads.
- ``sae_weights.safetensors``: ``W_enc [d_in, d_sae]``, ``W_dec [d_sae, d_in]``, ``b_enc``, ``b_dec``
  (float32); ``threshold [d_sae]`` for jumprelu; gated stores ``b_gate`` (our ``b_enc``), ``r_mag``, ``b_mag``.

Architectures map as ``relu → standard``, ``topk → topk``, ``jumprelu → jumprelu`` (threshold = exp(log
threshold)), ``batchtopk → jumprelu`` with every latent's threshold set to the learned global one (what
SAELens itself does when it saves a BatchTopK SAE for inference), ``gated → gated``.

Needs the ``sae`` extra (``safetensors``; reading the folder with SAELens itself needs ``sae-lens``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..engine.sae import SaeConfig, SaeError, get_arch
from ..io import atomic_write, write_json

CFG_FILE = "cfg.json"
WEIGHTS_FILE = "sae_weights.safetensors"
FORMAT_VERSION = "6.0.0"


def _safetensors():
    try:
        from safetensors import numpy as st
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise SaeError("SAELens export/import needs safetensors: pip install 'tms[sae]'") from err
    return st


def _tensors(arch: str, params: dict) -> dict:
    p = {k: np.asarray(v, np.float32) for k, v in params.items()}
    out = {"W_enc": p["W_enc"], "W_dec": p["W_dec"], "b_dec": p["b_dec"]}
    if arch == "gated":
        out.update(b_gate=p["b_enc"], r_mag=p["r_mag"], b_mag=p["b_mag"])
        return out
    out["b_enc"] = p["b_enc"]
    if arch == "jumprelu":
        out["threshold"] = np.exp(p["log_threshold"]).astype(np.float32)
    if arch == "batchtopk":
        out["threshold"] = np.full(p["b_enc"].shape, float(p["threshold"]), np.float32)
    return out


def export_saelens(folder, params: dict, config: SaeConfig, k: int | None = None, penalty: float | None = None,
                   overwrite: bool = False) -> Path:
    """Write one SAE (``params`` leaves without an instance axis) as a SAELens folder; returns the folder.

    ``k`` is required for topk. An existing folder is overwritten only with ``overwrite=True`` and only if this
    lab wrote it (its ``cfg.json`` has the ``tms`` block).
    """
    arch = get_arch(config.arch)
    folder = Path(folder)
    _check_target(folder, overwrite)
    if params["W_enc"].shape != (config.d_in, config.d_sae):
        raise SaeError(f"params W_enc has shape {tuple(params['W_enc'].shape)}, expected (d_in, d_sae) = "
                       f"{(config.d_in, config.d_sae)}: pass one SAE, not a stack")
    if arch.name == "topk" and k is None:
        raise SaeError("export of a topk SAE needs its k")
    cfg = {"architecture": arch.saelens, "d_in": config.d_in, "d_sae": config.d_sae, "dtype": "float32",
           "device": "cpu", "apply_b_dec_to_input": True, "normalize_activations": "none",
           "reshape_activations": "none", "metadata": {"sae_lens_version": FORMAT_VERSION, "source": "tms"},
           "tms": {"arch": arch.name, "config": config.to_dict(), "k": k, "penalty": penalty}}
    if arch.name == "topk":
        cfg.update(k=int(k), rescale_acts_by_decoder_norm=False)
    folder.mkdir(parents=True, exist_ok=True)
    st = _safetensors()
    tensors = {name: np.ascontiguousarray(a) for name, a in _tensors(arch.name, params).items()}
    atomic_write(folder / WEIGHTS_FILE, lambda f: f.write(st.save(tensors)), binary=True)
    write_json(folder / CFG_FILE, cfg)
    return folder


def _check_target(folder: Path, overwrite: bool) -> None:
    cfg_path = folder / CFG_FILE
    if not (cfg_path.exists() or (folder / WEIGHTS_FILE).exists()):
        return
    ours = cfg_path.exists() and "tms" in json.loads(cfg_path.read_text())
    if not overwrite or not ours:
        why = "pass overwrite=True to replace it" if ours else "it was not written by tms; choose another folder"
        raise SaeError(f"{folder} already holds an SAE: {why}")


def import_saelens(folder) -> tuple[dict, SaeConfig, dict]:
    """Read a SAELens folder: ``(params, config, hparams)`` with ``hparams = {"k": ..., "penalty": ...}``.

    Folders this lab wrote come back as the architecture they were (a BatchTopK SAE as batchtopk); other
    SAELens folders of architecture standard, topk, jumprelu or gated are read as relu, topk, jumprelu, gated.
    """
    folder = Path(folder)
    for name in (CFG_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise SaeError(f"{folder}: no {name} (not a SAELens SAE folder)")
    cfg = json.loads((folder / CFG_FILE).read_text())
    w = {k: np.asarray(v, np.float32) for k, v in _safetensors().load_file(str(folder / WEIGHTS_FILE)).items()}
    ours = cfg.get("tms") or {}
    by_saelens = {"standard": "relu", "topk": "topk", "jumprelu": "jumprelu", "gated": "gated"}
    arch = ours.get("arch") or by_saelens.get(cfg.get("architecture"))
    if arch is None:
        raise SaeError(f"{folder}: architecture {cfg.get('architecture')!r} is not one of {sorted(by_saelens)}")
    settings = {**ours.get("config", {}), "arch": arch, "d_in": int(cfg["d_in"]), "d_sae": int(cfg["d_sae"])}
    config = SaeConfig(**settings)
    p = {"W_enc": w["W_enc"], "W_dec": w["W_dec"], "b_dec": w["b_dec"],
         "b_enc": w["b_gate"] if arch == "gated" else w["b_enc"]}
    if arch == "gated":
        p.update(r_mag=w["r_mag"], b_mag=w["b_mag"])
    if arch == "jumprelu":
        if np.any(w["threshold"] <= 0):
            raise SaeError(f"{folder}: jumprelu thresholds must be > 0 (we learn log thresholds)")
        p["log_threshold"] = np.log(w["threshold"])
    if arch == "batchtopk":
        p["threshold"] = np.float32(w["threshold"][0])
    return p, config, {"k": cfg.get("k", ours.get("k")), "penalty": ours.get("penalty")}
