"""The sweep results store: one Parquet file per finished run, queryable as one table.

Why Parquet files and not one DuckDB database: a DuckDB file allows one writer process, so
parallel workers (joblib, Ray, SLURM) would clash on it; one file per run, written to a
temporary name and renamed, needs no lock, survives a kill at any moment (a reader never sees
a half-written file) and makes resume trivial (a run is finished iff its summary file exists).
DuckDB then reads the whole folder as one table, fast.

Layout of ``<sweep_dir>/store/``::

    fingerprint.json               the one model/config fingerprint of every run in the store
    summary/<run_key>.parquet      one row: run key, overrides, every summary.json field
    timeseries/<run_key>.parquet   the run's time series, with a run_key column
    failed/<run_key>.json          a run that raised: overrides, error, traceback
    quarantine/<kind>/<file>       unreadable files moved aside (their runs are redone)

A run's key is a hash of its sorted task overrides, so it does not depend on Hydra's job
number (which depends on override order) and is the same when the sweep is rerun.  The store
carries one fingerprint of everything else that made its runs: the model's code and config
files and the resolved configuration without the seed and the swept keys (which the run keys
hold).  A sweep whose fingerprint differs (other code, another calibrated value, another
fixed override) is refused before any job starts, so a store never mixes model versions, and
extending a sweep with new seeds or new values of a swept key stays possible.  Each run's
summary also records its own ``fingerprint`` (model and full resolved configuration).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .outputs import atomic_write

if TYPE_CHECKING:
    import pandas as pd

STORE = "store"
FINGERPRINT = "fingerprint.json"
KINDS = ("summary", "timeseries")
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


def run_key(overrides: list[str]) -> str:
    """Stable identity of a run: its task overrides, order-independent."""
    text = "\n".join(sorted(o for o in overrides if not o.startswith("hydra.")))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def model_modules() -> list[Path]:
    """The source files a run's results depend on: ``sim/model.py`` and every module of the
    package it imports, directly or not (found by reading the imports, not by running them).
    Commands that only run or report the model (validate, bench, report, ...) are not among
    them, so editing one does not invalidate every sweep store."""
    import ast

    code = Path(__file__).resolve().parent
    seen, todo = set(), ["model"]
    while todo:
        name = todo.pop()
        path = code / f"{name}.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    todo.append(node.module.split(".")[0])
                else:
                    todo.extend(a.name for a in node.names)
    return sorted(code / f"{name}.py" for name in seen)


def model_fingerprint() -> str:
    """Hash of the model's code (``model_modules``) and its config files: the same overrides
    run by other code or other calibrated values are not the same run."""
    from .config import CONFIG_DIR

    h = hashlib.sha1()
    files = [(f.name, f) for f in model_modules()]
    # Not the calibration's files: the values they give are in each run's resolved
    # configuration (``run_fingerprint``, the store's fingerprint), and ``python -m
    # sim.calibrate`` writes them, so its own store must not depend on them.
    files += [(f.relative_to(CONFIG_DIR).as_posix(), f)
              for f in sorted(Path(CONFIG_DIR).glob("**/*.yaml"))
              if f.parent.name != "calibration"]
    for name, f in files:
        h.update(name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def run_fingerprint(cfg) -> str:
    """Fingerprint of one run: its resolved configuration plus the model's fingerprint."""
    text = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    return hashlib.sha1(f"{model_fingerprint()}\n{text}".encode()).hexdigest()[:16]


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def store_fingerprint(config: dict, excluded) -> dict:
    """The store's fingerprint record for a sweep: the model's fingerprint and the resolved
    configuration (a nested dict) without the keys in ``excluded`` (the seed and the swept
    keys, dotted; a key excludes everything under it)."""
    excluded = sorted(set(excluded))
    flat = {k: v for k, v in _flatten(config).items()
            if not any(k == e or k.startswith(e + ".") for e in excluded)}
    text = json.dumps(flat, sort_keys=True, default=str)
    model = model_fingerprint()
    fp = hashlib.sha1(f"{model}\n{text}".encode()).hexdigest()[:16]
    return {"fingerprint": fp, "model": model, "excluded": excluded,
            "config": json.loads(json.dumps(flat, default=str))}


