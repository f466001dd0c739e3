"""``mapreg compare``: PSIS-LOO across priors from the command line.

The numbers are checked against references computed here: each prior's posterior is
sampled again with the seed the command derives for it and ``arviz.loo`` is run on it
(elpd_loo, se, p_loo); the cross-validated lasso scale against scikit-learn's ``LassoCV``
on the same folds and grid; the horseshoe's ``tau0 = sigma / sqrt(n)`` in closed form.
"""

import os
import signal
import subprocess
import sys
import time

import arviz as az
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LassoCV

from mapreg.app.cli import main
from mapreg.datasets import load_diabetes
from mapreg.fit.cv import kfold_indices
from mapreg.model import Model
from mapreg.posterior.sample import sample_posterior
from mapreg.priors import Gaussian, Laplace

NOISE = 53.0
COLUMNS = ["rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "max_k",
           "n_high_k", "sampler"]


def write_csv(path, X, y, names):
    path.write_text(",".join([*names, "y"]) + "\n" + "".join(
        ",".join(f"{v:.12g}" for v in (*x, t)) + "\n" for x, t in zip(X, y, strict=True)))
    return path


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    d = load_diabetes(standardize=False, center_y=False)
    return write_csv(tmp_path_factory.mktemp("cmp") / "diab.csv", d.X, d.y, d.feature_names)


def printed_table(out):
    """The printed LOO table: header line, then one row per prior."""
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split() == COLUMNS)
    rows = {}
    for line in lines[head + 1:]:
        parts = line.split()
        if len(parts) != len(COLUMNS) + 1:
            break
        rows[parts[0]] = dict(zip(COLUMNS, parts[1:], strict=True))
    return lines[head].split(), rows


