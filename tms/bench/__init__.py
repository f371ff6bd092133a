"""Benchmark scripts: side-by-side figures from one invocation (never timed asserts).

``python -m tms.bench`` (:mod:`.toy`): the toy-model trainer against a PyTorch reference.
``python -m tms.bench.challenge``: challenge-transformer training, JAX against PyTorch.
"""