def fingerprint_difference(old: dict, new: dict) -> list[str]:
    """What differs between two fingerprint records, one line per difference."""
    lines = []
    if old.get("model") != new.get("model"):
        lines.append("the model's code or config files (sim/*.py, configs/) changed")
    oc, nc = old.get("config", {}), new.get("config", {})
    oe, ne = set(old.get("excluded", ())), set(new.get("excluded", ()))
    for k in sorted(set(oc) | set(nc)):
        if oc.get(k, "<unset>") != nc.get(k, "<unset>"):
            was = "swept" if k not in oc and k in oe else repr(oc.get(k, "<unset>"))
            now = "swept" if k not in nc and k in ne else repr(nc.get(k, "<unset>"))
            lines.append(f"{k}: {was} in the store, {now} now")
    return lines or ["the swept keys differ"]


def typed(value: str):
    """An override's value as the number or boolean it spells (``"12"`` -> 12), else the
    string: so a store's ``ov.*`` columns sort and compare as numbers."""
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _override_columns(overrides: list[str]) -> dict:
    cols = {}
    for o in overrides:
        if "=" in o and not o.startswith("hydra."):
            k, v = o.split("=", 1)
            cols[f"ov.{k.lstrip('+~')}"] = typed(v)
    return cols


def _reason(exc: BaseException) -> str:
    """Why a file is unreadable, short (pyarrow's messages repeat the path)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = text.split(": ", 1)[-1] if "source '" in text else text
    return f"{type(exc).__name__}: {text[:100]}"


class Store:
    def __init__(self, sweep_dir: Path):
        self.root = Path(sweep_dir) / STORE

    def _path(self, kind, key, ext="parquet"):
        return self.root / kind / f"{key}.{ext}"

    def is_finished(self, key: str) -> bool:
        return self._path("summary", key).exists()

    def keys(self, kind: str = "summary") -> set[str]:
        return {p.stem for p in (self.root / kind).glob("*.parquet")}

    def failed_keys(self) -> set[str]:
        return {p.stem for p in (self.root / "failed").glob("*.json")}

    def read_fingerprint(self) -> dict | None:
        path = self.root / FINGERPRINT
        return json.loads(path.read_text()) if path.exists() else None

    def claim(self, record: dict) -> None:
        """Make ``record`` the store's fingerprint, or raise ``StoreMismatch`` if the store
        holds runs of another model or configuration (or finished runs of unknown origin)."""
        old = self.read_fingerprint()
        if old is None:
            if self.keys():
                raise StoreMismatch(
                    f"{self.root} holds finished runs but no {FINGERPRINT} (made by an older "
                    "version), so whether they match this sweep is unknown")
            atomic_write(self.root / FINGERPRINT,
                         lambda p: p.write_text(json.dumps(record, indent=2, sort_keys=True)))
        elif old.get("fingerprint") != record["fingerprint"]:
            diff = fingerprint_difference(old, record)
            raise StoreMismatch(
                f"{self.root} holds runs of another model or configuration:\n  "
                + "\n  ".join(diff[:10]) + ("\n  ..." if len(diff) > 10 else ""))

    def check(self, quarantine: bool = True) -> list[tuple[Path, str]]:
        """Find finished runs whose files are unreadable (truncated, corrupt) or missing
        (a summary without its time series); with ``quarantine`` move their files to
        ``store/quarantine/`` so that a rerun redoes them.  Reads only the Parquet footers
        (cheap); ``load`` reads whole files."""
        import pyarrow.parquet as pq

        bad = []
        for key in sorted(self.keys()):
            for kind in KINDS:
                path = self._path(kind, key)
                try:
                    if pq.read_metadata(path).num_rows < (1 if kind == "summary" else 0):
                        raise ValueError("no rows")
                except FileNotFoundError:
                    bad.append((path, "missing"))
                except Exception as exc:  # any unreadable file: pyarrow's errors vary
                    bad.append((path, _reason(exc)))
        if quarantine:
            for key in sorted({p.stem for p, _ in bad}):
                self.quarantine(key)
        return bad

    def quarantine(self, key: str) -> None:
        """Move a run's files to ``store/quarantine/<kind>/`` (the run becomes unfinished)."""
        for kind in ("summary", *KINDS[1:]):
            path = self._path(kind, key)
            if path.exists():
                dest = self.root / "quarantine" / kind / path.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                n = 1
                while dest.exists():
                    dest = dest.with_name(f"{path.stem}.{n}{path.suffix}")
                    n += 1
                path.replace(dest)

    def write(self, key: str, overrides: list[str], summary: dict, ts):
        """Write a finished run: time series first, summary last (the 'finished' marker)."""
        import pandas as pd

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


