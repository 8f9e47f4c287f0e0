"""``python -m sim.experiments NAME``: rerun a named experiment and regenerate its report.

Each folder ``experiments/<name>/`` is one answered question: ``config.yaml`` (Hydra option
``experiment=<name>``, found through the plugin in ``hydra_plugins/sdcare_experiments``),
``README.md`` (the question, the command, how long it takes) and ``report/`` (the latest
report).  This command runs the sweep (``python -m sim -m experiment=<name>``) into
``outputs/experiments/<name>/<key>/``, where ``<key>`` hashes the model's fingerprint and the
experiment's config (so a rerun with the same code resumes, and a rerun after any change starts
a fresh store instead of being refused), then replaces ``experiments/<name>/report/`` with
``python -m sim.report``'s tables and figures plus ``run.json`` (runs, wall time, cores).

    python -m sim.experiments --list
    python -m sim.experiments smoke
    python -m sim.experiments rollout_vs_planning hydra.launcher.n_jobs=4

Only launcher settings (``hydra/launcher=...``, ``hydra.launcher.*``) may follow the name:
anything else would make the report answer another question than the README's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
CONFIG = "config.yaml"


def names() -> list[str]:
    """The named experiments: folders of ``experiments/`` holding a ``config.yaml``."""
    return sorted(d.name for d in EXPERIMENTS.iterdir()
                  if not d.name.startswith((".", "_")) and (d / CONFIG).is_file())


def sweep_dir(name: str) -> Path:
    """Where the experiment's runs are stored for the current model code and config."""
    from .results import model_fingerprint

    h = hashlib.sha1(model_fingerprint().encode())
    h.update((EXPERIMENTS / name / CONFIG).read_bytes())
    return ROOT / "outputs" / "experiments" / name / h.hexdigest()[:12]


def run(name: str, launcher: list[str] = ()) -> Path:
    """Run (or resume) the sweep of experiment ``name`` and rewrite its report folder."""
    from .report import make_report
    from .results import Store, load, model_fingerprint

    if name not in names():
        raise SystemExit(f"error: no experiment {name!r} (experiments: {', '.join(names())})")
    allowed = ("hydra/launcher=", "hydra.launcher.", "+hydra.launcher.")
    bad = [o for o in launcher if not o.startswith(allowed)]
    if bad:
        raise SystemExit(f"error: only launcher settings may follow the name, not {' '.join(bad)}")
    sweep = sweep_dir(name)
    resumed = Store(sweep).counts()[0]
    cmd = [sys.executable, "-m", "sim", "-m", f"experiment={name}", f"hydra.sweep.dir={sweep}",
           *launcher]
    t0 = time.perf_counter()
    # Exit 1 means some runs failed (recorded in the store, reported below); anything else
    # (a refused store, an interrupt) is the sweep's own failure.
    code = subprocess.run(cmd, cwd=ROOT).returncode
    if code not in (0, 1) or (code == 1 and Store(sweep).counts()[0] == 0):
        raise SystemExit(f"error: the sweep of {name} stopped (exit {code}); no report written")
    t1 = time.perf_counter()
    out = EXPERIMENTS / name / "report"
    try:
        before = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        before = {}
    shutil.rmtree(out, ignore_errors=True)
    make_report(sweep, out, title=f"Experiment report: {name}")
    t2 = time.perf_counter()
    res = load(sweep)
    meta = {"experiment": name, "command": f"python -m sim.experiments {name}",
            "launcher_overrides": list(launcher), "finished_runs": len(res.summary),
            "failed_runs": len(res.failed), "runs_resumed_from_store": resumed,
            "sweep_wall_s": round(t1 - t0, 1), "report_wall_s": round(t2 - t1, 1),
            "cores": os.cpu_count(), "model_fingerprint": model_fingerprint(),
            "store": sweep.relative_to(ROOT).as_posix(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    if resumed == len(res.summary) and before.get("store") == meta["store"] \
            and "sweep_wall_s" in before:
        # Every run came from the store: how long the runs took is the earlier record's (a
        # report regenerated from a finished store must not overwrite it with the reading).
        meta["sweep_wall_s"] = before["sweep_wall_s"]
        meta["runs_date"] = before.get("runs_date", before.get("date"))
        meta["resume_wall_s"] = round(t1 - t0, 1)
    (out / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.experiments", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", nargs="?", help="an experiment (a folder of experiments/)")
    ap.add_argument("launcher", nargs="*", help="launcher overrides, e.g. hydra.launcher.n_jobs=4")
    ap.add_argument("--list", action="store_true", help="list the experiments and exit")
    a = ap.parse_args(argv)
    if a.list or not a.name:
        print("\n".join(names()))
        return 0
    out = run(a.name, a.launcher)
    meta = json.loads((out / "run.json").read_text())
    print(f"report written to {out} ({meta['finished_runs']} runs, {meta['failed_runs']} failed, "
          f"sweep {meta['sweep_wall_s']} s on {meta['cores']} cores)")
    return 1 if meta["failed_runs"] else 0


if __name__ == "__main__":
    sys.exit(main())
