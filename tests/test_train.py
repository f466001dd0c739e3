"""Training runs against independent references: find_map (itself checked against
scikit-learn elsewhere), closed forms and finite differences.

Diabetes: standardised X, centred y, known noise s = 53 (the demo's set-up).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.optimize import lsq_linear
from scipy.special import expit
from scipy.stats import norm

from mapreg import Gaussian, Horseshoe, Laplace, Model, find_map
from mapreg.fit import mlp
from mapreg.fit.optimizers import Adam, Problem
from mapreg.fit.train import (
    OPTIMIZERS,
    adamw_effective_prior_scale,
    default_lr,
    lipschitz_constant,
    train,
    weight_decay_sigma,
)
from mapreg.plots.training import landing_step, training_trajectories, zero_chatter

NOISE = 53.0


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def lasso(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=Laplace(b=2.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    return model, find_map(model)


@pytest.fixture(scope="module")
def ridge(diabetes):
    """Gaussian(sigma = 3): weight decay wd = 1/sigma**2 = 1/9 on the total loss."""
    model = Model(diabetes.X, diabetes.y, prior=Gaussian(sigma=3.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    return model, find_map(model)


@pytest.fixture(scope="module")
def logistic(breast_cancer):
    X, y = breast_cancer
    model = Model(X, y, prior=Gaussian(sigma=1.0), family="bernoulli")
    return model, find_map(model)


def rel_dist(coef, ref):
    return float(np.max(np.abs(np.asarray(coef) - ref.coef)) / np.max(np.abs(ref.coef)))


def design(model):
    return np.column_stack([model.X, np.ones(model.n_samples)])


# --- the proximal road ends exactly at the MAP -----------------------------------------

@pytest.mark.parametrize("optimizer, steps", [("proximal", 1000), ("fista", 300)])
def test_proximal_ends_at_find_map_with_the_same_exact_zeros(lasso, optimizer, steps):
    model, ref = lasso
    run = train(model, optimizer, lr=1.0 / lipschitz_constant(model), steps=steps)
    assert np.max(np.abs(run.final_coef - ref.coef)) <= 1e-8
    assert abs(run.final_intercept - ref.intercept) <= 1e-8
    np.testing.assert_array_equal(run.final_coef == 0.0, ref.coef == 0.0)
    assert ref.n_zeros == 3 and run.n_exact_zeros[-1] == 3
    assert run.kkt_violation <= 1e-8
    assert run.objective[-1] == pytest.approx(ref.neg_log_posterior, rel=1e-13)
    # the zeros are reached in finitely many steps and kept
    for j in np.flatnonzero(ref.coef == 0.0):
        t = landing_step(run.coef[:, j])
        assert t is not None and 0 < t < steps
        assert np.all(run.coef[t:, j] == 0.0) and run.coef[t - 1, j] != 0.0
    if optimizer == "proximal":  # ISTA with lr = 1/L never increases the objective
        assert np.all(np.diff(run.objective) <= 1e-9 * abs(run.objective[0]))


def test_the_run_records_every_iterate_objective_and_zero_count(lasso):
    model, _ = lasso
    run = train(model, "fista", steps=40)
    p = model.n_features
    assert run.coef.shape == (41, p) and run.intercept.shape == (41,)
    assert run.objective.shape == (41,) and run.learning_rates.shape == (40,)
    np.testing.assert_array_equal(run.coef[0], np.zeros(p))
    for t in (0, 7, 40):
        assert run.objective[t] == model.neg_log_posterior(run.coef[t], run.intercept[t])
        assert run.n_exact_zeros[t] == np.sum(run.coef[t] == 0.0)
    assert run.steps == 40 and run.feature_names == model.feature_names
    assert train(model, "gd", steps=0).coef.shape == (1, p)
    with pytest.raises(AttributeError):  # a frozen record ...
        run.lr = 1.0
    with pytest.raises(ValueError, match="read-only"):  # ... with read-only arrays
        run.coef[0, 0] = 1.0


# --- subgradient descent chatters: near the MAP, never on its zeros ----------------------

def test_gd_with_a_decaying_step_ends_within_the_step_scale_but_without_exact_zeros(lasso):
    model, ref = lasso
    run = train(model, "gd", lr=1.0 / lipschitz_constant(model), steps=5000, lr_decay=0.5)
    lam = model.prior.penalty().lam
    assert run.lam == lam == 0.5
    # Near the mode one subgradient step moves w_j by lr (dL/dw_j + lam sign w_j), at most
    # 2 lr lam (|dL/dw_j| <= lam at the mode): the end is within that of the MAP ...
    step_scale = 2.0 * run.learning_rates[-1] * lam
    assert np.max(np.abs(run.final_coef - ref.coef)) <= step_scale
    assert np.max(np.abs(run.final_coef - ref.coef)) > 1e-8
    # ... and not one coefficient is ever exactly 0 after the start (sign(0) = 0 is never hit)
    assert run.n_exact_zeros[0] == model.n_features
    assert np.all(run.n_exact_zeros[1:] == 0)
    zero = ref.coef == 0.0
    assert np.all(np.abs(run.final_coef[zero]) > 0)
    assert np.all(np.abs(run.final_coef[zero]) <= step_scale)


def test_sgd_ends_within_its_noise_scale_of_the_map_without_exact_zeros(lasso):
    model, ref = lasso
    n, B = model.n_samples, 32
    run = train(model, "sgd", lr=1.0 / lipschitz_constant(model), steps=5000, lr_decay=0.5,
                batch_size=B, random_seed=0)
    assert np.all(run.n_exact_zeros[1:] == 0)
    # SGD's stationary spread at step size lr (Mandt, Hoffman & Blei 2017):
    # E|theta - theta*|^2 ~ (lr/2) tr(H^-1 Sigma_B), Sigma_B the covariance of the
    # minibatch gradient (n/B) sum_batch g_i at the mode, sampling without replacement.
    A = design(model)
    r = model.y - A @ np.r_[ref.coef, ref.intercept]
    g = -A * r[:, None] / NOISE**2
    sigma_b = n * n / B * (1 - B / n) * np.cov(g.T)
    H = A.T @ A / NOISE**2
    scale = math.sqrt(run.learning_rates[-1] / 2 * np.trace(np.linalg.solve(H, sigma_b)))
    err = np.linalg.norm(np.r_[run.final_coef - ref.coef, run.final_intercept - ref.intercept])
    assert 0 < err <= 3 * scale


def test_minibatch_gradients_are_unbiased_for_both_loss_scales(ridge):
    model, _ = ridge
    n = model.n_samples
    theta = np.random.default_rng(3).normal(size=model.n_features + 1)
    batches = np.random.default_rng(4).permutation(n).reshape(26, 17)  # 442 = 26 * 17
    for scale in (1.0, 1.0 / n):
        pb = Problem(model.X, model.y, model.family, None, fit_intercept=True, scale=scale,
                     weight_decay=0.0)
        full = pb.loss_grad(theta)
        mean_of_batches = np.mean([pb.loss_grad(theta, rows) for rows in batches], axis=0)
        np.testing.assert_allclose(mean_of_batches, full, rtol=1e-12, atol=1e-12 * scale)
        A = design(model)
        np.testing.assert_allclose(full, scale * A.T @ (A @ theta - model.y) / NOISE**2,
                                   rtol=1e-12)


# --- weight decay is a Gaussian prior (SGD, total and mean loss) -----------------------

def test_sgd_weight_decay_is_the_gaussian_prior_sigma_1_over_sqrt_wd(ridge, diabetes):
    model, ref = ridge
    wd = 1.0 / 9.0
    assert weight_decay_sigma(wd) == pytest.approx(3.0, rel=1e-15)
    # likelihood only, the weight decay supplying the whole prior; the run's objective is
    # the -log posterior of the Gaussian(1/sqrt(wd)) model
    for momentum in (0.0, 0.5):
        run = train(model, "sgd", weight_decay=wd, penalty=None, steps=400, momentum=momentum)
        assert np.max(np.abs(run.final_coef - ref.coef)) <= 1e-6
        assert abs(run.final_intercept - ref.intercept) <= 1e-6
        assert run.kkt_violation <= 1e-6
    # the same road with the prior's own penalty instead of weight decay
    run = train(model, "sgd", steps=400)
    assert np.max(np.abs(run.final_coef - ref.coef)) <= 1e-6
    # and not the maximum-likelihood fit
    mle = find_map(Model(diabetes.X, diabetes.y, prior=Gaussian(1e6), noise_sigma=NOISE))
    assert np.max(np.abs(run.final_coef - mle.coef)) > 10


def test_mean_loss_weight_decay_is_the_gaussian_prior_sigma2_1_over_n_wd(ridge, diabetes):
    model, ref = ridge  # sigma = 3
    n = model.n_samples
    wd = 1.0 / (9.0 * n)  # n wd = 1/sigma**2
    assert weight_decay_sigma(wd, loss_scale="mean", n_samples=n) == pytest.approx(3.0)
    run = train(model, "sgd", weight_decay=wd, penalty=None, loss_scale="mean", steps=400)
    assert np.max(np.abs(run.final_coef - ref.coef)) <= 1e-6
    # with minibatches the batch size drops out: the end is near the Gaussian(3) MAP, not
    # near the readings sigma = 1/sqrt(wd) (total loss) or sqrt(B/(n wd)) (batch sum)
    B = 17
    run = train(model, "sgd", weight_decay=wd, penalty=None, loss_scale="mean", steps=3000,
                batch_size=B, lr=1.0 / (lipschitz_constant(model, loss_scale="mean") + wd),
                lr_decay=0.5, random_seed=1)
    near = np.max(np.abs(run.final_coef - ref.coef))
    for wrong_sigma in (weight_decay_sigma(wd), math.sqrt(B / (n * wd))):
        wrong = find_map(Model(diabetes.X, diabetes.y, prior=Gaussian(wrong_sigma),
                               noise_sigma=NOISE))
        assert np.max(np.abs(run.final_coef - wrong.coef)) > 10 * near


# --- Adam reaches the MAP, AdamW does not ----------------------------------------------

def test_adam_reaches_the_gaussian_map_and_adamw_does_not_on_diabetes(ridge):
    model, ref = ridge
    wd = 1.0 / 9.0
    adam = train(model, "adam", lr=0.5, steps=3000, lr_decay=0.3)
    assert rel_dist(adam.final_coef, ref) <= 1e-6
    assert abs(adam.final_intercept - ref.intercept) <= 1e-6
    # PyTorch's Adam(weight_decay=wd): the decay is in the gradient, so in the objective
    adam_wd = train(model, "adam", lr=0.5, steps=3000, lr_decay=0.3, penalty=None,
                    weight_decay=wd)
    assert rel_dist(adam_wd.final_coef, ref) <= 1e-6
    adamw = train(model, "adamw", lr=0.5, steps=3000, lr_decay=0.3, penalty=None,
                  weight_decay=wd)
    assert rel_dist(adamw.final_coef, ref) > 1e-3
    assert adamw.kkt_violation > 1e3 * adam.kkt_violation


def test_adam_reaches_the_logistic_map_and_adamw_does_not_on_breast_cancer(logistic):
    model, ref = logistic  # Gaussian(1): wd = 1
    adam = train(model, "adam", lr=0.1, steps=2000)
    assert rel_dist(adam.final_coef, ref) <= 1e-6
    assert abs(adam.final_intercept - ref.intercept) <= 1e-6
    adamw = train(model, "adamw", lr=0.1, steps=2000, penalty=None, weight_decay=1.0)
    assert rel_dist(adamw.final_coef, ref) > 1e-3


def _fixed_point_gradient(model, run):
    """dL/dw at the run's end, written out (Gaussian or logistic loss)."""
    A = design(model)
    eta = A @ np.r_[run.final_coef, run.final_intercept]
    if model.family.name == "gaussian":
        d = (eta - model.y) / NOISE**2
    else:
        d = expit(eta) - model.y
    return A.T @ d


