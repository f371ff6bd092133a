"""Diagnostics of the challenge transformer over the full 113×113 input grid, one module per diagnostic.

Each module holds the analysis as plain functions of arrays (tested on cases with known answers) and
registers one or more diagnostics: functions of the shared :class:`~.context.Diagnosis` returning an
:class:`~.registry.Outcome` (summary numbers, CSV tables, figures). ``tms.challenge.reproduce.diagnose`` runs
every registered diagnostic, in registration order (the modules' import order, as listed below), and writes
the files through :mod:`.report`.

=============  ===============  =============================================================================
module         registered as    what
=============  ===============  =============================================================================
grid           —                the model on all 12,769 inputs, last-position activations (GridRun)
accuracy       accuracy,        accuracy on train/test/full, agreement with the original model's labels;
               errors           distance of the mistakes to the three boundary curves
attention      attention        last-query attention frozen at its mean over the inputs
directions     directions       PCA of resid_mid; the α/β AND of two thresholded directions
neurons        neurons,         per-neuron contributions to the logit difference, smallest neuron sets;
               families         neuron families (clusters of contribution maps)
embeddings     embeddings       extended embeddings (resid_mid = E_x[x] + E_y[y] + c under fixed attention)
geometry       geometry         superposition measures of the weights beside random baselines
probes         probes           linear probes for x and y from resid_mid
resampling     resampling       resampling ablation of the α/β AND hypothesis
context        —                Diagnosis: the params, settings and shared intermediate results
registry       —                Settings, Outcome, register, DIAGNOSTICS
report         —                summary table beside the published numbers; strict JSON, rounded CSV
=============  ===============  =============================================================================
"""

from tms.challenge.diagnostics.accuracy import accuracy_table, error_distance_summary, error_distances
from tms.challenge.diagnostics.attention import FixedAttention, fixed_attention, fixed_pattern_hooks, mean_last_pattern
from tms.challenge.diagnostics.context import Diagnosis
from tms.challenge.diagnostics.directions import (
    PCA,
    AndRule,
    and_predict,
    and_rule_table,
    best_thresholds,
    fit_and_rule,
    pca,
)
from tms.challenge.diagnostics.embeddings import ExtendedEmbeddings, extended_embeddings
from tms.challenge.diagnostics.geometry import effective_rank, geometry_objects, geometry_table
from tms.challenge.diagnostics.grid import GridRun, as_grid, flat_labels, grid_tokens, run_grid
from tms.challenge.diagnostics.neurons import (
    SubsetSearch,
    direct_contribution,
    logit_direction,
    neuron_contributions,
    neuron_families,
    neuron_subset_search,
)
from tms.challenge.diagnostics.probes import ProbeResult, linear_probe
from tms.challenge.diagnostics.registry import DIAGNOSTICS, Diagnostic, Outcome, Settings, register
from tms.challenge.diagnostics.resampling import logit_diff_from_resid_mid, resample_ablation

__all__ = [
    "DIAGNOSTICS", "PCA", "AndRule", "Diagnosis", "Diagnostic", "ExtendedEmbeddings", "FixedAttention", "GridRun",
    "Outcome", "ProbeResult", "Settings", "SubsetSearch", "accuracy_table", "and_predict", "and_rule_table",
    "as_grid", "best_thresholds", "direct_contribution", "effective_rank", "error_distance_summary",
    "error_distances", "extended_embeddings", "fit_and_rule", "fixed_attention", "fixed_pattern_hooks",
    "flat_labels", "geometry_objects", "geometry_table", "grid_tokens", "linear_probe", "logit_diff_from_resid_mid",
    "logit_direction", "mean_last_pattern", "neuron_contributions", "neuron_families", "neuron_subset_search",
    "pca", "register", "resample_ablation", "run_grid",
]
