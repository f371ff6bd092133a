"""One error path: every bad input or file is a TmsError, the CLI prints one line naming it (exit 2), a bug keeps
its traceback, --debug shows every traceback; seeds are accepted only where their random keys are distinct."""

import jax
import numpy as np
import pytest
from safety_helpers import TINY_SWEEP, TINY_TRAIN

from tms.cli import main
from tms.engine.finite import DataTooLargeError
from tms.errors import MAX_SEED, CorruptFileError, MissingFileError, RefusedOverwriteError, TmsError, check_seeds
from tms.runs.backends import BackendError
from tms.runs.grid import Grid, seed_keys
from tms.runs.spec import SpecError, parse_spec


def test_every_error_class_of_the_lab_is_a_tms_error():
    for cls in (SpecError, BackendError, DataTooLargeError, CorruptFileError, MissingFileError, RefusedOverwriteError):
        assert issubclass(cls, TmsError) and issubclass(cls, ValueError)
    assert issubclass(MissingFileError, FileNotFoundError) and issubclass(RefusedOverwriteError, FileExistsError)


def test_seeds_at_the_boundary_give_distinct_keys_and_beyond_it_are_refused():
    keys = np.asarray(seed_keys([0, 1, MAX_SEED - 1, MAX_SEED]))
    assert len({tuple(k) for k in keys}) == 4  # four seeds, four keys
    # the reason for the bound: one past it, the key derivation wraps around to seed 0's key
    np.testing.assert_array_equal(jax.random.PRNGKey(MAX_SEED + 1), jax.random.PRNGKey(0))
    assert check_seeds([MAX_SEED]) == (MAX_SEED,)
    for bad in (MAX_SEED + 1, 2**40, -1, 1.5, True, "3"):
        with pytest.raises(TmsError, match="seed"):
            check_seeds([0, bad], "train.seeds")
    with pytest.raises(TmsError, match="distinct"):
        check_seeds([2, 2])
    with pytest.raises(TmsError, match=r"2\*\*32"):
        Grid.make(3, sparsity=0.0, seeds=[2**32])
    spec = parse_spec({"model": {"n_features": 3}, "train": {"seeds": [MAX_SEED]}}, "s.toml")
    assert spec.grid.seeds.tolist() == [MAX_SEED]
    with pytest.raises(SpecError, match=r"s.toml: train.seeds.*4294967296"):
        parse_spec({"model": {"n_features": 3}, "train": {"seeds": [2**32]}}, "s.toml")
    finite = {"model": {"n_features": 3}, "data": {"train_sizes": [2, 4]}, "train": {"seeds": [0, 2**32]}}
    with pytest.raises(SpecError, match=r"s.toml: train.seeds"):
        parse_spec(finite, "s.toml")


def test_cli_seed_out_of_range_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main([*TINY_TRAIN, "--seeds", str(2**32), "--out", str(tmp_path / "r")])
    assert e.value.code == 2 and "--seeds" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_cli_one_line_for_lab_errors_traceback_for_bugs_and_with_debug(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY_SWEEP.replace("[run]", "[run]\nspeed = 3"))
    assert main(["sweep", "run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.toml" in err and "run.speed" in err and "chunk_size" in err
    with pytest.raises(SpecError):
        main(["--debug", "sweep", "run", str(bad), "--out", str(tmp_path / "o")])
    from tms.cli import sweep as cli_sweep

    def bug(a):
        raise KeyError("a bug")
    monkeypatch.setattr(cli_sweep, "cmd_sweep_show", bug)
    monkeypatch.setattr(cli_sweep, "cmd_sweep_list", bug)
    parser_funcs = main.__globals__["build_parser"]().parse_args(["sweep", "list"])
    assert parser_funcs.func is bug  # the parser picks up the patched command
    with pytest.raises(KeyError):
        main(["sweep", "list"])
    assert not (tmp_path / "o").exists()
