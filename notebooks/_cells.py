"""The cells of each walk-through notebook: ``(kind, source)`` pairs, kind "md" or "code"."""

from __future__ import annotations

NB01 = [
    ("md", r"""
# 01 — The MAP is a penalised fit

This notebook derives, one algebra step at a time, why the **posterior mode** (MAP) of a
regression with an i.i.d. prior on its weights is a **penalised fit**, and checks every
step numerically on real data: the diabetes data of Efron et al. (2004), 442 patients,
10 standardised baseline variables, the response centred.

Notation: $X$ the $n\times p$ design, $y$ the response, weights $w$, an intercept $w_0$ with
a flat prior (never penalised), linear predictor $\eta = Xw + w_0$, Gaussian noise with known
standard deviation $s$.
"""),
    ("code", r"""
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
"""),
    ("md", r"""
## Step 1 — Bayes' theorem, on the log scale

$$p(w, w_0 \mid y) = \frac{p(y \mid w, w_0)\, p(w)\, p(w_0)}{p(y)}
\quad\Longrightarrow\quad
-\log p(w, w_0 \mid y) = \underbrace{-\log p(y\mid w, w_0)}_{\text{likelihood}}
\;\underbrace{-\sum_j \log p(w_j)}_{\text{prior}} \;+\; \log p(y) .$$

The flat intercept prior contributes a constant and the evidence $\log p(y)$ does not depend on
the weights, so the mode is the minimiser of the first two terms, which `mapreg.Model`
calls `neg_log_posterior`. Check: it equals minus the log-likelihood minus the summed prior
log-density at a random point.
"""),
    ("code", r"""
prior = mapreg.Laplace(b=2.0)
model = mapreg.Model(X, y, prior=prior, noise_sigma=s, feature_names=data.feature_names)

rng = np.random.default_rng(0)
w, w0 = rng.normal(scale=10.0, size=p), 3.0
lhs = model.neg_log_posterior(w, w0)
rhs = -model.log_likelihood(w, w0) - np.sum(prior.logpdf(w))
print(f"-log p(w|y) + log p(y) = {lhs:.10f}")
print(f"-log p(y|w) - sum log p(w_j) = {rhs:.10f}   difference {lhs - rhs:.1e}")
"""),
    ("md", r"""
## Step 2 — the Gaussian likelihood is a squared loss plus a constant

$$-\log p(y\mid w, w_0) = \sum_i \frac{(y_i - \eta_i)^2}{2s^2} + n\log\!\left(s\sqrt{2\pi}\right)
= L(w, w_0) + \text{const}.$$

$L$ is the **total** loss (a sum over rows, the noise scale included), not a mean. Check it
against the formula written out in numpy:
"""),
    ("code", r"""
eta = X @ w + w0
L = np.sum((y - eta) ** 2) / (2 * s**2)
const_lik = n * np.log(s * np.sqrt(2 * np.pi))
print(f"-log p(y|w)       = {-model.log_likelihood(w, w0):.10f}")
print(f"L(w) + n log(s√2π) = {L + const_lik:.10f}")
"""),
    ("md", r"""
## Step 3 — the Laplace prior is an L1 penalty plus a constant

$$p(w_j) = \frac{1}{2b} e^{-|w_j|/b}
\quad\Longrightarrow\quad
-\sum_j \log p(w_j) = \frac{1}{b}\sum_j |w_j| + p\log(2b) = \lambda\lVert w\rVert_1 + p\log Z,
\qquad \lambda = \frac1b .$$

Each mapreg prior knows its penalty weight `lam` and its normaliser `log_normalizer`
($\log Z$). Check the identity at the random point, and that `lam` is $1/b$:
"""),
    ("code", r"""
print(f"lam = {prior.lam}  (1/b = {1 / prior.b})")
neg_log_prior = -np.sum(prior.logpdf(w))
print(f"-sum log p(w_j)          = {neg_log_prior:.10f}")
print(f"lam*|w|_1 + p log(2b)    = {prior.lam * np.sum(np.abs(w)) + p * np.log(2 * prior.b):.10f}")
print(f"lam*pen(w) + p*log Z     = {prior.penalty().value(w) + p * prior.log_normalizer:.10f}")
"""),
    ("md", r"""
The picture of this step: the prior density (top), and its negative log-density shifted down
by $\log Z$ (dashed) lying exactly on the penalty $\lambda|w|$ (thick). The same holds for
the Gaussian prior and the *squared* L2 penalty $\lambda w^2$ with $\lambda = 1/(2\sigma^2)$
(right column; σ chosen so that both have the same λ). The dotted curve is the unshifted
$-\log p(w)$: a constant gap, which moves no minimiser.
"""),
    ("code", r"""
fig = plots.prior_vs_penalty(mapreg.Laplace(b=2.0))
"""),
    ("md", r"""
## Step 4 — add them up: −log posterior = loss + penalty + constant

$$-\log p(w, w_0\mid y) + \log p(y) = L(w, w_0) + \lambda\lVert w\rVert_1
+ \underbrace{n\log(s\sqrt{2\pi}) + p\log(2b)}_{\text{does not depend on } w,\,w_0}.$$

Check: the difference between the negative log posterior and the penalised objective is the
same number at many random points, and equals the closed-form constant.
"""),
    ("code", r"""
def penalised_objective(w, w0, lam):
    return np.sum((y - X @ w - w0) ** 2) / (2 * s**2) + lam * np.sum(np.abs(w))


gaps = []
for _ in range(5):
    w_r, w0_r = rng.normal(scale=20.0, size=p), rng.normal(scale=5.0)
    gaps.append(model.neg_log_posterior(w_r, w0_r) - penalised_objective(w_r, w0_r, prior.lam))
print("differences at 5 random points:", np.round(gaps, 9))
print(f"closed form n log(s√2π) + p log(2b) = {const_lik + p * np.log(2 * prior.b):.9f}")
"""),
    ("md", r"""
## Step 5 — a constant moves no minimiser: MAP = lasso

So the mode of the posterior is the minimiser of $L + \lambda\lVert w\rVert_1$. mapreg computes
the two sides independently: `find_map` builds its objective from the model's log densities
and the prior scale; `penalized_fit` from the loss and λ given directly. scikit-learn's
`Lasso` is a third witness, with its own normalisation
$\frac{1}{2n}\lVert y - Xw\rVert^2 + \alpha\lVert w\rVert_1$, so $\alpha = s^2/(n b)$.
"""),
    ("code", r"""
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
"""),
    ("md", r"""
`verify_equivalence` does all of this in one call and reports whether it passed: both fits,
scikit-learn through the conversion, the largest difference, the objective identity of step 4
and whether the zero patterns agree.
"""),
    ("code", r"""
print(verify_equivalence(model))
"""),
    ("md", r"""
The same derivation with a Gaussian prior gives ridge regression:
$-\sum_j\log p(w_j) = \frac{1}{2\sigma^2}\lVert w\rVert_2^2 + \frac p2\log(2\pi\sigma^2)$, so
$\lambda = 1/(2\sigma^2)$ on the **squared** norm (notebook 03 has the details).
"""),
    ("code", r"""
ridge_model = mapreg.Model(X, y, prior=mapreg.Gaussian(sigma=10.0), noise_sigma=s,
                           feature_names=data.feature_names)
report = verify_equivalence(ridge_model)
print(f"Gaussian(σ=10): lam = {report.lam:.4g}, max |MAP - penalised| = "
      f"{report.max_abs_diff:.1e}, max |MAP - sklearn Ridge| = {report.max_abs_diff_sklearn:.1e},"
      f" passed = {report.passed}")
"""),
    ("md", r"""
## Not one prior but all of them: the paths coincide

Sweeping the prior scale $b$ gives the whole lasso path. Below, each coefficient's MAP over
30 prior scales (thick coloured lines), the penalised fit at $\lambda = 1/b$ (thin black
dashes) and scikit-learn's `lasso_path` at $\alpha = s^2/(nb)$ (dots). They lie on top of each
other everywhere. The bottom axis is the prior scale $b$ (a wider prior to the right), the top
axis the same grid as the penalty λ; the dotted vertical line marks $b = 2$, the model above.
A narrow prior (small $b$, large λ) sets every coefficient to exactly zero.
"""),
    ("code", r"""
fig = plots.map_path(model)
"""),
    ("md", r"""
**Summary.** $-\log(\text{posterior}) = \text{loss} + \text{penalty} + \text{constant}$, so the
MAP under a Laplace($b$) prior is the lasso with $\lambda = 1/b$, and under a Gaussian($\sigma$)
prior it is ridge with $\lambda = 1/(2\sigma^2)$. Notebook 02 looks closely at the L1 case
(subgradients, exact zeros, why a generic optimiser misses them), 03 at the L2 case, and 04
at what the mode does not show: the rest of the posterior.
"""),
]




