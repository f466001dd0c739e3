r"""``backend="jax"``: the MAP / penalised fit jit-compiled in float64 on JAX's device.

For the gaussian, bernoulli and poisson families with a penalty ``a |w| + c w**2`` (the
Laplace, Gaussian and elastic-net priors), :func:`solve_jax` runs two phases, each
data-sized computation a jit-compiled JAX function on whatever device JAX sees (a GPU
when there is one, else the CPU):

1. **FISTA with adaptive restart** (Beck & Teboulle's backtracking, O'Donoghue &
   Candès's gradient restart), the whole loop one ``lax.while_loop`` on the device: a
   matrix-vector product per gradient, no host round trip. Its soft-thresholding
   proximal step makes exact zeros. It stops once the proximal-gradient map is below
   :data:`FISTA_RTOL` (relative) — a warm start, not the answer;
2. **proximal Newton** (:func:`mapreg.solvers.prox_newton.prox_newton`, the one method of
   the numpy paths) from there: the loss, its gradient ``[X, 1]' dL/deta`` and
   ``[X, 1]' H [X, 1]`` come from one jit-compiled call per point, and the model step is
   the numpy path's coordinate descent on that ``(p+1) x (p+1)`` matrix plus the exact
   penalty — the exact zeros and the superlinear finish of the numpy backend.

The result is then certified by mapreg's numpy code: :func:`mapreg.solvers.kkt.
kkt_violation` on the numpy ``X`` and ``y``, against :func:`mapreg.solvers.kkt.
absolute_tolerance` — the same certificate and tolerance as ``backend="numpy"``.

**Precision.** Everything runs in float64 inside ``jax.enable_x64(True)`` — a *scoped*
switch: JAX's 64-bit mode is on only while mapreg computes, and a user's other JAX code
keeps its own setting (JAX's default is float32). Float32 (or float16 / bfloat16) input
is refused rather than silently promoted: in float32 the certificate (``1e-11``
relative) is below the arithmetic's resolution (``~1e-7``), so neither the exact zeros
nor the KKT check survive.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from mapreg.families import BernoulliFamily, GaussianFamily, PoissonFamily
from mapreg.results import FitResult
from mapreg.solvers.glm import MAX_SWEEPS, GLMProblem
from mapreg.solvers.kernels import cd_gram
from mapreg.solvers.kkt import absolute_tolerance, kkt_violation
from mapreg.solvers.prox_newton import prox_newton

#: FISTA stops once its proximal-gradient map is below this, relative to the gradient at
#: the null model (proximal Newton finishes from there).
FISTA_RTOL = 1e-5
#: At most this many FISTA iterations (the warm start; proximal Newton does the rest).
FISTA_MAX_ITER = 1000
#: The largest Poisson log rate (as :mod:`mapreg.families`: ``exp`` overflows beyond 709).
_MAX_LOG_RATE = 700.0
_FAMILIES = {GaussianFamily: "gaussian", BernoulliFamily: "bernoulli", PoissonFamily: "poisson"}
_LOW_PRECISION = {"float16", "float32", "bfloat16"}


def x64():
    """A context in which JAX computes in float64 (scoped: JAX's global setting is kept)."""
    import jax

    state = getattr(jax, "enable_x64", None)
    if state is not None:
        return state(True)
    from jax.experimental import enable_x64  # JAX < 0.6

    return enable_x64()


def refusal(family, term) -> str | None:
    """Why ``backend="jax"`` has no path for ``family`` and ``term`` (``None``: it has)."""
    if type(family) not in _FAMILIES:
        return (f"backend='jax' supports the gaussian, bernoulli and poisson families, not "
                f"{family!r}; use backend='numpy' (the default)")
    if term.quadratic_weights() is None:
        return (f"backend='jax' supports penalties a|w| + c w**2 (the Laplace, Gaussian and "
                f"ElasticNet priors; 'l1', 'l2', 'elasticnet'), not {term.name!r}; use "
                "backend='numpy' (the default), which has every path")
    return None


def check_precision(input_dtypes) -> None:
    """``ValueError`` when ``X`` or ``y`` came in float32 (or lower) precision."""
    for name, dtype in zip(("X", "y"), input_dtypes, strict=True):
        if dtype is not None and str(dtype) in _LOW_PRECISION:
            raise ValueError(
                f"backend='jax' computes in float64 only, and {name} is {dtype}: in {dtype} "
                "the MAP loses its exact zeros and the KKT certificate (1e-11 relative is "
                "below its resolution). Pass float64 arrays (e.g. X.astype('float64')); "
                "mapreg turns on JAX's 64-bit mode only while it computes")


@functools.cache
def _kernels():
    """The jit-compiled functions (built on first use: JAX is imported only then)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def terms(family, eta, y, s2):
        """``(L, dL/deta, d2L/deta2)`` as :mod:`mapreg.families` defines them."""
        if family == "gaussian":
            r = eta - y
            return 0.5 * jnp.sum(r * r) / s2, r / s2, jnp.full_like(eta, 1.0 / s2)
        if family == "bernoulli":
            mu = jax.nn.sigmoid(eta)
            return jnp.sum(jnp.logaddexp(0.0, eta) - y * eta), mu - y, mu * (1.0 - mu)
        eta = jnp.minimum(eta, _MAX_LOG_RATE)
        mu = jnp.exp(eta)
        return jnp.sum(mu - y * eta), mu - y, mu

    def eta_of(X, x):
        return X @ x[:-1] + x[-1]

    def value(X, y, x, s2, family):
        return terms(family, eta_of(X, x), y, s2)[0]

    def value_grad(X, y, x, s2, family, fit_intercept):
        loss, d, _ = terms(family, eta_of(X, x), y, s2)
        g = jnp.append(X.T @ d, jnp.sum(d) if fit_intercept else 0.0)
        return loss, g

    def value_grad_hess(X, y, x, s2, family, fit_intercept):
        loss, d, h = terms(family, eta_of(X, x), y, s2)
        g = jnp.append(X.T @ d, jnp.sum(d))
        Xh = X * h[:, None]
        H = jnp.block([[X.T @ Xh, jnp.sum(Xh, axis=0)[:, None]],
                       [jnp.sum(Xh, axis=0)[None, :], jnp.sum(h)[None, None]]])
        if not fit_intercept:
            g = g.at[-1].set(0.0)
        return loss, g, H

    def prox(v, step, l1, l2, fit_intercept):
        w = v[:-1]
        w = jnp.sign(w) * jnp.maximum(jnp.abs(w) - step * l1, 0.0) / (1.0 + 2.0 * step * l2)
        return jnp.append(w, v[-1] if fit_intercept else 0.0)

    def fista(X, y, x0, s2, l1, l2, L0, tol, max_iter, family, fit_intercept):
        """FISTA with backtracking and gradient restart; ``(x, L, iterations, map norm)``."""

        def step(state):
            k, x, z, t, L, _ = state
            f_z, g_z = value_grad(X, y, z, s2, family, fit_intercept)

            def trial(L):
                p = prox(z - g_z / L, 1.0 / L, l1, l2, fit_intercept)
                d = p - z
                ok = value(X, y, p, s2, family) <= f_z + g_z @ d + 0.5 * L * (d @ d)
                return p, ok

            def grow(inner):
                L, _, _ = inner
                p, ok = trial(2.0 * L)
                return 2.0 * L, p, ok

            p, ok = trial(L)
            L, p, _ = lax.while_loop(lambda s: ~s[2] & (s[0] < 1e300), grow, (L, p, ok))
            restart = (z - p) @ (p - x) > 0.0
            t_next = jnp.where(restart, 1.0, 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t)))
            momentum = jnp.where(restart, 0.0, (t - 1.0) / t_next)
            crit = jnp.max(jnp.abs(L * (z - p)))  # the proximal-gradient map at z
            return k + 1, p, p + momentum * (p - x), t_next, L, crit

        def going(state):
            k, _, _, _, _, crit = state
            return (k < max_iter) & (crit > tol)

        init = (0, x0, x0, 1.0, L0, jnp.inf)
        k, x, _, _, L, crit = lax.while_loop(going, step, init)
        return x, L, k, crit

    static = ("family",)
    return {
        "value": jax.jit(value, static_argnames=static),
        "value_grad_hess": jax.jit(value_grad_hess, static_argnames=(*static, "fit_intercept")),
        "fista": jax.jit(fista, static_argnames=(*static, "fit_intercept")),
    }


class JaxProblem(GLMProblem):
    """``L(X w + c) + a |w| + c w**2`` with the loss, gradient and Hessian from JAX.

    ``x`` is ``(w, c)`` (``c`` only with an intercept, as :class:`GLMProblem`); the JAX
    functions always see ``(w, c)`` with ``c = 0`` when it is not fitted.
    """

    def __init__(self, Xj, yj, p, family, term, fit_intercept, s2):
        self.Xj, self.yj, self.s2 = Xj, yj, s2
        self.family, self.term = family, term
        self.fit_intercept = bool(fit_intercept)
        self.p = p
        self.fam = _FAMILIES[type(family)]
        a, c = term.quadratic_weights()
        k = p + self.fit_intercept
        self.l1a, self.l2a = np.zeros(k), np.zeros(k)
        self.l1a[:p], self.l2a[:p] = float(a), float(c)
        self._hess = None

    def full(self, x):
        return x if self.fit_intercept else np.append(x, 0.0)

    def objective(self, x):
        import jax.numpy as jnp

        with x64():
            loss = _kernels()["value"](self.Xj, self.yj, jnp.asarray(self.full(x)), self.s2,
                                       family=self.fam)
            return float(loss) + self.term.value(x[: self.p])

    def gradient(self, x):
        import jax.numpy as jnp

        k = self.p + self.fit_intercept
        with x64():
            _, g, H = _kernels()["value_grad_hess"](
                self.Xj, self.yj, jnp.asarray(self.full(x)), self.s2, family=self.fam,
                fit_intercept=self.fit_intercept)
            self._hess = np.array(H)[:k, :k]
            return np.array(g)[:k]

    def newton_step(self, x, grad, inner_tol):
        w = x.copy()
        cd_gram(self._hess, grad.copy(), w, self.l1a, self.l2a, inner_tol, MAX_SWEEPS)
        return w - x


class DeviceData:
    """``X`` and ``y`` placed once on JAX's device, for any number of fits (a path).

    Parameters
    ----------
    X, y : array_like
        The design and response (float64; :func:`check_precision` refuses lower
        precision before this is built).
    family : Family
    fit_intercept : bool
    """

    def __init__(self, X, y, family, fit_intercept: bool):
        try:
            import jax.numpy as jnp
        except ImportError:  # pragma: no cover - the jax extra is not installed
            raise ImportError("backend='jax' needs JAX: pip install 'mapreg[jax]' (or "
                              "jax[cuda12] for an NVIDIA GPU)") from None
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.family, self.fit_intercept = family, bool(fit_intercept)
        self.p = self.X.shape[1]
        self.s2 = float(family.noise_sigma) ** 2 if isinstance(family, GaussianFamily) else 1.0
        self.c0 = family.initial_intercept(self.y) if fit_intercept else 0.0
        with x64():
            self.Xj, self.yj = jnp.asarray(self.X), jnp.asarray(self.y)
            if self.Xj.dtype != jnp.float64:  # pragma: no cover - x64() failed
                raise RuntimeError("JAX did not switch to float64; backend='jax' needs it")

    def tolerance(self, tol: float) -> float:
        """The absolute tolerance of the numpy backend (:func:`absolute_tolerance`)."""
        return absolute_tolerance(self.X, self.y, self.family, self.fit_intercept, tol)

    def fit(self, term, *, tol_abs: float, tol: float, max_iter: int, start=None,
            certify: str = "host") -> FitResult:
        """Minimise ``L(X w + c) + term(w)`` from ``start`` (default ``w = 0``).

        ``certify="host"`` recomputes the KKT violation with numpy on the host arrays
        (:func:`mapreg.solvers.kkt.kkt_violation`); ``"device"`` evaluates the same formula
        — ``max_j dist(-[X' dL/deta]_j, d term(w_j))`` and ``|sum dL/deta|`` — from the
        gradient computed in float64 on the device, which spares a host pass over ``X``
        per fit along a path.
        """
        import jax.numpy as jnp

        reason = refusal(self.family, term)
        if reason is not None:
            raise NotImplementedError(reason)
        p = self.p
        problem = JaxProblem(self.Xj, self.yj, p, self.family, term, self.fit_intercept,
                             self.s2)
        a, c = term.quadratic_weights()
        coef0 = np.zeros(p) if start is None else np.asarray(start, dtype=float)
        with x64():
            x = problem.join(coef0, self.c0)
            k = 0
            if max_iter > 0:
                scale = tol_abs / tol if tol > 0 else 1.0
                out = _kernels()["fista"](
                    self.Xj, self.yj, jnp.asarray(problem.full(x)), self.s2, float(a),
                    float(c), 1.0, max(FISTA_RTOL * scale, tol_abs), FISTA_MAX_ITER,
                    family=problem.fam, fit_intercept=problem.fit_intercept)
                x_f, k = np.array(out[0]), int(out[2])
                x = x_f if self.fit_intercept else x_f[:p]
            result = prox_newton(problem, x, tol=tol_abs, max_iter=max_iter)
            coef, intercept = problem.split(result.x)
            coef[coef == 0.0] = 0.0  # no negative zeros from the soft threshold
            if certify == "host":
                kkt = kkt_violation(self.X, self.y, self.family, term, coef, intercept,
                                    self.fit_intercept)
            else:
                g = problem.gradient(problem.join(coef, intercept))
                kkt = float(np.max(term.subdiff_distance(coef, g[:p]), initial=0.0))
                if self.fit_intercept:
                    kkt = max(kkt, abs(float(g[p])))
        converged = bool(kkt <= tol_abs) and math.isfinite(kkt)
        return FitResult(coef, intercept, kkt, tol_abs, result.n_iter, converged,
                         f"jax-fista({k})+prox-newton-gram")


def solve_jax(X, y, family, term, *, fit_intercept: bool, tol: float, max_iter: int,
              input_dtypes=(None, None), start=None) -> FitResult:
    """Minimise ``L(X w + c) + term(w)`` with JAX (see the module docstring); ``tol`` is
    *relative* (scaled as :func:`mapreg.solvers.kkt.absolute_tolerance`)."""
    check_precision(input_dtypes)
    reason = refusal(family, term)
    if reason is not None:
        raise NotImplementedError(reason)
    data = DeviceData(X, y, family, fit_intercept)
    return data.fit(term, tol_abs=data.tolerance(tol), tol=tol, max_iter=max_iter,
                    start=start)


def jax_path(X, y, family, terms, *, fit_intercept: bool, tol: float, max_iter: int,
             input_dtypes=(None, None), warm: bool = True) -> list[FitResult]:
    """One fit per penalty in ``terms`` (in order), ``X`` moved to the device once.

    Each fit starts from the previous one's coefficients when ``warm`` (the penalties of
    a convex path: the same answers, fewer iterations). The certificate is evaluated on
    the device (:meth:`DeviceData.fit`, ``certify="device"``) against the numpy
    backend's absolute tolerance.
    """
    check_precision(input_dtypes)
    for term in terms:
        reason = refusal(family, term)
        if reason is not None:
            raise NotImplementedError(reason)
    data = DeviceData(X, y, family, fit_intercept)
    tol_abs = data.tolerance(tol)
    fits, start = [], None
    for term in terms:
        res = data.fit(term, tol_abs=tol_abs, tol=tol, max_iter=max_iter, start=start,
                       certify="device")
        fits.append(res)
        if warm:
            start = res.coef
    return fits


__all__ = ["DeviceData", "check_precision", "jax_path", "refusal", "solve_jax", "x64"]
