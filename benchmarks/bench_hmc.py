"""HMC with the Gaussian approximation's dense metric against nutpie and ``sampler="auto"``.

Problems: the breast-cancer logistic lasso (569 x 30 standardised, Laplace(1), intercept;
``bench_samplers.py --sizes``), the same with a Gaussian(1) prior, and the synthetic
poisson lasso of ``bench_independence.py`` (2,000 x 20, Laplace(0.5)). Each run is a fresh
Python process (compilation, the MAP and the Gaussian approximation inside the timed
call; library imports before it), 4 chains x (1,000 tune + 1,000 draws), seeds 0..2 by
default. auto and nutpie run through ``sample_posterior``; HMC through
:func:`mapreg.posterior.hmc.sample_hmc` (so that ``--path`` can be varied; it is also
``sample_posterior(sampler="hmc")``) followed by the same result building that
``sample_posterior`` does (DataTree, pointwise log-likelihood, diagnostics), so the wall
times compare the same work; ``sample_s`` is HMC's sampler call alone.

Figure: min bulk ESS (coef and intercept; mapreg's ess_bulk, equal to arviz_stats') per
wall second.

Usage::

    .venv/bin/python benchmarks/bench_hmc.py [--seeds 0 1 2] [--samplers hmc auto nutpie]

Writes ``benchmarks/results/hmc.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBLEMS = ("breast cancer laplace", "breast cancer gaussian", "poisson lasso 2000x20")
SAMPLERS = ("hmc", "auto", "nutpie")


def problem(name: str):
    sys.path.insert(0, str(HERE))
    from bench_independence import problem as independence_problem

    return independence_problem(name)


def _hmc_tree(model, draws, tune, chains, seed, path):
    """sample_hmc, then what sample_posterior does with any sampler's draws."""
    from mapreg.posterior.datatree import build_tree
    from mapreg.posterior.diagnostics import check_diagnostics
    from mapreg.posterior.hmc import PATH, sample_hmc
    from mapreg.posterior.loglik import add_log_likelihood

    t0 = time.perf_counter()
    d = sample_hmc(model, draws, tune, chains, seed, path=PATH if path is None else path)
    sample_s = time.perf_counter() - t0
    tree = add_log_likelihood(build_tree(model, d, "hmc"), model, "auto")
    check_diagnostics(tree, ["coef", "intercept"], sampler="hmc", chains=chains, tune=tune)
    return tree, d.attrs, sample_s


def run_one(name: str, sampler: str, seed: int, path: float | None = None) -> dict:
    # library imports before the clock, as in bench_samplers.py
    import arviz_stats.base  # noqa: F401
    import dask.array  # noqa: F401
    import jax  # noqa: F401
    import numpy as np
    import nutpie  # noqa: F401
    import pymc  # noqa: F401

    import mapreg
    import mapreg.posterior.sample
    from mapreg.posterior.diagnostics import ess_bulk

    model = problem(name)
    chains, draws, tune = 4, 1000, 1000
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sampler == "hmc":
            tree, attrs, sample_s = _hmc_tree(model, draws, tune, chains, seed, path)
        else:
            tree = mapreg.sample_posterior(model, draws=draws, tune=tune, chains=chains,
                                           sampler=sampler, random_seed=seed,
                                           progressbar=False)
            attrs, sample_s = dict(tree.attrs), float(tree.attrs["sampling_time_s"])
    wall = time.perf_counter() - t0
    post = tree["posterior"]
    min_ess = min(float(np.min(ess_bulk(post["coef"].values))),
                  float(np.min(ess_bulk(post["intercept"].values))))
    row = {"problem": name, "sampler": sampler, "seed": seed, "wall_s": wall,
           "sample_s": sample_s, "min_ess_bulk": min_ess, "ess_per_s": min_ess / wall,
           "used": attrs.get("sampler", sampler)}
    for key in ("hmc_step_size", "hmc_steps", "hmc_acceptance", "hmc_divergences",
                "hmc_path"):
        if key in attrs:
            row[key] = attrs[key]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    ap.add_argument("--samplers", nargs="*", default=list(SAMPLERS))
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--path", type=float, default=None, help="HMC integration time")
    ap.add_argument("--out", default=str(HERE / "results" / "hmc.json"))
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], int(args.one[2]), args.path)))
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_NUM_THREADS="1")
    rows = []
    for name in args.problems:
        for seed in args.seeds:
            for sampler in args.samplers:
                cmd = [sys.executable, __file__, "--one", name, sampler, str(seed)]
                if args.path is not None:
                    cmd += ["--path", str(args.path)]
                out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                extra = (f"  eps {row['hmc_step_size']:.3f} steps {row['hmc_steps']:.2f} "
                         f"acc {row['hmc_acceptance']:.3f} div {row['hmc_divergences']} "
                         f"(sampler {row['sample_s']:.2f} s)" if sampler == "hmc"
                         else f"  ({row['used']})")
                print(f"{name:24s} seed {seed} {sampler:7s} wall {row['wall_s']:6.2f} s  "
                      f"min ESS {row['min_ess_bulk']:6.0f}  ESS/s {row['ess_per_s']:8.1f}"
                      f"{extra}", flush=True)
    summary = {}
    for name in args.problems:
        by = {s: [r["ess_per_s"] for r in rows if r["problem"] == name and r["sampler"] == s]
              for s in args.samplers}
        summary[name] = {s: {"min": min(v), "median": sorted(v)[len(v) // 2], "max": max(v)}
                         for s, v in by.items() if v}
        print(name, {s: f"{v['min']:.0f}-{v['max']:.0f}" for s, v in summary[name].items()})
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": {"cpus": os.cpu_count(),
                                           "usable_cpus": len(os.sched_getaffinity(0))},
                               "rows": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
