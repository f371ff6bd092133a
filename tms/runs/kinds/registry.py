"""The sweep-kind registry: what a kind of sweep declares, and the names sweep files and results use.

A sweep kind is a small record of functions (:class:`SweepKind`), registered under the name that sweep files
give as ``kind = "..."`` and that results record in ``config.json``. Everything else is shared: sweep-file
parsing (:mod:`tms.runs.spec` picks the kind), the resumable store (:mod:`tms.runs.store`), the chunk driver
with its progress bar (:mod:`tms.runs.pipeline`) and the local and Ray backends (:mod:`tms.runs.backends`),
which train any kind's chunks. docs/architecture.md walks through adding a kind.

A kind's **spec** (what ``parse`` returns) is a frozen dataclass with at least ``name``, ``description``,
``source`` (the file's text) and ``kind`` (the kind's name), and the methods ``resolved() -> dict`` (what "the
same sweep" means on resume), ``cells(chunk) -> int`` (cells of one chunk, for progress), ``work_per_cell``
(model-samples per cell, for the throughput), ``estimate_seconds()``, ``quick()`` (a reduced-cost version)
and ``summary()`` (one line). Its **results** (what ``results`` and ``load`` return) have ``kind``,
``arrays``, ``config() -> dict`` (recording ``"kind"``), ``save(folder)``, ``to_frame()``,
``summary_lines()``, ``describe() -> str`` (a header line) and ``table_text() -> str`` (for ``tms sweep show``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...errors import TmsError
from ..sections import SpecError


@dataclass(frozen=True)
class SweepKind:
    """One kind of sweep.

    Args:
        name: the ``kind = "..."`` of its sweep files and the ``"kind"`` its results record.
        axes: names of the leading axes of its merged arrays, in order.
        parse: ``(doc, where, source) -> spec``: a parsed TOML document to the kind's spec; every error a
            :class:`~tms.runs.sections.SpecError` naming ``where`` and the key.
        chunks: ``(spec, devices) -> list``: the chunks of the sweep, in chunk-file order (anything
            picklable that ``train_chunk`` understands; its position is the chunk's id).
        train_chunk: ``(spec, chunk, devices) -> dict`` of numpy arrays; runs in any process (a Ray worker
            calls it too) and depends only on the spec and the chunk, so a retried or resumed chunk is equal.
        merge: ``(spec, parts) -> dict``: every chunk's arrays (in chunk order) to the merged arrays.
        results: ``(spec, merged arrays) -> results``.
        load: ``folder -> results``: a saved results folder read back, checked (files, config against the
            arrays' shapes; :meth:`~tms.runs.results.ArrayFields.read_folder`).
        recognises: ``doc -> bool``: whether a sweep file without ``kind`` is of this kind (the older,
            implicit form); None if every file of this kind names it.
        preflight: ``spec -> None``: checks before anything is written or compiled (e.g. memory); optional.
        compilations: ``() -> int``: XLA compilations this process made for the kind (for tests); optional.
    """

    name: str
    axes: tuple[str, ...]
    parse: Callable
    chunks: Callable
    train_chunk: Callable
    merge: Callable
    results: Callable
    load: Callable
    recognises: Callable | None = None
    preflight: Callable | None = None
    compilations: Callable | None = None


BUILTIN = ("grid", "finite", "sae")  # registered by tms.runs.kinds on import, in this order
SWEEP_KINDS: dict[str, SweepKind] = {}
"""Registered sweep kinds by name, in registration order (the first is the default of an implicit file)."""


class UnknownSweepKind(SpecError):
    """A sweep file or results folder that names a sweep kind no module registered."""


def register_sweep_kind(kind: SweepKind) -> SweepKind:
    """Add ``kind`` to :data:`SWEEP_KINDS` (its name must be new); returns it."""
    if SWEEP_KINDS.get(kind.name, kind) is not kind:
        raise TmsError(f"sweep kind {kind.name!r} is already registered")
    SWEEP_KINDS[kind.name] = kind
    return kind


def unregister_sweep_kind(name: str) -> None:
    """Remove a kind registered at run time (tests, notebooks); the built-in kinds stay."""
    if name in BUILTIN:
        raise TmsError(f"sweep kind {name!r} is built in and cannot be unregistered")
    SWEEP_KINDS.pop(name, None)


def sweep_kind(name: str, where: str = "kind") -> SweepKind:
    """The registered kind ``name``, or an :class:`UnknownSweepKind` naming ``where`` and the known kinds."""
    if name not in SWEEP_KINDS:
        raise UnknownSweepKind(f"{where}: unknown sweep kind {name!r}; known kinds: {', '.join(SWEEP_KINDS)}")
    return SWEEP_KINDS[name]


def kind_of_doc(doc: dict, where: str) -> SweepKind:
    """The kind of a sweep file: its ``kind = "..."``, else the first kind that recognises it, else the first
    registered kind (a grid)."""
    if "kind" in doc:
        if not isinstance(doc["kind"], str):
            raise SpecError(f"{where}: 'kind' must be a string naming a sweep kind ({', '.join(SWEEP_KINDS)}); "
                            f"got {doc['kind']!r}")
        return sweep_kind(doc["kind"], f"{where}: kind")
    for kind in SWEEP_KINDS.values():
        if kind.recognises is not None and kind.recognises(doc):
            return kind
    return next(iter(SWEEP_KINDS.values()))


def kind_of_config(config: dict, where: str) -> SweepKind:
    """The kind a results folder's ``config.json`` records (older folders: ``"finite"`` marks a finite-data
    sweep, anything else is a grid)."""
    if "kind" in config:
        return sweep_kind(config["kind"], f"{where}: kind")
    return sweep_kind("finite" if "finite" in config else "grid", where)
