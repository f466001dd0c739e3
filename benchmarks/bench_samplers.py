"""Posterior samplers side by side: min bulk ESS per second of total wall time.

Problem: the diabetes data (standardised X, centred y), Laplace(b=2) prior,
known noise 53, 4 chains x 1000 draws (1000 tuning / burn-in steps). Each
sampler runs in a fresh Python process so that its compilation (PyTensor,
numba, JAX) is inside the timed call, as a user would meet it; library
imports happen before the clock starts; on-disk compilation caches are
whatever the machine has (run twice to see both).

Also: the exact (closed-form, i.i.d.) path against nutpie on a Gaussian-prior
model (sigma = 10), same data.

``--sizes``: auto against nutpie where the issue of real sizes asked (issue 10), side by
side in one run: p > n (200 x 1,000 Bayesian lasso, b = 0.1, known noise), n >> p
(10,000 x 200, b = 0.05), the breast-cancer logistic lasso (569 x 30, standardised,
Laplace(1); auto, nutpie and the independence sampler alone), a p > n logistic lasso
(200 x 1,000, 5 signals, Laplace(0.2)), and the 200 x 10,000 horseshoe (auto only: NUTS
would take hours). ``--quick`` runs nutpie with 2 chains x
(200 + 200) at p > n (its 0.1-2 s per iteration there), everything else 4 x (1,000 +
1,000); ESS per second is compared, not ESS.

Usage::

    .venv/bin/python benchmarks/bench_samplers.py [--repeats 2]
    .venv/bin/python benchmarks/bench_samplers.py --sizes [--quick]

Writes ``benchmarks/results/samplers.json`` (``samplers_sizes.json``) and prints a table.
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
    # xarray imports dask.array lazily at its first Dataset (~0.3 s): before the clock too,
    # as run_size does.
    import dask.array  # noqa: F401
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


SIZE_CASES = [
    # (problem, sampler, chains, draws, tune; quick nutpie: 2 chains x 200 + 200)
    ("p>n lasso 200x1000", "auto"), ("p>n lasso 200x1000", "nutpie"),
    ("n>>p lasso 10000x200", "auto"), ("n>>p lasso 10000x200", "nutpie"),
    ("logistic lasso breast cancer", "auto"), ("logistic lasso breast cancer", "independence"),
    ("logistic lasso breast cancer", "nutpie"),
    ("p>n logistic lasso 200x1000", "auto"), ("p>n logistic lasso 200x1000", "nutpie"),
    ("p>n horseshoe 200x10000", "auto"),
]


def size_problem(name: str):
    """The model of one SIZE_CASES problem (seeded) and the indices of its true signals."""
    import numpy as np

    import mapreg

    if name.startswith("logistic"):
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        X = (X - X.mean(0)) / X.std(0)
        return mapreg.Model(X, y.astype(float), mapreg.Laplace(1.0), family="bernoulli"), None
    n, p = (int(v) for v in name.split()[-1].split("x"))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    if "logistic" in name:  # 5 signals, Laplace(0.2): bernoulli at p > n
        w = np.zeros(p)
        w[:5] = [2.0, -2.0, 1.5, -1.5, 1.0]
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(float)
        return mapreg.Model(X, y, mapreg.Laplace(0.2), family="bernoulli"), np.arange(5)
    w = np.zeros(p)
    w[:10] = np.where(np.arange(10) % 2, -2.0, 2.0)
    y = X @ w + rng.standard_normal(n)
    if "horseshoe" in name:
        prior = mapreg.Horseshoe(1.0)
    else:
        prior = mapreg.Laplace(0.1 if p > n else 0.05)
    return mapreg.Model(X, y, prior, noise_sigma=1.0), np.arange(10)


def run_size(name: str, sampler: str, quick: bool, seed: int) -> dict:
    # library imports that other libraries make lazily, before the clock as in run_one:
    # xarray imports dask at its first Dataset, scipy's logsumexp (arviz_stats' PSIS) jax
    import dask.array  # noqa: F401
    import jax  # noqa: F401
    import numpy as np
    import nutpie  # noqa: F401
    import pymc  # noqa: F401

    import mapreg
    import mapreg.posterior.sample
    from mapreg.posterior.diagnostics import ess_bulk

    model, signals = size_problem(name)
    chains, draws, tune = 4, 1000, 1000
    if quick and sampler == "nutpie" and name.startswith("p>n"):
        chains, draws, tune = 2, 200, 200
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = mapreg.sample_posterior(model, draws=draws, tune=tune, chains=chains,
                                        sampler=sampler, random_seed=seed, progressbar=False)
    wall = time.perf_counter() - t0
    post = idata["posterior"].to_dataset()
    # mapreg's vectorised bulk ESS (equal to arviz_stats' to 1e-10, tests/test_diagnostics.py;
    # ArviZ's per-coordinate loop would take ~a minute at p = 10,000)
    min_ess = min(float(np.min(ess_bulk(post["coef"].values))),
                  float(ess_bulk(post["intercept"].values)))
    row = {"problem": name, "sampler": sampler, "used": idata.attrs["sampler"],
           "method": idata.attrs.get("gibbs_method", ""), "chains": chains, "draws": draws,
           "tune": tune, "wall_s": wall, "sampling_s": float(idata.attrs["sampling_time_s"]),
           "min_ess_bulk": min_ess, "ess_per_s": min_ess / wall,
           "max_rhat": float(idata.attrs["max_rhat"])}
    for key in ("gibbs_independence_steps", "gibbs_independence_acceptance",
                "gibbs_sweeps_per_draw", "gibbs_overrelaxation", "independence_acceptance",
                "independence_thin", "hmc_step_size", "hmc_steps", "hmc_acceptance",
                "hmc_divergences"):
        if key in idata.attrs:
            row[key] = idata.attrs[key]
    if signals is not None:
        coef = post["coef"].values.reshape(-1, model.n_features)
        lo, hi = np.quantile(coef, [0.05, 0.95], axis=0)
        found = (lo > 0) | (hi < 0)  # 90% interval excludes 0
        row["n_signals"] = len(signals)
        row["signals_found"] = int(found[signals].sum())
        row["false_signals"] = int(found.sum() - found[signals].sum())
    return row


def sizes(quick: bool):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_NUM_THREADS="1")
    rows = []
    for name, sampler in SIZE_CASES:
        cmd = [sys.executable, __file__, "--one-size", name, sampler, "0"]
        if quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        extra = (f"  signals {row['signals_found']}/{row['n_signals']}, "
                 f"false {row['false_signals']}"
                 if "signals_found" in row else "")
        print(f"{name:30s} {sampler:7s} ({row['used']:6s} {row['method']:12s}) "
              f"{row['chains']}x({row['tune']}+{row['draws']}) wall {row['wall_s']:7.1f} s "
              f"min ESS {row['min_ess_bulk']:6.0f}  ESS/s {row['ess_per_s']:8.1f}  "
              f"R-hat {row['max_rhat']:.3f}{extra}", flush=True)

    def ess_s(name, sampler):
        return next(r["ess_per_s"] for r in rows if r["problem"] == name
                    and r["sampler"] == sampler)

    summary = {f"{name}: auto / nutpie": ess_s(name, "auto") / ess_s(name, "nutpie")
               for name in dict.fromkeys(n for n, s in SIZE_CASES if s == "nutpie")}
    for k, v in summary.items():
        print(f"{k}: {v:.1f}x")
    import platform

    res = HERE / "results"
    res.mkdir(exist_ok=True)
    (res / "samplers_sizes.json").write_text(json.dumps(
        {"quick": quick, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
         "rows": rows, "summary": summary}, indent=2) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--sizes", action="store_true", help="the issue-10 sizes (see above)")
    ap.add_argument("--quick", action="store_true", help="with --sizes: shorter nutpie at p > n")
    ap.add_argument("--one", nargs=3, metavar=("PRIOR", "SAMPLER", "SEED"), help=argparse.SUPPRESS)
    ap.add_argument("--one-size", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], int(args.one[2]))))
        return
    if args.one_size:
        print(json.dumps(run_size(args.one_size[0], args.one_size[1], args.quick,
                                  int(args.one_size[2]))))
        return
    if args.sizes:
        sizes(args.quick)
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
