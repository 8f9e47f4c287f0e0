"""The targets registry: every empirical figure the model is compared with, in one place.

The figures live in ``sim/data/targets.yaml`` (shipped with the package); this module loads
and checks them and computes each target's model analogue from a set of runs.  Each entry is
marked ``calibration`` or ``validation``, never both for one source figure:

* ``calibration`` without ``input``: fitted by ``python -m sim.calibrate`` (``fitted()``);
* ``calibration`` with ``input``: an *input check* — the figure sets a model input (or the
  model's analogue follows an input almost directly), so matching it says nothing about
  behaviour; reported beside the fit, never fitted, never a validation (``input_checks()``);
* ``validation``: predicted without re-tuning (``validation()``); reported as out of sample.

    from sim import targets
    for t in targets.validation():
        print(t.id, t.value, t.scenario, t.analogue_name)

A malformed registry raises ``RegistryError`` naming the entry and the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REGISTRY = Path(__file__).resolve().parent / "data" / "targets.yaml"
ROLES = ("calibration", "validation")
CHECKS = ("within", "above", "below")
TOLERANCE_KINDS = ("relative", "absolute")
UNITS = ("share", "pct", "gbp_year", "gbp_week", "score", "people", "gbp", "hours_week")
SOURCE_KEYS = {"title", "author", "year", "publication", "url"}


class RegistryError(ValueError):
    """The registry file is malformed (the message names the entry and the key)."""


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    author: str
    year: int
    publication: str
    url: str | None = None

    def cite(self) -> str:
        return f"{self.author}, {self.title} ({self.year})"


@dataclass(frozen=True)
class Target:
    """One empirical figure and how the model's analogue of it is computed."""

    id: str
    role: str
    value: float
    unit: str
    check: str
    year: str
    place: str
    scenario: str
    source: Source
    figure: str
    where: str
    verified: str
    note: str
    tolerance: float | None = None
    tolerance_kind: str | None = None
    tolerance_note: str = ""
    summary_key: str | None = None
    analogue: str | None = None
    params: dict = field(default_factory=dict)
    input: str | None = None

    @property
    def is_input_check(self) -> bool:
        return self.input is not None

    @property
    def fitted(self) -> bool:
        return self.role == "calibration" and not self.is_input_check

    @property
    def analogue_name(self) -> str:
        """The summary key, or ``function(arg=value, ...)`` for a named analogue."""
        if self.summary_key:
            return self.summary_key
        args = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.analogue}({args})"

    @property
    def analogue_identity(self) -> tuple:
        """What the model computes for this target: two targets with the same identity
        compare the same model number."""
        return (self.scenario, self.analogue_name)

    @property
    def width(self) -> float | None:
        """Half-width of the acceptance interval, in the target's unit (``within`` only)."""
        if self.check != "within":
            return None
        return self.tolerance * abs(self.value) if self.tolerance_kind == "relative" else self.tolerance

    def tolerance_text(self) -> str:
        if self.check == "above":
            return f"direction: > {self.value:g}"
        if self.check == "below":
            return f"direction: < {self.value:g}"
        if self.tolerance_kind == "relative":
            return f"±{self.tolerance:.0%}"
        if self.unit == "share":
            return f"±{self.tolerance * 100:g} pp"
        if self.unit == "pct":
            return f"±{self.tolerance:g} pp"
        return f"±{self.tolerance:g}"

    def passes(self, model_value: float) -> bool:
        if model_value is None or not np.isfinite(model_value):
            return False
        if self.check == "above":
            return bool(model_value > self.value)
        if self.check == "below":
            return bool(model_value < self.value)
        return bool(abs(model_value - self.value) <= self.width)


# ---------------------------------------------------------------- loading and checking
_REQUIRED = ("id", "role", "value", "unit", "check", "year", "place", "scenario", "source",
             "figure", "where", "verified", "note")
_OPTIONAL = ("tolerance", "tolerance_kind", "tolerance_note", "summary_key", "analogue",
             "params", "input")


def _fail(where: str, key: str, msg: str):
    raise RegistryError(f"targets registry: {where}: key '{key}': {msg}")


def _text(entry: dict, key: str, where: str, required: bool = True) -> str | None:
    v = entry.get(key)
    if v is None:
        if required:
            _fail(where, key, "missing")
        return None
    if not isinstance(v, (str, int)) or not str(v).strip():
        _fail(where, key, f"must be a non-empty text, got {v!r}")
    return str(v)


