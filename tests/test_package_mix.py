"""The national package mix (issue 14, item 5): in the England scenario a council's traditional
packages are home care alone or day care alone, drawn per person, with many small packages;
switched off (every group's ``home_care_only_share`` and ``day_care_only_share`` 0, the pilots'
setting) every package holds both, and none costs under £1,000 a year."""

import numpy as np
import pytest
from conftest import small_england

from sim.codes import AGENCY, DAY, TRAD, WEEKS_PER_YEAR
from sim.config import GROUPS, ConfigError, UserGroups, UsersConfig, compose
from sim.model import CareMarketModel
from sim.support import traditional_cost

#: The national mix switched off: nobody on one service alone, the England need distribution kept.
MIX_OFF = tuple(f"users.groups.{g}.{k}=0" for g in GROUPS
                for k in ("home_care_only_share", "day_care_only_share"))
#: The pilots' people in England: the mix off and every group's need (and the care-home
#: threshold) at the defaults the pilots' scenarios use.
PILOTS_PEOPLE = MIX_OFF + tuple(
    f"users.groups.{g}.{k}={getattr(getattr(UserGroups(), g), k)}" for g in GROUPS
    for k in ("need_mean_hours", "need_cv")) + (
    f"users.residential_need_threshold={UsersConfig().residential_need_threshold}",)


def _run(*extra):
    return small_england(800, *extra)


@pytest.fixture(scope="module")
def national():
    return _run()


@pytest.fixture(scope="module")
def mix_off():
    return _run(*MIX_OFF)


def _packages(m):
    trad = np.flatnonzero(m.users.route == TRAD)
    return trad, m.users.mix[AGENCY, trad] > 0, m.users.mix[DAY, trad] > 0


def test_national_packages_hold_one_service_and_both_kinds_are_common(national):
    trad, home, day = _packages(national)
    assert not (home & day).any()
    assert (home | day).all()
    assert 0.5 < home.mean() < 0.9           # mostly home care, as in England's 2009-10 counts
    assert 0.1 < day.mean() < 0.5
    ts = national.recorder.timeseries(national)
    last = ts[ts["step"] == ts["step"].max()]
    assert (last["home_care_clients"] + last["day_care_clients"] == last["traditional"]).all()
    # Home care is part of the traditional spend, and here most of it.
    home, trad_spend = ts["spend_traditional_home_care"], ts["spend_traditional"]
    assert (home >= 0).all() and (home <= trad_spend * (1 + 1e-9)).all()
    assert home.sum() > 0.5 * trad_spend.sum()


def test_without_the_national_mix_every_package_holds_both(mix_off):
    trad, home, day = _packages(mix_off)
    assert trad.size and (home & day).all()
    ts = mix_off.recorder.timeseries(mix_off)
    last = ts[ts["step"] == ts["step"].max()]
    assert (last["home_care_clients"] == last["traditional"]).all()


def test_small_packages_come_from_the_national_mix(national):
    def yearly(m):
        trad = np.flatnonzero(m.users.route == TRAD)
        return traditional_cost(m, trad) * WEEKS_PER_YEAR

    pilots = _run(*PILOTS_PEOPLE)
    on, off = yearly(national), yearly(pilots)
    # A few hours of home care a week, or a day-care session or two: under £2,000 a year.
    assert (on < 2000).mean() > 0.04
    assert (off < 2000).mean() < 0.5 * (on < 2000).mean()
    assert np.median(on) < 0.75 * np.median(off)


def test_the_pilots_keep_packages_of_both_services():
    m = CareMarketModel(compose("scenario=making_it_personal", "geography.n_councils=2",
                                "council.n_users=500", "steps=1", "output.figures=false",
                                "output.counterfactual=false"))
    m.step()
    trad, home, day = _packages(m)
    assert trad.size and (home & day).all()


def test_a_group_cannot_hold_more_than_everyone_on_one_service():
    with pytest.raises(ConfigError, match="users.groups.older.home_care_only_share"):
        compose("users.groups.older.home_care_only_share=0.7",
                "users.groups.older.day_care_only_share=0.5")
