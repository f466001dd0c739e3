"""Loading a user's model from the command line's options, and the checks before a run.

:func:`build_prior` reads ``--prior``, ``--scale`` and the prior's own options through
the registry; :func:`load_model` reads the CSV and builds the :class:`~mapreg.Model`;
the ``check_*`` functions refuse, in one line, what would fail later (an overflowing loss,
impossible sampling settings, draws that do not fit in memory).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import warnings

import numpy as np

from mapreg.app import interrupts
from mapreg.app.parquet import is_parquet, read_parquet
from mapreg.app.parser import UsageError
from mapreg.app.prior_args import dest, owners_text, registered_options
from mapreg.priors.registry import blame_option


def number(value) -> str:
    """``value`` with as many digits as it takes to tell it apart (``2.0000001``, not ``2``)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def positive_option(value, flag: str) -> float:
    if value is None or not math.isfinite(value) or value <= 0.0:
        raise UsageError(f"{flag} must be a positive finite number, got {number(value)}")
    return float(value)


#: ``--noise`` range: the noise variance and its inverse stay finite, normal doubles.
NOISE_RANGE = (1e-150, 1e150)


def noise_option(value) -> float:
    noise = positive_option(value, "--noise")
    low, high = NOISE_RANGE
    if not low <= noise <= high:
        raise UsageError(f"--noise {number(noise)} is out of range: the noise variance "
                         f"{'underflows to 0' if noise < low else 'overflows'} in double "
                         f"precision; give a noise sd between {low:g} and {high:g} (or rescale "
                         "the target)")
    return noise


def log(args, msg: str) -> None:
    interrupts.check()  # every progress step is a checkpoint for a swallowed Ctrl-C
    if not getattr(args, "quiet", False):
        print(f"[mapreg] {msg}", file=sys.stderr, flush=True)


# --- loading a user's model -----------------------------------------------------------------


def build_prior(args):
    """The :class:`mapreg.priors.Prior` that ``--prior``, ``--scale`` and its options describe.

    Built by :func:`mapreg.priors.make_prior` from the registered class's options
    (``--p``, ``--scale2``, ``--nu``, or any option a registered prior declares).

    Raises
    ------
    UsageError
        An option missing, given to a prior that does not take it, or out of range.
    """
    from mapreg.priors import make_prior, prior_class

    name = args.prior
    cls = prior_class(name)
    declared = {opt.name for opt in cls.options}
    for opt_name, (_, owners) in registered_options().items():
        if getattr(args, dest(opt_name), None) is not None and opt_name not in declared:
            raise UsageError(f"--{opt_name} applies only to {owners_text(owners)}, not {name}")
    given = {opt.name: getattr(args, dest(opt.name), None) for opt in cls.options}
    for opt in cls.options:
        if given[opt.name] is None and opt.default is None:
            raise UsageError(f"--prior {name} needs --{opt.name} ({opt.help})")
    scale = positive_option(args.scale, "--scale")
    try:
        return make_prior(name, scale, **given)
    except ValueError as exc:
        opt = blame_option(cls, str(exc), given)
        raise UsageError(f"--{opt.name}: {exc}" if opt else f"--prior {name}: {exc}") from None