def _sources(raw) -> dict[str, Source]:
    if not isinstance(raw, dict) or not raw:
        _fail("top level", "sources", "must be a mapping of source keys to sources")
    out = {}
    for key, s in raw.items():
        where = f"source '{key}'"
        if not isinstance(s, dict):
            _fail(where, key, "must be a mapping")
        unknown = set(s) - SOURCE_KEYS
        if unknown:
            _fail(where, sorted(unknown)[0], f"unknown key (allowed: {sorted(SOURCE_KEYS)})")
        for k in ("title", "author", "publication"):
            _text(s, k, where)
        if not isinstance(s.get("year"), int):
            _fail(where, "year", f"must be a year (integer), got {s.get('year')!r}")
        out[key] = Source(key=key, title=s["title"], author=s["author"], year=s["year"],
                          publication=s["publication"], url=s.get("url"))
    return out


def _target(entry, index: int, sources: dict[str, Source]) -> Target:
    if not isinstance(entry, dict):
        _fail(f"targets[{index}]", "-", f"must be a mapping, got {type(entry).__name__}")
    where = f"target '{entry.get('id', f'#{index}')}'"
    unknown = set(entry) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        _fail(where, sorted(unknown)[0], "unknown key")
    for k in ("id", "year", "place", "scenario", "figure", "where", "verified", "note"):
        _text(entry, k, where)
    role = entry.get("role")
    if role not in ROLES:
        _fail(where, "role", f"must be one of {ROLES}, got {role!r}")
    value = entry.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        _fail(where, "value", f"must be a finite number, got {value!r}")
    if entry.get("unit") not in UNITS:
        _fail(where, "unit", f"must be one of {UNITS}, got {entry.get('unit')!r}")
    check = entry.get("check")
    if check not in CHECKS:
        _fail(where, "check", f"must be one of {CHECKS}, got {check!r}")
    tol, kind = entry.get("tolerance"), entry.get("tolerance_kind")
    if check == "within":
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
            _fail(where, "tolerance", f"a 'within' check needs a positive number, got {tol!r}")
        if kind not in TOLERANCE_KINDS:
            _fail(where, "tolerance_kind", f"must be one of {TOLERANCE_KINDS}, got {kind!r}")
        _text(entry, "tolerance_note", where)
    elif tol is not None or kind is not None:
        _fail(where, "tolerance", f"a direction check ('{check}') takes no tolerance")
    key, fn = entry.get("summary_key"), entry.get("analogue")
    if (key is None) == (fn is None):
        _fail(where, "summary_key", "give exactly one of 'summary_key' and 'analogue'")
    if fn is not None and fn not in ANALOGUES:
        _fail(where, "analogue", f"unknown analogue {fn!r} (known: {sorted(ANALOGUES)})")
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        _fail(where, "params", "must be a mapping of keyword arguments")
    if params and fn is None:
        _fail(where, "params", "only a named analogue takes params")
    src = entry.get("source")
    if src not in sources:
        _fail(where, "source", f"unknown source {src!r} (known: {sorted(sources)})")
    inp = entry.get("input")
    if inp is not None:
        _text(entry, "input", where)
        if role != "calibration":
            _fail(where, "input", "an input check is never a validation target (role must be "
                  "calibration)")
    return Target(id=str(entry["id"]), role=role, value=float(value), unit=entry["unit"],
                  check=check, year=str(entry["year"]), place=entry["place"],
                  scenario=entry["scenario"], source=sources[src], figure=entry["figure"],
                  where=entry["where"], verified=entry["verified"], note=entry["note"],
                  tolerance=None if tol is None else float(tol), tolerance_kind=kind,
                  tolerance_note=entry.get("tolerance_note") or "", summary_key=key,
                  analogue=fn, params=dict(params), input=inp)


