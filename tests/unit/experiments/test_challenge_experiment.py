"""The challenge experiment diagnoses the alternative model only when named, not inside reproduce all."""

import sys
from pathlib import Path

import pytest

from tms.challenge import reproduce as challenge_reproduce
from tms.experiments.registry import Context, get
from tms.experiments.reproduce import reproduce as _  # noqa: F401  (loads the module)


@pytest.mark.parametrize("named", [True, False])
def test_alternative_only_when_named(monkeypatch, tmp_path, named):
    calls = []
    monkeypatch.setattr(challenge_reproduce, "run", lambda **kw: calls.append(kw) or {"accuracy": 1.0})
    _, numbers = get("challenge").draw(Context({}, Path(tmp_path), named=named))
    assert [c["alternative"] for c in calls] == [named] and numbers == {"accuracy": 1.0}


@pytest.mark.parametrize("name, alternative", [("challenge", True), ("all", False)])
def test_reproduce_names_the_challenge_only_when_asked(monkeypatch, tmp_path, name, alternative):
    reproduce = sys.modules["tms.experiments.reproduce"]  # the module (the package exports its function)
    seen = []
    monkeypatch.setattr(challenge_reproduce, "run", lambda **kw: seen.append(kw) or {})
    monkeypatch.setattr(reproduce, "_names", lambda name, quick: ["challenge"])  # "all" without the others
    (tmp_path / "figures").mkdir()  # (the real draw creates it)
    reproduce.reproduce(name, out=tmp_path, progress=False, shipped=True)
    assert seen[-1]["alternative"] is alternative and seen[-1]["retrain"] is False
