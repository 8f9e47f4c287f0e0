"""Day-care intensity of packages on day care alone (issue 14): where a group's day-centre
attendance is published (``users.groups.*.day_care_days_per_week``; in the England scenario
learning disability, 3.5 days from Emerson et al. 2005), its people on day care alone get days x
``users.day_care_hours_per_day`` hours a week instead of the small need set for home care.
Switched off (0, the default) their hours are drawn as everyone's need, and day care costs
much less."""

import numpy as np
import pytest
from conftest import small_england

from sim.codes import AGENCY, DAY, TRAD
from sim.config import GROUPS

LEARNING = GROUPS.index("learning")
#: The mechanism off: learning-disability day care drawn as the group's need (5.9-9 h means).
OFF = ("users.groups.learning.day_care_days_per_week=0",)


def _run(*extra):
    return small_england(1500, *extra)


@pytest.fixture(scope="module")
def on():
    return _run()


@pytest.fixture(scope="module")
def off():
    return _run(*OFF)


def _day_only_hours(m, group):
    u = m.users
    trad = np.flatnonzero((u.route == TRAD) & (u.group == group))
    day, home = u.mix[DAY, trad], u.mix[AGENCY, trad]
    return day[(day > 0) & (home == 0)]


def test_day_care_packages_take_the_published_attendance(on, off):
    cfg = on.cfg
    days = cfg.users.groups.learning.day_care_days_per_week
    per_day = cfg.users.day_care_hours_per_day
    assert days > 0
    with_it, without = _day_only_hours(on, LEARNING), _day_only_hours(off, LEARNING)
    assert with_it.size > 100 and without.size > 100
    # About days x hours a day (need grows a little over people's time on the caseload before
    # the start, past the seven days' hours it is drawn under for a few).
    assert 0.9 * days * per_day < with_it.mean() < 1.5 * days * per_day
    assert (with_it <= 7 * per_day + 1e-9).mean() > 0.9
    # Without it: the group's need, about a third fewer hours (15 against 23 in England).
    assert without.mean() < 0.8 * with_it.mean()


def test_only_groups_with_a_published_attendance_change(on, off):
    # Older people's day-care packages keep the need drawn for everyone (no attendance figure).
    a, b = _day_only_hours(on, GROUPS.index("older")), _day_only_hours(off, GROUPS.index("older"))
    assert abs(a.mean() / b.mean() - 1) < 0.15


def test_day_care_spend_follows_the_intensity(on, off):
    def spend(m):
        ts = m.recorder.timeseries(m)
        return ts["spend_traditional_day_care"].sum()

    # Learning disability's day-care hours rise by about half; it holds about two-fifths of the
    # day-care hours, so the council's day-care bill rises by about a fifth.
    assert spend(on) > 1.1 * spend(off)
