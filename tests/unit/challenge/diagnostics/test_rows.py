"""Row complexity: the rule's rows have 0, 1 or 2 colour changes; mistakes are counted by row class."""

import numpy as np

from tms.challenge import data as D
from tms.challenge.diagnostics import rows as Ro


def test_colour_changes_of_the_rule_and_of_a_hand_built_grid():
    ch = Ro.colour_changes()
    assert set(np.unique(ch)) <= {0, 1, 2} and len(ch) == D.N_VALUES
    g = np.zeros((D.N_VALUES, D.N_VALUES), np.uint8)
    g[1, 50:] = 1  # one change
    g[2, 20:40] = 1  # two changes
    g[3, :] = 1  # none
    np.testing.assert_array_equal(Ro.colour_changes(g)[:4], [0, 1, 2, 0])


def test_mistakes_are_counted_by_row_class():
    truth = D.label_grid()
    ch = Ro.colour_changes()
    pred = truth.copy()
    two = np.flatnonzero(ch == 2)[:3]
    pred[two, 0] ^= 1  # one mistake in each of three rows with two changes
    tab = Ro.row_complexity_table({"m": pred, "perfect": truth}).set_index(["model", "changes"])
    assert tab.loc[("m", 2), "mistakes"] == 3 and tab.loc[("m", 0), "mistakes"] == 0
    assert tab.loc[("perfect", 2), "mistakes"] == 0
    assert tab.xs("m")["rows"].sum() == D.N_VALUES
    np.testing.assert_allclose(tab.loc[("m", 2), "mistakes_per_row"], 3 / (ch == 2).sum())
