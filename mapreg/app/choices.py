"""Which prior, at which scale? The rules ``mapreg compare`` and the report share.

Comparing priors by leave-one-out is only fair when each prior sits at a sensible scale;
:func:`choose_priors` puts each one there by a rule that is stated, not hidden:

* a scale given in ``--priors`` (``laplace=2``) is used as given;
* a prior with a mode whose penalty weight ``lam`` moves with its scale (Laplace,
  Gaussian, elastic net, bridge): ``lam`` chosen by K-fold cross-validation along the MAP
  path (:func:`mapreg.fit.cv.lambda_choices`: the minimum of the held-out mean deviance
  by default, or the one-standard-error rule, or empirical Bayes where
  :data:`mapreg.fit.cv.EMPIRICAL_BAYES` has it, else the CV minimum). The elastic net
  without ``--scale2`` is cross-validated along glmnet's ``alpha = 0.5`` mix,
  ``lam2 = lam / 2`` (``sigma**2 = b``; scikit-learn's ``l1_ratio = 0.5``);
* a prior without a mode (the horseshoes, whose scale is the global ``tau0``):
  Piironen & Vehtari's (2017) ``tau0 = p0 / (p - p0) * sigma / sqrt(n)`` with
  ``p0 = p / 2`` (no guess at the number of relevant features), i.e.
  ``tau0 = sigma / sqrt(n)``, ``sigma`` the noise sd, or for a non-Gaussian family their
  pseudo-sd ``1 / sqrt(mean_i L''(eta0_i))`` at the intercept-only fit ``eta0``
  (``2`` for a balanced Bernoulli, ``1 / sqrt(mean y)`` for Poisson);
* any other prior (Student-t, Cauchy: ``lam`` does not move with the scale) needs its
  scale given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mapreg.model import Model
from mapreg.priors import make_prior, prior_class, prior_names

#: ``mapreg compare``'s priors when ``--priors`` is not given.
DEFAULT_PRIORS = ("laplace", "gaussian", "elasticnet", "horseshoe")
#: How the scale of a prior named without one is chosen (``--choose``).
CHOOSE = ("cv-min", "cv-1se", "empirical-bayes")


@dataclass(frozen=True)
class Chosen:
    """One prior of a comparison: its table label, the prior, and how its scale was set."""

    label: str
    prior: object
    how: str

    @property
    def lam(self) -> float | None:
        return float(self.prior.lam) if self.prior.has_mode else None

    @property
    def text(self) -> str:
        """The prior, its numbers to 4 digits (``Laplace(b=10.09)``); false flags left out."""
        import dataclasses

        parts = []
        for f in dataclasses.fields(self.prior):
            v = getattr(self.prior, f.name)
            if isinstance(v, bool):
                parts += [f"{f.name}=True"] if v else []
            elif isinstance(v, float):
                parts.append(f"{f.name}={v:.4g}")
            else:
                parts.append(f"{f.name}={v!r}")
        return f"{type(self.prior).__name__}({', '.join(parts)})"


def parse_priors(text: str) -> list[tuple[str, float | None]]:
    """``"laplace,gaussian=10"`` -> ``[("laplace", None), ("gaussian", 10.0)]``.

    Raises
    ------
    ValueError
        An unknown prior name (the known ones are listed), a scale that is not a
        positive finite number, the same entry twice, or fewer than two entries.
    """
    specs, seen = [], set()
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            continue
        name, _, scale_text = item.partition("=")
        name = name.strip().lower()
        if name not in prior_names():
            raise ValueError(f"--priors: unknown prior {name!r}; known: "
                             f"{', '.join(prior_names())}")
        scale = None
        if scale_text.strip():
            try:
                scale = float(scale_text)
            except ValueError:
                scale = math.nan
            if not (math.isfinite(scale) and scale > 0.0):
                raise ValueError(f"--priors: the scale in {item!r} must be a positive finite "
                                 "number")
        key = (name, scale)
        if key in seen:
            raise ValueError(f"--priors: {item!r} is listed twice")
        seen.add(key)
        specs.append(key)
    if len(specs) < 2:
        raise ValueError(f"--priors needs at least two priors to compare, got {len(specs)} "
                         f"({text!r})")
    return specs


def check_options(specs, options: Mapping[str, float | None]) -> None:
    """Refuse an option (``--nu``, ``--p``, ...) that no listed prior takes."""
    takers = {opt.name for name, _ in specs for opt in prior_class(name).options}
    for opt_name, value in options.items():
        if value is not None and opt_name not in takers:
            raise ValueError(f"--{opt_name} is given but no prior in --priors takes it")


def pseudo_noise_sd(model: Model) -> float:
    """``sigma`` for a Gaussian family, else ``1 / sqrt(mean_i L''(eta0_i))`` (module doc)."""
    if model.family.name == "gaussian" and model.noise_sigma is not None:
        return float(model.noise_sigma)
    fam, y = model.family, model.y
    eta0 = np.full(len(y), fam.initial_intercept(y) if model.fit_intercept else 0.0)
    return float(1.0 / math.sqrt(np.mean(fam.d2loss(eta0, y))))


def global_scale(model: Model) -> float:
    """Piironen & Vehtari's ``tau0`` with ``p0 = p / 2``: ``sigma / sqrt(n)`` (module doc)."""
    return pseudo_noise_sd(model) / math.sqrt(model.n_samples)


