"""Skips that CI would not notice are not allowed: a test skips through ``pytest.importorskip`` (strict under
TMS_REQUIRE_EXTRAS, tests/conftest.py) or ``skip_helpers.skip_unless_required``, never a plain ``pytest.skip``;
and the project's own modules are imported, never importorskipped (a failed import must fail)."""

import re
from pathlib import Path

TESTS = Path(__file__).parents[1]


def test_no_plain_skips_and_no_importorskip_of_tms():
    plain, own = [], []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name in ("skip_helpers.py", "test_skips.py", "conftest.py"):
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"pytest\.skip\(", line):
                plain.append(f"{path.relative_to(TESTS)}:{i}")
            if re.search(r"importorskip\(\s*[\"']tms[.\"']", line):
                own.append(f"{path.relative_to(TESTS)}:{i}")
    assert not plain, "plain pytest.skip (use skip_helpers.skip_unless_required): " + ", ".join(plain)
    assert not own, "importorskip of tms itself (import it): " + ", ".join(own)
