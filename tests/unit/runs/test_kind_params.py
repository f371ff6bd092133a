"""Model kinds whose parameters are not (W, b) sweep through the shared pipeline: the store saves each kind's
own parameters (names and shapes as the kind declares them), loads them back and resumes; bad model input is
refused with a named error before anything compiles."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sweep_helpers import assert_same_store, tiny_kind, write

from tms.cli.main import main
from tms.engine.config import StaticConfig
from tms.engine.kinds import ModelKind, get_kind, register_kind, unregister_kind
from tms.errors import TmsError
from tms.runs.grid import check_storable
from tms.runs.spec import load_spec
from tms.runs.store import load, run_sweep

PARAMS = {"abs": {"W1": (2, 3), "W2": (3, 2), "b": (3,)},  # n = 3, m = 2, written out by hand
          "relu_hidden_bias": {"W": (2, 3), "b_hidden": (2,), "b": (3,)}}


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_kind_sweeps_saves_loads_and_resumes_with_its_own_parameters(tmp_path, kind):
    path = write(tmp_path, tiny_kind(kind))
    assert main(["sweep", "run", str(path), "--out", str(tmp_path / "full")]) == 0
    res = load(tmp_path / "full")
    assert res.param_names == tuple(PARAMS[kind]) == tuple(get_kind(kind).param_shapes(3, 2))
    lead = (2, 1, 1, 1)  # (S, I, L, K)
    for name, shape in PARAMS[kind].items():
        assert res.arrays[name].shape == (*lead, *shape) and res.arrays[name].dtype == np.float32
        snaps = res.arrays[f"snapshots_{name}"]
        assert snaps.shape == (*lead, 2, *shape)
        np.testing.assert_array_equal(snaps[..., -1, *(slice(None),) * len(shape)], res.arrays[name])  # step 20
    # the step-0 snapshot is the kind's own initialisation of the kept restart: each name holds its parameter
    # (to float32 rounding: the same draws, computed eagerly here and inside the compiled training there)
    init_key = jax.random.split(jax.random.PRNGKey(0), 3)[0]
    inits = jax.vmap(lambda k: get_kind(kind).init(k, 3, 2))(jax.random.split(init_key, 2))
    for s in range(2):
        r = int(res.best_restart[s, 0, 0, 0])
        for name in PARAMS[kind]:
            np.testing.assert_allclose(res.arrays[f"snapshots_{name}"][s, 0, 0, 0, 0], getattr(inits, name)[r],
                                       rtol=1e-6, atol=1e-7)
    assert not res.nonfinite.any()
    # interrupted after one chunk and resumed: the same store as the uninterrupted run
    spec = load_spec(path)
    assert run_sweep(spec, tmp_path / "part", progress=False, stop_after=1) is None
    run_sweep(spec, tmp_path / "part", progress=False)
    assert_same_store(tmp_path / "part", tmp_path / "full")
    assert main(["plot", str(tmp_path / "full")]) == 0  # the kind's neuron figure (abs has no W for the others)
    assert (tmp_path / "full" / "figures" / "neurons.png").is_file()


@pytest.mark.parametrize("edit,match", [
    (("n_hidden = 2", "n_hidden = 0"), r"n_hidden must be an integer >= 1"),
    (('"abs"', '"absolute"'), r"kind must be one of \(.*'abs'.*\); got 'absolute'"),
])
def test_bad_model_input_is_a_named_error_before_training(tmp_path, capsys, edit, match):
    path = write(tmp_path, tiny_kind("abs").replace(*edit), "bad.toml")
    assert main(["sweep", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "Traceback" not in err
    assert pytest.importorskip("re").search(match, err), err
    assert not (tmp_path / "out").exists()


class Clash(NamedTuple):
    W: jax.Array
    final_loss: jax.Array


def test_a_kind_whose_parameter_names_clash_with_the_store_is_refused():
    kind = ModelKind(name="clash_for_test", summary="x",
                     init=lambda key, n, m: Clash(jnp.zeros((m, n)), jnp.zeros((n,))),
                     forward=lambda p, x: p.W.T @ (p.W @ x) + p.final_loss)
    register_kind(kind)
    try:
        with pytest.raises(TmsError, match=r"model.kind: model kind 'clash_for_test' names parameters "
                                           r"\['final_loss'\]"):
            check_storable(StaticConfig(n_features=3, n_hidden=2, kind="clash_for_test"), "model.kind")
    finally:
        unregister_kind("clash_for_test")
