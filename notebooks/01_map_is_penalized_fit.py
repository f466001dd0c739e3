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
# # 01 — The MAP is a penalised fit
#
# This notebook derives, one algebra step at a time, why the **posterior mode** (MAP) of a
# regression with an i.i.d. prior on its weights is a **penalised fit**, and checks every
# step numerically on real data: the diabetes data of Efron et al. (2004), 442 patients,
# 10 standardised baseline variables, the response centred.
#
# Notation: $X$ the $n\times p$ design, $y$ the response, weights $w$, an intercept $w_0$ with
# a flat prior (never penalised), linear predictor $\eta = Xw + w_0$, Gaussian noise with known
# standard deviation $s$.

# %%
import numpy as np

import mapreg
from mapreg import conversions, plots
from mapreg.datasets import load_diabetes
from mapreg.fit.verify import verify_equivalence

data = load_diabetes()
X, y = data.X, data.y
n, p = X.shape
s = 53.0  # known noise sd, close to the residual sd of least squares
print(f"n = {n}, p = {p}, features: {', '.join(data.feature_names)}")

# %% [markdown]
# ## Step 1 — Bayes' theorem, on the log scale
#
# $$p(w, w_0 \mid y) = \frac{p(y \mid w, w_0)\, p(w)\, p(w_0)}{p(y)}
# \quad\Longrightarrow\quad
# -\log p(w, w_0 \mid y) = \underbrace{-\log p(y\mid w, w_0)}_{\text{likelihood}}
# \;\underbrace{-\sum_j \log p(w_j)}_{\text{prior}} \;+\; \log p(y) .$$
#
# The flat intercept prior contributes a constant and the evidence $\log p(y)$ does not depend on
# the weights, so the mode is the minimiser of the first two terms, which `mapreg.Model`
# calls `neg_log_posterior`. Check: it equals minus the log-likelihood minus the summed prior
# log-density at a random point.

# %%
prior = mapreg.Laplace(b=2.0)
model = mapreg.Model(X, y, prior=prior, noise_sigma=s, feature_names=data.feature_names)

rng = np.random.default_rng(0)
w, w0 = rng.normal(scale=10.0, size=p), 3.0
lhs = model.neg_log_posterior(w, w0)
rhs = -model.log_likelihood(w, w0) - np.sum(prior.logpdf(w))
print(f"-log p(w|y) + log p(y) = {lhs:.10f}")
print(f"-log p(y|w) - sum log p(w_j) = {rhs:.10f}   difference {lhs - rhs:.1e}")

# %% [markdown]
# ## Step 2 — the Gaussian likelihood is a squared loss plus a constant
#
# $$-\log p(y\mid w, w_0) = \sum_i \frac{(y_i - \eta_i)^2}{2s^2} + n\log\!\left(s\sqrt{2\pi}\right)
# = L(w, w_0) + \text{const}.$$
#
# $L$ is the **total** loss (a sum over rows, the noise scale included), not a mean. Check it
# against the formula written out in numpy:

# %%
eta = X @ w + w0
L = np.sum((y - eta) ** 2) / (2 * s**2)
const_lik = n * np.log(s * np.sqrt(2 * np.pi))
print(f"-log p(y|w)       = {-model.log_likelihood(w, w0):.10f}")
print(f"L(w) + n log(s√2π) = {L + const_lik:.10f}")

# %% [markdown]
# ## Step 3 — the Laplace prior is an L1 penalty plus a constant
#
# $$p(w_j) = \frac{1}{2b} e^{-|w_j|/b}
# \quad\Longrightarrow\quad
# -\sum_j \log p(w_j) = \frac{1}{b}\sum_j |w_j| + p\log(2b) = \lambda\lVert w\rVert_1 + p\log Z,
# \qquad \lambda = \frac1b .$$
#
# Each mapreg prior knows its penalty weight `lam` and its normaliser `log_normalizer`
# ($\log Z$). Check the identity at the random point, and that `lam` is $1/b$:

# %%
print(f"lam = {prior.lam}  (1/b = {1 / prior.b})")
neg_log_prior = -np.sum(prior.logpdf(w))
print(f"-sum log p(w_j)          = {neg_log_prior:.10f}")
print(f"lam*|w|_1 + p log(2b)    = {prior.lam * np.sum(np.abs(w)) + p * np.log(2 * prior.b):.10f}")
print(f"lam*pen(w) + p*log Z     = {prior.penalty().value(w) + p * prior.log_normalizer:.10f}")

# %% [markdown]
# The picture of this step: the prior density (top), and its negative log-density shifted down
# by $\log Z$ (dashed) lying exactly on the penalty $\lambda|w|$ (thick). The same holds for
# the Gaussian prior and the *squared* L2 penalty $\lambda w^2$ with $\lambda = 1/(2\sigma^2)$
# (right column; σ chosen so that both have the same λ). The dotted curve is the unshifted
# $-\log p(w)$: a constant gap, which moves no minimiser.

# %%
fig = plots.prior_vs_penalty(mapreg.Laplace(b=2.0))


