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
# # 06 — Which λ? Which prior?
#
# A penalised fit asks "which λ?", a posterior "which prior, and how good are its
# predictions?". This notebook answers both on the diabetes data (noise $s = 53$) and on
# the breast-cancer logistic model:
#
# 1. the **path**: the MAP over a grid of λ (= a grid of prior scales);
# 2. **cross-validation**: the held-out deviance per λ, its minimum and the one-SE rule;
# 3. **the Bayesian ways**: empirical Bayes (the λ maximising $p(y \mid λ)$) and a
#    hyperprior on the scale (the posterior of λ), beside the CV choices;
# 4. **which prior**: leave-one-out predictive accuracy (PSIS-LOO) across priors;
# 5. **what the mode hides**: the Laplace approximation at the MAP vs the sampled posterior,
#    and a posterior predictive check.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

import mapreg
from mapreg.datasets import load_diabetes
from mapreg.fit.cv import lambda_choices

warnings.filterwarnings("ignore", category=mapreg.SamplingWarning)
d = load_diabetes()
NOISE = 53.0
lasso = mapreg.Model(d.X, d.y, prior=mapreg.Laplace(2.0), noise_sigma=NOISE,
                     feature_names=d.feature_names)

# %% [markdown]
# ## 1. The path
#
# `mapreg.path` solves the MAP on a decreasing grid of λ of the penalised objective
# $L(w) + λ\sum_j|w_j|$ ($L$ the total negative log-likelihood), from $λ_{max}$ (every
# coefficient zero) down to $10^{-3}λ_{max}$, warm-started, each point with its KKT
# certificate. Each λ is a Laplace prior of scale $b = 1/λ$.

# %%
p = mapreg.path(lasso, n_lambdas=60)
print(f"lam from {p.lambdas[0]:.4g} to {p.lambdas[-1]:.4g}; "
      f"worst KKT violation {p.kkt_violation.max():.2g}")
print("non-zeros along the path:", p.n_nonzero[::6])

# %% [markdown]
# ## 2. Cross-validation
#
# Five folds, the mean squared error per held-out row at each λ (for the Gaussian family
# the deviance is the squared error), its standard error over folds, and the two usual
# choices: the minimum and the largest λ within one standard error of it. With the same
# folds and grid this curve is scikit-learn's `LassoCV.mse_path_.mean(axis=1)` to ~1e-13
# (`tests/test_cv.py`).

# %%
cv = mapreg.cross_validate(lasso, cv=5, n_lambdas=60, random_state=0)
print(f"lambda_min = {cv.lambda_min:.4g} (b = {1 / cv.lambda_min:.3g}), "
      f"lambda_1se = {cv.lambda_1se:.4g} (b = {1 / cv.lambda_1se:.3g})")
print("zeros at lambda_min:", int(np.sum(cv.map_min.coef == 0)),
      "  at lambda_1se:", int(np.sum(cv.map_1se.coef == 0)))

# %% [markdown]
# ## 3. λ the Bayesian ways, side by side
#
# For the Gaussian prior (ridge) empirical Bayes has a closed form: the evidence
# $p(y \mid σ)$ is a Gaussian integral. A hierarchical model instead gives the scale a
# half-Cauchy hyperprior and samples $λ$ with the coefficients (here by Gibbs). The table
# puts them beside the CV choices, each with its CV error and number of non-zeros.

# %%
ridge = mapreg.Model(d.X, d.y, prior=mapreg.Gaussian(3.0), noise_sigma=NOISE,
                     feature_names=d.feature_names)
choices = lambda_choices(ridge, cv=5, n_lambdas=60, draws=500, tune=300, chains=2,
                         random_seed=1)
print(choices.table.drop(columns="note").to_string(float_format=lambda v: f"{v:.4g}"))

# %%
mapreg.plots.lambda_choices(choices);

# %% [markdown]
# The CV minimum, the evidence maximum and the hyperprior's posterior median land close
# together; the one-SE rule deliberately shrinks more.
#
# ## 4. Which prior? Leave-one-out across priors
#
# `compare_priors` samples the posterior under each prior (each with its pointwise
# `log_likelihood`) and ranks them by PSIS-LOO expected log predictive density, with
# Pareto-$k$ diagnostics surfaced.

# %%
table = mapreg.compare_priors(
    d.X, d.y, {"lasso": mapreg.Laplace(2.0), "ridge": mapreg.Gaussian(3.0),
                "horseshoe": mapreg.Horseshoe(1.0)},
    noise_sigma=NOISE, draws=500, tune=300, chains=2, random_seed=2)
print(table[["prior", "sampler", "elpd", "elpd_diff", "weight", "max_pareto_k"]]
      .to_string(float_format=lambda v: f"{v:.3g}"))

# %% [markdown]
# ## 5. What the mode hides
#
# The **Laplace approximation** is the Gaussian at the MAP with the Hessian of
# $-\log p(w \mid y)$ as its precision. Under a Laplace prior that Hessian does not exist
# at the exact zeros of the mode: the approximation can only live on the support, and
# every zero becomes a point mass at 0. The sampled posterior puts no mass at exactly 0.

# %%
approx = mapreg.laplace_approximation(lasso)
post = mapreg.sample_posterior(lasso, draws=2000, chains=2, sampler="gibbs", random_seed=3,
                               progressbar=False)
draws = post.posterior["coef"].values.reshape(-1, len(d.feature_names))
fig, axes = plt.subplots(1, 3, figsize=(11, 3), layout="constrained")
for ax, name in zip(axes, ["age", "bmi", "s5"], strict=True):
    j = d.feature_names.index(name)
    ax.hist(draws[:, j], bins=60, density=True, color="0.75", label="posterior (Gibbs)")
    if approx.support[j]:
        sd = np.sqrt(approx.cov[j, j])
        grid = np.linspace(draws[:, j].min(), draws[:, j].max(), 300)
        density = np.exp(-0.5 * ((grid - approx.mean[j]) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
        ax.plot(grid, density, "k--", label="Laplace approximation")
    else:
        ax.axvline(0.0, color="k", ls="--", label="Laplace approx.: point mass at 0")
    ax.set_title(name)
    ax.legend(fontsize="x-small")

# %% [markdown]
# A **posterior predictive check**: replicated data sets drawn from the posterior, against
# the observed responses.

# %%
post = mapreg.sample_posterior_predictive(post, lasso, random_seed=4)
yrep = post.posterior_predictive["y"].values.reshape(-1, len(d.y))
lo, hi = np.quantile(yrep, [0.05, 0.95], axis=0)
inside = np.mean((d.y >= lo) & (d.y <= hi))
print(f"{inside:.1%} of the observed y lie in their 90% posterior predictive interval")

# %% [markdown]
# ## The logistic case
#
# The same workflow for the breast-cancer data (569 tumours, 30 standardised features,
# Laplace prior): the fold score is now the Bernoulli deviance per held-out row.

# %%
from sklearn.datasets import load_breast_cancer

bc = load_breast_cancer()
Xb = (bc.data - bc.data.mean(0)) / bc.data.std(0)
logit = mapreg.Model(Xb, bc.target.astype(float), prior=mapreg.Laplace(1.0),
                     family="bernoulli")
cvb = mapreg.cross_validate(logit, cv=5, n_lambdas=25, lambda_min_ratio=1e-2, random_state=0)
print(f"lambda_min = {cvb.lambda_min:.3g} ({int(np.count_nonzero(cvb.map_min.coef))} "
      f"features), lambda_1se = {cvb.lambda_1se:.3g} "
      f"({int(np.count_nonzero(cvb.map_1se.coef))} features)")
