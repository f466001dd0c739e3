r"""The road to the MAP: gradient training of a :class:`~mapreg.Model`, step by step.

:func:`mapreg.find_map` returns the end point (the mode, exact zeros, a certificate);
:func:`train` records the road there as practitioners walk it — (sub)gradient descent, SGD,
the proximal gradient method, Adam and AdamW — and returns every iterate in a
:class:`TrainingRun`, with the negative log posterior and the number of exact zeros at
each step.

What each optimiser minimises (``L`` the total negative log-likelihood, ``pen`` the prior's
penalty, ``s`` = 1 for ``loss_scale="sum"`` and ``1/n`` for ``"mean"``)::

    s * (L(w, w0) + pen(w)) + (wd / 2) * ||w||**2          (gd, sgd, proximal, fista, adam)

and AdamW, whose decay is *not* part of an objective (see below).

Weight decay is a Gaussian prior (SGD, Adam)
--------------------------------------------
PyTorch's ``SGD(weight_decay=wd)`` adds ``wd * w`` to the gradient: it minimises
``L + (wd/2) ||w||**2``, and ``(wd/2) w**2 = w**2 / (2 sigma**2)`` is ``-log`` of a
Gaussian density with

* ``sigma**2 = 1 / wd`` when the loss is the total ``L`` (``loss_scale="sum"``: a
  minibatch of ``B`` rows estimates it by ``(n/B) * sum over the batch``);
* ``sigma**2 = 1 / (n wd)`` when the loss is a *mean* (``loss_scale="mean"``, PyTorch's
  default ``reduction="mean"``): ``(1/B) sum over the batch`` estimates ``L / n``, and
  ``L/n + (wd/2)||w||**2`` has the mode of ``L + (n wd / 2) ||w||**2``. The batch size
  drops out; the number of rows does not, so the same ``wd`` is a weaker prior on a
  bigger data set. (A plain batch *sum*, ``reduction="sum"``, estimates ``(B/n) L``:
  then ``sigma**2 = B / (n wd)``.)

The intercept is never decayed (flat prior). :func:`weight_decay_sigma` computes the map.
Adam with ``weight_decay`` (PyTorch ``Adam``) adds the same ``wd * w`` to the gradient:
same objective, same mode.

AdamW is not a prior
--------------------
AdamW (Loshchilov & Hutter 2019) decays the weights outside the adaptive scaling::

    w <- w - lr * wd * w - lr * m_hat / (sqrt(v_hat) + eps).

At a fixed point ``w*`` the update vanishes and the first moment equals the gradient
``g* = grad L(w*)`` (the average of a constant sequence), so

    g*_j = -wd * (sqrt(v_hat*_j) + eps) * w*_j .

Stationarity of ``L + sum_j w_j**2 / (2 sigma_j**2)`` reads ``g_j = -w_j / sigma_j**2``:
the fixed point is the mode under independent Gaussians with

    sigma_eff_j**2 = 1 / (wd * (sqrt(v_hat*_j) + eps)),

which depends on the optimiser's second-moment state (the size of the gradients seen, their
minibatch noise, ``eps``), not on ``wd`` alone: no fixed prior on the weights has this mode.
With full-batch gradients ``v_hat*_j -> g*_j**2`` and the fixed point solves
``|g*_j| = eps * a_j / (1 - a_j)``, ``a_j = wd |w*_j|``: ``sigma_eff_j**2 = (1 - a_j) / (wd eps)``,
so with ``eps = 1e-8`` AdamW drifts towards the maximum-likelihood fit (where ``wd |w| < 1``).
:func:`adamw_effective_prior_scale` reads ``sigma_eff`` off a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from mapreg.fit.optimizers import (
    LOSS_SCALES,
    Adam,
    GradientDescent,
    Problem,
    Proximal,
    default_lr,
    lipschitz_constant,
)
from mapreg.model import Model

__all__ = [
    "OPTIMIZERS",
    "TrainingRun",
    "adamw_effective_prior_scale",
    "default_lr",
    "lipschitz_constant",
    "model_kkt_violation",
    "train",
    "weight_decay_sigma",
]

OPTIMIZERS = ("gd", "sgd", "proximal", "fista", "adam", "adamw")
_FULL_BATCH = ("gd", "proximal", "fista")


@dataclass(frozen=True)
class TrainingRun:
    """Every iterate of one :func:`train` run.

    Attributes
    ----------
    coef : ndarray, shape (steps + 1, n_features)
        ``coef[t]`` after ``t`` steps (``coef[0]`` is the start).
    intercept : ndarray, shape (steps + 1,)
    objective : ndarray, shape (steps + 1,)
        ``model.neg_log_posterior(coef[t], intercept[t])``: the model's ``-log posterior``
        (with ``penalty=None`` and weight decay, build the model with the Gaussian prior the
        decay stands for, :func:`weight_decay_sigma`, and this is what the run minimises).
    n_exact_zeros : ndarray of int, shape (steps + 1,)
        ``sum(coef[t] == 0.0)``.
    kkt_violation : float
        The model's MAP certificate at the last iterate: the largest distance from
        ``-dL/dw_j`` to the prior penalty's subdifferential (``|dL/dw0|`` for the intercept).
        0 exactly at the mode of the model's posterior.
    learning_rates : ndarray, shape (steps,)
        The step size used at each step, ``lr * (1 + t) ** -lr_decay``.
    adam_moments : (ndarray, ndarray) or None
        ``(m_hat, v_hat)`` of Adam/AdamW after the last step (coefficients, then intercept).
    """

    coef: np.ndarray
    intercept: np.ndarray
    objective: np.ndarray
    n_exact_zeros: np.ndarray
    kkt_violation: float
    optimizer: str
    lr: float
    learning_rates: np.ndarray
    batch_size: int | None
    weight_decay: float
    loss_scale: str
    penalty: str | None
    lam: float
    lr_decay: float
    momentum: float
    betas: tuple[float, float]
    eps: float
    random_seed: int | None
    n_samples: int
    feature_names: tuple[str, ...] = field(default=())
    adam_moments: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def steps(self) -> int:
        return self.coef.shape[0] - 1

    @property
    def final_coef(self) -> np.ndarray:
        return self.coef[-1]

    @property
    def final_intercept(self) -> float:
        return float(self.intercept[-1])

    @property
    def label(self) -> str:
        """A short legend entry: the optimiser and its settings that change the end point."""
        parts = [self.optimizer]
        if self.weight_decay:
            parts.append(f"wd={self.weight_decay:g}")
        if self.penalty is None:
            parts.append("no penalty")
        if self.batch_size is not None:
            parts.append(f"B={self.batch_size}")
        return ", ".join(parts)


def train(model: Model, optimizer: str = "proximal", *, lr: float | None = None,
          steps: int = 1000, batch_size: int | None = None, weight_decay: float = 0.0,
          random_seed=None, penalty: str | None = "prior", loss_scale: str = "sum",
          lr_decay: float = 0.0, momentum: float = 0.0, betas=(0.9, 0.999),
          eps: float = 1e-8, init=None) -> TrainingRun:
    """Train ``model``'s coefficients by gradient steps from ``init`` and record every iterate.

    Parameters
    ----------
    model : Model
        Data, family and prior (fixed scales; the prior must have a penalty).
    optimizer : {"gd", "sgd", "proximal", "fista", "adam", "adamw"}
        ``"gd"``/``"sgd"``: (stochastic) gradient descent on the smooth loss plus the
        penalty's subgradient, ``sign(0) = 0`` as autodiff frameworks take it;
        ``"proximal"`` (ISTA) and ``"fista"`` (accelerated, with restart): a gradient step on
        the smooth part, then the penalty's proximal step (``penalty.prox_1d``), which sets
        exact zeros; ``"adam"``: Adam on the gradient plus the penalty's (sub)gradient and
        ``wd * w``; ``"adamw"``: Adam with decoupled weight decay. See the module docstring.
    lr : float, optional
        Initial step size, ``> 0``. Default: ``1 / Lipschitz`` of the differentiated part
        (:func:`lipschitz_constant`) for gd/sgd/proximal/fista, ``1e-3`` for adam/adamw.
    steps : int
        Number of steps, ``>= 0``.
    batch_size : int, optional
        Rows per minibatch, ``1 <= batch_size <= n`` (sgd, adam, adamw only); each step draws
        a fresh batch without replacement. ``None``: every row (full batch).
    weight_decay : float
        ``wd >= 0``: coupled ``grad += wd * w`` (all but adamw) or AdamW's decoupled decay;
        never applied to the intercept.
    random_seed : int or None
        Seeds the ``numpy.random.default_rng`` that draws the minibatches.
    penalty : {"prior", None}
        ``"prior"``: the model prior's penalty is part of the training objective;
        ``None``: likelihood only (weight decay then supplies the whole prior).
    loss_scale : {"sum", "mean"}
        Train on the total ``L`` (and penalty) or on it divided by ``n`` (the mode of the
        model does not move; weight decay is then worth ``n * wd``, see the module docstring).
    lr_decay : float
        ``>= 0``: the step at step ``t`` is ``lr * (1 + t) ** -lr_decay`` (0: constant).
    momentum : float
        Heavy-ball momentum in ``[0, 1)`` for gd/sgd (PyTorch ``SGD(momentum=...)``).
    betas, eps
        Adam's moment decay rates in ``[0, 1)`` and its denominator guard ``> 0``.
    init : array-like, shape (n_features,), optional
        Starting coefficients (default zeros); the intercept starts at 0.

    Returns
    -------
    TrainingRun
    """
    s = _check_settings(model, optimizer, lr, steps, batch_size, weight_decay, penalty,
                        loss_scale, lr_decay, momentum, betas, eps, init)
    pen = model.prior.penalty()
    problem = Problem(model.X, model.y, model.family, pen if penalty == "prior" else None,
                      fit_intercept=model.fit_intercept, scale=s["scale"],
                      weight_decay=s["weight_decay"])
    lr = s["lr"] if s["lr"] is not None else default_lr(
        model, optimizer, penalty=penalty, loss_scale=loss_scale, weight_decay=weight_decay)
    rates = lr * (1.0 + np.arange(steps)) ** -s["lr_decay"]
    opt = _make_optimizer(optimizer, problem, s)
    thetas = _iterate(problem, opt, s["init"], rates, s["batch_size"],
                      np.random.default_rng(random_seed), lr)
    p = model.n_features
    coef = thetas[:, :p]
    intercept = thetas[:, p] if model.fit_intercept else np.zeros(steps + 1)
    objective = np.array([model.neg_log_posterior(c, c0)
                          for c, c0 in zip(coef, intercept, strict=True)])
    n_zeros = np.sum(coef == 0.0, axis=1)
    for a in (coef, intercept, objective, n_zeros, rates):
        a.flags.writeable = False  # the record is frozen, its arrays too
    return TrainingRun(
        coef=coef, intercept=intercept, objective=objective, n_exact_zeros=n_zeros,
        kkt_violation=model_kkt_violation(model, coef[-1], intercept[-1]),
        optimizer=optimizer, lr=float(lr), learning_rates=rates,
        batch_size=s["batch_size"], weight_decay=s["weight_decay"], loss_scale=loss_scale,
        penalty=None if penalty is None else pen.name, lam=float(getattr(pen, "lam", np.nan)),
        lr_decay=s["lr_decay"], momentum=s["momentum"], betas=s["betas"], eps=s["eps"],
        random_seed=random_seed, n_samples=model.n_samples, feature_names=model.feature_names,
        adam_moments=opt.moments() if isinstance(opt, Adam) else None,
    )


def _make_optimizer(name, problem, s):
    if name in ("gd", "sgd"):
        return GradientDescent(problem, s["momentum"])
    if name in ("proximal", "fista"):
        return Proximal(problem, accelerated=name == "fista")
    return Adam(problem, s["betas"], s["eps"], decoupled=name == "adamw")


def _iterate(problem, opt, init, rates, batch_size, rng, lr) -> np.ndarray:
    steps, n = len(rates), problem.n
    thetas = np.empty((steps + 1, problem.size))
    theta = np.zeros(problem.size)
    theta[: problem.p] = init
    thetas[0] = theta
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged step is reported below
        for t in range(steps):
            rows = None if batch_size is None else rng.choice(n, size=batch_size, replace=False)
            theta = opt.step(theta, rates[t], rows)
            if not np.all(np.isfinite(theta)):
                raise ValueError(
                    f"training diverged at step {t + 1} (the iterate is not finite): "
                    f"lr = {lr:g} is too large; for gd/proximal take "
                    "lr <= 1 / lipschitz_constant(model)"
                )
            thetas[t + 1] = theta
    return thetas


def model_kkt_violation(model: Model, coef, intercept) -> float:
    """The MAP certificate of ``model`` at ``(coef, intercept)`` (0 exactly at the mode)."""
    coef = np.asarray(coef, dtype=float)
    d = model.family.dloss(model.linear_predictor(coef, intercept), model.y)
    worst = float(np.max(model.prior.penalty().subdiff_distance(coef, model.X.T @ d),
                         initial=0.0))
    if model.fit_intercept:
        worst = max(worst, abs(float(np.sum(d))))
    return worst


def weight_decay_sigma(weight_decay: float, *, loss_scale: str = "sum",
                       n_samples: int | None = None) -> float:
    """The Gaussian prior sd that coupled weight decay ``wd`` stands for.

    ``1/sqrt(wd)`` on the total loss; ``1/sqrt(n wd)`` on the mean loss (``n_samples`` rows).
    """
    if isinstance(weight_decay, bool) or not (isinstance(weight_decay, float | int)
                                              and math.isfinite(weight_decay) and weight_decay > 0):
        raise ValueError(f"weight_decay must be a positive finite number, got {weight_decay!r}")
    if loss_scale == "sum":
        return 1.0 / math.sqrt(weight_decay)
    if loss_scale == "mean":
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"loss_scale='mean' needs n_samples >= 1, got {n_samples!r}")
        return 1.0 / math.sqrt(n_samples * weight_decay)
    raise ValueError(f"loss_scale must be one of {LOSS_SCALES}, got {loss_scale!r}")


def adamw_effective_prior_scale(run: TrainingRun) -> np.ndarray:
    """``sigma_eff_j = 1 / sqrt(wd (sqrt(v_hat_j) + eps))`` of an AdamW run's last state.

    At AdamW's fixed point ``w*`` is the mode of ``L`` under independent
    ``N(0, sigma_eff_j**2)`` priors (module docstring); on the total-loss scale, so a run with
    ``loss_scale="mean"`` gives ``sigma_eff / sqrt(n)``.
    """
    if run.optimizer != "adamw" or run.adam_moments is None:
        raise ValueError(f"adamw_effective_prior_scale needs an adamw run, got {run.optimizer!r}")
    if run.weight_decay <= 0:
        raise ValueError("the run has no weight decay (weight_decay = 0): no implied prior")
    p = run.coef.shape[1]
    v_hat = run.adam_moments[1][:p]
    sigma = 1.0 / np.sqrt(run.weight_decay * (np.sqrt(v_hat) + run.eps))
    return sigma / math.sqrt(run.n_samples) if run.loss_scale == "mean" else sigma


def _check_settings(model, optimizer, lr, steps, batch_size, weight_decay, penalty,
                    loss_scale, lr_decay, momentum, betas, eps, init) -> dict:
    if not isinstance(model, Model):
        raise ValueError(f"train needs a mapreg.Model, got {type(model).__name__}")
    if model.has_hyperpriors:
        raise ValueError("train needs fixed scales, but this model has hyperpriors "
                         "(noise_prior / scale_prior)")
    if not model.prior.has_mode:
        raise ValueError(f"the {type(model.prior).__name__} prior has no penalty to train with")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    if penalty not in ("prior", None):
        raise ValueError(f"penalty must be 'prior' or None (likelihood only), got {penalty!r}")
    if loss_scale not in LOSS_SCALES:
        raise ValueError(f"loss_scale must be one of {LOSS_SCALES}, got {loss_scale!r}")
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    n = model.n_samples
    if batch_size is not None:
        if optimizer in _FULL_BATCH:
            raise ValueError(f"optimizer {optimizer!r} is full-batch: leave batch_size=None "
                             "(minibatches: 'sgd', 'adam' or 'adamw')")
        if (isinstance(batch_size, bool) or not isinstance(batch_size, Integral)
                or not 1 <= batch_size <= n):
            raise ValueError(f"batch_size must be an integer in [1, n = {n}], got {batch_size!r}")
        batch_size = None if batch_size == n else int(batch_size)
    if momentum and optimizer not in ("gd", "sgd"):
        raise ValueError(f"momentum applies to 'gd' and 'sgd' only, not {optimizer!r}")
    if init is not None:
        init = np.asarray(init, dtype=float)
        if init.shape != (model.n_features,) or not np.all(np.isfinite(init)):
            raise ValueError(f"init must be {model.n_features} finite numbers, got shape "
                             f"{init.shape}")
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}") from None
    for name, value, lo, hi in (("b1", b1, 0.0, 1.0), ("b2", b2, 0.0, 1.0),
                                ("momentum", momentum, 0.0, 1.0)):
        if not (isinstance(value, float | int) and lo <= value < hi):
            raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
    return {
        "lr": None if lr is None else _positive(lr, "lr"),
        "weight_decay": _nonnegative(weight_decay, "weight_decay"),
        "lr_decay": _nonnegative(lr_decay, "lr_decay"),
        "eps": _positive(eps, "eps"),
        "scale": 1.0 if loss_scale == "sum" else 1.0 / n,
        "batch_size": batch_size, "momentum": float(momentum), "betas": (b1, b2),
        "init": np.zeros(model.n_features) if init is None else init,
    }


def _positive(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, float | int | np.floating | np.integer) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _nonnegative(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, float | int | np.floating | np.integer) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return float(value)
