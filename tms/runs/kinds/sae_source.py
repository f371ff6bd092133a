"""The ``[source]`` table of an SAE sweep file: which activations the SAEs are trained on, with ground truth.

``type`` picks the source, the other keys are its settings (a key that does not belong to the type is refused):

- ``"pentagon"``: ``sparsity`` (the toy model's S, default 0.9): ``h = W x`` of the n = 5, m = 2 pentagon
  (:func:`tms.engine.sae.toy_model_source`);
- ``"synthetic"`` (the default): ``n_true``, ``d_in``, ``mean_active``, ``decay``, ``correlated``, ``seed``
  (:func:`tms.engine.sae.synthetic_source`, Sharkey et al.);
- ``"hierarchical"``: ``n_parents``, ``n_children``, ``d_in``, ``p_parent`` and ``p_child`` (a number or one per
  parent / child), ``magnitudes`` (``"uniform"`` or ``"unit"``), ``orthogonal``, ``seed``
  (:func:`tms.engine.sae.hierarchical_source`: parents with mutually exclusive children, where absorption
  shows; ``tms plot`` adds the absorption scores to ``sae_scores.csv``).

Settings left out take the engine function's defaults. The source is built (its settings checked, with the
key and its range named) while the file is parsed, before anything compiles.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...engine.sae import hierarchical_source, pentagon, synthetic_source, toy_model_source
from ..sections import SpecError, given

SOURCE_TYPES = ("pentagon", "synthetic", "hierarchical")


@dataclass(frozen=True)
class SaeSourceSection:
    type: str | None = None
    sparsity: float | None = None
    n_true: int | None = None
    d_in: int | None = None
    mean_active: float | None = None
    decay: float | None = None
    correlated: bool | None = None
    seed: int | None = None
    n_parents: int | None = None
    n_children: int | None = None
    p_parent: float | list | None = None
    p_child: float | list | None = None
    magnitudes: str | None = None
    orthogonal: bool | None = None


SOURCE_KEYS = {"pentagon": {"type", "sparsity"},
               "synthetic": {"type", "n_true", "d_in", "mean_active", "decay", "correlated", "seed"},
               "hierarchical": {"type", "n_parents", "n_children", "d_in", "p_parent", "p_child", "magnitudes",
                                "orthogonal", "seed"}}


def make_source(settings: dict):
    """The activation source a sweep's ``[source]`` table describes (``settings`` as
    :meth:`tms.runs.kinds.sae.SaeSpec.resolved` records them)."""
    s = dict(settings)
    kind = s.pop("type")
    if kind == "pentagon":
        return toy_model_source(pentagon(), s.get("sparsity", 0.9))
    if kind == "hierarchical":
        return hierarchical_source(**s)
    return synthetic_source(**s)


def source_settings(src: SaeSourceSection, where: str) -> dict:
    """The ``[source]`` table's type and given keys; a :class:`SpecError` for an unknown type or a key that does
    not apply to it (the values are checked when :func:`make_source` builds the source)."""
    kind = src.type or "synthetic"
    if kind not in SOURCE_TYPES:
        raise SpecError(f"{where}: source.type must be one of {SOURCE_TYPES}; got {kind!r}")
    extra = set(given(src)) - SOURCE_KEYS[kind]
    if extra:
        raise SpecError(f"{where}: source.{min(extra)} does not apply to source.type = {kind!r} "
                        f"(allowed: {', '.join(sorted(SOURCE_KEYS[kind]))})")
    return {"type": kind, **{k: v for k, v in given(src).items() if k != "type"}}
