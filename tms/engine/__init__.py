"""The training engine: pure JAX functions, no I/O, no plotting, no command line.

:mod:`.kinds` (the model kinds and their registry), :mod:`.models` (the tied-weights family and its fast paths), :mod:`.data` (feature distributions, importance kinds, feature sets),
:mod:`.config` (static config, hparams, defaults), :mod:`.optim` (optimizers and schedules), :mod:`.train`
(``make_train(static) -> train(hparams, key)``).
"""

from .config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, Hparams, StaticConfig, hparams
from .data import (
                   IMPORTANCE_KINDS,
                   FeatureSets,
                   importance_constant,
                   importance_extra,
                   importance_geometric,
                   sample,
                   sparsity_from,
)
from .kinds import ModelKind, batch_forward, batch_loss, forward, get_kind, kind_names, register_kind
from .models import Params, init_params
from .optim import OPTIMIZERS, SCHEDULES
from .train import TrainOutput, make_train, make_train_cells

__all__ = [
    "DEFAULT_LR", "DEFAULT_WEIGHT_DECAY", "IMPORTANCE_KINDS", "OPTIMIZERS", "SCHEDULES", "FeatureSets",
    "Hparams", "ModelKind", "Params", "StaticConfig", "TrainOutput", "batch_forward", "batch_loss", "forward",
    "get_kind", "hparams", "importance_constant", "importance_extra", "importance_geometric", "init_params",
    "kind_names", "make_train", "make_train_cells", "register_kind", "sample", "sparsity_from",
]
