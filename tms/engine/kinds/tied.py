"""The tied-weights kinds x' = act(WᵀW x + b) as registry records, built from :mod:`tms.engine.models`.

Parameters (:class:`tms.engine.models.Params`): ``W: (m, n)`` Xavier-normal, ``b: (n,)`` zeros. Data: non-zero
features ~U[0, 1], target ``x``. Fast paths: the hand-unrolled instance-last step of :mod:`tms.engine.models`.
"""

from __future__ import annotations

import functools

from .. import models
from .base import ModelKind


def tied_kind(name: str, summary: str, relu: bool) -> ModelKind:
    """The record of a tied-weights kind with (``relu=True``) or without an output ReLU, fast paths attached."""
    return ModelKind(
        name=name,
        summary=summary,
        init=models.init_params,
        forward=functools.partial(models.forward, relu=relu),
        fast_step=functools.partial(models.make_fast_step, relu=relu),
        fast_instance_loss=lambda p, X, imp: models.instance_loss(p.W, p.b, X, imp, relu),
        fast_batch_loss=functools.partial(models.batch_loss, relu=relu),
        fast_eval=functools.partial(models.make_fast_eval, relu=relu),
        fast_compiler_options=models.compiler_options,
    )
