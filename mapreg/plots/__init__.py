"""Pictures of the prior <-> penalty equivalence, and of what the mode hides.

Every function draws with matplotlib and returns the :class:`~matplotlib.figure.Figure`
it drew on; none calls ``plt.show()``. Single-panel functions take an optional
``ax`` to draw into; multi-panel ones take an optional empty ``fig``. Without
either, a new figure is created through ``pyplot`` (so it shows inline in a
notebook). They draw results and compute nothing: the paths come from
:mod:`mapreg.fit.path` and :mod:`mapreg.posterior.paths` (given a ``Model``,
:func:`map_path` and :func:`posterior_median_path` call those first).

The drawn artists carry a ``gid`` (``line.get_gid()``) naming what they are,
e.g. ``"penalty"``, ``"map-path:bmi"`` or ``"map:bmi"``, so that tests and
users can find a curve and read its data back.

=========================  ====================================================
function                   shows
=========================  ====================================================
:func:`prior_vs_penalty`   ``-log p(w) - log Z`` of any prior equals its penalty
                           (``lam |w|`` for Laplace, ``lam w**2`` for Gaussian, ...)
:func:`shrinkage_force`    the penalties' (sub)gradients and the 1-D MAP they give:
                           soft-thresholding vs proportional shrinkage
:func:`constraint_geometry`  2-D loss contours, the L1 diamond and L2 disc,
                           the two MAP points
:func:`map_path`           MAP path = penalised path (= scikit-learn's path)
                           over prior scales
:func:`posterior_vs_mode`  posterior marginals with the MAP and zero marked
:func:`posterior_median_path`  posterior medians over prior scales beside the
                           MAP path (Park & Casella 2008, Fig. 1 style)
:func:`training_trajectories`  coefficients along gradient training runs
                           (:func:`mapreg.train`), the MAP dashed, exact zeros marked
:func:`zero_chatter`       ``|w|`` near zero on a log scale: subgradient chatter vs
                           the proximal step's exact zeros
:func:`lambda_choices`     the CV curve with lam by CV-min, CV-1SE, empirical
                           Bayes and a hyperprior posterior marked on it
:func:`prior_comparison`   PSIS-LOO elpd ± se of each prior, the difference from
                           the best ± dse (:func:`mapreg.compare_priors`' table)
=========================  ====================================================
"""

from mapreg.plots.choices import lambda_choices, prior_comparison
from mapreg.plots.geometry import _geometry_data, constraint_geometry  # noqa: F401 (tests)
from mapreg.plots.paths import map_path, posterior_median_path
from mapreg.plots.posterior import posterior_vs_mode
from mapreg.plots.priors import prior_vs_penalty, shrinkage_force
from mapreg.plots.training import training_trajectories, zero_chatter

__all__ = [
    "constraint_geometry",
    "lambda_choices",
    "map_path",
    "posterior_median_path",
    "posterior_vs_mode",
    "prior_comparison",
    "prior_vs_penalty",
    "shrinkage_force",
    "training_trajectories",
    "zero_chatter",
]
