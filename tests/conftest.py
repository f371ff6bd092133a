import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# Shared test helpers (tests/sweep_helpers.py) are importable by name from every test folder.
sys.path.insert(0, str(Path(__file__).parent))

os.environ.setdefault("MPLBACKEND", "Agg")

# One persistent XLA compilation cache for every process of a test run: the xdist workers, the CLI and wheel
# tests' subprocesses and the Ray workers inherit this environment, so a function compiled in one of them is
# loaded from disk, not compiled again, in the others (a repeated tiny sweep in a fresh process: 10.0 s without,
# 4.4 s with). The executables are the ones XLA compiled, so every result is bit for bit what it would be
# without. The folder is made by the first process of the run (the xdist controller, whose environment the
# workers inherit, or the one process of -n 0), named by its pid, and removed by it when the run ends.
# TMS_TEST_JAX_CACHE=0 turns it off; a JAX_COMPILATION_CACHE_DIR already set is used as it is and left alone.
_JAX_CACHE = Path(tempfile.gettempdir()) / f"tms-tests-jax-cache-{os.getpid()}"
if os.environ.get("TMS_TEST_JAX_CACHE", "1") != "0" and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(_JAX_CACHE)
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    _OWN_CACHE = True
else:
    _OWN_CACHE = False

import jax  # noqa: E402

# Strictness: silent broadcasting between arrays of different rank is an error in tests.
jax.config.update("jax_numpy_rank_promotion", "raise")

# Two CPU devices in every test process, as the tms command makes on a 2-core machine (tms.runs.backends.
# use_cpu_cores), so the local backend trains chunks side by side in the tests as it does for users (and CI's
# 2 cores run the same path); the tests that need one device say so.
from tms.runs.backends import use_cpu_cores  # noqa: E402

use_cpu_cores(2)


# Optional dependencies (torch, transformer_lens, ray, ...) are imported in tests with pytest.importorskip, so a
# plain `pip install -e '.[test]'` runs the suite and skips what it cannot import. CI installs every extra and
# sets TMS_REQUIRE_EXTRAS, which turns those skips into failures: a missing extra there is a broken install,
# not a reason to test less. TMS_REQUIRE_EXTRAS=1 (or true/yes/all) requires every module a test asks for;
# a comma-separated list of top-level module names ("torch,transformer_lens") requires only those.
def _required_modules(value: str) -> set[str] | None:
    """-> None (nothing required), {"*"} (everything) or the set of required top-level module names."""
    value = value.strip()
    if value.lower() in ("", "0", "false", "no"):
        return None
    if value.lower() in ("1", "true", "yes", "all", "*"):
        return {"*"}
    return {name.strip() for name in value.split(",") if name.strip()}


_REQUIRED = _required_modules(os.environ.get("TMS_REQUIRE_EXTRAS", ""))

if _REQUIRED is not None:
    _importorskip = pytest.importorskip

    def _strict_importorskip(modname, *args, **kwargs):
        __tracebackhide__ = True
        if not ("*" in _REQUIRED or modname.split(".")[0] in _REQUIRED):
            return _importorskip(modname, *args, **kwargs)
        try:
            return _importorskip(modname, *args, **kwargs)
        except pytest.skip.Exception as skip:
            reason = skip.msg
        pytest.fail(f"TMS_REQUIRE_EXTRAS={os.environ['TMS_REQUIRE_EXTRAS']} requires {modname!r}, "
                    f"but importorskip would skip: {reason}", pytrace=False)

    # Patched before any test module is imported, so both `pytest.importorskip(...)` and
    # `from pytest import importorskip` in test modules get the strict version.
    pytest.importorskip = _strict_importorskip


def pytest_report_header(config):
    if _REQUIRED is None:
        return "TMS_REQUIRE_EXTRAS unset: tests of missing optional dependencies skip"
    return f"TMS_REQUIRE_EXTRAS={os.environ['TMS_REQUIRE_EXTRAS']}: importorskip of a missing module fails"


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: no error where it is not installed
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject.toml): one worker per core, at most 4 (each worker holds its own JAX, and beyond
    4 the suite is bound by its longest modules, not by cores)."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def pytest_sessionfinish(session, exitstatus):
    """The run's compilation cache goes with the run, removed by the process that made it."""
    if _OWN_CACHE:
        shutil.rmtree(_JAX_CACHE, ignore_errors=True)


@pytest.fixture
def no_compile(monkeypatch):
    """Any ``jax.jit`` call fails the test: for checks that bad input is refused before anything compiles."""

    def boom(*a, **k):
        raise AssertionError("compiled before the input was checked")

    monkeypatch.setattr(jax, "jit", boom)
