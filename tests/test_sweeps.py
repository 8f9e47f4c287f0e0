"""Sweeps: one store, resume after SIGKILL, failures recorded, serial == parallel; a store
never mixes model versions, survives damaged files, and a sweep ends with one clear line
(finished, interrupted, failed, unwritable folder) and no stray workers."""

import contextlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from sim.config import compose
from sim.results import load

ROOT = Path(__file__).resolve().parent.parent
VOLATILE = ["wall_s_simulation"]


def sweep(tmp, *args, launcher="basic", wait=True, status=0):
    cmd = [sys.executable, "-m", "sim", "-m", "experiment=smoke", f"hydra.sweep.dir={tmp}",
           f"hydra/launcher={launcher}", *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == status, r.stderr[-3000:]
    return r


def _stable(df):
    return df.drop(columns=VOLATILE).sort_values("run_key", ignore_index=True)


def test_smoke_sweep_lands_in_one_queryable_store(tmp_path):
    sweep(tmp_path)
    res = load(tmp_path)
    assert len(res.summary) == 4 and res.failed.empty
    assert set(res.summary["ov.seed"]) == {0, 1}
    assert res.timeseries["run_key"].nunique() == 4
    q = res.sql("SELECT count(*) AS n, count(DISTINCT run_key) AS k FROM timeseries")
    assert q["k"].iloc[0] == 4 and q["n"].iloc[0] == len(res.timeseries)
    # Rerunning skips finished runs: nothing is recomputed or duplicated.
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "store/summary").iterdir()}
    r = sweep(tmp_path)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "store/summary").iterdir()}
    assert before == after
    # ... quietly: no line per finished job, one line at the end.
    assert "sweep: 4 of 4 runs finished (4 skipped as already finished, 0 run now), 0 failed" \
        in r.stderr
    assert " : policy.rollout_months=" not in r.stderr + r.stdout
    assert "(finished)" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_rerun_with_a_changed_model_is_refused_and_nothing_is_overwritten(tmp_path):
    """A store made by other code or configuration is neither reused nor added to."""
    sweep(tmp_path)
    fp = tmp_path / "store/fingerprint.json"
    rec = json.loads(fp.read_text())
    fp.write_text(json.dumps({**rec, "model": "an-older-model", "fingerprint": "older"}))
    summaries = sorted((tmp_path / "store/summary").iterdir())
    before = {p.name: p.read_bytes() for p in summaries}
    r = sweep(tmp_path, status=3)
    assert "model's code" in r.stderr and "new folder" in r.stderr
    assert "Traceback" not in r.stderr
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / "store/summary").iterdir())} \
        == before


def test_extending_a_sweep_with_another_configuration_is_refused_before_running(tmp_path):
    """New seeds with a changed calibrated value would be averaged with the old runs: refused,
    naming the value, before any job starts; new seeds of the same model are welcome."""
    sweep(tmp_path)
    r = sweep(tmp_path, "seed=2,3", "behaviour.price_sensitivity=0.3", status=3)
    calibrated = compose().behaviour.price_sensitivity
    assert f"behaviour.price_sensitivity: {calibrated} in the store, 0.3 now" in r.stderr
    assert "Traceback" not in r.stderr and "Launching" not in r.stderr
    assert len(load(tmp_path).summary) == 4 and not list((tmp_path / "store/failed").glob("*"))
    r = sweep(tmp_path, "steps=11", status=3)   # any other fixed value: the same
    assert "steps: 10 in the store, 11 now" in r.stderr
    r = sweep(tmp_path, "seed=0,1,2", "policy.rollout_months=3,6,12")
    assert "9 of 9 runs finished (4 skipped as already finished, 5 run now)" in r.stderr
    assert len(load(tmp_path).summary) == 9


