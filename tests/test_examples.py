"""The notebooks in examples/: committed without outputs, self-contained, ending in checks, listed in the docs.

Executing them is CI's own phase (`python -m pytest -q --nbmake examples/`, the `examples` extra); these
checks read the files only (JSON), so they run in the default suite without a kernel.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXPECTED = ["01_intro", "02_phase_diagrams", "03_geometry", "04_finite_data", "05_slt", "06_challenge"]
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def _cells(path, kind=None):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb.get("nbformat") == 4, f"{path.name}: not an nbformat 4 notebook"
    return [c for c in nb["cells"] if kind is None or c["cell_type"] == kind]


def _source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_the_listed_notebooks_are_there():
    names = [p.stem for p in NOTEBOOKS]
    assert [n for n in EXPECTED if n not in names] == []


def check_stripped(path) -> list[str]:
    """What keeps ``path`` from being committed: each code cell with outputs or an execution count."""
    problems = []
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"{path.name}: cell {i} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"{path.name}: cell {i} has execution_count {cell['execution_count']}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    problems = check_stripped(path)
    assert not problems, "strip outputs before committing (jupyter nbconvert --clear-output --inplace " \
                         "examples/*.ipynb):\n" + "\n".join(problems)


def test_the_check_finds_outputs(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "source": "1", "execution_count": 3,
         "outputs": [{"output_type": "execute_result", "execution_count": 3, "metadata": {},
                      "data": {"text/plain": "1"}}]},
        {"cell_type": "code", "id": "b", "metadata": {}, "source": "2", "execution_count": None, "outputs": []}]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    assert check_stripped(path) == ["x.ipynb: cell 0 has outputs", "x.ipynb: cell 0 has execution_count 3"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_says_its_size_and_ends_in_checks(path):
    intro = _source(_cells(path, "markdown")[0])
    assert "**Size" in intro, f"{path.name}: the first cell must say the size it runs at (**Size: ...**)"
    assert re.search(r"`tms [a-z]", intro), f"{path.name}: the first cell must give the command for the full size"
    last = _source(_cells(path, "code")[-1])
    assert "assert" in last, f"{path.name}: the last code cell must assert the notebook's key numbers"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_reads_nothing_from_outside_the_package(path):
    code = "\n".join(_source(c) for c in _cells(path, "code"))
    for pattern in (r"\.\./", r"['\"]figures/", r"['\"]runs/", r"['\"]/(work|home|tmp)/", "shared/"):
        assert not re.search(pattern, code), f"{path.name}: code refers to a path outside the package ({pattern})"


def test_readme_and_docs_index_list_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    notebooks = readme.split("## Notebooks", 1)[1].split("\n## ", 1)[0] if "## Notebooks" in readme else ""
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"(examples/{path.name})" in notebooks, f"README's Notebooks section lacks {path.name}"
        assert f"(../examples/{path.name})" in index, f"docs/index.md lacks a link to {path.name}"