# %% [markdown]
# ## Step 4 — add them up: −log posterior = loss + penalty + constant
#
# $$-\log p(w, w_0\mid y) + \log p(y) = L(w, w_0) + \lambda\lVert w\rVert_1
# + \underbrace{n\log(s\sqrt{2\pi}) + p\log(2b)}_{\text{does not depend on } w,\,w_0}.$$
#
# Check: the difference between the negative log posterior and the penalised objective is the
# same number at many random points, and equals the closed-form constant.

# %%
def penalised_objective(w, w0, lam):
    return np.sum((y - X @ w - w0) ** 2) / (2 * s**2) + lam * np.sum(np.abs(w))


gaps = []
for _ in range(5):
    w_r, w0_r = rng.normal(scale=20.0, size=p), rng.normal(scale=5.0)
    gaps.append(model.neg_log_posterior(w_r, w0_r) - penalised_objective(w_r, w0_r, prior.lam))
print("differences at 5 random points:", np.round(gaps, 9))
print(f"closed form n log(s√2π) + p log(2b) = {const_lik + p * np.log(2 * prior.b):.9f}")

# %% [markdown]
# ## Step 5 — a constant moves no minimiser: MAP = lasso
#
# So the mode of the posterior is the minimiser of $L + \lambda\lVert w\rVert_1$. mapreg computes
# the two sides independently: `find_map` builds its objective from the model's log densities
# and the prior scale; `penalized_fit` from the loss and λ given directly. scikit-learn's
# `Lasso` is a third witness, with its own normalisation
# $\frac{1}{2n}\lVert y - Xw\rVert^2 + \alpha\lVert w\rVert_1$, so $\alpha = s^2/(n b)$.

# %%
from sklearn.linear_model import Lasso

map_fit = mapreg.find_map(model)
pen_fit = mapreg.penalized_fit(X, y, penalty="l1", lam=prior.lam, noise_sigma=s)
alpha = conversions.lasso_alpha(prior, noise_sigma=s, n_samples=n)
sk = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)

print(f"sklearn alpha = s²/(n b) = {alpha:.6f}")
print(f"{'feature':>8} {'MAP':>12} {'penalised':>12} {'sklearn':>12}")
for name, a, b_, c in zip(data.feature_names, map_fit.coef, pen_fit.coef, sk.coef_, strict=True):
    print(f"{name:>8} {a:12.6f} {b_:12.6f} {c:12.6f}")
print(f"max |MAP - penalised| = {np.max(np.abs(map_fit.coef - pen_fit.coef)):.1e}")
print(f"max |MAP - sklearn|   = {np.max(np.abs(map_fit.coef - sk.coef_)):.1e}")
print(f"KKT violation at the MAP: {map_fit.kkt_violation:.1e}")

# %% [markdown]
# `verify_equivalence` does all of this in one call and reports whether it passed: both fits,
# scikit-learn through the conversion, the largest difference, the objective identity of step 4
# and whether the zero patterns agree.

# %%
print(verify_equivalence(model))

# %% [markdown]
# The same derivation with a Gaussian prior gives ridge regression:
# $-\sum_j\log p(w_j) = \frac{1}{2\sigma^2}\lVert w\rVert_2^2 + \frac p2\log(2\pi\sigma^2)$, so
# $\lambda = 1/(2\sigma^2)$ on the **squared** norm (notebook 03 has the details).

# %%
ridge_model = mapreg.Model(X, y, prior=mapreg.Gaussian(sigma=10.0), noise_sigma=s,
                           feature_names=data.feature_names)
report = verify_equivalence(ridge_model)
print(f"Gaussian(σ=10): lam = {report.lam:.4g}, max |MAP - penalised| = "
      f"{report.max_abs_diff:.1e}, max |MAP - sklearn Ridge| = {report.max_abs_diff_sklearn:.1e},"
      f" passed = {report.passed}")

# %% [markdown]
# ## Not one prior but all of them: the paths coincide
#
# Sweeping the prior scale $b$ gives the whole lasso path. Below, each coefficient's MAP over
# 30 prior scales (thick coloured lines), the penalised fit at $\lambda = 1/b$ (thin black
# dashes) and scikit-learn's `lasso_path` at $\alpha = s^2/(nb)$ (dots). They lie on top of each
# other everywhere. The bottom axis is the prior scale $b$ (a wider prior to the right), the top
# axis the same grid as the penalty λ; the dotted vertical line marks $b = 2$, the model above.
# A narrow prior (small $b$, large λ) sets every coefficient to exactly zero.

# %%
fig = plots.map_path(model)

# %% [markdown]
# **Summary.** $-\log(\text{posterior}) = \text{loss} + \text{penalty} + \text{constant}$, so the
# MAP under a Laplace($b$) prior is the lasso with $\lambda = 1/b$, and under a Gaussian($\sigma$)
# prior it is ridge with $\lambda = 1/(2\sigma^2)$. Notebook 02 looks closely at the L1 case
# (subgradients, exact zeros, why a generic optimiser misses them), 03 at the L2 case, and 04
# at what the mode does not show: the rest of the posterior.
