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
    assert main(["train", "--init-scale", "0", "--out", str(tmp_path / "bad_init")]) == 2
    assert "init_scale must be a number > 0" in capsys.readouterr().err
    assert not (tmp_path / "bad_init").exists()


def test_cli_train_init_scale(tmp_path):
    """``--init-scale`` reaches the run: its stored config carries it, and 0 steps would leave the weights at
    the scaled initialisation, so one step's weights are near a quarter of the default run's."""
    import numpy as np

    from tms.cli import main
    from tms.io import read_json

    for name, scale in (("one", "1"), ("quarter", "0.25")):
        assert main(["train", "-n", "6", "-m", "3", "--steps", "1", "--batch-size", "8", "--init-scale", scale,
                     "--out", str(tmp_path / name)]) == 0
    assert read_json(tmp_path / "quarter" / "config.json")["static"]["init_scale"] == 0.25
    W1 = np.load(tmp_path / "one" / "arrays.npz")["W"]
    Wq = np.load(tmp_path / "quarter" / "arrays.npz")["W"]
    np.testing.assert_allclose(Wq, 0.25 * W1, atol=2.5e-3)  # one Adam step moves each weight by <= lr = 1e-3


def test_plot_cli_draws_what_fits_a_folder(tmp_path):
    from tms.cli import main

    assert main(["train", "-n", "5", "-m", "2", "--sparsity", "0", "0.9", "--steps", "50", "--batch-size", "64",
                 "--snapshots", "4", "--log-every", "10", "--out", str(tmp_path / "run")]) == 0
    assert main(["plot", str(tmp_path / "run"), "--format", "svg"]) == 0
    names = sorted(p.name for p in (tmp_path / "run" / "figures").iterdir())
    assert names == ["census.svg", "dynamics.svg", "vectors.svg"]
    assert main(["plot", str(tmp_path / "nothing")]) == 2

