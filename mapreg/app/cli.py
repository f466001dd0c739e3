"""The ``mapreg`` command line: verify the prior/penalty equivalence, sample, and report.

Exit codes: 0 success; 1 the equivalence check (or the demo) did not pass;
2 bad input or usage (a one-line message on stderr); 130 interrupted; 3 an
internal error (set ``MAPREG_DEBUG=1`` to see its traceback).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: ``--prior`` names, and the extra option each one needs.
PRIORS = ("laplace", "gaussian", "elasticnet", "bridge", "student-t", "cauchy", "horseshoe")
_EXTRA = {"--scale2": ("scale2", "elasticnet"), "--p": ("p", "bridge"),
          "--nu": ("nu", "student-t")}

DESCRIPTION = """\
mapreg: a penalty is a prior.

The lasso is the posterior mode (MAP) under i.i.d. Laplace(b) priors on the
weights, with lambda = 1/b; ridge is the mode under Gaussian(sigma) priors, with
lambda = 1/(2 sigma^2). mapreg checks that to machine precision on your data,
then samples the whole posterior and shows what the mode hides.
"""

EPILOG = """\
examples:
  mapreg demo --out mapreg-report
  mapreg verify data.csv --target y --prior laplace --scale 2 --noise 50 --standardize
  mapreg verify data.csv --target sick --family bernoulli --prior gaussian --scale 1
  mapreg verify data.csv --target y --prior elasticnet --scale 2 --scale2 5 --noise 50
  mapreg verify data.csv --target y --prior bridge --scale 2 --p 0.5 --noise 50
  mapreg verify data.csv --target y --prior student-t --scale 1 --nu 3 --noise 50
  mapreg sample data.csv --target y --prior laplace --scale 2 --seed 1 --out post.nc
  mapreg report data.csv --target y --prior horseshoe --scale 1 --noise 50 --out hs-report
  mapreg report data.csv --target count --family poisson --prior gaussian --scale 0.5 \\
      --out my-report

The CSV needs a header row; every column except --target is a feature. Run
'mapreg COMMAND --help' for a command's options.

priors (--prior, with --scale and the extra option each needs):
  laplace     b                  L1 (lasso), lambda = 1/b
  gaussian    sigma              squared L2 (ridge), lambda = 1/(2 sigma^2)
  elasticnet  b, --scale2 sigma  L1 + squared L2 (scikit-learn ElasticNet)
  bridge      alpha, --p P       lambda |w|^p, lambda = alpha^-p, 0 < p <= 2
  student-t   s, --nu NU         log penalty (nu+1)/2 log(1 + w^2/(nu s^2))
  cauchy      s                  student-t with nu = 1
  horseshoe   tau0               no mode, no penalty: use sample / report, not verify
bridge with p < 1, student-t and cauchy are non-convex: verify then certifies a
*local* mode (reached from w = 0), not the global one.

exit codes: 0 success; 1 the equivalence check failed; 2 bad input or usage
(one line on stderr says what); 130 interrupted (nothing half-written is left).
"""


class UsageError(ValueError):
    """Bad command-line usage; shown as one line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit code 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _positive(value, flag: str) -> float:
    if value is None or not math.isfinite(value) or value <= 0.0:
        raise UsageError(f"{flag} must be a positive finite number, got {value:g}")
    return float(value)


def _log(args, msg: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"[mapreg] {msg}", file=sys.stderr, flush=True)


# --- building the parser ------------------------------------------------------------------


