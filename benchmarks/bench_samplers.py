"""Posterior samplers side by side: min bulk ESS per second of total wall time.

Problem: the diabetes data (standardised X, centred y), Laplace(b=2) prior,
known noise 53, 4 chains x 1000 draws (1000 tuning / burn-in steps). Each
sampler runs in a fresh Python process so that its compilation (PyTensor,
numba, JAX) is inside the timed call, as a user would meet it; library
imports happen before the clock starts; on-disk compilation caches are
whatever the machine has (run twice to see both).

Also: the exact (closed-form, i.i.d.) path against nutpie on a Gaussian-prior
model (sigma = 10), same data.

Usage::

    .venv/bin/python benchmarks/bench_samplers.py [--repeats 2]

Writes ``benchmarks/results/samplers.json`` and prints a table.
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
CASES = [
    ("laplace", "nutpie"), ("laplace", "pymc"), ("laplace", "numpyro"),
    ("laplace", "gibbs"), ("laplace", "auto"),
    ("gaussian", "nutpie"), ("gaussian", "exact"), ("gaussian", "auto"),
]


def run_one(prior: str, sampler: str, seed: int) -> dict:
    """Time one sample_posterior call (in this process) and return its numbers."""
    import arviz_stats as azs

    # Library imports are a once-per-process cost, not sampling: do them before the clock
    # starts (compilation of the model — PyTensor, numba, JAX — stays inside the timed call).
    import jax  # noqa: F401
    import numpy as np
    import numpyro  # noqa: F401
    import nutpie  # noqa: F401
    import pymc  # noqa: F401

    import mapreg
    import mapreg.posterior.sample  # a library import (mapreg loads it lazily): before the clock
    from mapreg.datasets import load_diabetes

    data = load_diabetes()
    p = mapreg.Laplace(2.0) if prior == "laplace" else mapreg.Gaussian(10.0)
    model = mapreg.Model(data.X, data.y, p, noise_sigma=53.0, feature_names=data.feature_names)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = mapreg.sample_posterior(model, draws=1000, tune=1000, chains=4, sampler=sampler,
                                        random_seed=seed, progressbar=False)
    wall = time.perf_counter() - t0
    post = idata["posterior"].to_dataset()
    ess = azs.ess(post, var_names=["coef", "intercept"], method="bulk")
    min_ess = float(min(np.min(ess["coef"].values), float(ess["intercept"])))
    return {"prior": prior, "sampler": sampler, "used": idata.attrs["sampler"],
            "wall_s": wall, "min_ess_bulk": min_ess, "ess_per_s": min_ess / wall,
            "max_rhat": float(idata.attrs["max_rhat"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--one", nargs=3, metavar=("PRIOR", "SAMPLER", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], int(args.one[2]))))
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_NUM_THREADS="1")
    rows = []
    for rep in range(args.repeats):
        for prior, sampler in CASES:
            out = subprocess.run([sys.executable, __file__, "--one", prior, sampler, str(rep)],
                                 capture_output=True, text=True, env=env, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["repeat"] = rep
            rows.append(row)
            print(f"{prior:8s} {sampler:8s} ({row['used']:7s}) wall {row['wall_s']:7.3f} s  "
                  f"min bulk ESS {row['min_ess_bulk']:7.0f}  ESS/s {row['ess_per_s']:10.0f}  "
                  f"R-hat {row['max_rhat']:.3f}", flush=True)

    def best(prior, sampler):
        vals = [r["ess_per_s"] for r in rows if r["prior"] == prior and r["sampler"] == sampler]
        return max(vals)

    best_pymc = max(best("laplace", s) for s in ("nutpie", "pymc", "numpyro"))
    summary = {
        "auto_over_best_pymc_backend": best("laplace", "auto") / best_pymc,
        "gibbs_over_best_pymc_backend": best("laplace", "gibbs") / best_pymc,
        "exact_over_nutpie_gaussian_prior": best("gaussian", "exact") / best("gaussian",
                                                                              "nutpie"),
    }
    print("\nBest of repeats, ESS per second of wall time (compilation included):")
    print(f"{'prior':8s} {'sampler':8s} {'ESS/s':>10s}")
    for prior, sampler in CASES:
        print(f"{prior:8s} {sampler:8s} {best(prior, sampler):10.0f}")
    for k, v in summary.items():
        print(f"{k}: {v:.1f}x")
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    import platform

    (res / "samplers.json").write_text(json.dumps(
        {"problem": "diabetes, standardised X, centred y, noise 53; Laplace(b=2) / Gaussian(10);"
                    " 4 chains x 1000 draws, tune 1000; fresh process per run",
         "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
         "rows": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
