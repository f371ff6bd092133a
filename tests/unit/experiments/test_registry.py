"""The experiment registry: shipped sweeps, names, tms reproduce list, tms sweep init."""


def test_shipped_sweep_files_validate():
    from tms.experiments.registry import shipped_spec, shipped_sweeps

    names = shipped_sweeps()
    assert len(names) >= 7
    for name in names:
        spec = shipped_spec(name)
        assert spec.grid.n_cells >= 1 and spec.name == name

