"""Running Gibbs chains: one thread each, blocks of sweeps, a progress bar, a clean Ctrl-C.

The numba kernel (:mod:`mapreg.posterior.gibbs_kernel`) releases the GIL, so the chains run
in threads, one per core. Each chain runs its sweeps in blocks: a Gaussian-noise chain hands
a block to :func:`~mapreg.posterior.gibbs_kernel.gibbs_block` and returns to Python after
it; a Pólya-Gamma chain returns after every sweep anyway (the ``polyagamma`` package draws
the weights). Blocks grow until one takes about :data:`BLOCK_SECONDS`, so the overhead of
the round trips stays negligible and the chain stays responsive.

A Gaussian chain on Bhattacharya's path (p > n) whose ``n**2 p`` is at least
:data:`EXTERNAL_PRODUCT_MIN` runs one sweep per kernel call instead, and numpy forms the
sweep's ``n x n`` product ``B B'`` in between: numpy recognises ``B @ B.T`` and calls BLAS
``syrk`` (half the flops of the ``gemm`` behind numba's ``np.dot``): a sweep at n = 200
is 1.4-1.5x faster for p = 1,000 to 20,000 (e.g. 20.7 -> 14.1 ms for the lasso at
p = 10,000, one thread, runs alternated in one process; benchmarks/README.md). The
regularised horseshoe's collapsed ``tau`` proposals (each its own ``n x n`` product,
:func:`~mapreg.posterior.gibbs_kernel.rhs_tau_propose`) are formed the same way: 200 x
1,000, 4 x 1,000 draws, 34.7 -> 26.6 s. The draws are the fused kernel's up to rounding
(same random stream).

Meanwhile the main thread only waits, in steps of a tenth of a second: it moves the tqdm
bar (on stderr) and is where Python delivers Ctrl-C. On ``KeyboardInterrupt`` (or any other
exception) it tells every chain to stop after its current block, waits for them, and
re-raises: nothing is returned, so nothing half-sampled can be written anywhere.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import numpy as np

from mapreg.posterior import gibbs_kernel as _k
from mapreg.posterior.draws import n_cpus

#: The wall time a block of sweeps aims at (seconds): what Ctrl-C waits for, at most ~2x.
BLOCK_SECONDS = 0.2
#: ``n**2 p`` from which a Gaussian chain on Bhattacharya's path has numpy form ``B B'``
#: between kernel calls, one sweep per call (numpy's ``syrk``: half the flops of the
#: kernel's ``gemm``; :func:`mapreg.posterior.gibbs_kernel._external`). Below it a sweep
#: takes well under a millisecond and the Python round trip (~20 us) would show.
EXTERNAL_PRODUCT_MIN = 4e6


class _Stopped(Exception):
    """A chain was told to stop (the main thread is raising the real exception)."""


def _scratch(data, rng_theta: np.ndarray):
    """Per-chain state and scratch arrays, shaped for the data's method and family."""
    n, p = data.X.shape
    k = data.k
    gaussian_rue = (data.ipar[_k.I_FAMILY] == _k.GAUSSIAN
                    and data.ipar[_k.I_METHOD] == _k.RUE)
    if gaussian_rue:
        p = k - int(data.ipar[_k.I_INTERCEPT])
        n = 1
    rue = data.ipar[_k.I_METHOD] == _k.RUE
    return {
        "theta": rng_theta, "d": np.empty(p), "lam2": np.empty(p), "nu": np.empty(p),
        "sc": np.zeros(_k.N_STATE),
        "A": np.empty((k, k)) if rue else np.empty((1, 1)), "bvec": np.empty(k),
        "z": np.empty(k), "xbar": data.xbar.copy(),
        "B": np.empty((1, 1)) if gaussian_rue else np.empty((n, p)),
        "sw": np.empty(n), "alpha": np.empty(n),
        # the regularised horseshoe's collapsed tau at p > n: a proposal's Phi D^{1/2}
        "B2": (np.empty((n, p)) if _k.rhs_collapsed_tau(data.ipar) else np.empty((0, 0))),
    }


