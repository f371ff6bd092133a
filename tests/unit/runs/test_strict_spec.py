"""Strict parsing: values are taken as written or refused with the reason and the key; no traceback."""

import tomllib

import numpy as np
import pytest
from safety_helpers import TINY_SWEEP, TINY_TRAIN, listing

from tms.cli import main
from tms.engine.config import StaticConfig
from tms.errors import TmsError
from tms.runs.pipeline import train_grid
from tms.runs.spec import SpecError, parse_spec

FINITE = """
[model]
n_features = 3
n_hidden = 2
[data]
sparsity = 0.5
train_sizes = [3, 7]
test_size = 64
[train]
steps = 10
warmup_steps = 2
"""


def parse(text):
    return parse_spec(tomllib.loads(text), "s.toml", text)


@pytest.mark.parametrize("sizes, reason", [("[7, 3]", "ascending order"), ("[3.5, 7]", "integers"),
                                           ("[3, 3]", "distinct"), ('[3, "x"]', "integers")])
def test_finite_train_sizes_are_never_sorted_or_rounded(sizes, reason):
    with pytest.raises(SpecError, match=rf"s.toml: data.train_sizes.*{reason}"):
        parse(FINITE.replace("[3, 7]", sizes))
    assert parse(FINITE).grid.train_sizes == (3, 7)


@pytest.mark.parametrize("table, text, key", [
    ("data", "correlated = [0, 1]", "data.correlated"),
    ("data", 'correlated = [[0, "one"]]', "data.correlated"),
    ("data", "anticorrelated = [[0, 1.5]]", "data.anticorrelated"),
    ("data", 'importance = { values = [1, "a", 1] }', "data.importance.values"),
    ("data", "importance = { values = [1, nan, 1] }", "data.importance.values"),
    ("train", "warmup_steps = 11", "warmup_steps"),
])
def test_bad_values_are_named(table, text, key):
    with pytest.raises(SpecError, match=rf"s.toml: .*{key}") as e:
        parse(TINY_SWEEP.replace(f"[{table}]", f"[{table}]\n{text}"))
    if "nan" in text:
        assert "got nan at index 1" in str(e.value)


def test_warmup_longer_than_training_is_refused_everywhere():
    with pytest.raises(TmsError, match=r"warmup_steps must be <= steps \(10\); got 11"):
        StaticConfig(steps=10, warmup_steps=11)
    StaticConfig(steps=10, warmup_steps=10)


def test_divergence_is_flagged_on_every_path(tmp_path, capsys):
    res = train_grid(n_features=3, n_hidden=2, steps=10, batch_size=16, eval_batch=32, lr=[1e-3, 1e6],
                     progress=False)
    assert res.diverged[0, 0].tolist() == [[False], [True]]
    assert "DIVERGED" in res.summary_lines()[1] and "DIVERGED" not in res.summary_lines()[0]
    assert main([*TINY_TRAIN, "--lr", "1e6", "--out", str(tmp_path / "r")]) == 0
    assert capsys.readouterr().out.count("DIVERGED") == 2
    assert main(["sweep", "show", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "diverged (non-finite or loss above sum(importance)): 2" in out


def test_nan_importance_is_reported_as_nan():
    with pytest.raises(TmsError, match="got nan at index 2"):
        train_grid(n_features=3, n_hidden=2, steps=10, importance=np.array([1.0, 1.0, np.nan]), progress=False)


def test_challenge_eval_on_a_non_checkpoint_names_the_file(tmp_path, capsys):
    for name, data in (("w.npz", b"not a zip at all"), ("w.pt", b"PK\x03\x04 truncated")):
        path = tmp_path / name
        path.write_bytes(data)
        before = listing(tmp_path)
        assert main(["challenge", "eval", str(path)]) == 2
        err = capsys.readouterr().err
        assert str(path) in err and err.count("\n") <= 2
        assert listing(tmp_path) == before


def test_challenge_train_and_import_keep_an_existing_weights_file(tmp_path, capsys):
    path = tmp_path / "model.npz"
    path.write_bytes(b"someone's weights")
    assert main(["challenge", "train", "--epochs", "10", "--out", str(path), "--no-progress"]) == 2
    assert "--overwrite" in capsys.readouterr().err and path.read_bytes() == b"someone's weights"
    assert main(["challenge", "import", str(tmp_path / "missing.pt"), str(path)]) == 2
    assert "--overwrite" in capsys.readouterr().err and path.read_bytes() == b"someone's weights"