NB02 = [
    ("md", r"""
# 02 — The Laplace prior and the L1 penalty

A Laplace (double-exponential) prior $p(w_j) = \frac{1}{2b}e^{-|w_j|/b}$ on each weight is
the L1 penalty $\lambda\lVert w\rVert_1$ with $\lambda = 1/b$ (notebook 01). This notebook
looks at what the kink of $|w|$ at zero does: the subgradient, the optimality (KKT)
conditions, exact zeros (sparsity), and why a smooth optimiser such as `pymc.find_MAP` does
not find them.
"""),
    ("code", r"""
import warnings

import numpy as np
from sklearn.linear_model import Lasso

import mapreg
from mapreg import conversions, plots
from mapreg.datasets import load_diabetes
from mapreg.interop.pymc_map import pymc_find_map

data = load_diabetes()
X, y = data.X, data.y
n, p = X.shape
s = 53.0
names = data.feature_names
"""),
    ("md", r"""
## λ = 1/b

A wide prior (large $b$) is a weak penalty, a narrow one a strong penalty. `Laplace.from_lam`
goes the other way.
"""),
    ("code", r"""
for b in (0.5, 2.0, 10.0, 100.0):
    prior = mapreg.Laplace(b)
    print(f"Laplace(b={b:>5}) -> lam = {prior.lam:<6g}  back: "
          f"Laplace.from_lam({prior.lam:g}).b = {mapreg.Laplace.from_lam(prior.lam).b:g}")
"""),
    ("md", r"""
## The subgradient at zero

$|w|$ has no derivative at $0$, but it has a **subdifferential**: every slope between $-1$
and $1$ supports the kink, so $\partial(\lambda|w|)(0) = [-\lambda, \lambda]$. Left panel below:
the L1 "force" $\lambda\,\mathrm{sign}(w)$ keeps its full size however small $w$ is, and at
$w = 0$ it can take any value in $[-\lambda, \lambda]$ (dotted vertical segment), while the L2
force $2\lambda w$ fades to nothing near zero. Right panel: the consequence for the simplest
problem, $\min_w \tfrac12(w - z)^2 + \lambda\,\mathrm{pen}(w)$ — the L1 solution is
*soft-thresholding*, exactly zero whenever $|z| \le \lambda$ (shaded), the L2 solution
$z/(1+2\lambda)$ is never zero unless $z$ is.
"""),
    ("code", r"""
fig = plots.shrinkage_force(lam=1.0)
"""),
    ("md", r"""
## The KKT conditions, checked at the MAP

$w$ minimises $L(w) + \lambda\lVert w\rVert_1$ exactly when $0$ lies in the subdifferential:

* $\partial L/\partial w_j + \lambda\,\mathrm{sign}(w_j) = 0$ for $w_j \ne 0$,
* $|\partial L/\partial w_j| \le \lambda$ for $w_j = 0$,

and $\partial L/\partial w_0 = 0$ for the unpenalised intercept. With the Gaussian loss,
$\nabla_w L = -X^\top(y - Xw - w_0)/s^2$. Below, that gradient is computed in numpy at
`find_map`'s answer for $b = 2$: the non-zero coefficients balance their gradient exactly,
and the zero ones have $|\partial L/\partial w_j|$ strictly inside $[-\lambda, \lambda]$ — the
data's pull on them is not strong enough to overcome the prior. `find_map` reports the
largest violation of these conditions as its certificate.
"""),
    ("code", r"""
prior = mapreg.Laplace(b=2.0)
model = mapreg.Model(X, y, prior=prior, noise_sigma=s, feature_names=names)
fit = mapreg.find_map(model)
lam = prior.lam
grad = -X.T @ (y - X @ fit.coef - fit.intercept) / s**2

print(f"lam = {lam}")
print(f"{'feature':>8} {'w_j':>11} {'dL/dw_j':>11}   condition")
for name, wj, gj in zip(names, fit.coef, grad, strict=True):
    if wj != 0.0:
        cond = f"dL/dw + lam*sign(w) = {gj + lam * np.sign(wj):+.1e}"
    else:
        cond = f"|dL/dw| = {abs(gj):.3f} <= lam: {abs(gj) <= lam}"
    print(f"{name:>8} {wj:11.5f} {gj:11.5f}   {cond}")
print(f"dL/dw0 = {np.sum(-(y - X @ fit.coef - fit.intercept)) / s**2:.1e}")
print(f"find_map's certificate: kkt_violation = {fit.kkt_violation:.1e}, "
      f"converged = {fit.converged}")
"""),
    ("md", r"""
## Sparsity: how many exact zeros

The zero condition $|\partial L/\partial w_j| \le \lambda$ holds for *every* coefficient at
$w = 0$ once $\lambda \ge \lambda_{\max} = \max_j |X_j^\top (y - \bar y)|/s^2$, i.e. for
$b \le 1/\lambda_{\max}$: a narrow enough prior makes the MAP the empty model. As the prior
widens, coefficients enter one by one.
"""),
    ("code", r"""
lam_max = np.max(np.abs(X.T @ (y - y.mean()))) / s**2
b_min = 1.0 / lam_max
print(f"lam_max = {lam_max:.4f}, so every coefficient is 0 for b <= {b_min:.4f}")
for b in (0.9 * b_min, 1.01 * b_min, 0.5, 2.0, 10.0, 100.0):
    f = mapreg.find_map(mapreg.Model(X, y, prior=mapreg.Laplace(b), noise_sigma=s))
    zero = [nm for nm, c in zip(names, f.coef, strict=True) if c == 0.0]
    print(f"b = {b:8.4f}: {f.n_zeros:2d} exact zeros  {zero}")
"""),
    ("md", r"""
## The geometry

The penalised problem is also a constrained one: minimise $L$ subject to
$\lVert w\rVert_1 \le t$. With two weights, the feasible set is a diamond whose corners sit on
the axes. The MAP is where the loss contours (grey ellipses, centred at the least-squares
estimate +) first touch it, and that is often a corner: the Laplace MAP (red dot) has
$w_2 = 0$ exactly. The Gaussian prior's feasible set is a disc with no corners, so its MAP
(blue square) has both weights non-zero. The dashed ellipses are the loss contours through
each MAP, tangent to their constraint sets.
"""),
    ("code", r"""
fig = plots.constraint_geometry()
"""),
    ("md", r"""
## MAP vs scikit-learn `Lasso`

scikit-learn's `Lasso(alpha)` minimises
$\frac{1}{2n}\lVert y - Xw\rVert^2 + \alpha\lVert w\rVert_1$:
multiply mapreg's objective by $s^2/n$ and read off $\alpha = s^2/(nb)$
(`conversions.lasso_alpha`). Over a range of priors the two agree to about $10^{-10}$, with
the same zeros:
"""),
    ("code", r"""
print(f"{'b':>6} {'alpha':>10} {'max |MAP - Lasso|':>18} {'zeros MAP':>10} {'zeros Lasso':>12}")
for b in (0.5, 2.0, 10.0, 100.0):
    prior_b = mapreg.Laplace(b)
    f = mapreg.find_map(mapreg.Model(X, y, prior=prior_b, noise_sigma=s))
    alpha = conversions.lasso_alpha(prior_b, noise_sigma=s, n_samples=n)
    sk = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    diff = np.max(np.abs(f.coef - sk.coef_))
    print(f"{b:6g} {alpha:10.4g} {diff:18.1e} {f.n_zeros:10d} {np.sum(sk.coef_ == 0):12d}")
"""),
    ("md", r"""
## Why `pymc.find_MAP` misses the exact zeros

`pymc.find_MAP` maximises the log density with L-BFGS, a quasi-Newton method for *smooth*
functions. The Laplace log density has a kink at zero: its gradient jumps from $+1/b$ to
$-1/b$, so the method keeps overshooting around $0$, its curvature model is wrong there, and
it stops wherever its line search gives up — near the mode, with small non-zero values where
the mode has exact zeros, and with errors that spill over into the other coefficients.
mapreg's `find_map` splits the non-smooth part off and handles it exactly (soft-thresholding
inside coordinate descent), which lands on zero. It accepts the PyMC model too: on
`model.to_pymc()` it runs a proximal Newton method on PyMC's own compiled log density and
finds the same mode as on the mapreg model.
"""),
    ("code", r"""
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pm_coef, pm_intercept = pymc_find_map(model)
exact = mapreg.find_map(model)
via_pymc = mapreg.find_map(model.to_pymc())

print(f"{'feature':>8} {'mapreg MAP':>12} {'pymc.find_MAP':>14} {'find_map(pymc model)':>21}")
for j, name in enumerate(names):
    print(f"{name:>8} {exact.coef[j]:12.5f} {pm_coef[j]:14.6g} {via_pymc.coef[j]:21.5f}")
print(f"exact zeros: mapreg {exact.n_zeros}, pymc.find_MAP {np.sum(pm_coef == 0)}, "
      f"find_map(pymc model) {np.sum(via_pymc.coef == 0)}")
print(f"largest error of pymc.find_MAP: {np.max(np.abs(pm_coef - exact.coef)):.3f}")
nlp_exact = model.neg_log_posterior(exact.coef, exact.intercept)
nlp_pymc = model.neg_log_posterior(pm_coef, pm_intercept)
print(f"-log posterior: mapreg {nlp_exact:.6f}, pymc.find_MAP {nlp_pymc:.6f} "
      f"(higher by {nlp_pymc - nlp_exact:.2e})")
"""),
    ("md", r"""
The last line is the point: `pymc.find_MAP`'s answer has a *higher* negative log posterior
than mapreg's, so it is not the mode — and the KKT certificate of mapreg's answer
(≈ 1e-15) says there is nothing lower to find.

**Summary.** Laplace($b$) ↔ L1 with $\lambda = 1/b$. The kink at zero makes the subdifferential
$[-\lambda, \lambda]$, and a coefficient stays exactly zero while the data's pull
$|\partial L/\partial w_j|$ is at most λ. Exact zeros need a solver that treats the kink
exactly; gradient-based optimisers only come close. Notebook 04 shows that the zeros are a
property of the *mode* only: the posterior itself puts no mass on $w_j = 0$.
"""),
]



