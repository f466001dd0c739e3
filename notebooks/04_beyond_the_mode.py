# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 — Beyond the mode
#
# Notebooks 01–03 showed that the MAP is a penalised fit. But the MAP is one point of a whole
# posterior distribution, and under a Laplace prior it is an unusual point: it has **exact
# zeros**, while the posterior — a continuous density — puts **no mass at all** on $w_j = 0$.
# This notebook samples the posterior and puts it next to the mode: Gibbs and NUTS for the
# Bayesian lasso, exact i.i.d. draws for the Gaussian prior, the posterior-median path,
# hyperpriors, empirical-Bayes choices of the prior scale, and the diagnostics that say when
# a run cannot be trusted. Sampling is kept small so that the notebook runs in about a minute.

# %%
import warnings

import arviz as az
import numpy as np

import mapreg
from mapreg import plots
from mapreg.datasets import load_diabetes

data = load_diabetes()
X, y = data.X, data.y
n, p = X.shape
s = 53.0
names = data.feature_names
model = mapreg.Model(X, y, prior=mapreg.Laplace(b=2.0), noise_sigma=s, feature_names=names)

# %% [markdown]
# ## The Bayesian lasso posterior
#
# `sample_posterior` returns an ArviZ `DataTree`: the draws (`posterior`), sampler statistics,
# the data, and the MAP (`map` group), so that mode and posterior can be compared directly. For
# a Laplace prior with Gaussian noise, `sampler="auto"` picks the Gibbs sampler of Park &
# Casella (2008), which writes the Laplace prior as a scale mixture of normals. Every run is
# followed by diagnostics (R-hat, bulk and tail effective sample sizes), recorded in `attrs`.

# %%
idata = mapreg.sample_posterior(model, draws=2000, tune=500, chains=4, random_seed=1)
a = idata.attrs
print(f"sampler: {a['sampler']}, {a['chains']} chains x {a['draws']} draws, "
      f"{a['wall_time_s']:.2f} s")
print(f"max R-hat {a['max_rhat']:.4f}, min bulk ESS {a['min_ess_bulk']:.0f}, "
      f"min tail ESS {a['min_ess_tail']:.0f}, warnings: {a['warnings']}")

# %% [markdown]
# ## Exact zeros vs posterior mass near zero
#
# Each row below is one coefficient's posterior (shaded density, central 90% and 50% intervals,
# white dot = median) with the MAP as a diamond. The MAP sets `age`, `s2` and `s4` exactly to
# zero (hollow red diamonds), but their posteriors are spread on both sides of zero and their
# medians are not zero. For the strong effects (`bmi`, `s5`, `bp`) mode and median nearly agree;
# for the weak ones the MAP sits at the kink of the posterior density, pulled to zero harder
# than the posterior's centre.

# %%
fig = plots.posterior_vs_mode(idata)

# %% [markdown]
# The same in numbers: `compare_mode_posterior` tabulates the MAP beside the posterior mean,
# median, sd, a 90% interval, the posterior probability of each sign, and the posterior mass
# within ±ε of zero. Where the MAP is exactly 0, `p_pos + p_neg = 1`: no draw is exactly zero,
# and only a small fraction is even within ε.

# %%
table = mapreg.compare_mode_posterior(idata, prob=0.9)
print(f"eps = {table.attrs['eps']:.3f}")
print(table.round(3).to_string())
zero_rows = table[table["map_is_zero"]]
print("\nwhere the MAP is 0: P(w > 0) + P(w < 0) =", (zero_rows.p_pos + zero_rows.p_neg).values)

# %% [markdown]
# ## Two samplers, one posterior
#
# The Gibbs sampler and NUTS (through nutpie on PyMC's model) target the same posterior. A short
# NUTS run agrees with the Gibbs draws within Monte-Carlo error: each difference of the two
# medians is divided by its Monte-Carlo standard error (ArviZ's `mcse` of the median, from each
# run's effective sample size), so values mostly within ±2 — an occasional larger one among
# ten is chance — mean agreement. (NUTS has to compile the model first, which dominates its
# time on a problem this small.)

