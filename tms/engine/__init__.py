"""The training engine: pure JAX functions, no I/O, no plotting, no command line.

:mod:`.models` (the model family), :mod:`.data` (feature distributions, importance kinds, feature sets),
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
from .models import MODEL_KINDS, Params, batch_forward, batch_loss, forward, init_params
from .optim import OPTIMIZERS, SCHEDULES
from .train import TrainOutput, make_train, make_train_cells

__all__ = [
    "DEFAULT_LR", "DEFAULT_WEIGHT_DECAY", "IMPORTANCE_KINDS", "MODEL_KINDS", "OPTIMIZERS", "SCHEDULES",
    "FeatureSets", "Hparams", "Params", "StaticConfig", "TrainOutput", "batch_forward", "batch_loss", "forward",
    "hparams", "importance_constant", "importance_extra", "importance_geometric", "init_params", "make_train",
    "make_train_cells", "sample", "sparsity_from",
]
