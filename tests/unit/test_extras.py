"""A feature whose extra is not installed says which extra to install (the module blocked in a fresh
interpreter by a meta-path finder), before any work starts."""

import subprocess
import sys

import pytest

from tms.errors import MissingExtraError, TmsError, require

BLOCK = r'''
import importlib.abc, runpy, sys
blocked = sys.argv[1].split(",")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked in this test)", name=name)
sys.meta_path.insert(0, Block())
if sys.argv[2] == "-c":
    exec(sys.argv[3])
else:
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
'''


def _run(blocked, *args):
    return subprocess.run([sys.executable, "-c", BLOCK, blocked, *args], check=False, capture_output=True, text=True,
                          timeout=300)


def test_require_names_the_extra():
    assert require("json", "slt", "x").dumps([1]) == "[1]"
    with pytest.raises(MissingExtraError, match=r"my feature needs no_such_module_x, which is not installed: "
                                                r"pip install 'tms\[ray\]'$") as e:
        require("no_such_module_x.sub", "ray", "my feature")
    assert isinstance(e.value, TmsError) and isinstance(e.value, ImportError)
    with pytest.raises(MissingExtraError, match=r"pip install 'tms\[interop\]' \(PyTorch first: pip install "
                                                r"torch==2.13.0\)"):
        require("no_such_module_x", "interop", "y")


def test_transformer_lens_export_without_the_interop_extra():
    code = ("from tms.challenge import interop, weights\n"
            "from tms.errors import MissingExtraError\n"
            "params, _ = weights.load(weights.shipped_weights_path())\n"
            "try:\n    interop.to_hooked_transformer(params)\n"
            "except MissingExtraError as e:\n    print('said:', e)\n")
    r = _run("transformer_lens", "-c", code)
    assert r.returncode == 0, r.stderr
    assert "said: TransformerLens interop needs transformer_lens, which is not installed: pip install " \
           "'tms[interop]'" in r.stdout


def test_devinterp_benchmark_without_the_slt_extra_stops_first():
    r = _run("devinterp", "tms.bench.llc", "--repeats", "1")
    assert r.returncode == 1
    assert r.stderr.strip().endswith("needs devinterp, which is not installed: pip install 'tms[slt]' "
                                     "(PyTorch first: pip install torch==2.13.0)"), r.stderr
    assert "λ̂" not in r.stdout  # nothing was estimated before the message
