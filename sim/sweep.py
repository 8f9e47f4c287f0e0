"""Running one job of a Hydra multirun into the sweep store, and the sweep's launcher side.

A job whose runs are all in the store returns at once (resume: no config validation, no model,
no heavy import); a job whose run raises records the failure and returns normally, so the
launcher carries on with the others.  ``SweepProgress`` is a Hydra callback in the launching
process: before any job starts, and before anything is written, it checks every point of the
sweep as its job will (``check_sweep``: ranges and the checks across fields, design rows
included) and the memory of the runs that will execute at once; then it checks the store
(writable; one model/config fingerprint; unreadable files quarantined so their runs are
redone) and counts the planned runs; while the
jobs run it shows progress with an ETA; at the end it prints one line (finished, skipped,
failed) and exits non-zero if any run failed; on Ctrl-C or SIGTERM it prints one line and the
workers stop (a worker also exits by itself when the launching process disappears).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback

from .results import Store, StoreMismatch, run_fingerprint, run_key, store_fingerprint

log = logging.getLogger("sim.sweep")
LAUNCHER_PID = "SIM_SWEEP_LAUNCHER_PID"   # set by SweepProgress for the worker processes
ALWAYS_EXCLUDED = ("seed", "replicates")   # never part of the store's fingerprint


def job_runs(task: list[str], seed: int, replicates: int) -> list[tuple[list[str], int]]:
    """The runs of one job: (overrides, seed) each.  With ``replicates=K`` a job runs seeds
    ``seed .. seed+K-1``, each keyed as if it had been launched alone with that seed."""
    if replicates <= 1:
        return [(list(task), seed)]
    base = [o for o in task if not o.startswith(("seed=", "replicates="))]
    return [([*base, f"seed={seed + r}"], seed + r) for r in range(replicates)]


_watchdog_started = False


def _exit_with_launcher() -> None:
    """In a worker process (not the launching one): ignore Ctrl-C (the launcher handles it and
    stops the workers) and exit as soon as the parent process disappears (launcher killed by
    SIGKILL or SIGTERM), instead of running on as an orphan."""
    global _watchdog_started
    launcher = os.environ.get(LAUNCHER_PID)
    if _watchdog_started or not launcher or int(launcher) == os.getpid():
        return
    _watchdog_started = True
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)   # orphaned: the sweep is gone; a rerun redoes the unfinished runs

    threading.Thread(target=watch, name="exit-with-launcher", daemon=True).start()


def run_job(dcfg, simulate) -> None:
    """Run (or skip) one multirun job into the sweep store; never raises for a failing model.

    A sweep's results live in its store only (the job folder keeps Hydra's record of the job):
    the summary row, written last, marks a run finished.  Finished runs are skipped before
    anything else (the store's fingerprint, checked by the launcher before the sweep starts,
    guarantees they were made by this model and configuration)."""
    _exit_with_launcher()
    hc = HydraConfig.get()
    store = Store(Path(hc.sweep.dir))
    runs = job_runs(list(hc.overrides.task), int(dcfg.seed), int(dcfg.get("replicates", 1)))
    todo = [(o, s, run_key(o)) for o, s in runs]
    todo = [(o, s, k) for o, s, k in todo if not store.is_finished(k)]
    if not todo:
        log.debug("skip (finished): %s", " ".join(hc.overrides.task))
        return
    import dataclasses

    from .config import to_config
    from .recording import summary

    cfg = None
    for overrides, seed, key in todo:
        try:
            cfg = cfg or to_config(dcfg)
            run_cfg = dataclasses.replace(cfg, seed=seed, replicates=1)
            fp = run_fingerprint(run_cfg)
        except Exception as exc:  # a bad configuration is this run's failure, not the sweep's
            store.write_failure(key, overrides, exc, traceback.format_exc())
            log.error("run %s failed: %s: %s", key, type(exc).__name__, exc)
            continue
        try:
            model, wall = simulate(run_cfg)
            ts = model.recorder.timeseries(model)
            summ = {**summary(model, ts), "wall_s_simulation": wall, "fingerprint": fp}
            store.write(key, overrides, summ, ts)
        except Exception as exc:  # recorded, not raised: the other jobs must go on
            store.write_failure(key, overrides, exc, traceback.format_exc())
            log.error("run %s failed: %s: %s", key, type(exc).__name__, exc)


def _parsed_overrides(config) -> list:
    """The sweep's overrides as the basic sweeper parses them: its params, then the command
    line's task overrides."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    spec = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    return OverridesParser.create().parse_overrides(spec)


