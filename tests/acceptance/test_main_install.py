"""The README's main command, as a new user runs it: `pip install .` from a copy of the checkout into a fresh
venv (dependencies resolved from the package index, as pip is configured on the machine), then the main job
from an empty folder.

Checks that the install brings none of the heavy optional packages (PyTorch, Ray, TransformerLens,
devinterp) and that `tms reproduce all --quick` (every experiment at reduced size; the challenge has no
reduced size and is left out of it) and `tms reproduce challenge --shipped` (the shipped model's full
diagnosis, what `all` runs) complete with only the core dependencies. The full-size `tms reproduce all` runs
the same code on bigger grids (7 min 50 s on an idle 2-core machine); the quick run keeps this test to a few
minutes beside the install. Slow: it needs the package index and installs every core dependency.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "ray", "transformer-lens", "devinterp")
_TOP = {".git", "build", "dist", "runs", "figures", ".venv", "venv"}  # outputs and VCS data, at the top only
_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*cache")


def _skip(folder, names):
    return set(_ANYWHERE(folder, names)) | (_TOP & set(names) if Path(folder) == ROOT else set())


def main_command() -> str:
    """The first command of the README's 'Two commands' block (the install and the main job)."""
    block = re.search(r"## Two commands\n+```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return next(line for line in block.splitlines() if line and not line.startswith("#"))


def _run(cmd, cwd, env, timeout=1800):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\nstdout:\n{r.stdout[-4000:]}\nstderr:\n{r.stderr[-4000:]}"
    return r


def test_readme_main_command_installs_the_core_only_and_runs_the_main_job(tmp_path):
    assert main_command() == "pip install . && tms reproduce all", "the README's main command changed: update this test"
    src = tmp_path / "tms"
    shutil.copytree(ROOT, src, ignore=_skip)
    venv.EnvBuilder(with_pip=True, clear=True).create(tmp_path / "venv")
    bin_dir = tmp_path / "venv" / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", MPLBACKEND="Agg", PYTHONNOUSERSITE="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")

    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "."], cwd=src, env=env)
    listed = json.loads(_run([str(bin_dir / "python"), "-m", "pip", "list", "--format=json"], cwd=tmp_path,
                             env=env).stdout)
    names = {p["name"].lower().replace("_", "-") for p in listed}
    assert "tms" in names and "jax" in names
    assert sorted(names & set(HEAVY)) == []

    work = tmp_path / "empty"
    work.mkdir()
    _run([str(bin_dir / "tms"), "reproduce", "all", "--quick"], cwd=work, env=env)
    _run([str(bin_dir / "tms"), "reproduce", "challenge", "--shipped"], cwd=work, env=env)
    quick = json.loads((work / "figures" / "summary-quick.json").read_text())
    full = json.loads((work / "figures" / "summary.json").read_text())
    listed = _run([str(bin_dir / "tms"), "reproduce", "list"], cwd=work, env=env).stdout.split()
    assert "intro" in quick and "slt" in quick and "challenge" in full
    assert quick["intro"]["census"]  # the intro's census labels were computed
    assert {"intro", "phase_n2m1", "feature_geometry", "finite_data", "slt", "challenge"} <= set(listed)
    imported = _run([str(bin_dir / "python"), "-c", "import tms, sys; print(tms.__file__)"], cwd=work, env=env)
    assert Path(imported.stdout.strip()).is_relative_to(tmp_path / "venv"), imported.stdout
    assert sys.executable not in imported.stdout
