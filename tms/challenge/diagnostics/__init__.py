"""Diagnostics of the challenge transformer over the full 113×113 input grid, one module per diagnostic.

Each module holds the analysis as plain functions of arrays (tested on cases with known answers) and
registers one or more diagnostics: functions of the shared :class:`~.context.Diagnosis` returning an
:class:`~.registry.Outcome` (summary numbers, CSV tables, figures). ``tms.challenge.reproduce.diagnose`` runs
every registered diagnostic, in registration order (the modules' import order, as listed below), and writes
the files through :mod:`.report`.

===============  ===============  =============================================================================
module           registered as    what
===============  ===============  =============================================================================
grid             —                the model on all 12,769 inputs, last-position activations (GridRun); the
                                  MLP + unembedding on any resid_mid (tail_logit_diff)
accuracy         accuracy,        accuracy on train/test/full, agreement with the original model's labels;
                 errors           distance of the mistakes to the three boundary curves
rows             rows             RGRGRG: mistakes by the number of colour changes in their row
attention        attention        H&H: last-query attention frozen at its mean over the inputs
heads            heads            RGRGRG: QK on positional and token embeddings, heads added back to the mean
                                  pattern; H&H: interpolation mean + t·(pattern − mean)
directions       directions       H&H: PCA of resid_mid; the α/β AND of two thresholds in the PC1–PC2 plane
                                  (wider searches as extras)
filters          filters          H&H: binary α/β filter images and their AND; mistakes near a threshold;
                                  equal filter values on a line
resampling       resampling       H&H: resampling ablations [1], [1*], [2], [3a], [3b]: alone, on top
                                  of [1], all together; both models; permutation donors
perturb          perturbation     H&H: random vs along-boundary shifts of resid_mid
neuron_families  —                RGRGRG: neuron families (colour, where on the row); the zero-ablation
                                  4-neuron protocol, one neuron per family
neurons          neurons,         RGRGRG: the 4-neuron set (mean-ablated greedy sets as an extra);
                 families         the family table and maps
embeddings       embeddings       RGRGRG: extended embeddings (resid_mid = E_x[x] + E_y[y] + c, fixed attention)
geometry         geometry         superposition measures of the weights beside random baselines
probes           probes           RGRGRG: linear probes for x and y from resid_mid (plain L2; extras)
context          —                Diagnosis: the params, settings and shared intermediate results
registry         —                Settings, Outcome, register, DIAGNOSTICS
report           —                the comparison with the published numbers; strict JSON, rounded CSV
===============  ===============  =============================================================================
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
from tms.challenge.diagnostics.filters import equal_value_lines, filter_and, filter_images, near_threshold_table
from tms.challenge.diagnostics.geometry import effective_rank, geometry_objects, geometry_table
from tms.challenge.diagnostics.grid import GridRun, as_grid, flat_labels, grid_tokens, run_grid, tail_logit_diff
from tms.challenge.diagnostics.heads import (
    attention_interpolation,
    head_addback,
    qk_positional,
    qk_tokens,
    resid_mid_from_patterns,
)
from tms.challenge.diagnostics.neuron_families import (
    best_family_set,
    family_names,
    family_table,
    top_per_family,
    zero_ablation_agreement,
)
from tms.challenge.diagnostics.neurons import (
    SubsetSearch,
    direct_contribution,
    logit_direction,
    neuron_contributions,
    neuron_subset_search,
)
from tms.challenge.diagnostics.perturb import perturbation_directions, perturbation_table
from tms.challenge.diagnostics.probes import PlainProbe, ProbeResult, linear_probe, plain_probe
from tms.challenge.diagnostics.registry import DIAGNOSTICS, Diagnostic, Outcome, Settings, register
from tms.challenge.diagnostics.resampling import VARIANTS, resample_ablation
from tms.challenge.diagnostics.rows import colour_changes, row_complexity_table

__all__ = [
    "DIAGNOSTICS", "PCA", "VARIANTS", "AndRule", "Diagnosis", "Diagnostic", "ExtendedEmbeddings", "FixedAttention",
    "GridRun", "Outcome", "PlainProbe", "ProbeResult", "Settings", "SubsetSearch", "accuracy_table", "and_predict",
    "and_rule_table", "as_grid", "attention_interpolation", "best_family_set", "best_thresholds", "colour_changes",
    "direct_contribution", "effective_rank", "equal_value_lines", "error_distance_summary", "error_distances",
    "extended_embeddings", "family_names", "family_table", "filter_and", "filter_images", "fit_and_rule",
    "fixed_attention", "fixed_pattern_hooks", "flat_labels", "geometry_objects", "geometry_table", "grid_tokens",
    "head_addback", "linear_probe", "logit_direction", "mean_last_pattern", "near_threshold_table",
    "neuron_contributions", "neuron_subset_search", "pca", "perturbation_directions", "perturbation_table",
    "plain_probe", "qk_positional", "qk_tokens", "register", "resample_ablation", "resid_mid_from_patterns",
    "row_complexity_table", "run_grid", "tail_logit_diff", "top_per_family", "zero_ablation_agreement",
]
