"""The shared state of one diagnosis: params, settings, reference labels, and the intermediate results that
several diagnostics read (the grid run, fixed attention, the AND rules, neuron contributions), each
computed once, on first use.

Randomness: one key, ``jax.random.PRNGKey(settings.seed)``, split into the AND searches' keys (see
:attr:`Diagnosis.rule`); the NumPy draws (resampling, random baselines) use ``settings.seed`` too.
"""

from __future__ import annotations

from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from tms.challenge import data as challenge_data
from tms.challenge import model as challenge_model
from tms.challenge.diagnostics import directions, neuron_families
from tms.challenge.diagnostics import neurons as neurons_module
from tms.challenge.diagnostics.attention import FixedAttention, fixed_attention
from tms.challenge.diagnostics.embeddings import ExtendedEmbeddings, extended_embeddings
from tms.challenge.diagnostics.grid import GridRun, run_grid
from tms.challenge.diagnostics.registry import Settings


def _plane_rule(resid_mid, labels, pc: directions.PCA, key, settings: Settings) -> directions.AndRule:
    """The published rule: a positive AND with α, β in the PC1–PC2 plane (relaxed fit, then a coordinate
    search of the two angles with exact thresholds; the refinement is skipped in quick mode)."""
    rule = directions.fit_and_rule(resid_mid, labels, key, n_components=directions.PUBLISHED_COMPONENTS, polarity="positive",
                           **settings.and_search)
    return rule if settings.quick else directions.refine_in_plane(resid_mid, labels, rule, pc.components[:2])


class Diagnosis:
    """Everything the registered diagnostics share.

    params: checked, float32 JAX arrays; settings: :class:`Settings`; reference: the shipped reference labels
    (``data.load_reference()``); truth: (N,) ground-truth labels; key: the PRNG key of the AND searches.
    """

    def __init__(self, params, settings: Settings = Settings()):
        challenge_model.check_params(params)
        self.params = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
        self.settings = settings
        self.reference = challenge_data.load_reference()
        self.truth = challenge_data.label_grid().ravel()
        self.key = jax.random.PRNGKey(settings.seed)

    @cached_property
    def full(self) -> GridRun:
        """The model on every input."""
        return run_grid(self.params)

    @cached_property
    def fixed(self) -> FixedAttention:
        """The model with every head's last-query pattern frozen at its mean."""
        return fixed_attention(self.params, self.full)

    @cached_property
    def pca(self) -> directions.PCA:
        """Principal components of the last-position resid_mid."""
        return directions.pca(self.full.resid_mid)

    @cached_property
    def pca_fixed(self) -> directions.PCA:
        """Principal components of the fixed-attention model's last-position resid_mid."""
        return directions.pca(self.fixed.run.resid_mid)

    @cached_property
    def rule(self) -> directions.AndRule:
        """The published α/β rule (H&H): label 1 = [α·r > t_α] ∧ [β·r > t_β] with α, β in the plane of the
        first two principal components of resid_mid, fitted to the model's labels. Key: the first half of
        ``split(key)``."""
        return _plane_rule(self.full.resid_mid, self.full.pred, self.pca, jax.random.split(self.key)[0],
                           self.settings)

    @cached_property
    def rule_fixed_attention(self) -> directions.AndRule:
        """The published rule for the fixed-attention model: PC1–PC2 of its resid_mid, fitted to its labels
        (key: the second half of ``split(key)``)."""
        run = self.fixed.run
        return _plane_rule(run.resid_mid, run.pred, self.pca_fixed, jax.random.split(self.key)[1], self.settings)

    @cached_property
    def rule_variance(self) -> directions.AndRule:
        """Extra: the (positive) AND sought in the top components holding AND_VARIANCE of resid_mid's variance
        (key: ``fold_in(key, 2)``)."""
        k = directions.n_components_for(self.pca.explained)
        return directions.fit_and_rule(self.full.resid_mid, self.full.pred, jax.random.fold_in(self.key, 2),
                               n_components=k, **self.settings.and_search)

    @cached_property
    def rule_wide(self) -> directions.AndRule | None:
        """Extra: the (positive) AND sought in WIDE = 16 components (key: ``fold_in(key, 3)``); None in quick
        mode."""
        if self.settings.quick:
            return None
        return directions.fit_and_rule(self.full.resid_mid, self.full.pred, jax.random.fold_in(self.key, 3),
                               n_components=directions.WIDE)

    @cached_property
    def extended(self) -> ExtendedEmbeddings:
        """Extended embeddings under the mean last-query pattern."""
        return extended_embeddings(self.params, self.fixed.mean_pattern)

    @cached_property
    def contributions(self) -> np.ndarray:
        """(N, m) each neuron's contribution to the logit difference."""
        return neurons_module.neuron_contributions(self.params, self.full.post)

    @cached_property
    def subsets(self) -> neurons_module.SubsetSearch:
        """Extra: the best neuron sets found for k = 1..settings.max_neurons with every other term
        mean-ablated (greedy with swaps, no family constraint)."""
        rest = neurons_module.direct_contribution(self.params, self.full.resid_mid)
        return neurons_module.neuron_subset_search(self.contributions, self.full.pred, rest, max_k=self.settings.max_neurons)

    @cached_property
    def families(self) -> pd.DataFrame:
        """Per neuron: its published-scheme family and signed-map cluster (``families.family_table``)."""
        return neuron_families.family_table(self.contributions)

    @cached_property
    def family_set(self) -> neuron_families.FamilySet:
        """The published protocol's best 4-neuron set, at most one neuron per family, zero-ablation."""
        return neuron_families.best_family_set(self.contributions, self.full.pred, self.families["family"].to_numpy(),
                                 top=self.settings.family_top)

    @cached_property
    def best_neurons(self) -> list[int]:
        """The neurons of :attr:`family_set` (the set whose maps are drawn)."""
        return [int(n) for n in self.family_set.neurons]
