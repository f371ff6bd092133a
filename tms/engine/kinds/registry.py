"""The model kinds by name: ``register_kind``, ``get_kind``, ``kind_names``.

The built-in kinds are registered here, one line each; adding a kind is one new module beside this one plus
one line in ``_BUILTIN`` (docs/architecture.md walks through it). Code outside a kind's own module never tests
a kind's name: it asks the registry for the record and calls its functions.
"""

from __future__ import annotations

from ...errors import TmsError
from . import linear, neurons, relu
from .base import ModelKind

_BUILTIN = (relu.KIND, linear.KIND, neurons.RELU_HIDDEN, neurons.RELU_HIDDEN_BIAS, neurons.ABS)

_KINDS: dict[str, ModelKind] = {}


class UnknownKindError(TmsError):
    """A model kind name that is not registered."""


def register_kind(kind: ModelKind) -> ModelKind:
    """Add ``kind`` under ``kind.name`` (a name may be registered once); returns it."""
    if not isinstance(kind, ModelKind):
        raise TypeError(f"register_kind takes a ModelKind; got {type(kind).__name__}")
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise TmsError(f"model kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    """Remove a kind registered at run time (tests and notebooks; the built-in kinds stay)."""
    if any(k.name == name for k in _BUILTIN):
        raise TmsError(f"model kind {name!r} is built in and cannot be removed")
    _KINDS.pop(name, None)


def kind_names() -> tuple[str, ...]:
    """The registered kind names, built-in first, in registration order."""
    return tuple(_KINDS)


def get_kind(name: str, field: str = "kind") -> ModelKind:
    """The kind registered as ``name``; an unknown name is a :class:`UnknownKindError` naming ``field`` and
    the allowed names."""
    try:
        return _KINDS[name]
    except (KeyError, TypeError):
        raise UnknownKindError(f"{field} must be one of {kind_names()}; got {name!r}") from None


for _kind in _BUILTIN:
    register_kind(_kind)