# %%
nuts = mapreg.sample_posterior(model, draws=1000, tune=1000, chains=4, sampler="nutpie",
                               random_seed=2, progressbar=False)
med_g = idata["posterior"]["coef"].median(("chain", "draw")).values
med_n = nuts["posterior"]["coef"].median(("chain", "draw")).values
mcse = np.hypot(az.mcse(idata, var_names=["coef"], method="median")["coef"].values,
                az.mcse(nuts, var_names=["coef"], method="median")["coef"].values)
print(f"nutpie: {nuts.attrs['wall_time_s']:.1f} s, max R-hat {nuts.attrs['max_rhat']:.3f}")
print(f"{'feature':>8} {'Gibbs median':>13} {'NUTS median':>12} {'diff / MCSE':>12}")
for j, name in enumerate(names):
    print(f"{name:>8} {med_g[j]:13.3f} {med_n[j]:12.3f} {(med_n[j] - med_g[j]) / mcse[j]:12.2f}")

# %% [markdown]
# ## The posterior-median path
#
# Park & Casella's Figure 1: as the prior scale $b$ grows (left to right; the top axis is
# $\lambda = 1/b$), the MAP path (left) has kinks where coefficients enter and exact zeros
# before that, while the posterior medians (right, one Gibbs run per dot; the MAP path faintly
# behind) move smoothly and are never exactly zero. For a wide prior both approach least
# squares; for a narrow one the medians are shrunk towards zero but not onto it.

# %%
fig = plots.posterior_median_path(model, random_seed=3)

# %% [markdown]
# ## The Gaussian prior: exact draws
#
# With a Gaussian prior and Gaussian noise the posterior is Gaussian in closed form (notebook
# 03), and `sampler="auto"` draws from it directly — independent draws, no Markov chain. Here
# mode, mean and median coincide: the sample mean matches the MAP within Monte-Carlo error and
# the picture has every diamond at the centre of its density. Nothing is exactly zero, in the
# mode or in the posterior.

# %%
ridge = mapreg.Model(X, y, prior=mapreg.Gaussian(sigma=10.0), noise_sigma=s, feature_names=names)
exact = mapreg.sample_posterior(ridge, draws=4000, chains=1, random_seed=4)
mean = exact["posterior"]["coef"].mean(("chain", "draw")).values
sd = exact["posterior"]["coef"].std(("chain", "draw")).values
mode = exact["map"]["coef"].values
print(f"sampler: {exact.attrs['sampler']}")
print("(mean - MAP) / (sd / sqrt(4000)):", np.round((mean - mode) / (sd / np.sqrt(4000)), 2))
fig = plots.posterior_vs_mode(exact)

# %% [markdown]
# ## Hyperpriors: unknown noise and unknown prior scale
#
# So far the noise $s = 53$ and the prior scale were fixed. A fully Bayesian model puts priors
# on them too: here a half-Cauchy on the noise sd and Park & Casella's Gamma prior on
# $\lambda^2 = 1/b^2$. Both are conjugate to the Gibbs sampler, which samples them jointly
# with the weights. The posterior then says how much noise and how much shrinkage the data
# support.

# %%
full = mapreg.Model(X, y, prior=mapreg.Laplace(b=2.0), noise_prior=mapreg.HalfCauchy(beta=50.0),
                    scale_prior=mapreg.GammaLambdaSq(r=1.0, delta=1.0), feature_names=names)
hyper = mapreg.sample_posterior(full, draws=2000, tune=500, chains=4, random_seed=5)
post = hyper["posterior"]
for var, label in (("noise_sigma", "noise sd s"), ("prior_scale", "Laplace scale b")):
    q = np.quantile(post[var].values, [0.05, 0.5, 0.95])
    print(f"{label:>16}: median {q[1]:.3f}, 90% interval [{q[0]:.3f}, {q[2]:.3f}]")
print(f"sampler {hyper.attrs['sampler']}, max R-hat {hyper.attrs['max_rhat']:.4f}, "
      f"warnings: {hyper.attrs['warnings']}")