class StoreMismatch(RuntimeError):
    """A sweep would mix runs of different models or configurations in one store."""


@dataclass
class Results:
    """A sweep's results: ``summary`` (one row per finished run), ``timeseries`` (all runs),
    ``failed`` (runs that raised), ``bad`` (unreadable files skipped, with the reason), and
    ``sql`` for DuckDB queries over the same (readable) files."""

    sweep_dir: Path
    summary: pd.DataFrame
    timeseries: pd.DataFrame
    failed: pd.DataFrame
    bad: list = field(default_factory=list)
    files: dict = field(default_factory=dict)

    def sql(self, query: str):
        """Run DuckDB SQL with views ``summary`` and ``timeseries`` over the store."""
        import duckdb

        root = Path(self.sweep_dir) / STORE
        con = duckdb.connect()
        for name in KINDS:
            files = self.files.get(name)
            if files is None:
                files = sorted((root / name).glob("*.parquet"))
            if files:
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                            f"{[str(f) for f in files]!r}, union_by_name=true)")
        return con.execute(query).df()


def load(sweep_dir, quarantine: bool = False) -> Results:
    """Load a sweep's store (finished runs only; temporary files are ignored).

    A run with an unreadable file (truncated or corrupt summary or time series, or a missing
    time series) is left out of every table and named in a warning and in ``Results.bad``;
    with ``quarantine=True`` its files are moved to ``store/quarantine/``.  Rerunning the
    sweep redoes such runs (it quarantines them before starting)."""
    import pandas as pd

    root = Path(sweep_dir) / STORE
    if not root.exists():
        raise FileNotFoundError(f"no results store under {sweep_dir} (expected {root})")
    store = Store(Path(sweep_dir))
    frames, bad = {k: {} for k in KINDS}, []
    for kind in KINDS:
        for f in sorted((root / kind).glob("*.parquet")):
            try:
                frames[kind][f.stem] = pd.read_parquet(f)
            except Exception as exc:  # pyarrow's errors for a damaged file vary
                bad.append((f, _reason(exc)))
    for key in set(frames["summary"]) - set(frames["timeseries"]):
        if key not in {p.stem for p, _ in bad}:
            bad.append((root / "timeseries" / f"{key}.parquet", "missing"))
    bad_keys = {p.stem for p, _ in bad}
    failed = []
    for f in sorted((root / "failed").glob("*.json")):
        try:
            failed.append(json.loads(f.read_text()))
        except (OSError, ValueError) as exc:
            bad.append((f, _reason(exc)))
    if bad:
        what = "\n  ".join(f"{p.relative_to(root)}: {why}" for p, why in bad)
        warnings.warn(f"{len(bad)} unreadable file(s) in {root} skipped (their runs are left "
                      f"out; rerun the sweep to redo them):\n  {what}", stacklevel=2)
        if quarantine:
            for key in bad_keys:
                store.quarantine(key)

    def table(kind):
        good = {k: v for k, v in frames[kind].items()
                if k not in bad_keys and (kind == "summary" or k in frames["summary"])}
        return good, (pd.concat(list(good.values()), ignore_index=True) if good
                      else pd.DataFrame())

    good_s, summary = table("summary")
    good_t, timeseries = table("timeseries")
    if not summary.empty:
        summary = summary.sort_values("run_key", ignore_index=True)
    files = {"summary": [root / "summary" / f"{k}.parquet" for k in sorted(good_s)],
             "timeseries": [root / "timeseries" / f"{k}.parquet" for k in sorted(good_t)]}
    return Results(Path(sweep_dir), summary, timeseries, pd.DataFrame(failed), bad, files)
