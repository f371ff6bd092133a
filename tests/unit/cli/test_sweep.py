"""tms sweep: dry runs, errors in sweep files, shipped sweep names."""

import os
import subprocess
import sys

TINY = """
name = "tiny"
[model]
n_features = 4
n_hidden = 2
[data]
density = { log = [1.0, 0.05], num = 5 }
importance = { decay = [0.9, 0.7] }
[train]
steps = 60
batch_size = 64
restarts = 2
seeds = [0, 3]
eval_batch = 256
[run]
chunk_size = 3
"""


def write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _cli(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "tms.cli", *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_dry_run_and_show_cli(tmp_path):
    spec_path = write(tmp_path, TINY)
    p = _cli("sweep", "run", str(spec_path), "--out", str(tmp_path / "o"), "--dry-run")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert "10 cells x 2 seed(s) x 2 restart(s)" in out and "4 chunk(s)" in out and "estimated" in out
    assert not (tmp_path / "o").exists()
    p = _cli("sweep", "run", str(write(tmp_path, TINY.replace("[train]", "[train]\nlr = 'fast'"), "b.toml")),
             "--out", str(tmp_path / "o"))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "train.lr" in err

