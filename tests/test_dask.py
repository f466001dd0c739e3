"""Dask arrays and DataFrames in, the in-memory answers out (:mod:`mapreg.backends.dask_stats`).

Every fit on dask data is compared with the same model on the numpy arrays: coefficients
to 1e-10 relative (gaussian, exact from the sufficient statistics) or 1e-8 (bernoulli and
poisson, proximal Newton with one map-reduce per step), the same exact zeros, and the same
one-line errors for bad data found in a late chunk.
"""

from __future__ import annotations

import numpy as np
import pytest

import mapreg
from mapreg import ElasticNet, Gaussian, Laplace, Model, StudentT, find_map, penalized_fit

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

from mapreg.backends import dask_stats  # noqa: E402
from mapreg.backends.gram import GramStats  # noqa: E402

N, P = 1200, 7


def _data(family="gaussian", seed=0, n=N, p=P, shift=3.0):
    """A sparse problem; the columns have a mean far from zero (centring is exercised)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + shift
    w = np.zeros(p)
    w[:3] = [1.0, -0.8, 0.5]
    eta = (X - shift) @ w + 0.3
    if family == "gaussian":
        y = eta + rng.normal(size=n)
    elif family == "bernoulli":
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
    return X, y


def _dask(X, y, rows, cols=None):
    return (da.from_array(X, chunks=(rows, cols or X.shape[1])), da.from_array(y, chunks=rows))


def _rel(a, b):
    u, v = np.append(a.coef, a.intercept), np.append(b.coef, b.intercept)
    return float(np.max(np.abs(u - v)) / max(1.0, np.max(np.abs(u))))


def _same(res_np, res_dask, rtol):
    assert res_dask.converged
    assert _rel(res_np, res_dask) <= rtol
    assert np.array_equal(res_np.coef == 0.0, res_dask.coef == 0.0)


# ------------------------------------------------------------------ gaussian
PRIORS = [Laplace(b=0.01), Gaussian(sigma=0.2), ElasticNet(b=0.01, sigma=0.5)]


@pytest.mark.parametrize("chunks", [(300, None), (97, 3), (N, None)],
                         ids=["rows300", "rows97xcols3", "one-chunk"])
@pytest.mark.parametrize("prior", PRIORS, ids=lambda p: type(p).__name__)
def test_gaussian_map_equals_numpy(prior, chunks):
    X, y = _data()
    res_np = find_map(Model(X, y, prior=prior, noise_sigma=1.3))
    model = Model(*_dask(X, y, *chunks), prior=prior, noise_sigma=1.3)
    assert model.is_dask
    res = find_map(model)
    _same(res_np, res, 1e-10)
    assert res.solver == res_np.solver
    assert res.kkt_violation <= res.tol
    assert res.neg_log_posterior == pytest.approx(res_np.neg_log_posterior, rel=1e-12)
    if isinstance(prior, Laplace):
        assert res.n_zeros >= 3


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gaussian_penalized_fit_equals_numpy(fit_intercept):
    X, y = _data(seed=1)
    kw = dict(penalty="elasticnet", lam=40.0, lam2=3.0, noise_sigma=1.0,
              fit_intercept=fit_intercept)
    res_np = penalized_fit(X, y, **kw)
    res = penalized_fit(*_dask(X, y, 250), **kw)
    _same(res_np, res, 1e-10)
    assert res.objective == pytest.approx(res_np.objective, rel=1e-12)


def test_sufficient_statistics_are_stable_far_from_zero():
    """Chunks merged by the pairwise update: no cancellation of raw sums of squares."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5000, 3)) + 1e6
    y = rng.normal(size=5000) - 1e6
    st = dask_stats.DaskData(*_dask(X, y, 333), mapreg.GaussianFamily(1.0)).stats()
    XL, yL = X.astype(np.longdouble), y.astype(np.longdouble)
    Xc, yc = XL - XL.mean(axis=0), yL - yL.mean()
    ref_xx, ref_xy = (Xc.T @ Xc).astype(float), (Xc.T @ yc).astype(float)
    scale = np.max(np.abs(ref_xx))
    assert np.max(np.abs(st.Sxx - ref_xx)) <= 1e-9 * scale
    assert np.max(np.abs(st.Sxy - ref_xy)) <= 1e-9 * scale
    assert st.Syy == pytest.approx(float(yc @ yc), rel=1e-9)
    raw = X.T @ X - 5000 * np.outer(X.mean(axis=0), X.mean(axis=0))
    assert np.max(np.abs(raw - ref_xx)) > 1e-6 * scale  # what the update avoids
    assert st.n == 5000
    one = GramStats.from_arrays(X, y)
    assert np.max(np.abs(one.Sxx - ref_xx)) <= 1e-9 * scale


