"""Fuzzing the lab's inputs: random values in a sweep file, random damage to a results folder. Every outcome is
a named error (a TmsError whose message names the key or the file) or a correct result; never a traceback of
another kind, never a deleted or changed file that the lab did not write. Small and bounded, so that it runs in
the default suite in a few seconds (one tiny sweep trained once, compiled functions reused)."""

import math
import shutil
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safety_helpers import TINY_SWEEP, foreign_files, listing

from tms.errors import TmsError
from tms.runs.spec import parse_spec
from tms.runs.store import load, run_sweep, show

KEYS = [("model", "n_features"), ("model", "n_hidden"), ("model", "kind"), ("data", "sparsity"),
        ("data", "density"), ("data", "importance"), ("data", "correlated"), ("data", "train_sizes"),
        ("train", "lr"), ("train", "seeds"), ("train", "n_seeds"), ("train", "steps"), ("train", "warmup_steps"),
        ("train", "restarts"), ("train", "weight_decay"), ("record", "log_every"), ("run", "chunk_size"),
        ("run", "colour")]
scalars = st.one_of(st.integers(-3, 2**33), st.sampled_from([2**32 - 1, 2**32, 2**64]), st.floats(allow_nan=True),
                    st.booleans(), st.text(max_size=4))
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.lists(st.lists(scalars, max_size=3), max_size=3),
                   st.dictionaries(st.sampled_from(["lin", "log", "num", "decay", "values", "x"]), scalars,
                                   max_size=3))
FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def small(doc) -> bool:
    """Keep parsing cheap: refuse-or-parse only sizes a tiny machine could hold (the fuzz is about types)."""
    m = doc.get("model", {})
    return all(not isinstance(m.get(k), int) or m.get(k) < 64 for k in ("n_features", "n_hidden")) and not (
        isinstance(doc.get("train", {}).get("n_seeds"), int) and doc["train"]["n_seeds"] > 64)


@FAST
@given(st.lists(st.tuples(st.sampled_from(KEYS), values), min_size=1, max_size=3))
def test_sweep_file_values_give_a_named_error_or_what_was_written(edits):
    doc = tomllib.loads(TINY_SWEEP)
    for (table, key), value in edits:
        doc.setdefault(table, {})[key] = value
    if not small(doc):
        return
    try:
        spec = parse_spec(doc, "fuzz.toml")
    except TmsError as e:
        assert "fuzz.toml" in str(e)
        return
    written = {key: value for (table, key), value in edits}
    if isinstance(written.get("seeds"), list):
        assert list(spec.grid.seeds) == written["seeds"]
    if isinstance(written.get("sparsity"), list) and "density" not in written and "train_sizes" not in written:
        np.testing.assert_array_equal(spec.grid.sparsity, written["sparsity"])
    if isinstance(written.get("train_sizes"), list):
        assert list(spec.grid.train_sizes) == written["train_sizes"]


@pytest.fixture(scope="module")
def finished():
    with tempfile.TemporaryDirectory() as d:
        spec = parse_spec(tomllib.loads(TINY_SWEEP), "tiny.toml", TINY_SWEEP)
        run_sweep(spec, Path(d) / "s", progress=False)
        yield spec, Path(d) / "s", load(Path(d) / "s")


FILES = ["config.json", "arrays.npz", "table.csv", "resolved.json", "spec.toml", "tms-folder.json",
         "chunks/00000.npz", "chunks/00001.npz"]
damage = st.tuples(st.sampled_from(FILES), st.sampled_from(["truncate", "flip", "delete", "json"]),
                   st.floats(0, 1), st.integers(0, 2**16))


def apply(folder: Path, name: str, how: str, frac: float, salt: int):
    path = folder / name
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: int(len(data) * frac)])
    elif how == "flip" and data:
        i = int(frac * (len(data) - 1))
        path.write_bytes(data[:i] + bytes([data[i] ^ (1 + salt % 255)]) + data[i + 1:])
    elif how == "delete":
        path.unlink()
    elif how == "json" and name.endswith(".json"):
        import json

        try:
            doc = json.loads(data)
        except ValueError:
            return
        if not isinstance(doc, dict) or not doc:
            return
        key = sorted(doc)[salt % len(doc)]
        doc[key] = [None, 7, "x", {"a": 1}, []][salt % 5]
        path.write_text(json.dumps(doc))


@settings(FAST, max_examples=20)
@given(st.lists(damage, min_size=1, max_size=2), st.booleans())
def test_a_damaged_results_folder_gives_a_named_error_or_the_right_result(finished, harms, overwrite):
    spec, original, res = finished
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "s"
        shutil.copytree(original, out)
        mine = foreign_files(out)
        for name, how, frac, salt in harms:
            if (out / name).exists():
                apply(out, name, how, frac, salt)
        for action in (lambda: load(out), lambda: show(out),
                       lambda: run_sweep(spec, out, progress=False, overwrite=overwrite)):
            try:
                got = action()
            except TmsError as e:
                assert str(out) in str(e) or "tiny" in str(e), str(e)
                continue
            if hasattr(got, "arrays"):  # a result: the right one, bit for bit
                for k, v in res.arrays.items():
                    assert np.array_equal(got.arrays[k], v, equal_nan=True), k
        after = listing(out)
        assert {k: after.get(k) for k in mine} == mine  # the user's files: all there, unchanged
        assert math.isfinite(len(after))
