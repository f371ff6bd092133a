"""Shared fixtures of the diagnostics tests: a small random transformer and its grid run."""

import jax
import pytest

from tms.challenge import model as M
from tms.challenge.diagnostics.grid import run_grid

SMALL = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=32)


@pytest.fixture(scope="module")
def small():
    params = M.init_params(SMALL, jax.random.PRNGKey(1))
    # larger biases so that neurons switch on and off across the grid
    params["b_in"] = 0.3 * jax.random.normal(jax.random.PRNGKey(2), (SMALL.d_mlp,))
    return params, run_grid(params)
