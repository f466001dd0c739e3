"""Out of core with dask: peak memory and time of the one-pass Gaussian MAP against n.

Every measurement runs in a fresh child process; its peak resident set size is the
kernel's ``ru_maxrss`` of that child (``os.wait4``), so imports, dask's buffers and the
statistics all count. Three experiments:

1. **4,000,000 x 25, never materialised**: the design is generated chunk by chunk inside
   the pass (``dask.array`` random numbers, 100,000-row chunks) and ``find_map`` of a
   Laplace prior runs from the one-pass statistics; the claim is peak RSS <= 700 MB (the
   design alone is 800 MB). The same numbers computed into memory and fitted by numpy are
   the peer (same data: the coefficients are compared).
2. **The same through a Parquet file and the command line**: the design is written chunk
   by chunk to one Parquet file (100,000-row row groups), then ``mapreg verify FILE
   --out-of-core`` runs as a subprocess; its peak RSS is measured the same way.
3. **Scaling**: time and peak RSS of (1) for n from 1e5 up to ``--max-n`` (default 4e7),
   with the time of a pass that only generates the data (the floor: the fit adds the
   ``2 n p**2`` flops of the cross-products), and numpy in memory up to 4e6 beside it.

Writes ``results/dask.json``, ``dask_scaling.png`` and the table between the
``bench_dask`` markers of ``README.md``. ``--quick``: n up to 1e6 (a smoke run).
Set ``OPENBLAS_NUM_THREADS=1``: dask's threads are the parallelism.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
P, CHUNK, SEED, B = 25, 100_000, 0, 1e-4  # lam = 1e4: exact zeros at every n
TRUE_W = [1.0, -0.8, 0.6, -0.4, 0.2] + [0.0] * (P - 5)


# ------------------------------------------------------------------ children
def _design(n: int, p: int = P, chunk: int = CHUNK):
    """``X`` (n x p, standard normal) and ``y = X w + e`` as lazy dask arrays."""
    import dask.array as da
    import numpy as np

    rng = da.random.default_rng(SEED)
    X = rng.standard_normal((n, p), chunks=(chunk, p))
    w = np.array(TRUE_W[:p] + [0.0] * max(0, p - len(TRUE_W)))
    y = X @ w + 0.5 + rng.standard_normal(n, chunks=chunk)
    return X, y


def child_fit_dask(n: int) -> dict:
    import mapreg

    X, y = _design(n)
    t = time.perf_counter()
    res = mapreg.find_map(mapreg.Model(X, y, prior=mapreg.Laplace(b=B), noise_sigma=1.0))
    return {"seconds": time.perf_counter() - t, "coef": res.coef.tolist(),
            "intercept": res.intercept, "kkt": res.kkt_violation, "zeros": res.n_zeros}


def child_generate_only(n: int) -> dict:
    import dask

    X, y = _design(n)
    t = time.perf_counter()
    dask.compute(X.sum(axis=0), y.sum())  # the same chunks made, nothing but a sum kept
    return {"seconds": time.perf_counter() - t}


def child_fit_numpy(n: int) -> dict:
    import dask
    import numpy as np

    import mapreg

    X, y = _design(n)
    t = time.perf_counter()
    X, y = (np.asarray(a) for a in dask.compute(X, y))
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    res = mapreg.find_map(mapreg.Model(X, y, prior=mapreg.Laplace(b=B), noise_sigma=1.0))
    return {"seconds": time.perf_counter() - t, "load_seconds": t_load,
            "coef": res.coef.tolist(), "intercept": res.intercept, "kkt": res.kkt_violation}


def child_write_parquet(n: int, path: str) -> dict:
    """The design, chunk by chunk, into one Parquet file (a row group per chunk)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = _design(n)
    names = [f"x{j}" for j in range(P)] + ["y"]
    t = time.perf_counter()
    writer = None
    for xb, yb in zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True):
        xb, yb = xb.compute(), yb.compute()
        cols = [pa.array(np.ascontiguousarray(xb[:, j])) for j in range(P)] + [pa.array(yb)]
        table = pa.Table.from_arrays(cols, names=names)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    return {"seconds": time.perf_counter() - t, "bytes": os.path.getsize(path)}


CHILDREN = {"fit-dask": child_fit_dask, "generate": child_generate_only,
            "fit-numpy": child_fit_numpy, "write-parquet": child_write_parquet}


