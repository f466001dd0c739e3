"""The report writer: atomic output, self-contained HTML, failures shown rather than hidden."""

import json

import numpy as np
import pytest

from mapreg.report import (
    FigureSpec,
    ReportError,
    Section,
    atomic_directory,
    atomic_write,
    check_destination,
    table_records,
    write_report,
)


def test_interrupted_report_leaves_nothing_behind(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "index.html").write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_rewrite_replaces_an_earlier_report(tmp_path):
    with atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "stale.png").write_text("old figure")
    with atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "index.html").write_text("new")
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == [".mapreg-report",
                                                                   "index.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_interrupted_rewrite_keeps_the_old_report(tmp_path):
    with atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "index.html").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "index.html").write_text("new, half")
        raise RuntimeError("boom")
    assert (tmp_path / "rep" / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_destination_checks(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ReportError, match="not a directory"):
        check_destination(tmp_path / "file")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ReportError, match="not a mapreg report"):
        check_destination(tmp_path / "mine")
    with pytest.raises(ReportError, match="not a mapreg report"), \
            atomic_directory(tmp_path / "mine"):
        pass
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    check_destination(tmp_path / "new" / "deeper")  # missing parents are fine


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "post.nc"
    target.write_text("old")

    def fail(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["post.nc"]
    atomic_write(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new"


def test_table_records_reads_the_table_shapes_it_meets():
    import pandas as pd

    want = [{"feature": "a", "map": 0.0}, {"feature": "b", "map": 1.5}]
    df = pd.DataFrame({"map": [0.0, 1.5]}, index=pd.Index(["a", "b"], name="feature"))
    assert table_records(df) == want
    assert table_records({"feature": ["a", "b"], "map": [0.0, 1.5]}) == want
    assert table_records(want) == want


def test_failed_figure_is_reported_and_html_is_escaped(tmp_path):
    import matplotlib.pyplot as plt

    def good():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        return fig

    def bad():
        raise ValueError("no lasso path <here>")

    out = write_report(
        tmp_path / "rep", title="t <&>", subtitle="s",
        sections=[Section("Numbers", "text", ("name", "value"), [("x<1>", np.float64(0.5))])],
        figures=[FigureSpec("good", "Good", "a line", good),
                 FigureSpec("bad", "Bad", "never drawn", bad)],
        summary={"value": np.float64(2.0), "flag": np.bool_(True)})
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<title>t &lt;&amp;&gt;</title>" in html
    assert "<td>x&lt;1&gt;</td><td>0.5</td>" in html
    assert "could not be drawn: ValueError: no lasso path &lt;here&gt;" in html
    assert 'src="figures/good.png"' in html and "figures/bad.png" not in html
    assert (out / "figures" / "good.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["value"] == 2.0 and summary["flag"] is True
    assert summary["figures_failed"] == {"bad": "ValueError: no lasso path <here>"}
    assert summary["files"] == ["index.html", "summary.json", "figures/good.png"]