@pytest.mark.parametrize("case", ["diabetes", "breast_cancer"])
def test_adamw_ends_at_the_map_of_its_effective_per_coordinate_prior(case, ridge, logistic):
    model, ref = ridge if case == "diabetes" else logistic
    wd = 1.0 / model.prior.sigma**2
    kw = ({"lr": 0.1, "steps": 6000, "betas": (0.9, 0.99)} if case == "diabetes"
          else {"lr": 0.1, "steps": 2000})
    run = train(model, "adamw", penalty=None, weight_decay=wd, **kw)
    p = model.n_features
    _, v_hat = run.adam_moments
    sigma_eff = adamw_effective_prior_scale(run)
    np.testing.assert_allclose(sigma_eff, 1 / np.sqrt(wd * (np.sqrt(v_hat[:p]) + run.eps)),
                               rtol=1e-15)
    # the run sits at its fixed point: g_j = -wd (sqrt(v_hat_j) + eps) w_j
    g = _fixed_point_gradient(model, run)
    residual = g[:p] + wd * (np.sqrt(v_hat[:p]) + run.eps) * run.final_coef
    assert np.max(np.abs(residual)) <= 1e-2 * np.max(np.abs(g[:p]))
    # so it is the MAP under independent N(0, sigma_eff_j^2): rescale column j by sigma_eff_j
    # (w_j = sigma_eff_j u_j, u_j ~ N(0, 1)) and ask find_map
    scaled = Model(model.X * sigma_eff, model.y, prior=Gaussian(1.0), family=model.family)
    w_eff = find_map(scaled).coef * sigma_eff
    assert rel_dist(run.final_coef, ref) > 0.1
    assert np.max(np.abs(run.final_coef - w_eff)) <= 5e-3 * np.max(np.abs(w_eff))
    # no single prior: the implied scales spread over a factor > 2 around 1/sqrt(wd)
    assert sigma_eff.max() / sigma_eff.min() > 2
    assert sigma_eff.max() > 1.5 / math.sqrt(wd)
    if case == "diabetes":
        # the long-run limit (Xie & Li 2024): the MLE constrained to |w_j| <= 1/wd, a
        # bounded least-squares problem solved here by scipy
        A = design(model)
        box = lsq_linear(A / NOISE, model.y / NOISE, tol=1e-14, method="bvls",
                         bounds=(np.r_[np.full(p, -1 / wd), -np.inf],
                                 np.r_[np.full(p, 1 / wd), np.inf])).x
        assert np.max(np.abs(run.final_coef - box[:p])) <= 0.02 * np.max(
            np.abs(run.final_coef - ref.coef))


