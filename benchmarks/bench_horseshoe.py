"""The horseshoe at n >= p, logistic and Gaussian: ``auto`` (Gibbs) against nutpie.

A horseshoe prior on a logistic regression is where NUTS struggles most: PyMC's model runs
at ``target_accept`` 0.99 (:data:`mapreg.posterior.nuts.TARGET_ACCEPT`) through the funnel
of every coefficient and its local scale. ``auto`` weighs it against the block
Pólya-Gamma Gibbs sweep (10 sweeps a kept draw) by the cost model of
:mod:`mapreg.posterior.choose` and :mod:`mapreg.posterior.gibbs`; this script runs both and
shows the model's seconds a chain next to the measured wall time.

Problems: 3 signals (2, -1.5, 1) among standard-normal columns at 200 x 30, 500 x 100,
2,000 x 200 and 100 x 300 (p > n: the data are separable, the posterior has no light
tails), and the standardised breast-cancer data (569 x 30); ``Horseshoe(1)``, and
``RegularizedHorseshoe(1)`` at 200 x 30. One Gaussian problem (``2000x200-gaussian``: 10
signals +-2, noise 1 known), under both horseshoes, runs on Rue's path unthinned, where the
global scale is drawn collapsed, and two at p > n (``100x500-gaussian``, and
``200x1000-gaussian`` under the regularised one), on Bhattacharya's path, where both
horseshoes draw tau collapsed. 4 chains x (1,000 + 1,000),
each run in a fresh process (compilation included), BLAS as the machine has it. "min ESS"
is the result's ``attrs["min_ess_bulk"]``: over the coefficients, the intercept and tau.

Usage::

    .venv/bin/python benchmarks/bench_horseshoe.py [--samplers auto nutpie]
        [--problems 100x500-gaussian:regularized-horseshoe ...]

Writes ``benchmarks/results/horseshoe.json`` (rows of problems not run are kept, each row
dated) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBLEMS = [("200x30", "horseshoe"), ("200x30", "regularized-horseshoe"),
            ("breast-cancer", "horseshoe"), ("500x100", "horseshoe"),
            ("2000x200", "horseshoe"), ("100x300", "horseshoe"),
            ("2000x200-gaussian", "horseshoe"), ("2000x200-gaussian", "regularized-horseshoe"),
            ("100x500-gaussian", "horseshoe"), ("100x500-gaussian", "regularized-horseshoe"),
            ("200x1000-gaussian", "regularized-horseshoe")]


def problem(name: str, prior: str):
    """The model of one problem (seeded)."""
    import numpy as np

    import mapreg

    if name == "breast-cancer":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        X, y = (X - X.mean(0)) / X.std(0), y.astype(float)
    elif name.endswith("-gaussian"):
        n, p = (int(v) for v in name.split("-")[0].split("x"))
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, p))
        w = np.zeros(p)
        w[:10] = np.where(np.arange(10) % 2, -2.0, 2.0)
        y = X @ w + rng.standard_normal(n)
    else:
        n, p = (int(v) for v in name.split("x"))
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, p))
        w = np.zeros(p)
        w[:3] = [2.0, -1.5, 1.0]
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(float)
    hs = mapreg.Horseshoe(1.0) if prior == "horseshoe" else mapreg.RegularizedHorseshoe(1.0)
    if name.endswith("-gaussian"):
        return mapreg.Model(X, y, hs, noise_sigma=1.0)
    return mapreg.Model(X, y, hs, family="bernoulli")


def run_one(name: str, prior: str, sampler: str) -> dict:
    import pymc  # noqa: F401  (imported before the clock, as in bench_samplers)

    import mapreg
    from mapreg.posterior.choose import auto_choice

    model = problem(name, prior)
    choice = auto_choice(model)
    # the cost model's seconds a chain: "~X s" for the Gibbs chain and for NUTS, in order
    costs = [float(v) for v in re.findall(r"~([0-9.e+]+) s", choice.reason)]
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = mapreg.sample_posterior(model, sampler=sampler, random_seed=1,
                                        progressbar=False)
    wall = time.perf_counter() - t0
    stats = idata["sample_stats"]
    row = {"problem": name, "prior": prior, "sampler": sampler, "used": idata.attrs["sampler"],
           "wall_s": wall, "min_ess_bulk": float(idata.attrs["min_ess_bulk"]),
           "max_rhat": float(idata.attrs["max_rhat"]),
           "ess_per_s": float(idata.attrs["min_ess_bulk"]) / wall,
           "warnings": len(caught), "auto_choice": choice.sampler,
           "model_gibbs_s_per_chain": costs[0] if choice.sampler == "gibbs" else None,
           "model_nuts_s_per_chain": costs[-1] if costs else None}
    if "n_steps" in stats:
        row["nuts_gradients_per_draw"] = float(stats["n_steps"].mean())
        row["divergences"] = int(stats["diverging"].sum())
    if "gibbs_sweeps_per_draw" in idata.attrs:
        row["sweeps_per_draw"] = int(idata.attrs["gibbs_sweeps_per_draw"])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samplers", nargs="+", default=["auto", "nutpie"])
    ap.add_argument("--problems", nargs="+", metavar="PROBLEM:PRIOR",
                    default=[f"{n}:{p}" for n, p in PROBLEMS])
    ap.add_argument("--one", nargs=3, metavar=("PROBLEM", "PRIOR", "SAMPLER"),
                    help=argparse.SUPPRESS)  # one run, in this (fresh) process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return
    path = HERE / "results" / "horseshoe.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    for name, prior in (v.split(":") for v in args.problems):
        for sampler in args.samplers:
            rows = [r for r in rows
                    if (r["problem"], r["prior"], r["sampler"]) != (name, prior, sampler)]
            out = subprocess.run([sys.executable, __file__, "--one", name, prior, sampler],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            r["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            print(f"{name:>13} {prior:<22} {sampler:<7} ({r['used']:<6}) {r['wall_s']:7.1f} s  "
                  f"min ESS {r['min_ess_bulk']:6.0f}  R-hat {r['max_rhat']:.3f}  "
                  f"{r['ess_per_s']:7.1f} ESS/s  warnings {r['warnings']}", flush=True)
    path.write_text(json.dumps({"cores": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
