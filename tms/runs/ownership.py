"""Which folders the lab may write into, replace or clear: a marker file naming what wrote the folder.

Every results folder the lab writes (``tms train --out``, ``tms sweep run --out``, the sweeps of
``tms reproduce``) holds ``tms-folder.json``::

    {"written_by": "tms", "kind": "sweep", "schema": 1}

``kind`` is ``"results"`` (a ``tms train`` or ``train_grid(...).save`` folder) or ``"sweep"`` (a sweep's store);
``schema`` is the layout version of the files (:data:`SCHEMA`): a folder of a newer schema is refused by name. The rules:

- the lab writes into a folder that does not exist, is empty, or carries its marker;
- ``overwrite`` clears only a folder that carries the marker, and then only the files the lab writes there
  (:data:`LAB_FILES`, ``chunks/*.npz``, the figures ``tms plot`` draws into ``figures/``); anything else in it
  stays where it is;
- a folder with other contents and no marker is refused with an error that says what is there.

A folder written before markers existed (its entries are all lab files) counts as the lab's.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CorruptFileError, RefusedOverwriteError
from ..io import write_json

MARKER = "tms-folder.json"
SCHEMA = 1  # the results-folder layout this version writes and reads
LAB_FILES = ("spec.toml", "resolved.json", "config.json", "arrays.npz", "table.csv", MARKER)
LAB_FOLDERS = {"chunks": ("*.npz", ".*.tmp"), "figures": ("*.png", "*.svg", "*.pdf")}


def _lab_entry(path: Path) -> bool:
    """Whether ``path`` (an entry of a results folder) is something the lab writes there."""
    if path.is_file() and (path.name in LAB_FILES or path.name.startswith(".") and path.name.endswith(".tmp")):
        return True
    if path.is_dir() and path.name in LAB_FOLDERS:
        return all(any(f.match(p) for p in LAB_FOLDERS[path.name]) for f in path.iterdir())
    return False


def _foreign(folder: Path) -> list[str]:
    return sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if not _lab_entry(p))


def read_marker(folder) -> dict | None:
    """The marker of ``folder`` (None if it has none); a :class:`~tms.errors.CorruptFileError` if it cannot be
    read or names a schema this version cannot read."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text())
        schema = marker["schema"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise CorruptFileError(f"{path}: unreadable ownership marker ({type(e).__name__}: {e}); the folder may "
                               f"have been edited: run the command again into a new --out") from None
    if not isinstance(schema, int) or schema > SCHEMA:
        raise CorruptFileError(f"{path}: results-folder schema {schema!r}; this tms reads schema <= {SCHEMA} "
                               f"(written by a newer tms: upgrade tms to read it)")
    return marker


def owned(folder) -> bool:
    """Whether the lab wrote ``folder``: it carries the marker, or (older folders) holds only lab files."""
    folder = Path(folder)
    if read_marker(folder) is not None:
        return True
    return folder.is_dir() and any(folder.iterdir()) and not _foreign(folder)


def describe(folder: Path) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    shown = ", ".join(names[:5]) + (f", ... ({len(names)} entries)" if len(names) > 5 else "")
    return f"{folder} holds files tms did not write ({shown}) and no {MARKER} marker"


def claim(folder, kind: str, overwrite: bool = False, keep: bool = False, what: str = "--out") -> Path:
    """Make ``folder`` ready for the lab to write a ``kind`` folder into; returns it as a Path.

    Refused (:class:`~tms.errors.RefusedOverwriteError`): ``folder`` names a file; it holds other things and
    no marker; it holds the lab's results and neither ``overwrite`` (clear the lab's files first, nothing else)
    nor ``keep`` (write beside them: resuming a sweep, saving merged results into their sweep folder).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RefusedOverwriteError(f"{what} {folder}: is a file, not a folder; give a folder path")
    if folder.is_dir() and any(p.name != MARKER for p in folder.iterdir()):
        if not owned(folder):
            raise RefusedOverwriteError(f"{what}: {describe(folder)}; tms writes only into a new or empty folder "
                                        f"or one it wrote, so choose another {what}")
        if overwrite:
            clear(folder)
        elif not keep and any(_lab_entry(p) and p.name != MARKER for p in folder.iterdir()):
            raise RefusedOverwriteError(f"{what} {folder}: already holds tms results; choose another {what} or pass "
                                        f"--overwrite to replace them (only the files tms wrote are removed)")
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / MARKER).exists():
        write_json(folder / MARKER, {"written_by": "tms", "kind": kind, "schema": SCHEMA})
    return folder


def clear(folder) -> list[Path]:
    """Delete the lab's files in ``folder`` (which the lab wrote), leaving everything else; returns them."""
    folder = Path(folder)
    removed = []
    for p in sorted(folder.iterdir()):
        if not _lab_entry(p):
            continue
        if p.is_dir():
            for f in sorted(p.iterdir()):
                f.unlink()
                removed.append(f)
            p.rmdir()
        else:
            p.unlink()
        removed.append(p)
    return removed
