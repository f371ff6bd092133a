"""The sweep-kind registry: kinds named in sweep files (explicit, implicit, unknown), results that record their
kind, and the docs' "add a sweep kind" walk-through run for real."""

import re
from pathlib import Path

import jax
import numpy as np
import pytest
from sweep_helpers import TINY, write

from tms.engine.config import StaticConfig, hparams
from tms.engine.train import make_train
from tms.errors import TmsError
from tms.runs import kinds
from tms.runs.kinds import FiniteSpec, SweepSpec, UnknownSweepKind
from tms.runs.spec import SpecError, load_spec
from tms.runs.store import load, run_sweep, show

DOCS = Path(__file__).resolve().parents[4] / "docs" / "architecture.md"
TINY_FINITE = """
name = "f"
[model]
n_features = 6
n_hidden = 2
[data]
train_sizes = [3, 7]
test_size = 32
[train]
steps = 10
warmup_steps = 2
"""


def test_builtin_kinds_in_order():
    assert tuple(kinds.SWEEP_KINDS)[:2] == ("grid", "finite")
    with pytest.raises(TmsError, match="built in"):
        kinds.unregister_sweep_kind("grid")
    with pytest.raises(TmsError, match="already registered"):
        kinds.register_sweep_kind(kinds.SweepKind(**{**kinds.GRID.__dict__, "axes": ()}))


def test_explicit_and_implicit_kinds_parse_alike(tmp_path):
    implicit_grid, explicit_grid = (load_spec(write(tmp_path, t, f"g{i}.toml"))
                                    for i, t in enumerate((TINY, 'kind = "grid"\n' + TINY)))
    assert isinstance(implicit_grid, SweepSpec) and implicit_grid.resolved() == explicit_grid.resolved()
    implicit_finite, explicit_finite = (load_spec(write(tmp_path, t, f"f{i}.toml"))
                                        for i, t in enumerate((TINY_FINITE, 'kind = "finite"\n' + TINY_FINITE)))
    assert isinstance(explicit_finite, FiniteSpec) and implicit_finite.resolved() == explicit_finite.resolved()


def test_unknown_or_mismatched_kind_names_the_file_and_the_known_kinds(tmp_path):
    with pytest.raises(UnknownSweepKind, match=r"bad\.toml: kind: unknown sweep kind 'nope'; known kinds: grid, finite"):
        load_spec(write(tmp_path, 'kind = "nope"\n' + TINY, "bad.toml"))
    with pytest.raises(SpecError, match=r"bad\.toml: 'kind' must be a string"):
        load_spec(write(tmp_path, "kind = 3\n" + TINY, "bad.toml"))
    # a grid file that says it is a finite sweep: the finite kind's sections refuse its keys by name
    with pytest.raises(SpecError, match=r"bad\.toml: unknown key 'record'"):
        load_spec(write(tmp_path, 'kind = "finite"\n' + TINY.replace("[run]\nchunk_size = 3\n", "[record]\n"),
                        "bad.toml"))
    with pytest.raises(SpecError, match=r"data\.train_sizes is required"):
        load_spec(write(tmp_path, 'kind = "finite"\n[data]\nsparsity = 0.9\n', "bad.toml"))


def test_results_record_their_kind_and_load_dispatches_on_it(tmp_path):
    res = run_sweep(load_spec(write(tmp_path, TINY_FINITE)), tmp_path / "f", progress=False)
    cfg = (tmp_path / "f" / "config.json").read_text()
    assert '"kind": "finite"' in cfg and res.kind == "finite" and load(tmp_path / "f").kind == "finite"


def walkthrough() -> tuple[str, str]:
    """The Python and TOML blocks of the docs' "Add a sweep kind" section."""
    text = DOCS.read_text()
    section = text[text.index("## Add a sweep kind"):]
    return (re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1),
            re.search(r"```toml\n(.*?)```", section, re.DOTALL).group(1))


@pytest.fixture
def spread_kind():
    """Run the docs' walk-through (it registers ``seed_spread``); unregister afterwards."""
    namespace: dict = {}
    exec(compile(walkthrough()[0], str(DOCS), "exec"), namespace)  # noqa: S102 - our own docs
    yield namespace
    kinds.unregister_sweep_kind("seed_spread")


def test_the_docs_walkthrough_registers_a_kind_that_runs_resumes_and_loads(tmp_path, spread_kind):
    spec = load_spec(write(tmp_path, walkthrough()[1], "spread.toml"))
    assert type(spec).__name__ == "SpreadSpec" and spec.seeds == (0, 1, 2)
    # interrupted after one chunk, then resumed: equal to training each seed directly
    assert run_sweep(spec, tmp_path / "out", progress=False, stop_after=1) is None
    assert len(list((tmp_path / "out" / "chunks").glob("*.npz"))) == 1
    res = run_sweep(spec, tmp_path / "out", progress=False)
    static = StaticConfig(n_features=5, n_hidden=2, steps=200, batch_size=256, eval_batch=1024)
    for k in range(3):
        direct = jax.jit(make_train(static))(hparams(static, sparsity=0.9), jax.random.PRNGKey(k))
        np.testing.assert_array_equal(res.W[k], np.asarray(direct.params.W))
        np.testing.assert_array_equal(res.loss[k], np.asarray(direct.final_loss))
    loaded = load(tmp_path / "out")
    assert isinstance(loaded, spread_kind["SpreadResults"]) and loaded.seeds == (0, 1, 2)
    np.testing.assert_array_equal(loaded.loss, res.loss)
    assert show(tmp_path / "out").splitlines()[0].endswith("seed spread, n=5, m=2, S=0.9")
