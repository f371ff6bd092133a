"""The one base class of every error the lab raises for bad input or a bad file, and its few subclasses.

The command line turns a :class:`TmsError` into a one-line message (exit code 2); any other exception is a bug
and keeps its traceback (``tms --debug ...`` shows the traceback of every error). Subclasses name what went
wrong (a sweep file, a results folder, a backend); their messages name the file, the key and the allowed range.
docs/errors.md lists them with their causes and fixes.
"""

from __future__ import annotations

import numbers

# The seeds the lab accepts: jax.random.PRNGKey(seed) keeps only the low 32 bits of a seed (2**32 gives the
# key of seed 0), so larger seeds would silently repeat smaller ones.
MAX_SEED = 2**32 - 1


class TmsError(ValueError):
    """Bad user input or a bad file: the message says which field or path, and what is allowed."""


class MissingFileError(TmsError, FileNotFoundError):
    """A file or folder the lab needs is not there (the message names the path and what to do)."""


class RefusedOverwriteError(TmsError, FileExistsError):
    """The lab will not write over something it did not write, or over results without ``--overwrite``."""


class CorruptFileError(TmsError):
    """A file the lab wrote cannot be read back (truncated, edited, from another version): names the path and
    what to do about it."""


def check_seeds(seeds, where: str = "seeds") -> tuple[int, ...]:
    """``seeds`` as a tuple of distinct integers in [0, ``MAX_SEED``]; a :class:`TmsError` naming ``where``
    otherwise (two seeds must never give the same random key)."""
    try:
        values = list(seeds)
    except TypeError:
        values = [seeds]
    if not values:
        raise TmsError(f"{where}: needs at least one seed")
    for s in values:
        if not isinstance(s, numbers.Integral) or isinstance(s, bool) or not 0 <= int(s) <= MAX_SEED:
            raise TmsError(f"{where}: every seed must be an integer in [0, 2**32 - 1 = {MAX_SEED}] (the random key "
                           f"keeps 32 bits); got {s!r}")
    out = tuple(int(s) for s in values)
    if len(set(out)) != len(out):
        raise TmsError(f"{where}: seeds must be distinct; got {list(out)}")
    return out


class MissingExtraError(TmsError, ImportError):
    """An optional dependency is not installed: the message names the extra that brings it."""


def require(module: str, extra: str, what: str):
    """Import and return ``module``, or raise :class:`MissingExtraError` saying which extra to install.

    ``what`` names the feature that needs it (``"TransformerLens interop"``). Extras that bring PyTorch say to
    install the pinned CPU build first, as the README does (an unpinned torch pulls a CUDA build).
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        torch = " (PyTorch first: pip install torch==2.13.0)" if extra in ("bench", "interop", "slt") else ""
        raise MissingExtraError(f"{what} needs {module.split('.')[0]}, which is not installed: "
                                f"pip install 'tms[{extra}]'{torch}") from e
