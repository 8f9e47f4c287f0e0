"""Writing a run's results: every file atomically, ``summary.json`` last.

Why this order: a folder holding ``summary.json`` is a finished run; anything else is
unfinished.  Each file is written to a temporary name and renamed, so an interrupted run
never leaves a truncated Parquet or JSON file that a reader (or a sweep store) would trust,
and an existing finished run is never overwritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

SUMMARY = "summary.json"
TIMESERIES = "timeseries.parquet"
CONFIG = "config.yaml"


class ResultsExistError(FileExistsError):
    pass


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600 files; results are for everyone
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if not np.isfinite(o) else float(o)
    raise TypeError(type(o))


def _clean(d):
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


def write_run(model, out_dir: Path, figures: bool = True, extra: dict | None = None) -> dict:
    """Write config, time series, figures and (last) the summary of a finished model."""
    from .recording import summary

    out_dir = Path(out_dir)
    if (out_dir / SUMMARY).exists():
        raise ResultsExistError(f"{out_dir / SUMMARY} already exists; refusing to overwrite a "
                                "finished run (choose another output folder)")
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg_yaml = OmegaConf.to_yaml(OmegaConf.structured(model.cfg))
    atomic_write(out_dir / CONFIG, lambda p: p.write_text(cfg_yaml))
    ts = model.recorder.timeseries(model)
    atomic_write(out_dir / TIMESERIES, lambda p: ts.to_parquet(p, index=False))
    panel = model.recorder.panel_frame()
    if not panel.empty:
        atomic_write(out_dir / "panel.parquet", lambda p: panel.to_parquet(p, index=False))
    if figures:
        from .figures import run_figures
        run_figures(ts, out_dir / "figures")
    summ = _clean(summary(model, ts))
    if extra:
        summ.update(extra)
    atomic_write(out_dir / SUMMARY,
                 lambda p: p.write_text(json.dumps(summ, indent=2, default=_json_default)))
    return summ
