"""The report writer: atomic output, self-contained HTML, failures shown rather than hidden."""

import json

import numpy as np
import pytest

from mapreg.app.report import (
    FigureSpec,
    ReportError,
    Section,
    atomic_directory,
    atomic_write,
    check_destination,
    table_records,
    write_report,
)


def test_interrupted_report_leaves_nothing_behind(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "index.html").write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_rewrite_replaces_an_earlier_report(tmp_path):
    with atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "stale.png").write_text("old figure")
    with atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "index.html").write_text("new")
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == [".mapreg-report",
                                                                   "index.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_interrupted_rewrite_keeps_the_old_report(tmp_path):
    with atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "index.html").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "rep") as tmp:
        (tmp / "index.html").write_text("new, half")
        raise RuntimeError("boom")
    assert (tmp_path / "rep" / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_destination_checks(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ReportError, match="not a directory"):
        check_destination(tmp_path / "file")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ReportError, match="not a mapreg report"):
        check_destination(tmp_path / "mine")
    with pytest.raises(ReportError, match="not a mapreg report"), \
            atomic_directory(tmp_path / "mine"):
        pass
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    check_destination(tmp_path / "new" / "deeper")  # missing parents are fine


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "post.nc"
    target.write_text("old")

    def fail(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["post.nc"]
    atomic_write(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new"


def test_table_records_reads_data_frames():
    import pandas as pd

    want = [{"feature": "a", "map": 0.0}, {"feature": "b", "map": 1.5}]
    df = pd.DataFrame({"map": [0.0, 1.5]}, index=pd.Index(["a", "b"], name="feature"))
    assert table_records(df) == want  # a named index becomes the first column
    assert table_records(df.reset_index()) == want
    assert table_records(pd.DataFrame({"map": [0.0, 1.5]})) == [{"map": 0.0}, {"map": 1.5}]


def test_comparison_records_are_compare_mode_posterior_row_by_row():
    from mapreg.app.report_sections import comparison_records, comparison_text

    names = ["a", "b", "c"]
    idata = _fake_idata([1.0, 0.0, -2.0], names, "test", [0.9, 0.0, -1.9], 1.0)
    rows = comparison_records(idata)
    draws = idata["posterior"]["coef"].values.reshape(-1, 3)
    assert [r["feature"] for r in rows] == names
    for j, row in enumerate(rows):
        assert row["mean"] == pytest.approx(draws[:, j].mean(), rel=1e-12)
        assert row["median"] == pytest.approx(np.median(draws[:, j]), rel=1e-12)
        assert row["map_is_zero"] == (j == 1)
    text = comparison_text(idata)
    assert text.splitlines()[0].split()[:3] == ["map", "mean", "median"]
    assert f"{draws[:, 2].mean():.4g}" in text


def test_failed_figure_is_reported_and_html_is_escaped(tmp_path):
    import matplotlib.pyplot as plt

    def good():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        return fig

    def bad():
        raise ValueError("no lasso path <here>")

    out = write_report(
        tmp_path / "rep", title="t <&>", subtitle="s",
        sections=[Section("Numbers", "text", ("name", "value"), [("x<1>", np.float64(0.5))])],
        figures=[FigureSpec("good", "Good", "a line", good),
                 FigureSpec("bad", "Bad", "never drawn", bad)],
        summary={"value": np.float64(2.0), "flag": np.bool_(True)})
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<title>t &lt;&amp;&gt;</title>" in html
    assert "<td>x&lt;1&gt;</td><td>0.5</td>" in html
    assert "could not be drawn: ValueError: no lasso path &lt;here&gt;" in html
    assert 'src="figures/good.png"' in html and "figures/bad.png" not in html
    assert (out / "figures" / "good.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["value"] == 2.0 and summary["flag"] is True
    assert summary["figures_failed"] == {"bad": "ValueError: no lasso path <here>"}
    assert summary["files"] == ["index.html", "summary.json", "figures/good.png"]


def _fake_idata(coef_mean, names, sampler, map_coef, map_intercept, seed=0):
    """A small posterior (2 chains x 60 draws) around ``coef_mean``, with a ``map`` group."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    coef = coef_mean + 0.1 * rng.standard_normal((2, 60, len(names)))
    post = xr.Dataset({"coef": (("chain", "draw", "feature"), coef),
                       "intercept": (("chain", "draw"), 1.0 + 0.1 * rng.standard_normal((2, 60)))},
                      coords={"feature": names})
    map_ds = xr.Dataset({"coef": (("feature",), np.asarray(map_coef, float)),
                         "intercept": ((), float(map_intercept))}, coords={"feature": names})
    tree = xr.DataTree.from_dict({"posterior": post, "map": map_ds})
    tree.attrs["sampler"] = sampler
    return tree


@pytest.mark.parametrize("kind", ["elasticnet", "horseshoe"])
def test_model_report_for_the_wider_prior_family(kind, tmp_path):
    from mapreg.app.report import model_report
    from mapreg.model import Model
    from mapreg.priors import ElasticNet, Horseshoe

    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.0, 0.0, -2.0]) + 1.0 + 0.5 * rng.standard_normal(40)
    names = ["a", "b", "c"]
    info = {"file": "toy.csv", "rows": 40, "features": names, "target": "y",
            "standardized": False, "noise_sigma_source": "--noise"}
    if kind == "elasticnet":
        from mapreg.fit.verify import verify_equivalence

        model = Model(X, y, prior=ElasticNet(1.0, 2.0), noise_sigma=0.5, feature_names=names)
        equivalence = verify_equivalence(model)
        idata = _fake_idata([1.0, 0.0, -2.0], names, "nutpie", equivalence.map.coef,
                            equivalence.map.intercept)
    else:
        model = Model(X, y, prior=Horseshoe(1.0), noise_sigma=0.5, feature_names=names)
        equivalence = None
        idata = _fake_idata([1.0, 0.0, -2.0], names, "gibbs", [np.nan] * 3, np.nan)
    out = model_report(tmp_path / "rep", model, equivalence=equivalence, idata=idata,
                       title="t", data_info=info, settings={"draws": 60, "chains": 2})
    summary = json.loads((out / "summary.json").read_text())
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "figures_failed" not in summary, summary.get("figures_failed")
    assert "figures/prior_vs_penalty.png" in summary["files"]
    assert summary["figures_skipped"]["shrinkage_force"].endswith("Gaussian priors only")
    assert "Mode = penalised fit" in html and "Mode vs posterior" in html
    if kind == "elasticnet":
        assert summary["model"]["scale"] == 1.0 and summary["model"]["lam"] == 1.0
        assert summary["equivalence"]["passed"] is True
        assert "figures/map_path.png" in summary["files"]
        assert "figures/training_trajectories.png" in summary["files"]
        assert "ElasticNet(b=1.0, sigma=2.0) prior ⇔ penalty λ = 1" in html
    else:
        assert summary["model"]["lam"] is None
        assert summary["equivalence"] == {
            "skipped": "the prior has no posterior mode and no penalty dual"}
        assert "figures/map_path.png" not in summary["files"]
        assert summary["figures_skipped"]["training_trajectories"].startswith("gradient")
        assert "Skipped: the Horseshoe prior" in html
        assert "no mode and no penalty dual" in html


def _cells(html, title):
    """The table cells (row by row) of the section headed ``title``."""
    import re

    start = html.index(f">{title}</h2>")
    body = html[start:html.index("</table>", start)]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)
            if "<td>" in row]


@pytest.mark.filterwarnings("ignore::UserWarning")  # short chains: ESS / R-hat chatter
def test_which_lambda_and_which_prior_sections(tmp_path):
    import arviz as az

    import mapreg.priors as mp
    from mapreg.app.html import num
    from mapreg.app.report import model_report
    from mapreg.app.report_choices import COMPARE_CHAINS, COMPARE_DRAWS, COMPARE_TUNE
    from mapreg.fit.cv import lambda_choices
    from mapreg.fit.verify import verify_equivalence
    from mapreg.model import Model
    from mapreg.posterior.sample import sample_posterior

    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 4))
    y = X @ np.array([1.5, 0.0, -1.0, 0.0]) + 0.3 + rng.standard_normal(80)
    names = ["a", "b", "c", "d"]
    model = Model(X, y, prior=mp.Laplace(1.0), noise_sigma=1.0, feature_names=names)
    eq = verify_equivalence(model)
    idata = _fake_idata([1.5, 0.0, -1.0, 0.0], names, "nutpie", eq.map.coef, eq.map.intercept)
    info = {"file": "toy.csv", "rows": 80, "features": names, "target": "y",
            "standardized": False, "noise_sigma_source": "--noise"}
    out = model_report(tmp_path / "rep", model, equivalence=eq, idata=idata, title="t",
                       data_info=info, settings={"seed": 5}, choices=True)
    html = (out / "index.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text())
    assert "figures_failed" not in summary, summary.get("figures_failed")
    assert {"figures/lambda_choices.png", "figures/prior_comparison.png"} <= set(
        summary["files"])
    # Which lambda?: the numbers of lambda_choices with the same folds, seed and hyperprior
    # (the half-Cauchy on b of `mapreg path --bayes`: the coordinate Gibbs sampler draws it)
    ref = lambda_choices(model, cv=5, n_lambdas=50, scale_prior=mp.HalfCauchy(1.0),
                         draws=COMPARE_DRAWS, tune=COMPARE_TUNE, chains=COMPARE_CHAINS,
                         random_seed=5).table
    cells = _cells(html, "Which λ?")
    assert [c[0] for c in cells] == list(ref.index) == ["cv-min", "cv-1se", "empirical-bayes",
                                                       "hyperprior"]
    for row, (_, want) in zip(cells, ref.iterrows(), strict=True):
        assert row[1] == num(want["lam"]) and row[2] == num(want["scale"])
        assert row[5] == num(want["cv_mean"]) and row[6] == str(want["n_nonzero"])
    got = {r["method"]: r for r in summary["choices"]["which_lambda"]["table"]}
    for method, want in ref.iterrows():
        assert got[method]["lam"] == pytest.approx(want["lam"], rel=1e-12)
    assert got["hyperprior"]["lower"] == pytest.approx(ref.loc["hyperprior", "lower"])
    # Which prior?: each elpd_loo is arviz.loo of that prior's posterior, sampled again
    # here with the seed compare_priors derives (SeedSequence(seed), in sampling order)
    which = summary["choices"]["which_prior"]
    assert list(which["priors"]) == ["laplace (this report)", "laplace", "gaussian",
                                     "horseshoe"]
    seeds = np.random.SeedSequence(5).generate_state(len(which["priors"]))
    rows = {r[0].split(":")[0]: r for r in _cells(html, "Which prior?")}
    for (label, text), seed in zip(which["priors"].items(), seeds, strict=True):
        prior = eval(text, vars(mp))  # the repr of a frozen dataclass of floats
        post = sample_posterior(Model(X, y, prior=prior, noise_sigma=1.0), draws=COMPARE_DRAWS,
                                tune=COMPARE_TUNE, chains=COMPARE_CHAINS, random_seed=int(seed),
                                progressbar=False, log_likelihood=True)
        loo = az.loo(post, pointwise=True)
        assert rows[label][2] == f"{loo.elpd:.2f}" and rows[label][3] == f"{loo.se:.2f}"
        entry = next(r for r in which["table"] if r["name"] == label)
        assert entry["elpd"] == pytest.approx(loo.elpd, rel=1e-12)
    assert "Pareto k" in html


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_which_prior_names_unreliable_loo_and_draws_it_red():
    from mapreg.app.report_choices import prior_part
    from mapreg.model import Model
    from mapreg.plots import prior_comparison
    from mapreg.priors import Gaussian

    rng = np.random.default_rng(0)  # test_predictive's outlier: leaving it out moves a lot
    X = rng.normal(size=(25, 12))
    y = X[:, 0] + 0.3 * rng.normal(size=25)
    y[3] += 8.0
    X[3] *= 3.0
    section, figures, summary = prior_part(Model(X, y, prior=Gaussian(100.0), noise_sigma=0.3),
                                           seed=0)
    import html

    assert "<b>⚠ Pareto k: " + html.escape(
        "PSIS-LOO is unreliable for prior 'gaussian (this report)'") in section.text
    table = {r["name"]: r for r in summary["table"]}
    assert table["gaussian (this report)"]["n_high_pareto_k"] > 0
    assert len(summary["pareto_warnings"]) == sum(r["n_high_pareto_k"] > 0
                                                  for r in table.values())
    # the figure: each prior's point at its elpd, red where its LOO is unreliable
    import pandas as pd

    frame = pd.DataFrame(summary["table"]).set_index("name")
    frame.attrs["good_k"] = summary["good_k"]
    fig = prior_comparison(frame)
    ax = fig.axes[0]
    for name, row in frame.iterrows():
        line = next(a for a in ax.get_children() if a.get_gid() == f"elpd:{name}")
        assert line.get_xdata()[0] == pytest.approx(row["elpd"])
        assert (line.get_color() == "tab:red") == (row["n_high_pareto_k"] > 0)
    assert figures[0].name == "prior_comparison"


def test_which_prior_scores_the_reports_own_nuts_posterior():
    """A prior only NUTS samples (Student-t) was left out; with the report's posterior in
    hand it is scored on those draws: its elpd is arviz's loo of exactly them."""
    import warnings

    import arviz_stats as azs

    from mapreg import StudentT, sample_posterior
    from mapreg.app.report_choices import prior_part
    from mapreg.datasets import load_diabetes
    from mapreg.model import Model

    d = load_diabetes()
    model = Model(d.X, d.y, prior=StudentT(3.0, 5.0), noise_sigma=53.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = sample_posterior(model, draws=200, tune=200, chains=2, sampler="nutpie",
                                 random_seed=2, progressbar=False)
        without = prior_part(model, seed=0)[2]
        section, _, summary = prior_part(model, seed=0, idata=idata)
    own = "student-t (this report)"
    assert own in without["left_out"] and own not in summary["left_out"]
    row = {r["name"]: r for r in summary["table"]}[own]
    assert row["sampler"] == "nutpie"
    assert row["elpd"] == pytest.approx(float(azs.loo(idata).elpd), rel=1e-12)
    assert "scored on the report's posterior draws" in section.text
