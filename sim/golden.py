"""``python -m sim.golden``: the golden baseline — a record of what the model produces.

Why: a refactor that changes results by accident must fail a test, and a deliberate model
change must say what it moved.  For each scenario in ``CASES`` the baseline holds the run's
headline summary and, per time-series column, an exact digest (SHA-256 of the values) and
a few statistics (sum, min, max, NaN count); the same for the sampled agent panel.

* ``python -m sim.golden``            compare every case with ``tests/golden/`` (exit 1 if any moved)
* ``python -m sim.golden --refresh``  rewrite the baseline and print what moved (do it on purpose,
  and say why in the commit message)
* ``python -m sim.golden --exact``    also require every digest to match bit for bit

The test suite (``tests/test_golden.py``) runs the ``TEST`` cases and compares them within a
tight relative tolerance (``RTOL``); statistics rather than digests, so a machine whose
compiled kernels round differently in the last bit does not fail it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = ROOT / "tests" / "golden"
RTOL = 1e-9

#: Named cases: (Hydra overrides).  Small enough to run in a few seconds each.
CASES: dict[str, tuple[str, ...]] = {
    "default": ("council.n_users=3000", "steps=52"),
    "west_sussex_pilot": ("scenario=west_sussex_pilot",),
    "personal_best_2010": ("scenario=personal_best_2010", "council.n_users=3000", "steps=52"),
    "quick_fix": ("scenario=quick_fix", "council.n_users=3000", "steps=52"),
    "making_it_personal": ("scenario=making_it_personal", "geography.n_councils=3", "steps=52"),
    "england_small": ("scenario=england", "geography.n_councils=6", "council.n_users=800",
                      "steps=52"),
}
#: The cases the test suite runs (two councils' worth of people or fewer each, one year).
TEST = ("default", "making_it_personal", "england_small")


def _digest(values: np.ndarray) -> str:
    if values.dtype == object or values.dtype.kind in "MmU":
        values = values.astype(str).astype("U")
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]


def _stats(col: pd.Series) -> dict:
    v = col.to_numpy()
    out = {"sha": _digest(v)}
    if v.dtype.kind in "biuf":
        f = v.astype(float)
        finite = f[np.isfinite(f)]
        out.update(sum=float(finite.sum()) if finite.size else 0.0,
                   min=float(finite.min()) if finite.size else None,
                   max=float(finite.max()) if finite.size else None,
                   nan=int(np.isnan(f).sum()))
    return out


def run_case(name: str) -> dict:
    """Run one case; return its record (summary and per-column statistics)."""
    from .config import compose
    from .model import CareMarketModel
    from .recording import summary

    model = CareMarketModel(compose(*CASES[name], "output.figures=false"))
    model.run()
    ts = model.recorder.timeseries(model)
    panel = model.recorder.panel_frame()
    summ = {k: v for k, v in summary(model, ts).items()}
    return {
        "overrides": list(CASES[name]),
        "summary": json.loads(json.dumps(summ, default=float)),
        "timeseries": {c: _stats(ts[c]) for c in ts.columns},
        "panel": {c: _stats(panel[c]) for c in panel.columns},
    }


def path_of(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


def load(name: str) -> dict:
    return json.loads(path_of(name).read_text())


def _close(a, b, rtol: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=rtol, abs_tol=rtol)
    return a == b


def compare(old: dict, new: dict, rtol: float = RTOL, exact: bool = False) -> list[str]:
    """What moved from ``old`` to ``new``, one line each (empty if nothing did)."""
    moved = []
    for key in sorted(set(old["summary"]) | set(new["summary"])):
        a, b = old["summary"].get(key, "<absent>"), new["summary"].get(key, "<absent>")
        if not _close(a, b, rtol):
            moved.append(f"summary.{key}: {a} -> {b}")
    for part in ("timeseries", "panel"):
        o, n = old[part], new[part]
        for col in sorted(set(o) | set(n)):
            if col not in o or col not in n:
                moved.append(f"{part}.{col}: {'added' if col in n else 'removed'}")
                continue
            for stat in sorted(set(o[col]) | set(n[col])):
                if stat == "sha" and not exact:
                    continue
                a, b = o[col].get(stat), n[col].get(stat)
                if not _close(a, b, rtol):
                    moved.append(f"{part}.{col}.{stat}: {a} -> {b}")
    return moved


def _case(name: str) -> str:
    if name not in CASES:
        raise argparse.ArgumentTypeError(f"no case {name!r}; cases: {', '.join(CASES)}")
    return name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.golden", description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", type=_case, metavar="CASE",
                        help=f"cases to run (default: all of {', '.join(CASES)})")
    parser.add_argument("--refresh", action="store_true", help="rewrite the baseline files")
    parser.add_argument("--exact", action="store_true", help="digests must match bit for bit")
    args = parser.parse_args(argv)
    failed = False
    for name in args.cases or CASES:
        new = run_case(name)
        old = load(name) if path_of(name).exists() else None
        moved = compare(old, new, exact=args.exact or args.refresh) if old else ["(no baseline)"]
        status = "unchanged" if not moved else f"{len(moved)} moved"
        print(f"{name}: {status}")
        for line in moved[:40]:
            print(f"  {line}")
        if len(moved) > 40:
            print(f"  ... and {len(moved) - 40} more")
        if args.refresh:
            GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
            path_of(name).write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
        elif moved:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
