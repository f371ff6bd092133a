"""The built wheel, installed on its own, works from an empty folder (what a user of `pip install tms` gets).

The wheel is built without build isolation (`python -m build --wheel --no-isolation`, from a copy of the
checkout, so the checkout gets no build/ or egg-info), which needs no network: the `test` extra carries
`build` and a setuptools that builds wheels by itself.

It is installed with `pip install --no-deps --no-index` into a fresh venv created without
--system-site-packages. The venv's dependencies (jax, numpy, matplotlib, ...) come from the environment
running the tests, through a .pth file in the venv that appends that environment's site-packages folders to
sys.path *after* the venv's own. A .pth line that names a folder only adds the folder: the .pth files inside
it (an editable install of tms, say) are not run, so the only `tms` the venv can import is the wheel's.
This keeps the test to seconds (no dependency downloads, no network) while still checking what matters
here: the wheel's contents (modules, package data, the `tms` entry point) and that nothing reaches back to the
source tree. Every command runs from an empty temporary folder, and the test checks that `tms` is imported
from the venv.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("build")

ROOT = Path(__file__).resolve().parents[2]
# Not copied into the build folder: at the top, VCS data, build outputs, outputs of runs and what is not
# package code (the shipped figures live outside tms/); anywhere, caches and egg-info.
_TOP = {".git", "build", "dist", "runs", "figures", ".venv", "venv", "tests", "docs"}
_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*cache")


def _ignore(folder, names):
    return set(_ANYWHERE(folder, names)) | (_TOP & set(names) if Path(folder) == ROOT else set())


def _run(cmd, cwd, env, timeout=600):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\nstdout:\n{r.stdout[-4000:]}\nstderr:\n{r.stderr[-4000:]}"
    return r


def _strict_json(text):
    def reject(constant):
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=reject)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """-> (venv bin folder, environment for its commands, wheel path)."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(MPLBACKEND="Agg", PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")

    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_ignore)
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp / "dist"), str(src)],
         cwd=tmp, env=env)
    (wheel,) = (tmp / "dist").glob("tms-*.whl")

    venv_dir = tmp / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=True, clear=True).create(venv_dir)
    bin_dir = venv_dir / ("Scripts" if os.name == "nt" else "bin")
    purelib = Path(_run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        cwd=tmp, env=env).stdout.strip())
    ours = {p for p in (sysconfig.get_path("purelib"), sysconfig.get_path("platlib"))}
    ours |= {p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")}
    (purelib / "_tms_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours) if Path(p).is_dir()))
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
         cwd=tmp, env=env)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return bin_dir, env, wheel


def _empty(tmp_path, name):
    d = tmp_path / name
    d.mkdir()
    return d


def test_wheel_contents(installed):
    _, _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "tms/__init__.py" in names and "tms/cli/__init__.py" in names
    assert any(n.startswith("tms/experiments/sweeps/") and n.endswith(".toml") for n in names), "no shipped sweeps"
    for model in ("original_recipe", "trained"):  # the shipped model and the alternative, each with its history
        assert f"tms/challenge/weights/{model}.npz" in names, f"no shipped challenge model {model}"
        assert f"tms/challenge/weights/{model}_history.csv" in names, f"no training history of {model}"
    assert "tms/challenge/reference/challenge2_labels.npz" in names, "no shipped challenge reference labels"
    assert not any(n.startswith(("tests/", "figures/", "docs/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "tms = tms.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_imports_the_installed_wheel_not_the_source_tree(installed, tmp_path):
    bin_dir, env, _ = installed
    cwd = _empty(tmp_path, "empty")
    out = _run([str(bin_dir / "python"), "-c", "import tms; print(tms.__file__)"], cwd=cwd, env=env).stdout
    where = Path(out.strip()).resolve()
    assert where.is_relative_to(bin_dir.parent.resolve()), f"tms imported from {where}, not the venv"
    assert not where.is_relative_to(ROOT), where


def test_cli_reproduce_list_and_sweep_init(installed, tmp_path):
    bin_dir, env, _ = installed
    tms = str(bin_dir / "tms")
    listed = _run([tms, "reproduce", "list"], cwd=_empty(tmp_path, "list"), env=env).stdout
    assert "intro" in listed

    cwd = _empty(tmp_path, "init")
    _run([tms, "sweep", "init", "intro"], cwd=cwd, env=env)
    assert [p.name for p in cwd.iterdir()] == ["intro.toml"]
    assert tomllib.loads((cwd / "intro.toml").read_text())


def test_reproduce_intro_quick_from_an_empty_folder(installed, tmp_path):
    bin_dir, env, _ = installed
    cwd = _empty(tmp_path, "reproduce")
    _run([str(bin_dir / "tms"), "reproduce", "intro", "--quick"], cwd=cwd, env=env)
    png = cwd / "figures" / "quick" / "intro.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = _strict_json((cwd / "figures" / "summary-quick.json").read_text())
    assert "intro" in summary
    assert (cwd / "runs").is_dir() and any((cwd / "runs").rglob("*"))
