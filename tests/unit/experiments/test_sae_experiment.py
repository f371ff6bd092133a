"""The SAE experiment is registered and part of ``reproduce all``, and its sweep API checks its input first."""

import json

import numpy as np
import pytest

from tms.engine.sae import SaeError, pentagon, toy_model_source
from tms.experiments import EXPERIMENTS
from tms.experiments.reproduce import _names
from tms.experiments.sae import sae_sweep


def test_registered_and_in_all():
    assert "sae" in EXPERIMENTS and EXPERIMENTS["sae"].in_all
    assert "sae" in _names("all", False) and "sae" in _names("all", True) and _names("sae", False) == ["sae"]


def test_sae_sweep_small():
    frame, params = sae_sweep(toy_model_source(pentagon(), 0.9), archs=("relu",), ratios=(1.0,), steps=20,
                              batch=16, penalty_stride=5)
    assert len(frame) == 3 and set(frame.d_sae) == {5} and params[("relu", 5)]["W_dec"].shape == (3, 5, 2)
    assert frame["mmcs"].between(-1, 1).all() and frame["fvu"].notna().all()
    with pytest.raises(SaeError, match="d_sae"):
        sae_sweep(toy_model_source(pentagon(), 0.9), archs=("relu",), ratios=(0.01,), steps=5)


def test_pentagon_numbers_count_settings_per_architecture_and_size():
    import numpy as np
    import pandas as pd

    from tms.experiments.sae import _numbers

    pent = pd.DataFrame({"arch": ["relu"] * 4, "ratio": [1.0, 1.0, 2.0, 2.0], "penalty": [0.1, 0.1, 0.1, 0.1],
                         "k": [1] * 4, "seed": [0, 1, 0, 1], "mmcs": [0.99, 0.95, 0.999, 0.998],
                         "recovered_0.99": [1.0, 0.8, 1.0, 1.0]})
    synth = pd.DataFrame({"arch": ["relu"], "ratio": [1.0], "mmcs": [0.9], "recovered_0.9": [0.5]})
    res = pd.DataFrame({"resample": ["none"], "dead": [1.0], "mmcs": [0.9], "resampled": [0.0]})
    out = _numbers(pent, synth, res)["pentagon"]
    assert out["relu@1x"]["settings_all_seeds_recover_5"] == [] and out["relu@1x"]["settings_some_seed_recovers_5"] == [[0.1, 1.0]]
    assert out["relu@2x"]["settings_all_seeds_recover_5"] == [[0.1, 1.0]]
    assert np.isclose(out["relu@2x"]["best_mmcs"], 0.999)


def test_absorption_study_small():
    from tms.experiments.sae_absorption import absorption_numbers, absorption_study, summary
    from tms.plots.sae import absorption_figure

    frame = absorption_study(magnitudes=("unit",), archs=("relu",), seeds=(0,), steps=20, batch=16,
                             source={"n_parents": 2, "n_children": 2, "d_in": 8, "p_parent": 0.5, "p_child": 0.4})
    assert len(frame) == 4 and set(frame.magnitudes) == {"unit"} and set(frame.d_sae) == {6}
    for col in ("absorption", "absorbed", "miss_child", "miss_alone", "absorbing_latents"):
        assert frame[col].between(-1, 1).all(), col
    assert (frame.absorption - (frame.miss_child - frame.miss_alone)).abs().max() < 1e-12
    assert len(summary(frame)) == 4
    numbers = absorption_numbers(frame)  # what `tms reproduce sae` writes: strict JSON, one entry per knob value
    assert list(numbers) == ["unit/relu"] and [e["penalty"] for e in numbers["unit/relu"]] == sorted(frame.penalty)
    np.testing.assert_allclose([e["absorption"] for e in numbers["unit/relu"]],
                               frame.sort_values("penalty").absorption.round(4), atol=1e-12)
    json.dumps(numbers, allow_nan=False)
    fig = absorption_figure(frame.assign(magnitudes="unit"))  # one panel: unit magnitudes, relu
    assert len(fig.axes) == 1 and fig.axes[0].get_xscale() == "log" and len(fig.axes[0].lines) == 4  # 3 + y = 0
    with pytest.raises(SaeError, match="archs"):
        absorption_study(archs=("gated",))