def test_parallel_and_serial_sweeps_store_identical_results(tmp_path):
    sweep(tmp_path / "serial", launcher="basic")
    sweep(tmp_path / "parallel", "hydra.launcher.n_jobs=2", launcher="joblib")
    a, b = load(tmp_path / "serial"), load(tmp_path / "parallel")
    pdt.assert_frame_equal(_stable(a.summary), _stable(b.summary))
    key = ["run_key", "step", "council"]
    pdt.assert_frame_equal(a.timeseries.sort_values(key, ignore_index=True),
                           b.timeseries.sort_values(key, ignore_index=True))


# ``python -m sim`` with one thing of this process changed first (the runs of the basic
# launcher execute in this process): the model raises, or the machine has little memory.
PATCHED = """
import runpy
import sys

import sim.config
import sim.model

CRASH, AVAILABLE = {crash!r}, {available!r}
if CRASH is not None:
    run = sim.model.CareMarketModel.run

    def crash(self, *args, **kwargs):
        if self.cfg.policy.rollout_months == CRASH:
            raise RuntimeError("model crashed")
        return run(self, *args, **kwargs)

    sim.model.CareMarketModel.run = crash
if AVAILABLE is not None:
    sim.config.memory_available = lambda: AVAILABLE
sys.argv = ["sim", *sys.argv[1:]]
runpy.run_module("sim", run_name="__main__")
"""


