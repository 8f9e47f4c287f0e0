"""Running one job of a Hydra multirun into the sweep store, and sweep progress.

A job whose run key is already in the store is skipped (resume); a job whose run folder holds a
finished ``summary.json`` but never reached the store (killed in between) is ingested from the
folder; a job that raises is recorded as failed and returns normally, so the launcher carries
on with the others.  ``SweepProgress`` is a Hydra callback that watches the store from the
launching process and shows progress with an ETA.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from math import prod
from pathlib import Path

import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback

from .results import Store, run_fingerprint, run_key

log = logging.getLogger("sim.sweep")


def run_job(dcfg, simulate) -> None:
    """Run (or skip) one multirun job into the sweep store; never raises for a failing model.

    A sweep's results live in its store only (the job folder keeps Hydra's record of the job):
    the summary row, written last, marks a run finished.  With ``replicates=K`` a job runs
    seeds ``seed .. seed+K-1`` one after another, each stored as its own run (keyed as if it
    had been launched alone with that seed), so a sweep of short runs pays the launcher's
    per-job cost once per K runs."""
    import dataclasses

    from .config import to_config
    from .recording import summary

    hc = HydraConfig.get()
    base = [o for o in hc.overrides.task if not o.startswith(("seed=", "replicates="))]
    store = Store(Path(hc.sweep.dir))
    k = int(dcfg.get("replicates", 1))
    jobs = [(list(hc.overrides.task), int(dcfg.seed))] if k <= 1 else \
        [([*base, f"seed={int(dcfg.seed) + r}"], int(dcfg.seed) + r) for r in range(k)]
    cfg = None
    for overrides, seed in jobs:
        key = run_key(overrides)
        try:
            cfg = cfg or to_config(dcfg)
            run_cfg = dataclasses.replace(cfg, seed=seed, replicates=1)
            fp = run_fingerprint(run_cfg)
        except Exception as exc:  # a bad configuration is this run's failure, not the sweep's
            store.write_failure(key, overrides, exc, traceback.format_exc())
            log.error("run %s failed: %s: %s", key, type(exc).__name__, exc)
            continue
        if store.is_finished(key):
            if store.fingerprint(key) != fp:
                raise RuntimeError(
                    f"{hc.sweep.dir} already holds run {key} ({' '.join(overrides)}) made with "
                    "other model code, config files or calibrated values; finished results are "
                    "never overwritten: run into a new folder (hydra.sweep.dir=...) or move the "
                    "old one away")
            log.info("skip %s (finished): %s", key, " ".join(overrides))
            continue
        try:
            model, wall = simulate(run_cfg)
            ts = model.recorder.timeseries(model)
            summ = {**summary(model, ts), "wall_s_simulation": wall, "fingerprint": fp}
            store.write(key, overrides, summ, ts)
        except Exception as exc:  # recorded, not raised: the other jobs must go on
            store.write_failure(key, overrides, exc, traceback.format_exc())
            log.error("run %s failed: %s: %s", key, type(exc).__name__, exc)


def count_runs(sweeper_params: dict, cli_overrides: list[str], replicates: int = 1) -> int:
    return count_jobs(sweeper_params, cli_overrides) * max(int(replicates), 1)


def count_jobs(sweeper_params: dict, cli_overrides: list[str]) -> int:
    """Number of jobs in a basic-sweeper multirun (cartesian product of sweeps)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    spec = {k: f"{k}={v}" for k, v in (sweeper_params or {}).items()}
    for o in cli_overrides:
        if "=" in o:
            spec[o.split("=", 1)[0].lstrip("+~")] = o
    parsed = OverridesParser.create().parse_overrides(list(spec.values()))
    sizes = [len(list(p.sweep_iterator())) for p in parsed if p.is_sweep_override()]
    return prod(sizes) if sizes else 1


class SweepProgress(Callback):
    """Progress bar with ETA for a multirun, driven by the store (works with any launcher)."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None

    def __getstate__(self):
        # Launchers pickle callbacks with each job; the watcher stays in the launching process.
        return {"interval": self.interval}

    def __setstate__(self, state):
        self.__init__(**state)

    def on_multirun_start(self, config, **kwargs) -> None:
        try:
            total = count_runs(config.hydra.sweeper.get("params"), list(config.hydra.overrides.task),
                               config.get("replicates", 1))
        except Exception:  # a sweep we cannot count still runs, without a total
            total = None
        store = Store(Path(config.hydra.sweep.dir))
        self._thread = threading.Thread(target=self._watch, args=(store, total), daemon=True)
        self._thread.start()

    def _watch(self, store, total):
        from tqdm import tqdm

        done0 = sum(store.counts())
        bar = tqdm(total=total, initial=done0, desc="sweep", unit="run", dynamic_ncols=True)
        last = done0
        while not self._stop.is_set():
            done, failed = store.counts()
            if done + failed != last:
                bar.update(done + failed - last)
                last = done + failed
                bar.set_postfix(failed=failed)
            time.sleep(self.interval)
        done, failed = store.counts()
        bar.update(done + failed - last)
        bar.set_postfix(failed=failed)
        bar.close()

    def on_multirun_end(self, config, **kwargs) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def run_design(sweep_dir: Path, design: pd.DataFrame, overrides: list[str] = (),
               seeds: str = "0") -> pd.DataFrame:
    """Run every row of ``design`` (columns = dotted config keys) for each seed in ``seeds``
    (a Hydra sweep value such as ``0,1`` or ``range(0,20)``) as one multirun into the store of
    ``sweep_dir``, and return the finished runs' summaries with a ``design_row`` column.

    Rerunning resumes; a design that differs from the one already in ``sweep_dir`` is refused
    (its stored results would not match)."""
    import subprocess
    import sys

    import numpy as np

    from .outputs import atomic_write
    from .results import load

    sweep = Path(sweep_dir).resolve()
    sweep.mkdir(parents=True, exist_ok=True)
    path = sweep / "design.csv"
    if path.exists():
        old = pd.read_csv(path)
        if list(old.columns) != list(design.columns) or old.shape != design.shape or \
                not np.allclose(old.to_numpy(float), design.to_numpy(float)):
            raise SystemExit(f"error: {path} holds a different design; use another folder")
    atomic_write(path, lambda p: design.to_csv(p, index=False))
    cmd = [sys.executable, "-m", "sim", "-m", f"hydra.sweep.dir={sweep}", f"design.path={path}",
           f"design.row=range(0,{len(design)})", f"seed={seeds}", "output.figures=false",
           *overrides]
    subprocess.run(cmd, check=True)
    res = load(sweep).summary
    res = res[res["ov.design.path"] == str(path)].copy()
    res["design_row"] = pd.to_numeric(res["ov.design.row"]).astype(int)
    return res
