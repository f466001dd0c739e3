"""The ``mapreg`` command line, run as a real subprocess: exit codes, messages, files."""

import dataclasses
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from mapreg.app.parser import UsageError
from mapreg.datasets import load_diabetes

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
ENV.pop("MAPREG_DEBUG", None)


def run(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "mapreg", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=ENV, timeout=timeout)


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    raw = load_diabetes(standardize=False, center_y=False)
    write_csv(d / "diabetes.csv", [*raw.feature_names, "y"],
              [[*(f"{v:.10g}" for v in x), f"{t:g}"] for x, t in zip(raw.X, raw.y, strict=True)])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 3))
    label = (X[:, 0] - X[:, 1] + rng.standard_normal(150) > 0).astype(int)
    write_csv(d / "labels.csv", ["a", "b", "c", "sick"],
              [[f"{v:.6f}" for v in x] + [t] for x, t in zip(X, label, strict=True)])
    return d


def one_line_error(proc):
    """The process failed with exactly one line on stderr and no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("mapreg: error: ")
    return lines[0]


def test_help_names_every_command():
    proc = run("--help")
    assert proc.returncode == 0
    for cmd in ("demo", "verify", "sample", "report", "path", "compare"):
        assert re.search(rf"^\s+{cmd}\s", proc.stdout, re.M), cmd
    proc = run("verify", "--help")
    assert proc.returncode == 0
    for flag in ("--target", "--family", "--prior", "--scale", "--noise", "--no-intercept",
                 "--standardize", "--quiet", "--scale2", "--p", "--nu"):
        assert flag in proc.stdout
    text = " ".join(proc.stdout.split())  # argparse wraps the help text
    for prior in ("laplace", "gaussian", "elasticnet", "bridge", "student-t", "cauchy",
                  "horseshoe"):
        assert prior in text, prior
    assert "0 < p <= 2" in text and "local mode" in text and "verify refuses it" in text


def test_the_parser_reads_the_prior_registry(tmp_path, capsys):
    # A prior registered before the parser is built is a --prior choice; its options become
    # flags (required or with their default), and the help's table of priors lists it.
    from dataclasses import dataclass

    from mapreg.app.cli import build_parser, build_prior, main
    from mapreg.priors import PRIORS, GeneralizedNormal, Option, register_prior

    @dataclass(frozen=True)
    class Power(GeneralizedNormal):
        """A test prior: the bridge with its exponent called --power."""

        name = "power-test"
        options = (Option("power", "p", "the exponent, 0 < p <= 2"),)

    register_prior(Power)
    try:
        parser = build_parser()
        help_text = " ".join(parser.format_help().split())
        assert "power-test --scale ALPHA, --power P" in help_text
        assert "A test prior: the bridge with its exponent called --power." in help_text
        assert "non-convex for some option values" in help_text
        args = parser.parse_args(["verify", "x.csv", "--target", "y", "--prior", "power-test",
                                  "--scale", "2", "--power", "0.5"])
        assert build_prior(args) == Power(2.0, 0.5)
        (tmp_path / "d.csv").write_text("a,y\n1,0\n2,1\n")
        for argv, message in [
            (["--prior", "power-test", "--scale", "1"],
             "mapreg: error: --prior power-test needs --power (the exponent, 0 < p <= 2)\n"),
            (["--prior", "laplace", "--scale", "1", "--power", "1"],
             "mapreg: error: --power applies only to --prior power-test, not laplace\n"),
            (["--prior", "power-test", "--scale", "1", "--power", "4"],
             "mapreg: error: --power: GeneralizedNormal exponent p must lie in (0, 2], "
             "got 4.0\n"),
        ]:
            assert main(["verify", str(tmp_path / "d.csv"), "--target", "y", *argv]) == 2
            assert capsys.readouterr().err == message
    finally:
        PRIORS.pop("power-test")
    with pytest.raises(UsageError, match="invalid choice: 'power-test'"):
        build_parser().parse_args(["verify", "x.csv", "--target", "y", "--prior",
                                   "power-test", "--scale", "1"])


def _table_row(stdout, name):
    m = re.search(rf"^{name}\s+(\S+)\s+(\S+)\s+(\S+)$", stdout, re.M)
    assert m, stdout
    return [float(v) for v in m.groups()]


def test_verify_diabetes_prints_lasso_coefficients(files):
    from sklearn.linear_model import Lasso

    proc = run("verify", files / "diabetes.csv", "--target", "y", "--prior", "laplace",
               "--scale", 2, "--noise", 53, "--standardize")
    assert proc.returncode == 0, proc.stderr
    assert "PASSED: True" in proc.stdout
    d = load_diabetes(center_y=False)
    ref = Lasso(alpha=53.0**2 / (442 * 2.0), tol=1e-14, max_iter=100_000).fit(d.X, d.y)
    for j, name in enumerate(d.feature_names):
        map_v, pen_v, _ = _table_row(proc.stdout, name)
        assert map_v == pytest.approx(ref.coef_[j], abs=1e-4)  # 6 printed digits
        assert pen_v == map_v
    assert _table_row(proc.stdout, "intercept")[0] == pytest.approx(ref.intercept_, abs=1e-3)


def test_verify_bernoulli_without_intercept(files):
    from sklearn.linear_model import LogisticRegression

    proc = run("verify", files / "labels.csv", "--target", "sick", "--family", "bernoulli",
               "--prior", "gaussian", "--scale", 0.5, "--no-intercept", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --quiet
    data = np.loadtxt(files / "labels.csv", delimiter=",", skiprows=1)
    ref = LogisticRegression(C=0.25, fit_intercept=False, tol=1e-12).fit(data[:, :3], data[:, 3])
    for j, name in enumerate("abc"):
        assert _table_row(proc.stdout, name)[0] == pytest.approx(ref.coef_[0, j], abs=1e-5)
    assert _table_row(proc.stdout, "intercept")[0] == 0.0


def _map_column(stdout, name):
    """The MAP column of the verify table (scikit-learn's may be '-')."""
    m = re.search(rf"^{name}\s+(\S+)\s+(\S+)\s+(\S+)$", stdout, re.M)
    assert m, stdout
    return float(m.group(1))


def test_verify_elasticnet_matches_sklearn_elasticnet(files):
    from sklearn.linear_model import ElasticNet

    from mapreg.fit.conversions import elasticnet_params
    from mapreg.priors import Gaussian, Laplace

    proc = run("verify", files / "diabetes.csv", "--target", "y", "--prior", "elasticnet",
               "--scale", 2, "--scale2", 5, "--noise", 53, "--standardize", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "PASSED: True" in proc.stdout
    # lam = 1/b = 0.5, lam2 = 1/(2 sigma^2) = 0.02
    assert "penalty: elasticnet(lam=0.5, lam2=0.02)" in proc.stdout
    assert "local mode" not in proc.stdout  # convex: the global mode
    # scikit-learn: alpha l1_ratio = s^2/(n b), alpha (1 - l1_ratio) = s^2/(n sigma^2)
    alpha, l1_ratio = 53.0**2 / 442 * (1 / 2.0 + 1 / 5.0**2), 25 / 27
    assert elasticnet_params(Laplace(2.0), Gaussian(5.0), 53.0, 442) == pytest.approx(
        (alpha, l1_ratio), rel=1e-12)
    d = load_diabetes(center_y=False)
    ref = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=100_000).fit(d.X, d.y)
    for j, name in enumerate(d.feature_names):
        map_v, pen_v, sk_v = _table_row(proc.stdout, name)
        assert map_v == pytest.approx(ref.coef_[j], abs=1e-4)  # 6 printed digits
        assert pen_v == map_v
        assert sk_v == pytest.approx(ref.coef_[j], abs=1e-4)
    assert _table_row(proc.stdout, "intercept")[0] == pytest.approx(ref.intercept_, abs=1e-3)


def test_verify_bridge_below_one_is_a_certified_local_mode(files):
    proc = run("verify", files / "diabetes.csv", "--target", "y", "--prior", "bridge",
               "--scale", 2, "--p", 0.5, "--noise", 53, "--standardize", "-q")
    assert proc.returncode == 0, proc.stderr
    # lam = alpha**-p = 2**-0.5
    assert "penalty: bridge(lam=0.707107, p=0.5) [non-convex: local modes]" in proc.stdout
    assert re.search(r"the bridge prior \(bridge penalty\) is non-convex: the MAP is a certified "
                     r"local mode", proc.stdout)
    # An independent witness: the printed coefficients are stationary where non-zero,
    # X_j'(y - Xw - w0) / s^2 = lam p |w_j|^(p-1) sign(w_j).
    d = load_diabetes(center_y=False)
    w = np.array([_map_column(proc.stdout, n) for n in d.feature_names])
    w0 = _map_column(proc.stdout, "intercept")
    assert 0 < np.count_nonzero(w) < len(w)  # sparse, but not empty
    grad = d.X.T @ (d.y - d.X @ w - w0) / 53.0**2
    nz = w != 0
    force = 2.0**-0.5 * 0.5 * np.abs(w[nz]) ** -0.5 * np.sign(w[nz])
    np.testing.assert_allclose(grad[nz], force, rtol=1e-2)


def test_verify_student_t_says_local_mode(files, capsys):
    from mapreg.app.cli import main

    rc = main(["verify", str(files / "diabetes.csv"), "--target", "y", "--prior", "student-t",
               "--scale", "2", "--nu", "3", "--noise", "53", "--standardize", "-q"])
    out = capsys.readouterr().out
    assert rc == 0, out
    # lam = (nu + 1)/2 = 2, delta = nu s^2 = 12
    assert "penalty: log(lam=2, delta=12) [non-convex: local modes]" in out
    assert "student-t prior (log penalty) is non-convex: the MAP is a certified local mode" in out
    d = load_diabetes(center_y=False)
    w = np.array([_map_column(out, n) for n in d.feature_names])
    w0 = _map_column(out, "intercept")
    grad = d.X.T @ (d.y - d.X @ w - w0) / 53.0**2
    np.testing.assert_allclose(grad, 2 * 2.0 * w / (12.0 + w**2), rtol=1e-2, atol=1e-4)


def test_verify_refuses_the_horseshoe(files):
    line = one_line_error(run("verify", files / "diabetes.csv", "--target", "y", "--prior",
                              "horseshoe", "--scale", 1, "--noise", 53))
    assert "horseshoe has no posterior mode and no penalty" in line
    assert "'mapreg sample' or 'mapreg report'" in line


def test_verify_exit_code_is_1_when_the_check_fails(files, monkeypatch, capsys):
    import mapreg.fit.verify
    from mapreg.app.cli import main

    real = mapreg.fit.verify.verify_equivalence
    monkeypatch.setattr(mapreg.fit.verify, "verify_equivalence",
                        lambda m: dataclasses.replace(real(m), passed=False))
    rc = main(["verify", str(files / "diabetes.csv"), "--target", "y", "--prior", "laplace",
               "--scale", "2", "-q"])
    assert rc == 1
    assert "did not pass" in capsys.readouterr().err


def test_missing_noise_uses_least_squares_residual_sd(files):
    from sklearn.linear_model import LinearRegression

    proc = run("verify", files / "diabetes.csv", "--target", "y", "--prior", "gaussian",
               "--scale", 10)
    assert proc.returncode == 0, proc.stderr
    raw = load_diabetes(standardize=False, center_y=False)
    resid = raw.y - LinearRegression().fit(raw.X, raw.y).predict(raw.X)
    s = np.sqrt(resid @ resid / (442 - 11))
    assert f"residual sd {s:.4g}" in proc.stderr


# --- bad input: one line, naming the problem, exit code 2 -----------------------------------

LAPLACE = ("--prior", "laplace", "--scale", "1")
CASES = {
    "missing file": (None, ("--target", "y", *LAPLACE), r"nope\.csv: no such file"),
    "not a CSV (binary)": (b"\x89PNG\r\n\x1a\n\xff\xfe\x00", ("--target", "y", *LAPLACE),
                           r"cannot read as CSV: not UTF-8 text"),
    "empty file": ("", ("--target", "y", *LAPLACE), r"cannot read as CSV: the file is empty"),
    "ragged rows": ("a,b,y\n1,2,3\n4,5\n", ("--target", "y", *LAPLACE),
                    r"line 3 has 2 fields but the header has 3"),
    "unknown target": ("a,b,y\n1,2,3\n4,5,6\n", ("--target", "Y", *LAPLACE),
                       r"no column named 'Y' \(columns: a, b, y\)"),
    "non-numeric cell": ("a,b,y\n1,2,3\n4,abc,6\n7,8,9\n", ("--target", "y", *LAPLACE),
                         r"column 'b', row 2 \(line 3\): 'abc' is not a number"),
    "empty cell": ("a,b,y\n1,2,3\n4,,6\n7,8,9\n", ("--target", "y", *LAPLACE),
                   r"column 'b', row 2 \(line 3\) is empty"),
    "NaN cell": ("a,b,y\n1,2,3\n4,5,6\nNaN,8,9\n", ("--target", "y", *LAPLACE),
                 r"column 'a', row 3 \(line 4\) is NaN"),
    "inf cell": ("a,b,y\n1,2,3\n4,5,inf\n7,8,9\n", ("--target", "y", *LAPLACE),
                 r"column 'y', row 2 \(line 3\) is infinite"),
    "bernoulli label 2": ("a,y\n1,0\n2,1\n3,2\n", ("--target", "y", "--family", "bernoulli",
                                                   *LAPLACE),
                          r"--family bernoulli needs labels 0 or 1 in target 'y', but row 3 "
                          r"\(line 4\) is 2"),
    "poisson negative count": ("a,y\n1,0\n2,-1\n3,2\n", ("--target", "y", "--family", "poisson",
                                                        *LAPLACE),
                               r"--family poisson needs non-negative integer counts in target "
                               r"'y', but row 2 \(line 3\) is -1"),
    "poisson non-integer count": ("a,y\n1,0\n2,1.5\n3,2\n", ("--target", "y", "--family",
                                                            "poisson", *LAPLACE),
                                  r"non-negative integer counts .* row 2 \(line 3\) is 1\.5"),
    "zero scale": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "laplace", "--scale", "0"),
                   r"--scale must be a positive finite number, got 0"),
    "negative scale": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "gaussian", "--scale",
                                           "-2"),
                       r"--scale must be a positive finite number, got -2"),
    "zero noise": ("a,y\n1,0\n2,1\n", ("--target", "y", *LAPLACE, "--noise", "0"),
                   r"--noise must be a positive finite number, got 0"),
    "negative noise": ("a,y\n1,0\n2,1\n", ("--target", "y", *LAPLACE, "--noise", "-1"),
                       r"--noise must be a positive finite number, got -1"),
    "one row": ("a,y\n1,2\n", ("--target", "y", *LAPLACE),
                r"need at least 2 data rows, found 1"),
    "noise with bernoulli": ("a,y\n1,0\n2,1\n", ("--target", "y", "--family", "bernoulli",
                                                 *LAPLACE, "--noise", "1"),
                             r"--noise applies only to --family gaussian"),
    "missing --target": ("a,y\n1,0\n2,1\n", LAPLACE,
                         r"the following arguments are required: --target"),
    "unknown prior": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "lasso", "--scale", "1"),
                      r"argument --prior: invalid choice: 'lasso'"),
    # the wider prior family: each extra option missing, misplaced or out of range
    "bridge p too large": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "bridge",
                                                 "--scale", "1", "--p", "3"),
                           r"^mapreg: error: --p: .*exponent p must lie in \(0, 2\], got 3\.0$"),
    "bridge p zero": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "bridge", "--scale", "1",
                                            "--p", "0"),
                      r"--p: .*exponent p must be a positive finite number, got 0\.0$"),
    "bridge without p": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "bridge", "--scale",
                                               "1"),
                         r"--prior bridge needs --p \(the exponent, 0 < p <= 2\)$"),
    "p with laplace": ("a,y\n1,0\n2,1\n", ("--target", "y", *LAPLACE, "--p", "1"),
                       r"--p applies only to --prior bridge, not laplace$"),
    "elasticnet without scale2": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior",
                                                        "elasticnet", "--scale", "1"),
                                  r"--prior elasticnet needs --scale2 \(sigma of the Gaussian "
                                  r"factor, > 0\)$"),
    "negative scale2": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "elasticnet",
                                              "--scale", "1", "--scale2", "-1"),
                        r"--scale2: .*Gaussian scale sigma must be a positive finite number, "
                        r"got -1\.0$"),
    "scale2 with gaussian": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "gaussian",
                                                   "--scale", "1", "--scale2", "2"),
                             r"--scale2 applies only to --prior elasticnet, not gaussian$"),
    "student-t without nu": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "student-t",
                                                   "--scale", "1"),
                             r"--prior student-t needs --nu \(degrees of freedom, > 0\)$"),
    "zero nu": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "student-t", "--scale", "1",
                                      "--nu", "0"),
                r"--nu: .*nu must be a positive finite number, got 0\.0$"),
    "nu with cauchy": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "cauchy", "--scale",
                                             "1", "--nu", "2"),
                       r"--nu applies only to --prior student-t, not cauchy$"),
    "bridge zero scale": ("a,y\n1,0\n2,1\n", ("--target", "y", "--prior", "bridge", "--scale",
                                                "0", "--p", "0.5"),
                          r"--scale must be a positive finite number, got 0$"),
}


