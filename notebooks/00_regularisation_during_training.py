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
# # 00 — Regularisation during training
#
# Most people meet L1 and L2 regularisation while *training* a model by gradient steps, up to
# deep networks: the weights start near zero, the loss dominates the first steps, then the
# penalty takes over; L1's constant pull "zeros small weights over time", L2's proportional
# pull is "weight decay"; and the L1 gradient is "undefined at 0". The rest of mapreg shows the
# end point of that road exactly — the posterior mode (MAP), with exact zeros and a
# certificate. This notebook walks the road, with `mapreg.train`, and checks each of those
# sentences against the end point `find_map` computes:
#
# 1. the loss first, then the penalty;
# 2. L1's constant pull against L2's proportional pull;
# 3. "undefined at 0" is the subdifferential $[-\lambda, \lambda]$: subgradient descent chatters
#    around zero, the proximal step lands on it;
# 4. weight decay *is* a Gaussian prior for SGD — with a scale that depends on how the loss is
#    averaged;
# 5. … and is not one for AdamW;
# 6. a small neural network trained with weight decay, read as a MAP estimate.
#
# Data: the diabetes data of Efron et al. (2004), 442 patients, 10 standardised variables,
# the response centred, Gaussian noise with known sd $s = 53$. $L$ is the **total** negative
# log-likelihood $\sum_i (y_i - \eta_i)^2/(2s^2)$, a sum over rows (notebook 01).

# %%
import numpy as np
from scipy.optimize import minimize
from sklearn.datasets import load_breast_cancer

import mapreg
from mapreg.datasets import load_diabetes
from mapreg.fit import mlp
from mapreg.fit.train import adamw_effective_prior_scale, lipschitz_constant, weight_decay_sigma
from mapreg.plots.training import landing_step, training_trajectories, zero_chatter

data = load_diabetes()
X, y = data.X, data.y
n, p = X.shape
s = 53.0
names = data.feature_names

lasso = mapreg.Model(X, y, prior=mapreg.Laplace(b=2.0), noise_sigma=s, feature_names=names)
lasso_map = mapreg.find_map(lasso)
lam = lasso.prior.lam
print(f"Laplace(b = 2): lam = 1/b = {lam}; the MAP has {lasso_map.n_zeros} exact zeros: "
      f"{[nm for nm, c in zip(names, lasso_map.coef, strict=True) if c == 0]}")

# %% [markdown]
# ## 1. The loss first, then the penalty
#
# Gradient descent on $L(w) + \lambda\lVert w\rVert_1$ moves each weight by
# $-\mathrm{lr}\,(\partial L/\partial w_j + \lambda\,\mathrm{sign}(w_j))$. At the start, $w = 0$,
# the data's pull $|\partial L/\partial w_j|$ is far larger than the penalty's $\lambda$: the
# loss dominates. As the weights grow the residuals shrink, and with them the data's pull,
# until it is of the size of $\lambda$ and the two balance — at the MAP, exactly
# (notebook 02's KKT conditions). `train` records every iterate; the step size is
# $1/\text{Lipschitz}$ of $\nabla L$, $\mathrm{lr} = s^2/\lVert[X\;1]\rVert_2^2$, decaying as
# $1/\sqrt{1+t}$.

# %%
lr = 1.0 / lipschitz_constant(lasso)
gd = mapreg.train(lasso, "gd", lr=lr, steps=3000, lr_decay=0.5)
print(f"lr = 1/Lipschitz = {lr:.3f}")
print(f"{'step':>5} {'max |dL/dw|':>12} {'penalty pull λ':>15} {'max |w|':>8} {'-log post':>10}")
for t in (0, 1, 5, 20, 100, 300, 3000):
    grad = -X.T @ (y - X @ gd.coef[t] - gd.intercept[t]) / s**2
    print(f"{t:5d} {np.max(np.abs(grad)):12.3f} {lam:15.3f} {np.max(np.abs(gd.coef[t])):8.2f} "
          f"{gd.objective[t]:10.3f}")
print(f"find_map: -log posterior {lasso_map.neg_log_posterior:.3f}")

