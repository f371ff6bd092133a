"""Sweep files (TOML): ``kind = "..."`` picks the sweep kind, whose typed sections parse the rest.

``kind = "grid"`` (the default) and ``kind = "finite"`` are shipped (:mod:`tms.runs.kinds`); a file without
``kind`` is read the older way (a ``[data]`` table with ``train_sizes`` is a finite-data sweep, anything else
a grid); an unknown kind is an error that lists the known ones. A list of values may be written out, or
spaced: ``{ lin = [a, b], num = k }`` / ``{ log = [a, b], num = k }`` (:func:`~tms.runs.sections.spaced`).
See docs/sweeps.md.
"""

from __future__ import annotations

from ..io import load_toml, parse_toml
from .kinds import SweepSpec, kind_of_doc
from .sections import SpecError, spaced

__all__ = ["SpecError", "SweepSpec", "load_spec", "parse_spec", "parse_spec_text", "spaced"]


def parse_spec(doc: dict, where: str = "<spec>", source: str = ""):
    """Validate a parsed TOML document with its kind's parser; every error names ``where`` and the key.
    Returns the kind's spec (a :class:`~tms.runs.kinds.grid.SweepSpec` for a grid)."""
    if not isinstance(doc, dict):
        raise SpecError(f"{where}: a sweep file is a TOML document (tables of keys); got {type(doc).__name__}")
    return kind_of_doc(doc, where).parse(doc, where, source)


def parse_spec_text(text: str, where: str):
    """A sweep file's text (e.g. package data), parsed; errors name ``where``."""
    return parse_spec(parse_toml(text, where, SpecError), where, text)


def load_spec(path):
    """The sweep file at ``path``, parsed."""
    doc, text = load_toml(path, error=SpecError)
    return parse_spec(doc, str(path), text)
