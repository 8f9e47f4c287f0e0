"""``python -m sim`` on bad input: a one-line error naming key and value, a non-zero exit, and
nothing written (no run folder, no sweep folder, a finished run's files untouched)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL = ("council.n_users=200", "steps=3", "output.figures=false")


def sim(*args, env=None, timeout=120):
    env = {**os.environ, **(env or {})}
    env.pop("SIM_FORCE_MEMORY", None)
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


def snapshot(folder: Path) -> dict:
    """Every file under ``folder``: its bytes and modification time."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("arg,expect", [
    ("council.planning_staff=nan", "council.planning_staff=nan is not a finite number"),
    ("users.groups.older.share=nan", "users.groups.older.share=nan is not a finite number"),
    ("market.wage=inf", "market.wage=inf is not a finite number"),
    ("+policy.pb_targt=0.5", "unknown key 'policy.pb_targt'; did you mean policy.pb_target?"),
    ("start_date=2010-13-45", "start_date='2010-13-45' is not an ISO date"),
    ("council.n_users=10000000 geography.n_councils=1000", "GB of memory"),
])
def test_bad_input_is_one_line_a_nonzero_exit_and_no_folder(arg, expect, tmp_path):
    r = sim(*SMALL, *arg.split(), f"hydra.run.dir={tmp_path}/run")
    assert r.returncode == 2, r.stdout + r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expect in errors[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("arg,expect", [
    ("+policy.pb_targt=0.3,0.9", "did you mean policy.pb_target?"),
    ("policy.pb_target=0.3,nan", "policy.pb_target=nan is not a finite number"),
])
def test_a_bad_sweep_is_refused_before_any_job(arg, expect, tmp_path):
    r = sim("-m", "experiment=smoke", arg, f"hydra.sweep.dir={tmp_path}/sweep")
    assert r.returncode == 2
    assert expect in r.stderr
    assert not (tmp_path / "sweep").exists()


def test_a_refused_rerun_leaves_the_finished_run_byte_identical(tmp_path):
    out = tmp_path / "run"
    first = sim(*SMALL, f"hydra.run.dir={out}")
    assert first.returncode == 0, first.stderr
    # The console's figures carry their units.
    text = first.stdout + first.stderr
    assert "annual cost per PB holder" in text and "/year" in text and "£" in text
    assert "% of council-funded community users" in text
    before = snapshot(out)
    assert {"summary.json", ".hydra/config.yaml", ".hydra/overrides.yaml"} <= set(before)
    time.sleep(0.05)
    again = sim(*SMALL, "seed=7", f"hydra.run.dir={out}")
    assert again.returncode == 3
    assert "refusing to overwrite a finished run" in again.stderr
    assert snapshot(out) == before


def test_bad_input_into_an_existing_folder_keeps_its_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    before = snapshot(out)
    r = sim(*SMALL, "steps=abc", f"hydra.run.dir={out}")
    assert r.returncode != 0 and "steps" in r.stderr
    assert snapshot(out) == before


def test_an_interrupted_run_leaves_no_half_folder(tmp_path):
    """A run stopped part way (Ctrl-C) removes what it wrote, and only that."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    proc = subprocess.Popen([sys.executable, "-m", "sim", "council.n_users=200000", "steps=520",
                             "output.figures=false", f"hydra.run.dir={out}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / ".hydra" / "overrides.yaml").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(3.0)                      # into the simulation (minutes long), also when loaded
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_help_and_the_scenarios_command_list_every_scenario():
    names = sorted(p.stem for p in (ROOT / "configs" / "scenario").glob("*.yaml"))
    listing = subprocess.run([sys.executable, "-m", "sim.scenarios"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()[1:]
    assert [line.split()[0] for line in lines] == names
    assert all(len(line.split()) > 3 for line in lines)          # each with a description
    help_text = sim("--help").stdout
    assert "== Scenarios ==" in help_text
    for name in names:
        assert f"\n  {name} " in help_text


CRASH = """
import runpy
import sys

import sim.model

def boom(self, progress=False):
    raise RuntimeError("model crashed")

sim.model.CareMarketModel.run = boom
sys.argv = ["sim", *sys.argv[1:]]
runpy.run_module("sim", run_name="__main__")
"""


def test_a_crashed_run_leaves_no_half_folder(tmp_path):
    fresh, mine = tmp_path / "run", tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    for out in (fresh, mine):
        r = subprocess.run([sys.executable, "-c", CRASH, *SMALL, f"hydra.run.dir={out}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "model crashed" in r.stderr
    assert not fresh.exists()
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
