"""The sweep results store: one Parquet file per finished run, queryable as one table.

Why Parquet files and not one DuckDB database: a DuckDB file allows one writer process, so
parallel workers (joblib, Ray, SLURM) would clash on it; one file per run, written to a
temporary name and renamed, needs no lock, survives a kill at any moment (a reader never sees
a half-written file) and makes resume trivial (a run is finished iff its summary file exists).
DuckDB then reads the whole folder as one table, fast.

Layout of ``<sweep_dir>/store/``::

    summary/<run_key>.parquet      one row: run key, overrides, every summary.json field
    timeseries/<run_key>.parquet   the run's time series, with a run_key column
    failed/<run_key>.json          a run that raised: overrides, error, traceback

A run's key is a hash of its sorted task overrides, so it does not depend on Hydra's job
number (which depends on override order) and is the same when the sweep is rerun.  Each run
also records a fingerprint of everything that made it (the resolved configuration, the model's
code and its config files): rerunning a sweep after any of those changed is refused instead of
silently reusing results made by another model.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .outputs import atomic_write

STORE = "store"


def run_key(overrides: list[str]) -> str:
    """Stable identity of a run: its task overrides, order-independent."""
    text = "\n".join(sorted(o for o in overrides if not o.startswith("hydra.")))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def model_fingerprint() -> str:
    """Hash of the model's code (``sim/*.py``) and its config files: the same overrides run
    by other code or other calibrated values are not the same run."""
    from .config import CONFIG_DIR

    code = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for base, pattern in ((code, "*.py"), (Path(CONFIG_DIR), "**/*.yaml")):
        for f in sorted(base.glob(pattern)):
            h.update(f.relative_to(base).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def run_fingerprint(cfg) -> str:
    """Fingerprint of one run: its resolved configuration plus the model's fingerprint."""
    text = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    return hashlib.sha1(f"{model_fingerprint()}\n{text}".encode()).hexdigest()[:16]


def _override_columns(overrides: list[str]) -> dict:
    cols = {}
    for o in overrides:
        if "=" in o and not o.startswith("hydra."):
            k, v = o.split("=", 1)
            cols[f"ov.{k.lstrip('+~')}"] = v
    return cols


class Store:
    def __init__(self, sweep_dir: Path):
        self.root = Path(sweep_dir) / STORE

    def _path(self, kind, key, ext="parquet"):
        return self.root / kind / f"{key}.{ext}"

    def is_finished(self, key: str) -> bool:
        return self._path("summary", key).exists()

    def fingerprint(self, key: str) -> str | None:
        """The fingerprint a finished run was made with (None if it recorded none)."""
        df = pd.read_parquet(self._path("summary", key))
        return str(df["fingerprint"].iloc[0]) if "fingerprint" in df else None

    def write(self, key: str, overrides: list[str], summary: dict, ts: pd.DataFrame):
        """Write a finished run: time series first, summary last (the 'finished' marker)."""
        ts = ts.copy()
        ts.insert(0, "run_key", key)
        atomic_write(self._path("timeseries", key), lambda p: ts.to_parquet(p, index=False))
        row = {"run_key": key, "overrides": " ".join(sorted(overrides)),
               **_override_columns(overrides), **summary}
        df = pd.DataFrame([row])
        atomic_write(self._path("summary", key), lambda p: df.to_parquet(p, index=False))
        self._path("failed", key, "json").unlink(missing_ok=True)

    def write_failure(self, key: str, overrides: list[str], error: BaseException, tb: str):
        rec = {"run_key": key, "overrides": " ".join(sorted(overrides)),
               "error": f"{type(error).__name__}: {error}", "traceback": tb}
        atomic_write(self._path("failed", key, "json"),
                     lambda p: p.write_text(json.dumps(rec, indent=2)))

    def counts(self) -> tuple[int, int]:
        done = len(list((self.root / "summary").glob("*.parquet")))
        failed = len(list((self.root / "failed").glob("*.json")))
        return done, failed


@dataclass
class Results:
    """A sweep's results: ``summary`` (one row per finished run), ``timeseries`` (all runs),
    ``failed`` (runs that raised), and ``sql`` for DuckDB queries over the same files."""

    sweep_dir: Path
    summary: pd.DataFrame
    timeseries: pd.DataFrame
    failed: pd.DataFrame

    def sql(self, query: str) -> pd.DataFrame:
        """Run DuckDB SQL with views ``summary`` and ``timeseries`` over the store."""
        import duckdb

        root = Path(self.sweep_dir) / STORE
        con = duckdb.connect()
        for name in ("summary", "timeseries"):
            files = sorted((root / name).glob("*.parquet"))
            if files:
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                            f"{[str(f) for f in files]!r}, union_by_name=true)")
        return con.execute(query).df()


def load(sweep_dir) -> Results:
    """Load a sweep's store (finished runs only; temporary files are ignored)."""
    root = Path(sweep_dir) / STORE
    if not root.exists():
        raise FileNotFoundError(f"no results store under {sweep_dir} (expected {root})")

    def read(kind):
        files = sorted((root / kind).glob("*.parquet"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)

    failed = [json.loads(f.read_text()) for f in sorted((root / "failed").glob("*.json"))]
    summary = read("summary")
    if not summary.empty:
        summary = summary.sort_values("run_key", ignore_index=True)
    return Results(Path(sweep_dir), summary, read("timeseries"), pd.DataFrame(failed))