def load_model(args):
    """Read the CSV or Parquet file and build the :class:`mapreg.Model` the options describe.

    A Parquet file (:mod:`mapreg.app.parquet`) is read into memory when it fits in
    ``--max-input``, and out of core (a dask-backed model) when larger or with
    ``--out-of-core``.

    Returns
    -------
    model : Model
    info : dict
        What was read and chosen (file, rows, target, standardised, noise source).
    """
    from mapreg.app.csv import read_csv
    from mapreg.model import Model
    from mapreg.preprocessing import estimate_noise_sigma, standardize

    prior = build_prior(args)
    noise = None
    if args.noise is not None:
        noise = noise_option(args.noise)
        if args.family != "gaussian":
            raise UsageError(f"--noise applies only to --family gaussian, not {args.family}")
    if getattr(args, "out_of_core", False) and not is_parquet(args.data):
        raise UsageError(f"--out-of-core applies to Parquet files (.parquet), not {args.data}")
    if is_parquet(args.data):
        data = read_parquet(args.data, args.target, family=args.family,
                            max_bytes=getattr(args, "max_input", None),
                            out_of_core=getattr(args, "out_of_core", False))
        if data.lazy:
            return _lazy_model(args, data, prior, noise)
    else:
        data = read_csv(args.data, args.target, family=args.family,
                        max_bytes=getattr(args, "max_input", None))
    X = data.X
    if args.standardize:
        X, _, _ = standardize(X, data.feature_names)
    fit_intercept = not args.no_intercept
    noise_source = None
    if args.family == "gaussian":
        if noise is None:
            noise = estimate_noise_sigma(X, data.y, fit_intercept)
            noise_source = "least-squares residual sd (no --noise given)"
            log(args, f"--noise not given: using the least-squares residual sd {noise:.4g}")
        else:
            noise_source = "--noise"
        if not NOISE_RANGE[0] <= noise <= NOISE_RANGE[1]:
            raise UsageError(f"the least-squares residual sd of {args.data} is {number(noise)}, "
                             "out of the range double precision handles; rescale the target "
                             "or give --noise")
    try:
        model = Model(X, data.y, prior=prior, family=args.family, noise_sigma=noise,
                      fit_intercept=fit_intercept, feature_names=data.feature_names)
    except ValueError as exc:
        raise UsageError(str(exc).replace("set fit_intercept=False", "use --no-intercept")
                         .replace("fit_intercept=False", "--no-intercept")) from None
    check_finite_loss(model)
    info = {
        "file": os.path.abspath(data.path),
        "rows": int(X.shape[0]),
        "features": list(data.feature_names),
        "target": data.target_name,
        "standardized": bool(args.standardize),
        "noise_sigma_source": noise_source,
    }
    return model, info


def _lazy_model(args, data, prior, noise):
    """The dask-backed model of an out-of-core Parquet file (:mod:`mapreg.app.parquet`).

    The first pass over the file validates it (one-line errors in file terms) and gives
    the statistics every fit reads; ``--standardize`` and a noise estimate (no ``--noise``)
    come from that pass too, and the standardised model then makes its own.
    """
    from mapreg.app.parquet import describe_size, lazy_checks
    from mapreg.backends.dask_stats import DaskData
    from mapreg.families import make_family
    from mapreg.model import Model

    fit_intercept = not args.no_intercept
    gaussian = args.family == "gaussian"
    log(args, f"{os.path.basename(data.path)}: {data.rows} rows, {describe_size(data)}")
    # the model's own family when nothing is derived from the data first: its first pass
    # (cached by data and family) is then the one every fit reads, the only one
    known = not args.standardize and (noise is not None or not gaussian)
    family = make_family(args.family, (noise or 1.0) if gaussian else None)
    raw = DaskData(data.X, data.y, family)
    lazy_checks(data, args.family, fit_intercept, raw)
    X, st = data.X, (raw.stats() if not known else None)
    if args.standardize:
        scale = np.sqrt(np.diag(st.Sxx) / st.n)  # divisor n, as standardize()
        if np.any(scale == 0.0):
            const = data.feature_names[int(np.flatnonzero(scale == 0.0)[0])]
            raise UsageError(f"column {const!r} is constant, so it cannot be standardised; "
                             "drop it or leave out --standardize")
        X = (X - st.x_mean) / scale
        st = dataclasses.replace(st, x_mean=np.zeros(st.p), Sxx=st.Sxx / np.outer(scale, scale),
                                 Sxy=st.Sxy / scale)
    noise_source = None
    if args.family == "gaussian":
        noise_source = "--noise"
        if noise is None:
            noise = _noise_from_stats(st, fit_intercept)
            noise_source = "least-squares residual sd (no --noise given)"
            log(args, f"--noise not given: using the least-squares residual sd {noise:.4g}")
    model = Model(X, data.y, prior=prior, family=args.family, noise_sigma=noise,
                  fit_intercept=fit_intercept, feature_names=data.feature_names)
    info = {"file": os.path.abspath(data.path), "rows": int(data.rows),
            "features": list(data.feature_names), "target": data.target_name,
            "standardized": bool(args.standardize), "noise_sigma_source": noise_source,
            "out_of_core": True}
    return model, info


