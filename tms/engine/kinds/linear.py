"""The linear model, the paper's comparison: x' = WᵀW x + b.

Parameters (:class:`tms.engine.models.Params`): ``W: (m, n)`` Xavier-normal, ``b: (n,)`` zeros. Data: non-zero
features ~U[0, 1], target ``x``. Fast paths: the hand-unrolled instance-last step of :mod:`tms.engine.models`.
"""

from __future__ import annotations

import functools

from .. import models
from .base import ModelKind

KIND = ModelKind(
    name="linear",
    summary="W^T W x + b",
    init=models.init_params,
    forward=functools.partial(models.forward, relu=False),
    fast_step=functools.partial(models.make_fast_step, relu=False),
    fast_instance_loss=lambda p, X, imp: models.instance_loss(p.W, p.b, X, imp, False),
    fast_batch_loss=functools.partial(models.batch_loss, relu=False),
)
