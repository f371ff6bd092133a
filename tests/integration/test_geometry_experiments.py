"""The geometry experiments end to end at reduced cost (``--quick``): sweeps, followed branches, figures
and strict-JSON summaries."""

import json

import pytest

from tms.experiments.reproduce import reproduce


@pytest.mark.parametrize("name, pngs", [
    ("polytope_transitions", ["polytope_transitions.png", "polytope_transitions_importance.png"]),
    ("correlated", ["correlated.png"]),
    ("loss_transition", ["loss_transition.png"]),
])
def test_quick_geometry_experiments(tmp_path, name, pngs):
    summary = reproduce(name, out=tmp_path, quick=True, progress=False)
    for png in pngs:
        assert (tmp_path / "figures" / "quick" / png).stat().st_size > 10_000
    text = (tmp_path / "figures" / "summary-quick.json").read_text()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}")) == summary
    numbers = summary[name]
    if name == "polytope_transitions":
        assert set(numbers) == {"sparsity", "importance"}
        for axis in ("sparsity", "importance"):
            assert len(numbers[axis]["loss_up"]) == len(numbers[axis]["loss_down"]) == 6
    elif name == "correlated":
        assert [r["seed"] for r in numbers["seeds"]] == [0, 1]
    else:
        assert numbers["talk_final_loss"] == 0.01827 and len(numbers["by_density"]) == 6
