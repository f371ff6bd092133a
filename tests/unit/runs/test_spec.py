"""Sweep files (TOML): expansion into a grid, errors that name the file, key and range."""

import numpy as np
import pytest
from sweep_helpers import TINY, write

from tms.runs.spec import SpecError, load_spec


def test_spec_expansion(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    np.testing.assert_allclose(spec.grid.sparsity, 1 - np.geomspace(1, 0.05, 5), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(spec.grid.importance[1], 0.7 ** np.arange(4))
    np.testing.assert_allclose(spec.grid.importance_params["importance_decay"], [0.9, 0.7])
    assert spec.grid.shape == (5, 2, 1, 2) and spec.n_chunks == 4 and spec.static.restarts == 2


def test_init_scale_in_the_model_table(tmp_path):
    spec = load_spec(write(tmp_path, TINY.replace("n_hidden = 2", "n_hidden = 2\ninit_scale = 0.18")))
    assert spec.static.init_scale == 0.18 and spec.resolved()["static"]["init_scale"] == 0.18
    assert "init_scale" not in load_spec(write(tmp_path, TINY, "plain.toml")).resolved()["static"]


@pytest.mark.parametrize("edit,match", [
    (("[train]", "[train]\nstpes = 10"), r"unknown key 'train.stpes'.*allowed.*steps"),
    (("[model]", "[model]\nkind = 'gelu'"), r"kind must be one of"),
    (("n_hidden = 2", "n_hidden = 0"), r"n_hidden must be an integer >= 1"),
    (("n_hidden = 2", "n_hidden = 2.5"), r"'model.n_hidden' must be integer"),
    (("density = { log = [1.0, 0.05], num = 5 }", "sparsity = [0.2, 1.2]"), r"sparsity must lie in \[0, 1\)"),
    (("density = { log = [1.0, 0.05], num = 5 }", "density = { log = [1.0, 0.05] }"), r"data.density.*num"),
    (("importance = { decay = [0.9, 0.7] }", "importance = { power = 2 }"), r"data.importance.*exactly one"),
    (("importance = { decay = [0.9, 0.7] }", "importance = { values = [1, 1, -1, 1] }"), r">= 0"),
    (("[run]", "[runn]"), r"unknown key 'runn'"),
    (("chunk_size = 3", "chunk_size = 0"), r"chunk_size must be >= 1"),
    (("n_hidden = 2", "n_hidden = 2\ninit_scale = 0"), r"init_scale must be a number > 0"),
    (("n_hidden = 2", "n_hidden = 2\ninit_scale = 'small'"), r"init_scale"),
])
def test_bad_spec_names_file_key_and_range(tmp_path, edit, match):
    p = write(tmp_path, TINY.replace(*edit), "bad.toml")
    with pytest.raises(SpecError, match=match) as e:
        load_spec(p)
    assert "bad.toml" in str(e.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.toml: no such file"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(write(tmp_path, "name = [", "broken.toml"))

