"""Experiments whose independent parts run side by side (one per JAX device: the polytope transitions' two
axes, the SLT testbed's four stages, the absorption study's grids) write what they write one after another on
one device, byte for byte. The test process has two CPU devices (conftest); "one after another" replaces the
module's ``each`` with a plain loop, so every part runs in turn on the default device."""

import json

import jax
import pandas as pd
import pytest

from tms.experiments import reproduce


def _in_turn(fn, ids, workers=None):
    for i in ids:
        yield i, fn(i)


def _files(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and not p.name.startswith("timings")}


@pytest.mark.parametrize("name, module", [
    ("polytope_transitions", "tms.experiments.geometry"),
    pytest.param("slt", "tms.experiments.slt", marks=pytest.mark.slow),  # about 40 s
])
def test_parts_side_by_side_write_what_one_after_another_writes(name, module, tmp_path, monkeypatch):
    import importlib

    assert jax.local_device_count() == 2
    reproduce(name, figures=tmp_path / "two", runs=tmp_path / "runs", quick=True, progress=False)
    monkeypatch.setattr(importlib.import_module(module), "each", _in_turn)
    reproduce(name, figures=tmp_path / "one", runs=tmp_path / "runs", quick=True, progress=False)
    two, one = _files(tmp_path / "two"), _files(tmp_path / "one")
    assert sorted(two) == sorted(one) and any(k.endswith(".png") for k in two)
    for k in two:
        assert two[k] == one[k], k
    assert json.loads(two["summary-quick.json"])[name]  # the numbers were written, and are equal (above)


def test_absorption_grids_side_by_side_equal_one_after_another(monkeypatch):
    from tms.experiments import sae_absorption

    kw = dict(steps=40, seeds=(0,), progress=False)
    two = sae_absorption.absorption_study(**kw)
    monkeypatch.setattr(sae_absorption, "each", _in_turn)
    one = sae_absorption.absorption_study(**kw)
    assert len(two) == len(one) > 0
    pd.testing.assert_frame_equal(two, one, check_exact=True)
