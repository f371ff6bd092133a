"""The experiment registry: shipped sweeps, names, tms reproduce list, tms sweep init."""

from importlib import resources

import pytest


def test_shipped_sweep_files_validate():
    from tms.experiments.registry import shipped_spec, shipped_sweeps

    names = shipped_sweeps()
    assert len(names) >= 7
    for name in names:
        spec = shipped_spec(name)
        assert spec.n_chunks >= 1 and spec.name == name and spec.summary()



def test_every_experiment_names_shipped_sweeps():
    from tms.experiments import reproduce  # noqa: F401  (registers the experiments)
    from tms.experiments.registry import EXPERIMENTS, shipped_sweeps

    shipped = set(shipped_sweeps())
    assert {"intro", "varying_sparsity", "phase_n2m1", "phase_n3m2", "feature_geometry", "dynamics",
            "census"} <= set(EXPERIMENTS)
    for name, exp in EXPERIMENTS.items():
        assert exp.name == name and exp.description, name
        assert set(exp.sweeps) <= shipped, (name, exp.sweeps)
    used = {s for exp in EXPERIMENTS.values() for s in exp.sweeps}
    assert used <= shipped


def test_registering_a_name_twice_fails():
    from tms.experiments import reproduce  # noqa: F401
    from tms.experiments.registry import get, register

    with pytest.raises(ValueError, match="registered twice"):
        register("intro", ["intro"])(lambda ctx: ([], {}))
    with pytest.raises(ValueError, match="unknown experiment 'nope'.*intro"):
        get("nope")


def test_reproduce_list_prints_every_name(capsys):
    from tms.cli import main
    from tms.experiments.registry import EXPERIMENTS

    assert main(["reproduce", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "all"
    assert [line.split()[0] for line in lines[1:]] == list(EXPERIMENTS)
    for line, exp in zip(lines[1:], EXPERIMENTS.values()):
        assert exp.description in line


def test_sweep_init_writes_the_shipped_file_and_refuses_to_overwrite(tmp_path, capsys):
    from tms.cli import main
    from tms.experiments.registry import sweep_text

    dest = tmp_path / "mine.toml"
    assert main(["sweep", "init", "intro", str(dest)]) == 0
    assert dest.read_text() == sweep_text("intro")
    assert dest.read_bytes() == (resources.files("tms.experiments") / "sweeps" / "intro.toml").read_bytes()
    dest.write_text("# edited\n" + sweep_text("intro"))
    capsys.readouterr()
    assert main(["sweep", "init", "intro", str(dest)]) == 2
    assert "exists" in capsys.readouterr().err
    assert dest.read_text().startswith("# edited")  # untouched
    assert main(["sweep", "init", "intro", str(dest), "--overwrite"]) == 0
    assert dest.read_text() == sweep_text("intro")
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main(["sweep", "init", "phase_n2m1", str(folder)]) == 0
    assert (folder / "phase_n2m1.toml").read_text() == sweep_text("phase_n2m1")
    assert main(["sweep", "init", "intros", str(tmp_path / "x.toml")]) == 2
    assert "no shipped sweep 'intros'" in capsys.readouterr().err


def test_sweep_run_dry_run_with_a_shipped_name(tmp_path, monkeypatch, capsys):
    from tms.cli import main

    monkeypatch.chdir(tmp_path)  # no file called "intro" here: the name is the shipped sweep's
    assert main(["sweep", "run", "intro", "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("intro: 6 cells x 1 seed(s) x 8 restart(s) = 48 models, 10000 steps")
    assert "1 chunk(s) of 6 cells" in out and "estimated" in out
    assert not (tmp_path / "o").exists()
