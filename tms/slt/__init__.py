"""Singular learning theory on the lab's models: SGLD in JAX, local learning coefficients, free energy.

Imports :mod:`tms.engine` and :mod:`tms.analysis`; :mod:`tms.plots`, :mod:`tms.experiments` and :mod:`tms.cli`
may import it. See docs/slt.md.
"""

from .llc import LLCEstimate, estimate_llc, estimate_llc_many, llc_from_trace, sample_many
from .sampler import SGLDConfig, SGLDHparams, SGLDTrace, default_nbeta, make_sampler, sgld_hparams

__all__ = ["LLCEstimate", "SGLDConfig", "SGLDHparams", "SGLDTrace", "default_nbeta", "estimate_llc",
           "estimate_llc_many", "llc_from_trace", "make_sampler", "sample_many", "sgld_hparams"]