# %% [markdown]
# ## 2. L1's constant pull, L2's proportional pull
#
# The L1 penalty pulls every non-zero weight towards 0 with the same force $\lambda$, however
# small the weight; the L2 penalty $\lambda_2 w^2$ pulls with $2\lambda_2 w$, which fades as
# the weight shrinks. Below, three roads on the same data, each with the MAP it should end at as
# dashed lines (from `find_map`):
#
# * subgradient descent on the L1 objective (left): near its MAP but never on its zeros;
# * the proximal gradient method (ISTA) on the same objective (middle): a gradient step on
#   $L$, then the L1 penalty's proximal step — soft-thresholding — which puts a weight exactly
#   on 0 (open circles) and keeps it there;
# * SGD with weight decay `wd = 1/9` and no other penalty (right): shrinks every weight, zeros
#   none, and ends at the MAP of a Gaussian prior with $\sigma = 1/\sqrt{\mathrm{wd}} = 3$
#   (section 4).

# %%
ista = mapreg.train(lasso, "proximal", lr=lr, steps=3000)
ridge = mapreg.Model(X, y, prior=mapreg.Gaussian(sigma=3.0), noise_sigma=s, feature_names=names)
ridge_map = mapreg.find_map(ridge)
sgd_wd = mapreg.train(ridge, "sgd", weight_decay=1 / 9, penalty=None, steps=3000)
fig = training_trajectories([gd, ista], map_result=lasso_map)

# %%
fig = training_trajectories([sgd_wd], map_result=ridge_map)

# %% [markdown]
# ## 3. "Undefined at 0" is the subdifferential $[-\lambda, \lambda]$
#
# $|w|$ has no derivative at 0; its subdifferential there is the interval $[-1, 1]$, so the
# L1 term contributes any force in $[-\lambda, \lambda]$ (notebook 02). At the MAP the zero
# weights have a data pull strictly inside that interval — the penalty can absorb it. An
# autodiff framework instead returns $\mathrm{sign}(0) = 0$, one point of the interval, and
# a weight that reaches 0 gets pushed off again by the data's pull; a weight that is not at 0
# gets the full $\pm\lambda$ and jumps over. Subgradient descent therefore hovers around 0 at
# the scale of one step, $\mathrm{lr}_t\,\lambda$ (dotted), and never rests there; the proximal
# step solves the kink exactly and lands on 0 after finitely many steps (triangles), FISTA
# (its accelerated version) sooner.

# %%
fista = mapreg.train(lasso, "fista", lr=lr, steps=3000)
fig = zero_chatter([gd, ista, fista])

# %%
zero = lasso_map.coef == 0
grad_map = -X.T @ (y - X @ lasso_map.coef - lasso_map.intercept) / s**2
for run in (gd, ista, fista):
    dist = np.max(np.abs(run.final_coef - lasso_map.coef))
    lands = [landing_step(run.coef[:, j]) for j in np.flatnonzero(zero)]
    print(f"{run.optimizer:>8}: max |w - MAP| = {dist:.1e}, exact zeros at the end "
          f"{run.n_exact_zeros[-1]}, at any step after 0: {run.n_exact_zeros[1:].max()}, "
          f"landing steps {lands}")
print(f"zero weights at the MAP: |dL/dw_j| = {np.round(np.abs(grad_map[zero]), 3)} < λ = {lam}")
print(f"gd's last step scale 2 lr_T λ = {2 * gd.learning_rates[-1] * lam:.1e}; "
      f"its |w_j| there: {np.abs(gd.final_coef[zero])}")

# %% [markdown]
# ## 4. Weight decay is a Gaussian prior — for SGD
#
# PyTorch's `SGD(weight_decay=wd)` adds $\mathrm{wd}\cdot w$ to the gradient, so it minimises
# $\text{loss} + \tfrac{\mathrm{wd}}{2}\lVert w\rVert^2$, and $\tfrac{\mathrm{wd}}{2}w^2 =
# w^2/(2\sigma^2)$ is $-\log$ of a Gaussian density. Which $\sigma$ depends on what "loss" is:
#
# | the loss | minibatch estimate | its mean | prior |
# |---|---|---|---|
# | total (mapreg's $L$) | $\frac{n}{B}\sum_{\text{batch}}$ | $L$ | $\sigma^2 = 1/\mathrm{wd}$ |
# | mean (PyTorch) | $\frac1B\sum_{\text{batch}}$ | $L/n$ | $\sigma^2 = 1/(n\,\mathrm{wd})$ |
# | batch sum (`"sum"`) | $\sum_{\text{batch}}$ | $\frac{B}{n}L$ | $\sigma^2 = B/(n\,\mathrm{wd})$ |
#
# With the mean loss, $L/n + \tfrac{\mathrm{wd}}{2}\lVert w\rVert^2$ has the mode of
# $L + \tfrac{n\,\mathrm{wd}}{2}\lVert w\rVert^2$: the batch size drops out, the number of
# rows does not — the same `wd` is a weaker prior on a bigger data set. The intercept is never
# decayed (its prior is flat). Checked against `find_map` of the Gaussian(σ) model, with
# `penalty=None` so that the weight decay supplies the whole prior:

