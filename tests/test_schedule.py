"""The weekly schedule is one declared list, and everything that describes it agrees."""

import re
from pathlib import Path

import numpy as np

from sim import schedule
from sim.model import CareMarketModel
from tests.conftest import small_cfg

ROOT = Path(__file__).resolve().parent.parent


def test_odd_lists_the_schedule_in_order():
    text = (ROOT / "docs" / "odd.md").read_text()
    section = text.split("### 1.3", 1)[1].split("## 2.", 1)[0]
    listed = re.findall(r"^\d+\. \*\*(\w+)\*\* \(`(sim\.\w+)`\)", section, flags=re.M)
    assert listed == [(p.name, p.module) for p in schedule.PHASES]


def test_every_phase_lives_in_the_module_named_for_it_and_says_what_it_touches():
    for p in schedule.PHASES:
        assert p.reads and p.writes, p.name
        assert p.run.__module__ == p.module and p.run.__doc__, p.name


def test_time_series_has_exactly_the_declared_columns_in_order():
    m = CareMarketModel(small_cfg(steps=2)).run()
    ts = m.recorder.timeseries(m)
    assert list(ts.columns) == [c.name for c in schedule.columns()]


def test_step_walks_the_schedule_in_order(monkeypatch):
    import dataclasses

    import sim.model as sm

    seen = []
    phases = tuple(dataclasses.replace(p, run=lambda model, week, p=p: (seen.append(p.name),
                                                                         p.run(model, week)))
                   for p in schedule.PHASES)
    m = CareMarketModel(small_cfg(steps=1))     # (its burn-in walks the same list)
    monkeypatch.setattr(sm, "PHASES", phases)
    m.step()
    assert seen == [p.name for p in schedule.PHASES]


def test_no_phase_hangs_attributes_on_the_model():
    """Values pass between phases in the Week; the model's attributes are set in __init__."""
    m = CareMarketModel(small_cfg(steps=3))
    before = set(vars(m))
    m.run()
    assert set(vars(m)) == before


def test_a_column_declared_but_not_filled_is_an_error(monkeypatch):
    import dataclasses

    import pytest

    import sim.model as sm
    from sim.week import Column

    first = schedule.PHASES[0]
    extra = dataclasses.replace(first, columns=first.columns + (Column("ghost", "-", "never"),))
    monkeypatch.setattr(sm, "PHASES", (extra, *schedule.PHASES[1:]))
    monkeypatch.setattr("sim.recording.PHASES", (extra, *schedule.PHASES[1:]))
    m = CareMarketModel(small_cfg(steps=1))
    with pytest.raises(RuntimeError, match="ghost"):
        m.step()
    assert np.isfinite(m.council.threshold).all()


def test_every_column_is_reachable_from_mesas_datacollector():
    from sim.recording import NATIONAL

    m = CareMarketModel(small_cfg(steps=3)).run()
    ts = m.recorder.timeseries(m)
    mesa = m.datacollector.get_model_vars_dataframe()
    last = ts[ts["step"] == 3]
    for c in schedule.columns()[4:]:
        assert c.name in mesa.columns, c.name
        if c.name in NATIONAL:
            continue
        want = last[c.name].sum() if c.scale else last[c.name].mean()
        assert np.isclose(mesa[c.name].iloc[-1], want, equal_nan=True), c.name
