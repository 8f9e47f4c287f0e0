"""The library of answered questions: every folder of ``experiments/`` is a Hydra option of
group ``experiment`` with a README (question, command) and a report; no second home for them."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from sim.config import CONFIG_DIR, register_schema
from sim.config import compose as compose_sim
from sim.experiments import names
from sim.results import load

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
FOLDERS = sorted(d.name for d in EXPERIMENTS.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))


def test_experiments_have_one_home():
    assert not (ROOT / "configs" / "experiment").exists()
    assert FOLDERS and names() == FOLDERS


@pytest.mark.parametrize("name", FOLDERS)
def test_experiment_config_composes_as_a_sweep(name):
    assert (EXPERIMENTS / name / "config.yaml").is_file()
    register_schema()                      # the structured schema the primary config extends
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)
    assert cfg.hydra.sweeper.params, f"{name} sweeps nothing"
    assert cfg.hydra.sweep.dir == f"outputs/sweeps/{name}"
    compose_sim(f"experiment={name}")      # and the composed configuration is valid


@pytest.mark.parametrize("name", FOLDERS)
def test_experiment_has_readme_with_question_command_timing_and_a_report(name):
    text = (EXPERIMENTS / name / "README.md").read_text()
    assert re.search(r"^\*\*Question:\*\* \S.*\?$", text, re.M), "no '**Question:** ...?' line"
    assert f"python -m sim.experiments {name}\n" in text
    assert f"python -m sim -m experiment={name}" in text
    assert re.search(r"\*\*Time:\*\* .*2-core", text), "no '**Time:**' line measured on 2 cores"
    report = EXPERIMENTS / name / "report"
    assert (report / "table.md").read_text().startswith(f"# Experiment report: {name}\n")
    assert (report / "table.csv").is_file()
    meta = json.loads((report / "run.json").read_text())
    assert meta["experiment"] == name and meta["finished_runs"] > 0 and meta["failed_runs"] == 0


def test_experiments_are_found_from_any_directory_and_by_launcher_workers(tmp_path):
    """The search-path plugin is installed with the package, not read from the current folder;
    joblib's workers re-compose each job's config from it."""
    r = subprocess.run([sys.executable, "-m", "sim", "-m", "experiment=smoke", "hydra/launcher=joblib",
                        "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = load(tmp_path / "sweep")
    assert len(res.summary) == 4 and res.failed.empty
    assert set(res.summary["ov.policy.rollout_months"]) == {3, 12}   # typed, not text
    r = subprocess.run([sys.executable, "-m", "sim", "--help"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert f"experiment: {', '.join(FOLDERS)}" in r.stdout


def test_a_report_rebuilt_from_a_finished_store_keeps_how_long_the_runs_took(tmp_path,
                                                                               monkeypatch):
    """Rerunning an experiment whose runs are all in the store rebuilds its report without
    running anything; its run.json keeps the time the runs took (and when), and records the
    rebuild's own time apart."""
    import json
    import shutil

    from sim import experiments

    shutil.copytree(experiments.EXPERIMENTS / "smoke", tmp_path / "smoke")
    monkeypatch.setattr(experiments, "EXPERIMENTS", tmp_path)
    first = json.loads((experiments.run("smoke") / "run.json").read_text())
    second = json.loads((experiments.run("smoke") / "run.json").read_text())
    assert second["runs_resumed_from_store"] == second["finished_runs"] == first["finished_runs"]
    assert second["sweep_wall_s"] == first["sweep_wall_s"]
    assert second["runs_date"] == first.get("runs_date", first["date"])
    assert "resume_wall_s" in second