# %% [markdown]
# ## Empirical Bayes: choosing the prior scale from the data
#
# Instead of a hyperprior, the scale can be set to the value that maximises the marginal
# likelihood $p(y \mid \text{scale}) = \int p(y\mid w)\,p(w\mid\text{scale})\,dw$. For the
# Gaussian prior this evidence is available in closed form (the same quantity scikit-learn's
# `BayesianRidge` maximises). For the Laplace prior it is not, and Park & Casella's Monte-Carlo
# EM alternates Gibbs runs with updates of λ. The chosen scale then gives a MAP (a ridge or
# lasso fit with a data-chosen λ) and a posterior.

# %%
eb_ridge = mapreg.empirical_bayes_gaussian(ridge)
eb_both = mapreg.empirical_bayes_gaussian(ridge, estimate_noise=True)
print(f"Gaussian prior, s fixed at 53: sigma = {eb_ridge.prior.sigma:.3f} "
      f"(lam = {eb_ridge.lam:.5f}), log evidence {eb_ridge.log_evidence:.3f}")
print(f"Gaussian prior, s estimated  : sigma = {eb_both.prior.sigma:.3f}, s = "
      f"{eb_both.noise_sigma:.3f}")

eb_lasso = mapreg.empirical_bayes_laplace(model, draws=500, chains=2, random_seed=6)
print(f"Laplace prior (MCEM): b = {eb_lasso.prior.b:.3f} (lam = {eb_lasso.lam:.4f}) after "
      f"{len(eb_lasso.history) - 1} iterations, converged = {eb_lasso.converged}")
eb_model = mapreg.Model(X, y, prior=eb_lasso.prior, noise_sigma=s, feature_names=names)
eb_map = mapreg.find_map(eb_model)
print(f"its MAP has {eb_map.n_zeros} exact zeros: "
      f"{[nm for nm, c in zip(names, eb_map.coef, strict=True) if c == 0.0]}")

# %%
from sklearn.linear_model import BayesianRidge

# BayesianRidge with its gamma hyperpriors switched off maximises the same evidence
# (no intercept here, so centre the data first).
Xc, yc = X - X.mean(axis=0), y - y.mean()
eb_nc = mapreg.empirical_bayes_gaussian(
    mapreg.Model(Xc, yc, prior=mapreg.Gaussian(10.0), noise_sigma=s, fit_intercept=False),
    estimate_noise=True)
br = BayesianRidge(alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, fit_intercept=False,
                   tol=1e-12, max_iter=10_000).fit(Xc, yc)
print(f"mapreg      : sigma = {eb_nc.prior.sigma:.4f}, s = {eb_nc.noise_sigma:.4f}")
print(f"BayesianRidge: sigma = {1 / np.sqrt(br.lambda_):.4f}, s = {1 / np.sqrt(br.alpha_):.4f}")

# %% [markdown]
# ## Diagnostics are loud
#
# A run that has not converged must say so. Below, NUTS gets only 3 tuning steps — far too
# few to adapt its step size and mass matrix. `sample_posterior` checks R-hat, bulk and tail
# ESS and divergences after every run, emits a `SamplingWarning` per problem with what to do
# about it, and records the messages in `attrs["warnings"]`.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    bad = mapreg.sample_posterior(model, draws=100, tune=3, chains=2, sampler="nutpie",
                                  random_seed=7, progressbar=False)
print(f"{len(caught)} warnings raised; recorded in attrs['warnings']:")
for msg in bad.attrs["warnings"]:
    print(" -", msg)

# %% [markdown]
# **Summary.** The MAP is the posterior's highest point, and under a Laplace prior that point
# has exact zeros — a property of the *mode*, not of the posterior, which puts zero probability
# on $w_j = 0$ and gives every coefficient a spread and a probability of each sign. The
# posterior median path is smooth where the lasso path has kinks. Under a Gaussian prior mode
# and mean coincide. Hyperpriors and empirical Bayes let the data choose the amount of
# shrinkage, and diagnostics say when the draws can be used.
