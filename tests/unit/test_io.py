"""The ground floor of input and output: atomic writes, strict JSON, the TOML reader, figures, bounded numbers."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tms.errors import TmsError  # noqa: E402
from tms.io import (  # noqa: E402
    BoundsError,
    MissingFileError,
    SettingsFileError,
    atomic_write,
    check_float,
    check_int,
    load_toml,
    parse_toml,
    save_figure,
    write_json,
)


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def fail(f):
        f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, fail)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # no temporary file left behind


def test_write_json_is_strict(tmp_path):
    path = write_json(tmp_path / "x.json", {"a": np.float32(1.5), "b": float("nan"), "c": np.arange(3),
                                            "d": [float("inf"), 2]})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": 1.5, "b": None, "c": [0, 1, 2], "d": [None, 2]}


def test_toml_errors_name_the_file_and_are_tms_errors(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("a = 1\n[t]\nb = 'x'\n")
    doc, text = load_toml(path)
    assert doc == {"a": 1, "t": {"b": "x"}} and text.startswith("a = 1")
    with pytest.raises(MissingFileError, match="nope.toml: no such file"):
        load_toml(tmp_path / "nope.toml")
    with pytest.raises(FileNotFoundError):  # still a FileNotFoundError for callers that catch that
        load_toml(tmp_path / "nope.toml")
    with pytest.raises(SettingsFileError, match=r"my\.toml: not valid TOML"):
        parse_toml("a = ", "my.toml")

    class Mine(TmsError):
        pass

    with pytest.raises(Mine, match="bad.toml"):
        parse_toml("[", "bad.toml", Mine)


@pytest.mark.parametrize("value,lo,hi,ok", [
    (3, 1, None, True), (1, 1, None, True), (0, 1, None, False), (np.int64(5), 0, 5, True), (6, 0, 5, False),
    (True, 0, None, False), (2.0, 0, None, False), ("3", 0, None, False), (-7, None, -7, True),
])
def test_check_int(value, lo, hi, ok):
    if ok:
        assert check_int("steps", value, lo, hi) == int(value)
        assert type(check_int("steps", value, lo, hi)) is int
    else:
        with pytest.raises(BoundsError, match=r"steps must be an integer (>=|in|<=) .*got"):
            check_int("steps", value, lo, hi)


def test_check_int_messages_say_the_range():
    with pytest.raises(BoundsError, match=r"^n_hidden must be an integer >= 1; got 0$"):
        check_int("n_hidden", 0, 1)
    with pytest.raises(BoundsError, match=r"^k must be an integer in \[0, 4\]; got 9$"):
        check_int("k", 9, 0, 4)
    assert issubclass(BoundsError, TmsError) and issubclass(BoundsError, ValueError)


@pytest.mark.parametrize("value,kw,ok", [
    (0.5, dict(lo=0, hi=1), True), (1, dict(lo=0, hi=1), True), (1.0, dict(lo=0, hi=1, hi_open=True), False),
    (0.0, dict(lo=0, lo_open=True), False), (1e-9, dict(lo=0, lo_open=True), True), (float("nan"), {}, False),
    (float("inf"), dict(lo=0), False), (True, {}, False), ("0.1", {}, False), (np.float32(2.5), dict(hi=3), True),
])
def test_check_float(value, kw, ok):
    if ok:
        assert check_float("lr", value, **kw) == pytest.approx(float(value))
    else:
        with pytest.raises(BoundsError, match="lr must be a"):
            check_float("lr", value, **kw)


def test_check_float_messages_say_the_range():
    with pytest.raises(BoundsError, match=r"^sparsity must be a number in \[0, 1\); got 1\.0$"):
        check_float("sparsity", 1.0, 0, 1, hi_open=True)
    with pytest.raises(BoundsError, match=r"^lr must be a number > 0; got -1$"):
        check_float("lr", -1, 0, lo_open=True)


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_save_figure_gives_the_same_bytes_twice(tmp_path, fmt):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    a = save_figure(fig, tmp_path / f"a.{fmt}").read_bytes()
    b = save_figure(fig, tmp_path / "sub" / f"b.{fmt}").read_bytes()
    plt.close(fig)
    assert len(a) > 100 and a == b
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"a.{fmt}", "sub"]  # no temporary file left behind


def test_save_figure_refuses_an_unknown_format(tmp_path):
    fig = plt.figure()
    with pytest.raises(TmsError, match=r"x\.jpg: a figure's format must be one of png, svg, pdf"):
        save_figure(fig, tmp_path / "x.jpg")
    plt.close(fig)
