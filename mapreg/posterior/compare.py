"""The mode next to the posterior: what the MAP shows and what it hides."""

from __future__ import annotations

import numpy as np


def compare_mode_posterior(idata, eps: float | None = None, prob: float = 0.9):
    r"""Per-coefficient table: the MAP beside posterior summaries.

    For each coefficient ``w_j`` with draws ``w_j^(s)``, ``s = 1..S`` (chains pooled):

    ==============  ====================================================
    column          definition
    ==============  ====================================================
    ``map``         the posterior mode (``idata["map"]["coef"]``)
    ``mean``        ``(1/S) sum_s w^(s)``
    ``median``      the 50% quantile of the draws
    ``sd``          ``sqrt((1/(S-1)) sum_s (w^(s) - mean)**2)``
    ``lower/upper`` the ``(1-prob)/2`` and ``(1+prob)/2`` quantiles (central interval)
    ``p_pos``       ``(1/S) #{s: w^(s) > 0}`` — posterior probability of a positive sign
    ``p_neg``       ``(1/S) #{s: w^(s) < 0}``
    ``p_near_zero`` ``(1/S) #{s: |w^(s)| <= eps}`` — mass within ``±eps`` of 0
    ``map_is_zero`` whether the mode is exactly 0
    ==============  ====================================================

    Under a continuous Laplace prior ``P(w_j = 0 | y) = 0``: the MAP's exact
    zeros come with ``p_pos + p_neg = 1`` and a non-zero median — the picture
    this table makes visible.

    Parameters
    ----------
    idata : xarray.DataTree
        The result of :func:`mapreg.sample_posterior` (``posterior`` and ``map`` groups).
    eps : float, optional
        Half-width of the "near zero" window. Default: 1% of the largest
        absolute posterior mean (stored in ``df.attrs["eps"]``).
    prob : float
        Mass of the central interval, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Indexed by feature name; ``df.attrs`` holds ``eps``, ``prob`` and the sampler.
    """
    import pandas as pd

    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must lie in (0, 1), got {prob!r}")
    coef = idata["posterior"]["coef"]
    names = [str(v) for v in coef["feature"].values]
    draws = np.asarray(coef.transpose("chain", "draw", "feature").values, dtype=float)
    draws = draws.reshape(-1, draws.shape[-1])
    mean = draws.mean(axis=0)
    if eps is None:
        eps = 0.01 * float(np.max(np.abs(mean)))
    if not (np.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    if "map" in idata.children:
        map_coef = np.asarray(idata["map"]["coef"].values, dtype=float)
    else:
        map_coef = np.full(len(names), np.nan)
    q = np.quantile(draws, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    df = pd.DataFrame(
        {
            "map": map_coef,
            "mean": mean,
            "median": q[1],
            "sd": draws.std(axis=0, ddof=1),
            "lower": q[0],
            "upper": q[2],
            "p_pos": np.mean(draws > 0, axis=0),
            "p_neg": np.mean(draws < 0, axis=0),
            "p_near_zero": np.mean(np.abs(draws) <= eps, axis=0),
            "map_is_zero": map_coef == 0.0,
        },
        index=pd.Index(names, name="feature"),
    )
    df.attrs.update({"eps": float(eps), "prob": float(prob),
                     "sampler": str(idata.attrs.get("sampler", ""))})
    return df
