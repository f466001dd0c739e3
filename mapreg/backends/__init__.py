"""The same fits beyond one in-memory array: dask (out of core, on a cluster) and JAX.

* :mod:`~mapreg.backends.gram` — numpy only: what one pass over a chunk of rows learns
  (sufficient statistics, the first bad entry), how chunks merge, and the Gaussian MAP
  from the statistics alone;
* :mod:`~mapreg.backends.dask_stats` — :class:`~mapreg.backends.dask_stats.DaskData`:
  dask arrays / DataFrames in, one map-reduce for the statistics, one per proximal-Newton
  step for the Bernoulli and Poisson families;
* :mod:`~mapreg.backends.jax_solver` — ``backend="jax"``: the proximal gradient and
  proximal Newton steps jit-compiled in float64 on whatever device JAX sees.

dask and JAX are optional (extras ``dask`` and ``jax``) and imported only inside these
functions: ``import mapreg`` never needs them.
"""

from __future__ import annotations

BACKENDS = ("numpy", "jax")


def is_dask(obj) -> bool:
    """Whether ``obj`` is a dask collection (array, DataFrame, Series), without importing dask."""
    module = type(obj).__module__
    return (module == "dask" or module.startswith("dask.")) and hasattr(obj, "__dask_graph__")


def check_backend(backend) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else ``ValueError``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend
