import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

# Strictness: silent broadcasting between arrays of different rank is an error in tests.
jax.config.update("jax_numpy_rank_promotion", "raise")