def patched_sweep(tmp, *args, crash=None, available=None):
    """The smoke sweep, with the runs of rollout speed ``crash`` raising, or with ``available``
    bytes of memory."""
    script = PATCHED.format(crash=crash, available=available)
    env = {k: v for k, v in os.environ.items() if k != "SIM_FORCE_MEMORY"}
    return subprocess.run([sys.executable, "-c", script, "-m", "experiment=smoke",
                           f"hydra.sweep.dir={tmp}", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=env)


def test_failing_run_is_recorded_others_complete_and_the_sweep_fails(tmp_path):
    # Bad input is refused before any job (test_an_invalid_point_...); a run whose model
    # raises is recorded as failed and the other runs go on.
    r = patched_sweep(tmp_path, "hydra/launcher=basic", crash=3)
    assert r.returncode == 1, r.stderr[-3000:]
    res = load(tmp_path)
    assert len(res.summary) == 2 and set(res.summary["ov.policy.rollout_months"]) == {12}
    assert len(res.failed) == 2
    assert res.failed["error"].eq("RuntimeError: model crashed").all()
    assert res.failed["overrides"].str.contains("policy.rollout_months=3").all()
    last = r.stderr.strip().splitlines()[-1]
    assert "2 of 4 runs finished" in last and "2 failed" in last
    assert str(tmp_path / "store" / "failed") in last
    assert all(f"{k}.json" in last for k in res.failed["run_key"])


@pytest.mark.parametrize("values,point,expect", [
    # each value is within its own range; the point is invalid across fields
    ("policy.pb_share_start=0.1,0.2,0.5", "policy.pb_share_start=0.5",
     "policy.pb_target=0.3 is below policy.pb_share_start=0.5"),
    ("users.groups.older.share=0.62,0.7", "users.groups.older.share=0.7",
     "users.groups.*.share sum to 1.0800; they must sum to 1"),
    ("users.pc_share_min=0.05,0.99", "users.pc_share_min=0.99",
     "users.pc_share_min=0.99 is above users.pc_share_max=0.95"),
    ("scenario=default,no_such_scenario", "scenario=no_such_scenario",
     "Could not find 'scenario/no_such_scenario'"),
])
def test_an_invalid_point_anywhere_in_a_sweep_is_refused_before_any_job(
        tmp_path, values, point, expect):
    """Every point is checked before the first job: none runs, the store is not made, and
    the message names the bad point's overrides and what is wrong with it."""
    r = sweep(tmp_path / "sweep", values, status=2)
    first, *rest = r.stderr.strip().splitlines()
    n = len(values.split(",")) * 4                      # x 2 rollout speeds x 2 seeds
    assert first == (f"error: 4 of {n} points of sweep {tmp_path / 'sweep'} (experiment=smoke) "
                     "are invalid; nothing was run or written:")
    assert point in rest[0] and expect in rest[0], r.stderr
    assert rest[-1] == "  ... and 1 more"
    assert "Traceback" not in r.stderr and "Launching" not in r.stderr
    assert not (tmp_path / "sweep").exists()


def test_an_invalid_design_row_is_refused_before_any_run_and_leaves_nothing(
        tmp_path, monkeypatch, capfd):
    """run_design checks every row first: a design whose last row is invalid runs none and
    writes nothing (not even its design.csv), so the corrected design runs in the same folder."""
    from sim.sweep import run_design

    monkeypatch.chdir(ROOT)
    design = pd.DataFrame({"policy.pb_target": [0.3, 0.4, 0.5, 0.1],
                           "council.planning_staff": [2, 3, 4, 5]})
    args = ["experiment=smoke", "policy.rollout_months=3", "hydra/launcher=basic"]
    with pytest.raises(SystemExit) as exc:
        run_design(tmp_path / "sweep", design, args)
    assert exc.value.code == 2
    err = capfd.readouterr().err
    assert "1 of 4 points of sweep" in err and "nothing was run or written" in err
    point = err.splitlines()[1]
    assert " design.row=3 " in point and point.endswith(
        "(design row 3: policy.pb_target=0.1, council.planning_staff=5): invalid configuration: "
        "policy.pb_target=0.1 is below policy.pb_share_start=0.13; a target must not be below "
        "the start")
    assert not (tmp_path / "sweep").exists()
    design.loc[3, "policy.pb_target"] = 0.6
    res = run_design(tmp_path / "sweep", design, args)
    assert sorted(res["design_row"]) == [0, 1, 2, 3]


def test_runs_at_once_that_exceed_memory_are_refused_before_anything(tmp_path):
    """Each run fits, two at once do not: the sweep is refused before any job, naming the
    sweep, the largest run, the parallelism and the memory; one at a time runs, and a
    finished sweep is not refused (nothing is left to run)."""
    args = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "council.n_users=200,300"]
    r = patched_sweep(tmp_path, *args, available=250e6)           # one small run: ~0.16 GB
    assert r.returncode == 2, r.stderr[-3000:]
    assert r.stderr.startswith(f"error: sweep {tmp_path} (experiment=smoke) needs about 0.3")
    assert re.search(r"2 runs at once \(hydra\.launcher\.n_jobs=2\) x 0\.1\d GB for its largest "
                     r"run \([^)]*council\.n_users=300\), but 0\.25 GB is available; run at most "
                     r"1 at once \(hydra\.launcher\.n_jobs=1\)", r.stderr), r.stderr
    assert "SIM_FORCE_MEMORY=1" in r.stderr and "Traceback" not in r.stderr
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    r = patched_sweep(tmp_path, *args[2:], "hydra/launcher=joblib", "hydra.launcher.n_jobs=1",
                      available=250e6)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "8 of 8 runs finished" in r.stderr
    r = patched_sweep(tmp_path, *args, available=250e6)
    assert r.returncode == 0 and "8 of 8 runs finished (8 skipped" in r.stderr, r.stderr


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


def test_damaged_files_are_reported_quarantined_and_redone(tmp_path):
    """A truncated summary, and a truncated time series beside an intact summary: load names
    and skips them; a rerun moves them to store/quarantine/ and redoes those runs."""
    sweep(tmp_path)
    clean = load(tmp_path)
    store = tmp_path / "store"
    keys = sorted(clean.summary["run_key"])
    for kind, key in (("summary", keys[0]), ("timeseries", keys[1])):
        f = store / kind / f"{key}.parquet"
        f.write_bytes(f.read_bytes()[:200])
    with pytest.warns(UserWarning, match=keys[1]):
        assert set(load(tmp_path).summary["run_key"]) == set(keys[2:])
    r = sweep(tmp_path)
    assert "Traceback" not in r.stderr
    assert keys[0] in r.stderr and keys[1] in r.stderr and "quarantine" in r.stderr
    assert "4 of 4 runs finished (2 skipped as already finished, 2 run now), 0 failed" in r.stderr
    again = load(tmp_path)
    assert not again.bad
    pdt.assert_frame_equal(_stable(again.summary), _stable(clean.summary))
    assert again.timeseries["run_key"].nunique() == 4
    assert (store / "quarantine" / "summary" / f"{keys[0]}.parquet").exists()
    assert (store / "quarantine" / "timeseries" / f"{keys[1]}.parquet").exists()