NB03 = [
    ("md", r"""
# 03 — The Gaussian prior and the (squared) L2 penalty

A Gaussian prior $w_j \sim \mathcal N(0, \sigma^2)$ on each weight is ridge regression:
$-\log p(w_j) = \frac{w_j^2}{2\sigma^2} + \tfrac12\log(2\pi\sigma^2)$, the **squared** L2
penalty $\lambda\lVert w\rVert_2^2$ with $\lambda = 1/(2\sigma^2)$, i.e. $2\lambda = 1/\sigma^2$.
(A common write-up prints $\lambda\lVert w\rVert_2$; without the square it is a different
penalty, not the Gaussian prior.) With Gaussian noise the whole posterior is Gaussian and
available in closed form, so this case is ground truth for everything else. The last section
shows why the prior also makes the problem numerically stable when the features are
nearly collinear.
"""),
    ("code", r"""
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
"""),
    ("md", r"""
## 2λ = 1/σ²

Check the identity $-\log p(w) = \lambda w^2 + \log Z$ with $\lambda = 1/(2\sigma^2)$ and
$\log Z = \frac12\log(2\pi\sigma^2)$ at a few points, and the round trip through `from_lam`:
"""),
    ("code", r"""
prior = mapreg.Gaussian(sigma=10.0)
w = np.array([-3.0, 0.0, 0.5, 20.0])
print(f"sigma = {prior.sigma}: lam = {prior.lam} = 1/(2 sigma^2) = {1 / (2 * prior.sigma**2)}")
print("-log p(w)         :", -prior.logpdf(w))
print("lam w^2 + log Z   :", prior.lam * w**2 + 0.5 * np.log(2 * np.pi * prior.sigma**2))
print(f"Gaussian.from_lam({prior.lam}).sigma = {mapreg.Gaussian.from_lam(prior.lam).sigma}")
"""),
    ("md", r"""
The picture (right column): the Gaussian density, and its negative log-density minus
$\log Z$ (dashed) on the parabola $\lambda w^2$. The left column is the Laplace prior with the
same λ for comparison: near zero the parabola is flat (a weak pull), far out it is much
steeper than the V of the L1 penalty (a strong pull on large weights).
"""),
    ("code", r"""
fig = plots.prior_vs_penalty(gaussian=mapreg.Gaussian(sigma=1.0),
                             laplace=mapreg.Laplace.from_lam(0.5))
"""),
    ("md", r"""
## Closed-form ridge = MAP

Setting the gradient of $\sum_i (y_i - \eta_i)^2/(2s^2) + \lambda\lVert w\rVert^2$ to zero, with
the unpenalised intercept profiled out by centring ($X_c$, $y_c$):

$$\hat w = \left(X_c^\top X_c + \tfrac{s^2}{\sigma^2} I\right)^{-1} X_c^\top y_c,
\qquad \hat w_0 = \bar y - \bar x^\top \hat w .$$

The same system in scikit-learn's normalisation, $\lVert y - Xw\rVert^2 + \alpha\lVert w\rVert^2$,
gives $\alpha = s^2/\sigma^2$ (`conversions.ridge_alpha`). Three independent computations,
one answer:
"""),
    ("code", r"""
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
"""),
    ("md", r"""
## The whole posterior, in closed form

With Gaussian noise and a Gaussian prior the posterior of $w$ (the flat-prior intercept
integrated out) is Gaussian:

$$w \mid y \sim \mathcal N(\mu, \Sigma),\qquad
\Sigma = \left(\tfrac{1}{s^2}X_c^\top X_c + \tfrac{1}{\sigma^2}I\right)^{-1},\qquad
\mu = \tfrac{1}{s^2}\,\Sigma X_c^\top y_c .$$

$\mu$ is the ridge solution above: for a symmetric unimodal posterior, **mode = mean =
median**, so here the MAP loses nothing as a point estimate. What it does not give is the
spread — the posterior standard deviations and the intervals below, and the correlation
between coefficients.
"""),
    ("code", r"""
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
"""),
    ("md", r"""
## The ridge path

Over prior scales σ (bottom axis; the top axis is $\lambda = 1/(2\sigma^2)$), the MAP (thick),
the penalised fit (black dashes) and scikit-learn's `Ridge` at $\alpha = s^2/\sigma^2$ (dots)
coincide. Unlike the lasso path (notebook 01) every coefficient moves smoothly away from zero
at once: shrinkage without selection. s1 and s2, correlated at 0.9, trade off against each
other as the prior widens.
"""),
    ("code", r"""
fig = plots.map_path(model)
"""),
    ("md", r"""
## Multicollinearity and numerical stability

Least squares solves $X_c^\top X_c\, w = X_c^\top y_c$. When two columns are nearly equal,
$X_c^\top X_c$ is nearly singular: its condition number explodes, the solution is a huge
positive and a huge negative weight that cancel, and tiny changes in $y$ swing them wildly.
The Gaussian prior adds $s^2/\sigma^2$ to every eigenvalue, which bounds the condition number
by $(\lambda_{\max} + s^2/\sigma^2)/(s^2/\sigma^2)$ and makes the answer well defined: the two
copies share the effect equally.

Below, a copy of `bmi` with a relative perturbation of $10^{-6}$ is appended to the diabetes
data. We compare the condition numbers, the fitted weights, and how much each fit moves when
$y$ changes by noise of size $10^{-3}$ (against a noise level $s = 53$).
"""),
    ("code", r"""
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
"""),
    ("md", r"""
Least squares puts huge opposite weights (hundreds of thousands) on `bmi` and its copy,
and a change in $y$ far below the noise level moves them by about a hundred; the MAP
splits the `bmi` effect evenly between the two copies and barely moves. `find_map` stays
accurate on this ill-conditioned problem (it agrees with the closed form and certifies its
KKT conditions).

**Summary.** Gaussian($\sigma$) ↔ squared L2 with $2\lambda = 1/\sigma^2$; scikit-learn's
`Ridge` has $\alpha = s^2/\sigma^2$. With Gaussian noise the posterior is Gaussian, its mean is
the MAP, and its covariance is available in closed form — the ground truth that notebook 04's
samplers are checked against. The prior regularises the linear algebra as well as the
estimate.
"""),
]