# Each bad input runs once through a real subprocess; a few more variants of the same
# checks run in-process (same code path, without the interpreter start-up).
IN_PROCESS = ("empty file", "negative scale", "zero noise", "noise with bernoulli",
              "unknown prior", "bridge p zero", "bridge without p", "p with laplace",
              "negative scale2", "scale2 with gaussian", "zero nu", "nu with cauchy",
              "bridge zero scale")
BAD = {k: v for k, v in CASES.items() if k not in IN_PROCESS}


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gives_one_line_and_exit_2(case, tmp_path):
    content, args, pattern = BAD[case]
    _write(tmp_path / "nope.csv", content)
    line = one_line_error(run("verify", tmp_path / "nope.csv", *args, cwd=tmp_path))
    assert re.search(pattern, line), line


@pytest.mark.parametrize("case", IN_PROCESS)
def test_more_bad_input_in_process(case, tmp_path, capsys):
    from mapreg.app.cli import main

    content, args, pattern = CASES[case]
    _write(tmp_path / "nope.csv", content)
    assert main(["verify", str(tmp_path / "nope.csv"), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("mapreg: error: "), err
    assert re.search(pattern, err), err


def test_bad_input_is_caught_before_sampling_and_writes_nothing(tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n1,0\n2,x\n")
    line = one_line_error(run("report", "d.csv", "--target", "y", *LAPLACE, "--out", "rep",
                              cwd=tmp_path))
    assert "column 'y', row 2 (line 3): 'x' is not a number" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_report_refuses_to_overwrite_a_folder_that_is_not_a_report(files, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    line = one_line_error(run("report", files / "diabetes.csv", "--target", "y", *LAPLACE,
                              "--out", tmp_path / "mine"))
    assert "is not a mapreg report" in line
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


# --- sample and report ---------------------------------------------------------------------


def test_sample_is_reproducible_and_saves_netcdf(files, tmp_path):
    import xarray as xr

    args = ("sample", files / "diabetes.csv", "--target", "y", "--prior", "laplace", "--scale",
            2, "--noise", 53, "--standardize", "--draws", 300, "--tune", 100, "--chains", 2,
            "--seed", 7, "-q")
    first = run(*args, "--out", tmp_path / "post.nc")
    assert first.returncode == 0, first.stderr
    second = run(*args)
    assert first.stdout == second.stdout
    for col in ("map", "mean", "median", "p_near_zero"):
        assert col in first.stdout
    tree = xr.open_datatree(tmp_path / "post.nc", engine="h5netcdf")
    coef = tree["posterior"]["coef"]
    assert coef.shape == (2, 300, 10)
    assert list(coef["feature"].values) == list(load_diabetes().feature_names)
    # the printed posterior mean of bmi is the saved draws' mean; its map column is the lasso's
    m = re.search(r"^bmi\s+(\S+)\s+(\S+)", first.stdout, re.M)
    assert float(m.group(2)) == pytest.approx(float(coef.sel(feature="bmi").mean()), rel=1e-3)
    from sklearn.linear_model import Lasso

    d = load_diabetes(center_y=False)
    ref = Lasso(alpha=53.0**2 / (442 * 2.0), tol=1e-14, max_iter=100_000).fit(d.X, d.y)
    assert float(m.group(1)) == pytest.approx(ref.coef_[2], abs=5e-3)  # 4 printed digits
    assert [p.name for p in tmp_path.iterdir()] == ["post.nc"]  # no temporary left behind


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("src", "href") and value and not value.startswith("#"):
                self.refs.append(value)


def html_refs(index: Path) -> list[str]:
    parser = _Refs()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser.refs


def check_report_folder(out: Path, expected_figures):
    refs = html_refs(out / "index.html")
    assert refs, "the report links nothing"
    for ref in refs:
        assert "://" not in ref and not ref.startswith("/"), ref  # self-contained
        assert (out / ref).is_file(), f"index.html references missing file {ref}"
    for name in expected_figures:
        assert f"figures/{name}.png" in refs
    for name in ("summary.json", "posterior.nc"):
        assert name in refs
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["files"]) == {"index.html", *refs}
    assert "figures_failed" not in summary, summary.get("figures_failed")
    leftovers = [p.name for p in out.parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]
    assert leftovers == []
    return summary


def test_report_on_user_data(files, tmp_path):
    from sklearn.linear_model import Ridge

    out = tmp_path / "rep"
    args = ("report", files / "diabetes.csv", "--target", "y", "--prior", "gaussian", "--scale",
            5, "--noise", 53, "--standardize", "--draws", 200, "--chains", 2, "--seed", 1,
            "--out", out, "-q", "--no-choices")
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    summary = check_report_folder(out, ["prior_vs_penalty", "shrinkage_force", "map_path",
                                        "posterior_vs_mode", "posterior_median_path"])
    assert "choices" not in summary  # --no-choices: no "Which λ?" / "Which prior?"
    assert "Which prior?" not in (out / "index.html").read_text(encoding="utf-8")
    assert summary["equivalence"]["passed"] is True
    assert summary["posterior"]["sampler"] == "exact"
    d = load_diabetes(center_y=False)
    ref = Ridge(alpha=53.0**2 / 5.0**2).fit(d.X, d.y)
    got = summary["equivalence"]["map"]["coef"]
    np.testing.assert_allclose([got[n] for n in d.feature_names], ref.coef_, rtol=1e-8)


def test_horseshoe_report_skips_the_mode_section(files, tmp_path):
    out = tmp_path / "hs"
    proc = run("report", files / "diabetes.csv", "--target", "y", "--prior", "horseshoe",
               "--scale", 1, "--noise", 53, "--standardize", "--draws", 100, "--tune", 100,
               "--chains", 2, "--seed", 1, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "mapreg: error" not in proc.stderr
    assert "MAP = penalised fit: skipped" in proc.stdout
    summary = check_report_folder(out, ["prior_vs_penalty", "posterior_vs_mode"])
    assert summary["posterior"]["sampler"] == "gibbs"
    assert summary["model"]["prior"] == "horseshoe" and summary["model"]["lam"] is None
    assert "skipped" in summary["equivalence"]
    assert set(summary["figures_skipped"]) == {"shrinkage_force", "map_path",
                                               "posterior_median_path", "training_trajectories"}
    text = (out / "index.html").read_text(encoding="utf-8")
    assert "Skipped: the Horseshoe prior" in text and "Mode vs posterior" in text
    # no lambda to choose; the horseshoe still joins the comparison of priors
    assert summary["choices"]["which_lambda"]["skipped"].startswith("Not drawn")
    assert "horseshoe (this report)" in summary["choices"]["which_prior"]["priors"]


def test_horseshoe_sample(files, capsys):
    from mapreg.app.cli import main

    rc = main(["sample", str(files / "diabetes.csv"), "--target", "y", "--prior", "horseshoe",
               "--scale", "1", "--noise", "53", "--standardize", "--draws", "100", "--tune",
               "100", "--chains", "2", "--seed", "3", "-q"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "prior=Horseshoe(scale=1.0" in out and "sampler: gibbs" in out
    m = re.search(r"^bmi\s+(\S+)\s+(\S+)", out, re.M)
    assert m.group(1) == "NaN"  # no mode to show
    assert 15 < float(m.group(2)) < 35  # bmi's effect, well away from 0


@pytest.mark.parametrize("sampler, tune", [("independence", "100"), ("hmc", "200")])
def test_sample_with_the_independence_sampler_and_hmc(files, capsys, sampler, tune):
    """`--sampler independence` / `hmc` on a logistic model; the same means as nutpie would
    give are checked in tests/test_independence.py and tests/test_hmc.py — here: it runs,
    says so, and moves off the mode."""
    from mapreg.app.cli import main

    rc = main(["sample", str(files / "labels.csv"), "--target", "sick", "--family",
               "bernoulli", "--prior", "laplace", "--scale", "1", "--sampler", sampler,
               "--draws", "200", "--tune", tune, "--chains", "2", "--seed", "4", "-q"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"sampler: {sampler}" in out
    m = re.search(r"^a\s+(\S+)\s+(\S+)", out, re.M)
    assert float(m.group(1)) > 0.3 and float(m.group(2)) > 0.3  # a's positive effect


@pytest.mark.slow
def test_demo_writes_the_report(tmp_path):
    proc = run("demo", "--out", tmp_path / "demo", "--draws", 300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the issue-2 table is still printed ...
    assert "find_MAP off by" in proc.stdout and "Laplace(b=2.0)" in proc.stdout
    assert "PASSED: True" in proc.stdout
    # ... with progress on stderr, and the report written
    assert "sampling the posterior" in proc.stderr
    summary = check_report_folder(tmp_path / "demo", [
        "prior_vs_penalty", "shrinkage_force", "constraint_geometry", "map_path",
        "posterior_vs_mode", "posterior_median_path", "lambda_choices", "prior_comparison"])
    assert summary["posterior"]["sampler"] == "gibbs"
    assert summary["equivalence"]["map"]["n_zeros"] == 3
    text = (tmp_path / "demo" / "index.html").read_text(encoding="utf-8")
    assert "Over several prior scales" in text and "Mode vs posterior" in text
    assert ">Which λ?</h2>" in text and ">Which prior?</h2>" in text
    assert [r["method"] for r in summary["choices"]["which_lambda"]["table"]] == [
        "cv-min", "cv-1se", "empirical-bayes", "hyperprior"]
    assert len(summary["choices"]["which_prior"]["table"]) == 4


def test_constant_column_with_standardize_and_bad_counts(tmp_path, capsys):
    from mapreg.app.cli import main

    (tmp_path / "c.csv").write_text("a,k,y\n1,5,1\n2,5,2\n3,5,2\n")
    assert main(["verify", str(tmp_path / "c.csv"), "--target", "y", *LAPLACE,
                 "--standardize"]) == 2
    err = capsys.readouterr().err
    assert err == ("mapreg: error: column 'k' is constant, so it cannot be standardised; "
                   "drop it or leave out --standardize\n")
    assert main(["sample", str(tmp_path / "c.csv"), "--target", "y", *LAPLACE,
                 "--draws", "0"]) == 2
    assert capsys.readouterr().err == "mapreg: error: --draws must be at least 1, got 0\n"
    assert main([]) == 2
    assert "required: COMMAND" in capsys.readouterr().err
