"""The ``mapreg`` command line: verify the prior/penalty equivalence, sample, and report.

Exit codes: 0 success; 1 the equivalence check (or the demo) did not pass;
2 bad input or usage (a one-line message on stderr); 130 interrupted; 3 an
internal error (set ``MAPREG_DEBUG=1`` to see its traceback).

The parser (:mod:`mapreg.app.parser`) is built when :func:`main` runs, from the
prior registry: a prior registered before then is on the command line with its
options.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import warnings

from mapreg.app import interrupts
from mapreg.app.load import (
    build_prior,
    check_memory,
    check_sampling_args,
    describe,
    load_model,
    log,
    number,
)
from mapreg.app.parser import UsageError, build_parser

__all__ = ["UsageError", "build_parser", "build_prior", "load_model", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _sample(model, args):
    import warnings

    from mapreg.posterior.sample import sample_posterior

    check_sampling_args(args)
    check_memory(model, args)
    log(args, f"sampling the posterior: {args.chains} chains x {args.draws} draws "
               f"(sampler {args.sampler})")
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = sample_posterior(model, draws=args.draws, tune=args.tune, chains=args.chains,
                                 sampler=args.sampler, random_seed=args.seed,
                                 progressbar=not args.quiet)
    # A sampler that caught the Ctrl-C and returned what it had is still interrupted.
    interrupts.check()
    seen = set()
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, UserWarning) and msg not in seen:
            seen.add(msg)
            print(f"mapreg: warning: {msg}", file=sys.stderr)
    used = idata.attrs.get("sampler", args.sampler)
    log(args, f"sampled with {used} in {time.perf_counter() - t0:.1f} s")
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
    print(describe(info))
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
    from mapreg.app.files import atomic_write, check_file_destination, write_netcdf
    from mapreg.app.report_sections import comparison_text

    check_sampling_args(args)
    if args.out is not None:
        check_file_destination(args.out, inputs=[args.data])
    model, info = load_model(args)
    check_memory(model, args)
    idata = _sample(model, args)
    print(describe(info))
    print(f"model: {model!r}; sampler: {idata.attrs.get('sampler', args.sampler)}")
    print(comparison_text(idata))
    if args.out is not None:
        check_file_destination(args.out, inputs=[args.data])  # still ours to replace?
        path = atomic_write(args.out, lambda tmp: write_netcdf(idata, tmp))
        log(args, f"posterior written to {path}")
    return EXIT_OK


def cmd_path(args) -> int:
    """``mapreg path``: the MAP path, cross-validation and the chosen lambdas (a figure too)."""
    from mapreg.app.files import atomic_write, check_file_destination
    from mapreg.fit.cv import lambda_choices

    if args.out is not None:
        check_file_destination(args.out, inputs=[args.data])
    if args.folds < 2:
        raise UsageError(f"--folds must be at least 2, got {args.folds}")
    if args.n_lambdas < 2:
        raise UsageError(f"--n-lambdas must be at least 2, got {args.n_lambdas}")
    model, info = load_model(args)
    if not model.prior.has_mode:
        raise UsageError(f"--prior {args.prior} has no posterior mode and no penalty, so it has "
                         "no path over lambda; use 'mapreg sample' or 'mapreg report'")
    log(args, f"{args.folds}-fold cross-validation over {args.n_lambdas} lambdas")
    try:
        choices = lambda_choices(model, cv=args.folds, n_lambdas=args.n_lambdas,
                                 empirical_bayes=args.bayes, hyperprior=args.bayes,
                                 random_seed=args.seed)
    except ValueError as exc:  # e.g. a prior whose lambda does not move with its scale
        raise UsageError(f"--prior {args.prior}: {exc}") from None
    cv = choices.cv
    print(describe(info))
    print(f"model: {model!r}")
    print(f"path: lambda {cv.lambdas[0]:.4g} .. {cv.lambdas[-1]:.4g} ({len(cv.lambdas)} values), "
          f"worst KKT violation {float(cv.path.kkt_violation.max()):.2g}")
    print(f"held-out mean {cv.score} over {cv.n_folds} folds; the lambdas chosen:")
    table = choices.table.drop(columns="note").dropna(axis=1, how="all")  # no interval: CV only
    print(table.to_string(float_format=lambda v: f"{v:.5g}"))
    if args.out is not None:
        from mapreg import plots

        fig = plots.lambda_choices(choices)
        check_file_destination(args.out, inputs=[args.data])
        path = atomic_write(args.out, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
        log(args, f"figure written to {path}")
    return EXIT_OK


def cmd_report(args) -> int:
    """``mapreg report``: the whole job on the user's data, as a report folder."""
    from mapreg.app.files import check_destination
    from mapreg.app.report import model_report
    from mapreg.fit.verify import verify_equivalence

    check_sampling_args(args)
    check_destination(args.out, inputs=[args.data])
    model, info = load_model(args)
    check_memory(model, args)
    equivalence = None
    if model.prior.has_mode:
        log(args, "verifying MAP = penalised fit")
        equivalence = verify_equivalence(model)
    else:
        log(args, f"skipping MAP = penalised fit: the {args.prior} prior has no posterior "
                   "mode")
    idata = _sample(model, args)
    title = f"mapreg report: {os.path.basename(info['file'])}"
    path = model_report(args.out, model, equivalence=equivalence, idata=idata, title=title,
                        data_info=info, settings=_settings(args),
                        log=lambda m: log(args, m), inputs=[args.data],
                        choices=not args.no_choices)
    _stay_in(path)
    print(describe(info))
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

    check_sampling_args(args)
    if not args.no_report:
        from mapreg.app.files import check_destination

        check_destination(args.out)
    log(args, "verifying MAP = penalised fit = scikit-learn on diabetes over 7 prior scales "
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
                        log=lambda m: log(args, m), choices=not args.no_choices)
    _stay_in(path)
    print(f"\nreport written to {path}/index.html")
    return EXIT_OK if (passed and equivalence.passed) else EXIT_FAILED


