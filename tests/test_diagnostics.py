"""The vectorised R-hat / ESS (mapreg.posterior.diagnostics) against arviz_stats.

arviz_stats computes the same estimators (Vehtari et al. 2021) one coordinate at a time;
here both run on the same random chains (autocorrelated, heavy-tailed, tied, constant,
shifted, odd lengths) and must agree to 1e-10 relative.
"""

from __future__ import annotations

import arviz_stats as azs
import numpy as np
import pytest
import xarray as xr

from mapreg.posterior.diagnostics import (
    TAIL_PROBS,
    check_diagnostics,
    ess_bulk,
    ess_tail,
    rhat_rank,
    summaries,
)


def _ar1(rng, chains, draws, k, phi):
    """AR(1) chains with coefficient phi[j] for coordinate j, heavy-tailed innovations."""
    e = rng.standard_t(3, size=(chains, draws, k))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


def _cases():
    rng = np.random.default_rng(1)
    k = 24
    phi = np.linspace(-0.6, 0.99, k)
    x = _ar1(rng, 4, 301, k, phi)               # odd draws: the middle one is dropped
    x[:, :, 3] = np.round(x[:, :, 3])           # ties: average ranks
    x[:, :, 4] = 2.5                            # constant: ESS = all draws, R-hat NaN
    x[1, :, 5] += 3.0                           # one chain shifted: large R-hat
    x[:, :, 6] = (x[:, :, 6] > 0.7)             # an indicator
    yield "ar1", x
    yield "short", rng.standard_normal((3, 9, 5))
    yield "one chain", _ar1(rng, 1, 200, 6, np.linspace(0, 0.9, 6))
    yield "long", _ar1(rng, 2, 2000, 4, np.array([0.0, 0.5, 0.9, 0.999]))


def _reference(x, fn, **kw):
    ds = xr.Dataset({"v": (("chain", "draw", "k"), x)})
    return np.asarray(fn(ds, **kw)["v"].values, dtype=float)


@pytest.mark.parametrize("name,x", list(_cases()), ids=[c[0] for c in _cases()])
def test_matches_arviz_stats(name, x):
    np.testing.assert_allclose(rhat_rank(x), _reference(x, azs.rhat), rtol=1e-10,
                               equal_nan=True)
    np.testing.assert_allclose(ess_bulk(x), _reference(x, azs.ess, method="bulk"),
                               rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(ess_tail(x), _reference(x, azs.ess, method="tail",
                                                       prob=TAIL_PROBS),
                               rtol=1e-10, equal_nan=True)
    # arviz_stats' own default tail quantiles (its ci_prob, 0.89: 11% and 89%)
    np.testing.assert_allclose(ess_tail(x, (0.11, 0.89)), _reference(x, azs.ess, method="tail"),
                               rtol=1e-10, equal_nan=True)


def test_blocks_and_shapes():
    """Many coordinates (several blocks) and extra dims: the same as coordinate by coordinate."""
    rng = np.random.default_rng(2)
    x = _ar1(rng, 2, 60, 1100, rng.uniform(-0.5, 0.95, 1100))
    full = ess_bulk(x)
    assert full.shape == (1100,)
    np.testing.assert_allclose(full[[0, 600, 1099]], ess_bulk(x[:, :, [0, 600, 1099]]),
                               rtol=1e-12)
    np.testing.assert_allclose(rhat_rank(x.reshape(2, 60, 100, 11)),
                               rhat_rank(x).reshape(100, 11), rtol=1e-12)
    assert rhat_rank(x[:, :, 0]).shape == ()


def test_threaded_blocks_give_the_single_threads_numbers(monkeypatch):
    """Coordinates split over CPUs (blocks in threads) give bit-for-bit the one-block values."""
    from mapreg.posterior import diagnostics

    x = next(_cases())[1]
    x = np.concatenate([x] * 12, axis=2)  # 288 coordinates: 9 blocks of 32 on 9 "CPUs"
    monkeypatch.setattr(diagnostics, "n_cpus", lambda: 1)
    assert len(diagnostics._blocks(x)[0]) == 1
    one = summaries(x)
    monkeypatch.setattr(diagnostics, "n_cpus", lambda: 9)
    assert len(diagnostics._blocks(x)[0]) == 9
    for a, b in zip(summaries(x), one, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(rhat_rank(x), one[0])


def test_nan_and_too_short():
    x = np.random.default_rng(3).standard_normal((2, 50, 3))
    x[0, 7, 1] = np.nan
    r, e = rhat_rank(x), ess_bulk(x)
    assert np.isnan(r[1]) and np.isnan(e[1]) and np.isfinite(r[[0, 2]]).all()
    assert np.isnan(ess_bulk(x[:, :3])).all()
    with pytest.raises(ValueError, match="chain, draw"):
        ess_bulk(np.zeros(5))


def test_check_diagnostics_names_the_worst():
    rng = np.random.default_rng(4)
    coef = rng.standard_normal((4, 200, 3))
    coef[2, :, 1] += 5.0                         # feature "b" disagrees between chains
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset(
        {"coef": (("chain", "draw", "feature"), coef)}, coords={"feature": ["a", "b", "c"]})})
    with pytest.warns(Warning, match=r"coef\[b\]"):
        d = check_diagnostics(tree, ["coef"], sampler="test", chains=4, tune=0)
    assert d.max_rhat == pytest.approx(float(_reference(coef, azs.rhat)[1]), rel=1e-10)
    assert d.min_ess_bulk == pytest.approx(float(_reference(coef, azs.ess).min()), rel=1e-10)


@pytest.mark.parametrize("name,x", list(_cases()), ids=[c[0] for c in _cases()])
def test_summaries_is_the_three(name, x):
    r, b, t = summaries(x)
    np.testing.assert_allclose(r, rhat_rank(x), rtol=1e-14, equal_nan=True)
    np.testing.assert_allclose(b, ess_bulk(x), rtol=1e-14, equal_nan=True)
    np.testing.assert_allclose(t, ess_tail(x), rtol=1e-14, equal_nan=True)


def test_scores_with_ties():
    from scipy.special import ndtri
    from scipy.stats import rankdata

    from mapreg.posterior.diagnostics import _scores

    x = np.random.default_rng(5).integers(0, 6, size=(7, 40)).astype(float)
    x[0] = np.arange(40.0)[::-1]  # one row without ties
    z, ordered = _scores(x)
    np.testing.assert_array_equal(ordered, np.sort(x, axis=1))
    ranks = rankdata(x, method="average", axis=1)
    np.testing.assert_allclose(z, ndtri((ranks - 0.375) / 40.25), rtol=1e-15, atol=0)
