"""The ``mapreg`` argument parser; its priors and their options come from the registry."""

from __future__ import annotations

import argparse

from mapreg.app.prior_args import (
    dest,
    option_help,
    prior_table,
    registered_options,
)
from mapreg.priors import prior_class, prior_names

DESCRIPTION = """\
mapreg: a penalty is a prior.

The lasso is the posterior mode (MAP) under i.i.d. Laplace(b) priors on the
weights, with lambda = 1/b; ridge is the mode under Gaussian(sigma) priors, with
lambda = 1/(2 sigma^2). mapreg checks that to machine precision on your data,
then samples the whole posterior and shows what the mode hides.
"""

EXAMPLES = """\
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
"""

EXIT_CODES = """\
exit codes: 0 success; 1 the equivalence check failed; 2 bad input or usage
(one line on stderr says what); 3 an internal error, i.e. a bug in mapreg (set
MAPREG_DEBUG=1 for the traceback); 130 interrupted by Ctrl-C or SIGTERM (nothing
half-written is left, an earlier output is kept).

output: mapreg replaces only what it wrote itself (a report folder holding nothing
else, an earlier posterior file); it never writes over an input file, a device or a
folder holding a file it did not write: it says so in one line instead.
"""


class UsageError(ValueError):
    """Bad command-line usage; shown as one line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit code 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _prior_arguments(g) -> None:
    """``--prior`` (every registered name), ``--scale`` and every registered option."""
    names = prior_names()
    g.add_argument("--prior", choices=names, required=True, metavar="PRIOR",
                   help="one of %(choices)s (the table of priors below says what each is "
                        "and which options it takes); a non-convex prior's MAP is a "
                        "certified local mode; a prior without a mode can be sampled and "
                        "reported, not verified")
    g.add_argument("--scale", type=float, required=True, metavar="S",
                   help="the prior's main scale (> 0; larger means weaker shrinkage): "
                        "the field named after --scale in the table below")
    for name, (opt, owners) in registered_options().items():
        g.add_argument(f"--{name}", dest=dest(name), type=float, default=None,
                       metavar=opt.field.upper(), help=option_help(opt, owners))


def _data_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("data and model")
    g.add_argument("data", metavar="DATA",
                   help="CSV file with a header row, or a Parquet file (.parquet); all "
                        "columns but the target are features")
    g.add_argument("--target", required=True, metavar="COL",
                   help="name of the response column")
    g.add_argument("--family", choices=("gaussian", "bernoulli", "poisson"), default="gaussian",
                   help="likelihood: gaussian (identity link, known noise), bernoulli "
                        "(0/1 labels, logit link), poisson (counts, log link); "
                        "default: %(default)s")
    _prior_arguments(g)
    g.add_argument("--noise", type=float, default=None, metavar="S",
                   help="known noise standard deviation (gaussian family only); if left "
                        "out, the residual sd of a least-squares fit is used")
    g.add_argument("--no-intercept", action="store_true",
                   help="fit no intercept (by default an unpenalised, flat-prior intercept)")
    g.add_argument("--standardize", action="store_true",
                   help="scale each feature to mean 0, sd 1 first (coefficients are then "
                        "per standard deviation of the feature)")
    g.add_argument("--max-input", metavar="SIZE", default=None,
                   help="read at most this much of a CSV file (e.g. 4G, 500M); default "
                        "$MAPREG_MAX_INPUT or 1G. A Parquet file whose decoded table is "
                        "larger is read out of core instead")
    g.add_argument("--out-of-core", action="store_true",
                   help="read a Parquet file lazily with dask, a pass over its row groups "
                        "per fit (gaussian: one pass in all; needs the dask extra), whatever "
                        "its size")
    return p


def count(text: str) -> int:
    """A whole number, also written ``1e6``."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(value)


def _sampling_options(draws=1000, tune=1000, chains=4) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("sampling")
    g.add_argument("--draws", type=count, default=draws,
                   help="draws per chain (%(default)s)")
    g.add_argument("--tune", type=count, default=tune,
                   help="tuning / burn-in steps per chain (%(default)s)")
    g.add_argument("--chains", type=count, default=chains, help="chains (%(default)s)")
    g.add_argument("--sampler", default="auto",
                   choices=("auto", "exact", "gibbs", "hmc", "independence", "nutpie",
                            "pymc", "numpyro"),
                   help=f"auto picks the fastest valid one: {_fast_samplers()}, else the "
                        "cheapest by its cost model of Gibbs, HMC with a dense metric "
                        "(bernoulli / poisson; laplace, gaussian, elasticnet priors), "
                        "independence Metropolis-Hastings where its importance-sampling "
                        "plan is reliable, and NUTS")
    g.add_argument("--seed", type=int, default=None,
                   help="random seed, for reproducible output")
    return p


