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

from tms.challenge import data as D
from tms.challenge import model as M
from tms.challenge.diagnostics import directions as Dr
from tms.challenge.diagnostics import neurons as N
from tms.challenge.diagnostics.attention import FixedAttention, fixed_attention
from tms.challenge.diagnostics.embeddings import ExtendedEmbeddings, extended_embeddings
from tms.challenge.diagnostics.grid import GridRun, run_grid
from tms.challenge.diagnostics.registry import Settings


class Diagnosis:
    """Everything the registered diagnostics share.

    params: checked, float32 JAX arrays; settings: :class:`Settings`; reference: the shipped reference labels
    (``data.load_reference()``); truth: (N,) ground-truth labels; key: the PRNG key of the AND searches.
    """

    def __init__(self, params, settings: Settings = Settings()):
        M.check_params(params)
        self.params = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
        self.settings = settings
        self.reference = D.load_reference()
        self.truth = D.label_grid().ravel()
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
    def pca(self) -> Dr.PCA:
        """Principal components of the last-position resid_mid."""
        return Dr.pca(self.full.resid_mid)

    @cached_property
    def rule(self) -> Dr.AndRule:
        """The α/β AND rule for the model's labels, sought in the top principal components that hold
        AND_VARIANCE of resid_mid's variance (a search over more, low-variance components fits slightly
        better but is not causal: see the resampling of :attr:`rule_wide`). Key: the first half of
        ``split(key)``."""
        k = Dr.n_components_for(self.pca.explained)
        return Dr.fit_and_rule(self.full.resid_mid, self.full.pred, jax.random.split(self.key)[0],
                               n_components=k, polarity="both", **self.settings.and_search)

    @cached_property
    def rule_fixed_attention(self) -> Dr.AndRule:
        """The AND rule for the labels of the fixed-attention model, on its resid_mid (key: second half)."""
        run = self.fixed.run
        k = Dr.n_components_for(Dr.pca(run.resid_mid).explained)
        return Dr.fit_and_rule(run.resid_mid, run.pred, jax.random.split(self.key)[1], n_components=k,
                               polarity="both", **self.settings.and_search)

    @cached_property
    def rule_wide(self) -> Dr.AndRule | None:
        """The AND rule sought in WIDE = 16 components (key: ``fold_in(key, 3)``); None in quick mode."""
        if self.settings.quick:
            return None
        return Dr.fit_and_rule(self.full.resid_mid, self.full.pred, jax.random.fold_in(self.key, 3),
                               n_components=Dr.WIDE, polarity="both")

    @cached_property
    def extended(self) -> ExtendedEmbeddings:
        """Extended embeddings under the mean last-query pattern."""
        return extended_embeddings(self.params, self.fixed.mean_pattern)

    @cached_property
    def contributions(self) -> np.ndarray:
        """(N, m) each neuron's contribution to the logit difference."""
        return N.neuron_contributions(self.params, self.full.post)

    @cached_property
    def subsets(self) -> N.SubsetSearch:
        """The best neuron sets found for k = 1..settings.max_neurons (the rest mean-ablated)."""
        rest = N.direct_contribution(self.params, self.full.resid_mid)
        return N.neuron_subset_search(self.contributions, self.full.pred, rest, max_k=self.settings.max_neurons)

    @cached_property
    def best_neurons(self) -> list[int]:
        """The best set found with 4 neurons (the size the published solution reports; fewer in quick mode)."""
        return [int(n) for n in self.subsets.neurons[min(4, self.settings.max_neurons) - 1]]
