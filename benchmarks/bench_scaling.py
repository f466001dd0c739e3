"""Time per 1,000 effective draws against p: ``sampler="auto"`` and nutpie, log-log.

Problem (as ``bench_samplers.py --sizes``): n = 200 rows of standard normal X, 10 true
coefficients +-2, noise 1 (known), Bayesian lasso Laplace(b = 0.1), an intercept; p from
100 to 20,000. Each point is one ``sample_posterior`` call in a fresh process (library
imports before the clock, compilation and on-disk caches as a user meets them, diagnostics,
the MAP group and the log-likelihood group inside the timed call); the figure plots
``wall seconds / (min bulk ESS over coefficients and intercept / 1,000)``.

Budget (about 10 minutes on 2 cores): auto runs 2 chains x (500 + 500) at every p; nutpie
2 chains x (300 + 300) and only up to p = 3,000 (NUTS at p > n reads the rows, O(np) per
gradient, with trajectories that lengthen as p grows: 12 s at p = 1,000 and 51 s at
p = 3,000 for 600 iterations per chain; p = 10,000 would take several minutes more).
Beyond its last measured p the nutpie line is *extrapolated* (dotted, slope of its last
two measured points) and labelled as such. ESS from 600-1,000 draws per chain
is rough (a factor ~1.3 either way); the slopes are what the figure shows.

Usage::

    .venv/bin/python benchmarks/bench_scaling.py [--max-p 20000]

Writes ``benchmarks/results/scaling.json`` and ``benchmarks/scaling.png``.
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
P_AUTO = (100, 300, 1000, 3000, 10_000, 20_000)
P_NUTS = (100, 300, 1000, 3000)
N = 200
RUNS = {"auto": (2, 500, 500), "nutpie": (2, 300, 300)}  # chains, tune, draws


def run_point(sampler: str, p: int) -> dict:
    """One timed sample_posterior call (in this process)."""
    import numpy as np
    import nutpie  # noqa: F401
    import pymc  # noqa: F401

    import mapreg
    import mapreg.posterior.sample  # library import (mapreg loads it lazily): before the clock
    from mapreg.posterior.diagnostics import ess_bulk

    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, p))
    w = np.zeros(p)
    w[:10] = np.where(np.arange(10) % 2, -2.0, 2.0)
    y = X @ w + rng.standard_normal(N)
    model = mapreg.Model(X, y, mapreg.Laplace(0.1), noise_sigma=1.0)
    chains, tune, draws = RUNS[sampler]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = mapreg.sample_posterior(model, draws=draws, tune=tune, chains=chains,
                                        sampler=sampler, random_seed=1, progressbar=False)
    wall = time.perf_counter() - t0
    post = idata["posterior"]
    # min bulk ESS (vectorised; equal to arviz_stats' to 1e-10, tests/test_diagnostics.py)
    ess = min(float(np.min(ess_bulk(post["coef"].values))),
              float(ess_bulk(post["intercept"].values)))
    return {"sampler": sampler, "used": idata.attrs["sampler"],
            "method": idata.attrs.get("gibbs_method", ""), "p": p, "n": N, "chains": chains,
            "tune": tune, "draws": draws, "wall_s": wall,
            "sampling_s": float(idata.attrs["sampling_time_s"]), "min_ess_bulk": ess,
            "s_per_1000_ess": wall / ess * 1000.0, "max_rhat": float(idata.attrs["max_rhat"])}


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for sampler, style in (("auto", "o-"), ("nutpie", "s-")):
        pts = sorted((r["p"], r["s_per_1000_ess"]) for r in rows if r["sampler"] == sampler)
        if not pts:
            continue
        p, t = (np.array(v, dtype=float) for v in zip(*pts, strict=True))
        label = "auto (Gibbs)" if sampler == "auto" else "nutpie (NUTS)"
        line, = ax.loglog(p, t, style, label=label)
        if sampler == "nutpie" and len(p) >= 2 and p[-1] < max(P_AUTO):
            slope = np.log(t[-1] / t[-2]) / np.log(p[-1] / p[-2])
            pe = np.array([p[-1], float(max(P_AUTO))])
            ax.loglog(pe, t[-1] * (pe / p[-1]) ** slope, ":", color=line.get_color(),
                      label=f"nutpie, extrapolated (slope {slope:.1f})")
    ax.axvline(N, color="0.8", lw=0.8)
    ax.text(N * 1.05, ax.get_ylim()[0] * 1.3, "p = n", color="0.5", fontsize=8)
    ax.set_xlabel("p (features), n = 200")
    ax.set_ylabel("wall seconds per 1,000 effective draws")
    ax.set_title("Bayesian lasso posterior: time per 1,000 ESS (min bulk)", fontsize=10)
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-p", type=int, default=max(P_AUTO))
    ap.add_argument("--one", nargs=2, metavar=("SAMPLER", "P"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_point(args.one[0], int(args.one[1]))))
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cases = [("auto", p) for p in P_AUTO] + [("nutpie", p) for p in P_NUTS]
    rows = []
    for sampler, p in cases:
        if p > args.max_p:
            continue
        out = subprocess.run([sys.executable, __file__, "--one", sampler, str(p)],
                             capture_output=True, text=True, env=env, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{sampler:6s} ({row['used']:6s} {row['method']:12s}) p = {p:6d}  "
              f"{row['chains']}x({row['tune']}+{row['draws']})  wall {row['wall_s']:7.1f} s  "
              f"min ESS {row['min_ess_bulk']:6.0f}  {row['s_per_1000_ess']:8.2f} s / 1000 ESS"
              f"  R-hat {row['max_rhat']:.3f}", flush=True)
    import platform

    res = HERE / "results"
    res.mkdir(exist_ok=True)
    (res / "scaling.json").write_text(json.dumps(
        {"n": N, "runs": RUNS, "machine": {"cpus": os.cpu_count(),
                                           "python": platform.python_version(),
                                           "load_average": os.getloadavg()},
         "rows": rows}, indent=2) + "\n")
    plot(rows, HERE / "scaling.png")
    print(f"wrote {HERE / 'scaling.png'}")


if __name__ == "__main__":
    main()
