"""Sweeps: one store, resume after SIGKILL, failures recorded, serial == parallel."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from sim.results import load

ROOT = Path(__file__).resolve().parent.parent
VOLATILE = ["wall_s_simulation"]


def sweep(tmp, *args, launcher="basic", wait=True):
    cmd = [sys.executable, "-m", "sim", "-m", "experiment=smoke", f"hydra.sweep.dir={tmp}",
           f"hydra/launcher={launcher}", *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _stable(df):
    return df.drop(columns=VOLATILE).sort_values("run_key", ignore_index=True)


def test_smoke_sweep_lands_in_one_queryable_store(tmp_path):
    sweep(tmp_path)
    res = load(tmp_path)
    assert len(res.summary) == 4 and res.failed.empty
    assert set(res.summary["ov.seed"]) == {"0", "1"}
    assert res.timeseries["run_key"].nunique() == 4
    q = res.sql("SELECT count(*) AS n, count(DISTINCT run_key) AS k FROM timeseries")
    assert q["k"].iloc[0] == 4 and q["n"].iloc[0] == len(res.timeseries)
    # Rerunning skips finished runs: nothing is recomputed or duplicated.
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "store/summary").iterdir()}
    sweep(tmp_path)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "store/summary").iterdir()}
    assert before == after


def test_rerun_with_a_changed_model_is_refused_and_nothing_is_overwritten(tmp_path):
    """A finished run made by other code or configuration is neither reused nor replaced."""
    sweep(tmp_path)
    summaries = sorted((tmp_path / "store/summary").iterdir())
    stale = summaries[0]
    df = pd.read_parquet(stale)
    df["fingerprint"] = "made-by-an-older-model"
    df.to_parquet(stale, index=False)
    before = {p.name: p.read_bytes() for p in summaries}
    cmd = [sys.executable, "-m", "sim", "-m", "experiment=smoke", f"hydra.sweep.dir={tmp_path}",
           "hydra/launcher=basic"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode != 0
    assert stale.stem in r.stderr and "new folder" in r.stderr
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / "store/summary").iterdir())} \
        == before


def test_parallel_and_serial_sweeps_store_identical_results(tmp_path):
    sweep(tmp_path / "serial", launcher="basic")
    sweep(tmp_path / "parallel", "hydra.launcher.n_jobs=2", launcher="joblib")
    a, b = load(tmp_path / "serial"), load(tmp_path / "parallel")
    pdt.assert_frame_equal(_stable(a.summary), _stable(b.summary))
    key = ["run_key", "step", "council"]
    pdt.assert_frame_equal(a.timeseries.sort_values(key, ignore_index=True),
                           b.timeseries.sort_values(key, ignore_index=True))


def test_failing_run_is_recorded_and_others_complete(tmp_path):
    sweep(tmp_path, "policy.pb_target=0.3,1.5", "seed=0")
    res = load(tmp_path)
    assert len(res.summary) == 2            # two rollout speeds with the valid target
    assert len(res.failed) == 2
    assert res.failed["error"].str.contains("policy.pb_target=1.5 is out of range").all()


def test_resume_after_sigkill_gives_each_run_once_with_same_results(tmp_path):
    args = ["seed=range(0,6)", "steps=40"]
    proc = sweep(tmp_path / "killed", *args, wait=False)
    store = tmp_path / "killed" / "store" / "summary"
    deadline = time.time() + 300
    while time.time() < deadline:
        if store.exists() and len(list(store.glob("*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(list(store.glob("*.parquet")))
    assert 3 <= n_before < 12, n_before
    sweep(tmp_path / "killed", *args)
    sweep(tmp_path / "clean", *args)
    a, b = load(tmp_path / "killed"), load(tmp_path / "clean")
    assert len(a.summary) == 12 and a.summary["run_key"].is_unique
    pdt.assert_frame_equal(_stable(a.summary), _stable(b.summary))
    # Every stored time series is readable (no half-written Parquet file).
    assert pd.concat([pd.read_parquet(p) for p in
                      (tmp_path / "killed/store/timeseries").glob("*.parquet")])["run_key"].nunique() == 12


def test_report_writes_table_heatmaps_and_fan_charts(tmp_path):
    sweep(tmp_path, "council.planning_staff=1,6")
    from sim.report import make_report
    out = make_report(tmp_path)
    table = pd.read_csv(out / "table.csv")
    assert len(table) == 4 and (table["runs"] == 2).all()
    assert {"package_saving_pct_mean_mean", "package_saving_pct_mean_p05",
            "package_saving_pct_mean_p95"} <= set(table.columns)
    for name in ("heatmap_package_saving_pct_mean", "heatmap_worse_off_share",
                 "heatmap_provider_exits", "fan_pb_share", "fan_spend_total", "fan_providers"):
        assert (out / f"{name}.png").stat().st_size > 1000
    assert "[" in (out / "table.md").read_text()


def test_sensitivity_runs_a_morris_design_through_the_store(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sim.sensitivity", "--trajectories", "2",
                        "--sweep-dir", str(tmp_path), "council.n_users=300", "steps=8"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    table = pd.read_csv(tmp_path / "sensitivity.csv")
    from sim.sensitivity import OUTPUTS, PARAMETERS
    assert set(table["parameter"]) == set(PARAMETERS) and set(table["output"]) == set(OUTPUTS)
    assert (table["mu_star"] >= 0).all()
    assert (tmp_path / "sensitivity.png").exists()
    assert len(load(tmp_path).summary) == 2 * (len(PARAMETERS) + 1)


def test_replicates_store_one_run_per_seed_like_separate_jobs(tmp_path):
    sweep(tmp_path / "rep", "seed=0", "replicates=2", "policy.rollout_months=3")
    sweep(tmp_path / "sep", "seed=0,1", "policy.rollout_months=3")
    a, b = load(tmp_path / "rep"), load(tmp_path / "sep")
    assert len(a.summary) == 2
    assert set(a.summary["run_key"]) == set(b.summary["run_key"])
    pdt.assert_frame_equal(_stable(a.summary).drop(columns=["overrides"]),
                           _stable(b.summary).drop(columns=["overrides"]), check_like=True)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray not installed")
def test_ray_launcher_runs_the_same_sweep_into_the_same_store(tmp_path):
    """A local Ray cluster started by the launcher; same results as the joblib launcher."""
    import tempfile

    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    ray_tmp = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))  # Ray's socket paths must be short
    cmd = [sys.executable, "-m", "sim", "-m", "experiment=smoke", "hydra/launcher=ray",
           f"hydra.sweep.dir={tmp_path / 'ray'}", "+hydra.launcher.ray.init.num_cpus=2",
           "+hydra.launcher.ray.init._node_ip_address=127.0.0.1",
           "+hydra.launcher.ray.init.include_dashboard=false",
           f"+hydra.launcher.ray.init._temp_dir={ray_tmp}"]
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    finally:
        import shutil
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert r.returncode == 0, r.stderr[-3000:]
    sweep(tmp_path / "joblib", launcher="joblib")
    a, b = load(tmp_path / "ray"), load(tmp_path / "joblib")
    assert len(a.summary) == 4
    pdt.assert_frame_equal(_stable(a.summary), _stable(b.summary))
