"""The main job on the embedded diabetes data: the equivalence, verified and tabulated."""

from __future__ import annotations

import warnings

import numpy as np

from mapreg.datasets import load_diabetes
from mapreg.fit.verify import verify_equivalence
from mapreg.model import Model
from mapreg.priors import make_prior

#: The demo's settings: standardised X, centred y, known noise 53 (close to the
#: residual standard deviation of the least-squares fit).
NOISE_SIGMA = 53.0
LAPLACE_SCALES = (0.5, 2.0, 10.0, 100.0)
GAUSSIAN_SCALES = (1.0, 10.0, 100.0)


def equivalence_rows(noise_sigma: float = NOISE_SIGMA, compare_pymc: bool = True):
    """Verify the equivalence on diabetes for each prior scale; one dict per setting.

    Each row has the prior, ``lam``, the largest differences MAP vs penalised
    and MAP vs scikit-learn, the zero counts, the KKT violation, ``passed`` and,
    when ``compare_pymc``, the largest distance from ``pymc.find_MAP``'s answer
    to the exact mode and how many of its coefficients are exactly zero.
    """
    data = load_diabetes()
    rows = []
    priors = ([make_prior("laplace", b) for b in LAPLACE_SCALES]
              + [make_prior("gaussian", s) for s in GAUSSIAN_SCALES])
    for prior in priors:
        model = Model(data.X, data.y, prior=prior, noise_sigma=noise_sigma,
                      feature_names=data.feature_names)
        report = verify_equivalence(model)
        row = {
            "prior": repr(prior),
            "lam": prior.lam,
            "report": report,
            "max_diff_penalized": report.max_abs_diff,
            "max_diff_sklearn": report.max_abs_diff_sklearn,
            "zeros_map": report.map.n_zeros,
            "zeros_sklearn": (int(np.sum(report.sklearn_coef == 0.0))
                              if report.sklearn_coef is not None else None),
            "kkt": report.map.kkt_violation,
            "passed": report.passed,
        }
        if compare_pymc:
            from mapreg.interop.pymc_map import pymc_find_map

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                coef, intercept = pymc_find_map(model)
            row["pymc_find_map_max_diff"] = float(np.max(np.abs(
                np.append(coef, intercept) - np.append(report.map.coef, report.map.intercept))))
            row["pymc_find_map_zeros"] = int(np.sum(coef == 0.0))
        rows.append(row)
    return rows


def format_equivalence_table(rows) -> str:
    """The rows of :func:`equivalence_rows` as a fixed-width text table."""
    head = (f"{'prior':<22}{'lambda':>10}{'|MAP-pen|':>11}{'|MAP-skl|':>11}"
            f"{'zeros':>7}{'skl 0s':>7}{'KKT':>10}{'find_MAP off by':>17}{'fM 0s':>6}  passed")
    lines = [head, "-" * len(head)]
    for r in rows:
        skl = "n/a" if r["max_diff_sklearn"] is None else f"{r['max_diff_sklearn']:.1e}"
        fm = r.get("pymc_find_map_max_diff")
        lines.append(
            f"{r['prior']:<22}{r['lam']:>10.4g}{r['max_diff_penalized']:>11.1e}{skl:>11}"
            f"{r['zeros_map']:>7}{r['zeros_sklearn']!s:>7}{r['kkt']:>10.1e}"
            f"{('-' if fm is None else f'{fm:.4f}'):>17}"
            f"{r.get('pymc_find_map_zeros', '-')!s:>6}  {r['passed']}"
        )
    return "\n".join(lines)


def equivalence_demo_text(rows, noise_sigma: float = NOISE_SIGMA) -> str:
    """The demo's printed text for the rows of :func:`equivalence_rows`."""
    lines = [
        "A penalty is a prior — diabetes data (n=442, p=10), standardised X, centred y, "
        f"noise s={noise_sigma:g}",
        "Laplace(b) <-> L1 with lambda = 1/b;  Gaussian(sigma) <-> squared L2 with "
        "lambda = 1/(2 sigma^2)",
        "scikit-learn: Lasso(alpha = s^2/(n b)), Ridge(alpha = s^2/sigma^2)\n",
        format_equivalence_table(rows),
    ]
    detail = next(r for r in rows if r["prior"] == "Laplace(b=2.0)")
    lines += ["\nDetail for Laplace(b=2):", str(detail["report"])]
    if "pymc_find_map_max_diff" in detail:
        lines.append(
            f"\npymc.find_MAP (L-BFGS on the kinked log density) lands "
            f"{detail['pymc_find_map_max_diff']:.4f} away from the exact mode and returns "
            f"{detail['pymc_find_map_zeros']} exact zeros (the mode has "
            f"{detail['zeros_map']}).")
    return "\n".join(lines)

