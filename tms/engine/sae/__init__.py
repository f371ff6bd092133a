"""Sparse autoencoders trained many at a time on activations whose true features are known.

:mod:`.registry` (the architecture record and registry), :mod:`.architectures` (relu+L1, topk, batchtopk,
jumprelu, gated), :mod:`.config` (static settings, traced hyperparameters, init), :mod:`.sources` (activation
sources with ground truth), :mod:`.hierarchy` (parents with mutually exclusive children), :mod:`.resample`
(dead-latent resampling), :mod:`.train` (``jit(vmap(train))``).
"""

from . import architectures  # noqa: F401  (registers the built-in architectures)
from .config import DECODER_MODES, RESAMPLE_MODES, SaeConfig, SaeHparams, init_sae, sae_hparams
from .hierarchy import hierarchical_source, parent_index, source_parents
from .registry import ARCHITECTURES, SaeArch, SaeError, decode, get_arch, pre_acts, register
from .sources import ActivationSource, pentagon, synthetic_source, toy_model_source
from .train import METRICS, SaeGrid, SaeTrainOutput, encode_many, make_sae_train, train_sae_sizes, train_saes

__all__ = [
    "ARCHITECTURES", "DECODER_MODES", "METRICS", "RESAMPLE_MODES", "ActivationSource", "SaeArch", "SaeConfig",
    "SaeError", "SaeGrid", "SaeHparams", "SaeTrainOutput", "decode", "encode_many", "get_arch",
    "hierarchical_source", "init_sae", "make_sae_train", "parent_index", "pentagon", "pre_acts", "register",
    "sae_hparams", "source_parents", "synthetic_source", "toy_model_source", "train_sae_sizes", "train_saes",
]
