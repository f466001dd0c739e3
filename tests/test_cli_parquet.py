"""``mapreg verify|sample|path`` on Parquet files: in memory (pyarrow) and out of core (dask).

The reference is the CSV route on the same numbers (the CSV reader is independent of
pyarrow and dask): the printed tables are identical, the fitted models agree to 1e-10, and
bad files stop with one line naming the column and the row, also when the check happens
in the first pass over an out-of-core file.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

from mapreg.app.cli import main  # noqa: E402
from mapreg.app.load import load_model  # noqa: E402
from mapreg.app.parser import build_parser  # noqa: E402
from mapreg.fit.map import find_map  # noqa: E402

N = 400
MODES = {"in-memory": [], "out-of-core": ["--out-of-core"], "over-max-input": ["--max-input",
                                                                             "2K"]}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("pq")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 4)) * [1.0, 3.0, 0.5, 2.0] + [0.0, 5.0, -1.0, 2.0]
    y = X @ [1.0, -0.5, 0.0, 0.2] + rng.normal(size=N)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(
        y=y, sick=(y > np.median(y)).astype(np.int64))
    frame.to_parquet(d / "d.parquet", row_group_size=90)
    frame.to_csv(d / "d.csv", index=False, float_format="%.17g")
    return d, frame


def _out(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _table(text):
    """The coefficient rows of the printed equivalence table (first line: the file name)."""
    return [line for line in text.splitlines()[1:] if "time" not in line]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("argv", [
    ["--target", "y", "--prior", "laplace", "--scale", "0.2", "--noise", "1.5"],
    ["--target", "y", "--prior", "gaussian", "--scale", "0.3", "--standardize"],
    ["--target", "sick", "--family", "bernoulli", "--prior", "laplace", "--scale", "0.5"],
], ids=["laplace-noise", "gaussian-standardize-noise-estimate", "bernoulli"])
def test_verify_equals_the_csv_route(data, capsys, mode, argv):
    d, _ = data
    code_csv, out_csv, _ = _out(capsys, ["verify", str(d / "d.csv"), *argv, "-q"])
    code_pq, out_pq, _ = _out(capsys, ["verify", str(d / "d.parquet"), *argv, *MODES[mode],
                                       "-q"])
    assert code_csv == code_pq == 0
    lines_csv, lines_pq = _table(out_csv), _table(out_pq)
    coef_rows = [i for i, line in enumerate(lines_csv) if line.split()[:1] in (
        ["intercept"], ["a"], ["b"], ["c"], ["d"])]
    assert len(coef_rows) == 5
    for i in coef_rows:  # the printed MAP and penalised columns (scikit-learn's solvers
        # stop at their own tolerance, ~1e-6 apart between two runs on equal data)
        assert lines_pq[i].split()[:3] == lines_csv[i].split()[:3]
    if mode != "in-memory":
        assert "read out of core" in out_pq.splitlines()[0]
    # and beyond the printed digits: the models and their modes
    m_csv, info_csv = load_model(build_parser().parse_args(["verify", str(d / "d.csv"),
                                                             *argv]))
    m_pq, info_pq = load_model(build_parser().parse_args(["verify", str(d / "d.parquet"),
                                                           *argv, *MODES[mode]]))
    assert m_pq.is_dask == (mode != "in-memory")
    assert info_pq["rows"] == info_csv["rows"] == N
    if m_csv.noise_sigma is not None:
        assert m_pq.noise_sigma == pytest.approx(m_csv.noise_sigma, rel=1e-10)
    a, b = find_map(m_csv), find_map(m_pq)
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9, atol=1e-10)
    assert b.intercept == pytest.approx(a.intercept, rel=1e-9, abs=1e-10)


def _bad_file(d, frame, kind):
    f = frame.copy()
    if kind == "nan":
        f["c"] = f["c"].astype(float)
        f.loc[377, "c"] = np.nan  # a late row group
    elif kind == "inf":
        f.loc[250, "y"] = np.inf
    elif kind == "label":
        f.loc[301, "sick"] = 3
    path = d / f"bad-{kind}.parquet"
    f.to_parquet(path, row_group_size=90)
    return path


@pytest.mark.parametrize("mode", ["in-memory", "out-of-core"])
@pytest.mark.parametrize("kind, target, expected", [
    ("nan", "y", r"column 'c', row 378 is (NaN|empty)"),
    ("inf", "y", r"column 'y', row 251 is infinite"),
    ("label", "sick", r"needs labels 0 or 1 in target 'sick', but row 302 is 3"),
    ("missing", "nope", r"no column named 'nope' \(columns: a, b, c, d, y, sick\)"),
])
def test_bad_files_stop_with_one_line(data, capsys, mode, kind, target, expected):
    d, frame = data
    path = d / "d.parquet" if kind == "missing" else _bad_file(d, frame, kind)
    family = ["--family", "bernoulli"] if kind == "label" else ["--noise", "1"]
    code, out, err = _out(capsys, ["verify", str(path), "--target", target, *family,
                                   "--prior", "laplace", "--scale", "1", *MODES[mode], "-q"])
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mapreg: error: ")
    import re

    assert re.search(expected, lines[0]), lines[0]


def test_out_of_core_error_from_the_command_has_no_traceback(data):
    d, frame = data
    path = _bad_file(d, frame, "nan")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.pop("MAPREG_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "mapreg", "sample", str(path), "--target", "y",
                           "--prior", "gaussian", "--scale", "1", "--out-of-core"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("mapreg: error: ")
    assert "column 'c', row 378" in proc.stderr


def test_sample_and_path_out_of_core(data, capsys, tmp_path):
    d, _ = data
    base = ["--target", "y", "--prior", "gaussian", "--scale", "0.5", "--noise", "1", "-q"]
    out_nc = tmp_path / "post.nc"
    code, out, _ = _out(capsys, ["sample", str(d / "d.parquet"), *base, "--out-of-core",
                                 "--draws", "100", "--chains", "2", "--seed", "1",
                                 "--out", str(out_nc)])
    assert code == 0 and "sampler: exact" in out and out_nc.exists()
    code_mem, out_mem, _ = _out(capsys, ["sample", str(d / "d.csv"), *base, "--draws", "100",
                                         "--chains", "2", "--seed", "1"])
    assert code_mem == 0
    # the same i.i.d. draws from the same closed form: identical summary rows
    rows = [line for line in out.splitlines() if line.split()[:1] in (["a"], ["b"], ["d"])]
    rows_mem = [line for line in out_mem.splitlines() if line.split()[:1] in (["a"], ["b"],
                                                                               ["d"])]
    assert rows == rows_mem and len(rows) == 3
    code, out, _ = _out(capsys, ["path", str(d / "d.parquet"), "--target", "y", "--prior",
                                 "laplace", "--scale", "0.5", "--noise", "1", "--out-of-core",
                                 "--n-lambdas", "8", "--folds", "4", "-q"])
    code_mem, out_mem, _ = _out(capsys, ["path", str(d / "d.csv"), "--target", "y", "--prior",
                                         "laplace", "--scale", "0.5", "--noise", "1",
                                         "--n-lambdas", "8", "--folds", "4", "-q"])
    assert code == code_mem == 0
    assert out.splitlines()[-3:] == out_mem.splitlines()[-3:]  # cv-min, cv-1se rows


def test_out_of_core_needs_a_parquet_file(data, capsys):
    d, _ = data
    code, _, err = _out(capsys, ["verify", str(d / "d.csv"), "--target", "y", "--prior",
                                 "laplace", "--scale", "1", "--noise", "1", "--out-of-core"])
    assert code == 2 and "--out-of-core applies to Parquet files" in err