# ------------------------------------------------------------------ the parent
def _env() -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MPLBACKEND": "Agg"}
    root = str(HERE.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_child(kind: str, *args) -> tuple[dict, float]:
    res, _, rss, _ = _measure_child([sys.executable, __file__, "--child", kind, *map(str, args)])
    return res, rss


def _measure_child(argv: list[str]) -> tuple[dict | None, float, float, str]:
    """Run ``argv``; ``(its last JSON line or None, wall seconds, peak RSS in MB, stdout)``.

    The child is reaped by ``os.wait4``, which returns its own resource usage.
    """
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
        proc = subprocess.Popen(argv, stdout=fout, stderr=ferr, text=True, env=_env())
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[2:]} failed ({proc.returncode}): {err.strip()[-500:]}")
    result = None
    for line in out.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
    return result, wall, usage.ru_maxrss / 1024.0, out


def experiment_4m(results: dict, n: int = 4_000_000) -> None:
    fit, rss = _run_child("fit-dask", n)
    ref, rss_np = _run_child("fit-numpy", n)
    import numpy as np

    diff = float(np.max(np.abs(np.array(fit["coef"]) - np.array(ref["coef"]))))
    results["in_process"] = {"n": n, "p": P, "dask_seconds": fit["seconds"],
                             "dask_peak_rss_mb": rss, "numpy_seconds": ref["seconds"],
                             "numpy_load_seconds": ref["load_seconds"],
                             "numpy_peak_rss_mb": rss_np, "max_abs_coef_diff": diff,
                             "kkt": fit["kkt"], "zeros": fit["zeros"]}
    print(f"[4M in process] dask {fit['seconds']:.1f} s, peak {rss:.0f} MB; numpy "
          f"{ref['seconds']:.1f} s (+{ref['load_seconds']:.1f} s to load), peak {rss_np:.0f} MB; "
          f"max |coef diff| {diff:.1e}", flush=True)


def experiment_cli(results: dict, n: int = 4_000_000) -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        path = os.path.join(tmp, "design.parquet")
        wrote, rss_w = _run_child("write-parquet", n, path)
        argv = [sys.executable, "-m", "mapreg", "verify", path, "--target", "y", "--prior",
                "laplace", "--scale", str(B), "--noise", "1", "--out-of-core", "-q"]
        _, wall, rss, out = _measure_child(argv)
    passed = "PASSED: True" in out
    results["cli_parquet"] = {"n": n, "p": P, "file_mb": wrote["bytes"] / 2**20,
                              "write_seconds": wrote["seconds"], "write_peak_rss_mb": rss_w,
                              "verify_seconds": wall, "verify_peak_rss_mb": rss,
                              "passed": passed}
    print(f"[4M parquet CLI] file {wrote['bytes'] / 2**20:.0f} MB written in "
          f"{wrote['seconds']:.1f} s (peak {rss_w:.0f} MB); mapreg verify --out-of-core "
          f"{wall:.1f} s, peak {rss:.0f} MB, passed {passed}", flush=True)


def experiment_scaling(results: dict, max_n: float) -> None:
    grid = [n for n in (100_000, 300_000, 1_000_000, 3_000_000, 10_000_000, 40_000_000)
            if n <= max_n]
    rows = []
    for n in grid:
        gen, _ = _run_child("generate", n)
        fit, rss = _run_child("fit-dask", n)
        row = {"n": n, "generate_seconds": gen["seconds"], "fit_seconds": fit["seconds"],
               "peak_rss_mb": rss}
        if n <= 4_000_000:
            ref, rss_np = _run_child("fit-numpy", n)
            row.update(numpy_seconds=ref["seconds"], numpy_load_seconds=ref["load_seconds"],
                       numpy_peak_rss_mb=rss_np)
        rows.append(row)
        print(f"[scaling] n={n:>10,}: generate {gen['seconds']:.2f} s, fit {fit['seconds']:.2f} "
              f"s, peak {rss:.0f} MB" + (f"; numpy fit {row['numpy_seconds']:.2f} s, peak "
                                         f"{row['numpy_peak_rss_mb']:.0f} MB"
                                         if "numpy_seconds" in row else ""), flush=True)
    results["scaling"] = rows


