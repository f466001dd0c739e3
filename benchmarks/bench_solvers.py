"""MAP and penalised solvers side by side with scikit-learn's Lasso and Ridge.

Problems: n=10,000 x p=200 and n=500 x p=2,000, Gaussian noise s=1, a sparse
truth (20 non-zeros). Lasso strength: alpha = 0.05 and 0.005 alpha_max (about 20 and
a few hundred non-zeros); ridge: alpha = 1.0. mapreg runs at its default tolerance
(KKT violation <= 1e-11 relative); scikit-learn once at its default tolerance
and once at tol=1e-10 (closer to mapreg's accuracy). Each time is the best of
``--repeat`` warm runs (numba compilation excluded, reported separately);
peak memory is the tracemalloc peak of one run. Writes
``benchmarks/results/solvers.json``.

Run: ``.venv/bin/python benchmarks/bench_solvers.py``
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn import linear_model as lm
from threadpoolctl import threadpool_info

from mapreg import Gaussian, Laplace, Model, find_map, penalized_fit


def problem(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    w = np.zeros(p)
    w[:20] = rng.normal(scale=2.0, size=20)
    y = X @ w + rng.normal(size=n)
    return X, y


def best_time(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def peak_mb(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def kkt_l1(X, y, coef, intercept, alpha):
    """KKT violation of sklearn's objective (1/2n)|y - Xw - c|^2 + alpha |w|_1."""
    n = len(y)
    g = -X.T @ (y - X @ coef - intercept) / n
    v = np.where(coef != 0, np.abs(g + alpha * np.sign(coef)), np.maximum(np.abs(g) - alpha, 0))
    return float(v.max()) / alpha  # relative to the penalty weight


def run(repeat):
    rows = []
    for n, p in [(10_000, 200), (500, 2_000)]:
        for fraction in (0.05, 0.005):
            rows.extend(bench_problem(n, p, fraction, repeat))
    return rows


def bench_problem(n, p, fraction, repeat):
    rows = []
    if True:  # one problem size
        X, y = problem(n, p)
        Xc, yc = X - X.mean(0), y - y.mean()
        alpha_max = float(np.max(np.abs(Xc.T @ yc)) / n)
        alpha = fraction * alpha_max
        b = 1.0 / (n * alpha)  # Lasso alpha = s^2 / (n b) with s = 1
        lasso_model = Model(X, y, prior=Laplace(b), noise_sigma=1.0)
        ridge_alpha = 1.0
        ridge_model = Model(X, y, prior=Gaussian(1.0 / np.sqrt(ridge_alpha)), noise_sigma=1.0)

        t0 = time.perf_counter()
        find_map(lasso_model)  # first call: loads/compiles the numba kernels
        first_call = time.perf_counter() - t0

        cases = {
            "lasso": [
                ("mapreg find_map", lambda m=lasso_model: find_map(m)),
                ("mapreg penalized_fit", lambda: penalized_fit(X, y, "l1", lam=1 / b,
                                                               noise_sigma=1.0)),
                ("sklearn Lasso (tol=1e-4, default)", lambda: lm.Lasso(alpha=alpha).fit(X, y)),
                ("sklearn Lasso (tol=1e-10)",
                 lambda: lm.Lasso(alpha=alpha, tol=1e-10, max_iter=100_000).fit(X, y)),
            ],
            "ridge": [
                ("mapreg find_map", lambda m=ridge_model: find_map(m)),
                ("mapreg penalized_fit", lambda: penalized_fit(X, y, "l2", lam=ridge_alpha / 2,
                                                               noise_sigma=1.0)),
                ("sklearn Ridge (auto solver)", lambda: lm.Ridge(alpha=ridge_alpha).fit(X, y)),
            ],
        }
        if fraction != 0.05:
            del cases["ridge"]  # ridge does not depend on the lasso strength
        for kind, entries in cases.items():
            results = {}
            for name, fn in entries:
                t, out = best_time(fn, repeat)
                mem = peak_mb(fn)
                coef = out.coef if hasattr(out, "coef") else out.coef_
                intercept = out.intercept if hasattr(out, "intercept") else out.intercept_
                kkt = kkt_l1(X, y, coef, intercept, alpha) if kind == "lasso" else None
                results[name] = {"seconds": t, "peak_MB": mem, "nonzeros": int(np.sum(coef != 0)),
                                 "relative_kkt": kkt, "coef": coef}
            ref = results["mapreg find_map"]["coef"]
            sk_names = [k for k in results if k.startswith("sklearn")]
            for name, r in results.items():
                r["max_abs_diff_vs_mapreg"] = float(np.max(np.abs(r.pop("coef") - ref)))
                rows.append({"problem": f"{n}x{p}", "kind": f"{kind}@{fraction:g}", "solver": name,
                             **r, "ratio_vs_sklearn_default": r["seconds"]
                             / results[sk_names[0]]["seconds"]})
        rows.append({"problem": f"{n}x{p}", "kind": "info",
                     "first_call_seconds_incl_numba_load": first_call})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = run(args.repeat)
    print(f"{'problem':<11}{'kind':<12}{'solver':<36}{'seconds':>9}{'x sklearn':>10}"
          f"{'peak MB':>9}{'nnz':>6}{'rel KKT':>10}{'|diff|':>10}")
    for r in rows:
        if r["kind"] == "info":
            print(f"{r['problem']:<11}first mapreg call (numba cache load): "
                  f"{r['first_call_seconds_incl_numba_load']:.2f} s")
            continue
        kkt = "" if r["relative_kkt"] is None else f"{r['relative_kkt']:.1e}"
        print(f"{r['problem']:<11}{r['kind']:<12}{r['solver']:<36}{r['seconds']:>9.4f}"
              f"{r['ratio_vs_sklearn_default']:>10.2f}{r['peak_MB']:>9.1f}{r['nonzeros']:>6}"
              f"{kkt:>10}{r['max_abs_diff_vs_mapreg']:>10.1e}")
    blas = [{k: i.get(k) for k in ("internal_api", "num_threads", "architecture")}
            for i in threadpool_info()]
    out = Path(__file__).parent / "results" / "solvers.json"
    out.write_text(json.dumps({"machine": platform.platform(), "blas": blas, "rows": rows},
                              indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