def test_plugging_the_effective_prior_map_into_the_adamw_update_leaves_it_fixed(logistic):
    model, _ = logistic
    wd, eps, lr = 0.7, 1e-8, 0.05
    p = model.n_features
    v_hat = np.random.default_rng(5).uniform(0.01, 4.0, p) ** 2  # any second moments
    sigma_eff = 1 / np.sqrt(wd * (np.sqrt(v_hat) + eps))
    fit = find_map(Model(model.X * sigma_eff, model.y, prior=Gaussian(1.0), family="bernoulli"))
    w = fit.coef * sigma_eff
    g = model.X.T @ (expit(model.X @ w + fit.intercept) - model.y)  # m_hat = g at a fixed point
    update = -lr * wd * w - lr * g / (np.sqrt(v_hat) + eps)
    # zero up to find_map's certificate |sigma_j g_j + u_j| <= kkt in the rescaled model
    bound = lr * fit.kkt_violation / (sigma_eff * (np.sqrt(v_hat) + eps))
    assert np.all(np.abs(update) <= 2 * bound + 1e-15)
    assert np.max(np.abs(update)) <= 1e-9 * lr * np.max(np.abs(g))
    assert np.max(np.abs(g)) > 1.0  # a real gradient, balanced by the decay


def test_adam_step_is_pytorchs_formula(ridge):
    model, _ = ridge
    pb = Problem(model.X, model.y, model.family, model.prior.penalty(), fit_intercept=True,
                 scale=1.0, weight_decay=0.3)
    theta = np.random.default_rng(0).normal(size=pb.size)
    lam = model.prior.penalty().lam
    A = design(model)
    mask = np.r_[np.ones(model.n_features), 0.0]  # the intercept is neither penalised nor decayed
    for decoupled in (False, True):
        opt = Adam(pb, (0.8, 0.95), 1e-6, decoupled=decoupled)
        t2 = opt.step(opt.step(theta, 0.01, None), 0.02, None)
        # by hand: Adam on g + 2 lam w (+ wd w coupled); AdamW decays first, outside
        m = v = np.zeros(pb.size)
        th = theta
        for k, lr in ((1, 0.01), (2, 0.02)):
            gk = A.T @ (A @ th - model.y) / NOISE**2 + mask * 2 * lam * th
            if decoupled:
                th = th - lr * 0.3 * mask * th
            else:
                gk = gk + 0.3 * mask * th
            m, v = 0.8 * m + 0.2 * gk, 0.95 * v + 0.05 * gk**2
            th = th - lr * (m / (1 - 0.8**k)) / (np.sqrt(v / (1 - 0.95**k)) + 1e-6)
        np.testing.assert_allclose(t2, th, rtol=1e-13, atol=1e-15)