def _fast_samplers() -> str:
    """``"exact (--prior gaussian), gibbs (--prior laplace, ...)"``, from the registry."""
    parts = []
    for sampler in ("exact", "gibbs"):
        names = [n for n in prior_names() if sampler in prior_class(n).samplers]
        if names:
            parts.append(f"{sampler} (--prior {', '.join(names)}; Gaussian noise)")
    return ", ".join(parts)


def _common_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress messages or progress bars; results only")
    return p


_NO_CHOICES = ("leave out the report's 'Which lambda?' (cross-validation, empirical Bayes, "
               "a hyperprior) and 'Which prior?' (PSIS-LOO across priors) sections")


def _add_commands(sub, common, data, table) -> None:
    raw = argparse.RawDescriptionHelpFormatter
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
    demo.add_argument("--no-choices", action="store_true", help=_NO_CHOICES)
    demo.set_defaults(seed=0)
    sub.add_parser(
        "verify", parents=[data, common], help="MAP = penalised fit = scikit-learn on your data",
        formatter_class=raw, epilog=table,
        description="Fit the posterior mode and the equivalent penalised problem (and "
                    "scikit-learn's estimator where one exists) and print them side by "
                    "side. Exit code 0 only if they agree to ~1e-6 relative, with the same "
                    "exact zeros and a KKT certificate. For a non-convex prior (see the "
                    "table below) the mode is a certified local one, reached from w = 0. "
                    "A prior without a mode (the horseshoe) has nothing to verify: verify "
                    "refuses it (exit 2).")
    cvpath = sub.add_parser(
        "path", parents=[data, common], formatter_class=raw, epilog=table,
        help="which lambda? the MAP path and cross-validation",
        description="Solve the MAP over a decreasing grid of lambda (the prior scale for each), "
                    "cross-validate it (held-out mean deviance per row; the mean squared "
                    "error for the gaussian family) and print the lambdas chosen by the "
                    "minimum and the one-standard-error rule, with --bayes also by "
                    "empirical Bayes and by a half-Cauchy hyperprior on the scale.")
    cvpath.add_argument("--folds", type=int, default=5, help="cross-validation folds (5)")
    cvpath.add_argument("--n-lambdas", type=int, default=50, help="grid size (50)")
    cvpath.add_argument("--bayes", action="store_true",
                        help="also empirical Bayes and the hyperprior posterior (samples)")
    cvpath.add_argument("--seed", type=int, default=None, help="fold assignment and sampling")
    cvpath.add_argument("--out", metavar="FIG.png", default=None,
                        help="also save the CV curve with the chosen lambdas")
    sample = sub.add_parser(
        "sample", parents=[data, _sampling_options(), common], formatter_class=raw,
        epilog=table, help="sample the posterior; print mode vs posterior",
        description="Sample the posterior of your model and print, per coefficient, the "
                    "MAP beside the posterior mean, median, sd, interval and sign "
                    "probabilities.")
    sample.add_argument("--out", metavar="FILE.nc", default=None,
                        help="also save the posterior as netCDF")
    report = sub.add_parser(
        "report", parents=[data, _sampling_options(), common], formatter_class=raw,
        epilog=table, help="verify + sample + figures as an HTML report folder",
        description="Everything for your data: the equivalence check, the posterior, the "
                    "figures, written as a folder with index.html, PNGs, summary.json and "
                    "posterior.nc.")
    report.add_argument("--out", required=True, metavar="DIR", help="report folder")
    report.add_argument("--no-choices", action="store_true", help=_NO_CHOICES)
    from mapreg.app.compare import add_parser as add_compare

    add_compare(sub, common, _sampling_options(draws=1000, tune=500, chains=4), table)


def build_parser() -> argparse.ArgumentParser:
    """The ``mapreg`` argument parser, with the priors registered now.

    ``args.command`` names the command (``demo``, ``verify``, ``sample``, ``report``).
    """
    from mapreg import __version__

    table = prior_table()
    parser = _Parser(prog="mapreg", description=DESCRIPTION,
                     epilog="\n".join((EXAMPLES, table, "", EXIT_CODES)),
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mapreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_commands(sub, _common_options(), _data_options(), table)
    return parser
