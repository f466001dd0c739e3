r"""A one-hidden-layer network trained with weight decay, read as a MAP estimate.

The network is ``f(x) = w2 . a(W1' x + b1) + b2`` with ``a = tanh`` or softplus hidden
units, and the loss is the Gaussian regression loss mapreg uses everywhere, the **total**
negative log-likelihood with known noise ``s`` (data-only constant dropped)::

    L(theta) = sum_i (y_i - f(x_i))**2 / (2 s**2),      theta = (W1, b1, w2, b2).

Training minimises ``L(theta) + (wd / 2) ||theta||**2`` (weight decay on every weight and
bias, PyTorch's ``weight_decay=wd`` on a summed loss). That is ``-log`` of the posterior
under the prior

    theta_k ~ N(0, sigma**2) independently for every weight and bias, sigma**2 = 1 / wd,

up to a constant, so the trained weights are a MAP estimate — a *local* mode: the network's
objective is not convex (permuting hidden units, flipping the signs of a tanh unit's weights,
give equally good modes). What is checked is the MAP *stationarity* condition
``grad(L + (wd/2)||theta||**2) = 0`` to the optimiser's tolerance
(:func:`stationarity_residual`). Unlike mapreg's linear models, the biases here carry the
prior too (as ``weight_decay`` does unless they are excluded).

Out of scope: the posterior beyond that mode — its spread, its many symmetric modes, and
whether the mode is a good summary of it. mapreg samples posteriors of its linear models
(:func:`mapreg.sample_posterior`), not of networks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("tanh", "softplus")


@dataclass(frozen=True)
class MLPFit:
    """A trained network and its MAP certificate.

    Attributes
    ----------
    params : ndarray
        ``theta`` flattened: ``W1`` (``n_features x n_hidden``, row-major), ``b1``, ``w2``, ``b2``.
    objective : float
        ``L + (wd/2) ||theta||**2`` at ``params`` (``-log posterior`` up to a constant).
    stationarity_residual : float
        ``||grad(L + (wd/2)||theta||**2)||_inf`` at ``params``.
    tol : float
        The optimiser's gradient tolerance; ``converged`` is ``stationarity_residual <= tol``.
    prior_sigma : float
        ``1 / sqrt(weight_decay)``: the Gaussian prior sd the decay stands for.
    """

    params: np.ndarray
    n_features: int
    n_hidden: int
    activation: str
    weight_decay: float
    noise_sigma: float
    objective: float
    stationarity_residual: float
    tol: float
    n_iter: int
    converged: bool

    @property
    def prior_sigma(self) -> float:
        return 1.0 / math.sqrt(self.weight_decay)

    def unpack(self):
        """``(W1, b1, w2, b2)``."""
        return unpack(self.params, self.n_features, self.n_hidden)

    def predict(self, X) -> np.ndarray:
        W1, b1, w2, b2 = self.unpack()
        return _act(np.asarray(X, dtype=float) @ W1 + b1, self.activation)[0] @ w2 + b2


def n_params(n_features: int, n_hidden: int) -> int:
    return n_features * n_hidden + 2 * n_hidden + 1


def unpack(theta, n_features: int, n_hidden: int):
    """Split a flat ``theta`` into ``(W1, b1, w2, b2)`` (views, no copies)."""
    k = n_features * n_hidden
    W1 = theta[:k].reshape(n_features, n_hidden)
    return W1, theta[k:k + n_hidden], theta[k + n_hidden:k + 2 * n_hidden], theta[-1]


def _act(z, activation):
    """The activation and its derivative."""
    if activation == "tanh":
        a = np.tanh(z)
        return a, 1.0 - a * a
    a = np.logaddexp(0.0, z)
    return a, 0.5 * (1.0 + np.tanh(0.5 * z))  # softplus' = logistic, written stably


def objective_and_grad(theta, X, y, n_hidden: int, *, activation: str = "tanh",
                       noise_sigma: float, weight_decay: float):
    """``L + (wd/2)||theta||**2`` and its gradient (back-propagation)."""
    theta = np.asarray(theta, dtype=float)
    W1, b1, w2, b2 = unpack(theta, X.shape[1], n_hidden)
    h, dh = _act(X @ W1 + b1, activation)
    r = h @ w2 + b2 - y
    c = 1.0 / noise_sigma**2
    value = 0.5 * c * float(r @ r) + 0.5 * weight_decay * float(theta @ theta)
    d = c * r                               # dL/df
    dz = np.outer(d, w2) * dh               # dL/d(pre-activation)
    grad = np.concatenate([(X.T @ dz).ravel(), dz.sum(axis=0), h.T @ d, [d.sum()]])
    return value, grad + weight_decay * theta


def stationarity_residual(fit: MLPFit, X, y) -> float:
    """``||grad(L + (wd/2)||theta||**2)||_inf`` at ``fit.params``, recomputed from the data."""
    _, g = objective_and_grad(fit.params, np.asarray(X, dtype=float), np.asarray(y, dtype=float),
                              fit.n_hidden, activation=fit.activation,
                              noise_sigma=fit.noise_sigma, weight_decay=fit.weight_decay)
    return float(np.max(np.abs(g)))


def fit_mlp(X, y, *, n_hidden: int = 8, activation: str = "tanh", weight_decay: float = 1e-2,
            noise_sigma: float, random_seed=0, tol: float = 1e-6,
            max_iter: int = 20_000) -> MLPFit:
    """Train the network to a stationary point of ``L + (wd/2)||theta||**2``.

    Full-batch L-BFGS (scipy) from small random weights (``N(0, 1/fan_in)`` for ``W1``,
    ``N(0, 1/n_hidden)`` for ``w2``, zero biases), stopped when the largest gradient entry
    is ``<= tol``; when L-BFGS stops short of that (its line search runs out of precision
    near the mode), damped Newton steps on a finite-difference Hessian of the exact gradient
    polish it. ``converged`` is False if neither reaches ``tol``.

    Parameters
    ----------
    X, y : arrays
        Inputs (standardise them) and the real response.
    noise_sigma : float
        The known noise sd ``s`` of the Gaussian likelihood.
    weight_decay : float
        ``wd > 0``: the Gaussian prior ``N(0, 1/wd)`` on every weight and bias.
    """
    from scipy.optimize import minimize

    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, p) and y (n,), got {X.shape} and {y.shape}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if isinstance(n_hidden, bool) or not isinstance(n_hidden, int) or n_hidden < 1:
        raise ValueError(f"n_hidden must be an integer >= 1, got {n_hidden!r}")
    for name, value in (("weight_decay", weight_decay), ("noise_sigma", noise_sigma),
                        ("tol", tol)):
        if not (isinstance(value, float | int) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    p = X.shape[1]
    rng = np.random.default_rng(random_seed)
    theta0 = np.zeros(n_params(p, n_hidden))
    W1, _, w2, _ = unpack(theta0, p, n_hidden)
    W1[:] = rng.normal(scale=1.0 / math.sqrt(p), size=W1.shape)
    w2[:] = rng.normal(scale=1.0 / math.sqrt(n_hidden), size=n_hidden)
    kw = {"activation": activation, "noise_sigma": noise_sigma, "weight_decay": weight_decay}
    res = minimize(lambda th: objective_and_grad(th, X, y, n_hidden, **kw), theta0, jac=True,
                   method="L-BFGS-B", options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0,
                                               "maxcor": 30, "maxls": 50})
    theta, n_newton = _newton_polish(lambda th: objective_and_grad(th, X, y, n_hidden, **kw),
                                     res.x, tol)
    value, grad = objective_and_grad(theta, X, y, n_hidden, **kw)
    resid = float(np.max(np.abs(grad)))
    return MLPFit(params=theta, n_features=p, n_hidden=n_hidden, activation=activation,
                  weight_decay=float(weight_decay), noise_sigma=float(noise_sigma),
                  objective=float(value), stationarity_residual=resid, tol=float(tol),
                  n_iter=int(res.nit) + n_newton, converged=resid <= tol)


def _newton_polish(fun, theta, tol: float, max_steps: int = 20):
    """Damped Newton steps until ``||grad||_inf <= tol``; returns ``(theta, steps taken)``.

    The Hessian is the symmetrised central difference of the analytic gradient; a step is
    kept only if it lowers the objective, and the damping ``mu I`` grows until one does.
    """
    value, grad = fun(theta)
    k = 0
    for k in range(max_steps):
        if np.max(np.abs(grad)) <= tol:
            return theta, k
        h = 1e-5 * max(1.0, float(np.max(np.abs(theta))))
        H = np.empty((len(theta), len(theta)))
        for i in range(len(theta)):
            e = np.zeros_like(theta)
            e[i] = h
            H[i] = (fun(theta + e)[1] - fun(theta - e)[1]) / (2 * h)
        H = 0.5 * (H + H.T)
        mu = max(0.0, -float(np.linalg.eigvalsh(H)[0]) * 1.01)
        for _ in range(30):
            new = theta - np.linalg.solve(H + mu * np.eye(len(theta)), grad)
            new_value, new_grad = fun(new)
            if new_value <= value or np.max(np.abs(new_grad)) < np.max(np.abs(grad)):
                break
            mu = max(10.0 * mu, 1e-8 * float(np.max(np.abs(np.diag(H)))))
        else:
            return theta, k
        theta, value, grad = new, new_value, new_grad
    return theta, k + 1
