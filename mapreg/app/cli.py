"""The ``mapreg`` command line: verify the prior/penalty equivalence, sample, and report.

Exit codes: 0 success; 1 the equivalence check (or the demo) did not pass;
2 bad input or usage (a one-line message on stderr); 130 interrupted; 3 an
internal error (set ``MAPREG_DEBUG=1`` to see its traceback).

The parser (:mod:`mapreg.app.parser`) is built when :func:`main` runs, from the
prior registry: a prior registered before then is on the command line with its
options.
"""

from __future__ import annotations

import math
import os
import sys
import time

from mapreg.app.parser import UsageError, build_parser
from mapreg.app.prior_args import dest, owners_text, registered_options
from mapreg.priors.registry import blame_option

__all__ = ["UsageError", "build_parser", "build_prior", "load_model", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _positive(value, flag: str) -> float:
    if value is None or not math.isfinite(value) or value <= 0.0:
        raise UsageError(f"{flag} must be a positive finite number, got {value:g}")
    return float(value)


def _log(args, msg: str) -> None:
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
    scale = _positive(args.scale, "--scale")
    try:
        return make_prior(name, scale, **given)
    except ValueError as exc:
        opt = blame_option(cls, str(exc), given)
        raise UsageError(f"--{opt.name}: {exc}" if opt else f"--prior {name}: {exc}") from None


def load_model(args):
    """Read the CSV and build the :class:`mapreg.Model` the options describe.

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
        noise = _positive(args.noise, "--noise")
        if args.family != "gaussian":
            raise UsageError(f"--noise applies only to --family gaussian, not {args.family}")
    data = read_csv(args.data, args.target, family=args.family)
    X = data.X
    if args.standardize:
        X, _, _ = standardize(X, data.feature_names)
    fit_intercept = not args.no_intercept
    noise_source = None
    if args.family == "gaussian":
        if noise is None:
            noise = estimate_noise_sigma(X, data.y, fit_intercept)
            noise_source = "least-squares residual sd (no --noise given)"
            _log(args, f"--noise not given: using the least-squares residual sd {noise:.4g}")
        else:
            noise_source = "--noise"
    model = Model(X, data.y, prior=prior, family=args.family, noise_sigma=noise,
                  fit_intercept=fit_intercept, feature_names=data.feature_names)
    info = {
        "file": os.path.abspath(data.path),
        "rows": int(X.shape[0]),
        "features": list(data.feature_names),
        "target": data.target_name,
        "standardized": bool(args.standardize),
        "noise_sigma_source": noise_source,
    }
    return model, info


def _describe(info) -> str:
    std = ", features standardised" if info["standardized"] else ""
    return (f"{os.path.basename(info['file'])}: {info['rows']} rows, target "
            f"{info['target']!r}, {len(info['features'])} features{std}")


def _check_sampling_args(args) -> None:
    for flag in ("draws", "chains"):
        if getattr(args, flag) < 1:
            raise UsageError(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    if args.tune < 0:
        raise UsageError(f"--tune must be at least 0, got {args.tune}")


def _sample(model, args):
    import warnings

    from mapreg.posterior.sample import sample_posterior

    _check_sampling_args(args)
    _log(args, f"sampling the posterior: {args.chains} chains x {args.draws} draws "
               f"(sampler {args.sampler})")
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = sample_posterior(model, draws=args.draws, tune=args.tune, chains=args.chains,
                                 sampler=args.sampler, random_seed=args.seed,
                                 progressbar=not args.quiet)
    seen = set()
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, UserWarning) and msg not in seen:
            seen.add(msg)
            print(f"mapreg: warning: {msg}", file=sys.stderr)
    used = idata.attrs.get("sampler", args.sampler)
    _log(args, f"sampled with {used} in {time.perf_counter() - t0:.1f} s")
    return idata


# --- commands -------------------------------------------------------------------------------


def cmd_verify(args) -> int:
    """``mapreg verify``: print the equivalence table; 0 only if it passed."""
    from mapreg.fit.verify import verify_equivalence
    from mapreg.priors import prior_class

    if not prior_class(args.prior).has_mode:
        raise UsageError(f"--prior {args.prior} has no posterior mode and no penalty, so there "
                         "is no MAP = penalised fit to verify; use 'mapreg sample' or "
                         "'mapreg report' for its posterior")
    model, info = load_model(args)
    report = verify_equivalence(model)
    print(_describe(info))
    print(report)
    note = _local_mode_note(model, report)
    if note:
        print(note)
    if not report.passed:
        print("mapreg: the equivalence check did not pass (see the table above)",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _local_mode_note(model, report) -> str:
    """For a non-convex prior, the line saying the MAP is a certified *local* mode."""
    if model.prior.convex:
        return ""
    what = f"{model.prior.name} prior ({model.prior.penalty().name} penalty)"
    return (f"  NOTE: the {what} is non-convex: the MAP is a certified local mode "
            f"(stationary, Hessian on the support positive definite: min curvature "
            f"{report.map.min_curvature:.3g}), reached from w = 0; it need not be the "
            "global mode")


def cmd_sample(args) -> int:
    """``mapreg sample``: sample, print the mode-vs-posterior table, optionally save."""
    from mapreg.app.files import atomic_write, write_netcdf
    from mapreg.app.report_sections import comparison_text

    _check_sampling_args(args)
    if args.out is not None:
        _check_writable_file(args.out)
    model, info = load_model(args)
    idata = _sample(model, args)
    print(_describe(info))
    print(f"model: {model!r}; sampler: {idata.attrs.get('sampler', args.sampler)}")
    print(comparison_text(idata))
    if args.out is not None:
        path = atomic_write(args.out, lambda tmp: write_netcdf(idata, tmp))
        _log(args, f"posterior written to {path}")
    return EXIT_OK


def cmd_report(args) -> int:
    """``mapreg report``: the whole job on the user's data, as a report folder."""
    from mapreg.app.files import check_destination
    from mapreg.app.report import model_report
    from mapreg.fit.verify import verify_equivalence

    _check_sampling_args(args)
    check_destination(args.out)
    model, info = load_model(args)
    equivalence = None
    if model.prior.has_mode:
        _log(args, "verifying MAP = penalised fit")
        equivalence = verify_equivalence(model)
    else:
        _log(args, f"skipping MAP = penalised fit: the {args.prior} prior has no posterior "
                   "mode")
    idata = _sample(model, args)
    title = f"mapreg report: {os.path.basename(info['file'])}"
    path = model_report(args.out, model, equivalence=equivalence, idata=idata, title=title,
                        data_info=info, settings=_settings(args),
                        log=lambda m: _log(args, m))
    print(_describe(info))
    if equivalence is None:
        print(f"MAP = penalised fit: skipped (the {args.prior} prior has no posterior mode "
              "and no penalty dual; the report shows its posterior only)")
        print(f"report written to {path}/index.html")
        return EXIT_OK
    print(equivalence)
    note = _local_mode_note(model, equivalence)
    if note:
        print(note)
    print(f"report written to {path}/index.html")
    return EXIT_OK if equivalence.passed else EXIT_FAILED


def cmd_demo(args) -> int:
    """``mapreg demo``: the equivalence table on diabetes, then the posterior and a report."""
    from mapreg.app.demo import NOISE_SIGMA, equivalence_demo_text, equivalence_rows

    _check_sampling_args(args)
    if not args.no_report:
        from mapreg.app.files import check_destination

        check_destination(args.out)
    _log(args, "verifying MAP = penalised fit = scikit-learn on diabetes over 7 prior scales "
               "(and timing pymc.find_MAP against it)")
    rows = equivalence_rows()
    demo_text = equivalence_demo_text(rows)
    print(demo_text, flush=True)
    passed = all(r["passed"] for r in rows)
    if args.no_report:
        return EXIT_OK if passed else EXIT_FAILED

    from mapreg.app.report import model_report
    from mapreg.datasets import load_diabetes
    from mapreg.fit.verify import verify_equivalence
    from mapreg.model import Model
    from mapreg.priors import make_prior

    data = load_diabetes()
    model = Model(data.X, data.y, prior=make_prior("laplace", 2.0), noise_sigma=NOISE_SIGMA,
                  feature_names=data.feature_names)
    equivalence = verify_equivalence(model)
    idata = _sample(model, args)
    info = {"file": "built-in: mapreg.datasets.load_diabetes()", "rows": int(data.X.shape[0]),
            "features": list(data.feature_names), "target": data.target_name,
            "standardized": True, "noise_sigma_source": "fixed at 53 (the demo's setting)"}
    path = model_report(args.out, model, equivalence=equivalence, idata=idata,
                        title="mapreg demo: a penalty is a prior (diabetes data)",
                        data_info=info, settings=_settings(args), demo_text=demo_text,
                        log=lambda m: _log(args, m))
    print(f"\nreport written to {path}/index.html")
    return EXIT_OK if (passed and equivalence.passed) else EXIT_FAILED


def _settings(args) -> dict:
    keys = ("draws", "tune", "chains", "sampler", "seed")
    return {k: getattr(args, k) for k in keys if hasattr(args, k)}


def _check_writable_file(path) -> None:
    if os.path.isdir(path):
        raise UsageError(f"--out {path}: is a directory; give a file name such as posterior.nc")
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.exists(parent) and not os.access(parent, os.W_OK):
        raise UsageError(f"--out {path}: cannot write to {parent}")


def _terminate_like_interrupt() -> None:
    """Make SIGTERM unwind like Ctrl-C, so temporary output is cleaned up either way."""
    import signal
    import threading

    def handler(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


COMMANDS = {"demo": cmd_demo, "verify": cmd_verify, "sample": cmd_sample, "report": cmd_report}


def main(argv=None) -> int:
    """Run the ``mapreg`` command line; return the exit code."""
    from mapreg.exceptions import DataError

    # Figures go to files: never open a window (or need a display) from the command line.
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    _terminate_like_interrupt()
    try:
        args = parser.parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, DataError) as exc:
        print(f"mapreg: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mapreg: interrupted; no partial output was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueError as exc:  # a model or report check (bad scale, destination, ...)
        if os.environ.get("MAPREG_DEBUG"):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else repr(exc)
        print(f"mapreg: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if os.environ.get("MAPREG_DEBUG"):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else ""
        print(f"mapreg: internal error: {type(exc).__name__}: {msg} "
              "(set MAPREG_DEBUG=1 to see the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
