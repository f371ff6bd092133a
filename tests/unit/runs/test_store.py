"""The resumable results store: resuming equals an uninterrupted run, a finished chunk is never retrained,
a different sweep is refused, a real SIGKILL midway."""

import numpy as np
import pytest
from sweep_helpers import TINY, run_killed_after_first_chunk, write
from sweep_helpers import cli as _cli

from tms.runs.backends import LocalBackend
from tms.runs.spec import load_spec
from tms.runs.store import load, run_sweep, show


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    full = run_sweep(spec, tmp_path / "full", progress=False)
    assert run_sweep(spec, tmp_path / "part", progress=False, stop_after=2) is None
    assert len(list((tmp_path / "part" / "chunks").glob("*.npz"))) == 2
    with pytest.raises(FileNotFoundError, match="not finished"):
        load(tmp_path / "part")
    resumed = run_sweep(spec, tmp_path / "part", progress=False)
    for k, v in full.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[k], v)
    back = load(tmp_path / "part")
    assert back.to_frame().equals(full.to_frame())
    head = show(tmp_path / "part").split("\n")[0]
    assert head.startswith(f"{tmp_path / 'part'}: n=4, m=2, relu, 60 steps x batch 64, adam/constant, 2 restart(s)")


def test_different_spec_is_refused_unless_overwrite(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    run_sweep(spec, tmp_path / "out", progress=False, stop_after=1)
    other = load_spec(write(tmp_path, TINY.replace("steps = 60", "steps = 40"), "other.toml"))
    with pytest.raises(FileExistsError, match="different sweep"):
        run_sweep(other, tmp_path / "out", progress=False)
    res = run_sweep(other, tmp_path / "out", progress=False, overwrite=True)
    assert res.static.steps == 40
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(FileExistsError, match=r"junk holds files tms did not write \(file.txt\)"):
        run_sweep(spec, tmp_path / "junk", progress=False, overwrite=True)
    assert (tmp_path / "junk" / "file.txt").read_text() == "x"


def test_kill_9_midway_then_resume(tmp_path):
    """A real interruption: the process is killed with SIGKILL after its first chunk lands on disk."""
    text = (TINY.replace("steps = 60", "steps = 3000").replace("chunk_size = 3", "chunk_size = 1")
            .replace("num = 5", "num = 4").replace("decay = [0.9, 0.7]", "decay = 0.9"))  # 4 chunks of 1 cell
    spec_path = write(tmp_path, text)
    out = tmp_path / "out"
    finished = run_killed_after_first_chunk(spec_path, out)
    assert 1 <= finished < 4  # killed midway (a loaded machine may land a second chunk before the kill)
    r = _cli("sweep", "run", str(spec_path), "--out", str(out))
    stdout, stderr = r.communicate(timeout=300)
    assert r.returncode == 0, stderr
    resumed = load(out)
    ref = run_sweep(load_spec(spec_path), tmp_path / "ref", progress=False)
    for k, v in ref.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[k], v)


def test_ctrl_c_midway_says_so_in_one_line_keeps_the_finished_chunks_and_resumes(tmp_path):
    """Ctrl-C (SIGINT) while chunks train side by side: one line on stderr, no traceback, exit 130 at once (the
    chunk still training is dropped, not waited for); what finished is on disk and the same command resumes."""
    import signal
    import subprocess
    import sys
    import time

    text = (TINY.replace("steps = 60", "steps = 50000").replace("chunk_size = 3", "chunk_size = 1")
            .replace("num = 5", "num = 3").replace("decay = [0.9, 0.7]", "decay = 0.9"))  # 3 chunks of 1 cell, ~3 s each
    spec_path = write(tmp_path, text)
    out = tmp_path / "out"
    # SIGINT as a terminal sends it, to Python's own handler (a pytest-xdist worker ignores SIGINT, and an ignored
    # signal stays ignored in its children, so the child puts the handler back)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from tms.cli.main import main; sys.exit(main(sys.argv[1:]))")
    p = subprocess.Popen([sys.executable, "-c", code, "sweep", "run", str(spec_path), "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    chunks = out / "chunks"
    while not (chunks.exists() and any(chunks.glob("*.npz"))):
        assert p.poll() is None, p.communicate()
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    stderr = p.communicate(timeout=60)[1]
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "terminate" not in stderr, stderr
    assert stderr.splitlines()[-1].endswith("tms sweep: interrupted; what had finished is kept (the same command resumes)")
    assert 1 <= len(list(chunks.glob("*.npz"))) < 3
    r = _cli("sweep", "run", str(spec_path), "--out", str(out))
    _, stderr = r.communicate(timeout=300)
    assert r.returncode == 0, stderr
    ref = run_sweep(load_spec(spec_path), tmp_path / "ref", progress=False)
    for k, v in ref.arrays.items():
        np.testing.assert_array_equal(load(out).arrays[k], v)


def test_resume_trains_only_the_unfinished_chunks(tmp_path, monkeypatch):
    """The merged result is the same either way, so count the chunks actually trained."""
    import tms.runs.kinds.grid as grid_module  # the grid kind trains its chunks with run_chunk

    trained = []
    real = grid_module.run_chunk

    def counting(fn, static, grid, index, chunk_size, keys):
        trained.append(index.tolist())
        return real(fn, static, grid, index, chunk_size, keys)

    monkeypatch.setattr(grid_module, "run_chunk", counting)
    spec = load_spec(write(tmp_path, TINY))  # 10 cells in chunks of 3: 4 chunks
    one = LocalBackend(concurrent=1)  # one chunk after another, so the order is known (side by side: test_backends)
    assert run_sweep(spec, tmp_path / "out", progress=False, stop_after=3, backend=one) is None
    assert trained == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    trained.clear()
    run_sweep(spec, tmp_path / "out", progress=False, backend=one)
    assert trained == [[9]]  # only the unfinished chunk
    trained.clear()
    again = run_sweep(spec, tmp_path / "out", progress=False, backend=one)  # everything finished: nothing retrained
    assert trained == []
    assert again.to_frame().equals(load(tmp_path / "out").to_frame())
