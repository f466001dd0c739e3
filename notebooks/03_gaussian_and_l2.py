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
# # 03 — The Gaussian prior and the (squared) L2 penalty
#
# A Gaussian prior $w_j \sim \mathcal N(0, \sigma^2)$ on each weight is ridge regression:
# $-\log p(w_j) = \frac{w_j^2}{2\sigma^2} + \tfrac12\log(2\pi\sigma^2)$, the **squared** L2
# penalty $\lambda\lVert w\rVert_2^2$ with $\lambda = 1/(2\sigma^2)$, i.e. $2\lambda = 1/\sigma^2$.
# (A common write-up prints $\lambda\lVert w\rVert_2$; without the square it is a different
# penalty, not the Gaussian prior.) With Gaussian noise the whole posterior is Gaussian and
# available in closed form, so this case is ground truth for everything else. The last section
# shows why the prior also makes the problem numerically stable when the features are
# nearly collinear.

# %%
import numpy as np
from sklearn.linear_model import Ridge

import mapreg
from mapreg import conversions, plots
from mapreg.datasets import load_diabetes

data = load_diabetes()
X, y = data.X, data.y
n, p = X.shape
s = 53.0
names = data.feature_names

# %% [markdown]
# ## 2λ = 1/σ²
#
# Check the identity $-\log p(w) = \lambda w^2 + \log Z$ with $\lambda = 1/(2\sigma^2)$ and
# $\log Z = \frac12\log(2\pi\sigma^2)$ at a few points, and the round trip through `from_lam`:

# %%
prior = mapreg.Gaussian(sigma=10.0)
w = np.array([-3.0, 0.0, 0.5, 20.0])
print(f"sigma = {prior.sigma}: lam = {prior.lam} = 1/(2 sigma^2) = {1 / (2 * prior.sigma**2)}")
print("-log p(w)         :", -prior.logpdf(w))
print("lam w^2 + log Z   :", prior.lam * w**2 + 0.5 * np.log(2 * np.pi * prior.sigma**2))
print(f"Gaussian.from_lam({prior.lam}).sigma = {mapreg.Gaussian.from_lam(prior.lam).sigma}")

# %% [markdown]
# The picture (right column): the Gaussian density, and its negative log-density minus
# $\log Z$ (dashed) on the parabola $\lambda w^2$. The left column is the Laplace prior with the
# same λ for comparison: near zero the parabola is flat (a weak pull), far out it is much
# steeper than the V of the L1 penalty (a strong pull on large weights).

# %%
fig = plots.prior_vs_penalty(gaussian=mapreg.Gaussian(sigma=1.0),
                             laplace=mapreg.Laplace.from_lam(0.5))

# %% [markdown]
# ## Closed-form ridge = MAP
#
# Setting the gradient of $\sum_i (y_i - \eta_i)^2/(2s^2) + \lambda\lVert w\rVert^2$ to zero, with
# the unpenalised intercept profiled out by centring ($X_c$, $y_c$):
#
# $$\hat w = \left(X_c^\top X_c + \tfrac{s^2}{\sigma^2} I\right)^{-1} X_c^\top y_c,
# \qquad \hat w_0 = \bar y - \bar x^\top \hat w .$$
#
# The same system in scikit-learn's normalisation, $\lVert y - Xw\rVert^2 + \alpha\lVert w\rVert^2$,
# gives $\alpha = s^2/\sigma^2$ (`conversions.ridge_alpha`). Three independent computations,
# one answer:

# %%
model = mapreg.Model(X, y, prior=prior, noise_sigma=s, feature_names=names)
fit = mapreg.find_map(model)
Xc, yc = X - X.mean(axis=0), y - y.mean()
closed = np.linalg.solve(Xc.T @ Xc + (s**2 / prior.sigma**2) * np.eye(p), Xc.T @ yc)
pen = mapreg.penalized_fit(X, y, penalty="l2", lam=prior.lam, noise_sigma=s)
alpha = conversions.ridge_alpha(prior, noise_sigma=s)
sk = Ridge(alpha=alpha).fit(X, y)
print(f"sklearn Ridge alpha = s^2/sigma^2 = {alpha:.4f}")
print(f"max |MAP - closed form|    = {np.max(np.abs(fit.coef - closed)):.1e}")
print(f"max |MAP - penalized_fit|  = {np.max(np.abs(fit.coef - pen.coef)):.1e}")
print(f"max |MAP - sklearn Ridge|  = {np.max(np.abs(fit.coef - sk.coef_)):.1e}")
print(f"exact zeros in the MAP: {fit.n_zeros} (a Gaussian prior shrinks, it does not select)")

# %% [markdown]
# ## The whole posterior, in closed form
#
# With Gaussian noise and a Gaussian prior the posterior of $w$ (the flat-prior intercept
# integrated out) is Gaussian:
#
# $$w \mid y \sim \mathcal N(\mu, \Sigma),\qquad
# \Sigma = \left(\tfrac{1}{s^2}X_c^\top X_c + \tfrac{1}{\sigma^2}I\right)^{-1},\qquad
# \mu = \tfrac{1}{s^2}\,\Sigma X_c^\top y_c .$$
#
# $\mu$ is the ridge solution above: for a symmetric unimodal posterior, **mode = mean =
# median**, so here the MAP loses nothing as a point estimate. What it does not give is the
# spread — the posterior standard deviations and the intervals below, and the correlation
# between coefficients.

