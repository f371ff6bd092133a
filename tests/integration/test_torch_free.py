"""PyTorch is optional: the package imports and trains with torch unimportable (blocked by a meta-path finder),
and nothing imports it behind the user's back."""

import subprocess
import sys

SCRIPT = r'''
import importlib.abc
import sys


class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"torch is blocked in this test ({name})")
        return None


sys.meta_path.insert(0, NoTorch())
try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the blocker failed: torch imported")

import numpy as np

import tms
import tms.challenge
import tms.cli
import tms.experiments.reproduce

res = tms.train_grid(n_features=5, n_hidden=2, steps=20, batch_size=32, eval_batch=64, sparsity=[0.0, 0.9],
                     importance=0.9 ** np.arange(5), progress=False)
assert np.all(np.isfinite(res.final_loss)), res.final_loss
census = tms.polytope_census(res.W[:, 0, 0, 0], res.b[:, 0, 0, 0])
assert len(census) == 2
torch_modules = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
assert not torch_modules, torch_modules
print("torch-free ok")
'''


def test_import_and_train_without_torch():
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "torch-free ok" in p.stdout
