"""Which samplers target a model's posterior, and what ``sampler="auto"`` runs and why.

Every sampler says for itself which models it targets exactly
(:func:`~mapreg.posterior.exact.exact_refusal`,
:func:`~mapreg.posterior.gibbs.gibbs_refusal`; NUTS takes any model). The automatic
choice is exact > Gibbs (p <= 300) > nutpie > pymc, and its reason is kept in the
result's ``attrs["sampler_reason"]``.
"""

from __future__ import annotations

from typing import NamedTuple

from mapreg.posterior.exact import exact_refusal
from mapreg.posterior.gibbs import gibbs_refusal
from mapreg.posterior.nuts import NUTS_SAMPLERS

SAMPLERS = ("auto", *NUTS_SAMPLERS, "exact", "gibbs")

# Gibbs costs O(p**3) per sweep (a Cholesky); beyond this many features NUTS on the
# sufficient statistics (O(p**2) per gradient) is the faster choice.
_GIBBS_MAX_FEATURES = 300


class Choice(NamedTuple):
    """A sampler and the reason it was chosen."""

    sampler: str
    reason: str


def refusal(model, sampler: str) -> str | None:
    """Why ``sampler`` does not target ``model``'s posterior exactly; ``None`` when it does."""
    if sampler == "exact":
        return exact_refusal(model)
    if sampler == "gibbs":
        return gibbs_refusal(model)
    return None  # NUTS: any family, any prior with a to_pymc, any hyperprior


def valid_samplers(model) -> tuple[str, ...]:
    """The samplers that target this model's posterior exactly."""
    return tuple(s for s in (*NUTS_SAMPLERS, "gibbs", "exact") if refusal(model, s) is None)


def auto_choice(model) -> Choice:
    """What ``sampler="auto"`` runs: exact > Gibbs (p <= 300) > nutpie > pymc, with the reason.

    Exact i.i.d. draws need no chain at all; the numba Gibbs sampler runs
    thousands of sweeps per millisecond on small p and needs no compilation of
    the model; nutpie is PyMC's fastest NUTS.
    """
    not_exact = exact_refusal(model)
    if not_exact is None:
        return Choice("exact", "the closed-form posterior gives i.i.d. draws (no chain)")
    not_gibbs = gibbs_refusal(model)
    p = model.n_features
    if not_gibbs is None and p <= _GIBBS_MAX_FEATURES:
        return Choice("gibbs", f"not exact: {not_exact}; the conjugate Gibbs sampler applies "
                               f"and p = {p} <= {_GIBBS_MAX_FEATURES}")
    if not_gibbs is None:
        not_gibbs = (f"p = {p} > {_GIBBS_MAX_FEATURES} features, where its O(p**3) sweeps are "
                     "slower than NUTS")
    try:
        import nutpie  # noqa: F401
    except ImportError:  # pragma: no cover - nutpie is a dependency
        return Choice("pymc", f"not exact: {not_exact}; not gibbs: {not_gibbs}; "
                              "nutpie is not installed")
    return Choice("nutpie", f"not exact: {not_exact}; not gibbs: {not_gibbs}; nutpie is "
                            "PyMC's fastest NUTS")


def choose_sampler(model) -> str:
    """The sampler ``sampler="auto"`` runs (:func:`auto_choice`)."""
    return auto_choice(model).sampler