def test_one_pass_serves_map_penalized_and_verify():
    """The first pass is cached by the dask names: verify_equivalence makes no other pass."""
    X, y = _data(seed=3)
    model = Model(*_dask(X, y, 200), prior=Laplace(b=0.02), noise_sigma=1.0)
    before = dict(dask_stats.PASSES)
    report = mapreg.verify_equivalence(model)
    assert report.passed, str(report)
    assert report.sklearn_coef is not None and report.max_abs_diff_sklearn < 1e-6
    assert dask_stats.PASSES["summary"] == before["summary"] + 1
    assert dask_stats.PASSES["glm"] == before["glm"]
    in_memory = mapreg.verify_equivalence(Model(X, y, prior=Laplace(b=0.02), noise_sigma=1.0))
    assert np.max(np.abs(report.map.coef - in_memory.map.coef)) <= 1e-10


def test_verify_skips_scikit_learn_on_large_dask_data(monkeypatch):
    from mapreg.fit import verify

    monkeypatch.setattr(verify, "SKLEARN_MAX_ENTRIES", 100)
    X, y = _data(seed=4)
    report = mapreg.verify_equivalence(Model(*_dask(X, y, 400), prior=Laplace(b=0.02),
                                             noise_sigma=1.0))
    assert report.passed
    assert report.sklearn_coef is None
    assert "skipped" in report.sklearn_name and f"{N} x {P}" in report.sklearn_name


def test_dataframe_with_named_columns():
    X, y = _data(seed=5)
    names = [f"feat_{j}" for j in range(P)]
    frame = pd.DataFrame(X, columns=names).assign(target=y)
    ddf = dd.from_pandas(frame, npartitions=5)
    model = Model(ddf[names], ddf["target"], prior=Laplace(b=0.01), noise_sigma=1.0)
    assert model.feature_names == tuple(names)
    assert "n_samples=?" in repr(model)  # nothing computed yet
    res = find_map(model)
    assert model.n_samples == N and f"n_samples={N}" in repr(model)
    assert res.feature_names == tuple(names)
    _same(find_map(Model(X, y, prior=Laplace(b=0.01), noise_sigma=1.0)), res, 1e-10)


def test_dataframe_partitions_are_aligned():
    """A DataFrame and a Series in different partitions (known divisions) are aligned
    into one array; dask arrays in different row chunks of unknown size are refused."""
    X, y = _data(seed=5)
    Xd = dd.from_pandas(pd.DataFrame(X), npartitions=4)
    yd = dd.from_pandas(pd.Series(y), npartitions=3)
    res = find_map(Model(Xd, yd, prior=Laplace(b=0.01), noise_sigma=1.0))
    _same(find_map(Model(X, y, prior=Laplace(b=0.01), noise_sigma=1.0)), res, 1e-10)
    Xa, ya = Xd.to_dask_array(), yd.to_dask_array()  # row chunks of unknown size
    with pytest.raises(ValueError, match="same partitions"):
        Model(Xa, ya, prior=Laplace(b=1.0), noise_sigma=1.0)