# --- the network: weight decay is a Gaussian prior on every weight -----------------------

def test_mlp_map_reading_and_stationarity(diabetes):
    X, y = diabetes.X, diabetes.y
    tol, wd = 1e-7, 0.05
    fit = mlp.fit_mlp(X, y, n_hidden=6, weight_decay=wd, noise_sigma=NOISE, tol=tol,
                      random_seed=0)
    assert fit.converged
    assert fit.stationarity_residual <= tol
    assert mlp.stationarity_residual(fit, X, y) <= tol
    assert fit.prior_sigma == pytest.approx(1 / math.sqrt(wd))
    # the objective is -log p(y | theta) - log p(theta) with p(theta_k) = N(0, 1/wd), up to
    # a constant: compare it at the fit and at another point against scipy's densities
    other = fit.params + np.random.default_rng(1).normal(scale=0.1, size=fit.params.shape)

    def neg_log_post(theta):
        f = mlp.MLPFit(theta, *[getattr(fit, k) for k in (
            "n_features", "n_hidden", "activation", "weight_decay", "noise_sigma")],
            0.0, 0.0, tol, 0, True).predict(X)
        return -(norm.logpdf(y, f, NOISE).sum() + norm.logpdf(theta, 0, fit.prior_sigma).sum())

    def obj(theta):
        return mlp.objective_and_grad(theta, X, y, 6, noise_sigma=NOISE, weight_decay=wd)[0]

    assert obj(other) - obj(fit.params) == pytest.approx(
        neg_log_post(other) - neg_log_post(fit.params), rel=1e-9)
    assert obj(other) > obj(fit.params)
    # a better fit than the linear model's least squares? not the point; it must fit at all
    assert np.sqrt(np.mean((fit.predict(X) - y) ** 2)) < np.std(y)