def _noise_from_stats(st, fit_intercept: bool) -> float:
    """:func:`mapreg.preprocessing.estimate_noise_sigma` from the statistics:
    ``sqrt(RSS / (n - rank))`` of least squares, else the sd of ``y``, else 1."""
    from mapreg.posterior.sufficient import stats_from_gram

    ls = stats_from_gram(st, fit_intercept)
    rank = np.linalg.matrix_rank(ls.ZtZ)
    dof = st.n - int(rank)
    ymax = max(abs(st.y_mean), math.sqrt(st.Syy / st.n))
    if dof > 0:
        s = math.sqrt(ls.r0 / dof)
        if math.isfinite(s) and s > 1e-12 * max(1.0, ymax):
            return s
    s = math.sqrt(st.Syy / st.n)
    return s if s > 0.0 and math.isfinite(s) else 1.0


def check_finite_loss(model) -> None:
    """Refuse data and options whose loss gradient or curvature at ``w = 0`` overflows."""

    X, y, family = model.X, model.y, model.family
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            eta = np.full(len(y), family.initial_intercept(y) if model.fit_intercept else 0.0)
            d0, h0 = family.dloss(eta, y), family.d2loss(eta, y)
            grad, curv = X.T @ d0, (X * X).T @ h0
        except ArithmeticError:
            d0 = grad = curv = np.array([np.inf])
    if np.all(np.isfinite(d0)) and np.all(np.isfinite(grad)) and np.all(np.isfinite(curv)):
        return
    bad = np.flatnonzero(~(np.isfinite(grad) & np.isfinite(curv)))
    where = (f"column {model.feature_names[bad[0]]!r}"
             if bad.size and bad[0] < len(model.feature_names) else "the target")
    raise UsageError(f"the loss at w = 0 overflows double precision for {where}: rescale the "
                     "data (--standardize) or choose a larger --noise")


def describe(info) -> str:
    std = ", features standardised" if info["standardized"] else ""
    std += ", read out of core" if info.get("out_of_core") else ""
    return (f"{os.path.basename(info['file'])}: {info['rows']} rows, target "
            f"{info['target']!r}, {len(info['features'])} features{std}")


def check_sampling_args(args) -> None:
    for flag in ("draws", "chains"):
        if getattr(args, flag) < 1:
            raise UsageError(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    if args.tune < 0:
        raise UsageError(f"--tune must be at least 0, got {args.tune}")


#: Values held per draw besides the coefficients (intercept, hyperparameters, sampler
#: statistics), and how many copies of the draws exist at once (the sampler's buffer,
#: the DataTree, the netCDF writer's).
_PER_DRAW_EXTRA, _COPIES = 20, 3


def available_memory() -> int | None:
    """Bytes this process can still allocate: the least of free RAM, cgroup and rlimit."""
    limits = []
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        limits.append(int(info["MemAvailable"].split()[0]) * 1024)
    except (OSError, KeyError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            high = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
        if high != "max":
            limits.append(int(high) - used)
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            limits.append(soft - used)
    except (OSError, ValueError, ImportError, AttributeError):
        pass
    return max(0, min(limits)) if limits else None


def check_memory(model, args) -> None:
    """Refuse ``--draws`` x ``--chains`` whose draws cannot fit in memory (before sampling).

    The DataTree holds ``coef`` (draws x chains x p) and a few values per draw (no
    log-likelihood group, which would add ``n`` per draw).
    """
    from mapreg.app.csv import format_size

    per_draw = model.n_features + _PER_DRAW_EXTRA
    need = 8.0 * args.draws * args.chains * per_draw * _COPIES
    avail = available_memory()
    if avail is not None and need > avail:
        raise UsageError(
            f"--draws {args.draws} x --chains {args.chains} x {model.n_features} coefficients "
            f"need about {format_size(need)} of memory for the draws, more than the "
            f"{format_size(avail)} available; lower --draws or --chains")