def test_parquet_columns_share_row_chunks(tmp_path):
    """dask plans a narrow column of a Parquet file in fewer partitions than the wide
    features (it fuses them): X = df[features], y = df[target] must still fit."""
    pytest.importorskip("pyarrow")
    X, y = _data(seed=12)
    names = [f"f{j}" for j in range(P)]
    pd.DataFrame(X, columns=names).assign(t=y).to_parquet(tmp_path / "d.parquet",
                                                          row_group_size=100)
    df = dd.read_parquet(tmp_path / "d.parquet", split_row_groups=True)
    res = find_map(Model(df[names], df["t"], prior=Laplace(b=0.01), noise_sigma=1.0))
    _same(find_map(Model(X, y, prior=Laplace(b=0.01), noise_sigma=1.0)), res, 1e-10)


def test_non_numeric_columns_are_named():
    frame = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}),
                           npartitions=1)
    with pytest.raises(ValueError, match="X must be numeric: column 'b'"):
        Model(frame, frame["a"], prior=Laplace(b=1.0), noise_sigma=1.0)


# ------------------------------------------------------------------ lazy validation
def _message(fn):
    with pytest.raises(ValueError) as err:
        fn()
    return str(err.value)


def _late(a, index, value):
    a = a.copy()
    a[index] = value
    return a


@pytest.mark.parametrize("case", ["nan-X", "inf-y", "label", "constant-labels", "count"])
def test_bad_values_in_a_late_chunk_give_the_numpy_error(case):
    X, y = _data("bernoulli" if case != "count" else "poisson", seed=6)
    family = "poisson" if case == "count" else "bernoulli"
    if case == "nan-X":
        X = _late(X, (1100, 4), np.nan)
        X[1150, 2] = np.inf
    elif case == "inf-y":
        y = _late(y, 1010, -np.inf)
    elif case == "label":
        y = _late(y, 1001, 2.0)
        y[1190] = -1.0
    elif case == "constant-labels":
        y = np.ones_like(y)
    else:
        y = _late(y, 1111, 2.5)

    def build(X_, y_):
        return Model(X_, y_, prior=Laplace(b=1.0), family=family)

    expected = _message(lambda: build(X, y))
    model = build(*_dask(X, y, 200))  # lazily validated: nothing computed yet
    assert _message(lambda: find_map(model)) == expected
    assert _message(lambda: penalized_fit(*_dask(X, y, 200), family=family)) == expected


def test_shapes_are_checked_eagerly():
    X, y = _data()
    with pytest.raises(ValueError, match="X and y have different numbers of rows"):
        Model(da.from_array(X), da.from_array(y[:-1]), prior=Laplace(b=1.0), noise_sigma=1.0)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        Model(da.from_array(y), y, prior=Laplace(b=1.0), noise_sigma=1.0)


# ------------------------------------------------------------------ bernoulli / poisson
@pytest.mark.parametrize("family, prior", [
    ("bernoulli", Laplace(b=0.05)), ("bernoulli", Gaussian(sigma=0.5)),
    ("poisson", Laplace(b=0.05)), ("poisson", ElasticNet(b=0.05, sigma=1.0)),
])
def test_glm_map_equals_numpy(family, prior):
    X, y = _data(family, seed=7)
    res_np = find_map(Model(X, y, prior=prior, family=family))
    model = Model(*_dask(X, y, 250), prior=prior, family=family)
    before = dask_stats.PASSES["glm"]
    res = find_map(model)
    _same(res_np, res, 1e-8)
    assert res.solver == "prox-newton-gram"
    # one map-reduce per accepted Newton step, plus the certificate at the end
    assert dask_stats.PASSES["glm"] - before <= 2 * res.n_iter + 2
    assert res.neg_log_posterior == pytest.approx(res_np.neg_log_posterior, rel=1e-10)
    if isinstance(prior, Laplace):
        assert res.n_zeros > 0


def test_glm_verify_equivalence_on_dask():
    X, y = _data("bernoulli", seed=8)
    report = mapreg.verify_equivalence(Model(*_dask(X, y, 300), prior=Laplace(b=0.1),
                                             family="bernoulli"))
    assert report.passed, str(report)