def external_product(data) -> bool:
    """Whether a chain forms ``B B'`` in numpy between kernel calls (see above)."""
    n, p = data.X.shape
    return (data.ipar[_k.I_FAMILY] == _k.GAUSSIAN and data.ipar[_k.I_METHOD] != _k.RUE
            and n * n * p >= EXTERNAL_PRODUCT_MIN)


def _block(data, rng, s, G, start, stop, out):
    _k.gibbs_block(rng, data.ipar, data.fpar, data.ZtZ, data.Zty, data.t0, data.g0, data.X,
                   data.y, data.resp, s["theta"], s["d"], s["lam2"], s["nu"], s["sc"],
                   s["A"], s["bvec"], s["z"], s["xbar"], s["B"], s["sw"], s["alpha"], G,
                   data.XT, data.colsq, s["B2"], start, stop, *out)


def _external_chain(data, rng, s, total, out, stop, progress, c):
    """One sweep per kernel call, ``G = B B'`` by numpy in between (releases the GIL)."""
    B, B2 = s["B"], s["B2"]
    G = np.empty((B.shape[0], B.shape[0]))
    G2 = np.empty_like(G)
    collapsed_tau = _k.rhs_collapsed_tau(data.ipar)
    no_weights = np.empty(0)
    _k.design_next(data.ipar, data.X, s["xbar"], s["lam2"], s["d"], s["sc"], B)
    for sweep in range(total):
        if stop.is_set():
            raise _Stopped
        np.matmul(B, B.T, out=G)  # numpy sees the symmetric product: BLAS syrk
        if collapsed_tau:  # the kernel's _rhs_tau_collapsed, with numpy's products
            _k.gaussian_alpha(data.resp, s["sc"], s["alpha"])
            for step in range(_k.RHS_TAU_MH_STEPS):
                _k.rhs_tau_propose(rng, data.X, s["xbar"], s["lam2"], s["sc"], no_weights, B2)
                np.matmul(B2, B2.T, out=G2)
                if _k.rhs_tau_accept(rng, data.fpar, s["lam2"], s["d"], s["sc"], G, G2,
                                     step == 0, s["alpha"]):
                    B, B2 = B2, B
                    G, G2 = G2, G
            s["B"], s["B2"] = B, B2  # the sweep draws theta from the accepted B, G
        _block(data, rng, s, G, sweep, sweep + 1, out)
        progress[c] = sweep + 1


def run_blocks(block, total: int, stop, progress, c: int) -> None:
    """Call ``block(start, stop)`` over sweeps ``0 .. total`` in blocks of about
    :data:`BLOCK_SECONDS`, checking ``stop`` between blocks and counting ``progress[c]``."""
    sweep, size = 0, 1
    while sweep < total:
        if stop.is_set():
            raise _Stopped
        nb = min(size, total - sweep)
        t = time.perf_counter()
        block(sweep, sweep + nb)
        dt = time.perf_counter() - t
        sweep += nb
        progress[c] = sweep
        if dt < 0.5 * BLOCK_SECONDS:
            size *= 2
        elif dt > 2 * BLOCK_SECONDS and size > 1:
            size //= 2


def _gaussian_chain(data, rng, s, total, out, stop, progress, c):
    if external_product(data):
        return _external_chain(data, rng, s, total, out, stop, progress, c)
    none = np.empty((0, 0))
    run_blocks(lambda a, b: _block(data, rng, s, none, a, b, out), total, stop, progress, c)


