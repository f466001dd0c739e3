"""Issue 13: the command line never destroys a user's file, reads boundedly, and turns every
extreme input into one clear line (or a correct result), never an internal error.

Every case runs in-process through :func:`mapreg.app.cli.main` (the code path of the
subprocess, without its start-up) and checks the exit code, the single line on stderr and
that no file outside the output changed (checksums of the whole folder before and after).
"""

import hashlib
import os
import signal
import stat
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mapreg.app import interrupts
from mapreg.app.cli import main
from mapreg.app.files import (
    MARKER,
    ReportError,
    atomic_directory,
    check_destination,
    check_file_destination,
    foreign_files,
)

SAMPLE = ("--draws", "20", "--tune", "10", "--chains", "1", "-q")


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` (and what it is) with a checksum of its content."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        if stat.S_ISREG(st.st_mode):
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p.relative_to(folder))] = stat.S_IFMT(st.st_mode)
    return out


def write_csv(path: Path, header, rows, sep=",") -> Path:
    path.write_text(sep.join(header) + "\n"
                    + "".join(sep.join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ [1.0, -2.0, 0.0] + rng.standard_normal(40)
    return write_csv(tmp_path / "data.csv", ["a", "b", "c", "y"],
                     [[f"{v:.6f}" for v in (*x, t)] for x, t in zip(X, y, strict=True)])


def labels(tmp_path, name, y):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((len(y), 3))
    return write_csv(tmp_path / name, ["a", "b", "c", "y"],
                     [[f"{v:.6f}" for v in x] + [int(t)] for x, t in zip(X, y, strict=True)])


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code, err, expect=2) -> str:
    assert code == expect, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mapreg: error: "), err
    return lines[0]


def made_by_mapreg(folder: Path, text="old report") -> Path:
    with atomic_directory(folder) as tmp:
        (tmp / "index.html").write_text(text)
        (tmp / "figures").mkdir()
        (tmp / "figures" / "a.png").write_bytes(b"png")
    return folder


# --- 1. files destroyed ----------------------------------------------------------------------

def test_sample_out_is_the_input(capsys, data):
    before = snapshot(data.parent)
    line = one_line(*run(capsys, "sample", data, "--target", "y", "--prior", "laplace",
                         "--scale", 1, "--noise", 1, *SAMPLE, "--out", data)[::2])
    assert "is the input file" in line
    assert snapshot(data.parent) == before


def test_report_into_a_folder_holding_the_input_and_notes(capsys, tmp_path, data):
    res = made_by_mapreg(tmp_path / "res")
    (res / "mydata.csv").write_bytes(data.read_bytes())
    (res / "NOTES.txt").write_text("mine")
    before = snapshot(tmp_path)
    line = one_line(*run(capsys, "report", res / "mydata.csv", "--target", "y", "--prior",
                         "laplace", "--scale", 1, "--noise", 1, *SAMPLE, "--out", res)[::2])
    assert "holds the input file" in line
    # without the input inside, the user's file is still named and kept
    line = one_line(*run(capsys, "report", data, "--target", "y", "--prior", "laplace",
                         "--scale", 1, "--noise", 1, *SAMPLE, "--out", res)[::2])
    assert "files mapreg did not write (NOTES.txt, mydata.csv)" in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["fifo", "symlink", "foreign file"])
def test_sample_out_that_is_not_ours_is_refused(capsys, tmp_path, data, kind):
    target = tmp_path / "out.nc"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        (tmp_path / "elsewhere.nc").write_text("x")
        target.symlink_to(tmp_path / "elsewhere.nc")
    else:
        target.write_text("a thesis")
    before = snapshot(tmp_path)
    line = one_line(*run(capsys, "sample", data, "--target", "y", "--prior", "laplace",
                         "--scale", 1, "--noise", 1, *SAMPLE, "--out", target)[::2])
    assert {"fifo": "is a FIFO", "symlink": "is a symbolic link",
            "foreign file": "not a posterior mapreg wrote"}[kind] in line
    assert snapshot(tmp_path) == before


def test_devices_are_never_replaced():
    # checked directly: a bug here must not be able to replace /dev/null on the test machine
    with pytest.raises(ReportError, match="is a character device"):
        check_file_destination("/dev/null")
    with pytest.raises(ReportError, match="is a character device, not a directory"):
        check_destination("/dev/null")


def test_a_report_folder_is_replaced_only_when_it_holds_only_mapreg_files(tmp_path):
    res = made_by_mapreg(tmp_path / "res")
    assert foreign_files(res) == []
    (res / "figures" / "mine").mkdir()
    (res / "extra.txt").write_text("x")
    assert foreign_files(res) == ["extra.txt", "figures/mine/"]
    with pytest.raises(ReportError, match=r"did not write \(extra.txt, figures/mine/\)"):
        check_destination(res)
    # a legacy marker (before it listed the files): the report's summary.json decides
    old = tmp_path / "old"
    old.mkdir()
    (old / MARKER).write_text("written by mapreg; safe to replace with a newer report\n")
    (old / "summary.json").write_text('{"files": ["index.html", "figures/x.png"]}')
    (old / "index.html").write_text("x")
    (old / "figures").mkdir()
    (old / "figures" / "x.png").write_text("x")
    assert foreign_files(old) == []
    (old / "notes.txt").write_text("mine")
    assert foreign_files(old) == ["notes.txt"]


def test_a_file_that_appears_while_writing_stops_the_replacement(tmp_path):
    res = made_by_mapreg(tmp_path / "res")
    before = snapshot(tmp_path)
    with pytest.raises(ReportError, match=r"NOTES\.txt"), atomic_directory(res) as tmp:
        (tmp / "index.html").write_text("new")
        (res / "NOTES.txt").write_text("written by the user meanwhile")
    assert snapshot(tmp_path) == {**before, "res/NOTES.txt": snapshot(res)["NOTES.txt"]}


def test_report_out_dot_inside_an_existing_report(tmp_path, monkeypatch):
    from mapreg.app.report import write_report

    res = made_by_mapreg(tmp_path / "res")
    monkeypatch.chdir(res)
    path = write_report(".", title="t", subtitle="s", sections=[])
    assert path == res and (res / "index.html").read_text() != "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


# --- 3. unbounded reading --------------------------------------------------------------------

def test_dev_zero_stops_at_once(capsys):
    t0 = time.perf_counter()
    line = one_line(*run(capsys, "verify", "/dev/zero", "--target", "y", "--prior", "laplace",
                         "--scale", 1)[::2])
    assert "NUL bytes" in line and time.perf_counter() - t0 < 5


def test_input_limit_option_and_variable(capsys, data, monkeypatch):
    line = one_line(*run(capsys, "verify", data, "--target", "y", "--prior", "laplace",
                         "--scale", 1, "--max-input", "1K")[::2])
    assert "larger than the input limit of 1 KiB" in line and "--max-input" in line
    monkeypatch.setenv("MAPREG_MAX_INPUT", "1000")
    line = one_line(*run(capsys, "verify", data, "--target", "y", "--prior", "laplace",
                         "--scale", 1)[::2])
    assert "limit of 1000 B" in line and "MAPREG_MAX_INPUT" in line


def test_an_endless_pipe_stops_at_the_limit(tmp_path):
    from mapreg.app.csv import read_csv
    from mapreg.exceptions import DataError

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def feed():
        try:
            with open(fifo, "w") as f:
                f.write("a,y\n")
                while True:
                    f.write("1,2\n" * 1000)
        except (BrokenPipeError, OSError):
            pass

    threading.Thread(target=feed, daemon=True).start()
    with pytest.raises(DataError, match="larger than the input limit of 64 KiB"):
        read_csv(fifo, "y", max_bytes="64K")


def test_memory_check_before_sampling(capsys, data, monkeypatch):
    for flag, value in (("--draws", "1e12"), ("--chains", "1000000000")):
        line = one_line(*run(capsys, "sample", data, "--target", "y", "--prior", "laplace",
                             "--scale", 1, "--noise", 1, flag, value, "-q")[::2])
        assert "of memory for the draws" in line and "lower --draws or --chains" in line
    monkeypatch.setattr("mapreg.app.load.available_memory", lambda: 1000)
    line = one_line(*run(capsys, "sample", data, "--target", "y", "--prior", "laplace",
                         "--scale", 1, "--noise", 1, *SAMPLE)[::2])
    assert "more than the 1000 B available" in line


# --- 4./5./6. extremes: a correct result or one line, never exit 3 ---------------------------

EXTREME = {
    "noise 1e-200": (["--prior", "laplace", "--scale", "1", "--noise", "1e-200"], 2,
                     "--noise 1e-200 is out of range"),
    "noise 1e200": (["--prior", "laplace", "--scale", "1", "--noise", "1e200"], 2,
                    "--noise 1e+200 is out of range"),
    "gaussian scale 1e-200": (["--prior", "gaussian", "--scale", "1e-200", "--noise", "1"], 2,
                              "out of range"),
    "gaussian scale 1e200": (["--prior", "gaussian", "--scale", "1e200", "--noise", "1"], 0,
                             "PASSED: True"),  # a flat prior: OLS, scikit-learn Ridge(alpha=0)
    "gaussian scale 1e308": (["--prior", "gaussian", "--scale", "1e308", "--noise", "1"], 0,
                             "PASSED: True"),  # a flat prior: OLS, scikit-learn Ridge(alpha=0)
    "scale2 1e-200": (["--prior", "elasticnet", "--scale", "1", "--scale2", "1e-200",
                       "--noise", "1"], 2, "--scale2"),
    # nu = 1e300 is numerically the Gaussian limit: a certified (local) mode, computed
    "nu 1e300": (["--prior", "student-t", "--scale", "1", "--nu", "1e300", "--noise", "1"], 0,
                 "PASSED: True"),
    "cauchy scale 1e-300": (["--prior", "cauchy", "--scale", "1e-300", "--noise", "1"], 2,
                            "out of range"),
    "laplace scale 1e308": (["--prior", "laplace", "--scale", "1e308", "--noise", "1"], 2,
                            "out of range"),
    "p 2.0000001": (["--prior", "bridge", "--scale", "1", "--p", "2.0000001", "--noise", "1"], 2,
                    "got 2.0000001"),
}


@pytest.mark.parametrize("case", list(EXTREME))
def test_extreme_options(case, capsys, data):
    argv, expect, text = EXTREME[case]
    before = snapshot(data.parent)
    code, out, err = run(capsys, "verify", data, "--target", "y", *argv)
    if expect == 2:
        assert text in one_line(code, err)
    else:
        assert code == expect, err
        assert text in out
    assert snapshot(data.parent) == before


def test_a_huge_cell_is_one_line_naming_the_column(capsys, tmp_path, data):
    rows = [line.split(",") for line in data.read_text().splitlines()]
    rows[4][1] = "1e308"
    bad = write_csv(tmp_path / "big.csv", rows[0], rows[1:])
    line = one_line(*run(capsys, "verify", bad, "--target", "y", "--prior", "laplace",
                         "--scale", 1, "--noise", 1)[::2])
    assert "column 'b', row 4 (line 5) is 1e+308, too large" in line


def test_all_one_labels_without_intercept_skip_the_witness(capsys, tmp_path):
    ones = labels(tmp_path, "ones.csv", np.ones(40))
    line = one_line(*run(capsys, "verify", ones, "--target", "y", "--family", "bernoulli",
                         "--prior", "laplace", "--scale", 1)[::2])
    assert "use --no-intercept" in line
    code, out, err = run(capsys, "verify", ones, "--target", "y", "--family", "bernoulli",
                         "--prior", "laplace", "--scale", 1, "--no-intercept")
    assert code == 0, err
    assert "scikit-learn: skipped" in out and "only one class" in out and err == ""


def test_semicolon_files_are_read(capsys, tmp_path, data):
    rows = [line.split(",") for line in data.read_text().splitlines()]
    semi = write_csv(tmp_path / "semi.csv", rows[0], rows[1:], sep=";")
    code, out, err = run(capsys, "verify", semi, "--target", "y", "--prior", "laplace",
                         "--scale", 1, "--noise", 1)
    code_c, out_c, _ = run(capsys, "verify", data, "--target", "y", "--prior", "laplace",
                           "--scale", 1, "--noise", 1)
    assert code == code_c == 0, err
    assert out.splitlines()[1:] == out_c.splitlines()[1:]
    (tmp_path / "odd.csv").write_text("a:b:y\n1:2:3\n4:5:6\n")
    line = one_line(*run(capsys, "verify", tmp_path / "odd.csv", "--target", "y", "--prior",
                         "laplace", "--scale", 1)[::2])
    assert "separated by ',', ';', tabs or '|'" in line


def test_a_certificate_cannot_pass_a_point_that_is_not_the_mode(capsys, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 3))
    sep = write_csv(tmp_path / "sep.csv", ["a", "b", "c", "y"],
                    [[f"{v:.6f}" for v in x] + [int(x[0] > 0)] for x in X])
    code, out, err = run(capsys, "verify", sep, "--target", "y", "--family", "bernoulli",
                         "--prior", "laplace", "--scale", "1e100")
    assert code == 1 and "NOT a certified mode" in out and "PASSED: False" in out, err
    code, out, err = run(capsys, "verify", sep, "--target", "y", "--family", "bernoulli",
                         "--prior", "laplace", "--scale", "1")
    assert code == 0 and "NOT a certified mode" not in out, err


def test_a_non_finite_normaliser_makes_the_identity_not_applicable(monkeypatch, diabetes):
    from mapreg import Model
    from mapreg.fit import verify
    from mapreg.priors import make_prior

    model = Model(diabetes.X, diabetes.y, prior=make_prior("laplace", 2.0), noise_sigma=53.0)
    monkeypatch.setattr(verify, "_objective_identity", lambda *a: (float("inf"), float("nan")))
    report = verify.verify_equivalence(model, sklearn=False)
    assert report.passed and not report.identity_applicable
    assert "not applicable" in str(report)


def test_exit_code_3_is_documented():
    from mapreg.app.parser import build_parser

    text = " ".join(build_parser().format_help().split())
    assert "3 an internal error" in text and "130 interrupted" in text
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "3 an internal error" in " ".join(readme.split())


# --- 2. interrupts, in-process ---------------------------------------------------------------

def test_an_interrupt_a_sampler_swallows_still_exits_130(capsys, tmp_path, data, monkeypatch):
    """nutpie catches the Ctrl-C and fails later ("conflicting sizes for dimension 'draw'")."""
    def nutpie_like(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass
        raise ValueError("conflicting sizes for dimension 'draw': length 200 on 'draw' and "
                         "length 0 on {'chain': 'chain', 'draw': 'draw'}")

    res = made_by_mapreg(tmp_path / "res")
    before = snapshot(tmp_path)
    monkeypatch.setattr("mapreg.posterior.sample.sample_posterior", nutpie_like)
    code, _, err = run(capsys, "report", data, "--target", "y", "--prior", "laplace",
                         "--scale", 1, "--noise", 1, *SAMPLE, "--out", res)
    assert code == 130 and err.strip() == interrupts.MESSAGE
    assert snapshot(tmp_path) == before


def test_an_interrupt_swallowed_entirely_is_raised_at_the_next_checkpoint(tmp_path):
    res = made_by_mapreg(tmp_path / "res")
    before = snapshot(tmp_path)
    with interrupts.handling(), pytest.raises(KeyboardInterrupt):
        with atomic_directory(res) as tmp:
            try:  # e.g. inside a ctypes callback: "Exception ignored ..."
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
            except KeyboardInterrupt:
                pass
            (tmp / "index.html").write_text("new")
    assert snapshot(tmp_path) == before


# --- 7. figures readable at any p ------------------------------------------------------------

def test_a_300_feature_map_path_keeps_its_size(tmp_path):
    import matplotlib.pyplot as plt
    from PIL import Image

    from mapreg import plots
    from mapreg.fit.path import PathResult
    from mapreg.priors import make_prior

    rng = np.random.default_rng(0)
    scales = np.geomspace(0.01, 10, 20)
    coef = rng.standard_normal(300) * np.log1p(scales)[:, None]
    n = len(scales)
    result = PathResult(scales, 1 / scales, coef, np.zeros(n), np.zeros(n), np.full(n, 300),
                        np.ones(n, bool), make_prior("laplace", 1.0),
                        tuple(f"feature_{j}" for j in range(300)), "l1", "map")
    fig = plots.map_path(result)
    ax = fig.axes[0]
    named = [t for t in ax.texts if t.get_text().startswith("feature_")]
    assert len(named) == 12 and any("12 largest named" in t.get_text() for t in ax.texts)
    fig.savefig(tmp_path / "map_path.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    width, height = Image.open(tmp_path / "map_path.png").size
    assert width <= 1000 and height <= 700, (width, height)