def _settings(args) -> dict:
    keys = ("draws", "tune", "chains", "sampler", "seed")
    return {k: getattr(args, k) for k in keys if hasattr(args, k)}


def _stay_in(path) -> None:
    """After ``--out .`` replaced the current folder, stand in the new one."""
    try:
        os.getcwd()
    except FileNotFoundError:
        os.chdir(path)


def _absolute_paths(args) -> None:
    """Fix the input and output paths now: ``--out .`` may replace the current folder."""
    for name in ("data", "out"):
        if getattr(args, name, None) is not None:
            setattr(args, name, os.path.abspath(getattr(args, name)))


def _one_line_warnings():
    """Show each warning once, on one line; numpy's floating-point chatter not at all."""
    seen = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message).strip().splitlines()
        text = text[0] if text else category.__name__
        if text not in seen:
            seen.add(text)
            print(f"mapreg: warning: {text}", file=sys.stderr)

    warnings.showwarning = show
    warnings.filterwarnings("ignore", category=RuntimeWarning)


#: Options that, when extreme, are the likely cause of a numerical failure.
_EXTREME = (1e-50, 1e50)


def _blame(args) -> str:
    """The options with extreme values, for a numerical failure's message."""
    from mapreg.app.prior_args import dest, registered_options

    flags = ["scale", "noise", *(dest(n) for n in registered_options())]
    extreme = [f"--{f.replace('_', '-')} {number(v)}" for f in flags
               if isinstance(v := getattr(args, f, None), float)
               and math.isfinite(v) and v != 0 and not _EXTREME[0] <= abs(v) <= _EXTREME[1]]
    if extreme:
        return f" with {', '.join(extreme)}; try less extreme values"
    return "; the data may be badly scaled (try --standardize)"


def cmd_compare(args) -> int:
    """``mapreg compare``: PSIS-LOO across priors (:mod:`mapreg.app.compare`)."""
    from mapreg.app.compare import cmd_compare as run

    return run(args)


COMMANDS = {"demo": cmd_demo, "verify": cmd_verify, "sample": cmd_sample, "path": cmd_path,
            "report": cmd_report, "compare": cmd_compare}


def main(argv=None) -> int:
    """Run the ``mapreg`` command line; return the exit code."""
    # Figures go to files: never open a window (or need a display) from the command line.
    os.environ.setdefault("MPLBACKEND", "Agg")
    # The handler is in place before anything slow (imports, numba compilation) starts.
    with interrupts.handling(hard_exit=argv is None), warnings.catch_warnings():
        _one_line_warnings()
        code = _run(argv)
    if code == EXIT_INTERRUPTED and argv is None:
        # This process is the command and its output is already cleaned up: skip the
        # interpreter's teardown (seconds with PyMC, nutpie and numba loaded, while a
        # sampler's threads wind down) so that the signal is honoured at once.
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    return code


def _run(argv) -> int:
    """Parse and run one command; every way out is an exit code and at most one line."""
    from mapreg.exceptions import DataError

    args = None
    try:
        args = build_parser().parse_args(argv)
        _absolute_paths(args)
        code = COMMANDS[args.command](args)
        interrupts.check()
        return code
    except BaseException as exc:  # every exception becomes an exit code
        interrupts.unwinding()
        if interrupts.interrupted() or isinstance(exc, KeyboardInterrupt):
            # also what a sampler raises after catching the Ctrl-C itself (nutpie's
            # "conflicting sizes for dimension 'draw'")
            interrupts.report()
            return EXIT_INTERRUPTED
        if isinstance(exc, SystemExit | GeneratorExit):
            raise
        if isinstance(exc, UsageError | DataError):
            print(f"mapreg: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if os.environ.get("MAPREG_DEBUG"):
            raise
        return _report_failure(exc, args)


def _first_line(exc) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _report_failure(exc, args) -> int:
    """The one line for an exception that is not a usage error."""
    import numpy as np

    if isinstance(exc, MemoryError):
        print(f"mapreg: error: not enough memory ({_first_line(exc)}); use less data or fewer "
              "draws", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, ArithmeticError | np.linalg.LinAlgError):
        what = {OverflowError: "a number overflowed double precision",
                ZeroDivisionError: "a number underflowed to 0 and was divided by"}
        why = what.get(type(exc)) or _first_line(exc)
        print(f"mapreg: error: the computation failed numerically ({why})"
              f"{_blame(args) if args is not None else ''}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, ValueError):  # a model or report check (bad scale, destination, ...)
        print(f"mapreg: error: {_first_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    print(f"mapreg: internal error: {type(exc).__name__}: {_first_line(exc)} "
          "(set MAPREG_DEBUG=1 to see the traceback)", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