def figure(results: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    rows = results["scaling"]
    n = [r["n"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.loglog(n, [r["fit_seconds"] for r in rows], "o-", label="dask: find_map (one pass)")
    a.loglog(n, [r["generate_seconds"] for r in rows], "s--", label="dask: generating only")
    num = [r for r in rows if "numpy_seconds" in r]
    a.loglog([r["n"] for r in num], [r["numpy_seconds"] for r in num], "^-",
             label="numpy in memory: find_map")
    a.set(xlabel="rows n (p = 25)", ylabel="seconds", title="time")
    a.legend(fontsize=8)
    b.semilogx(n, [r["peak_rss_mb"] for r in rows], "o-", label="dask (out of core)")
    b.semilogx([r["n"] for r in num], [r["numpy_peak_rss_mb"] for r in num], "^-",
               label="numpy in memory")
    b.axhline(700, color="grey", ls=":", label="700 MB")
    b.set(xlabel="rows n (p = 25)", ylabel="peak RSS (MB)", title="peak memory")
    b.legend(fontsize=8)
    fig.suptitle("Gaussian MAP (Laplace prior) from one pass of sufficient statistics")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def readme_table(results: dict) -> str:
    ip, cli = results.get("in_process"), results.get("cli_parquet")
    lines = [f"Run {results['date']}, {results['cores']} cores shared with other jobs "
             "(timings noisy, ±30% or more; memory is not).", ""]
    if ip:
        lines += [
            "| 4,000,000 × 25 | time | peak RSS |", "|---|---|---|",
            f"| dask, generated chunk-wise, never materialised | {ip['dask_seconds']:.1f} s | "
            f"{ip['dask_peak_rss_mb']:.0f} MB |",
            f"| numpy, the same numbers in memory | {ip['numpy_seconds']:.1f} s "
            f"(+{ip['numpy_load_seconds']:.1f} s to compute them) | "
            f"{ip['numpy_peak_rss_mb']:.0f} MB |"]
        if cli:
            lines.append(f"| `mapreg verify FILE.parquet --out-of-core` ({cli['file_mb']:.0f} MB "
                         f"file; passed: {cli['passed']}) | {cli['verify_seconds']:.1f} s (whole "
                         f"command) | {cli['verify_peak_rss_mb']:.0f} MB |")
        lines += ["", f"Same coefficients: max |dask − numpy| = {ip['max_abs_coef_diff']:.1e}; "
                      f"KKT {ip['kkt']:.1e}, {ip['zeros']} exact zeros.", ""]
    if results.get("scaling"):
        lines += ["| n | generating only | dask `find_map` | peak RSS | numpy `find_map` | "
                  "numpy peak RSS |", "|---|---|---|---|---|---|"]
        for r in results["scaling"]:
            np_cols = (f"{r['numpy_seconds']:.2f} s | {r['numpy_peak_rss_mb']:.0f} MB"
                       if "numpy_seconds" in r else "— | —")
            lines.append(f"| {r['n']:,} | {r['generate_seconds']:.2f} s | "
                         f"{r['fit_seconds']:.2f} s | {r['peak_rss_mb']:.0f} MB | {np_cols} |")
        lines += ["", "![time and peak memory against n](dask_scaling.png)"]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = HERE / "README.md"
    body = readme.read_text()
    begin, end = "<!-- bench_dask: begin -->", "<!-- bench_dask: end -->"
    block = f"{begin}\n{text}\n{end}"
    if begin in body:
        head, rest = body.split(begin, 1)
        body = head + block + rest.split(end, 1)[1]
    else:
        body = body.rstrip() + "\n\n## Out of core: `bench_dask.py`\n\n" + block + "\n"
    readme.write_text(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs="+")
    ap.add_argument("--quick", action="store_true", help="n up to 1e6, no 4M experiments")
    ap.add_argument("--max-n", type=float, default=4e7)
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        rest = [int(float(rest[0])), *rest[1:]]
        print(json.dumps(CHILDREN[kind](*rest)), flush=True)
        return
    results = {"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "p": P,
               "chunk_rows": CHUNK}
    t = time.perf_counter()
    if not args.quick:
        experiment_4m(results)
        experiment_cli(results)
    experiment_scaling(results, 1e6 if args.quick else args.max_n)
    results["total_seconds"] = time.perf_counter() - t
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "dask.json").write_text(json.dumps(results, indent=1))
    figure(results, HERE / "dask_scaling.png")
    if not args.no_readme:
        write_readme(readme_table(results))
    print(f"total {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
