"""GPU figures: the MAP through JAX against scikit-learn on every CPU core, and NUTS ESS/s.

Runs only where JAX sees a CUDA device; elsewhere it says so and exits 0 (it is not part
of ``make test`` or ``make bench``). Problem: n x p standard-normal design (default
10**6 x 100), a 10-sparse truth, Gaussian noise s = 1 and Bernoulli labels from the same
linear predictor; Laplace prior at lam = 0.1 lam_max.

Measured, each the best of ``--repeat`` warm runs (JIT compilation reported apart):

* ``find_map(model, backend="jax")`` — FISTA then proximal Newton on the GPU, certified
  by the numpy KKT check on the host (that check is inside the time);
* 300 FISTA iterations alone (one jit call, ``block_until_ready``);
* ``find_map(model)`` — the numpy backend on the CPU;
* ``path(model, backend="jax")`` over 30 weights down to 0.01 lam_max (the data moved to
  the device once, warm starts) beside the numpy backend's path and scikit-learn's
  ``lasso_path(tol=1e-10)`` on the same grid;
* scikit-learn's equivalent estimator (``mapreg.fit.conversions.sklearn_estimator``) at
  its default tolerance, BLAS on every core;
* NUTS through numpyro (``sample_posterior(..., sampler="numpyro")``, the gaussian model
  on its sufficient statistics): min bulk ESS per second of wall time, 4 chains x 1000.

Agreement: max |coef_jax - coef_numpy| and whether the exact zeros coincide. Writes
``benchmarks/results/gpu.json`` and the section between the ``bench_gpu`` markers of
``benchmarks/README.md``.

Run: ``.venv/bin/python benchmarks/bench_gpu.py`` (``pip install 'jax[cuda12]'`` first).
``--allow-cpu --n 20000 --p 20 --dry-run`` runs the script on JAX's CPU to check it
(writes nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- bench_gpu: begin -->", "<!-- bench_gpu: end -->"


def cuda_device():
    """The first CUDA device JAX sees, or ``None`` (no JAX, no CUDA plugin, no GPU)."""
    try:
        import jax

        devices = jax.devices("gpu")
    except (ImportError, RuntimeError):
        return None
    return devices[0] if devices else None


def problem(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:10] = rng.normal(scale=0.5, size=10)
    eta = X @ w
    y = eta + rng.standard_normal(n)
    labels = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y, labels


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def lasso_model(X, y, family, noise=1.0, frac=0.1):
    """The Laplace model at ``lam = frac * lam_max`` (``lam_max``: the smallest all-zero lam)."""
    import mapreg

    kw = {"noise_sigma": noise} if family == "gaussian" else {}
    m = mapreg.Model(X, y, prior=mapreg.Laplace(1.0), family=family, **kw)
    c0 = m.family.initial_intercept(y)
    lam_max = float(np.max(np.abs(X.T @ m.family.dloss(np.full(len(y), c0), y))))
    return mapreg.Model(X, y, prior=mapreg.Laplace(1.0 / (frac * lam_max)), family=family, **kw)


def map_figures(model, repeat):
    import mapreg
    from mapreg.fit.conversions import sklearn_estimator

    row = {"family": model.family.name}
    t0 = time.perf_counter()
    mapreg.find_map(model, backend="jax")  # compiles
    row["jax_first_call_s"] = time.perf_counter() - t0
    row["jax_s"], res_jax = best(lambda: mapreg.find_map(model, backend="jax"), repeat)
    row["cpu_numpy_s"], res_np = best(lambda: mapreg.find_map(model), repeat)
    row.update(solver=res_jax.solver, kkt=res_jax.kkt_violation, tol=res_jax.tol,
               converged=res_jax.converged, n_nonzero=int(np.count_nonzero(res_jax.coef)),
               max_abs_diff_numpy=float(np.max(np.abs(
                   np.append(res_jax.coef, res_jax.intercept)
                   - np.append(res_np.coef, res_np.intercept)))),
               zeros_agree=bool(np.array_equal(res_jax.coef == 0, res_np.coef == 0)))
    # scikit-learn at its own default tolerance (1e-4; at mapreg's 1e-12 its saga solver
    # would run for its whole epoch cap on 10**6 rows), timed once: the device is held
    # while the CPU peer runs.
    est = sklearn_estimator(model, tol=1e-4, max_iter=1000)
    if est is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row["sklearn_s"], _ = best(lambda: est.fit(model.X, model.y), 1)
        row["sklearn"] = type(est).__name__
        row["max_abs_diff_sklearn"] = float(np.max(np.abs(np.ravel(est.coef_) - res_jax.coef)))
    return row


def fista_figure(model, iterations=300, repeat=3):
    """Time ``iterations`` FISTA steps in one jit call (no early stop)."""
    import jax.numpy as jnp

    from mapreg.backends.jax_solver import _kernels, x64

    a, c = model.prior.penalty().quadratic_weights()
    s2 = model.noise_sigma**2 if model.noise_sigma else 1.0
    with x64():
        X, y = jnp.asarray(model.X), jnp.asarray(model.y)
        x0 = jnp.zeros(model.n_features + 1)
        fam = model.family.name

        def run():
            out = _kernels()["fista"](X, y, x0, s2, a, c, 1.0, -1.0, iterations, family=fam,
                                      fit_intercept=True)
            out[0].block_until_ready()
            return out

        run()  # compile
        t, out = best(run, repeat)
    return {"fista_iterations": int(out[2]), "fista_s": t}


def path_figure(model, n_lambdas=30, ratio=1e-2, with_numpy=True):
    """``path`` over ``n_lambdas`` weights down to ``ratio * lam_max``: JAX vs numpy vs sklearn.

    Zeros are compared below ``lam_max``: at ``lam_max`` itself the first coefficient's
    ``|dL/dw_j|`` equals ``lam`` (a tie that the last bit of a sum decides).
    """
    from sklearn.linear_model import lasso_path

    import mapreg

    mapreg.path(model, n_lambdas=3, lambda_min_ratio=ratio, backend="jax")  # compiles
    t0 = time.perf_counter()
    pj = mapreg.path(model, n_lambdas=n_lambdas, lambda_min_ratio=ratio, backend="jax")
    row = {"path_n_lambdas": n_lambdas, "path_jax_s": time.perf_counter() - t0,
           "path_all_converged": bool(pj.converged.all())}
    if with_numpy:
        t0 = time.perf_counter()
        pn = mapreg.path(model, n_lambdas=n_lambdas, lambda_min_ratio=ratio)
        row.update(path_numpy_s=time.perf_counter() - t0,
                   path_max_abs_diff_numpy=float(np.max(np.abs(pj.coef - pn.coef))),
                   path_zeros_agree_numpy=bool(np.array_equal(pj.coef[1:] == 0,
                                                              pn.coef[1:] == 0)))
    # lasso_path minimises ||y - Xw||^2 / (2n) + alpha |w|_1 on centred data: alpha = lam s^2 / n
    n = model.X.shape[0]
    Xc, yc = model.X - model.X.mean(0), model.y - model.y.mean()
    alphas = pj.lambdas * model.noise_sigma**2 / n
    t0 = time.perf_counter()
    _, coefs, _ = lasso_path(Xc, yc, alphas=alphas, tol=1e-10)
    row.update(path_sklearn_s=time.perf_counter() - t0,
               path_max_abs_diff_sklearn=float(np.max(np.abs(pj.coef - coefs.T))),
               path_zeros_agree_sklearn=bool(np.array_equal(pj.coef[1:] == 0,
                                                            coefs.T[1:] == 0)))
    return row


def nuts_figure(model, label, seed=0, chain_method="vectorized"):
    """NUTS through numpyro on ``model``: min bulk ESS per wall second (compilation in)."""
    import arviz_stats as azs

    import mapreg
    import mapreg.posterior.sample  # a library import (mapreg loads it lazily): before the clock

    # One device: numpyro's "parallel" chains would run one after the other; "vectorized"
    # advances the 4 chains together in one jit-compiled kernel.
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = mapreg.sample_posterior(model, draws=1000, tune=1000, chains=4,
                                       sampler="numpyro", random_seed=seed, progressbar=False,
                                       nuts_sampler_kwargs={"chain_method": chain_method})
    wall = time.perf_counter() - t0
    ess = azs.ess(tree["posterior"].to_dataset(), var_names=["coef", "intercept"],
                  method="bulk")
    min_ess = float(min(np.min(ess["coef"].values), float(ess["intercept"])))
    stats = tree["sample_stats"].to_dataset()
    return {"prior": label, "wall_s": wall, "min_ess_bulk": min_ess,
            "ess_per_s": min_ess / wall, "chain_method": chain_method,
            "mean_tree_depth": float(stats["tree_depth"].mean()),
            "mean_step_size": float(stats["step_size"].mean())}


def markdown(res) -> str:
    n, p = res["n"], res["p"]
    lines = [
        BEGIN,
        f"{res['device']}, {res['date']}; n = {n:,} × p = {p}, Laplace prior at λ = 0.1 "
        f"λ_max; best of {res['repeat']} warm runs. scikit-learn on {res['cpu_count']} CPU "
        "cores at its default tolerance (1e-4), one run; its distance from the certified "
        "MAP is in the last column.",
        "",
        "| family | `backend=\"jax\"` (GPU) | numpy backend (CPU) | scikit-learn (CPU) | "
        "max \\|jax − numpy\\| | same zeros | KKT | max \\|sklearn − jax\\| |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in res["map"]:
        sk = f"{r['sklearn_s']:.3f} s ({r['sklearn']})" if "sklearn_s" in r else "–"
        lines.append(f"| {r['family']} | {r['jax_s']:.3f} s (first call "
                     f"{r['jax_first_call_s']:.1f} s) | {r['cpu_numpy_s']:.3f} s | {sk} | "
                     f"{r['max_abs_diff_numpy']:.1e} | {r['zeros_agree']} | {r['kkt']:.1e} | "
                     f"{r.get('max_abs_diff_sklearn', float('nan')):.1e} |")
    if "fista_s" in res:
        lines += ["", f"{res['fista_iterations']} FISTA iterations (gaussian, one jit call): "
                      f"{1000 * res['fista_s']:.0f} ms."]
    if "path_jax_s" in res:
        numpy = (f", numpy backend {res['path_numpy_s']:.2f} s (max \\|jax − numpy\\| "
                 f"{res['path_max_abs_diff_numpy']:.1e}, same zeros below λ_max: "
                 f"{res['path_zeros_agree_numpy']})" if "path_numpy_s" in res else "")
        lines += [f"Path of {res['path_n_lambdas']} λ down to 0.01 λ_max (gaussian, warm "
                  f"starts): `path(backend=\"jax\")` {res['path_jax_s']:.2f} s{numpy}, "
                  f"scikit-learn `lasso_path(tol=1e-10)` {res['path_sklearn_s']:.2f} s (max "
                  f"\\|jax − sklearn\\| {res['path_max_abs_diff_sklearn']:.1e}, same zeros "
                  f"below λ_max: {res.get('path_zeros_agree_sklearn')})."]
    if res.get("nuts"):
        lines += ["", "NUTS through numpyro (the gaussian model on its sufficient statistics, "
                  "4 chains × 1,000 draws after 1,000 tuning steps, compilation included):", "",
                  "| prior | wall | min bulk ESS | ESS/s | mean tree depth | mean step size |",
                  "|---|---|---|---|---|---|"]
        for r in res["nuts"]:
            lines.append(f"| {r['prior']} | {r['wall_s']:.1f} s | {r['min_ess_bulk']:.0f} | "
                         f"{r['ess_per_s']:.1f} | {r.get('mean_tree_depth', float('nan')):.1f} "
                         f"| {r.get('mean_step_size', float('nan')):.2g} |")
    if "nuts_error" in res:
        lines += [f"NUTS (numpyro) not measured: {res['nuts_error']}"]
    lines.append(END)
    return "\n".join(lines)


def write_readme(section: str) -> None:
    path = HERE / "README.md"
    text = path.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## GPU: `bench_gpu.py`\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--p", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parts", default="map,fista,path,nuts",
                    help="comma-separated subset of map,fista,path,nuts")
    ap.add_argument("--no-numpy-path", action="store_true",
                    help="time the path on JAX and scikit-learn only")
    ap.add_argument("--merge", type=Path,
                    help="an earlier results JSON: its figures stay unless re-measured")
    ap.add_argument("--allow-cpu", action="store_true",
                    help="run on JAX's CPU when there is no CUDA device (a check of the script)")
    ap.add_argument("--dry-run", action="store_true", help="print, write nothing")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))

    device = cuda_device()
    if device is None and not args.allow_cpu:
        print("bench_gpu: no CUDA device visible to JAX (install jax[cuda12] on a machine "
              "with an NVIDIA GPU); skipped.")
        return 0
    import jax

    import mapreg

    name = device.device_kind if device is not None else f"JAX CPU ({platform.processor()})"
    print(f"bench_gpu: {name}, n={args.n:,} p={args.p}")
    X, y, labels = problem(args.n, args.p)
    res = json.loads(args.merge.read_text()) if args.merge else {"map": [], "nuts": []}
    res.update({"device": name, "date": time.strftime("%Y-%m-%d"), "n": args.n, "p": args.p,
                "repeat": args.repeat, "cpu_count": os.cpu_count(), "jax": jax.__version__})
    gauss = lasso_model(X, y, "gaussian")
    if "map" in parts:
        res["map"] = []
        for model in (gauss, lasso_model(X, labels, "bernoulli")):
            row = map_figures(model, args.repeat)
            print(json.dumps(row))
            res["map"].append(row)
    if "fista" in parts:
        res.update(fista_figure(gauss, repeat=args.repeat))
        print(f"FISTA: {res['fista_iterations']} iterations in {1000 * res['fista_s']:.1f} ms")
    if "path" in parts:
        path_row = path_figure(gauss, with_numpy=not args.no_numpy_path)
        print(json.dumps(path_row))
        res.update(path_row)
    if "nuts" in parts:
        # The Gaussian prior's posterior is smooth; the Laplace one at n = 10**6 is its kink.
        ridge = mapreg.Model(X, y, prior=mapreg.Gaussian(1.0), noise_sigma=1.0)
        done = {r["prior"] for r in res.get("nuts", [])}
        for label, model in (("gaussian (sigma = 1)", ridge), ("laplace (0.1 lam_max)", gauss)):
            if label in done and args.merge:
                continue
            try:
                row = nuts_figure(model, label)
                print(json.dumps(row))
                res["nuts"] = [r for r in res.get("nuts", []) if r["prior"] != label] + [row]
            except Exception as exc:  # the MAP figures stand without it; say why
                res["nuts_error"] = f"{type(exc).__name__}: {exc}"
                print(f"NUTS figure skipped: {res['nuts_error']}")
    section = markdown(res)
    print(section)
    if args.dry_run or device is None:
        return 0
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "gpu.json").write_text(json.dumps(res, indent=2) + "\n")
    write_readme(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