def _data_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("data and model")
    g.add_argument("data", metavar="DATA.csv",
                   help="CSV file with a header row; all columns but the target are features")
    g.add_argument("--target", required=True, metavar="COL",
                   help="name of the response column")
    g.add_argument("--family", choices=("gaussian", "bernoulli", "poisson"), default="gaussian",
                   help="likelihood: gaussian (identity link, known noise), bernoulli "
                        "(0/1 labels, logit link), poisson (counts, log link); "
                        "default: %(default)s")
    g.add_argument("--prior", choices=PRIORS, required=True, metavar="PRIOR",
                   help="one of %(choices)s. laplace = L1 / lasso; gaussian = squared L2 / "
                        "ridge; elasticnet = Laplace x Gaussian = L1 + squared L2 (needs "
                        "--scale2); bridge = generalized normal = lambda sum |w|^p (needs "
                        "--p); student-t = log penalty (needs --nu); cauchy = student-t with "
                        "nu = 1; horseshoe = posterior only (no mode, no penalty: 'sample' "
                        "and 'report' only). bridge with p < 1, student-t and cauchy are "
                        "non-convex: their MAP is a certified local mode")
    g.add_argument("--scale", type=float, required=True, metavar="B",
                   help="main prior scale (> 0); larger means weaker shrinkage. laplace: b "
                        "(lambda = 1/b); gaussian: sigma (lambda = 1/(2 sigma^2)); "
                        "elasticnet: b of the Laplace factor; bridge: alpha (lambda = "
                        "alpha^-p); student-t / cauchy: s; horseshoe: the global scale tau0 "
                        "(tau ~ HalfCauchy(tau0))")
    g.add_argument("--scale2", type=float, default=None, metavar="SIGMA",
                   help="elasticnet only: sigma (> 0) of the Gaussian factor "
                        "(squared-L2 weight 1/(2 sigma^2))")
    g.add_argument("--p", type=float, default=None, metavar="P",
                   help="bridge only: the exponent, 0 < p <= 2 (1 = laplace, 2 = gaussian "
                        "with sigma = alpha/sqrt(2); p < 1 is non-convex)")
    g.add_argument("--nu", type=float, default=None, metavar="NU",
                   help="student-t only: degrees of freedom (> 0); lambda = (nu+1)/2, "
                        "delta = nu s^2 in lambda sum log(1 + w^2/delta)")
    g.add_argument("--noise", type=float, default=None, metavar="S",
                   help="known noise standard deviation (gaussian family only); if left "
                        "out, the residual sd of a least-squares fit is used")
    g.add_argument("--no-intercept", action="store_true",
                   help="fit no intercept (by default an unpenalised, flat-prior intercept)")
    g.add_argument("--standardize", action="store_true",
                   help="scale each feature to mean 0, sd 1 first (coefficients are then "
                        "per standard deviation of the feature)")
    return p


def _sampling_options(draws=1000, tune=1000, chains=4) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("sampling")
    g.add_argument("--draws", type=int, default=draws, help="draws per chain (%(default)s)")
    g.add_argument("--tune", type=int, default=tune,
                   help="tuning / burn-in steps per chain (%(default)s)")
    g.add_argument("--chains", type=int, default=chains, help="chains (%(default)s)")
    g.add_argument("--sampler", default="auto",
                   choices=("auto", "exact", "gibbs", "nutpie", "pymc", "numpyro"),
                   help="auto picks the fastest valid one: exact (Gaussian prior and "
                        "noise), gibbs (Gaussian, Laplace or horseshoe prior; Gaussian noise, "
                        "or Bernoulli by Polya-Gamma) where cheaper than NUTS, else NUTS")
    g.add_argument("--seed", type=int, default=None,
                   help="random seed, for reproducible output")
    return p


