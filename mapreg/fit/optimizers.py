"""The update rules behind :func:`mapreg.fit.train.train`, one small class each.

Every optimiser works on ``theta = (w_1, ..., w_p[, w0])`` — the coefficients, then the
intercept when it is fitted — through a :class:`Problem`, which knows the scaled smooth loss
(with an unbiased minibatch estimate of its gradient), the penalty (its subgradient and its
proximal step, on the coefficients only: the intercept has a flat prior) and the coupled
weight decay. Each optimiser's ``step(theta, lr, rows)`` returns the next iterate.

==========  ======================================================================
``gd``      ``theta -= lr * (grad L + subgrad pen + wd w)`` (heavy-ball momentum optional)
``sgd``     the same with ``grad L`` estimated on a random minibatch
``proximal``  ISTA: ``w = prox_{lr pen}(w - lr * (grad L + wd w))``
``fista``   the same from an extrapolated point (Beck & Teboulle 2009), with
            O'Donoghue & Candès's gradient restart
``adam``    Adam on ``grad L + subgrad pen + wd w`` (PyTorch ``Adam(weight_decay=wd)``)
``adamw``   Adam on ``grad L + subgrad pen``, then ``w -= lr * wd * w`` decoupled
            (Loshchilov & Hutter 2019, PyTorch ``AdamW``)
==========  ======================================================================

``subgrad pen`` takes ``sign(0) = 0`` for ``|w|`` (what an autodiff framework returns).
:func:`lipschitz_constant` and :func:`default_lr` give the safe step ``1 / Lipschitz``.
"""

from __future__ import annotations

import math

import numpy as np

from mapreg.families import Family
from mapreg.penalties import Penalty

LOSS_SCALES = ("sum", "mean")


class Problem:
    """The scaled training objective ``scale * (L + pen) + (wd / 2) * ||w||**2``.

    ``scale`` is 1 (``loss_scale="sum"``: ``L`` is the total negative log-likelihood)
    or ``1/n`` (``"mean"``). ``penalty=None`` drops the prior's penalty (likelihood only).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, family: Family, penalty: Penalty | None,
                 *, fit_intercept: bool, scale: float, weight_decay: float):
        self.X, self.y, self.family, self.penalty = X, y, family, penalty
        self.n, self.p = X.shape
        self.fit_intercept = fit_intercept
        self.scale = scale
        self.wd = weight_decay
        self.size = self.p + int(fit_intercept)

    def split(self, theta):
        return theta[: self.p], (theta[self.p] if self.fit_intercept else 0.0)

    def loss_grad(self, theta, rows=None) -> np.ndarray:
        """``scale * grad L`` (all rows), or its unbiased estimate ``scale * n/B * sum_rows``."""
        w, w0 = self.split(theta)
        X, y = (self.X, self.y) if rows is None else (self.X[rows], self.y[rows])
        d = self.family.dloss(X @ w + w0, y) * (self.scale * self.n / len(y))
        out = np.empty(self.size)
        out[: self.p] = X.T @ d
        if self.fit_intercept:
            out[self.p] = d.sum()
        return out

    def penalty_subgrad(self, theta) -> np.ndarray:
        """``scale * d pen / dw`` (``sign(0) = 0`` for ``|w|``); 0 for the intercept."""
        out = np.zeros(self.size)
        if self.penalty is not None:
            out[: self.p] = self.scale * penalty_subgradient(self.penalty, theta[: self.p])
        return out

    def decay(self, theta) -> np.ndarray:
        """``wd * w`` (0 for the intercept): the gradient of ``(wd / 2) ||w||**2``."""
        out = np.zeros(self.size)
        out[: self.p] = self.wd * theta[: self.p]
        return out

    def prox(self, theta, lr: float) -> np.ndarray:
        """The proximal step of ``lr * scale * pen`` on the coefficients."""
        if self.penalty is None:
            return theta
        out = theta.copy()
        out[: self.p] = self.penalty.prox_1d(theta[: self.p], lr * self.scale)
        return out


def penalty_subgradient(penalty: Penalty, w) -> np.ndarray:
    """``pen'(w_j)`` where ``pen`` is differentiable; at a kink the autodiff choice ``sign(0) = 0``.

    Smooth penalties (and the bridge off zero) give :meth:`Penalty.grad`; penalties of the
    form ``a |w| + c w**2`` (L1, elastic net) give ``a sign(w) + 2 c w``.
    """
    w = np.asarray(w, dtype=float)
    weights = penalty.quadratic_weights()
    if weights is not None:
        a, c = weights
        return a * np.sign(w) + 2.0 * c * w
    return penalty.grad(w)


class GradientDescent:
    """``theta -= lr * buf`` with ``buf = momentum * buf + g`` (PyTorch ``SGD``'s heavy ball)."""

    def __init__(self, problem: Problem, momentum: float = 0.0):
        self.problem, self.momentum = problem, momentum
        self.buf = None

    def step(self, theta, lr, rows):
        pb = self.problem
        g = pb.loss_grad(theta, rows) + pb.penalty_subgrad(theta) + pb.decay(theta)
        if self.momentum:
            self.buf = g if self.buf is None else self.momentum * self.buf + g
            g = self.buf
        return theta - lr * g


class Proximal:
    """ISTA, or FISTA (``accelerated=True``) with gradient-based adaptive restart.

    The smooth part is ``scale * L + (wd / 2) ||w||**2``; the prox handles ``scale * pen``.
    Restart (O'Donoghue & Candès 2015): when the step goes against the momentum,
    ``(z - x_new) . (x_new - x_old) > 0``, the momentum is reset, which keeps FISTA's
    O(1/k**2) rate and recovers linear convergence on strongly convex problems.
    """

    def __init__(self, problem: Problem, accelerated: bool):
        self.problem, self.accelerated = problem, accelerated
        self.z = None  # the extrapolated point
        self.t = 1.0

    def step(self, theta, lr, rows):
        pb = self.problem
        z = theta if self.z is None else self.z
        g = pb.loss_grad(z, rows) + pb.decay(z)
        new = pb.prox(z - lr * g, lr)
        if not self.accelerated:
            return new
        if float((z - new) @ (new - theta)) > 0.0:  # restart
            self.t, self.z = 1.0, new
            return new
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * self.t * self.t))
        self.z = new + ((self.t - 1.0) / t_next) * (new - theta)
        self.t = t_next
        return new


