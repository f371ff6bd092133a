"""The model-kind registry: lookups, errors, and the docs' "add a model kind" walk-through run for real."""

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tms.engine import kinds
from tms.engine.config import StaticConfig, hparams
from tms.engine.kinds import registry
from tms.engine.train import make_train
from tms.errors import TmsError

DOCS = Path(__file__).resolve().parents[3] / "docs" / "architecture.md"


def test_builtin_kinds_are_registered_in_order():
    assert kinds.kind_names()[:2] == ("relu", "linear")
    assert kinds.get_kind("relu").name == "relu"


def test_unknown_kind_names_the_field_and_the_allowed_kinds():
    with pytest.raises(TmsError, match=r"kind must be one of \('relu', 'linear'.*got 'sigmoid'"):
        StaticConfig(kind="sigmoid")
    with pytest.raises(kinds.UnknownKindError, match=r"model\.kind must be one of .*got 3"):
        kinds.get_kind(3, field="model.kind")


def test_a_name_is_registered_once_and_builtins_stay():
    relu = kinds.get_kind("relu")
    assert kinds.register_kind(relu) is relu  # the same record again: a no-op
    with pytest.raises(TmsError, match="already registered"):
        kinds.register_kind(kinds.ModelKind(name="relu", summary="", init=relu.init, forward=relu.forward))
    with pytest.raises(TmsError, match="built in"):
        kinds.unregister_kind("relu")


def walkthrough_code() -> str:
    """The first Python block of the docs' "Add a model kind" section."""
    text = DOCS.read_text()
    section = text[text.index("## Add a model kind"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture
def tanh_kind():
    """Run the docs' walk-through (it registers ``tanh_tied``); unregister afterwards."""
    namespace: dict = {}
    exec(compile(walkthrough_code(), str(DOCS), "exec"), namespace)  # noqa: S102 - our own docs
    yield namespace["TANH_TIED"]
    registry.unregister_kind("tanh_tied")


def np_tanh_loss(W, b, X, imp):
    y = np.tanh(X @ W.T @ W + b)
    return np.mean(np.sum(imp * (X - y) ** 2, axis=1))


def test_walkthrough_kind_matches_float64_numpy(tanh_kind):
    assert kinds.get_kind("tanh_tied") is tanh_kind and tanh_kind.fast_step is None
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(2, 5)) * 0.5, rng.normal(size=5) * 0.2
    X, imp = rng.uniform(size=(16, 5)), 0.9 ** np.arange(5)
    p = kinds.get_kind("relu").init(jax.random.PRNGKey(0), 5, 2)._replace(W=jnp.asarray(W, jnp.float32),
                                                                          b=jnp.asarray(b, jnp.float32))
    got = kinds.batch_loss(p, jnp.asarray(X, jnp.float32), jnp.asarray(imp, jnp.float32), kind="tanh_tied")
    np.testing.assert_allclose(got, np_tanh_loss(W, b, X, imp), rtol=1e-5, atol=1e-7)


def test_walkthrough_kind_trains_through_the_engine(tanh_kind):
    static = StaticConfig(n_features=5, n_hidden=2, kind="tanh_tied", batch_size=256, steps=300, restarts=2,
                          eval_batch=4096)
    hp = hparams(static, sparsity=0.0, importance=0.9 ** np.arange(5), lr=1e-2)
    out = jax.jit(make_train(static))(hp, jax.random.PRNGKey(0))
    assert out.params.W.shape == (2, 5) and out.restart_losses.shape == (2,)
    # the loss went down from the initialisation's (same data, evaluated the same way)
    X = np.asarray(jax.random.uniform(jax.random.PRNGKey(1), (4096, 5)))
    p0 = kinds.get_kind("tanh_tied").init(jax.random.PRNGKey(2), 5, 2)
    start = np_tanh_loss(np.asarray(p0.W, np.float64), np.asarray(p0.b, np.float64), X, 0.9 ** np.arange(5))
    end = np_tanh_loss(np.asarray(out.params.W, np.float64), np.asarray(out.params.b, np.float64), X,
                       0.9 ** np.arange(5))
    assert end < 0.5 * start
    np.testing.assert_allclose(out.final_loss, end, rtol=0.05)


def test_walkthrough_kind_runs_as_a_sweep_file(tanh_kind, tmp_path):
    from tms.runs import load, load_spec, run_sweep

    path = tmp_path / "tanh.toml"
    path.write_text('name = "tanh"\n[model]\nn_features = 4\nn_hidden = 2\nkind = "tanh_tied"\n'
                    '[data]\ndensity = [1.0, 0.1]\n[train]\nsteps = 40\nbatch_size = 64\neval_batch = 256\n')
    spec = load_spec(path)
    assert spec.static.kind == "tanh_tied"
    run_sweep(spec, tmp_path / "out", progress=False)
    res = load(tmp_path / "out")
    assert res.static.kind == "tanh_tied" and res.W.shape[-2:] == (2, 4)
    assert np.all(np.isfinite(res.final_loss))


def test_every_registered_kind_is_a_sweep_file_kind_and_the_store_holds_its_parameters(tmp_path):
    """Each built-in kind parses in a sweep file; what the store keeps per model is the kind's own parameters,
    their snapshots and the losses (tests/unit/runs/test_kind_params.py trains two of them end to end)."""
    from tms.engine.kinds import kind_names
    from tms.runs import load_spec
    from tms.runs.grid import stored_shapes

    for name in kind_names():
        path = tmp_path / f"{name}.toml"
        path.write_text(f'[model]\nn_features = 3\nn_hidden = 2\nkind = "{name}"\n[record]\nsnapshots = 2\n')
        static = load_spec(path).static
        params = kinds.get_kind(name).param_shapes(3, 2)
        assert stored_shapes(static) == {**params, "final_loss": (), "restart_losses": (1,), "best_restart": (),
                                         "loss_curve": (0,), **{f"snapshots_{p}": (2, *v) for p, v in params.items()}}
    assert kinds.get_kind("abs").param_shapes(3, 2) == {"W1": (2, 3), "W2": (3, 2), "b": (3,)}
