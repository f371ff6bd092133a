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