# %%
wd = 1 / 9
print(f"{'run':<44} {'sigma':>6} {'max |w - MAP(σ)|':>17}")
run = mapreg.train(ridge, "sgd", weight_decay=wd, penalty=None, steps=400)
print(f"{'SGD, total loss, wd = 1/9':<44} {weight_decay_sigma(wd):6.3f} "
      f"{np.max(np.abs(run.final_coef - ridge_map.coef)):17.1e}")
wd_mean = 1 / (9 * n)
run = mapreg.train(ridge, "sgd", weight_decay=wd_mean, penalty=None, loss_scale="mean",
                   steps=400)
sigma_mean = weight_decay_sigma(wd_mean, loss_scale="mean", n_samples=n)
print(f"{'SGD, mean loss, wd = 1/(9n)':<44} {sigma_mean:6.3f} "
      f"{np.max(np.abs(run.final_coef - ridge_map.coef)):17.1e}")
run = mapreg.train(ridge, "sgd", weight_decay=wd_mean, penalty=None, loss_scale="mean",
                   steps=3000, batch_size=17, lr_decay=0.5, random_seed=1,
                   lr=1 / (lipschitz_constant(ridge, loss_scale="mean") + wd_mean))
print(f"{'SGD, mean loss, batches of 17, decaying step':<44} {sigma_mean:6.3f} "
      f"{np.max(np.abs(run.final_coef - ridge_map.coef)):17.1e}  (SGD noise)")
print(f"\nthe same wd = 1/(9n) read as a total-loss decay would be σ = "
      f"{weight_decay_sigma(wd_mean):.1f}; PyTorch's wd = 1e-4 on this mean loss is σ = "
      f"{weight_decay_sigma(1e-4, loss_scale='mean', n_samples=n):.2f}")

# %% [markdown]
# ## 5. The Adam / AdamW truth
#
# **Adam** with the penalty's gradient added (PyTorch's `Adam(weight_decay=wd)` is this, with
# $\mathrm{wd}\cdot w$) optimises the same objective as SGD, only with another optimiser: it
# reaches the same MAP.
#
# **AdamW** (Loshchilov & Hutter 2019) *decouples* the decay from the adaptive scaling:
# $w \leftarrow w - \mathrm{lr}\,\mathrm{wd}\,w - \mathrm{lr}\,\hat m/(\sqrt{\hat v} + \epsilon)$.
# At a fixed point $\hat m$ equals the gradient $g$ and the update vanishes:
#
# $$g_j = -\mathrm{wd}\,(\sqrt{\hat v_j} + \epsilon)\,w_j ,$$
#
# the stationarity condition of $L + \sum_j w_j^2/(2\sigma_j^2)$ with the per-coordinate scale
#
# $$\sigma_{\text{eff},j}^2 = \frac{1}{\mathrm{wd}\,(\sqrt{\hat v_j} + \epsilon)} .$$
#
# It depends on the optimiser's state $\hat v$ (how large the gradients were, their minibatch
# noise, $\epsilon$), not on `wd` alone: no fixed prior has AdamW's end point as its mode.
# Below, full-batch runs on diabetes (Gaussian σ = 3, wd = 1/9) and on the breast-cancer
# logistic regression (30 standardised features, Gaussian σ = 1, wd = 1), each compared with
# `find_map`; then AdamW's end point against the MAP under its own $\sigma_{\text{eff}}$
# (computed by `find_map` on the model with column $j$ scaled by $\sigma_{\text{eff},j}$,
# i.e. $w_j = \sigma_{\text{eff},j} u_j$ with $u_j \sim N(0, 1)$).

