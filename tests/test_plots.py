"""What the plots draw: each curve's data checked against an independent formula or fit."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from _reference import l1_reference
from sklearn.linear_model import Lasso

from mapreg import Gaussian, Laplace, Model, StudentT, find_map, plots
from mapreg.datasets import load_diabetes
from mapreg.fit.path import compare_paths, path
from mapreg.posterior.paths import posterior_median_path

NOISE = 53.0


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes()


def lines(fig_or_ax, gid):
    axes = fig_or_ax.axes if hasattr(fig_or_ax, "axes") and not hasattr(fig_or_ax, "plot") \
        else [fig_or_ax]
    return [ln for ax in axes for ln in ax.get_lines() if ln.get_gid() == gid]


def one_line(ax, gid):
    found = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, f"expected one line {gid!r} on {ax.get_title()!r}, got {len(found)}"
    return found[0]


def xy(line):
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


# --- prior_vs_penalty -------------------------------------------------------------------

def test_prior_vs_penalty_draws_the_penalties_and_the_shifted_neg_log_density():
    b = 1.7
    fig = plots.prior_vs_penalty(Laplace(b))
    (lap_top, gau_top), (lap_bot, gau_bot) = np.array(fig.axes).reshape(2, 2)
    sigma = np.sqrt(b / 2.0)  # the matched Gaussian has the same lam = 1/b = 1/(2 sigma^2)

    w, pen = xy(one_line(lap_bot, "penalty"))
    np.testing.assert_allclose(pen, np.abs(w) / b, rtol=1e-14, atol=1e-14)
    w, shifted = xy(one_line(lap_bot, "neg-logpdf-shifted"))
    np.testing.assert_allclose(shifted, np.abs(w) / b, atol=1e-12)
    w, raw = xy(one_line(lap_bot, "neg-logpdf"))
    np.testing.assert_allclose(raw, np.abs(w) / b + np.log(2 * b), atol=1e-12)
    w, dens = xy(one_line(lap_top, "density"))
    np.testing.assert_allclose(dens, np.exp(-np.abs(w) / b) / (2 * b), rtol=1e-12)

    w, pen = xy(one_line(gau_bot, "penalty"))
    np.testing.assert_allclose(pen, w**2 / (2 * sigma**2), rtol=1e-12, atol=1e-14)
    w, shifted = xy(one_line(gau_bot, "neg-logpdf-shifted"))
    np.testing.assert_allclose(shifted, w**2 / (2 * sigma**2), atol=1e-12)
    w, dens = xy(one_line(gau_top, "density"))
    np.testing.assert_allclose(dens, np.exp(-(w**2) / (2 * sigma**2)) / np.sqrt(2 * np.pi)
                               / sigma, rtol=1e-12)
    # The plot says which lam.
    assert "0.588" in lap_bot.get_title() and "0.588" in gau_bot.get_title()
    for ax in (lap_bot, gau_bot):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None


def test_prior_vs_penalty_with_explicit_gaussian_and_fig():
    fig = plt.figure()
    out = plots.prior_vs_penalty(Laplace(0.5), Gaussian(3.0), fig=fig)
    assert out is fig and len(fig.axes) == 4
    w, pen = xy(one_line(fig.axes[3], "penalty"))
    np.testing.assert_allclose(pen, w**2 / 18.0, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="empty"):
        plots.prior_vs_penalty(fig=fig)


# --- shrinkage_force --------------------------------------------------------------------

def test_shrinkage_force_gradients_and_one_dimensional_maps():
    lam = 0.8
    fig = plots.shrinkage_force(lam)
    left, right = fig.axes[:2]
    l1 = [ln for ln in left.get_lines() if ln.get_gid() == "grad-l1"]
    assert len(l1) == 2
    for ln in l1:
        w, g = xy(ln)
        assert np.all(w != 0)
        np.testing.assert_array_equal(g, lam * np.sign(w))
    w, g = xy(one_line(left, "subdiff-l1"))
    np.testing.assert_array_equal(w, [0.0, 0.0])
    np.testing.assert_array_equal(g, [-lam, lam])
    w, g = xy(one_line(left, "grad-l2"))
    np.testing.assert_allclose(g, 2 * lam * w, rtol=1e-14)

    z, m1 = xy(one_line(right, "map-l1"))
    np.testing.assert_allclose(m1, np.sign(z) * np.maximum(np.abs(z) - lam, 0.0), atol=1e-14)
    assert np.all(m1[np.abs(z) <= lam] == 0.0)  # exact zeros in the dead zone
    z, m2 = xy(one_line(right, "map-l2"))
    np.testing.assert_allclose(m2, z / (1 + 2 * lam), rtol=1e-13, atol=1e-15)
    for ax in (left, right):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None


# --- constraint_geometry ----------------------------------------------------------------

def _minimise_l1_2d(X, y, lam, s):
    """Brute-force 2-D lasso by exact 1-D solves along each axis and the 2-D interior."""
    from scipy.optimize import minimize

    def f(w):
        r = y - X @ w
        return r @ r / (2 * s**2) + lam * np.sum(np.abs(w))

    best = None
    # Candidates: w2 = 0, w1 = 0 (closed-form soft-thresholds) and a smooth interior minimum.
    for j in range(2):
        xj = X[:, j]
        wj = np.sign(xj @ y) * max(abs(xj @ y) - lam * s**2, 0.0) / (xj @ xj)
        w = np.zeros(2)
        w[j] = wj
        best = w if best is None or f(w) < f(best) else best
    res = minimize(f, np.linalg.lstsq(X, y, rcond=None)[0], method="Nelder-Mead",
                   options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 10_000})
    return best if f(best) <= f(res.x) else res.x


def test_constraint_geometry_marks_both_maps_and_the_balls_through_them():
    fig = plots.constraint_geometry()
    ax = fig.axes[0]
    X, y = plots._geometry_data()
    lam = 50.0  # default Laplace(b=0.02)
    w1 = _minimise_l1_2d(X, y, lam, 1.0)
    px, py = xy(one_line(ax, "map-l1"))
    np.testing.assert_allclose([px[0], py[0]], w1, atol=1e-8)
    assert py[0] == 0.0  # the L1 MAP sits exactly on an axis
    # Ridge MAP in closed form: (X'X / s^2 + I / sigma^2)^{-1} X'y / s^2.
    w2 = np.linalg.solve(X.T @ X + np.eye(2) / 0.12**2, X.T @ y)
    px, py = xy(one_line(ax, "map-l2"))
    np.testing.assert_allclose([px[0], py[0]], w2, rtol=1e-10)
    assert np.all(w2 != 0)
    # The diamond's corners lie on the axes at the L1 MAP's norm; the disc passes through w2.
    bx, by = xy(one_line(ax, "l1-ball"))
    np.testing.assert_allclose(np.abs(bx) + np.abs(by), np.sum(np.abs(w1)), rtol=1e-8)
    cx, cy = xy(one_line(ax, "l2-ball"))
    np.testing.assert_allclose(np.hypot(cx, cy), np.linalg.norm(w2), rtol=1e-10)
    mx, my = xy(one_line(ax, "mle"))
    np.testing.assert_allclose([mx[0], my[0]], np.linalg.lstsq(X, y, rcond=None)[0])
    assert ax.get_xlabel() == "w1" and ax.get_ylabel() == "w2" and ax.get_legend() is not None


def test_constraint_geometry_rejects_other_shapes():
    with pytest.raises(ValueError, match="2 features"):
        plots.constraint_geometry(np.ones((5, 3)), np.ones(5))
    with pytest.raises(ValueError, match="both"):
        plots.constraint_geometry(np.ones((5, 2)))


# --- map_path ---------------------------------------------------------------------------

def test_map_path_laplace_lines_equal_find_map_and_sklearn_lasso(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=Laplace(2.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    scales = [0.3, 1.0, 2.0, 10.0, 100.0]
    fig = plots.map_path(compare_paths(model, scales))
    ax = fig.axes[0]
    names = diabetes.feature_names
    for prefix in ("map-path", "penalized-path", "sklearn-path"):
        found = [ln.get_gid() for ln in ax.get_lines() if str(ln.get_gid()).startswith(prefix)]
        assert sorted(found) == sorted(f"{prefix}:{n}" for n in names)
    n = len(diabetes.y)
    for k, b in enumerate(scales):
        ref = find_map(Model(diabetes.X, diabetes.y, prior=Laplace(b), noise_sigma=NOISE)).coef
        # sklearn Lasso minimises (1/2n)|y - Xw|^2 + alpha |w|_1, alpha = s^2 / (n b).
        sk = Lasso(alpha=NOISE**2 / (n * b), tol=1e-12, max_iter=100_000).fit(
            diabetes.X, diabetes.y).coef_
        for j, name in enumerate(names):
            x, c = xy(one_line(ax, f"map-path:{name}"))
            np.testing.assert_allclose(x, scales)
            assert c[k] == pytest.approx(ref[j], abs=1e-9)
            _, c = xy(one_line(ax, f"penalized-path:{name}"))
            assert c[k] == pytest.approx(ref[j], abs=1e-7)
            assert (c[k] == 0.0) == (ref[j] == 0.0)
            _, c = xy(one_line(ax, f"sklearn-path:{name}"))
            assert c[k] == pytest.approx(sk[j], abs=1e-6 * max(1.0, np.abs(sk).max()))
    assert ax.get_xscale() == "log"
    assert "b" in ax.get_xlabel() and ax.get_ylabel() == "coefficient"
    # The top axis is the penalty lam = 1/b: its transform maps b=2 to lam=0.5.
    top = [c for c in ax.child_axes if "λ" in c.get_xlabel()]
    assert len(top) == 1 and "1/b" in top[0].get_xlabel()
    assert top[0]._functions[0](np.array([2.0]))[0] == pytest.approx(0.5)


def test_map_path_gaussian_matches_closed_form_ridge(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=Gaussian(10.0), noise_sigma=NOISE)
    scales = [0.5, 5.0, 50.0]
    fig = plots.map_path(compare_paths(model, scales))
    ax = fig.axes[0]
    Xc, yc = diabetes.X - diabetes.X.mean(0), diabetes.y - diabetes.y.mean()
    for k, sigma in enumerate(scales):
        ridge = np.linalg.solve(Xc.T @ Xc / NOISE**2 + np.eye(10) / sigma**2, Xc.T @ yc / NOISE**2)
        for j in range(10):
            for prefix in ("map-path", "penalized-path", "sklearn-path"):
                _, c = xy(one_line(ax, f"{prefix}:x{j}"))
                assert c[k] == pytest.approx(ridge[j], rel=1e-6, abs=1e-8)
    top = next(c for c in ax.child_axes if "λ" in c.get_xlabel())
    assert top._functions[0](np.array([5.0]))[0] == pytest.approx(1 / 50)


def test_map_path_of_a_student_t_prior_has_a_delta_axis(diabetes):
    # lam = (nu + 1)/2 does not move with s: the top axis shows delta = nu s^2 instead.
    model = Model(diabetes.X, diabetes.y, prior=StudentT(3.0, 2.0), noise_sigma=NOISE)
    fig = plots.map_path(compare_paths(model, [0.5, 2.0, 8.0]))
    ax = fig.axes[0]
    (top,) = ax.child_axes
    assert top.get_xlabel() == "penalty δ = 3s²"
    np.testing.assert_allclose(top._functions[0](np.array([2.0, 0.5])), [12.0, 0.75])
    assert not any(str(ln.get_gid()).startswith("sklearn") for ln in ax.get_lines())
    assert "non-convex" in ax.get_title()


def test_map_path_draws_only_the_record_it_is_given(diabetes, monkeypatch):
    model = Model(diabetes.X, diabetes.y, prior=Laplace(2.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    record = path(model, [1.0, 4.0])
    import mapreg.fit.map
    import mapreg.fit.path

    def no_solving(*args, **kwargs):
        raise AssertionError("a plot solved")

    monkeypatch.setattr(mapreg.fit.map, "find_map", no_solving)
    monkeypatch.setattr(mapreg.fit.path, "find_map", no_solving)
    monkeypatch.setattr(mapreg.fit.path, "penalized_fit", no_solving)
    ax = plots.map_path(record).axes[0]
    for j, name in enumerate(diabetes.feature_names):
        np.testing.assert_array_equal(xy(one_line(ax, f"map-path:{name}"))[1], record.coef[:, j])
    assert not any(str(ln.get_gid()).startswith(("penalized", "sklearn"))
                   for ln in ax.get_lines())
    with pytest.raises(ValueError, match="scales apply to a Model"):
        plots.map_path(record, [1.0])


def test_map_path_model_shorthand_is_compare_paths(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=Laplace(2.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    scales = [0.5, 3.0]
    ax = plots.map_path(model, scales, sklearn=False).axes[0]
    comparison = compare_paths(model, scales, sklearn=False)
    for j, name in enumerate(diabetes.feature_names):
        np.testing.assert_array_equal(xy(one_line(ax, f"map-path:{name}"))[1],
                                      comparison.map.coef[:, j])
        np.testing.assert_array_equal(xy(one_line(ax, f"penalized-path:{name}"))[1],
                                      comparison.penalized.coef[:, j])


def test_map_path_bernoulli_without_sklearn_overlay():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X @ [1.5, 0.0, -1.0] + rng.logistic(size=80) > 0).astype(float)
    model = Model(X, y, prior=Laplace(1.0), family="bernoulli")
    fig = plots.map_path(compare_paths(model, [0.05, 0.5, 5.0], sklearn=False))
    ax = fig.axes[0]
    assert not any(str(ln.get_gid()).startswith("sklearn") for ln in ax.get_lines())
    # the exact L1 logistic reference of tests/_reference.py (lam = 1/b), not find_map
    for k, b in enumerate([0.05, 0.5, 5.0]):
        ref, _ = l1_reference(X, y, "bernoulli", 1.0 / b, True)
        for j in range(3):
            _, c = xy(one_line(ax, f"map-path:x{j}"))
            assert c[k] == pytest.approx(ref[j], abs=1e-6)
            assert (c[k] == 0.0) == (ref[j] == 0.0)


# --- posterior_vs_mode ------------------------------------------------------------------

def _fake_idata(draws, names, map_coef, *, chains=2):
    """A DataTree with the structure mapreg.sample_posterior returns."""
    draws = np.asarray(draws, dtype=float).reshape(chains, -1, len(names))
    posterior = xr.Dataset(
        {"coef": (("chain", "draw", "feature"), draws),
         "intercept": (("chain", "draw"), np.zeros(draws.shape[:2]))},
        coords={"chain": np.arange(chains), "draw": np.arange(draws.shape[1]), "feature": names},
    )
    mode = xr.Dataset({"coef": (("feature",), np.asarray(map_coef, float)),
                       "intercept": ((), 0.0)}, coords={"feature": names})
    tree = xr.DataTree.from_dict({"posterior": posterior, "map": mode})
    tree.attrs["sampler"] = "test"
    return tree


def test_posterior_vs_mode_marks_map_quantiles_and_zero():
    rng = np.random.default_rng(1)
    names = ["a", "b", "c"]
    d = rng.normal(loc=[2.0, -1.0, 0.1], scale=[0.5, 0.3, 0.2], size=(4000, 3))
    mode = [2.1, -0.9, 0.0]
    idata = _fake_idata(d, names, mode)
    fig = plots.posterior_vs_mode(idata, interval=0.9)
    ax = fig.axes[0]
    for j, name in enumerate(names):
        row = len(names) - 1 - j
        mx, my = xy(one_line(ax, f"map:{name}"))
        assert mx[0] == mode[j] and my[0] == row
        ln = one_line(ax, f"map:{name}")
        assert (ln.get_markerfacecolor() == "none") == (mode[j] == 0.0)
        ix, iy = xy(one_line(ax, f"interval:{name}"))
        np.testing.assert_allclose(ix, np.quantile(d[:, j], [0.05, 0.95]))
        np.testing.assert_array_equal(iy, [row, row])
        ix, _ = xy(one_line(ax, f"interval50:{name}"))
        np.testing.assert_allclose(ix, np.quantile(d[:, j], [0.25, 0.75]))
        medx, _ = xy(one_line(ax, f"median:{name}"))
        assert medx[0] == pytest.approx(np.median(d[:, j]))
        # The density ridge peaks near the mean of the normal draws.
        gx, gy = xy(one_line(ax, f"posterior:{name}"))
        assert gx[np.argmax(gy)] == pytest.approx([2.0, -1.0, 0.1][j], abs=0.15)
        assert gy.max() == pytest.approx(row + 0.8)
    zx, _ = xy(one_line(ax, "zero"))
    np.testing.assert_array_equal(zx, [0.0, 0.0])
    ticks = dict(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()], strict=True))
    assert ticks == {2: "a", 1: "b", 0: "c"}  # first coefficient on top
    assert ax.get_xlabel() and ax.get_legend() is not None and "test" in ax.get_title()


def test_posterior_vs_mode_reorders_map_by_feature_name():
    names = ["a", "b"]
    d = np.random.default_rng(2).normal(size=(200, 2))
    idata = _fake_idata(d, names, [1.0, 2.0])
    idata["map"] = xr.Dataset({"coef": (("feature",), [2.0, 1.0])}, coords={"feature": ["b", "a"]})
    ax = plots.posterior_vs_mode(idata).axes[0]
    assert xy(one_line(ax, "map:a"))[0][0] == 1.0
    assert xy(one_line(ax, "map:b"))[0][0] == 2.0


def test_posterior_vs_mode_without_map_group_and_bad_interval():
    d = np.random.default_rng(3).normal(size=(100, 2))
    idata = xr.DataTree.from_dict({"posterior": _fake_idata(d, ["a", "b"], [0, 0])["posterior"]
                                   .to_dataset()})
    ax = plots.posterior_vs_mode(idata).axes[0]
    assert not any(str(ln.get_gid()).startswith("map:") for ln in ax.get_lines())
    ax = plots.posterior_vs_mode(idata, map_coef=[0.5, 0.0]).axes[0]
    assert xy(one_line(ax, "map:a"))[0][0] == 0.5
    with pytest.raises(ValueError, match="interval"):
        plots.posterior_vs_mode(idata, interval=1.5)


# --- posterior_median_path --------------------------------------------------------------

def test_posterior_median_path_draws_the_medians_and_the_map_path(diabetes, monkeypatch):
    model = Model(diabetes.X, diabetes.y, prior=Laplace(2.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    names = list(diabetes.feature_names)
    rng = np.random.default_rng(4)
    scales = [5.0, 0.5, 50.0]  # unsorted on purpose
    samples = [rng.normal(loc=k, size=(300, 10)) for k in range(3)]
    idatas = [_fake_idata(s, names, np.zeros(10)) for s in samples]
    medians = posterior_median_path(model, scales, idatas=idatas)
    map_path = path(model, [0.5, 5.0, 50.0])
    import mapreg.posterior.sample

    def no_sampling(*args, **kwargs):
        raise AssertionError("a plot sampled")

    monkeypatch.setattr(mapreg.posterior.sample, "sample_posterior", no_sampling)
    fig = plots.posterior_median_path(medians, map_path)
    left, right = fig.axes[:2]
    order = np.argsort(scales)
    n = len(diabetes.y)
    ref = Lasso(alpha=NOISE**2 / (n * 5.0), tol=1e-14, max_iter=100_000).fit(
        diabetes.X, diabetes.y).coef_
    for j, name in enumerate(names):
        x, med = xy(one_line(right, f"median-path:{name}"))
        np.testing.assert_allclose(x, np.sort(scales))
        np.testing.assert_allclose(med, [np.median(samples[k][:, j]) for k in order])
        x, c = xy(one_line(left, f"map-path:{name}"))
        np.testing.assert_allclose(x, [0.5, 5.0, 50.0])
        assert c[1] == pytest.approx(ref[j], abs=1e-6 * max(1.0, np.abs(ref).max()))
        assert (c[1] == 0.0) == (ref[j] == 0.0)
        assert len(lines(right, f"map-path-faint:{name}")) == 1
    for ax in (left, right):
        assert ax.get_xscale() == "log" and ax.get_xlabel()
    assert left.get_ylabel() == "coefficient"


def test_posterior_median_path_checks_its_inputs(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=Laplace(2.0), noise_sigma=NOISE)
    idata = _fake_idata(np.zeros((10, 10)), [f"x{j}" for j in range(10)], np.zeros(10))
    medians = posterior_median_path(model, [1.0], idatas=[idata])
    other = Model(diabetes.X, diabetes.y, prior=Laplace(2.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    with pytest.raises(ValueError, match="differ from the medians"):
        plots.posterior_median_path(medians, path(other, [1.0]))
    with pytest.raises(ValueError, match="needs the MAP path"):
        plots.posterior_median_path(medians)
    with pytest.raises(ValueError, match="apply to a Model"):
        plots.posterior_median_path(medians, path(model, [1.0]), draws=10)


def test_posterior_median_path_model_shorthand(diabetes):
    # the notebooks' form: a Model, the medians sampled and the MAP path solved first
    model = Model(diabetes.X, diabetes.y, prior=Laplace(2.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    rng = np.random.default_rng(5)
    idatas = [_fake_idata(rng.normal(size=(40, 10)), list(diabetes.feature_names),
                          np.zeros(10)) for _ in range(2)]
    fig = plots.posterior_median_path(model, [1.0, 10.0], idatas=idatas, map_scales=[1.0, 10.0])
    left, right = fig.axes[:2]
    ref = path(model, [1.0, 10.0])
    np.testing.assert_array_equal(xy(one_line(left, "map-path:bmi"))[1], ref.coef[:, 2])
    assert len(xy(one_line(right, "median-path:bmi"))[1]) == 2