def _session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes of a session, from /proc."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z" and int(fields[3]) == sid:
                pids.append(int(d.name))
    return pids


def _wait_for_runs(tmp, n, proc, timeout=300):
    store = Path(tmp) / "store" / "summary"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if store.exists() and len(list(store.glob("*.parquet"))) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the sweep did not get going")


def _wait_gone(sid, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline and _session_processes(sid):
        time.sleep(0.2)
    return _session_processes(sid)


@contextlib.contextmanager
def _cleanup(proc):
    """Whatever the test's outcome, no process of the sweep's session outlives it."""
    try:
        yield
    finally:
        for pid in _session_processes(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait()


LONG = ["seed=range(0,6)", "steps=40", "hydra.launcher.n_jobs=2"]


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_prints_one_line_and_stops_every_worker(tmp_path, sig):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM to the
    launcher: one line, no traceback, non-zero status, no worker left; a rerun resumes."""
    proc = sweep(tmp_path, *LONG, launcher="joblib", wait=False)
    with _cleanup(proc):
        _wait_for_runs(tmp_path, 1, proc)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "Traceback" not in err, err[-3000:]
        lines = [ln for ln in err.splitlines() if ln.startswith("interrupted:")]
        assert len(lines) == 1, err[-3000:]
        assert lines[0].endswith("of 12 finished; rerun the same command to resume")
        assert _wait_gone(proc.pid) == []
    r = sweep(tmp_path, *LONG, launcher="joblib")
    assert "12 of 12 runs finished" in r.stderr and len(load(tmp_path).summary) == 12


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc")
def test_workers_exit_when_the_launcher_is_killed(tmp_path):
    """SIGKILL of the launching process alone: its joblib (loky) workers notice that their
    parent is gone and exit, instead of running on as orphans."""
    proc = sweep(tmp_path, *LONG, launcher="joblib", wait=False)
    with _cleanup(proc):
        _wait_for_runs(tmp_path, 1, proc)
        assert len(_session_processes(proc.pid)) > 1        # the launcher and its workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _wait_gone(proc.pid) == []
        proc.communicate(timeout=10)                          # no worker holds stderr open
    n = len(list((tmp_path / "store/summary").glob("*.parquet")))
    time.sleep(2)
    assert len(list((tmp_path / "store/summary").glob("*.parquet"))) == n   # nothing runs on


def test_read_only_sweep_folder_gives_one_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    cmd = [sys.executable, "-m", "sim", "-m", "experiment=smoke", f"hydra.sweep.dir={folder}",
           "hydra/launcher=basic"]
    if os.geteuid() == 0:   # root ignores permissions: a read-only bind mount instead
        import shutil
        if not shutil.which("unshare"):
            pytest.skip("root without unshare: cannot make a read-only folder")
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
               'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder), *cmd]
    else:
        folder.chmod(0o555)
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if "mount" in r.stderr and "sweep" not in r.stderr:
        pytest.skip(f"cannot mount read-only here: {r.stderr.strip()}")
    folder.chmod(0o755)
    assert r.returncode == 2, r.stderr[-3000:]
    assert r.stderr.strip().splitlines() == [
        f"error: cannot write to the sweep folder {folder}: "
        f"{'Read-only file system' if os.geteuid() == 0 else 'Permission denied'}; "
        "choose another hydra.sweep.dir"]