NB04 = [
    ("md", r"""
# 04 — Beyond the mode

Notebooks 01–03 showed that the MAP is a penalised fit. But the MAP is one point of a whole
posterior distribution, and under a Laplace prior it is an unusual point: it has **exact
zeros**, while the posterior — a continuous density — puts **no mass at all** on $w_j = 0$.
This notebook samples the posterior and puts it next to the mode: Gibbs and NUTS for the
Bayesian lasso, exact i.i.d. draws for the Gaussian prior, the posterior-median path,
hyperpriors, empirical-Bayes choices of the prior scale, and the diagnostics that say when
a run cannot be trusted. Sampling is kept small so that the notebook runs in about a minute.
"""),
    ("code", r"""
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
"""),
    ("md", r"""
## The Bayesian lasso posterior

`sample_posterior` returns an ArviZ `DataTree`: the draws (`posterior`), sampler statistics,
the data, and the MAP (`map` group), so that mode and posterior can be compared directly. For
a Laplace prior with Gaussian noise, `sampler="auto"` picks the Gibbs sampler of Park &
Casella (2008), which writes the Laplace prior as a scale mixture of normals. Every run is
followed by diagnostics (R-hat, bulk and tail effective sample sizes), recorded in `attrs`.
"""),
    ("code", r"""
idata = mapreg.sample_posterior(model, draws=2000, tune=500, chains=4, random_seed=1)
a = idata.attrs
print(f"sampler: {a['sampler']}, {a['chains']} chains x {a['draws']} draws, "
      f"{a['wall_time_s']:.2f} s")
print(f"max R-hat {a['max_rhat']:.4f}, min bulk ESS {a['min_ess_bulk']:.0f}, "
      f"min tail ESS {a['min_ess_tail']:.0f}, warnings: {a['warnings']}")
"""),
    ("md", r"""
## Exact zeros vs posterior mass near zero

Each row below is one coefficient's posterior (shaded density, central 90% and 50% intervals,
white dot = median) with the MAP as a diamond. The MAP sets `age`, `s2` and `s4` exactly to
zero (hollow red diamonds), but their posteriors are spread on both sides of zero and their
medians are not zero. For the strong effects (`bmi`, `s5`, `bp`) mode and median nearly agree;
for the weak ones the MAP sits at the kink of the posterior density, pulled to zero harder
than the posterior's centre.
"""),
    ("code", r"""
fig = plots.posterior_vs_mode(idata)
"""),
    ("md", r"""
The same in numbers: `compare_mode_posterior` tabulates the MAP beside the posterior mean,
median, sd, a 90% interval, the posterior probability of each sign, and the posterior mass
within ±ε of zero. Where the MAP is exactly 0, `p_pos + p_neg = 1`: no draw is exactly zero,
and only a small fraction is even within ε.
"""),
    ("code", r"""
table = mapreg.compare_mode_posterior(idata, prob=0.9)
print(f"eps = {table.attrs['eps']:.3f}")
print(table.round(3).to_string())
zero_rows = table[table["map_is_zero"]]
print("\nwhere the MAP is 0: P(w > 0) + P(w < 0) =", (zero_rows.p_pos + zero_rows.p_neg).values)
"""),
    ("md", r"""
## Two samplers, one posterior

The Gibbs sampler and NUTS (through nutpie on PyMC's model) target the same posterior. A short
NUTS run agrees with the Gibbs draws within Monte-Carlo error: each difference of the two
medians is divided by its Monte-Carlo standard error (ArviZ's `mcse` of the median, from each
run's effective sample size), so values mostly within ±2 — an occasional larger one among
ten is chance — mean agreement. (NUTS has to compile the model first, which dominates its
time on a problem this small.)
"""),
    ("code", r"""
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
"""),
    ("md", r"""
## The posterior-median path

Park & Casella's Figure 1: as the prior scale $b$ grows (left to right; the top axis is
$\lambda = 1/b$), the MAP path (left) has kinks where coefficients enter and exact zeros
before that, while the posterior medians (right, one Gibbs run per dot; the MAP path faintly
behind) move smoothly and are never exactly zero. For a wide prior both approach least
squares; for a narrow one the medians are shrunk towards zero but not onto it.
"""),
    ("code", r"""
fig = plots.posterior_median_path(model, random_seed=3)
"""),
    ("md", r"""
## The Gaussian prior: exact draws

With a Gaussian prior and Gaussian noise the posterior is Gaussian in closed form (notebook
03), and `sampler="auto"` draws from it directly — independent draws, no Markov chain. Here
mode, mean and median coincide: the sample mean matches the MAP within Monte-Carlo error and
the picture has every diamond at the centre of its density. Nothing is exactly zero, in the
mode or in the posterior.
"""),
    ("code", r"""
ridge = mapreg.Model(X, y, prior=mapreg.Gaussian(sigma=10.0), noise_sigma=s, feature_names=names)
exact = mapreg.sample_posterior(ridge, draws=4000, chains=1, random_seed=4)
mean = exact["posterior"]["coef"].mean(("chain", "draw")).values
sd = exact["posterior"]["coef"].std(("chain", "draw")).values
mode = exact["map"]["coef"].values
print(f"sampler: {exact.attrs['sampler']}")
print("(mean - MAP) / (sd / sqrt(4000)):", np.round((mean - mode) / (sd / np.sqrt(4000)), 2))
fig = plots.posterior_vs_mode(exact)
"""),
    ("md", r"""
## Hyperpriors: unknown noise and unknown prior scale

So far the noise $s = 53$ and the prior scale were fixed. A fully Bayesian model puts priors
on them too: here a half-Cauchy on the noise sd and Park & Casella's Gamma prior on
$\lambda^2 = 1/b^2$. Both are conjugate to the Gibbs sampler, which samples them jointly
with the weights. The posterior then says how much noise and how much shrinkage the data
support.
"""),
    ("code", r"""
full = mapreg.Model(X, y, prior=mapreg.Laplace(b=2.0), noise_prior=mapreg.HalfCauchy(beta=50.0),
                    scale_prior=mapreg.GammaLambdaSq(r=1.0, delta=1.0), feature_names=names)
hyper = mapreg.sample_posterior(full, draws=2000, tune=500, chains=4, random_seed=5)
post = hyper["posterior"]
for var, label in (("noise_sigma", "noise sd s"), ("prior_scale", "Laplace scale b")):
    q = np.quantile(post[var].values, [0.05, 0.5, 0.95])
    print(f"{label:>16}: median {q[1]:.3f}, 90% interval [{q[0]:.3f}, {q[2]:.3f}]")
print(f"sampler {hyper.attrs['sampler']}, max R-hat {hyper.attrs['max_rhat']:.4f}, "
      f"warnings: {hyper.attrs['warnings']}")
"""),
    ("md", r"""
## Empirical Bayes: choosing the prior scale from the data

Instead of a hyperprior, the scale can be set to the value that maximises the marginal
likelihood $p(y \mid \text{scale}) = \int p(y\mid w)\,p(w\mid\text{scale})\,dw$. For the
Gaussian prior this evidence is available in closed form (the same quantity scikit-learn's
`BayesianRidge` maximises). For the Laplace prior it is not, and Park & Casella's Monte-Carlo
EM alternates Gibbs runs with updates of λ. The chosen scale then gives a MAP (a ridge or
lasso fit with a data-chosen λ) and a posterior.
"""),
    ("code", r"""
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
"""),
    ("code", r"""
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
"""),
    ("md", r"""
## Diagnostics are loud

A run that has not converged must say so. Below, NUTS gets only 3 tuning steps — far too
few to adapt its step size and mass matrix. `sample_posterior` checks R-hat, bulk and tail
ESS and divergences after every run, emits a `SamplingWarning` per problem with what to do
about it, and records the messages in `attrs["warnings"]`.
"""),
    ("code", r"""
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    bad = mapreg.sample_posterior(model, draws=100, tune=3, chains=2, sampler="nutpie",
                                  random_seed=7, progressbar=False)
print(f"{len(caught)} warnings raised; recorded in attrs['warnings']:")
for msg in bad.attrs["warnings"]:
    print(" -", msg)
"""),
    ("md", r"""
**Summary.** The MAP is the posterior's highest point, and under a Laplace prior that point
has exact zeros — a property of the *mode*, not of the posterior, which puts zero probability
on $w_j = 0$ and gives every coefficient a spread and a probability of each sign. The
posterior median path is smooth where the lasso path has kinks. Under a Gaussian prior mode
and mean coincide. Hyperpriors and empirical Bayes let the data choose the amount of
shrinkage, and diagnostics say when the draws can be used.
"""),
]


