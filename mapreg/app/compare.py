"""``mapreg compare``: which prior? PSIS-LOO across priors, each at a stated scale.

The data options are the other commands' (a CSV and ``--target``, or the built-in
diabetes data when no file is given); ``--priors`` lists the priors, each named alone
(its scale chosen by the rules of :mod:`mapreg.app.choices`) or with a scale
(``laplace=2``). Every prior's posterior is sampled (:func:`mapreg.compare_priors`, fast
samplers where they apply) and the ``arviz_stats.compare`` table is printed, with each
prior's largest Pareto ``k``; priors whose LOO estimate is unreliable are named in
capital letters below the table. ``--out DIR`` writes the table (``compare.csv``, full
precision) and a figure (``compare.png``) into a folder that appears whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

from mapreg.app import interrupts
from mapreg.app.choices import CHOOSE, DEFAULT_PRIORS, Chosen, choose_priors, parse_priors
from mapreg.app.load import check_sampling_args, describe, log, noise_option
from mapreg.app.parser import UsageError
from mapreg.app.prior_args import dest, option_help, registered_options

#: Files ``--out DIR`` holds.
TABLE_FILE, FIGURE_FILE = "compare.csv", "compare.png"
#: The printed table's columns (arviz_stats' ``elpd``/``p`` under their LOO names).
COLUMNS = {"rank": "rank", "elpd": "elpd_loo", "se": "se", "p": "p_loo",
           "elpd_diff": "elpd_diff", "dse": "dse", "weight": "weight",
           "max_pareto_k": "max_k", "n_high_pareto_k": "n_high_k", "sampler": "sampler"}


def _epilog(table: str) -> str:
    """The registry's table of priors, in --priors' terms (NAME=SCALE, not --scale)."""
    lines = table.splitlines()
    head = "priors (NAME or NAME=SCALE in --priors, the scale's name, and the options each takes):"
    return "\n".join([head, *(line.replace("--scale ", "scale ") for line in lines[1:])])


def add_parser(sub, common, sampling, epilog: str) -> None:
    """The ``compare`` subcommand and its options."""
    p = sub.add_parser(
        "compare", parents=[common, sampling], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_epilog(epilog), help="which prior? leave-one-out (PSIS-LOO) across priors",
        description="Sample the posterior under each prior of --priors and rank them by "
                    "PSIS-LOO expected log predictive density (arviz compare: elpd_loo, se, "
                    "p_loo, elpd_diff, dse, stacking weight), with each prior's largest "
                    "Pareto k. A prior named without a scale is placed by a stated rule: "
                    "lambda by cross-validation (--choose) for a prior with a penalty, "
                    "Piironen & Vehtari's tau0 = sigma/sqrt(n) for the horseshoes. Without "
                    "DATA.csv, the built-in diabetes data (standardised X, centred y).")
    g = p.add_argument_group("data and model")
    g.add_argument("data", metavar="DATA.csv", nargs="?", default=None,
                   help="CSV file with a header row (default: the built-in diabetes data)")
    g.add_argument("--target", metavar="COL", default=None,
                   help="name of the response column (required with DATA.csv)")
    g.add_argument("--family", choices=("gaussian", "bernoulli", "poisson"),
                   default="gaussian", help="likelihood (default: %(default)s)")
    g.add_argument("--noise", type=float, default=None, metavar="S",
                   help="known noise sd (gaussian family); default: the least-squares "
                        "residual sd")
    g.add_argument("--no-intercept", action="store_true", help="fit no intercept")
    g.add_argument("--standardize", action="store_true",
                   help="scale each feature of DATA.csv to mean 0, sd 1 first")
    g.add_argument("--max-input", metavar="SIZE", default=None,
                   help="read at most this much of DATA.csv (default $MAPREG_MAX_INPUT or 1G)")
    c = p.add_argument_group("priors")
    c.add_argument("--priors", default=",".join(DEFAULT_PRIORS), metavar="LIST",
                   help="comma-separated priors, each NAME or NAME=SCALE (default: "
                        "%(default)s)")
    c.add_argument("--choose", choices=CHOOSE, default="cv-min",
                   help="how lambda is chosen for a prior named without a scale: the CV "
                        "minimum, the CV one-SE rule, or empirical Bayes where it exists "
                        "(Laplace, Gaussian; gaussian family), else the CV minimum "
                        "(default: %(default)s)")
    c.add_argument("--folds", type=int, default=5, help="cross-validation folds (5)")
    for name, (opt, owners) in registered_options().items():
        text = option_help(opt, owners)
        if name == "scale2":  # the elastic net named without a scale needs none (choices.py)
            text = text.replace("(required there)", "(with elasticnet=B; elasticnet alone is "
                                "cross-validated along lam2 = lam/2, i.e. sigma^2 = b)")
        c.add_argument(f"--{name}", dest=dest(name), type=float, default=None,
                       metavar=opt.field.upper(), help=text)
    p.add_argument("--out", metavar="DIR", default=None,
                   help=f"also write {TABLE_FILE} and {FIGURE_FILE} into this folder")


# --- the data --------------------------------------------------------------------------------

def _builtin_model(args):
    from mapreg.datasets import load_diabetes
    from mapreg.model import Model
    from mapreg.preprocessing import estimate_noise_sigma
    from mapreg.priors import Gaussian

    if args.target is not None:
        raise UsageError("--target names a column of DATA.csv; give the file too (without "
                         "one, compare uses the built-in diabetes data)")
    if args.family != "gaussian":
        raise UsageError(f"--family {args.family} needs DATA.csv: the built-in diabetes "
                         "target is continuous (gaussian)")
    d = load_diabetes()
    fit_intercept = not args.no_intercept
    if args.noise is not None:
        noise, source = noise_option(args.noise), "--noise"
    else:
        noise = estimate_noise_sigma(d.X, d.y, fit_intercept)
        source = "least-squares residual sd (no --noise given)"
    model = Model(d.X, d.y, prior=Gaussian(1.0), noise_sigma=noise,
                  fit_intercept=fit_intercept, feature_names=d.feature_names)
    info = {"file": "built-in diabetes data", "rows": int(d.X.shape[0]),
            "features": list(d.feature_names), "target": d.target_name,
            "standardized": True, "noise_sigma_source": source}
    return model, info


def load_data(args):
    """The data as a :class:`mapreg.Model` (its prior a placeholder) and what was read."""
    from mapreg.app.load import load_model

    if args.data is None:
        return _builtin_model(args)
    if args.target is None:
        raise UsageError("--target is required with DATA.csv")
    # load_model reads, standardises and checks the data for one prior; the priors come
    # later, so it gets a placeholder (a Gaussian, which takes no option) and no options.
    placeholder = argparse.Namespace(**vars(args), prior="gaussian", scale=1.0)
    for name in registered_options():
        setattr(placeholder, dest(name), None)
    return load_model(placeholder)


# --- the command -----------------------------------------------------------------------------

def _options(args) -> dict:
    return {name: getattr(args, dest(name), None) for name in registered_options()}


def _scales_text(chosen: list[Chosen]) -> str:
    width = max(len(c.label) for c in chosen) + 2
    pwidth = max(len(c.text) for c in chosen) + 2
    lams = ["lambda = —" if c.lam is None else f"lambda = {c.lam:.4g}" for c in chosen]
    lwidth = max(map(len, lams)) + 2
    lines = [f"  {c.label:<{width}}{c.text:<{pwidth}}{lam:<{lwidth}}{c.how}"
             for c, lam in zip(chosen, lams, strict=True)]
    return "\n".join(lines)


def table_frame(table, chosen: list[Chosen]):
    """compare_priors' table with the scale columns, arviz' names as the LOO names."""
    by_label = {c.label: c for c in chosen}
    out = table[list(COLUMNS)].rename(columns=COLUMNS)
    out["good_k"] = [table.attrs["good_k"][name] for name in table.index]
    out["prior"] = [repr(by_label[name].prior) for name in table.index]
    out["scale"] = [float(by_label[name].prior.scale) for name in table.index]
    out["lam"] = [by_label[name].lam for name in table.index]
    out["scale_from"] = [by_label[name].how for name in table.index]
    out.index.name = "name"
    return out


def table_text(frame) -> str:
    fmt = {c: "{:.2f}".format for c in ("elpd_loo", "se", "p_loo", "elpd_diff", "dse", "max_k")}
    fmt["weight"] = "{:.3f}".format
    shown = frame[list(COLUMNS.values())].rename_axis(None)  # no header line of its own
    return shown.to_string(formatters=fmt)


def pareto_text(table) -> list[str]:
    """The loud lines for priors whose PSIS-LOO is unreliable (``table.attrs["warnings"]``)."""
    return [f"!! WARNING: {m.removeprefix('compare_priors: ')}" for m in table.attrs["warnings"]]


def check_memory(model, args, n_priors: int) -> None:
    """Refuse draws whose pointwise log-likelihoods (kept for every prior) cannot fit.

    Per prior the DataTree holds ``chains x draws`` values of each of the ``n`` rows'
    log-likelihood and the ``p`` coefficients (plus a few per draw); PSIS-LOO makes a
    copy of the log-likelihoods while it smooths them.
    """
    from mapreg.app.csv import format_size
    from mapreg.app.load import available_memory

    per_draw = 2 * model.n_samples + model.n_features + 20
    need = 8.0 * args.draws * args.chains * per_draw * n_priors
    avail = available_memory()
    if avail is not None and need > avail:
        raise UsageError(
            f"--draws {args.draws} x --chains {args.chains} x {n_priors} priors, each with "
            f"{model.n_samples} pointwise log-likelihoods per draw, need about "
            f"{format_size(need)} of memory, more than the {format_size(avail)} available; "
            "lower --draws or --chains")


def _compare(args, model, chosen):
    from mapreg.posterior.compare_priors import compare_priors

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = compare_priors(model.X, model.y, {c.label: c.prior for c in chosen},
                               family=model.family.name, noise_sigma=model.noise_sigma,
                               fit_intercept=model.fit_intercept,
                               feature_names=model.feature_names, draws=args.draws,
                               tune=args.tune, chains=args.chains, sampler=args.sampler,
                               random_seed=args.seed, progressbar=False)
    interrupts.check()  # a sampler that caught the Ctrl-C and returned is still interrupted
    loud = set(table.attrs["warnings"])
    seen = set()
    for w in caught:  # the samplers' convergence warnings, once each (Pareto k: below)
        msg = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        if msg and msg not in loud and msg not in seen and issubclass(w.category, UserWarning):
            seen.add(msg)
            print(f"mapreg: warning: {msg}", file=sys.stderr)
    return table


def _write(args, frame, table) -> str:
    from mapreg import plots
    from mapreg.app.files import atomic_directory

    fig = plots.prior_comparison(table)
    with atomic_directory(args.out, inputs=[args.data] if args.data else []) as tmp:
        frame.to_csv(tmp / TABLE_FILE)
        interrupts.check()
        fig.savefig(tmp / FIGURE_FILE, format="png", dpi=120)
    return args.out


def cmd_compare(args) -> int:
    """``mapreg compare``: print the LOO table across priors; 0 when it was computed."""
    check_sampling_args(args)
    if args.folds < 2:
        raise UsageError(f"--folds must be at least 2, got {args.folds}")
    try:
        specs = parse_priors(args.priors)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.out is not None:
        from mapreg.app.files import check_destination

        check_destination(args.out, inputs=[args.data] if args.data else [])
    model, info = load_data(args)
    check_memory(model, args, len(specs))
    log(args, f"placing {len(specs)} priors at their scales ({args.choose} for those "
               "named without one)")
    try:
        chosen = choose_priors(model, specs, _options(args), choose=args.choose,
                               folds=args.folds, random_seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    log(args, f"sampling {len(chosen)} posteriors: {args.chains} chains x {args.draws} draws "
               f"each (sampler {args.sampler})")
    t0 = time.perf_counter()
    table = _compare(args, model, chosen)
    log(args, f"sampled and compared in {time.perf_counter() - t0:.1f} s")
    frame = table_frame(table, chosen)
    print(describe(info))
    noise = "" if model.noise_sigma is None else f"; noise sd {model.noise_sigma:.5g}"
    print(f"family {model.family.name}{noise} ({info['noise_sigma_source'] or 'none'})")
    print("priors and their scales:")
    print(_scales_text(chosen))
    print(f"\nleave-one-out (PSIS-LOO) across priors, {args.chains} chains x {args.draws} "
          f"draws each; {table.attrs['method']} weights:")
    print(table_text(frame))
    unsettled = {n: int(k) for n, k in table["sampling_warnings"].items() if k}
    if unsettled:
        print("convergence: sampling warnings (on stderr) for "
              + ", ".join(f"{n} ({k})" for n, k in unsettled.items())
              + "; raise --draws / --tune before trusting those rows")
    loud = pareto_text(table)
    if loud:
        print()
        print("\n".join(loud))
    else:
        print(f"Pareto k: every observation below {max(table.attrs['good_k'].values()):.2f} "
              "under every prior (PSIS-LOO is reliable here)")
    if args.out is not None:
        path = _write(args, frame, table)
        log(args, f"table and figure written to {os.path.join(path, TABLE_FILE)} and "
                   f"{FIGURE_FILE}")
    return 0