def _build(name: str, scale: float, options, *, auto: bool):
    """The prior ``name`` at ``scale`` with its options; the elastic-net mix when left out."""
    cls = prior_class(name)
    given = {opt.name: options.get(opt.name) for opt in cls.options}
    if name == "elasticnet" and given.get("scale2") is None:
        given["scale2"] = math.sqrt(scale)  # lam2 = 1/(2 sigma^2) = lam/2: glmnet alpha 0.5
    elif name == "elasticnet" and auto:
        raise ValueError("--scale2 applies to the elastic net with its scale given "
                         "(elasticnet=B); without one it is cross-validated along the "
                         "lam2 = lam/2 mix")
    for opt in cls.options:
        if given[opt.name] is None and opt.default is None:
            raise ValueError(f"--priors {name} needs --{opt.name} ({opt.help})")
    return make_prior(name, scale, **given)


def with_prior(model: Model, prior) -> Model:
    """``model`` (data, family, noise, intercept) under ``prior``."""
    return Model(model.X, model.y, prior=prior, family=model.family,
                 noise_sigma=model.noise_sigma, fit_intercept=model.fit_intercept,
                 feature_names=model.feature_names)


def _cv_scale(model: Model, choose: str, folds: int, n_lambdas: int, seed):
    """The scale ``lambda_choices`` picks by ``choose`` and the words saying how."""
    from mapreg.fit.cv import lambda_choices

    table = lambda_choices(model, cv=folds, n_lambdas=n_lambdas,
                           empirical_bayes=choose == "empirical-bayes", hyperprior=False,
                           random_seed=seed).table
    row = choose if choose in table.index else "cv-min"
    how = {"cv-min": f"{folds}-fold CV minimum", "cv-1se": f"{folds}-fold CV, one-SE rule",
           "empirical-bayes": "empirical Bayes (max p(y | lam))"}[row]
    if row != choose:
        how += f" (no {choose} for this prior and family)"
    return float(table.loc[row, "scale"]), how


def choose_priors(model: Model, specs: Sequence[tuple[str, float | None]],
                  options: Mapping[str, float | None] | None = None, *,
                  choose: str = "cv-min", folds: int = 5, n_lambdas: int = 50,
                  random_seed=None) -> list[Chosen]:
    """Each ``(name, scale or None)`` of ``specs`` as a prior at its scale (module doc).

    Parameters
    ----------
    model : Model
        The data, family, noise and intercept (its own prior is not used).
    specs : sequence of (str, float or None)
        From :func:`parse_priors`.
    options : dict, optional
        Prior options by name (``nu``, ``p``, ``scale2``, ...), for the priors that take them.
    choose : {"cv-min", "cv-1se", "empirical-bayes"}
    folds, n_lambdas, random_seed :
        The cross-validation (``random_seed`` shuffles the rows before the folds).

    Raises
    ------
    ValueError
        A prior without a scale that no rule places, or an option missing.
    """
    from mapreg.fit.path import scale_law

    if choose not in CHOOSE:
        raise ValueError(f"choose must be one of {CHOOSE}, got {choose!r}")
    options = dict(options or {})
    check_options(specs, options)
    counts = {name: sum(n == name for n, _ in specs) for name, _ in specs}
    out = []
    for name, scale in specs:
        label = name if counts[name] == 1 else f"{name}={scale if scale else 'auto'}"
        if scale is not None:
            out.append(Chosen(label, _build(name, scale, options, auto=False), "given"))
            continue
        prior = _build(name, 1.0, options, auto=True)
        if not prior.has_mode:
            tau0 = global_scale(model)
            out.append(Chosen(label, prior.with_scale(tau0),
                              "tau0 = sigma/sqrt(n) (Piironen & Vehtari, p0 = p/2)"))
            continue
        law = scale_law(prior)
        if law is None or law.field != "lam":
            raise ValueError(f"--priors {name}: give its scale ({name}=S): its penalty weight "
                             "does not move with its scale, so cross-validation cannot place it")
        best, how = _cv_scale(with_prior(model, prior), choose, folds, n_lambdas, random_seed)
        out.append(Chosen(label, prior.with_scale(best), how))
    return out