NB05 = [
    ("md", r"""
# 05 — The prior ↔ penalty family

L1 and L2 are two members of one family. For any i.i.d. prior,
$-\log p(w) = \text{penalty}(w) + \log Z$, so the MAP minimises $L(w) + \text{penalty}(w)$.
This notebook walks the family on the diabetes data (noise $s = 53$):

- `GeneralizedNormal(α, p)`, density $\propto e^{-|w/α|^p}$: bridge $λ\sum|w_j|^p$ with
  $λ = α^{-p}$; convex for $p \ge 1$.
- `ElasticNet(b, σ)` (Laplace × Gaussian, normalised): $λ_1\|w\|_1 + λ_2\|w\|_2^2$ with
  $λ_1 = 1/b$, $λ_2 = 1/(2σ^2)$; convex.
- `StudentT(ν, s)` / `Cauchy(s)`: $\frac{ν+1}{2}\sum\log(1 + w_j^2/(ν s^2))$; not convex.
- `Horseshoe`, `RegularizedHorseshoe`: no penalty (the density is infinite at 0).

For the convex members the certified stationary point is *the* MAP; for the non-convex ones
mapreg returns a **local** mode with a second-order certificate (`min_curvature > 0`).
"""),
    ("code", r"""
import itertools
import warnings

import matplotlib.pyplot as plt
import numpy as np

import mapreg
from mapreg import plots
from mapreg.datasets import load_diabetes

data = load_diabetes()
X, y, names = data.X, data.y, data.feature_names
s = 53.0


def model(prior, **kw):
    return mapreg.Model(X, y, prior=prior, noise_sigma=s, feature_names=names, **kw)
"""),
    ("md", r"""
## Every prior's $-\log p - \log Z$ is its penalty

Each column: the density on top; below, the penalty computed from its own formula (thick)
and $-\log p(w) - \log Z$ (dashed) — they coincide. The horseshoe has no penalty: its
$-\log p$ dives to $-\infty$ at 0, so its "mode" is degenerate.
"""),
    ("code", r"""
fig = plots.prior_vs_penalty(priors=[
    mapreg.GeneralizedNormal(1.0, 0.5), mapreg.GeneralizedNormal(1.0, 1.5),
    mapreg.ElasticNet(1.0, 1.0), mapreg.StudentT(3.0, 1.0),
    mapreg.Horseshoe(1.0, fixed_tau=True)], w_max=4.0)
"""),
    ("md", r"""
## The endpoints: p = 1 is Laplace, p = 2 is Gaussian — exactly

`GeneralizedNormal(α, 1)` has the same density, λ and normaliser as `Laplace(b=α)`, and
`GeneralizedNormal(α, 2)` as `Gaussian(σ=α/√2)`; the MAPs coincide to the last digits.
"""),
    ("code", r"""
for gn, ref in [(mapreg.GeneralizedNormal(2.0, 1.0), mapreg.Laplace(2.0)),
                (mapreg.GeneralizedNormal(10.0, 2.0), mapreg.Gaussian(10.0 / np.sqrt(2)))]:
    a, b = mapreg.find_map(model(gn)), mapreg.find_map(model(ref))
    print(f"{gn!r:40} vs {ref!r:28} lam {gn.lam:.6g} = {ref.lam:.6g}, "
          f"max |MAP diff| = {np.max(np.abs(a.coef - b.coef)):.1e}")
"""),
    ("md", r"""
## The convex members pass the same equivalence suite as L1 and L2

For each prior: the MAP (built from log densities and the prior's scale) against the penalised
fit (built from the penalty numbers alone), scikit-learn where it has the estimator
(`ElasticNet` through `conversions.elasticnet_params`), the KKT certificate, and the objective
identity $-\log p(w\mid y) - (L + \text{pen}) = p\log Z + \text{const}$.
"""),
    ("code", r"""
rows = []
for prior in [mapreg.Laplace(2.0), mapreg.Gaussian(3.0), mapreg.ElasticNet(2.0, 3.0),
              mapreg.GeneralizedNormal(1.0, 1.2), mapreg.GeneralizedNormal(0.5, 1.5),
              mapreg.GeneralizedNormal(0.3, 1.8)]:
    rep = mapreg.verify_equivalence(model(prior))
    sk = "-" if rep.max_abs_diff_sklearn is None else f"{rep.max_abs_diff_sklearn:.1e}"
    rows.append(f"{prior!r:38} {rep.max_abs_diff:9.1e} {sk:>9} {rep.map.kkt_violation:9.1e} "
                f"{rep.objective_identity_error:9.1e} {rep.map.n_zeros:3d} {rep.passed}")
print(f"{'prior':38} {'|MAP-pen|':>9} {'|MAP-sk|':>9} {'KKT':>9} {'identity':>9} "
      f"{'0s':>3} passed")
print("\n".join(rows))
print()
print(mapreg.verify_equivalence(model(mapreg.ElasticNet(2.0, 3.0))))
"""),
    ("md", r"""
## Paths: the bridge between lasso and ridge

MAP paths over the prior scale, with the penalised path dashed on top. $p = 1.5$ shrinks
smoothly and never zeroes (the penalty is differentiable at 0); the elastic net keeps the
lasso's zeros but groups correlated features (s1, s2); scikit-learn's `ElasticNet` dots
sit on the MAP path.
"""),
    ("code", r"""
fig, axes = plt.subplots(1, 2, figsize=(14, 5), layout="constrained")
plots.map_path(model(mapreg.GeneralizedNormal(1.0, 1.5)), ax=axes[0])
plots.map_path(model(mapreg.ElasticNet(2.0, 5.0)), ax=axes[1]);
"""),
    ("md", r"""
## p < 1: non-convex, sparse, and only locally optimal

Below $p = 1$ the penalty has infinite slope at 0, so **every zero is locally optimal** and the
objective has many local modes. mapreg runs coordinate descent with the exact one-dimensional
bridge prox (the global minimiser of each coordinate's problem, 0 or the larger stationary
point) from $w = 0$, then Newton on the support. The certificate: first-order conditions on the
support, a positive-definite Hessian there (`min_curvature`), and a final sweep that moves no
coordinate.
"""),
    ("code", r"""
res = mapreg.find_map(model(mapreg.GeneralizedNormal(0.3, 0.5)))
print(f"convex: {res.convex}, converged: {res.converged}, KKT {res.kkt_violation:.1e}, "
      f"min curvature on the support {res.min_curvature:.3g}, zeros: {res.n_zeros}")
print(dict(zip(names, np.round(res.coef, 3), strict=True)))
# another start, another local mode:
other = mapreg.find_map(model(mapreg.GeneralizedNormal(0.3, 0.5)), start=np.full(10, 20.0))
print("from w = 20:", dict(zip(names, np.round(other.coef, 3), strict=True)))
print(f"-log posterior: from 0 {res.neg_log_posterior:.4f}, from 20 {other.neg_log_posterior:.4f}")
fig = plots.map_path(model(mapreg.GeneralizedNormal(1.0, 0.5)))
"""),
    ("md", r"""
## The p → 0 limit: best-subset selection

As $p \to 0$, $|w|^p \to 1$ for every $w \ne 0$: the bridge penalty becomes $λ\,\#\{j: w_j \ne 0\}$,
the $\ell_0$ penalty of best-subset selection. Left: the penalties $|w|^p$ flatten into a step.
Right: on diabetes, the exact best subset for the $\ell_0$ objective
$\|y - Xw - w_0\|^2/(2s^2) + λ k$ (all $2^{10}$ subsets by least squares) against the bridge MAP
with small $p$ and the same λ.
"""),
    ("code", r"""
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained")
w = np.linspace(-2, 2, 801)
for p_ in (2.0, 1.0, 0.5, 0.2, 0.05, 0.01):
    axes[0].plot(w, np.abs(w) ** p_, label=f"p = {p_:g}")
axes[0].plot(w, (w != 0).astype(float), "k:", label="indicator w ≠ 0 (ℓ0)")
axes[0].set(xlabel="w", ylabel="|w|^p", title="|w|^p → 1{w ≠ 0} as p → 0")
axes[0].legend(fontsize="small")

lam = 4.0  # price of one more coefficient, in units of -log likelihood
Z = np.c_[X - X.mean(0)]
yc = y - y.mean()
best = (np.inf, ())
for k in range(11):
    for subset in itertools.combinations(range(10), k):
        idx = list(subset)
        coef = np.linalg.lstsq(Z[:, idx], yc, rcond=None)[0] if idx else np.zeros(0)
        r = yc - Z[:, idx] @ coef
        obj = r @ r / (2 * s**2) + lam * k
        if obj < best[0]:
            best = (obj, subset)
print("exact best subset (λ = 4):", [names[j] for j in best[1]], f"objective {best[0]:.4f}")
for p_ in (0.2, 0.1, 0.05):
    r = mapreg.find_map(model(mapreg.GeneralizedNormal.from_lam(lam, p=p_)))
    print(f"bridge p = {p_:<4} support: {[names[j] for j in np.flatnonzero(r.coef)]}, "
          f"certified local mode: {r.converged}")
ks = np.arange(11)
best_k = []
for k in ks:
    vals = []
    for subset in itertools.combinations(range(10), k):
        idx = list(subset)
        coef = np.linalg.lstsq(Z[:, idx], yc, rcond=None)[0] if idx else np.zeros(0)
        r = yc - Z[:, idx] @ coef
        vals.append(r @ r / (2 * s**2))
    best_k.append(min(vals))
axes[1].plot(ks, np.array(best_k) + lam * ks, "o-", label="best RSS/(2s²) + λk per size k")
axes[1].set(xlabel="subset size k", ylabel="ℓ0 objective", title="best subset, λ = 4")
axes[1].legend();
"""),
    ("md", r"""
## Student-t: a heavy-tailed prior, a log penalty, a local mode by majorise–minimise

$\log(1 + w^2/δ)$ is concave in $w^2$, so its tangent majorises it: each MM step is a
*weighted ridge*, weights $λ/(δ + w_k^2)$, solved exactly; Newton steps finish. Big signals are
barely shrunk (the penalty flattens out), small ones are pulled hard towards 0 — but never to
exactly 0 (the penalty is smooth). The answer is checked against scipy's BFGS from the same start.
"""),
    ("code", r"""
import scipy.optimize
import scipy.stats

prior = mapreg.Cauchy(1.0)
res = mapreg.find_map(model(prior))
print(res.solver, f"KKT {res.kkt_violation:.1e}, min curvature {res.min_curvature:.3g}")


def f(v):
    r = y - X @ v[:-1] - v[-1]
    return r @ r / (2 * s**2) - scipy.stats.cauchy(scale=1.0).logpdf(v[:-1]).sum()


ref = scipy.optimize.minimize(f, np.append(np.zeros(10), y.mean()), method="BFGS",
                              options={"gtol": 1e-9})
print("max |mapreg - scipy BFGS| =", np.max(np.abs(np.append(res.coef, res.intercept) - ref.x)))
lasso = mapreg.find_map(model(mapreg.Laplace(2.0)))
for j, name in enumerate(names):
    print(f"{name:4} Cauchy MAP {res.coef[j]:8.3f}   Laplace MAP {lasso.coef[j]:8.3f}")
"""),
    ("md", r"""
## The horseshoe: sparsity for the posterior, not the mode

The horseshoe's density is infinite at 0 and has Cauchy tails, so its mode is degenerate
(`find_map` refuses it) — it is a prior for the posterior. Written non-centred
($w = z\,λ\,τ$), NUTS samples it. On diabetes the plain horseshoe still diverges (the strong
signals make a funnel between $z$ and $λ$); the **regularised** horseshoe (Piironen & Vehtari
2017) with a firm slab ($c^2 \sim \text{InvGamma}(25, 25\cdot 30^2)$, i.e. slab scale 30 with 50
degrees of freedom) samples cleanly. Compare it with the Laplace(b = 2) posterior in the table:
the horseshoe leaves the strong signals nearly unshrunk (sex, bp, s5 are 10–80% larger in
absolute value than under the Laplace prior, which shrinks every coefficient by the same
force $1/b$), while the weak ones (age, s2) keep posterior medians within 0.1 of zero.
"""),
    ("code", r"""
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    hs = mapreg.sample_posterior(model(mapreg.RegularizedHorseshoe(1.0, slab_scale=30.0,
                                                                   slab_df=50.0)),
                                 chains=2, random_seed=1, progressbar=False)
    lap = mapreg.sample_posterior(model(mapreg.Laplace(2.0)), chains=2, random_seed=1,
                                  progressbar=False)
print(f"horseshoe: sampler {hs.attrs['sampler']}, divergences {hs.attrs['n_divergent']}, "
      f"max R-hat {hs.attrs['max_rhat']:.4f}, min bulk ESS {hs.attrs['min_ess_bulk']:.0f}")
t_hs = mapreg.compare_mode_posterior(hs, eps=1.0)
t_lap = mapreg.compare_mode_posterior(lap, eps=1.0)
print(f"{'':5} {'HS median':>10} {'P(|w|<1) HS':>12} {'Laplace median':>15} "
      f"{'P(|w|<1) Laplace':>17}")
for name in names:
    print(f"{name:5} {t_hs.loc[name, 'median']:10.2f} {t_hs.loc[name, 'p_near_zero']:12.2f} "
          f"{t_lap.loc[name, 'median']:15.2f} {t_lap.loc[name, 'p_near_zero']:17.2f}")
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained", sharey=True)
plots.posterior_vs_mode(lap, ax=axes[0])
axes[0].set_title("Laplace(b = 2): posterior vs MAP")
plots.posterior_vs_mode(hs, ax=axes[1])
axes[1].set_title("regularised horseshoe: posterior (no MAP)");
"""),
    ("md", r"""
**What this shows.** The family is one statement, $-\log p = \text{penalty} + \log Z$, verified
to machine precision for every convex member. Below $p = 1$ and for Student-t priors the mode is
only local — mapreg says so and certifies which kind of point it returns. And the prior that
is best at sparsity, the horseshoe, has no useful mode at all: its sparsity lives in the posterior.
"""),
]


NOTEBOOKS = {
    "01_map_is_penalized_fit.ipynb": NB01,
    "02_laplace_and_l1.ipynb": NB02,
    "03_gaussian_and_l2.ipynb": NB03,
    "04_beyond_the_mode.ipynb": NB04,
    "05_the_prior_penalty_family.ipynb": NB05,
}