# %%
Xb, yb = load_breast_cancer(return_X_y=True)
Xb = (Xb - Xb.mean(axis=0)) / Xb.std(axis=0)
logistic = mapreg.Model(Xb, yb.astype(float), prior=mapreg.Gaussian(sigma=1.0),
                        family="bernoulli")
cases = {
    "diabetes": (ridge, 1 / 9, {"lr": 0.5, "steps": 3000, "lr_decay": 0.3},
                 {"lr": 0.1, "steps": 6000, "betas": (0.9, 0.99)}),
    "breast cancer": (logistic, 1.0, {"lr": 0.1, "steps": 2000}, {"lr": 0.1, "steps": 2000}),
}
adamw_runs = {}
print(f"{'data':<14} {'optimiser':<22} {'max |w - MAP| / max |MAP|':>26} {'KKT of the model':>17}")
for name, (model, wd, adam_kw, adamw_kw) in cases.items():
    ref = mapreg.find_map(model)
    runs = {
        "SGD + wd (coupled)": mapreg.train(model, "sgd", weight_decay=wd, penalty=None,
                                           steps=3000, momentum=0.9),
        "Adam + wd (coupled)": mapreg.train(model, "adam", weight_decay=wd, penalty=None,
                                            **adam_kw),
        "AdamW (decoupled wd)": mapreg.train(model, "adamw", weight_decay=wd, penalty=None,
                                             **adamw_kw),
    }
    adamw_runs[name] = (model, ref, runs["AdamW (decoupled wd)"])
    for label, run in runs.items():
        rel = np.max(np.abs(run.final_coef - ref.coef)) / np.max(np.abs(ref.coef))
        print(f"{name:<14} {label:<22} {rel:26.1e} {run.kkt_violation:17.1e}")

# %%
for name, (model, _, run) in adamw_runs.items():
    sigma_eff = adamw_effective_prior_scale(run)
    scaled = mapreg.Model(model.X * sigma_eff, model.y, prior=mapreg.Gaussian(1.0),
                          family=model.family)
    w_eff = mapreg.find_map(scaled).coef * sigma_eff
    wd = run.weight_decay
    print(f"{name}: nominal σ = 1/√wd = {1 / np.sqrt(wd):.2f}; AdamW's σ_eff ranges "
          f"{sigma_eff.min():.2f} … {sigma_eff.max():.1f}")
    print(f"   AdamW end vs MAP under σ_eff: max |diff| / max |w| = "
          f"{np.max(np.abs(run.final_coef - w_eff)) / np.max(np.abs(w_eff)):.1e};  "
          f"largest wd·|w_j| = {np.max(wd * np.abs(run.final_coef)):.3f}")
model, ref, run = adamw_runs["diabetes"]
sigma_eff = adamw_effective_prior_scale(run)
print(f"\n{'feature':>8} {'MAP σ=3':>9} {'AdamW':>9} {'σ_eff':>8}")
for j, nm in enumerate(names):
    print(f"{nm:>8} {ref.coef[j]:9.3f} {run.final_coef[j]:9.3f} {sigma_eff[j]:8.2f}")

# %% [markdown]
# The pattern in the table has a name. With full-batch gradients $\hat v_j \to g_j^2$, so at
# the fixed point $|g_j|/(|g_j| + \epsilon) = \mathrm{wd}\,|w_j| < 1$: every weight stays
# inside the box $|w_j| < 1/\mathrm{wd}$ ($= 9$ on diabetes; the run above touches it up to
# its step size), and inside the box the gradient is driven to the size of $\epsilon$, i.e.
# towards the *unregularised* fit. AdamW's long-run end point is the maximum-likelihood fit
# constrained to $\lVert w\rVert_\infty \le 1/\mathrm{wd}$ (Xie & Li 2024, "Implicit bias of
# AdamW: ℓ∞-norm constrained optimization") — a uniform prior on a box, if anything, not a
# Gaussian. On diabetes that constrained fit is a small quadratic program (scipy's L-BFGS-B
# with bounds), and the AdamW run is already much closer to it than to the MAP:

