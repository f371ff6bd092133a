"""The SAE experiment is registered, runs only when named, and its sweep API checks its input first."""

import pytest

from tms.engine.sae import SaeError, pentagon, toy_model_source
from tms.experiments import EXPERIMENTS
from tms.experiments.reproduce import _names
from tms.experiments.sae import sae_sweep


def test_registered_but_not_in_all():
    assert "sae" in EXPERIMENTS and not EXPERIMENTS["sae"].in_all
    assert "sae" not in _names("all", False) and _names("sae", False) == ["sae"]


def test_sae_sweep_small():
    frame, params = sae_sweep(toy_model_source(pentagon(), 0.9), archs=("relu",), ratios=(1.0,), steps=20,
                              batch=16, penalty_stride=5)
    assert len(frame) == 3 and set(frame.d_sae) == {5} and params[("relu", 5)]["W_dec"].shape == (3, 5, 2)
    assert frame["mmcs"].between(-1, 1).all() and frame["fvu"].notna().all()
    with pytest.raises(SaeError, match="d_sae"):
        sae_sweep(toy_model_source(pentagon(), 0.9), archs=("relu",), ratios=(0.01,), steps=5)