def _polya_gamma_chain(data, rng, s, total, out, stop, progress, c, imh=None):
    """Pólya-Gamma sweeps, each followed (``imh``: an
    :class:`~mapreg.posterior.independence_steps.IndependenceSteps`) by independence
    Metropolis-Hastings steps; after a move the Laplace latent variances are redrawn given
    the new coefficients and the linear predictor recomputed."""
    from polyagamma import random_polyagamma

    n = data.X.shape[0]
    omega = np.empty(n)
    eta = np.zeros(n)  # theta starts at 0
    theta = s["theta"]
    for sweep in range(total):
        if stop.is_set():
            raise _Stopped
        random_polyagamma(1.0, eta, out=omega, random_state=rng)
        _k.pg_sweep(rng, data.ipar, data.fpar, data.ZtZ, data.Zty, data.X, data.resp, omega,
                    eta, theta, s["d"], s["lam2"], s["nu"], s["sc"], s["A"], s["bvec"],
                    s["z"], s["xbar"], s["B"], s["sw"], s["alpha"], data.XT, s["B2"], sweep,
                    *out)
        if imh is not None and imh.move(theta, eta):
            _k.after_move(rng, data.ipar, data.X, theta, s["d"], s["sc"], eta)
        progress[c] = sweep + 1


def run_chains(data, draws: int, tune: int, thin: int, seeds, n_threads: int,
               progressbar: bool, imh=None):
    """Run one chain per seed; return coefficient, intercept, noise-sd and scale draws.

    ``imh``: ``rng -> IndependenceSteps`` for the Pólya-Gamma chains (or ``None``).
    """
    chains = len(seeds)
    p = data.xbar.shape[0]
    coef = np.empty((chains, draws, p))
    icpt = np.empty((chains, draws))
    noise = np.empty((chains, draws))
    scale = np.empty((chains, draws))
    total = (tune + draws) * thin
    gaussian = data.ipar[_k.I_FAMILY] == _k.GAUSSIAN
    run = _gaussian_chain if gaussian else _polya_gamma_chain

    def one(c, stop, progress):
        rng = np.random.default_rng(seeds[c])
        start = (data.t0.copy() if gaussian and data.ipar[_k.I_METHOD] == _k.RUE
                 else np.zeros(data.k))
        s = _scratch(data, start)
        _k.init_state(rng, data.ipar, data.fpar, data.scale_init, data.noise_init,
                      s["theta"], s["d"], s["lam2"], s["nu"], s["sc"])
        o = (coef[c], icpt[c], noise[c], scale[c])
        if imh is None:
            run(data, rng, s, total, o, stop, progress, c)
        else:
            _polya_gamma_chain(data, rng, s, total, o, stop, progress, c, imh(rng))

    run_threads(chains, total, n_threads, progressbar, "Gibbs", one)
    return coef, icpt, noise, scale


def run_threads(chains: int, total: int, n_threads: int, progressbar: bool, desc: str,
                chain) -> None:
    """Run ``chain(c, stop, progress)`` for ``c < chains`` in ``n_threads`` threads.

    ``total`` sweeps per chain drive the tqdm bar (``progress[c]``: sweeps done by chain
    ``c``). On any exception, Ctrl-C included, ``stop`` is set, every chain ends after its
    current block, and the exception is re-raised here (module docstring).
    """
    stop = threading.Event()
    progress = [0] * chains
    bar = None
    if progressbar:
        from tqdm import tqdm  # plain text on stderr (tqdm.auto would need ipywidgets)

        bar = tqdm(total=chains * total, file=sys.stderr, unit="sweep", delay=0.5,
                   mininterval=0.25, desc=f"{desc}, {chains} chain{'s' * (chains > 1)}")
    from threadpoolctl import threadpool_limits

    workers = max(1, min(n_threads, chains))
    # chains in threads that call BLAS (the independence sampler's X @ W', numba's np.dot)
    # share the cores with BLAS's own threads: capped so that workers x BLAS threads is at
    # most the CPUs (2 chains x 2 OpenBLAS threads on 2 cores made the poisson 2,000 x 20
    # independence run 1.5x slower)
    limits = threadpool_limits(limits=max(1, n_cpus() // workers), user_api="blas")
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(chain, c, stop, progress) for c in range(chains)]
    try:
        pending = futures
        while pending:
            _, pending = wait(pending, timeout=0.1, return_when=FIRST_EXCEPTION)
            if bar is not None:
                bar.update(sum(progress) - bar.n)
            for f in futures:
                if f.done() and f.exception() is not None:
                    raise f.exception()
    except BaseException:
        stop.set()  # every chain stops after its current block
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        limits.restore_original_limits()
        if bar is not None:
            bar.close()
