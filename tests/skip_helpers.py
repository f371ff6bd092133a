"""A skip that CI notices: under TMS_REQUIRE_EXTRAS (set by .ci/run, which installs everything and ships the
trained weights) a test that would skip fails instead, as the strict ``importorskip`` of tests/conftest.py does."""

import os

import pytest


def skip_unless_required(reason: str):
    """``pytest.skip(reason)`` on a partial install; ``pytest.fail`` where TMS_REQUIRE_EXTRAS asks for all."""
    __tracebackhide__ = True
    if os.environ.get("TMS_REQUIRE_EXTRAS", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"TMS_REQUIRE_EXTRAS={os.environ['TMS_REQUIRE_EXTRAS']} is set, so this skip is a failure: "
                    f"{reason}", pytrace=False)
    pytest.skip(reason)