@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
def test_mlp_gradient_matches_central_finite_differences(diabetes, activation):
    X, y = diabetes.X[:60], diabetes.y[:60]
    h = 4
    theta = np.random.default_rng(2).normal(scale=0.5, size=mlp.n_params(X.shape[1], h))
    kw = {"activation": activation, "noise_sigma": NOISE, "weight_decay": 0.3}
    _, grad = mlp.objective_and_grad(theta, X, y, h, **kw)
    fd = np.empty_like(theta)
    for k in range(len(theta)):
        e = np.zeros_like(theta)
        e[k] = 1e-5
        fd[k] = (mlp.objective_and_grad(theta + e, X, y, h, **kw)[0]
                 - mlp.objective_and_grad(theta - e, X, y, h, **kw)[0]) / 2e-5
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_mlp_bad_arguments(diabetes):
    X, y = diabetes.X, diabetes.y
    with pytest.raises(ValueError, match="activation"):
        mlp.fit_mlp(X, y, activation="relu", noise_sigma=NOISE)
    with pytest.raises(ValueError, match="weight_decay"):
        mlp.fit_mlp(X, y, weight_decay=0.0, noise_sigma=NOISE)
    with pytest.raises(ValueError, match="n_hidden"):
        mlp.fit_mlp(X, y, n_hidden=0, noise_sigma=NOISE)


