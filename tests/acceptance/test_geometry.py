"""Figure-quality runs of the geometry experiments, checked against the paper's and the talk's findings."""

import pytest

from tms.experiments.reproduce import reproduce


@pytest.mark.slow
def test_polytope_transitions_switch_where_the_branches_cross(tmp_path):
    numbers = reproduce("polytope_transitions", out=tmp_path, progress=False)["polytope_transitions"]
    for axis in ("sparsity", "importance"):
        n = numbers[axis]
        assert n["label_unperturbed"] == "pentagon" and n["label_far_end"] == "2×digon + 1 dropped"
        assert n["up_branch_labels"][0] == "pentagon" and n["down_branch_labels"][-1] == "2×digon + 1 dropped"
        assert n["branches_cross_between"] is not None and n["cold_switch_between"] is not None
    # perturbing the density, the cold start switches between the very cells where the branches cross
    assert numbers["sparsity"]["cold_switch_between"] == numbers["sparsity"]["branches_cross_between"]


@pytest.mark.slow
def test_correlated_sets_form_an_octahedron_of_cross_set_pairs(tmp_path):
    numbers = reproduce("correlated", out=tmp_path, progress=False)["correlated"]
    for row in numbers["seeds"]:
        assert row["label"] == "3×digon" and len(row["antipodal_pairs"]) == 3
        assert row["pairs_join_different_sets"]
        assert 0 <= row["max_abs_cos_between_pair_directions"] < 0.1


@pytest.mark.slow
def test_loss_transition_densities_bracket_the_talks_final_loss(tmp_path):
    numbers = reproduce("loss_transition", out=tmp_path, progress=False)["loss_transition"]
    losses = [d["final_loss_mean_over_features"] for d in numbers["by_density"].values()]
    assert min(losses) < numbers["talk_final_loss"] < max(losses)
