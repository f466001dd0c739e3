"""The independence Metropolis-Hastings sampler against nutpie: min bulk ESS per wall second.

Problems (4 chains x (1,000 tune + 1,000 draws) each): the breast-cancer logistic lasso of
issue 10 (569 x 30, standardised, Laplace(1), bernoulli), the same with a Gaussian(1)
prior, the diabetes lasso (Laplace(2), noise 53), a synthetic poisson lasso (2,000 x 20,
Laplace(0.5)) and bench_samplers.py's n >> p lasso (10,000 x 200, b = 0.05). Each
(problem, sampler) runs in a fresh Python process, library imports before the clock,
everything else (MAP, plan, nutpie's compilation) inside it. Both samplers are timed to
their ``Draws`` (``mapreg.posterior.nuts.sample_nuts`` / ``sample_independence``: no
DataTree, no diagnostics). Min bulk ESS over coef and intercept
(``mapreg.posterior.diagnostics.ess_bulk``); the ratio is independence / nutpie in one run.

Usage::

    .venv/bin/python benchmarks/bench_independence.py [--problems NAME ...]

Writes ``benchmarks/results/independence.json`` and prints a table.
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
PROBLEMS = ("breast cancer laplace", "breast cancer gaussian", "diabetes laplace",
            "poisson lasso 2000x20", "n>>p lasso 10000x200")


def problem(name: str):
    import numpy as np

    import mapreg

    if name.startswith("breast"):
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        X = (X - X.mean(0)) / X.std(0)
        prior = mapreg.Laplace(1.0) if name.endswith("laplace") else mapreg.Gaussian(1.0)
        return mapreg.Model(X, y.astype(float), prior, family="bernoulli")
    if name.startswith("n>>p"):  # bench_samplers.py's issue-10 problem
        sys.path.insert(0, str(HERE))
        from bench_samplers import size_problem

        return size_problem(name)[0]
    if name.startswith("diabetes"):
        from mapreg.datasets import load_diabetes

        d = load_diabetes()
        return mapreg.Model(d.X, d.y, mapreg.Laplace(2.0), noise_sigma=53.0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    w = np.zeros(20)
    w[:4] = [0.4, -0.3, 0.2, -0.1]
    y = rng.poisson(np.exp(0.5 + X @ w)).astype(float)
    return mapreg.Model(X, y, mapreg.Laplace(0.5), family="poisson")


def run_one(name: str, sampler: str, seed: int) -> dict:
    # library imports before the clock (scipy's logsumexp, inside PSIS, touches jax when
    # pymc has put it in sys.modules)
    import arviz_stats.base  # noqa: F401
    import jax  # noqa: F401
    import numpy as np
    import nutpie  # noqa: F401
    import pymc  # noqa: F401

    from mapreg.posterior.diagnostics import ess_bulk
    from mapreg.posterior.independence import sample_independence
    from mapreg.posterior.nuts import sample_nuts

    model = problem(name)
    chains, draws, tune = 4, 1000, 1000
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sampler == "nutpie":
            d = sample_nuts(model, "nutpie", draws, tune, chains, seed, False)
        else:
            d = sample_independence(model, draws, tune, chains, seed)
    wall = time.perf_counter() - t0
    min_ess = min(float(np.min(ess_bulk(d.coef))), float(np.min(ess_bulk(d.intercept))))
    row = {"problem": name, "sampler": sampler, "wall_s": wall, "min_ess_bulk": min_ess,
           "ess_per_s": min_ess / wall}
    for key in ("acceptance", "k_hat", "thin", "reliable", "repeat", "plan"):
        if f"independence_{key}" in d.attrs:
            row[key] = d.attrs[f"independence_{key}"]
    if sampler == "independence":
        row["steps"] = chains * (draws + tune) * row["thin"]
        row["s_per_step"] = wall / row["steps"]  # an upper bound: MAP and plan included
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], int(args.one[2]))))
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_NUM_THREADS="1")
    rows, summary = [], {}
    for name in args.problems:
        for sampler in ("independence", "nutpie"):
            out = subprocess.run([sys.executable, __file__, "--one", name, sampler, "0"],
                                 capture_output=True, text=True, env=env, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            extra = (f"  acc {row['acceptance']:.3f} k_hat {row['k_hat']:.2f} thin "
                     f"{row['thin']} repeat {row['repeat']:.2f} gate "
                     f"{'ok' if row['reliable'] else 'UNRELIABLE'} "
                     f"({row['s_per_step'] * 1e6:.1f} us/step)"
                     if sampler == "independence" else "")
            print(f"{name:24s} {sampler:12s} wall {row['wall_s']:6.2f} s  min ESS "
                  f"{row['min_ess_bulk']:6.0f}  ESS/s {row['ess_per_s']:8.1f}{extra}",
                  flush=True)
        imh, nuts = rows[-2]["ess_per_s"], rows[-1]["ess_per_s"]
        summary[f"{name}: independence / nutpie"] = imh / nuts
        print(f"{name}: independence / nutpie = {imh / nuts:.2f}x", flush=True)
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    (res / "independence.json").write_text(json.dumps(
        {"machine": {"cpus": os.cpu_count()}, "rows": rows, "summary": summary}, indent=2)
        + "\n")


if __name__ == "__main__":
    main()