def _common_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress messages or progress bars; results only")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``mapreg`` argument parser."""
    parser = _Parser(prog="mapreg", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from mapreg import __version__

    parser.add_argument("--version", action="version", version=f"mapreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common, data = _common_options(), _data_options()

    demo = sub.add_parser(
        "demo", parents=[common, _sampling_options(draws=1000, tune=500, chains=4)],
        help="the whole job on the built-in diabetes data, with a report",
        description="On the diabetes data (442 patients, 10 standardised features, centred "
                    "y, noise sd 53): print the MAP = lasso/ridge table over several prior "
                    "scales, sample the Laplace(b=2) posterior, draw the figures and write "
                    "a report folder (index.html, PNGs, summary.json, posterior.nc).")
    demo.add_argument("--out", default="mapreg-report", metavar="DIR",
                      help="report folder (default: %(default)s)")
    demo.add_argument("--no-report", action="store_true",
                      help="only print the equivalence table (no sampling, no report)")
    demo.set_defaults(func=cmd_demo, seed=0)

    verify = sub.add_parser(
        "verify", parents=[data, common], help="MAP = penalised fit = scikit-learn on your data",
        description="Fit the posterior mode and the equivalent penalised problem (and "
                    "scikit-learn's estimator where one exists) and print them side by "
                    "side. Exit code 0 only if they agree to ~1e-6 relative, with the same "
                    "exact zeros and a KKT certificate. For a non-convex prior (bridge with "
                    "p < 1, student-t, cauchy) the mode is a certified local one, reached "
                    "from w = 0. The horseshoe has no mode: verify refuses it (exit 2).")
    verify.set_defaults(func=cmd_verify)

    sample = sub.add_parser(
        "sample", parents=[data, _sampling_options(), common],
        help="sample the posterior; print mode vs posterior",
        description="Sample the posterior of your model and print, per coefficient, the "
                    "MAP beside the posterior mean, median, sd, interval and sign "
                    "probabilities.")
    sample.add_argument("--out", metavar="FILE.nc", default=None,
                        help="also save the posterior as netCDF")
    sample.set_defaults(func=cmd_sample)

    report = sub.add_parser(
        "report", parents=[data, _sampling_options(), common],
        help="verify + sample + figures as an HTML report folder",
        description="Everything for your data: the equivalence check, the posterior, the "
                    "figures, written as a folder with index.html, PNGs, summary.json and "
                    "posterior.nc.")
    report.add_argument("--out", required=True, metavar="DIR", help="report folder")
    report.set_defaults(func=cmd_report)
    return parser


# --- loading a user's model -----------------------------------------------------------------


def build_prior(args):
    """The :class:`mapreg.priors.Prior` that ``--prior``, ``--scale`` and its extras describe.

    Parameters
    ----------
    args : argparse.Namespace
        With ``prior``, ``scale`` and (optional) ``scale2``, ``p``, ``nu``.

    Returns
    -------
    Prior
        ``Laplace(b)``, ``Gaussian(sigma)``, ``ElasticNet(b, sigma)``,
        ``GeneralizedNormal(alpha, p)``, ``StudentT(nu, s)``, ``Cauchy(s)`` or
        ``Horseshoe(tau0)``.

    Raises
    ------
    UsageError
        An extra option missing, given to a prior that does not use it, or out of range.
    """
    from mapreg.priors import (
        Cauchy,
        ElasticNet,
        Gaussian,
        GeneralizedNormal,
        Horseshoe,
        Laplace,
        StudentT,
    )

    name = args.prior
    for flag, (attr, owner) in _EXTRA.items():
        given = getattr(args, attr, None) is not None
        if given and name != owner:
            raise UsageError(f"{flag} applies only to --prior {owner}, not {name}")
        if not given and name == owner:
            what = {"--scale2": "sigma of the Gaussian factor, > 0",
                    "--p": "the exponent, 0 < p <= 2",
                    "--nu": "degrees of freedom, > 0"}[flag]
            raise UsageError(f"--prior {name} needs {flag} ({what})")
    scale = _positive(args.scale, "--scale")
    if name == "laplace":
        return Laplace(scale)
    if name == "gaussian":
        return Gaussian(scale)
    if name == "elasticnet":
        return ElasticNet(scale, _positive(args.scale2, "--scale2"))
    if name == "bridge":
        p = args.p
        if not math.isfinite(p) or not 0.0 < p <= 2.0:
            raise UsageError(f"--p must be in (0, 2], got {p:g}")
        return GeneralizedNormal(scale, float(p))
    if name == "student-t":
        return StudentT(_positive(args.nu, "--nu"), scale)
    if name == "cauchy":
        return Cauchy(scale)
    if name == "horseshoe":
        return Horseshoe(scale)
    raise UsageError(f"unknown --prior {name!r}")  # pragma: no cover - argparse checks it


HORSESHOE_VERIFY = ("--prior horseshoe has no posterior mode and no penalty (its density is "
                    "infinite at w = 0), so there is no MAP = penalised fit to verify; use "
                    "'mapreg sample' or 'mapreg report' for its posterior")


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

    if args.prior == "horseshoe":
        raise UsageError(HORSESHOE_VERIFY)
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
    if getattr(model.prior, "convex", True):
        return ""
    what = ("bridge penalty with p < 1" if model.prior.penalty().name == "bridge"
            else "Student-t (log) penalty")
    return (f"  NOTE: the {what} is non-convex: the MAP is a certified local mode "
            f"(stationary, Hessian on the support positive definite: min curvature "
            f"{report.map.min_curvature:.3g}), reached from w = 0; it need not be the "
            "global mode")


def cmd_sample(args) -> int:
    """``mapreg sample``: sample, print the mode-vs-posterior table, optionally save."""
    from mapreg.app.report import atomic_write, comparison_text, write_netcdf

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
    from mapreg.app.report import check_destination, model_report
    from mapreg.fit.verify import verify_equivalence

    _check_sampling_args(args)
    check_destination(args.out)
    model, info = load_model(args)
    equivalence = None
    if getattr(model.prior, "has_mode", True):
        _log(args, "verifying MAP = penalised fit")
        equivalence = verify_equivalence(model)
    else:
        _log(args, "skipping MAP = penalised fit: the horseshoe has no posterior mode")
    idata = _sample(model, args)
    title = f"mapreg report: {os.path.basename(info['file'])}"
    path = model_report(args.out, model, equivalence=equivalence, idata=idata, title=title,
                        data_info=info, settings=_settings(args),
                        log=lambda m: _log(args, m))
    print(_describe(info))
    if equivalence is None:
        print("MAP = penalised fit: skipped (the horseshoe has no posterior mode and no "
              "penalty dual; the report shows its posterior only)")
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
        from mapreg.app.report import check_destination

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
    from mapreg.priors import Laplace

    data = load_diabetes()
    model = Model(data.X, data.y, prior=Laplace(2.0), noise_sigma=NOISE_SIGMA,
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


def main(argv=None) -> int:
    """Run the ``mapreg`` command line; return the exit code."""
    from mapreg.exceptions import DataError

    # Figures go to files: never open a window (or need a display) from the command line.
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    _terminate_like_interrupt()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
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
