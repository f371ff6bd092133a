"""Linear probes read planted classes and not noise."""

import numpy as np

from tms.challenge.diagnostics.probes import linear_probe


def test_linear_probe_reads_planted_classes_and_not_noise():
    rng = np.random.default_rng(3)
    cls = rng.integers(0, 20, 4000)
    X = rng.normal(size=(20, 12))[cls] + 0.1 * rng.normal(size=(4000, 12))
    tr, te = np.arange(2000), np.arange(2000, 4000)
    np.testing.assert_allclose(linear_probe(X, cls, tr, te, n_classes=20).test_accuracy, 1.0, atol=0.005)
    np.testing.assert_allclose(linear_probe(X, cls, tr, te, n_classes=20, whiten=False).test_accuracy, 1.0,
                               atol=0.005)
    noise = linear_probe(rng.normal(size=(4000, 12)), cls, tr, te, n_classes=20)
    np.testing.assert_allclose(noise.test_accuracy, 1 / 20, atol=0.025)
