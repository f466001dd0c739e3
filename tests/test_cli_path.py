"""``mapreg path``: the MAP path and cross-validation from the command line."""

import numpy as np
import pytest
from sklearn.linear_model import LassoCV

from mapreg.app.cli import main
from mapreg.datasets import load_diabetes
from mapreg.fit.cv import kfold_indices

NOISE = 53.0


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = load_diabetes(standardize=False, center_y=False)
    path = tmp_path_factory.mktemp("path") / "diab.csv"
    path.write_text(",".join([*d.feature_names, "y"]) + "\n" + "".join(
        ",".join(f"{v:.10g}" for v in (*x, t)) + "\n" for x, t in zip(d.X, d.y, strict=True)))
    return path


def _rows(out):
    """``{method: (lam, scale, cv_mean, n_nonzero)}`` from the printed table."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] and parts[0] in ("cv-min", "cv-1se", "empirical-bayes", "hyperprior"):
            rows[parts[0]] = [float(v) for v in parts[1:]]
    return rows


def test_path_prints_lambda_min_of_the_lasso_cv_curve(data, capsys, tmp_path):
    fig = tmp_path / "cv.png"
    code = main(["path", str(data), "--target", "y", "--prior", "laplace", "--scale", "2",
                 "--noise", str(NOISE), "--standardize", "--seed", "0", "--n-lambdas", "40",
                 "--out", str(fig), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = _rows(out)
    assert set(rows) == {"cv-min", "cv-1se"}
    # Independent witness: scikit-learn's LassoCV on the same folds and the same grid,
    # written here: lam_max = max |X'(y - ybar)| / s^2 down to 1e-3 lam_max, 40 points.
    # LassoCV's objective (1/2n)||y - Xw||^2 + alpha||w||_1 is ours times s^2/n_train, so
    # alpha = lam s^2 / n_train (the folds differ in size by one row: 0.3% in alpha).
    d = load_diabetes()
    folds = kfold_indices(len(d.y), 5, random_state=0)
    n_train = np.mean([len(tr) for tr, _ in folds])
    lam_max = np.max(np.abs(d.X.T @ (d.y - d.y.mean()))) / NOISE**2
    grid = np.geomspace(lam_max, 1e-3 * lam_max, 40)
    sk = LassoCV(alphas=grid * NOISE**2 / n_train, cv=folds, tol=1e-10,
                 max_iter=100_000).fit(d.X, d.y)
    lam_min = rows["cv-min"][0]
    assert sk.alpha_ * n_train / NOISE**2 == pytest.approx(lam_min, rel=1e-3)
    assert rows["cv-1se"][0] >= lam_min  # the one-SE rule shrinks more
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_path_with_bayes_adds_empirical_bayes_and_hyperprior(data, capsys):
    code = main(["path", str(data), "--target", "y", "--prior", "gaussian", "--scale", "3",
                 "--noise", str(NOISE), "--standardize", "--seed", "1", "--n-lambdas", "30",
                 "--bayes", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = _rows(out)
    assert set(rows) == {"cv-min", "cv-1se", "empirical-bayes", "hyperprior"}
    # the evidence maximum itself is checked against BayesianRidge in test_empirical_bayes;
    # here: the CLI prints it, and the hyperprior's posterior median lies near it
    # (diabetes: 0.0025 and 0.0027 in notebook 06)
    assert rows["hyperprior"][0] == pytest.approx(rows["empirical-bayes"][0], rel=0.5)


@pytest.mark.parametrize(("argv", "message"), [
    (["--prior", "horseshoe", "--scale", "1"], "has no posterior mode"),
    (["--prior", "student-t", "--nu", "3", "--scale", "1"], "does not move with its scale"),
    (["--prior", "laplace", "--scale", "1", "--folds", "1"], "--folds must be at least 2"),
])
def test_path_refuses_in_one_line(data, capsys, argv, message):
    code = main(["path", str(data), "--target", "y", "--noise", str(NOISE), *argv, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_path_never_writes_over_its_input(data, capsys):
    before = data.read_bytes()
    code = main(["path", str(data), "--target", "y", "--prior", "laplace", "--scale", "1",
                 "--noise", str(NOISE), "--out", str(data), "--quiet"])
    assert code == 2 and "never writes over its input" in capsys.readouterr().err
    assert data.read_bytes() == before
