"""tms sweep: dry runs, errors in sweep files, shipped sweep names."""

from sweep_helpers import TINY, write
from sweep_helpers import cli as _cli


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

