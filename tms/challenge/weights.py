"""Weights in and out: our npz format, and import of the challenge's original PyTorch checkpoint.

Our format: one .npz holding every parameter (float32, our TransformerLens
layout, see tms.challenge.model) plus `__config__`, a JSON string of the
Config, and optionally `__meta__` (JSON) — readable with np.load without pickle.

The original format: `transformer_model.pt`, a PyTorch zip archive
(<name>/data.pkl + <name>/data/<key> raw storages) whose ["model"] entry is the
state dict of the hand-written module of the challenge (an early
TransformerLens-style model from Neel Nanda's grokking code). Its conventions,
read off its forward pass, fix the transposes:

    embed      x = einsum('dbp -> bpd', W_E[:, tokens])   W_E (d_model, d_vocab)
    attention  q = einsum('ihd,bpd->biph', W_Q, x)         W_Q/W_K/W_V (n_heads, d_head, d_model)
               z_flat = rearrange(z, 'b i q h -> b q (i h)')
               out = einsum('df,bqf->bqd', W_O, z_flat)    W_O (d_model, n_heads·d_head), f = i·d_head + h
    mlp        einsum('md,bpd->bpm', W_in, x) + b_in       W_in (d_mlp, d_model)
               einsum('dm,bpm->bpd', W_out, x) + b_out     W_out (d_model, d_mlp)
    unembed    x @ W_U                                     W_U (d_model, d_vocab)

so ours = W_E.T, W_pos, W_Q.transpose(0, 2, 1) (likewise K, V),
W_O.T.reshape(n_heads, d_head, d_model), W_in.T, b_in, W_out.T, b_out, W_U.
The causal mask buffer `blocks.0.attn.mask` is checked (lower triangular) and dropped.

The importer never imports torch and never runs pickle code it does not know:
a restricted Unpickler resolves only tensor-rebuild functions, storage types and
OrderedDict (to our own NumPy stand-ins); any other global is refused with an
error naming it.

For TransformerLens's HookedTransformer (export and import) see tms.challenge.interop.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from tms.challenge.model import PARAM_NAMES, Config, check_params

from ..errors import CorruptFileError, MissingFileError, TmsError

# --------------------------------------------------------------------------- our format


def save(path, params, cfg: Config | None = None, meta: dict | None = None) -> Path:
    """Write params (float32) + config (+ optional meta: strict JSON, no NaN) to an .npz, atomically."""
    cfg = check_params(params, cfg)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(params[k], dtype=np.float32) for k in PARAM_NAMES}
    arrays["__config__"] = np.array(json.dumps(cfg.__dict__, allow_nan=False))
    if meta is not None:
        arrays["__meta__"] = np.array(json.dumps(meta, allow_nan=False))
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; weights are ordinary readable files
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load(path) -> tuple[dict[str, np.ndarray], Config]:
    """Read an .npz written by save -> (params (NumPy float32), Config). Shapes are checked."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"weights file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "__config__" not in f.files:
                raise TmsError(f"{path}: not a tms challenge weights file (no __config__ entry)")
            cfg = Config(**json.loads(str(f["__config__"])))
            missing = [k for k in PARAM_NAMES if k not in f.files]
            if missing:
                raise TmsError(f"{path}: missing parameters {missing}")
            params = {k: np.asarray(f[k]) for k in PARAM_NAMES}
    except TmsError:
        raise
    except (OSError, ValueError, TypeError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise CorruptFileError(f"{path}: not a readable tms challenge weights file (.npz written by tms challenge "
                               f"train or import): {type(e).__name__}: {e}") from None
    check_params(params, cfg)
    return params, cfg


def load_meta(path) -> dict | None:
    """The optional JSON metadata stored by save (None if absent)."""
    with np.load(Path(path), allow_pickle=False) as f:
        return json.loads(str(f["__meta__"])) if "__meta__" in f.files else None


SHIPPED = "original_recipe.npz"  # the shipped model: the challenge's original training recipe, 5,000 epochs
ALTERNATIVE = "trained.npz"  # the alternative model: this lab's shorter recipe (TrainConfig defaults, 600 epochs)


def shipped_weights_path(name: str = SHIPPED) -> Path | None:
    """tms/challenge/weights/<name> inside the installed package (default: the shipped model), or None if
    absent; ``ALTERNATIVE`` names the alternative model."""
    p = Path(__file__).resolve().parent / "weights" / name
    return p if p.is_file() else None


# --------------------------------------------------------------------------- restricted torch unpickling

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
    """Stand-in for torch.<X>Storage: only records the element type."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    """A loaded storage: a flat NumPy array (bfloat16 converted to float32)."""

    def __init__(self, array: np.ndarray):
        self.array = array


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor rebuild without a storage from the archive")
    flat = storage.array
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    storage_offset = int(storage_offset)
    if storage_offset < 0 or any(s < 0 for s in stride) or len(size) != len(stride):
        raise pickle.UnpicklingError(f"invalid tensor layout: offset {storage_offset}, size {size}, stride {stride}")
    if all(size):  # non-empty: the last element must lie inside the storage
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise pickle.UnpicklingError(f"tensor of size {size} stride {stride} overruns its storage")
    base = flat[storage_offset:]
    out = np.lib.stride_tricks.as_strided(base, shape=size, strides=[s * flat.itemsize for s in stride])
    return np.array(out, copy=True)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class RefusedGlobal(pickle.UnpicklingError):
    """A checkpoint asked for a Python global outside the allowed list."""


class _TorchZipUnpickler(pickle.Unpickler):
    ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
    }

    def __init__(self, file, zf: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(file)
        self._zf, self._prefix, self._byteorder = zf, prefix, byteorder
        self._storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(
                f"refused to load global '{module}.{name}': a challenge checkpoint may only contain tensors, "
                "storages and plain containers"
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, stype, key, _location, numel = pid
        if not isinstance(stype, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {stype!r}")
        key = str(key)
        if key not in self._storages:
            name = f"{self._prefix}data/{key}"
            try:
                raw = self._zf.read(name)
            except KeyError:
                raise pickle.UnpicklingError(f"storage {name} missing from the archive") from None
            if stype.dtype == "bfloat16":
                u16 = np.frombuffer(raw, dtype=np.dtype("<u2" if self._byteorder == "little" else ">u2"))
                arr = (u16.astype(np.uint32) << 16).view(np.float32)
            else:
                dt = np.dtype(stype.dtype).newbyteorder("<" if self._byteorder == "little" else ">")
                arr = np.frombuffer(raw, dtype=dt).astype(np.dtype(stype.dtype).newbyteorder("="))
            self._storages[key] = _Storage(arr)
        return self._storages[key]


def load_torch_zip(path) -> object:
    """Unpickle a PyTorch zip checkpoint into NumPy arrays, allowing only tensors and containers."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"checkpoint not found: {path}")
    if not zipfile.is_zipfile(path):
        raise TmsError(f"{path}: not a PyTorch zip checkpoint (the legacy pre-1.6 format is not supported)")
    with zipfile.ZipFile(path) as zf:
        pkls = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise TmsError(f"{path}: expected one <name>/data.pkl in the archive; found {pkls}")
        prefix = pkls[0][: -len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in zf.namelist():
            byteorder = zf.read(f"{prefix}byteorder").decode().strip()
            if byteorder not in ("little", "big"):
                raise TmsError(f"{path}: unknown byteorder {byteorder!r}")
        return _TorchZipUnpickler(io.BytesIO(zf.read(pkls[0])), zf, prefix, byteorder).load()


# --------------------------------------------------------------------------- original layout -> ours

ORIGINAL_KEYS = {
    "embed.W_E": "W_E", "pos_embed.W_pos": "W_pos",
    "blocks.0.attn.W_Q": "W_Q", "blocks.0.attn.W_K": "W_K", "blocks.0.attn.W_V": "W_V",
    "blocks.0.attn.W_O": "W_O", "blocks.0.mlp.W_in": "W_in", "blocks.0.mlp.b_in": "b_in",
    "blocks.0.mlp.W_out": "W_out", "blocks.0.mlp.b_out": "b_out", "unembed.W_U": "W_U",
}
_BUFFERS = ("blocks.0.attn.mask", "blocks.0.attn.IGNORE")


def original_shapes(cfg: Config) -> dict[str, tuple[int, ...]]:
    """Shapes of the original layout's parameters for a Config."""
    d, h, e, m, v, n = cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp, cfg.d_vocab, cfg.n_ctx
    return {
        "embed.W_E": (d, v), "pos_embed.W_pos": (n, d), "blocks.0.attn.W_Q": (h, e, d),
        "blocks.0.attn.W_K": (h, e, d), "blocks.0.attn.W_V": (h, e, d), "blocks.0.attn.W_O": (d, h * e),
        "blocks.0.mlp.W_in": (m, d), "blocks.0.mlp.b_in": (m,), "blocks.0.mlp.W_out": (d, m),
        "blocks.0.mlp.b_out": (d,), "unembed.W_U": (d, v),
    }


def from_original(state: dict, cfg: Config = Config()) -> dict[str, np.ndarray]:
    """Convert an original-layout state dict (name -> array) to our params (float32)."""
    missing = [k for k in ORIGINAL_KEYS if k not in state]
    unexpected = [k for k in state if k not in ORIGINAL_KEYS and k not in _BUFFERS]
    if missing or unexpected:
        raise TmsError(f"checkpoint model dict: missing keys {missing}; unexpected keys {unexpected}")
    want = original_shapes(cfg)
    bad = [f"{k}: expected {want[k]}, got {tuple(np.shape(state[k]))}"
           for k in ORIGINAL_KEYS if tuple(np.shape(state[k])) != want[k]]
    if bad:
        raise TmsError("checkpoint has wrong shapes: " + "; ".join(bad))
    if "blocks.0.attn.mask" in state:
        mask = np.asarray(state["blocks.0.attn.mask"])
        n = cfg.n_ctx
        if mask.shape[0] < n or mask.shape[1] < n or not np.array_equal(
                mask[:n, :n] != 0, np.tril(np.ones((n, n), bool))):
            raise TmsError("checkpoint's blocks.0.attn.mask is not a causal (lower-triangular) mask")
    s = {k: np.asarray(state[k], dtype=np.float32) for k in ORIGINAL_KEYS}
    h, e, d = cfg.n_heads, cfg.d_head, cfg.d_model
    params = {
        "W_E": s["embed.W_E"].T,
        "W_pos": s["pos_embed.W_pos"],
        "W_Q": s["blocks.0.attn.W_Q"].transpose(0, 2, 1),
        "W_K": s["blocks.0.attn.W_K"].transpose(0, 2, 1),
        "W_V": s["blocks.0.attn.W_V"].transpose(0, 2, 1),
        "W_O": s["blocks.0.attn.W_O"].T.reshape(h, e, d),
        "W_in": s["blocks.0.mlp.W_in"].T,
        "b_in": s["blocks.0.mlp.b_in"],
        "W_out": s["blocks.0.mlp.W_out"].T,
        "b_out": s["blocks.0.mlp.b_out"],
        "W_U": s["unembed.W_U"],
    }
    params = {k: np.ascontiguousarray(params[k]) for k in PARAM_NAMES}
    check_params(params, cfg)
    return params


def import_original(path, cfg: Config = Config()) -> dict[str, np.ndarray]:
    """Load `transformer_model.pt` (original layout) -> our params, without torch.

    Accepts a checkpoint whose ["model"] entry is the state dict, or a bare state dict.
    """
    obj = load_torch_zip(path)
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict):
        raise TmsError(f"{path}: expected a dict with a 'model' state dict; got {type(obj).__name__}")
    return from_original(obj, cfg)


def load_any(path):
    """params from our .npz or from an original-layout .pt checkpoint (by the file's suffix)."""
    path = Path(path)
    return import_original(path) if path.suffix in (".pt", ".pth") else load(path)[0]
