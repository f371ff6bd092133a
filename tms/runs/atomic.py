"""Atomic, reproducible file writes: a temporary name renamed into place; strict JSON (no NaN/Infinity)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np


def atomic_write(path: Path, write, binary: bool = False):
    """Write through a temporary file in the same folder and rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def strict(obj):
    """``obj`` with every non-finite float replaced by None and NumPy scalars/arrays made plain Python, so
    that ``json.dumps(..., allow_nan=False)`` accepts it (strict JSON: missing values are null)."""
    if isinstance(obj, dict):
        return {str(k): strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict(obj.tolist())
    if isinstance(obj, np.generic):
        return strict(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path, obj, indent: int = 1) -> Path:
    """Write ``obj`` as strict JSON (NaN/inf become null), atomically."""
    text = json.dumps(strict(obj), indent=indent, allow_nan=False)
    atomic_write(Path(path), lambda f: f.write(text + "\n"))
    return Path(path)
