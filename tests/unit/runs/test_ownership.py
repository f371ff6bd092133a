"""Ownership and loading checks: the lab writes, replaces and clears only what it wrote; a corrupt, truncated or
edited results folder is reported by path with what to do. Each case checks that nothing outside the lab's own
files changed (a checksummed listing before and after)."""

import json

import numpy as np
import pytest
from safety_helpers import TINY_SWEEP, TINY_TRAIN, foreign_files, listing, truncate

from tms.cli import main
from tms.errors import CorruptFileError, RefusedOverwriteError
from tms.runs.ownership import MARKER, SCHEMA
from tms.runs.results import Results
from tms.runs.spec import parse_spec
from tms.runs.store import load, run_sweep


def spec(text=TINY_SWEEP):
    import tomllib

    return parse_spec(tomllib.loads(text), "tiny.toml", text)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny sweep folder (copy it before changing it)."""
    out = tmp_path_factory.mktemp("sweep") / "s"
    run_sweep(spec(), out, progress=False)
    return out


def copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_sweep_overwrite_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    sweep = tmp_path / "tiny.toml"
    sweep.write_text(TINY_SWEEP)
    mine = foreign_files(tmp_path / "mine")
    before = listing(tmp_path / "mine")
    assert main(["sweep", "run", str(sweep), "--out", str(tmp_path / "mine"), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "mine") in err and "thesis.tex" in err and "did not write" in err
    assert listing(tmp_path / "mine") == before and mine
    # --out . --overwrite in a folder of one's own: refused, nothing touched
    import os

    here = os.getcwd()
    os.chdir(tmp_path / "mine")
    try:
        assert main(["sweep", "run", str(sweep), "--out", ".", "--overwrite"]) == 2
    finally:
        os.chdir(here)
    assert listing(tmp_path / "mine") == before


def test_overwrite_of_the_labs_folder_keeps_the_users_files(tmp_path, finished):
    out = copy(finished, tmp_path / "s")
    mine = foreign_files(out)
    other = TINY_SWEEP.replace("steps = 10", "steps = 12")
    with pytest.raises(RefusedOverwriteError, match="different sweep"):
        run_sweep(spec(other), out, progress=False)
    res = run_sweep(spec(other), out, overwrite=True, progress=False)
    assert res.static.steps == 12 and load(out).static.steps == 12
    after = listing(out)
    assert {k: after[k] for k in mine} == mine  # the user's files survived, unchanged
    assert json.loads((out / MARKER).read_text()) == {"written_by": "tms", "kind": "sweep", "schema": SCHEMA}


def test_train_out_refuses_existing_results_and_files(tmp_path, capsys, finished):
    out = tmp_path / "r"
    assert main([*TINY_TRAIN, "--out", str(out)]) == 0
    before = listing(out)
    assert main([*TINY_TRAIN, "--seeds", "1", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and listing(out) == before
    sweep = copy(finished, tmp_path / "s")
    before = listing(sweep)
    assert main([*TINY_TRAIN, "--out", str(sweep)]) == 2  # into a sweep folder: refused too
    assert listing(sweep) == before
    mine = foreign_files(out)
    assert main([*TINY_TRAIN, "--seeds", "1", "--out", str(out), "--overwrite"]) == 0
    assert load(out).grid.seeds.tolist() == [1]
    after = listing(out)
    assert {k: after[k] for k in mine} == mine
    (tmp_path / "file").write_text("x")
    capsys.readouterr()
    assert main([*TINY_TRAIN, "--out", str(tmp_path / "file")]) == 2
    assert "file" in capsys.readouterr().err and (tmp_path / "file").read_text() == "x"
    sweep_file = tmp_path / "tiny.toml"
    sweep_file.write_text(TINY_SWEEP)
    assert main(["sweep", "run", str(sweep_file), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err and (tmp_path / "file").read_text() == "x"


def test_truncated_arrays_are_named_with_what_to_do(tmp_path, capsys, finished):
    out = copy(finished, tmp_path / "s")
    truncate(out / "arrays.npz")
    before = listing(out)
    for command in (["sweep", "show", str(out)], ["plot", str(out)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "arrays.npz" in err and "truncated" in err and "tms sweep run" in err
    assert listing(out) == before
    (out / "arrays.npz").unlink()  # what the message says: delete it and run the same sweep again
    res = run_sweep(spec(), out, progress=False)
    np.testing.assert_array_equal(res.W, load(finished).W)


def test_truncated_chunk_is_named_and_only_that_chunk_is_retrained(tmp_path, finished, monkeypatch):
    out = copy(finished, tmp_path / "s")
    (out / "arrays.npz").unlink()  # an interrupted sweep: chunks only
    truncate(out / "chunks" / "00001.npz")
    with pytest.raises(CorruptFileError, match=r"chunks/00001.npz.*delete this chunk.*only chunk 1 is retrained"):
        run_sweep(spec(), out, progress=False)
    (out / "chunks" / "00001.npz").unlink()
    from tms.runs import store

    written = []
    real = store.write_chunk
    monkeypatch.setattr(store, "write_chunk", lambda o, cid, arrays: (written.append(cid), real(o, cid, arrays)))
    res = run_sweep(spec(), out, progress=False)
    assert written == [1]
    np.testing.assert_array_equal(res.W, load(finished).W)


@pytest.mark.parametrize("edit, key", [
    (lambda c: c["static"].update(n_features=4), "static.n_features"),
    (lambda c: c["grid"].update(sparsity=c["grid"]["sparsity"][::-1]), "grid.sparsity"),
    (lambda c: c["static"].update(colour="red"), "static.colour"),
])
def test_an_edited_config_is_refused_by_key(tmp_path, capsys, finished, edit, key):
    out = copy(finished, tmp_path / "s")
    cfg = json.loads((out / "config.json").read_text())
    edit(cfg)
    (out / "config.json").write_text(json.dumps(cfg))
    before = listing(out)
    with pytest.raises(CorruptFileError, match=key):
        Results.load(out)
    assert main(["sweep", "show", str(out)]) == 2 and key in capsys.readouterr().err
    assert listing(out) == before


def test_config_checked_against_array_shapes_without_the_record(tmp_path, finished):
    """A folder written before arrays.npz recorded its config: the shapes still catch an edited size."""
    out = copy(finished, tmp_path / "s")
    with np.load(out / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "__config__"}
    np.savez(out / "arrays.npz", **arrays)
    assert Results.load(out).static.n_features == 3
    cfg = json.loads((out / "config.json").read_text())
    cfg["static"]["n_features"] = 4
    (out / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CorruptFileError, match=r"arrays.npz: W has shape .* config.json says"):
        Results.load(out)


def test_a_newer_schema_is_refused(tmp_path, finished):
    out = copy(finished, tmp_path / "s")
    (out / MARKER).write_text(json.dumps({"written_by": "tms", "kind": "sweep", "schema": SCHEMA + 1}))
    with pytest.raises(CorruptFileError, match=rf"{MARKER}.*schema {SCHEMA + 1}.*newer tms"):
        load(out)


def test_figures_replaced_only_with_a_word_in_the_log(tmp_path, capsys):
    import matplotlib.pyplot as plt

    from tms.io import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = save_figure(fig, tmp_path / "f.png")
    stamp = path.stat().st_mtime_ns
    save_figure(fig, path)  # same bytes: left untouched, nothing said
    assert path.stat().st_mtime_ns == stamp and "replaced" not in capsys.readouterr().err
    ax.plot([1, 0])
    save_figure(fig, path)
    assert f"replaced {path}" in capsys.readouterr().err
    plt.close(fig)


def test_reproduce_quick_replaces_only_what_it_wrote(tmp_path, monkeypatch, finished):
    """`tms reproduce --quick` reruns its quick sweeps with overwrite: the user's files in runs/quick/NAME stay,
    and a quick folder that tms did not write is refused."""
    import importlib

    R = importlib.import_module("tms.experiments.reproduce")  # the module (the package exports its function)

    monkeypatch.setattr(R, "shipped_spec", lambda name: spec(TINY_SWEEP.replace("steps = 10", "steps = 50")))
    quick = tmp_path / "runs" / "quick" / "tiny"
    copy(finished, quick)  # an earlier quick run's folder (other settings), with the user's notes in it
    mine = foreign_files(quick)
    res = R.run_named_sweep("tiny", tmp_path / "runs", quick=True, progress=False)
    assert res.static.steps == 50  # R.quick_spec keeps at least 50 steps
    after = listing(quick)
    assert {k: after[k] for k in mine} == mine
    theirs = foreign_files(tmp_path / "runs" / "quick" / "other")
    with pytest.raises(RefusedOverwriteError, match="did not write"):
        R.run_named_sweep("other", tmp_path / "runs", quick=True, progress=False)
    assert listing(tmp_path / "runs" / "quick" / "other") == theirs