def test_unsupported_paths_say_what_to_do():
    X, y = _data(seed=9)
    model = Model(*_dask(X, y, 300), prior=StudentT(nu=3.0, s=1.0), noise_sigma=1.0)
    with pytest.raises(NotImplementedError, match=r"X.compute\(\)"):
        find_map(model)
    model = Model(*_dask(X, y, 300), prior=Laplace(b=1.0), noise_sigma=1.0)
    with pytest.raises(NotImplementedError, match="backend='jax' needs the data"):
        find_map(model, backend="jax")


def test_mcmc_refusal_names_the_alternatives():
    X, y = _data("bernoulli", seed=10)
    model = Model(*_dask(X, y, 300), prior=Laplace(b=1.0), family="bernoulli")
    reason = dask_stats.mcmc_refusal(model)
    assert "find_map" in reason and "numpyro" in reason and "X.compute()" in reason
    assert dask_stats.mcmc_refusal(Model(X, y, prior=Laplace(b=1.0), family="bernoulli")) is None


# ------------------------------------------------------------------ dask.distributed
def test_distributed_client_gives_the_same_fits():
    distributed = pytest.importorskip("distributed")
    X, y = _data(seed=11)
    yb = (y > np.median(y)).astype(float)
    dask_stats.clear_cache()  # every reduction below runs on the cluster
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        res_g = find_map(Model(*_dask(X, y, 300), prior=Laplace(b=0.01), noise_sigma=1.0))
        res_b = find_map(Model(*_dask(X, yb, 300), prior=Laplace(b=0.1), family="bernoulli"))
    _same(find_map(Model(X, y, prior=Laplace(b=0.01), noise_sigma=1.0)), res_g, 1e-10)
    _same(find_map(Model(X, yb, prior=Laplace(b=0.1), family="bernoulli")), res_b, 1e-8)


@pytest.mark.xdist_group("cluster")
def test_two_worker_processes_200k_rows_give_the_in_memory_fits():
    """The issue's setting: a LocalCluster of 2 worker processes, 200,000 x 20 in
    25,000-row chunks made on the workers; gaussian and bernoulli equal numpy to 1e-8."""
    distributed = pytest.importorskip("distributed")
    n, p = 200_000, 20
    Xd = da.random.default_rng(5).standard_normal((n, p), chunks=(25_000, p))
    w = np.zeros(p)
    w[:5] = [0.8, -0.6, 0.4, 0.3, -0.2]
    eta = Xd @ w
    yd = eta + da.random.default_rng(6).standard_normal(n, chunks=25_000)
    u = da.random.default_rng(7).uniform(size=n, chunks=25_000)
    yb = (u < 1.0 / (1.0 + da.exp(-eta))).astype(float)
    dask_stats.clear_cache()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        res_g = find_map(Model(Xd, yd, prior=Laplace(b=1e-4), noise_sigma=1.0))
        res_b = find_map(Model(Xd, yb, prior=Laplace(b=1e-3), family="bernoulli"))
        X, y, labels = (a.compute() for a in (Xd, yd, yb))
    assert 0 < np.count_nonzero(res_g.coef) < p and 0 < np.count_nonzero(res_b.coef) < p
    _same(find_map(Model(X, y, prior=Laplace(b=1e-4), noise_sigma=1.0)), res_g, 1e-8)
    _same(find_map(Model(X, labels, prior=Laplace(b=1e-3), family="bernoulli")), res_b, 1e-8)


def test_mcmc_on_dask_data_is_refused_naming_the_alternatives():
    import dask.array as da

    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((60, 3)), rng.standard_normal(60)
    model = mapreg.Model(da.from_array(X, chunks=20), da.from_array(y, chunks=20),
                         prior=mapreg.Laplace(1.0), noise_sigma=1.0)
    with pytest.raises(ValueError, match=r"dask-backed.*find_map.*X\.compute\(\).*numpyro"):
        mapreg.sample_posterior(model, draws=10, tune=10, chains=1, sampler="nutpie")
