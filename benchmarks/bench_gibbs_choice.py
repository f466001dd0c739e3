"""Does ``auto`` pick the faster Gibbs sampler at p > n on designs it was not fitted to?

``gibbs_plan`` chooses between the block sampler (Bhattacharya et al.'s O(n**2 p) joint draw)
and the overrelaxed coordinate-wise sampler by a cost model whose constants were fitted on
one design (n = 200, i.i.d. standard normal columns, Laplace(0.1); see
``mapreg.posterior.coordinate`` and ``mapreg.posterior.gibbs``). Here both samplers run on
other designs — AR(1)-correlated columns, weaker shrinkage, fewer rows — side by side in one
process, and the table shows the model's milliseconds per effective draw next to the
measured ones, and which sampler ``auto`` would take.

Each design: 10 true coefficients +-2 spread evenly over the columns, noise 1 (known), an
intercept, 4 chains x (``--draws`` burn-in + ``--draws`` kept), one BLAS thread; measured
"ms per ESS" is ``wall seconds x cores / min bulk ESS`` (coefficients and intercept), the
model's is per core. ESS from 4 x 500 draws is rough (a factor ~1.3).

Usage::

    .venv/bin/python benchmarks/bench_gibbs_choice.py [--draws 500]

Writes ``benchmarks/results/gibbs_choice.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
# (n, p, AR(1) correlation of neighbouring columns, Laplace scale b)
DESIGNS = [(200, 1000, 0.0, 0.1), (200, 1000, 0.8, 0.1), (200, 1000, 0.0, 0.5),
           (200, 3000, 0.8, 0.1), (100, 2000, 0.5, 0.05)]


def design(n: int, p: int, rho: float, b: float, seed: int = 0):
    """The model of one design (seeded)."""
    import numpy as np

    import mapreg

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):  # AR(1) columns: corr(x_j, x_k) = rho ** |j - k|
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1.0 - rho**2) * X[:, j]
    w = np.zeros(p)
    w[np.linspace(0, p - 1, 10).astype(int)] = np.where(np.arange(10) % 2, -2.0, 2.0)
    y = X @ w + rng.standard_normal(n)
    return mapreg.Model(X, y, mapreg.Laplace(b), noise_sigma=1.0)


def run_design(n: int, p: int, rho: float, b: float, draws: int) -> dict:
    import numpy as np

    from mapreg.posterior.coordinate import coordinate_plan
    from mapreg.posterior.diagnostics import ess_bulk
    from mapreg.posterior.draws import n_cores
    from mapreg.posterior.gibbs import (
        BLOCK_SWEEPS_PER_ESS,
        COORDINATE,
        block_plan,
        coordinate_gibbs_plan,
        gibbs_plan,
        sample_gibbs,
    )

    model = design(n, p, rho, b)
    auto = gibbs_plan(model)
    plans = {"block": block_plan(model), "coordinate": coordinate_gibbs_plan(model)}
    cp = coordinate_plan(model)
    modelled = {"block": plans["block"].seconds_per_draw * BLOCK_SWEEPS_PER_ESS["laplace"],
                "coordinate": cp.seconds_per_sweep * cp.sweeps_per_ess}
    row = {"n": n, "p": p, "rho": rho, "b": b, "auto": auto.method_name, "samplers": {}}
    for name, plan in plans.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = sample_gibbs(model, draws, draws, 4, 0, plan=plan)
        wall = time.perf_counter() - t0
        min_ess = float(min(np.min(ess_bulk(d.coef)), np.min(ess_bulk(d.intercept[..., None]))))
        row["samplers"][name] = {
            "wall_s": wall, "thin": plan.thin, "min_ess_bulk": min_ess,
            "ms_per_ess": 1e3 * wall * min(n_cores(), 4) / min_ess,
            "model_ms_per_ess": 1e3 * modelled[name]}
    measured = row["samplers"]
    row["faster"] = min(measured, key=lambda k: measured[k]["ms_per_ess"])
    row["auto_took_faster"] = (row["faster"] == "coordinate") == (auto.method == COORDINATE)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=500)
    args = ap.parse_args()
    rows = [run_design(*d, args.draws) for d in DESIGNS]
    print(f"{'n':>4} {'p':>5} {'rho':>4} {'b':>5}  {'auto':<32} "
          f"{'block ms/ESS (model)':>21} {'coord ms/ESS (model)':>21}  auto right?")
    for r in rows:
        s = r["samplers"]
        cells = [f"{s[k]['ms_per_ess']:8.1f} ({s[k]['model_ms_per_ess']:6.1f})"
                 for k in ("block", "coordinate")]
        print(f"{r['n']:>4} {r['p']:>5} {r['rho']:>4} {r['b']:>5}  {r['auto']:<32} "
              f"{cells[0]:>21} {cells[1]:>21}  {r['auto_took_faster']}")
    out = HERE / "results" / "gibbs_choice.json"
    out.write_text(json.dumps({"draws": args.draws, "cores": os.cpu_count(),
                               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                               "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
