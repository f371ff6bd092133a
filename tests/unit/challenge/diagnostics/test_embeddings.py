"""Extended embeddings are exact under fixed attention."""

import numpy as np

from tms.challenge import data as D
from tms.challenge.diagnostics.attention import fixed_attention
from tms.challenge.diagnostics.embeddings import extended_embeddings


def test_extended_embeddings_are_exact_under_fixed_attention(small):
    params, run = small
    fa = fixed_attention(params, run)
    ext = extended_embeddings(params, fa.mean_pattern)
    x, y = D.all_pairs().T
    np.testing.assert_allclose(ext.x[x] + ext.y[y] + ext.const[None, :], fa.run.resid_mid, atol=1e-5)
    pre = ext.neuron_x[x] + ext.neuron_y[y] + ext.neuron_const[None, :]
    np.testing.assert_allclose(np.maximum(pre, 0), fa.run.post, atol=1e-5)