def parse(doc: Any) -> list[Target]:
    """Check a registry document (the YAML's content) and return its targets."""
    if not isinstance(doc, dict):
        _fail("top level", "-", "the registry must be a mapping with 'sources' and 'targets'")
    unknown = set(doc) - {"sources", "targets"}
    if unknown:
        _fail("top level", sorted(unknown)[0], "unknown key (allowed: sources, targets)")
    sources = _sources(doc.get("sources"))
    raw = doc.get("targets")
    if not isinstance(raw, list) or not raw:
        _fail("top level", "targets", "must be a non-empty list")
    out = [_target(e, i, sources) for i, e in enumerate(raw)]
    seen: dict[str, int] = {}
    for i, t in enumerate(out):
        if t.id in seen:
            _fail(f"target '{t.id}'", "id", f"duplicate id (entries {seen[t.id]} and {i})")
        seen[t.id] = i
    # One source figure, one role.
    roles: dict[tuple, set] = {}
    for t in out:
        roles.setdefault((t.source.key, " ".join(t.figure.lower().split())), set()).add(t.role)
    for (src, fig), r in roles.items():
        if len(r) > 1:
            _fail(f"source '{src}'", "role", f"the figure {fig!r} is used as both calibration "
                  "and validation")
    # A validation target must not compare a number the calibration fits.
    fitted = {t.analogue_identity: t.id for t in out if t.fitted}
    for t in out:
        if t.role == "validation" and t.analogue_identity in fitted:
            _fail(f"target '{t.id}'", "summary_key" if t.summary_key else "analogue",
                  f"compares {t.analogue_identity} which calibration fits (target "
                  f"'{fitted[t.analogue_identity]}'): not out of sample")
    return out


def load(path: Path | str | None = None) -> list[Target]:
    """All targets of the registry (``sim/data/targets.yaml`` unless ``path`` is given)."""
    if path is None:
        return list(_load_default())
    return _read(Path(path))


@cache
def _load_default() -> tuple[Target, ...]:
    return tuple(_read(REGISTRY))


def _read(path: Path) -> list[Target]:
    import yaml

    try:
        doc = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise RegistryError(f"targets registry {path}: not valid YAML: {exc}") from exc
    return parse(doc)


def calibration() -> list[Target]:
    """Every role=calibration entry (fitted ones and input checks)."""
    return [t for t in load() if t.role == "calibration"]


def fitted() -> list[Target]:
    """The entries ``python -m sim.calibrate`` fits: role=calibration, not input checks."""
    return [t for t in load() if t.fitted]


def input_checks() -> list[Target]:
    return [t for t in load() if t.is_input_check]


def validation() -> list[Target]:
    return [t for t in load() if t.role == "validation"]


def get(target_id: str) -> Target:
    for t in load():
        if t.id == target_id:
            return t
    raise KeyError(f"no target {target_id!r} in the registry")


def scenarios(items: list[Target] | None = None) -> list[str]:
    """The scenarios the targets need, in registry order."""
    return list(dict.fromkeys(t.scenario for t in (load() if items is None else items)))


# ---------------------------------------------------------------- model analogues
# Each named analogue takes the runs' summaries (one row per run, with ``run_key``) and, if
# it needs one, their time series (one row per council per week per run, with ``run_key``)
# and returns one value per summary row (a Series on the summary's index).

def _at_week(ts: pd.DataFrame, week: int, cols: list[str]) -> pd.DataFrame:
    """The columns summed over councils in week ``week``, one row per run (a run that ended
    before that week has no row, so its analogue is NaN)."""
    if ts is None:
        raise ValueError("this analogue needs the runs' time series")
    return ts[ts["step"] == week].groupby("run_key")[cols].sum()


def _per_run(summary: pd.DataFrame, by_run: pd.Series) -> pd.Series:
    return summary["run_key"].map(by_run).astype(float)


def pb_share_at_week(summary, ts, week: int) -> pd.Series:
    """PB holders (direct payment + managed PB) / council-funded people at home, summed over
    councils, in week ``week``."""
    at = _at_week(ts, week, ["direct_payment", "managed_pb", "funded_community"])
    share = (at["direct_payment"] + at["managed_pb"]) / at["funded_community"].clip(lower=1)
    return _per_run(summary, share)


def dp_share_of_pb_at_week(summary, ts, week: int) -> pd.Series:
    """Direct-payment holders / all PB holders, summed over councils, in week ``week``."""
    at = _at_week(ts, week, ["direct_payment", "managed_pb"])
    pb = at["direct_payment"] + at["managed_pb"]
    return _per_run(summary, at["direct_payment"] / pb.where(pb > 0))