def swept_keys(config) -> set[str]:
    """Keys the sweep varies (plus the seed and ``replicates``, always)."""
    try:
        keys = {o.get_key_element().lstrip("+~") for o in _parsed_overrides(config)
                if o.is_sweep_override()}
    except Exception:  # a sweep syntax parsed only with the config loader (e.g. glob)
        spec = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
        keys = {o.split("=", 1)[0].lstrip("+~")
                for o in spec + list(config.hydra.overrides.task)
                if "=" in o and any(c in o.split("=", 1)[1] for c in ",(")}
    return keys | set(ALWAYS_EXCLUDED)


def planned_jobs(config) -> list[list[str]]:
    """Every job's task overrides, as Hydra's basic sweeper will make them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    target = str(config.hydra.sweeper.get("_target_", ""))
    if not target.endswith("BasicSweeper"):
        raise ValueError(f"cannot plan the jobs of sweeper {target}")
    return [job for batch in BasicSweeper.split_arguments(_parsed_overrides(config), None)
            for job in batch]


def planned_runs(config) -> dict[str, list[str]]:
    """run key -> overrides for every run of the sweep (jobs times replicates)."""
    runs = {}
    for job in planned_jobs(config):
        ov = dict(o.split("=", 1) for o in job if "=" in o)
        seed = int(ov.get("seed", config.get("seed", 0)))
        k = int(ov.get("replicates", config.get("replicates", 1)))
        for overrides, _ in job_runs(job, seed, k):
            runs[run_key(overrides)] = overrides
    return runs


_OMEGACONF_NODES = None


def _plain_leaf(override, leaves: dict, groups: set):
    """``(key, value)`` for an override that sets one schema field to a plain value, the value
    converted as OmegaConf converts it into that field (``1`` into a float field is ``1.0``);
    None for any other override (a config group, ``+``/``~``, a package, an interpolation,
    ``null``, a list, or a value OmegaConf would refuse): those are composed by Hydra."""
    global _OMEGACONF_NODES
    if _OMEGACONF_NODES is None:
        from omegaconf.nodes import BooleanNode, FloatNode, IntegerNode, StringNode

        _OMEGACONF_NODES = {"float": FloatNode, "int": IntegerNode, "str": StringNode,
                            "bool": BooleanNode}
    key = override.key_or_group
    if override.package or override.is_add() or override.is_force_add() \
            or override.is_delete() or override.is_sweep_override() or key not in leaves \
            or key in groups:      # scenario=england is the group, not only the label
        return None
    value = override.value()
    if value is None or isinstance(value, (list, dict)) \
            or isinstance(value, str) and "${" in value:
        return None
    try:
        return key, _OMEGACONF_NODES[leaves[key].type](value=value)._value()
    except Exception:  # OmegaConf refuses it: Hydra's composition gives the job's own error
        return None


def point_configs(config, jobs: list[list[str]]):
    """Yield ``(job, SimConfig or ConfigError)`` for each job of a sweep: the configuration
    the job will validate (``to_config`` of the config Hydra composes for it), checked without
    the memory check (a sweep checks its runs' memory together: ``check_sweep``).

    Hydra composes once per distinct set of config-group (and other non-plain) overrides; the
    plain ``key=value`` overrides of each job are then set on that configuration directly
    (about a millisecond a point, so a design of thousands of rows is checked in seconds).  A
    composition holding an interpolation, which a swept value could change, is composed
    whole for every job."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from .config import ConfigError, SimConfig, _open, _schema, config_groups, to_config

    leaves, _ = _schema()
    groups = config_groups()
    parser = OverridesParser.create()
    loader = GlobalHydra.instance().config_loader()
    parsed, bases = {}, {}

    def compose(overrides):
        task = loader.load_sweep_config(config, list(overrides))
        with _open(task):
            del task["hydra"]
        return task

    for job in jobs:
        plain, rest = {}, []
        for text in job:
            if text not in parsed:
                parsed[text] = _plain_leaf(parser.parse_override(text), leaves, groups)
            if parsed[text] is None:
                rest.append(text)
            else:
                plain[parsed[text][0]] = parsed[text][1]
        try:
            sig = tuple(rest)
            if sig not in bases:
                task = compose(sig)
                text = OmegaConf.to_yaml(task)
                bases[sig] = None if "${" in text else OmegaConf.to_object(
                    OmegaConf.merge(OmegaConf.structured(SimConfig), task))
            if bases[sig] is None:
                yield job, to_config(compose(job), check_memory=False)
            else:
                yield job, to_config(bases[sig], check_memory=False, **plain)
        except ConfigError as exc:   # validate's message, the same either way
            yield job, exc
        except Exception:  # the fast way failed: the job's own composition and message
            try:
                yield job, to_config(compose(job), check_memory=False)
            except Exception as exc:  # what the job would record as its failure
                yield job, exc


def parallel_runs(config) -> tuple[int | None, str, str]:
    """How many runs the sweep's launcher executes at once on this machine, how that was
    found (for a message), and the setting that runs ``{n}`` at once; None if its runs use
    other machines' memory (a Ray cluster joined by address, SLURM) or the launcher is
    unknown.  A job's replicates run one after another, so they never add up."""
    launcher = config.hydra.launcher
    name = str(launcher.get("_target_", "")).rsplit(".", 1)[-1]
    if name == "BasicLauncher":
        return 1, "hydra/launcher=basic", "hydra/launcher=basic"
    if name == "JoblibLauncher":
        from joblib import cpu_count

        n = launcher.get("n_jobs")
        if n is None:
            return 1, "hydra.launcher.n_jobs=null", "hydra.launcher.n_jobs={n}"
        if n < 0:
            cores = cpu_count()
            return (max(1, cores + 1 + n), f"hydra.launcher.n_jobs={n}: {cores} cores"
                    + (f" less {-n - 1}" if n < -1 else ""), "hydra.launcher.n_jobs={n}")
        return max(1, n), f"hydra.launcher.n_jobs={n}", "hydra.launcher.n_jobs={n}"
    if name == "RayLauncher":
        init, remote = launcher.ray.get("init") or {}, launcher.ray.get("remote") or {}
        if init.get("address"):
            return None, "", ""
        cpus = init.get("num_cpus") or os.cpu_count() or 1
        per_run = remote.get("num_cpus") or 1
        how = (f"a local Ray cluster of {cpus} CPUs"
               + ("" if init.get("num_cpus") else " (all cores)") + f", {per_run} per run")
        return max(1, int(cpus // per_run)), how, "++hydra.launcher.ray.init.num_cpus={n}"
    if name == "LocalLauncher":   # submitit's local executor starts every job of a batch
        return 10**9, "submitit's local launcher starts every job", \
            "hydra.sweeper.max_batch_size={n}"
    return None, "", ""


def check_sweep(config, finished: set[str] = frozenset()) -> None:
    """Check a whole sweep before anything runs or is written; raise ConfigError.

    * every point (job) is validated as its job will validate it (ranges, NaN, the checks
      across fields such as group shares summing to 1, min/max pairs, a design row), so a
      sweep whose seventh point is invalid does not run six first;
    * the memory of the runs executed at once: the largest estimate among the jobs still to
      run (runs in ``finished`` are skipped) times the launcher's parallelism
      (``parallel_runs``) must fit in the memory available (``sweep_memory_check``).

    A sweep whose jobs cannot be planned (a sweeper other than the basic one) is checked job
    by job as it runs."""
    from .config import ConfigError, memory_estimate, sweep_memory_check

    try:
        jobs = planned_jobs(config)
    except Exception:
        return
    sweep = str(config.hydra.sweep.dir)
    experiment = config.hydra.runtime.choices.get("experiment")
    if experiment:
        sweep = f"{sweep} (experiment={experiment})"
    points = list(point_configs(config, jobs))
    bad = [(job, exc) for job, exc in points if isinstance(exc, BaseException)]
    if bad:
        lines = [f"{' '.join(job)}{_design_values(job)}: {_reason_text(exc)}"
                 for job, exc in bad[:3]]
        if len(bad) > 3:
            lines.append(f"... and {len(bad) - 3} more")
        raise ConfigError(f"{len(bad)} of {len(points)} points of sweep {sweep} "
                          f"{'is' if len(bad) == 1 else 'are'} invalid; nothing was run or "
                          "written:\n  " + "\n  ".join(lines))
    slots, how, fewer = parallel_runs(config)
    if slots is None:
        return   # the runs use other machines' memory: each job checks its own
    todo = [(job, cfg) for job, cfg in points
            if not all(run_key(o) in finished for o, _ in job_runs(job, cfg.seed, cfg.replicates))]
    if not todo:
        return
    batch = config.hydra.sweeper.get("max_batch_size") or len(todo)
    at_once = min(slots, len(todo), batch)
    job, largest = max(todo, key=lambda p: memory_estimate(p[1]))
    sweep_memory_check(sweep, largest, " ".join(job), at_once, how, fewer)


def _reason_text(exc: BaseException) -> str:
    """A point's error: a ConfigError whole (one line per bad key), anything else (Hydra's
    composition) by its type and first line."""
    from .config import ConfigError

    if isinstance(exc, ConfigError):
        return str(exc).replace("\n", "\n    ")
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"


def _design_values(job: list[str]) -> str:
    """`` (design row 3: key=value, ...)`` for a point that applies a design row, else ""."""
    ov = dict(o.split("=", 1) for o in job if "=" in o)
    try:
        import pandas as pd

        row = int(ov["design.row"])
        values = pd.read_csv(ov["design.path"]).iloc[[row]].to_dict("records")[0]
    except Exception:  # no design, or one the point's own error describes
        return ""
    return f" (design row {row}: " + ", ".join(f"{k}={v}" for k, v in values.items()) + ")"


def fingerprint_record(config) -> dict:
    """The store fingerprint of a sweep from its (launcher-side) configuration: the model and
    the resolved configuration without the seed and the swept keys."""
    from omegaconf import OmegaConf

    try:
        resolved = OmegaConf.to_container(config, resolve=True)
    except Exception:  # an interpolation only a job can resolve: compare it unresolved
        resolved = OmegaConf.to_container(config, resolve=False)
    resolved.pop("hydra", None)
    return store_fingerprint(resolved, swept_keys(config))


def _check_writable(root: Path) -> None:
    """Raise OSError unless the store folder can be created and written."""
    for sub in ("summary", "timeseries", "failed"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    probe = root / f".write-test.{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()


class _QuietFinishedJobs(logging.Filter):
    """Drops a launcher's per-job line ("#12 : overrides") for jobs whose runs are all finished."""

    def __init__(self, finished: set[str]):
        super().__init__()
        self.finished = finished

    def filter(self, record) -> bool:
        msg = record.getMessage()
        return not (msg.startswith("\t#") and msg.split(" : ", 1)[-1] in self.finished)


LAUNCHER_LOGGERS = ("hydra._internal.core_plugins.basic_launcher",
                    "hydra_plugins.hydra_joblib_launcher._core",
                    "hydra_plugins.hydra_ray_launcher._core")


def _fail(message: str, status: int):
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(status)


class SweepProgress(Callback):
    """The launching process's side of a sweep (works with any launcher): checks the store
    before any job starts, shows progress with an ETA, and reports at the end."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None
        self._planned = None
        self._store = None
        self._skipped = 0
        self._filter = None
        self._saved = {}

    def __getstate__(self):
        # Launchers pickle callbacks with each job; the watcher stays in the launching process.
        return {"interval": self.interval}

    def __setstate__(self, state):
        self.__init__(**state)

    def on_multirun_start(self, config, **kwargs) -> None:
        from .config import ConfigError

        sweep_dir = Path(config.hydra.sweep.dir)
        store = self._store = Store(sweep_dir)
        try:   # every point and the memory of the runs at once, before anything is written
            check_sweep(config, store.keys())
        except ConfigError as exc:
            _fail(f"error: {exc}", 2)
        try:
            _check_writable(store.root)
            store.claim(fingerprint_record(config))
            bad = store.check(quarantine=True)
        except StoreMismatch as exc:
            _fail(f"error: {exc}\nfinished results are never mixed or overwritten: run into a "
                  "new folder (hydra.sweep.dir=...) or move the old one away", 3)
        except OSError as exc:
            _fail(f"error: cannot write to the sweep folder {sweep_dir}: "
                  f"{exc.strerror or exc}; choose another hydra.sweep.dir", 2)
        if bad:
            keys = sorted({p.stem for p, _ in bad})
            print(f"store: {len(keys)} run(s) with unreadable files moved to "
                  f"{store.root / 'quarantine'} and redone: "
                  + ", ".join(f"{p.parent.name}/{p.name} ({why})" for p, why in bad),
                  file=sys.stderr, flush=True)
        finished = store.keys()
        try:
            self._planned = planned_runs(config)
            jobs = planned_jobs(config)
        except Exception:  # a sweep we cannot plan still runs, counted from the store
            self._planned, jobs = None, []
        planned = set(self._planned) if self._planned is not None else None
        total = len(planned) if planned is not None else None
        self._skipped = len(planned & finished) if planned is not None else len(finished)
        if total is not None and self._skipped == total:   # nothing to do: launch nothing
            print(f"sweep: {total} of {total} runs finished ({total} skipped as already "
                  "finished, 0 run now), 0 failed", file=sys.stderr, flush=True)
            raise SystemExit(0)
        if total is not None:
            print(f"sweep: {total} runs, {self._skipped} already finished (skipped), "
                  f"{total - self._skipped} to run; store {store.root}",
                  file=sys.stderr, flush=True)
            done_jobs = set()
            for job in jobs:
                ov = dict(o.split("=", 1) for o in job if "=" in o)
                seed = int(ov.get("seed", config.get("seed", 0)))
                k = int(ov.get("replicates", config.get("replicates", 1)))
                if all(run_key(o) in finished for o, _ in job_runs(job, seed, k)):
                    done_jobs.add(" ".join(job))
            self._filter = _QuietFinishedJobs(done_jobs)
            for name in LAUNCHER_LOGGERS:
                logging.getLogger(name).addFilter(self._filter)
        os.environ[LAUNCHER_PID] = str(os.getpid())
        if threading.current_thread() is threading.main_thread():
            self._saved = {"excepthook": sys.excepthook,
                           "sigterm": signal.signal(signal.SIGTERM, self._on_sigterm)}
            sys.excepthook = self._excepthook
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, args=(store, total), daemon=True)
        self._thread.start()

    def _counts(self) -> tuple[int, int]:
        """(finished, failed) runs of this sweep (of the whole store if it was not planned)."""
        done, failed = self._store.keys(), self._store.failed_keys() - self._store.keys()
        if self._planned is None:
            return len(done), len(failed)
        planned = set(self._planned)
        return len(planned & done), len(planned & failed)

    def _watch(self, store, total):
        from tqdm import tqdm

        done0 = sum(self._counts())
        bar = tqdm(total=total, initial=done0, desc="sweep", unit="run", dynamic_ncols=True)
        last = done0
        while not self._stop.is_set():
            done, failed = self._counts()
            if done + failed != last:
                bar.update(done + failed - last)
                last = done + failed
                bar.set_postfix(failed=failed)
            self._stop.wait(self.interval)
        done, failed = self._counts()
        bar.update(done + failed - last)
        bar.set_postfix(failed=failed)
        bar.close()

    def _stop_watching(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None
        if self._filter:
            for name in LAUNCHER_LOGGERS:
                logging.getLogger(name).removeFilter(self._filter)
        if "sigterm" in self._saved:
            signal.signal(signal.SIGTERM, self._saved.pop("sigterm"))

    def _on_sigterm(self, signum, frame):
        # As Ctrl-C: the launcher stops its workers and the sweep ends with one line.
        raise KeyboardInterrupt

    def _excepthook(self, exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt) and self._store is not None:
            self._stop_watching()
            done, _ = self._counts()
            total = len(self._planned) if self._planned is not None else "?"
            print(f"interrupted: {done} of {total} finished; rerun the same command to resume",
                  file=sys.stderr, flush=True)
            return
        self._saved.get("excepthook", sys.__excepthook__)(exc_type, exc, tb)

    def on_multirun_end(self, config, **kwargs) -> None:
        self._stop_watching()
        if "excepthook" in self._saved:
            sys.excepthook = self._saved.pop("excepthook")
        done, failed = self._counts()
        total = len(self._planned) if self._planned is not None else done + failed
        line = (f"sweep: {done} of {total} runs finished ({self._skipped} skipped as already "
                f"finished, {done - self._skipped} run now), {failed} failed")
        if not failed:
            print(line, file=sys.stderr, flush=True)
            return
        keys = sorted(self._store.failed_keys() - self._store.keys())
        if self._planned is not None:
            keys = [k for k in keys if k in self._planned]
        where = self._store.root / "failed"
        shown = ", ".join(f"{k}.json" for k in keys[:5]) + (", ..." if len(keys) > 5 else "")
        _fail(f"{line}: error and traceback of each in {where}/ ({shown}); "
              "rerunning the same command retries them", 1)


def run_design(sweep_dir: Path, design, overrides: list[str] = (), seeds: str = "0"):
    """Run every row of ``design`` (a DataFrame, columns = dotted config keys) for each seed in
    ``seeds`` (a Hydra sweep value such as ``0,1`` or ``range(0,20)``) as one multirun into the
    store of ``sweep_dir``, and return the finished runs' summaries with a ``design_row`` column.

    Rerunning resumes; a design that differs from the one already in ``sweep_dir`` is refused
    (its stored results would not match).  A sweep refused before it starts (an invalid row,
    too little memory, another model's store: the sweep prints why) exits with its status
    and leaves no ``design.csv`` of its own behind, so the corrected design can run into the
    same folder."""
    import subprocess

    import numpy as np
    import pandas as pd

    from .outputs import atomic_write
    from .results import load

    sweep = Path(sweep_dir).resolve()
    made_dir = not sweep.exists()
    sweep.mkdir(parents=True, exist_ok=True)
    path = sweep / "design.csv"
    made_design = not path.exists()
    if not made_design:
        old = pd.read_csv(path)
        if list(old.columns) != list(design.columns) or old.shape != design.shape or \
                not np.allclose(old.to_numpy(float), design.to_numpy(float)):
            raise SystemExit(f"error: {path} holds a different design; use another folder")
    atomic_write(path, lambda p: design.to_csv(p, index=False))
    cmd = [sys.executable, "-m", "sim", "-m", f"hydra.sweep.dir={sweep}", f"design.path={path}",
           f"design.row=range(0,{len(design)})", f"seed={seeds}", "output.figures=false",
           *overrides]
    r = subprocess.run(cmd)
    if r.returncode in (2, 3):   # refused before any job ran: take back what this call wrote
        if made_design:
            path.unlink(missing_ok=True)
            if made_dir and not any(sweep.iterdir()):
                sweep.rmdir()
        raise SystemExit(r.returncode)
    results = load(sweep)
    if r.returncode and not (r.returncode == 1 and not results.failed.empty):
        raise subprocess.CalledProcessError(r.returncode, cmd)   # not just failed runs
    res = results.summary
    res = res[res["ov.design.path"] == str(path)].copy()
    res["design_row"] = pd.to_numeric(res["ov.design.row"]).astype(int)
    return res
