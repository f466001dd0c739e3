"""Issue 13: Ctrl-C and SIGTERM stop the command line within about a second, exit 130, and
leave the previous report exactly as it was.

Each test runs ``mapreg report`` in a subprocess over an earlier report, waits for a
progress line, sends the signal and times the exit. The points covered: nutpie's
compilation and sampling (which catch the interrupt themselves), the Gibbs sampler's
compiled loop (the command has to be ended from outside it), and figure drawing.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mapreg.app.files import atomic_directory

pytestmark = pytest.mark.slow

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
ENV.pop("MAPREG_DEBUG", None)
#: The issue asks for ~1 s; the watchdog ends a stuck command after 1.2 s.
DEADLINE_S = 2.5


def snapshot(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(tmp_path):
    with atomic_directory(tmp_path / "res") as tmp:
        (tmp / "index.html").write_text("the previous report")
    return tmp_path / "res"


def csv_file(path, n, p, family, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = X[:, :3] @ [1.0, -1.0, 0.5]
    y = ((eta + rng.standard_normal(n)) > 0).astype(int) if family == "bernoulli" \
        else eta + rng.standard_normal(n)
    names = [f"x{j}" for j in range(p)]
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.5g",
               header=",".join([*names, "y"]), comments="")
    return path


def interrupt(args, marker: str, delay: float, sig, cwd):
    """Run ``mapreg *args``; ``delay`` s after ``marker`` appears on stderr send ``sig``."""
    proc = subprocess.Popen([sys.executable, "-m", "mapreg", *map(str, args)], cwd=cwd,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            break
    else:
        proc.wait()
        pytest.fail(f"{marker!r} never appeared: {''.join(seen)}")
    time.sleep(delay)
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        _, rest = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the command ignored the signal for 30 s")
    return proc.returncode, time.monotonic() - sent, "".join(seen) + rest


def check(previous, before, code, elapsed, err):
    assert code == 130, err
    assert elapsed < DEADLINE_S, (elapsed, err)
    assert err.strip().splitlines()[-1] == "mapreg: interrupted; no partial output was left behind"
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert snapshot(previous) == before
    assert sorted(p.name for p in previous.parent.iterdir()
                  if p.name.startswith(".")) == []  # no temporary folder left


@pytest.mark.parametrize(("delay", "sig"), [(0.3, signal.SIGINT), (2.5, signal.SIGTERM)],
                         ids=["SIGINT-compiling", "SIGTERM-sampling"])
def test_nutpie_interrupted(tmp_path, previous, delay, sig):
    data = csv_file(tmp_path / "labels.csv", 2000, 5, "bernoulli")
    before = snapshot(previous)
    code, elapsed, err = interrupt(
        ["report", data, "--target", "y", "--family", "bernoulli", "--prior", "laplace",
         "--scale", 1, "--sampler", "nutpie", "--draws", 1000, "--tune", 1000,
         "--out", previous], "sampling the posterior", delay, sig, tmp_path)
    check(previous, before, code, elapsed, err)


def test_gibbs_interrupted_in_its_compiled_loop(tmp_path, previous):
    data = csv_file(tmp_path / "wide.csv", 60, 300, "gaussian")
    before = snapshot(previous)
    code, elapsed, err = interrupt(
        ["report", data, "--target", "y", "--prior", "laplace", "--scale", 1, "--noise", 1,
         "--sampler", "gibbs", "--draws", 2000, "--tune", 100000, "--out", previous],
        "sampling the posterior", 0.5, signal.SIGTERM, tmp_path)
    check(previous, before, code, elapsed, err)


def test_interrupted_while_drawing_figures(tmp_path, previous):
    data = csv_file(tmp_path / "small.csv", 60, 4, "gaussian")
    before = snapshot(previous)
    code, elapsed, err = interrupt(
        ["report", data, "--target", "y", "--prior", "laplace", "--scale", 1, "--noise", 1,
         "--draws", 300, "--tune", 100, "--out", previous],
        "drawing posterior_median_path", 0.2, signal.SIGINT, tmp_path)
    check(previous, before, code, elapsed, err)