# %%
model, ref, run = adamw_runs["diabetes"]
A = np.column_stack([X, np.ones(n)])


def loss_and_grad(theta):
    r = y - A @ theta
    return r @ r / (2 * s**2), -A.T @ r / s**2


box = minimize(loss_and_grad, np.zeros(p + 1), jac=True, method="L-BFGS-B",
               bounds=[(-1 / run.weight_decay, 1 / run.weight_decay)] * p + [(None, None)],
               options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000}).x
print(f"AdamW end: max |w - box-constrained MLE| = {np.max(np.abs(run.final_coef - box[:p])):.3f}"
      f", max |w - MAP(σ = 3)| = {np.max(np.abs(run.final_coef - ref.coef)):.3f}")

# %% [markdown]
# A run of finite length sits on the way to that limit, at the Gaussian mode of its current
# $\sigma_{\text{eff}}$. With minibatches $\hat v$ is dominated by gradient noise, and
# $\sigma_{\text{eff}}$ with it by the batch size. Either way the sentence "weight decay is a
# Gaussian prior" holds for SGD and for Adam's coupled decay, and not for AdamW.

# %% [markdown]
# ## 6. A small neural network: weight decay is a Gaussian prior on every weight
#
# A one-hidden-layer network $f(x) = w_2^\top \tanh(W_1^\top x + b_1) + b_2$ with 8 hidden
# units on the same data and the same Gaussian likelihood, trained on
# $L(\theta) + \tfrac{\mathrm{wd}}{2}\lVert\theta\rVert^2$ over all weights and biases
# $\theta$. That objective is $-\log p(y\mid\theta) - \log p(\theta)$ + const with
# $\theta_k \sim N(0, \sigma^2)$, $\sigma^2 = 1/\mathrm{wd}$ (total loss), so the trained
# weights are a MAP estimate — a *local* one, the objective is not convex (relabelling hidden
# units gives equally good modes). `fit_mlp` trains it with full-batch L-BFGS (polished by
# Newton steps when L-BFGS stops short) and reports the MAP stationarity residual
# $\lVert\nabla(L + \tfrac{\mathrm{wd}}{2}\lVert\theta\rVert^2)\rVert_\infty$ at the end;
# `tests/test_train.py` checks the gradient against central finite differences. The posterior
# beyond that mode — its spread, its many symmetric copies — is out of scope here.

# %%
net = mlp.fit_mlp(X, y, n_hidden=8, activation="tanh", weight_decay=0.05, noise_sigma=s,
                  tol=1e-8, random_seed=0)
print(f"{net.n_hidden} tanh units, {len(net.params)} weights, wd = {net.weight_decay} "
      f"-> prior N(0, σ²) on every weight, σ = {net.prior_sigma:.2f}")
print(f"stationarity residual {net.stationarity_residual:.1e} <= tol {net.tol:.0e}: "
      f"{net.converged} (recomputed: {mlp.stationarity_residual(net, X, y):.1e}), "
      f"{net.n_iter} iterations")
rmse_net = np.sqrt(np.mean((net.predict(X) - y) ** 2))
lin = mapreg.find_map(mapreg.Model(X, y, prior=mapreg.Gaussian(net.prior_sigma), noise_sigma=s))
rmse_lin = np.sqrt(np.mean((X @ lin.coef + lin.intercept - y) ** 2))
print(f"training RMSE: network {rmse_net:.1f}, linear MAP with the same prior {rmse_lin:.1f}")

# %% [markdown]
# **Summary.** The road and the end point agree where they should: the proximal method and
# FISTA end *on* `find_map`'s MAP with its exact zeros; subgradient descent ends within a step
# of it and never on a zero, because `sign(0) = 0` is one point of the subdifferential
# $[-\lambda, \lambda]$, not the kink. SGD's weight decay is the Gaussian prior
# $\sigma^2 = 1/\mathrm{wd}$ on the total loss and $1/(n\,\mathrm{wd})$ on the mean loss; Adam
# with the same (coupled) decay reaches the same MAP; AdamW's decoupled decay does not — its
# end point is the mode of per-coordinate Gaussians whose scales come from Adam's own state.
# Notebook 01 derives the equivalence at the end point, 02 and 03 look at L1 and L2 there.
