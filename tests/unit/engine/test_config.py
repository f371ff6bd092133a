"""StaticConfig: validation and derived values."""

import pytest

from tms.engine.config import StaticConfig


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_features=0), "n_features"), (dict(n_hidden=0), "n_hidden"), (dict(steps=0), "steps"),
    (dict(batch_size=0), "batch_size"), (dict(optimizer="lion"), "optimizer"), (dict(schedule="exp"), "schedule"),
    (dict(kind="gelu"), "kind"), (dict(log_every=7, steps=100), "log_every"),
])
def test_bad_static_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StaticConfig(**kwargs)