# --- the plots draw the runs' own numbers ----------------------------------------------

def _line(fig, gid):
    found = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == gid]
    return found


def test_training_trajectories_draw_the_runs_and_the_map(lasso):
    model, ref = lasso
    runs = [train(model, "gd", steps=300, lr_decay=0.5), train(model, "proximal", steps=300)]
    fig = training_trajectories(runs, map_result=ref)
    assert len(fig.axes) == 2
    for ax, run in zip(fig.axes, runs, strict=True):
        for j, name in enumerate(model.feature_names):
            (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"coef:{name}"]
            np.testing.assert_array_equal(line.get_xdata(), np.arange(301))
            np.testing.assert_array_equal(line.get_ydata(), run.coef[:, j])
            (dashed,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"map:{name}"]
            assert dashed.get_linestyle() == "--"
            np.testing.assert_array_equal(dashed.get_ydata(), [ref.coef[j]] * 2)
        zeros = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("zero:")]
        if run.optimizer == "gd":
            assert zeros == []
        else:
            assert sorted(ln.get_gid()[5:] for ln in zeros) == sorted(
                np.array(model.feature_names)[ref.coef == 0.0])
            for ln in zeros:
                j = model.feature_names.index(ln.get_gid()[5:])
                assert ln.get_xdata()[0] == landing_step(run.coef[:, j])
                assert ln.get_ydata()[0] == 0.0


def test_zero_chatter_draws_abs_coefficients_landings_and_the_step_scale(lasso):
    model, ref = lasso
    runs = [train(model, "gd", steps=300, lr_decay=0.5), train(model, "fista", steps=300)]
    fig = zero_chatter(runs)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    zero_names = np.array(model.feature_names)[ref.coef == 0.0]
    for i, run in enumerate(runs):
        for name in zero_names:
            j = model.feature_names.index(name)
            (line,) = _line(fig, f"abs:{i}:{name}")
            a = np.abs(run.coef[:, j])
            np.testing.assert_array_equal(line.get_ydata(), np.where(a > 0, a, np.nan))
            lands = _line(fig, f"lands:{i}:{name}")
            assert len(lands) == (1 if run.optimizer == "fista" else 0)
    (scale,) = _line(fig, "step-scale:0")
    np.testing.assert_allclose(scale.get_ydata(), runs[0].learning_rates * 0.5, rtol=1e-15)
    assert _line(fig, "step-scale:1") == []


def test_plots_refuse_what_is_not_a_run(lasso):
    model, _ = lasso
    with pytest.raises(ValueError, match="TrainingRun"):
        training_trajectories([find_map(model)])
    with pytest.raises(ValueError, match="unknown feature"):
        zero_chatter(train(model, "gd", steps=2), features=["nope"])