# %%
Sigma = np.linalg.inv(Xc.T @ Xc / s**2 + np.eye(p) / prior.sigma**2)
mu = Sigma @ Xc.T @ yc / s**2
sd = np.sqrt(np.diag(Sigma))
print(f"max |posterior mean - MAP| = {np.max(np.abs(mu - fit.coef)):.1e}")
print(f"{'feature':>8} {'MAP = mean':>11} {'sd':>8} {'95% interval':>22}")
for j, name in enumerate(names):
    lo, hi = mu[j] - 1.959964 * sd[j], mu[j] + 1.959964 * sd[j]
    print(f"{name:>8} {mu[j]:11.3f} {sd[j]:8.3f}   [{lo:8.3f}, {hi:8.3f}]")
corr = Sigma / np.outer(sd, sd)
print(f"posterior correlation of s1 and s2: {corr[4, 5]:.3f}")

# %% [markdown]
# ## The ridge path
#
# Over prior scales σ (bottom axis; the top axis is $\lambda = 1/(2\sigma^2)$), the MAP (thick),
# the penalised fit (black dashes) and scikit-learn's `Ridge` at $\alpha = s^2/\sigma^2$ (dots)
# coincide. Unlike the lasso path (notebook 01) every coefficient moves smoothly away from zero
# at once: shrinkage without selection. s1 and s2, correlated at 0.9, trade off against each
# other as the prior widens.

# %%
fig = plots.map_path(model)

# %% [markdown]
# ## Multicollinearity and numerical stability
#
# Least squares solves $X_c^\top X_c\, w = X_c^\top y_c$. When two columns are nearly equal,
# $X_c^\top X_c$ is nearly singular: its condition number explodes, the solution is a huge
# positive and a huge negative weight that cancel, and tiny changes in $y$ swing them wildly.
# The Gaussian prior adds $s^2/\sigma^2$ to every eigenvalue, which bounds the condition number
# by $(\lambda_{\max} + s^2/\sigma^2)/(s^2/\sigma^2)$ and makes the answer well defined: the two
# copies share the effect equally.
#
# Below, a copy of `bmi` with a relative perturbation of $10^{-6}$ is appended to the diabetes
# data. We compare the condition numbers, the fitted weights, and how much each fit moves when
# $y$ changes by noise of size $10^{-3}$ (against a noise level $s = 53$).

# %%
rng = np.random.default_rng(0)
X2 = np.column_stack([X, X[:, 2] + 1e-6 * rng.normal(size=n)])
names2 = [*names, "bmi_copy"]
X2c = X2 - X2.mean(axis=0)
ridge_shift = s**2 / prior.sigma**2
print(f"cond(X'X)                  = {np.linalg.cond(X2c.T @ X2c):.2e}")
print(f"cond(X'X + (s^2/sigma^2)I) = {np.linalg.cond(X2c.T @ X2c + ridge_shift * np.eye(11)):.2e}")

y_pert = y + 1e-3 * rng.normal(size=n)
ols = np.linalg.lstsq(X2c, yc, rcond=None)[0]
ols_pert = np.linalg.lstsq(X2c, y_pert - y_pert.mean(), rcond=None)[0]
model2 = mapreg.Model(X2, y, prior=prior, noise_sigma=s, feature_names=names2)
map2 = mapreg.find_map(model2)
map2_pert = mapreg.find_map(mapreg.Model(X2, y_pert, prior=prior, noise_sigma=s))
closed2 = np.linalg.solve(X2c.T @ X2c + ridge_shift * np.eye(11), X2c.T @ yc)

print(f"\n{'':>9} {'least squares':>14} {'after tiny dy':>14} {'MAP (ridge)':>12} "
      f"{'after tiny dy':>14}")
for j in (2, 10):
    print(f"{names2[j]:>9} {ols[j]:14.1f} {ols_pert[j]:14.1f} {map2.coef[j]:12.4f} "
          f"{map2_pert.coef[j]:14.4f}")
print(f"\nMAP vs closed form on the collinear data: {np.max(np.abs(map2.coef - closed2)):.1e}, "
      f"KKT violation {map2.kkt_violation:.1e}")

# %% [markdown]
# Least squares puts huge opposite weights (hundreds of thousands) on `bmi` and its copy,
# and a change in $y$ far below the noise level moves them by about a hundred; the MAP
# splits the `bmi` effect evenly between the two copies and barely moves. `find_map` stays
# accurate on this ill-conditioned problem (it agrees with the closed form and certifies its
# KKT conditions).
#
# **Summary.** Gaussian($\sigma$) ↔ squared L2 with $2\lambda = 1/\sigma^2$; scikit-learn's
# `Ridge` has $\alpha = s^2/\sigma^2$. With Gaussian noise the posterior is Gaussian, its mean is
# the MAP, and its covariance is available in closed form — the ground truth that notebook 04's
# samplers are checked against. The prior regularises the linear algebra as well as the
# estimate.