def dp_spend_share_at_week(summary, ts, week: int) -> pd.Series:
    """Direct payments paid out (gross: ``spend_direct_payment`` is net of the clawback booked
    in a few weeks of the year, so ``clawback`` is added back) / (that + managed-PB spend),
    summed over councils, in week ``week``."""
    at = _at_week(ts, week, ["spend_direct_payment", "clawback", "spend_managed_pb"])
    dp = at["spend_direct_payment"] + at["clawback"]
    pb = dp + at["spend_managed_pb"]
    return _per_run(summary, dp / pb.where(pb > 0))


def community_family_pa_spend_share(summary, ts=None) -> pd.Series:
    """Share of movers' spend on community activities, paid family and personal assistants."""
    return (pd.to_numeric(summary["pb_spend_share_community"], errors="coerce")
            + pd.to_numeric(summary["pb_spend_share_family"], errors="coerce")
            + pd.to_numeric(summary["pb_spend_share_pa"], errors="coerce"))


def older_qol_effect_gap(summary, ts=None) -> pd.Series:
    """The smallest mean QoL effect (against the counterfactual) of physical, learning and
    mental-health movers minus older movers': positive when older people gain least."""
    others = pd.concat([pd.to_numeric(summary[f"effect_qol_mean_{g}"], errors="coerce")
                        for g in ("physical", "learning", "mental")], axis=1)
    return others.min(axis=1, skipna=True) - pd.to_numeric(summary["effect_qol_mean_older"],
                                                            errors="coerce")


def _weeks(ts: pd.DataFrame, columns, first: int, last: int) -> pd.DataFrame:
    """The national sum of ``columns`` (summed over councils and over the columns) in each
    week ``first``..``last``: one row per run, one column per week (a week the run did not
    reach is missing, so the analogue is NaN)."""
    if ts is None:
        raise ValueError("this analogue needs the runs' time series")
    cols = [columns] if isinstance(columns, str) else list(columns)
    part = ts[(ts["step"] >= first) & (ts["step"] <= last)]
    by = part.assign(_v=part[cols].sum(axis=1)).groupby(["run_key", "step"])["_v"].sum()
    wide = by.unstack("step")
    return wide.reindex(columns=range(first, last + 1))


def national_count_at_week(summary, ts, columns, week: int) -> pd.Series:
    """People counted at a date: ``columns`` (e.g. ``[direct_payment, managed_pb]``) summed
    over councils in week ``week``."""
    return _per_run(summary, _weeks(ts, columns, week, week)[week])


def national_mean_over_weeks(summary, ts, columns, first: int, last: int) -> pd.Series:
    """People on average over a period: the national sum of ``columns`` averaged over weeks
    ``first``..``last`` (NaN if the run missed any)."""
    return _per_run(summary, _weeks(ts, columns, first, last).mean(axis=1, skipna=False))


def national_total_over_weeks(summary, ts, columns, first: int, last: int) -> pd.Series:
    """Money over a period: the national sum of ``columns`` (£/week) added up over weeks
    ``first``..``last`` (NaN if the run missed any)."""
    return _per_run(summary, _weeks(ts, columns, first, last).sum(axis=1, min_count=last - first + 1))


ANALOGUES = {f.__name__: f for f in (pb_share_at_week, dp_share_of_pb_at_week,
                                     dp_spend_share_at_week, community_family_pa_spend_share,
                                     older_qol_effect_gap, national_count_at_week,
                                     national_mean_over_weeks, national_total_over_weeks)}
#: Analogues that read the time series (the others need only the summaries).
NEEDS_TIMESERIES = {"pb_share_at_week", "dp_share_of_pb_at_week", "dp_spend_share_at_week",
                    "national_count_at_week", "national_mean_over_weeks",
                    "national_total_over_weeks"}


def needs_timeseries(t: Target) -> bool:
    return t.analogue in NEEDS_TIMESERIES


def analogue(t: Target, summary: pd.DataFrame, ts: pd.DataFrame | None = None) -> pd.Series:
    """The model's analogue of ``t``, one value per run (per row of ``summary``)."""
    if t.summary_key:
        if t.summary_key not in summary:
            raise KeyError(f"target '{t.id}': summary key '{t.summary_key}' is not in the runs' "
                           "summaries")
        return pd.to_numeric(summary[t.summary_key], errors="coerce")
    return ANALOGUES[t.analogue](summary, ts, **t.params)


def as_dict(t: Target) -> dict:
    d = dataclasses.asdict(t)
    d["source"] = t.source.cite()
    return d
