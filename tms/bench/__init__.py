"""Benchmark scripts: side-by-side figures from one invocation (never timed asserts).

``python -m tms.bench`` (:mod:`.toy`): the toy-model trainer against a PyTorch reference, interleaved
(``--sizes`` for five model sizes). ``python -m tms.bench.challenge``: challenge-transformer training, JAX
against PyTorch. ``python -m tms.bench.llc``: LLC estimation by SGLD against devinterp 2.0.1. ``python -m tms.bench finite`` (or ``python -m tms.bench.finite``, :mod:`.finite`): the
finite-data training step, dense against sparse data, at the reproduce and the paper size.
``python -m tms.bench.kinds`` (:mod:`.kinds`): a model kind's fast path against the
registry's generic ``jax.grad`` path. :mod:`.common`: interleaved timing, medians and ratios, the CPU's estimated peak.
See docs/performance.md for what they print on the project's 2-core machine.
"""
