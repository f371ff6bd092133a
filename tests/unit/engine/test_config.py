"""StaticConfig: validation and derived values."""

import pytest

from tms.engine.config import StaticConfig


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_features=0), "n_features"), (dict(n_hidden=0), "n_hidden"), (dict(steps=0), "steps"),
    (dict(batch_size=0), "batch_size"), (dict(optimizer="lion"), "optimizer"), (dict(schedule="exp"), "schedule"),
    (dict(kind="gelu"), "kind"), (dict(log_every=7, steps=100), "log_every"),
    (dict(init_scale=0.0), "init_scale"), (dict(init_scale=-1.0), "init_scale"),
    (dict(init_scale=float("inf")), "init_scale"), (dict(init_scale="small"), "init_scale"),
    (dict(init_scale=True), "init_scale"),
])
def test_bad_static_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StaticConfig(**kwargs)



def test_init_scale_is_left_out_of_the_stored_dict_at_its_default():
    """A store written before ``init_scale`` existed resumes: the field appears only when it is not 1."""
    assert "init_scale" not in StaticConfig().to_dict()
    d = StaticConfig(init_scale=0.18).to_dict()
    assert d["init_scale"] == 0.18
    assert StaticConfig.from_dict(d) == StaticConfig(init_scale=0.18)
    assert StaticConfig.from_dict(StaticConfig().to_dict()) == StaticConfig()


def test_stacked_xavier_scale_matches_torch_xavier_normal_on_a_stacked_tensor():
    """The std PyTorch's ``xavier_normal_`` gives a stacked ``(instances, a, b)`` tensor: gain · sqrt(2 / (fan_in +
    fan_out)), fan_in = a·b, fan_out = instances·b (PyTorch's rule for a 3-d tensor), written out here by hand."""
    import numpy as np

    from tms.engine.config import stacked_xavier_scale

    n, m, k = 100, 40, 7
    one_model = np.sqrt(2 / (n + m))
    s1, s2 = stacked_xavier_scale(n, m, k)
    np.testing.assert_allclose(s1 * one_model, np.sqrt(2 / (m * n + k * n)), rtol=1e-12)  # W1: (k, m, n)
    np.testing.assert_allclose(s2 * one_model, np.sqrt(2 / (n * m + k * m)), rtol=1e-12)  # W2: (k, n, m)
    np.testing.assert_allclose([s1, s2], [0.1726, 0.1809], atol=1e-4)


def test_stacked_xavier_scale_against_torch():
    """The same std measured from PyTorch's own ``xavier_normal_`` on stacked tensors (400,000 draws each)."""
    import numpy as np

    torch = pytest.importorskip("torch")
    from tms.engine.config import stacked_xavier_scale

    n, m, k = 100, 40, 7
    torch.manual_seed(0)
    W1 = torch.nn.init.xavier_normal_(torch.empty(k * 143, m, n))  # std depends on the first dim: use the rule's
    W2 = torch.nn.init.xavier_normal_(torch.empty(k, n, m))
    s1, _ = stacked_xavier_scale(n, m, k * 143)
    _, s2 = stacked_xavier_scale(n, m, k)
    one_model = np.sqrt(2 / (n + m))
    np.testing.assert_allclose(W1.std().item(), s1 * one_model, rtol=0.01)
    np.testing.assert_allclose(W2.std().item(), s2 * one_model, rtol=0.01)
