"""The ground floor of input and output: every file the lab writes or reads as settings goes through here.

- :func:`atomic_write`: a temporary name in the same folder, renamed into place (a file exists only once
  complete, so an interrupted run never leaves half a file under the real name);
- :func:`strict` / :func:`write_json`: strict JSON (no NaN or Infinity: a missing value is ``null``);
- :func:`load_toml` / :func:`parse_toml`: the one TOML reader, for sweep files, SLT presets and the command
  line; errors name the file;
- :func:`save_figure`: the one figure writer (fixed DPI, no timestamp in the file, atomic);
- :func:`check_int` / :func:`check_float`: the one bounded-number check, the field name and the allowed
  range in the message.

Every error here is a :class:`~tms.errors.TmsError`. This module imports nothing else of the lab's but
:mod:`tms.errors`, so every floor above may use it.
"""

from __future__ import annotations

import io
import json
import math
import numbers
import os
import sys
import tempfile
import threading
import tomllib
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import CorruptFileError, MissingFileError, TmsError

FIGURE_DPI = 130
FIGURE_FORMATS = ("png", "svg", "pdf")
"""Figure formats the command line offers (the first is the default)."""


class SettingsFileError(TmsError):
    """A settings file (sweep file, preset) that cannot be read: missing, or not valid TOML."""


class BoundsError(TmsError):
    """A number outside its allowed range (or of the wrong type): names the field and the range."""


# --------------------------------------------------------------------------------------------- writing


def atomic_write(path, write, binary: bool = False) -> Path:
    """Call ``write(f)`` on a temporary file in ``path``'s folder, then rename it to ``path``."""
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
    return path


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
    return atomic_write(Path(path), lambda f: f.write(text + "\n"))


_SAVING = threading.Lock()
"""One figure written at a time: the fixed SVG salt is set in matplotlib's global settings while one is written,
and several threads draw at once in ``tms reproduce all``."""


def save_figure(fig, path, dpi: int = FIGURE_DPI) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix: png, svg or pdf), atomically, with no timestamp or
    software version in the file, so the same figure gives the same bytes; returns the path. The figure stays
    open (the caller may close it).

    A file already at ``path`` with the same bytes is left untouched; one that differs (e.g. a committed figure
    of a source checkout) is replaced and stderr says so, so that no figure changes silently."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FIGURE_FORMATS:
        raise TmsError(f"{path}: a figure's format must be one of {', '.join(FIGURE_FORMATS)}; got {fmt!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib  # here, not at the top: the engine imports this module and draws nothing

    metadata = {"png": {"Software": None}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}[fmt]
    buf = io.BytesIO()
    with _SAVING, matplotlib.rc_context({"svg.hashsalt": "tms"}):  # SVG ids from a fixed salt, not a random one
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=metadata)
    data = buf.getvalue()
    if path.is_file():
        if path.read_bytes() == data:
            return path
        print(f"tms: replaced {path} (the new figure differs from the file that was there)", file=sys.stderr)
    elif path.exists():
        raise TmsError(f"{path}: is not a file; cannot write a figure there")
    return atomic_write(path, lambda f: f.write(data), binary=True)


# --------------------------------------------------------------------------------------------- reading


def read_json(path, fix: str = "") -> object:
    """Parse the JSON file ``path``; a :class:`~tms.errors.CorruptFileError` naming it (and ``fix``, what to do)
    if it is not valid JSON, a :class:`~tms.errors.MissingFileError` if it is not there."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: not found" + (f"; {fix}" if fix else ""))
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise CorruptFileError(f"{path}: not valid JSON ({e})" + (f"; {fix}" if fix else "")) from None


def read_npz(path, fix: str = "") -> dict:
    """The arrays of the ``.npz`` file ``path`` (read whole, no pickles); a :class:`~tms.errors.CorruptFileError`
    naming it (and ``fix``, what to do) if it is truncated or not an npz file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: not found" + (f"; {fix}" if fix else ""))
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise CorruptFileError(f"{path}: truncated or not an npz file ({type(e).__name__}: {e})"
                               + (f"; {fix}" if fix else "")) from None


def parse_toml(text: str, where: str, error: type[TmsError] = SettingsFileError) -> dict:
    """The TOML document ``text``; invalid TOML raises ``error`` naming ``where`` and the line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise error(f"{where}: not valid TOML: {e}") from None


def load_toml(path, where: str | None = None, error: type[TmsError] = SettingsFileError) -> tuple[dict, str]:
    """``(document, text)`` of the TOML file ``path``. A missing file raises :class:`MissingFileError`,
    invalid TOML ``error``; both name ``where`` (default: the path)."""
    path = path if hasattr(path, "read_text") else Path(path)  # a Path, or package data (a Traversable)
    where = str(path) if where is None else where
    if not path.is_file():
        raise MissingFileError(f"{where}: no such file" + (" (it is a folder)" if path.is_dir() else ""))
    text = path.read_text()
    return parse_toml(text, where, error), text


# --------------------------------------------------------------------------------------------- checking


def _range(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi}"
    return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def check_int(name: str, value, lo: int | None = None, hi: int | None = None, error: type[TmsError] = BoundsError):
    """``value`` as an int if it is an integer (not a bool) with ``lo <= value <= hi`` (None: unbounded);
    else ``error`` naming ``name`` and the range, e.g. ``steps must be an integer >= 1; got 0``."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise error(f"{name} must be an integer {_range(lo, hi)}; got {value!r}")
    return int(value)


def check_float(name: str, value, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
                hi_open: bool = False, error: type[TmsError] = BoundsError) -> float:
    """``value`` as a float if it is a finite real number (not a bool) in the range from ``lo`` to ``hi``
    (None: unbounded; ``lo_open`` / ``hi_open`` exclude the end); else ``error`` naming ``name`` and the range,
    e.g. ``lr must be a number > 0; got -1``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        what = "a finite number" if lo is None and hi is None else f"a number {_range(lo, hi, lo_open, hi_open)}"
        raise error(f"{name} must be {what}; got {value!r}")
    return float(value)
