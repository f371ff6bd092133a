"""The command line: tms train, tms plot."""


def test_cli_train(tmp_path, capsys):
    from tms.cli import main

    rc = main(["train", "-n", "4", "-m", "2", "--sparsity", "0", "0.9", "--importance-decay", "0.9",
               "--steps", "50", "--batch-size", "64", "--out", str(tmp_path / "run")])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.count("loss") == 2 and "sparsity=0.9" in out
    assert (tmp_path / "run" / "table.csv").exists()
    assert main(["train", "--sparsity", "1.5", "--out", str(tmp_path / "bad")]) == 2
    assert "sparsity must lie in [0, 1)" in capsys.readouterr().err


def test_plot_cli_draws_what_fits_a_folder(tmp_path):
    from tms.cli import main

    assert main(["train", "-n", "5", "-m", "2", "--sparsity", "0", "0.9", "--steps", "50", "--batch-size", "64",
                 "--snapshots", "4", "--log-every", "10", "--out", str(tmp_path / "run")]) == 0
    assert main(["plot", str(tmp_path / "run"), "--format", "svg"]) == 0
    names = sorted(p.name for p in (tmp_path / "run" / "figures").iterdir())
    assert names == ["census.svg", "dynamics.svg", "vectors.svg"]
    assert main(["plot", str(tmp_path / "nothing")]) == 2

