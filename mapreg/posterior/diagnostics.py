"""Loud convergence diagnostics after every sampling run.

Checked on every posterior variable (``coef``, a fitted ``intercept``, and the
hyperparameters ``noise_sigma`` / ``prior_scale`` / ``tau`` when sampled):

* rank-normalised split R-hat (Vehtari et al. 2021) ``<= rhat_max`` (1.01);
* bulk and tail effective sample size ``>= ess_min_per_chain * chains`` (100 per chain);
* no divergent NUTS transitions;
* no NUTS transitions stopped by the maximum tree depth (reported, less severe).

Each problem becomes a :class:`SamplingWarning` whose text says what to do.

R-hat and ESS are computed here (:func:`rhat_rank`, :func:`ess_bulk`, :func:`ess_tail`),
vectorised over all coordinates at once in numpy: ArviZ's estimators, which follow the
same definitions (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021, "Rank-normalization,
folding, and localization: an improved R-hat", Bayesian Analysis 16(2)), loop over the
coordinates in Python (3-7 s per 1,000 coefficients of 4 x 1,000 draws on one core of the
project's shared machine; these 1-2 s; benchmarks/README.md), in blocks of coordinates run
in threads, one per CPU (201 coordinates of 4 x 1,000 draws on 2 CPUs: 0.22 -> 0.11 s; the
numbers do not depend on the blocks). The tests check them against
``arviz_stats`` to 1e-10. One deliberate difference: the tail ESS here is at the 5% and
95% quantiles, as in Vehtari et al. and Stan (:data:`TAIL_PROBS`); ``arviz_stats``
defaults to 11% and 89%.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from scipy import fft, special

from mapreg.exceptions import SamplingWarning
from mapreg.posterior.draws import n_cpus

# Coordinates per block of the vectorised estimators: the block's draws are copied a few
# times (ranks, normal scores, an FFT of twice the length), ~60 bytes x draws per coordinate
_BLOCK = 512
# ...and where there are several CPUs, blocks of at least this many run in parallel threads
# (201 coefficients x 4 x 1,000 draws: 0.185 s in one thread)
_MIN_THREAD_BLOCK = 32
#: The quantiles whose indicator chains give the tail ESS (Vehtari et al. 2021, Sec. 4.3;
#: ``arviz_stats`` defaults to its ``ci_prob``, 0.11 and 0.89).
TAIL_PROBS = (0.05, 0.95)


def _blocks(x: np.ndarray):
    """``(chains, draws, ...)`` as ``(coords, chains, draws)`` blocks, with the output shape.

    A block per CPU (at least :data:`_MIN_THREAD_BLOCK` coordinates, at most :data:`_BLOCK`):
    :func:`_map_blocks` runs them in threads.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim < 2:
        raise ValueError(f"draws need dims (chain, draw, ...), got shape {x.shape}")
    rest = x.shape[2:]
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    k = flat.shape[2]
    size = min(_BLOCK, max(_MIN_THREAD_BLOCK, -(-k // n_cpus())))
    return [np.moveaxis(flat[:, :, i:i + size], 2, 0) for i in range(0, k, size)], rest


def _map_blocks(fn, blocks: list) -> list:
    """``[fn(b) for b in blocks]``, the blocks in threads when there are several: numpy's
    sorts and ufuncs and scipy's FFTs release the GIL, and every coordinate's numbers are
    computed alone, so the results do not depend on the blocks."""
    if len(blocks) == 1:
        return [fn(blocks[0])]
    with ThreadPoolExecutor(min(len(blocks), n_cpus())) as pool:
        return list(pool.map(fn, blocks))


def _split(a: np.ndarray) -> np.ndarray:
    """Each chain's first and last ``draws // 2`` draws as two chains: ``(k, 2 m, draws // 2)``."""
    half = a.shape[2] // 2
    return np.concatenate([a[:, :, :half], a[:, :, a.shape[2] - half:]], axis=1)


def _scores(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-based normal scores along the rows of ``flat`` (k, S), and the sorted rows.

    ``z = Phi^{-1}((r - 3/8) / (S + 1/4))`` with ``r`` the average rank of a value among the
    ``S`` of its row (Blom's offset, as in Vehtari et al. eq. 14; ``r`` as scipy's
    ``rankdata(method="average")``). One ``argsort`` per row; rows without ties take the
    scores from one table of ``S``; in a row with ties (rejected Metropolis steps, or the two
    values equidistant from the median in a folded chain) a run of tied values gets the
    mean of its positions as its rank.
    """
    k, size = flat.shape
    order = np.argsort(flat, axis=1)
    ordered = np.take_along_axis(flat, order, axis=1)
    pos = np.arange(1.0, size + 1)
    table = special.ndtri((pos - 0.375) / (size + 0.25))
    scores = np.broadcast_to(table, (k, size))
    differs = np.diff(ordered, axis=1) != 0
    tied = ~differs.all(axis=1)
    if tied.any():
        d = differs[tied]
        ones = np.ones((d.shape[0], 1), dtype=bool)
        p = np.broadcast_to(pos, d.shape[:1] + pos.shape)
        first = np.maximum.accumulate(np.where(np.hstack([ones, d]), p, 0.0), axis=1)
        last = np.minimum.accumulate(np.where(np.hstack([d, ones]), p, np.inf)[:, ::-1],
                                     axis=1)[:, ::-1]
        scores = scores.copy()
        scores[tied] = special.ndtri((0.5 * (first + last) - 0.375) / (size + 0.25))
    z = np.empty_like(flat)
    np.put_along_axis(z, order, scores, axis=1)
    return z, ordered


def _z_scale(a: np.ndarray, with_sorted: bool = False):
    """Rank-normalise each coordinate of ``a`` (k, chains, n) over all its chains and draws
    (:func:`_scores`); ``with_sorted``: also each coordinate's sorted values (k, chains n)."""
    k, m, n = a.shape
    z, ordered = _scores(a.reshape(k, m * n))
    return (z.reshape(k, m, n), ordered) if with_sorted else z.reshape(k, m, n)


def _rhat_block(a: np.ndarray) -> np.ndarray:
    """Classic R-hat ``sqrt((B/W + n - 1) / n)`` of ``(k, chains, n)``; B = n var(chain means)."""
    n = a.shape[2]
    between = n * np.var(a.mean(axis=2), axis=1, ddof=1)
    within = np.mean(np.var(a, axis=2, ddof=1), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant chains: NaN, as ArviZ
        return np.sqrt((between / within + n - 1) / n)


def _ess_block(a: np.ndarray) -> np.ndarray:
    """ESS of ``(k, chains, n)`` chains: autocorrelations by FFT, Geyer's monotone sequence.

    With ``C_t`` the chains' mean autocovariance at lag ``t`` (biased, divided by n),
    ``W = C_0 n/(n-1)``, ``var+ = W (n-1)/n + var(chain means)`` and
    ``rho_t = 1 - (W - C_t) / var+``, the pair sums ``P_j = rho_2j + rho_2j+1`` are
    truncated at the first ``j >= 1`` with ``P_j <= 0`` (Geyer's initial positive
    sequence) and made non-increasing (initial monotone sequence);
    ``tau = -1 + 2 sum_{j<K} P_j + rho_2K`` (the last even term kept when positive, as
    ArviZ and Stan do), at least ``1 / log10(m n)``, and ``ESS = m n / tau``.
    A coordinate whose chains are constant has ESS ``m n``.
    """
    m, n = a.shape[1:]
    centred = a - a.mean(axis=2, keepdims=True)
    f = fft.rfft(centred, n=fft.next_fast_len(2 * n), axis=2)
    acov = fft.irfft(f * np.conj(f), axis=2)[:, :, :n] / n
    mean_acov = acov.mean(axis=1)                       # (k, n)
    w = mean_acov[:, 0] * n / (n - 1.0)
    var_plus = w * (n - 1.0) / n
    if m > 1:
        var_plus = var_plus + np.var(a.mean(axis=2), axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (w[:, None] - mean_acov) / var_plus[:, None]
    rho[:, 0] = 1.0
    tau = _geyer_tau(rho, n)
    total = m * n
    ess = total / np.maximum(tau, 1.0 / np.log10(total))
    ess[np.isnan(tau)] = np.nan
    span = a.max(axis=(1, 2)) - a.min(axis=(1, 2))
    ess[span < np.finfo(float).resolution] = total
    return ess


def _geyer_tau(rho: np.ndarray, n: int) -> np.ndarray:
    """``tau`` of :func:`_ess_block` from the autocorrelations ``rho`` (k, n) of each row.

    Pairs ``j = 1 .. (n - 3) // 2`` are examined (ArviZ's loop bound ``2 j - 1 < n - 3``);
    when none is non-positive the sum stops at the last one, whose even term is kept.
    """
    k = rho.shape[0]
    jmax = max((n - 3) // 2, 0)
    pairs = rho[:, 0:2 * jmax + 2:2] + rho[:, 1:2 * jmax + 2:2]   # P_0 .. P_jmax
    nonpos = pairs <= 0
    nonpos[:, 0] = False
    # K: first j >= 1 with P_j <= 0, else jmax; no pair at all examined when P_0 <= 0
    stop = np.where(nonpos.any(axis=1), np.argmax(nonpos, axis=1), jmax)
    stop[~(pairs[:, 0] > 0)] = 0
    mono = np.minimum.accumulate(pairs, axis=1)
    j = np.arange(pairs.shape[1])
    body = np.sum(np.where(j[None, :] < stop[:, None], mono, 0.0), axis=1)
    rows = np.arange(k)
    even = rho[rows, 2 * stop]
    last_pair = pairs[rows, stop]
    # the even term of the stopping pair: kept if the pair was stored (sum >= 0) or positive
    keep = (stop == 0) | (last_pair >= 0) | (even > 0)
    tau = -1.0 + 2.0 * body + np.where(keep, even, 0.0)
    # a NaN anywhere in the used autocorrelations (zero variance) makes the ESS NaN
    tau[np.isnan(rho[:, :2 * jmax + 2]).any(axis=1) | np.isnan(even)] = np.nan
    return tau


def _valid(a: np.ndarray, min_chains: int) -> np.ndarray:
    """Coordinates ArviZ computes: no NaN, at least ``min_chains`` chains and 4 draws."""
    ok = ~np.isnan(a).any(axis=(1, 2))
    if a.shape[1] < min_chains or a.shape[2] < 4:
        ok[:] = False
    return ok


def _per_block(x, fn, min_chains) -> np.ndarray:
    blocks, rest = _blocks(x)

    def one(a):
        ok = _valid(a, min_chains)
        res = np.full(a.shape[0], np.nan)
        if ok.any():
            res[ok] = fn(a[ok])
        return res

    return np.concatenate(_map_blocks(one, blocks)).reshape(rest)


def _folded_rhat(s: np.ndarray, ordered=None) -> np.ndarray:
    """R-hat of the rank-normalised folded split chains ``|s - median(s)|`` (``ordered``:
    the sorted values of ``s`` per coordinate, if known: the median without a partition)."""
    flat = s.reshape(s.shape[0], -1) if ordered is None else ordered
    med = np.median(flat, axis=1, overwrite_input=False)[:, None, None]
    return _rhat_block(_z_scale(np.abs(s - med)))


def _tail_block(a: np.ndarray, probs, ordered=None) -> np.ndarray:
    """Tail ESS of ``a`` (k, chains, draws); ``ordered``: its sorted values, if known."""
    flat = a.reshape(a.shape[0], -1) if ordered is None else ordered
    res = []
    for q in probs:
        qv = np.quantile(flat, q, axis=1)[:, None, None]
        res.append(_ess_block(_split((a <= qv).astype(float))))
    return np.minimum.reduce(res)


def rhat_rank(x) -> np.ndarray:
    """Rank-normalised split R-hat of each coordinate of ``x`` (chain, draw, ...).

    ``max(R(z(split x)), R(z(|split x - median|)))``: the classic R-hat (:func:`_rhat_block`)
    of the rank-normalised split chains and of their folded version (Vehtari et al. 2021,
    eqs. 4-5 and Sec. 4.2). NaN with fewer than 2 chains or 4 draws, or any NaN draw.
    """
    def fn(a):
        s = _split(a)
        return np.maximum(_rhat_block(_z_scale(s)), _folded_rhat(s))
    return _per_block(x, fn, 2)


def ess_bulk(x) -> np.ndarray:
    """Bulk ESS of each coordinate of ``x`` (chain, draw, ...): ESS of the rank-normalised
    split chains (:func:`_ess_block`). NaN with fewer than 4 draws or any NaN draw."""
    return _per_block(x, lambda a: _ess_block(_z_scale(_split(a))), 1)


def ess_tail(x, probs=TAIL_PROBS) -> np.ndarray:
    """Tail ESS of each coordinate of ``x`` (chain, draw, ...).

    ``min`` over ``q`` in ``probs`` of the ESS of the split indicator chains
    ``1{x <= Q_q}``, ``Q_q`` the coordinate's ``q``-quantile over all draws (numpy's
    linear interpolation).
    """
    return _per_block(x, lambda a: _tail_block(a, probs), 1)


def summaries(x, probs=TAIL_PROBS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rhat_rank(x), ess_bulk(x), ess_tail(x, probs))`` in one pass over ``x``.

    The rank-normalised split chains are computed once for R-hat and the bulk ESS.
    """
    blocks, rest = _blocks(x)

    def one(a):
        res = [np.full(a.shape[0], np.nan) for _ in range(3)]
        ok = _valid(a, 1)
        if ok.any():
            b = a[ok]
            s = _split(b)
            z, ordered = _z_scale(s, with_sorted=True)
            res[1][ok] = _ess_block(z)
            # with an even number of draws the split chains hold every draw: their sorted
            # values give the quantiles of the tail ESS as well
            res[2][ok] = _tail_block(b, probs, ordered if a.shape[2] % 2 == 0 else None)
            if a.shape[1] >= 2:  # R-hat needs two chains (split R-hat of one: NaN, as ArviZ)
                res[0][ok] = np.maximum(_rhat_block(z), _folded_rhat(s, ordered))
        return res

    out = _map_blocks(one, blocks)
    return tuple(np.concatenate([r[i] for r in out]).reshape(rest) for i in range(3))


class Diagnostics(NamedTuple):
    """Worst-case summaries over all checked variables, and the warning texts."""

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergent: int
    n_max_treedepth: int
    warnings: tuple[str, ...]


def _worst(values: np.ndarray, da, reduce: str):
    """``(value, label)`` of the largest (``"max"``) or smallest entry of ``values``."""
    vals = np.asarray(values, dtype=float).ravel()
    if vals.size == 0 or np.all(np.isnan(vals)):
        return np.nan, ""
    i = int(np.nanargmax(vals) if reduce == "max" else np.nanargmin(vals))
    extra = [d for d in da.dims if d not in ("chain", "draw")]
    label = da.name
    if extra:
        # the coordinate labels of the flat index i over the extra dims (C order)
        idx = np.unravel_index(i, tuple(da.sizes[d] for d in extra))
        names = (str(da[d].values[j]) for d, j in zip(extra, idx, strict=True))
        label += "[" + ", ".join(names) + "]"
    return float(vals[i]), label


def check_diagnostics(idata, var_names, *, sampler: str, chains: int, tune: int,
                      rhat_max: float = 1.01, ess_min_per_chain: float = 100.0,
                      warn: bool = True, stacklevel: int = 3) -> Diagnostics:
    """Compute R-hat, bulk/tail ESS and divergences; warn loudly about each problem.

    Parameters
    ----------
    idata : xarray.DataTree
        With a ``posterior`` group (dims ``chain``, ``draw``) and, for NUTS,
        ``sample_stats`` holding ``diverging``.
    var_names : list of str
        Posterior variables to check.
    sampler, chains, tune : str, int, int
        Used to word the advice.
    rhat_max, ess_min_per_chain : float
        Thresholds: R-hat above ``rhat_max`` or an ESS below
        ``ess_min_per_chain * chains`` triggers a warning.
    warn : bool
        Emit each problem as a :class:`SamplingWarning` (it is always returned).
    """
    post = idata["posterior"].to_dataset()
    messages = []
    n_chains = post.sizes["chain"]
    worst = {"rhat": (np.nan, ""), "bulk": (np.nan, ""), "tail": (np.nan, "")}

    def update(key, value, where, reduce):
        best = worst[key][0]
        if np.isfinite(value) and (not np.isfinite(best)
                                   or (value > best if reduce == "max" else value < best)):
            worst[key] = (value, where)

    for name in var_names:
        da = post[name].transpose("chain", "draw", ...)
        rhat, bulk, tail = summaries(np.asarray(da.values, dtype=float))
        update("rhat", *_worst(rhat, da, "max"), "max")
        update("bulk", *_worst(bulk, da, "min"), "min")
        update("tail", *_worst(tail, da, "min"), "min")
    (max_rhat, where_rhat), (min_bulk, where_bulk), (min_tail, where_tail) = (
        worst["rhat"], worst["bulk"], worst["tail"])
    n_div = n_depth = 0
    if "sample_stats" in idata.children:
        sstats = idata["sample_stats"]
        if "diverging" in sstats:
            n_div = int(np.asarray(sstats["diverging"].values).sum())
        for name in ("reached_max_treedepth", "maxdepth_reached"):
            if name in sstats:
                n_depth = int(np.asarray(sstats[name].values).sum())
    n_total = n_chains * post.sizes["draw"]
    ess_min = ess_min_per_chain * n_chains

    if n_div:
        messages.append(
            f"{n_div} of {n_total} {sampler} NUTS transitions diverged: the sampler met curvature "
            f"it cannot follow (typically a funnel between a scale hyperparameter and the "
            f"coefficients). Raise tune (now {tune}) and target_accept (e.g. 0.95), or use a "
            "non-centred form; do not trust these draws until divergences are gone."
        )
    if np.isfinite(max_rhat) and max_rhat > rhat_max:
        messages.append(
            f"R-hat is {max_rhat:.3f} > {rhat_max} for {where_rhat}: the {n_chains} chains "
            f"disagree. Run longer (more tune than {tune} and more draws), check for several "
            "modes, and do not use these draws yet."
        )
    if np.isfinite(min_bulk) and min_bulk < ess_min:
        messages.append(
            f"bulk ESS is only {min_bulk:.0f} (< {ess_min:.0f}) for {where_bulk}: posterior "
            "means and medians carry large Monte-Carlo error. Draw more (raise draws) or "
            "use a better-mixing sampler (sampler='auto' picks the fastest valid one)."
        )
    if np.isfinite(min_tail) and min_tail < ess_min:
        messages.append(
            f"tail ESS is only {min_tail:.0f} (< {ess_min:.0f}) for {where_tail}: interval "
            "ends (5%/95% quantiles) are unreliable. Raise draws."
        )
    if n_depth:
        messages.append(
            f"{n_depth} of {n_total} NUTS transitions hit the maximum tree depth: sampling is "
            "slow and mixing may be poor. Raise tune, or reparametrise (rescale X)."
        )
    if warn:
        for msg in messages:
            warnings.warn(msg, SamplingWarning, stacklevel=stacklevel)
    return Diagnostics(max_rhat, min_bulk, min_tail, n_div, n_depth, tuple(messages))
