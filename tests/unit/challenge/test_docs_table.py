"""The README's and docs' challenge tables are generated from the committed summary (tms challenge table)."""

import json
from pathlib import Path

import pytest
from skip_helpers import skip_unless_required

from tms.challenge.diagnostics import report as Rp
from tms.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
SUMMARY = ROOT / "figures" / "challenge" / "summary.json"


@pytest.mark.parametrize("doc, name", [("README.md", "headline"), ("docs/challenge.md", "summary")])
def test_committed_tables_are_generated_from_the_committed_summary(doc, name):
    if not SUMMARY.is_file() or not (ROOT / doc).is_file():
        skip_unless_required("not a source checkout")
    res = json.loads(SUMMARY.read_text())
    text = (ROOT / doc).read_text()
    assert Rp.markers(name)[0] in text
    assert Rp.replace_block(text, Rp.GENERATED[name](res), name) == text


def test_table_command_writes_the_blocks(tmp_path, capsys):
    res = Rp.round_significant({"accuracy_full": 0.95, "probe_y": 0.5})
    res["comparison"] = Rp.comparison(res)
    (tmp_path / "summary.json").write_text(json.dumps(res))
    doc = tmp_path / "doc.md"
    doc.write_text(f"a\n{Rp.markers('headline')[0]}\nstale\n{Rp.markers('headline')[1]}\nb\n")
    assert main(["challenge", "table", str(tmp_path / "summary.json"), "--write", str(doc)]) == 0
    text = doc.read_text()
    assert "stale" not in text and "| 98.6% | 95.0% |" in text and "| 78.0% | 50.0% |" in text
    assert main(["challenge", "table", str(tmp_path / "summary.json")]) == 0
    assert "| H&H resampling variant (" in capsys.readouterr().out
    (tmp_path / "plain.md").write_text("no markers\n")
    with pytest.raises(SystemExit, match="markers"):
        main(["challenge", "table", str(tmp_path / "summary.json"), "--write", str(tmp_path / "plain.md")])
