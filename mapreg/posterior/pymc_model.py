"""The PyMC side of a :class:`mapreg.Model`: its coefficients, hyperpriors and likelihood.

* :func:`observed_model` — the model as written, one observed ``y_i`` per row
  (what :meth:`mapreg.Model.to_pymc` returns);
* :func:`pymc_model` — what NUTS samples: for the gaussian family the same log density
  through the sufficient statistics (O(p**2) per gradient instead of O(np));
* :func:`pymc_coef`, :func:`pymc_prior_scale`, :func:`pymc_noise_sigma` — the pieces,
  created inside the current ``pm.Model`` context.

Variable names: ``coef`` (dim ``"feature"``), ``intercept`` (flat), ``noise_sigma`` (and
``noise_var`` for an inverse-gamma noise variance), ``prior_scale`` (and ``lam_sq`` /
``prior_var`` for a hyperprior on ``1/b**2`` / ``sigma**2``), plus whatever the prior's
``to_pymc("coef")`` creates (the horseshoe's ``coef_tau``, ``coef_lam``, ``coef_z``).
Each hyperprior is placed by the quantity it is a density of (``Hyperprior.on``).
"""

from __future__ import annotations

import math

import numpy as np

from mapreg.posterior import sufficient as _sufficient


def pymc_prior_scale(prior, scale_prior):
    """Create the prior's main scale (Laplace ``b``, Gaussian ``sigma``) in the current PyMC model.

    With no hyperprior this is the fixed float. Otherwise the hyperprior's
    variable is created (``lam_sq``, ``prior_var`` or ``prior_scale``) and a
    ``prior_scale`` deterministic holds the scale.
    """
    import pymc as pm

    if scale_prior is None:
        return prior.scale
    if scale_prior.on == "sd":
        return pm.HalfCauchy("prior_scale", beta=scale_prior.beta)
    if scale_prior.on == "lam_sq":
        lam_sq = pm.Gamma("lam_sq", alpha=scale_prior.r, beta=scale_prior.delta)
        return pm.Deterministic("prior_scale", 1.0 / pm.math.sqrt(lam_sq))
    var = pm.InverseGamma("prior_var", alpha=scale_prior.a, beta=scale_prior.b)
    return pm.Deterministic("prior_scale", pm.math.sqrt(var))


def pymc_coef(prior, scale_prior, name: str = "coef", **kwargs):
    """Create the coefficient vector with its (possibly hierarchical) prior."""
    if scale_prior is None:
        return prior.to_pymc(name, **kwargs)
    return prior.to_pymc(name, scale=pymc_prior_scale(prior, scale_prior), **kwargs)


def pymc_noise_sigma(noise_prior):
    """Create the noise sd ``noise_sigma`` (with its hyperprior) in the current PyMC model."""
    import pymc as pm

    if noise_prior.on == "sd":
        return pm.HalfCauchy("noise_sigma", beta=noise_prior.beta)
    var = pm.InverseGamma("noise_var", alpha=noise_prior.a, beta=noise_prior.b)
    return pm.Deterministic("noise_sigma", pm.math.sqrt(var))


def observed_model(model):
    """The PyMC model of ``model`` with one observed ``y`` per row (dims ``obs``, ``feature``).

    Free variables: ``coef`` with the prior and ``intercept`` with a flat prior (when
    fitted), plus the hyperpriors; its log density, compiled without Jacobian terms,
    equals ``-model.neg_log_posterior`` when the scales are fixed.
    """
    import pymc as pm

    coords = {"feature": list(model.feature_names), "obs": np.arange(model.n_samples)}
    with pm.Model(coords=coords) as pm_model:
        X = pm.Data("X", model.X, dims=("obs", "feature"))
        coef = pymc_coef(model.prior, model.scale_prior, "coef", dims="feature")
        eta = pm.math.dot(X, coef)
        if model.fit_intercept:
            eta = eta + pm.Flat("intercept")
        if model.noise_prior is not None:
            pm.Normal("y", mu=eta, sigma=pymc_noise_sigma(model.noise_prior),
                      observed=model.y, dims="obs")
        else:
            model.family.to_pymc("y", eta, observed=model.y, dims="obs")
    return pm_model


def uses_sufficient_stats(model) -> bool:
    """Whether NUTS evaluates the Gaussian likelihood through ``Z'Z`` rather than the rows.

    A gradient through the statistics costs ``O(k**2)`` (``k = p + 1`` with an intercept),
    through the rows ``O(n k)``: the statistics win when ``k <= n``. At ``p > n`` (a
    genomics-shaped design) the rows are cheaper, and ``Z'Z`` — ``p x p`` — is not built.
    """
    k = model.n_features + bool(model.fit_intercept)
    return model.family.name == "gaussian" and k <= model.n_samples


def pymc_model(model, sufficient_stats: bool | None = None):
    """The PyMC model NUTS samples.

    For the Gaussian family with ``sufficient_stats`` (default: :func:`uses_sufficient_stats`,
    i.e. when ``p (+1) <= n``) the likelihood is a ``pm.Potential`` equal to
    ``sum_i log N(y_i | eta_i, s**2)``::

        -n log s - (n/2) log(2 pi) - RSS(theta) / (2 s**2),

    with ``RSS`` from :mod:`mapreg.posterior.sufficient`, so its log density equals that
    of :func:`observed_model` at every point. Other families, and the Gaussian one at
    ``p > n``, use :func:`observed_model`.
    """
    import pymc as pm
    import pytensor.tensor as pt

    if sufficient_stats is None:
        sufficient_stats = uses_sufficient_stats(model)
    if model.family.name != "gaussian" or not sufficient_stats:
        return observed_model(model)
    st = _sufficient.sufficient_stats(model.X, model.y, model.fit_intercept)
    n = st.n
    with pm.Model(coords={"feature": list(model.feature_names)}) as pm_model:
        coef = pymc_coef(model.prior, model.scale_prior, "coef", dims="feature")
        theta = coef
        if model.fit_intercept:
            intercept = pm.Flat("intercept")
            theta = pt.concatenate([coef, intercept[None]])
        delta = theta - st.t0
        rss = st.r0 - 2.0 * pt.dot(delta, st.g0) + pt.dot(delta, pt.dot(st.ZtZ, delta))
        if model.noise_prior is None:
            s = float(model.noise_sigma)
            log_s = math.log(s)
        else:
            s = pymc_noise_sigma(model.noise_prior)
            log_s = pt.log(s)
        pm.Potential("loglik", -n * log_s - 0.5 * n * math.log(2 * math.pi)
                     - rss / (2.0 * s**2))
    return pm_model
