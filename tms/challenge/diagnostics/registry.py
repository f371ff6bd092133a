"""Diagnostics registered by name: each is a function of the shared :class:`~.context.Diagnosis` that returns
an :class:`Outcome` (summary numbers, tables, figures). Adding a diagnostic is one decorated function in its
module; ``reproduce.diagnose`` runs every registered one, in registration order.

The diagnostic modules sit below :mod:`.context` (which imports their analyses), so they take the shared
``context.Diagnosis`` as ``dx`` without importing it: no import cycle, not even for type checking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, NamedTuple

from ...errors import TmsError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Settings:
    """How hard the searches work. Args:
        seed: seeds every random choice (AND-search starts, resampling draws, random baselines).
        quick: shortened searches for smoke tests (AND fit, probes, neuron sets, resampling repeats, no
            16-component AND search); its numbers are not the reported ones.
        figures: draw the figures (False: numbers and tables only).
    """

    seed: int = 0
    quick: bool = False
    figures: bool = True

    @property
    def and_search(self) -> dict:
        """Keyword arguments of ``fit_and_rule`` beyond its defaults."""
        return dict(restarts=2, steps=60) if self.quick else {}

    @property
    def probe_steps(self) -> int:
        return 40 if self.quick else 300

    @property
    def max_neurons(self) -> int:
        """Largest neuron set searched (k = 1..max_neurons)."""
        return 3 if self.quick else 8

    @property
    def resampling_repeats(self) -> int:
        """Permutation draws per resampling variant."""
        return 2 if self.quick else 5

    @property
    def family_top(self) -> int:
        """Neurons per family searched exhaustively for the 4-neuron set."""
        return 3 if self.quick else 6


class Outcome(NamedTuple):
    """What one diagnostic produced.

    numbers: summary entries (written to summary.json); tables: name -> DataFrame (written as <name>.csv);
    figures: name -> Figure (saved as <name>.png; empty when figures are off).
    """

    numbers: dict
    tables: dict[str, "pd.DataFrame"]
    figures: dict[str, "Figure"]


@dataclass(frozen=True)
class Diagnostic:
    name: str
    run: Callable[..., Outcome]  # takes the shared context.Diagnosis
    description: str = field(default="")


DIAGNOSTICS: dict[str, Diagnostic] = {}


def register(name: str, description: str):
    """Decorator: register ``fn(diagnosis) -> Outcome`` under ``name`` (names are unique)."""

    def deco(fn):
        if name in DIAGNOSTICS:
            raise TmsError(f"diagnostic {name!r} is already registered")
        DIAGNOSTICS[name] = Diagnostic(name, fn, description)
        return fn

    return deco