class Adam:
    """Adam (Kingma & Ba 2015) as PyTorch writes it; ``decoupled=True`` is AdamW.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2``, ``m_hat = m / (1 - b1**k)``,
    ``v_hat = v / (1 - b2**k)``, ``theta -= lr * m_hat / (sqrt(v_hat) + eps)``.
    Adam: ``g = grad L + subgrad pen + wd w`` (the decay is part of the gradient, so of the
    objective). AdamW: ``g = grad L + subgrad pen`` and the weights are first multiplied by
    ``1 - lr * wd``, outside the adaptive scaling.
    """

    def __init__(self, problem: Problem, betas: tuple[float, float], eps: float,
                 decoupled: bool):
        self.problem, self.eps, self.decoupled = problem, eps, decoupled
        self.b1, self.b2 = betas
        self.m = np.zeros(problem.size)
        self.v = np.zeros(problem.size)
        self.k = 0

    def step(self, theta, lr, rows):
        pb = self.problem
        g = pb.loss_grad(theta, rows) + pb.penalty_subgrad(theta)
        if self.decoupled:
            theta = theta - lr * pb.decay(theta)
        else:
            g = g + pb.decay(theta)
        self.k += 1
        self.m = self.b1 * self.m + (1.0 - self.b1) * g
        self.v = self.b2 * self.v + (1.0 - self.b2) * g * g
        m_hat, v_hat = self.moments()
        return theta - lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """The bias-corrected ``(m_hat, v_hat)`` after the last step."""
        if self.k == 0:
            return self.m.copy(), self.v.copy()
        return self.m / (1.0 - self.b1**self.k), self.v / (1.0 - self.b2**self.k)


# --- step sizes ---------------------------------------------------------------------

def lipschitz_constant(model, *, loss_scale: str = "sum") -> float:
    """Lipschitz constant of ``grad L`` in ``(w, w0)``: ``||[X 1]||_2**2 * c``, times ``1/n`` for
    ``loss_scale="mean"``; ``c = 1/s**2`` (Gaussian, noise ``s``) or ``1/4`` (Bernoulli, the
    largest logistic curvature). The Poisson loss has none (``e**eta`` is unbounded)."""
    if loss_scale not in LOSS_SCALES:
        raise ValueError(f"loss_scale must be one of {LOSS_SCALES}, got {loss_scale!r}")
    fam = model.family
    if fam.name == "gaussian":
        c = 1.0 / model.noise_sigma**2
    elif fam.name == "bernoulli":
        c = 0.25
    else:
        raise ValueError(f"the {fam.name} loss has no global Lipschitz gradient: give lr")
    X = model.X
    if model.fit_intercept:
        X = np.column_stack([X, np.ones(model.n_samples)])
    lip = c * float(np.linalg.norm(X, 2)) ** 2
    return lip / model.n_samples if loss_scale == "mean" else lip


def default_lr(model, optimizer: str, *, penalty="prior", loss_scale="sum",
               weight_decay=0.0) -> float:
    """``1 / Lipschitz`` of the part an optimiser differentiates; ``1e-3`` for adam/adamw.

    gd/sgd also differentiate a quadratic penalty ``c w**2`` (curvature ``2 c``, times
    ``1/n`` for a mean loss); every optimiser but adamw differentiates the decay (``wd``).
    """
    if optimizer in ("adam", "adamw"):
        return 1e-3
    lip = lipschitz_constant(model, loss_scale=loss_scale) + weight_decay
    weights = model.prior.penalty().quadratic_weights()
    if optimizer in ("gd", "sgd") and penalty == "prior" and weights is not None:
        lip += 2.0 * weights[1] / (model.n_samples if loss_scale == "mean" else 1.0)
    return 1.0 / lip