# --- bad arguments ----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0.0}, "lr must be a positive finite"),
    ({"lr": -1.0}, "lr must be a positive finite"),
    ({"lr": float("nan")}, "lr must be a positive finite"),
    ({"lr": float("inf")}, "lr must be a positive finite"),
    ({"steps": -1}, r"steps must be an integer >= 0"),
    ({"steps": 2.5}, r"steps must be an integer >= 0"),
    ({"steps": True}, r"steps must be an integer >= 0"),
    ({"optimizer": "sgd", "batch_size": 0}, r"batch_size must be an integer in \[1, n = 442\]"),
    ({"optimizer": "sgd", "batch_size": 443}, r"batch_size must be an integer in \[1, n = 442\]"),
    ({"optimizer": "adam", "batch_size": 8.0}, r"batch_size must be an integer"),
    ({"optimizer": "gd", "batch_size": 8}, "full-batch"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of gd, sgd, proximal, fista, adam, adamw"),
    ({"weight_decay": -0.1}, "weight_decay must be a non-negative finite"),
    ({"loss_scale": "avg"}, "loss_scale must be one of"),
    ({"penalty": "l1"}, "penalty must be 'prior' or None"),
    ({"optimizer": "adam", "momentum": 0.9}, "momentum applies to 'gd' and 'sgd' only"),
    ({"optimizer": "sgd", "momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
    ({"optimizer": "adam", "betas": (0.9, 1.0)}, r"b2 must lie in \[0, 1\)"),
    ({"optimizer": "adam", "betas": 0.9}, "betas must be two numbers"),
    ({"optimizer": "adam", "eps": 0.0}, "eps must be a positive finite"),
    ({"lr_decay": -0.5}, "lr_decay must be a non-negative finite"),
    ({"init": np.zeros(3)}, "init must be 10 finite numbers"),
])
def test_bad_arguments_raise_a_value_error_naming_the_problem(lasso, kwargs, match):
    model, _ = lasso
    kwargs = {"optimizer": "proximal", "steps": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        train(model, **kwargs)


def test_unusable_models_and_divergence_are_refused(lasso, diabetes):
    model, _ = lasso
    with pytest.raises(ValueError, match=r"mapreg\.Model"):
        train((diabetes.X, diabetes.y))
    hs = Model(diabetes.X, diabetes.y, prior=Horseshoe(1.0), noise_sigma=NOISE)
    with pytest.raises(ValueError, match="no penalty"):
        train(hs)
    with pytest.raises(ValueError, match="diverged at step"):
        train(model, "gd", lr=100.0 / lipschitz_constant(model), steps=2000)
    counts = Model(diabetes.X, np.arange(442) % 5, prior=Gaussian(1.0), family="poisson")
    with pytest.raises(ValueError, match="give lr"):
        train(counts, "gd", steps=1)
    with pytest.raises(ValueError, match="weight_decay must be a positive"):
        weight_decay_sigma(0.0)
    with pytest.raises(ValueError, match="n_samples"):
        weight_decay_sigma(0.1, loss_scale="mean")
    with pytest.raises(ValueError, match="adamw run"):
        adamw_effective_prior_scale(train(model, "gd", steps=1))


def test_default_steps_are_one_over_the_lipschitz_constant(lasso, ridge):
    model, _ = lasso
    A = design(model)
    lip = np.linalg.eigvalsh(A.T @ A).max() / NOISE**2
    assert lipschitz_constant(model) == pytest.approx(lip, rel=1e-12)
    assert lipschitz_constant(model, loss_scale="mean") == pytest.approx(lip / 442, rel=1e-12)
    assert default_lr(model, "proximal") == pytest.approx(1 / lip, rel=1e-12)
    rmodel, _ = ridge  # gd differentiates the L2 penalty too: curvature 2 lam = 1/sigma^2
    assert default_lr(rmodel, "gd") == pytest.approx(1 / (lip + 1 / 9), rel=1e-12)
    assert default_lr(rmodel, "adamw") == 1e-3
    assert set(OPTIMIZERS) == {"gd", "sgd", "proximal", "fista", "adam", "adamw"}