def test_elpd_of_each_prior_is_arviz_loo_of_its_posterior(capsys, tmp_path):
    argv = ["compare", "--priors", "laplace=2,gaussian=10", "--noise", str(NOISE),
            "--draws", "300", "--tune", "100", "--chains", "2", "--seed", "3",
            "--out", str(tmp_path / "cmp"), "--quiet"]
    code = main(argv)  # no DATA.csv: the built-in diabetes data
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("built-in diabetes data: 442 rows")
    header, rows = printed_table(out)
    assert header == COLUMNS and set(rows) == {"laplace", "gaussian"}
    csv = pd.read_csv(tmp_path / "cmp" / "compare.csv", index_col=0)
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The reference: the command's per-prior seeds are SeedSequence(--seed).generate_state
    # in --priors order; sample each posterior again and run arviz.loo on it here.
    d = load_diabetes()
    seeds = np.random.SeedSequence(3).generate_state(2)
    elpd = {}
    for (name, prior), seed in zip([("laplace", Laplace(2.0)), ("gaussian", Gaussian(10.0))],
                                   seeds, strict=True):
        idata = sample_posterior(Model(d.X, d.y, prior=prior, noise_sigma=NOISE), draws=300,
                                 tune=100, chains=2, random_seed=int(seed), progressbar=False,
                                 log_likelihood=True)
        ref = az.loo(idata, pointwise=True)
        elpd[name] = ref.elpd
        assert float(rows[name]["elpd_loo"]) == pytest.approx(ref.elpd, abs=0.006)
        assert csv.loc[name, "elpd_loo"] == pytest.approx(ref.elpd, rel=1e-12)
        assert csv.loc[name, "se"] == pytest.approx(ref.se, rel=1e-9)
        assert csv.loc[name, "p_loo"] == pytest.approx(ref.p, rel=1e-9)
        assert csv.loc[name, "max_k"] == pytest.approx(float(np.max(ref.pareto_k)), rel=1e-12)
        assert rows[name]["sampler"] == idata.attrs["sampler"]
    best = max(elpd, key=elpd.get)
    assert int(rows[best]["rank"]) == 0
    for name in elpd:
        assert csv.loc[name, "elpd_diff"] == pytest.approx(elpd[name] - elpd[best], abs=1e-9)
    assert csv["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert "PSIS-LOO is reliable here" in out


def test_scales_by_cross_validation_and_the_horseshoe_rule(diabetes_csv, capsys, tmp_path):
    code = main(["compare", str(diabetes_csv), "--target", "y", "--standardize",
                 "--noise", str(NOISE), "--priors", "laplace,horseshoe", "--seed", "0",
                 "--draws", "200", "--tune", "100", "--chains", "2",
                 "--out", str(tmp_path / "cmp"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    csv = pd.read_csv(tmp_path / "cmp" / "compare.csv", index_col=0)
    # The lasso's lambda: scikit-learn's LassoCV on the same folds and grid (50 lambdas
    # from lam_max = max|X'(y - ybar)|/s^2 down to 1e-3 lam_max); its objective is ours
    # times s^2/n_train, so alpha = lam s^2/n_train (folds differ by one row: 0.3%).
    d = load_diabetes()
    folds = kfold_indices(len(d.y), 5, random_state=0)
    n_train = np.mean([len(tr) for tr, _ in folds])
    lam_max = np.max(np.abs(d.X.T @ (d.y - d.y.mean()))) / NOISE**2
    grid = np.geomspace(lam_max, 1e-3 * lam_max, 50)
    sk = LassoCV(alphas=grid * NOISE**2 / n_train, cv=folds, tol=1e-10,
                 max_iter=100_000).fit(d.X, d.y)
    assert csv.loc["laplace", "lam"] == pytest.approx(sk.alpha_ * n_train / NOISE**2, rel=1e-3)
    assert csv.loc["laplace", "scale"] == pytest.approx(1.0 / csv.loc["laplace", "lam"])
    assert csv.loc["laplace", "scale_from"] == "5-fold CV minimum"
    # Piironen & Vehtari with p0 = p/2: tau0 = sigma / sqrt(n)
    assert csv.loc["horseshoe", "scale"] == pytest.approx(NOISE / np.sqrt(442), rel=1e-12)
    assert "laplace    Laplace(b=" in out and "5-fold CV minimum" in out


def test_high_pareto_k_is_named_loudly(tmp_path, capsys):
    rng = np.random.default_rng(0)  # test_predictive's outlier: leaving it out moves a lot
    X = rng.normal(size=(25, 12))
    y = X[:, 0] + 0.3 * rng.normal(size=25)
    y[3] += 8.0
    X[3] *= 3.0
    data = write_csv(tmp_path / "out.csv", X, y, [f"x{j}" for j in range(12)])
    code = main(["compare", str(data), "--target", "y", "--noise", "0.3",
                 "--priors", "gaussian=100,laplace=0.5", "--draws", "300", "--tune", "200",
                 "--chains", "2", "--seed", "0", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    _, rows = printed_table(out)
    assert all(int(r["n_high_k"]) > 0 for r in rows.values())
    assert "!! WARNING: PSIS-LOO is unreliable for prior 'gaussian'" in out
    assert "!! WARNING: PSIS-LOO is unreliable for prior 'laplace'" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--priors", "lasso,gaussian"], "unknown prior 'lasso'; known: laplace"),
    (["--priors", "laplace"], "needs at least two priors"),
    (["--priors", "laplace=-1,gaussian"], "must be a positive finite number"),
    (["--priors", "laplace=2,laplace=2"], "listed twice"),
    (["--priors", "laplace,student-t", "--nu", "3"], "give its scale (student-t=S)"),
    (["--priors", "laplace,bridge"], "bridge needs --p"),
    (["--priors", "laplace,gaussian", "--nu", "3"], "--nu is given but no prior"),
    (["--priors", "laplace,gaussian", "--target", "y"], "give the file too"),
    (["--priors", "laplace,gaussian", "--family", "poisson"], "needs DATA.csv"),
    (["--folds", "1"], "--folds must be at least 2"),
    (["--draws", "0"], "--draws must be at least 1"),
    (["--draws", "1e9"], "lower --draws or --chains"),
    (["--choose", "aic"], "invalid choice: 'aic'"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, message):
    code = main(["compare", *argv, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_csv_needs_target_and_out_never_overwrites_input(diabetes_csv, tmp_path, capsys):
    assert main(["compare", str(diabetes_csv), "--quiet"]) == 2
    assert "--target is required" in capsys.readouterr().err
    before = diabetes_csv.read_bytes()
    code = main(["compare", str(diabetes_csv), "--target", "y", "--out",
                 str(diabetes_csv.parent), "--quiet"])
    assert code == 2 and "holds the input file" in capsys.readouterr().err
    assert diabetes_csv.read_bytes() == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    code = main(["compare", "--priors", "laplace=2,gaussian=10", "--out", str(mine), "-q"])
    assert code == 2 and "not a mapreg report" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep"


@pytest.mark.slow
def test_ctrl_c_exits_130_and_writes_nothing(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MPLBACKEND": "Agg"}
    env.pop("MAPREG_DEBUG", None)
    # the elastic net is sampled by NUTS: its compilation takes seconds
    proc = subprocess.Popen(
        [sys.executable, "-m", "mapreg", "compare", "--priors", "gaussian=10,elasticnet=2",
         "--scale2", "5", "--draws", "200", "--chains", "2", "--out", str(tmp_path / "cmp")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "sampling 2 posteriors" in line:
            break
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=30)
    assert proc.returncode == 130, "".join(seen) + rest
    assert time.monotonic() - sent < 5.0
    assert "interrupted; no partial output" in rest
    assert list(tmp_path.iterdir()) == []


def test_empirical_bayes_scale_maximises_the_evidence(capsys, tmp_path):
    from scipy.optimize import minimize_scalar
    from scipy.stats import multivariate_normal

    code = main(["compare", "--priors", "gaussian,laplace=2", "--choose", "empirical-bayes",
                 "--noise", str(NOISE), "--no-intercept", "--draws", "200", "--tune", "100",
                 "--chains", "2", "--seed", "0", "--out", str(tmp_path / "cmp"), "-q"])
    assert code == 0, capsys.readouterr().err
    csv = pd.read_csv(tmp_path / "cmp" / "compare.csv", index_col=0)
    assert csv.loc["gaussian", "scale_from"] == "empirical Bayes (max p(y | lam))"
    # the reference: y ~ N(0, s^2 I + sigma^2 X X') without an intercept (y is centred),
    # its log density maximised over sigma by scipy
    d = load_diabetes()
    gram = d.X @ d.X.T

    def neg_evidence(log_sigma):
        cov = NOISE**2 * np.eye(len(d.y)) + np.exp(2 * log_sigma) * gram
        return -multivariate_normal(np.zeros(len(d.y)), cov).logpdf(d.y)

    best = minimize_scalar(neg_evidence, bounds=(-3.0, 8.0), method="bounded",
                           options={"xatol": 1e-7})
    assert csv.loc["gaussian", "scale"] == pytest.approx(np.exp(best.x), rel=1e-4)
