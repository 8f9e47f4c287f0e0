"""Care homes: the means test, fees by payer, entry when beds are short."""

import numpy as np
import pytest

from sim.codes import RES, RES_SELF, RESIDENTIAL
from sim.config import compose
from sim.market import charge_residents, tariff_income
from sim.model import CareMarketModel
from sim.recording import summary


def _run(*overrides, steps=52):
    m = CareMarketModel(compose("council.n_users=3000", f"steps={steps}", "policy.rollout=false",
                                "output.figures=false", *overrides)).run()
    return m, m.recorder.timeseries(m)


# ---------------------------------------------------------------- the means test

def test_a_self_funding_resident_becomes_council_funded_only_at_the_upper_limit():
    """One week's charge: residents whose capital falls to the upper limit this week switch to
    council funding, the others (a pound more) keep paying their own fees."""
    m = CareMarketModel(compose("council.n_users=3000", "steps=1", "output.figures=false"))
    u, p, cfg = m.users, m.providers, m.cfg
    own = np.flatnonzero(u.active & (u.route == RES_SELF) & (u.main_provider >= 0))
    assert own.size >= 20, "the starting population holds self-funding residents"
    income, upper = cfg.users.care_home_income, cfg.council.capital_upper
    draw = p.price[u.main_provider[own]] - income    # what a week's fee takes from capital
    half = own.size // 2
    u.capital[own[:half]] = upper + draw[:half]            # falls exactly to the limit
    u.capital[own[half:]] = upper + draw[half:] + 1.0      # stays a pound above it
    homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
    fee = m.council.block_price[p.home[homes], RESIDENTIAL]
    occ_self, contrib, switched = charge_residents(m, homes, fee, np.zeros(homes.size))
    assert occ_self.sum() >= own.size
    assert (u.route[own[:half]] == RES).all()
    assert (u.route[own[half:]] == RES_SELF).all()
    assert switched.sum() == half
    assert u.capital[own[half:]] == pytest.approx(np.full(own.size - half, upper + 1.0))
    # Those now council-funded are at the limit (their tariff income starts next week).
    assert u.capital[own[:half]] == pytest.approx(np.full(half, upper))


def _move_in(*overrides):
    """Self-funders and council-funded people at home (200 of each) take a bed (the homes
    given room for all); returns the model, the movers and which of them self-funded."""
    from sim.accounting import Ledger
    from sim.codes import SELF, TRAD
    from sim.population import place_in_residential

    m = CareMarketModel(compose("council.n_users=3000", "steps=1", "output.figures=false",
                                *overrides))
    u, p = m.users, m.providers
    homes = p.active & (p.ptype == RESIDENTIAL)
    p.capacity[homes] *= 3                   # room for every mover
    movers = np.r_[np.flatnonzero(u.active & (u.route == SELF))[:200],
                   np.flatnonzero(u.active & (u.route == TRAD))[:200]]
    was_self = u.route[movers] == SELF
    place_in_residential(m, Ledger(m.council.n), movers)
    return m, movers, was_self


def test_a_self_funder_moving_into_a_care_home_keeps_paying_if_their_capital_allows():
    """People moving into a care home are means-tested on their capital (mostly the home they
    leave): above the upper limit they pay their own fees, at or below it the council funds
    them.  Self-funders at home all have capital; of the council-funded, those whose capital
    the test counts (``users.care_home_owner_share``, which the means test for care at home
    disregarded) do too, the rest move in with none."""
    m, movers, was_self = _move_in()
    u, upper = m.users, m.cfg.council.capital_upper
    own, funded = movers[was_self], movers[~was_self]
    assert ((u.route[movers] == RES_SELF) == (u.capital[movers] > upper)).all()
    assert (u.route[own] == RES_SELF).mean() > 0.9      # median capital £150k
    counted = (u.capital[funded] > 0).mean()
    assert abs(counted - m.cfg.users.care_home_owner_share) < 0.12
    assert (u.route[funded[u.capital[funded] == 0]] == RES).all()
    # With no council-funded owners, they all stay council-funded with no capital.
    m0, movers0, was_self0 = _move_in("users.care_home_owner_share=0")
    funded0 = movers0[~was_self0]
    assert (m0.users.route[funded0] == RES).all() and (m0.users.capital[funded0] == 0).all()


def test_tariff_income_is_a_pound_for_each_250_pounds_or_part_between_the_limits():
    cfg = compose("council.n_users=100")
    lower, upper = cfg.council.capital_lower, cfg.council.capital_upper
    cap = np.array([0.0, lower, lower + 1.0, lower + 250.0, lower + 251.0, upper])
    assert tariff_income(cfg, cap).tolist() == [0, 0, 1, 1, 2, (upper - lower) / 250]


def test_raising_the_upper_limit_moves_residents_to_council_funding():
    """With the capital limits of the time a share of residents pay their own fees; with an
    upper limit above anyone's capital, everyone in a home is council-funded: the self-funders
    who move in during the run are the council's residents, and its care-home spend rises."""
    base, ts_base = _run(steps=26)
    high, ts_high = _run("council.capital_upper=1e9", "council.capital_lower=1e9", steps=26)
    share_base = summary(base)["residents_self_funding_share_end"]
    assert 0.05 < share_base < 0.6
    assert summary(high)["residents_self_funding_share_end"] == 0.0
    assert ts_high["residential"].iloc[-1] > ts_base["residential"].iloc[-1]
    assert ts_high["spend_residential"].iloc[-4:].mean() > ts_base["spend_residential"].iloc[-4:].mean()


def test_spend_down_happens_at_the_threshold_not_before():
    """Self-funders with modest capital (about £30k) run it down to £23,250 within months and
    become council-funded, so few residents pay their own way at any time; with the upper limit
    at zero they pay for longer and more residents are self-funding.  Either way every
    self-funding resident holds more than the upper limit and every resident who came in paying
    and is now council-funded holds no more than it."""
    modest = ("users.capital_median=30000", "users.capital_sigma=0.1")
    m, ts = _run(*modest, steps=40)
    m0, ts0 = _run(*modest, "council.capital_upper=0", "council.capital_lower=0", steps=40)
    assert ts["care_home_spend_downs"].sum() >= 10
    assert ts0["residential_self_funders"].iloc[-1] > 2 * ts["residential_self_funders"].iloc[-1]
    for model in (m, m0):
        u, upper = model.users, model.cfg.council.capital_upper
        paying = u.active & (u.route == RES_SELF)
        came_in_paying = u.active & (u.route == RES) & (u.capital > 0)
        assert paying.any() and (u.capital[paying] > upper).all()
        assert (u.capital[came_in_paying] <= upper).all()


# ---------------------------------------------------------------- fees by payer

def test_self_funders_pay_more_only_where_the_council_rate_is_below_cost():
    """Homes' full cost is about £515 a resident-week on Laing's 2008/09 figures (staff, running
    costs, a 12% return on capital): at the council's £480 homes recover the shortfall on
    council-funded beds from self-funders' fees, and a premium emerges (no parameter sets it).
    Ablation: at a council rate above homes' full cost (£650) there is nothing to recover and
    self-funders pay about the council's rate.  (Rates held fixed: fee_uplift_residential 0.)"""
    flat = "council.fee_uplift_residential=0"
    below, ts_below = _run(flat)
    above, ts_above = _run(flat, "council.block_price_residential=650")
    s_below, s_above = summary(below), summary(above)
    p = below.providers
    homes = p.active & (p.ptype == RESIDENTIAL)
    assert np.median(p.unit_cost[homes]) > 480.0         # the council pays below full cost
    assert s_below["care_home_fee_council_last_year"] == pytest.approx(480.0)
    assert s_below["self_funder_premium_residential"] > 0.1
    assert abs(s_above["self_funder_premium_residential"]) < 0.03
    # The council pays its rate; no home asks a self-funder less.
    assert np.allclose(ts_above["care_home_fee_council"].dropna(), 650.0)
    assert (ts_above["care_home_fee_self_funder"].dropna() >= 650.0 - 1e-9).all()


def test_homes_close_where_council_rates_are_below_cost_and_self_funders_are_too_few():
    """Homes whose council rate (£420) is well below their full cost recover the shortfall
    from self-funders while there are enough of them (the means test of the time counts the
    home a council-funded person leaves); where nobody pays their own fees (no self-funders at
    home, no council-funded owners) the losses last and homes close.  At a rate above cost
    (£650) none close even without self-funders.  (Here every home has the same mix of payers
    and cost per bed; where they differ, next test, the homes left with few self-funders
    close.)"""
    low = ("council.block_price_residential=420", "council.fee_uplift_residential=0")
    nobody = ("users.self_funder_ratio=0", "users.care_home_owner_share=0")
    # Every home alike in its payers and its cost per bed (self-funders take beds at random,
    # no economies of scale): the shortfall is spread over all of them.
    alike = ("market.self_funder_home_choice=0", "market.home_manager_cost=0")
    paying, ts_paying = _run(*low, *alike, steps=78)
    alone, ts_alone = _run(*low, *nobody, steps=78)
    paid, ts_paid = _run("council.block_price_residential=650",
                         "council.fee_uplift_residential=0", *nobody, steps=78)
    assert ts_alone["residential_self_funders"].max() == 0
    assert ts_alone["provider_exits_residential"].sum() >= 3
    assert ts_paying["provider_exits_residential"].sum() == 0
    assert ts_paid["provider_exits_residential"].sum() == 0
    assert summary(paying)["self_funder_premium_residential"] > 0.1


def _homes_by_payer(*overrides):
    """Beds and self-funding share of each care home of a council at the start (after the
    burn-in)."""
    m = CareMarketModel(compose("council.n_users=6000", "steps=1", "output.figures=false",
                                *overrides))
    u, p = m.users, m.providers
    homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
    res = u.active & ((u.route == RES) | (u.route == RES_SELF)) & (u.main_provider >= 0)
    n_all = np.bincount(u.main_provider[res], minlength=p.size)[homes]
    n_self = np.bincount(u.main_provider[res & (u.route == RES_SELF)], minlength=p.size)[homes]
    large = p.capacity[homes] >= np.median(p.capacity[homes])
    share = lambda sel: n_self[sel].sum() / n_all[sel].sum()
    return share(large), share(~large)


def test_self_funders_take_beds_in_larger_homes_and_councils_place_in_the_rest():
    """Self-funders choose their home (larger ones first, with chance), the council places
    its people in the beds left: homes differ in their payers, as the ONS finds (self-funders
    15% of residents in small homes, 51% in large).  Ablation: taking free beds at random
    (``market.self_funder_home_choice`` 0), large and small homes hold alike shares."""
    large, small = _homes_by_payer()
    large0, small0 = _homes_by_payer("market.self_funder_home_choice=0")
    assert large > small + 0.2
    assert abs(large0 - small0) < 0.1


def _homes_left(*overrides, steps=104):
    """Care homes open at the end of a run at a council rate of £420 (below cost), and their
    mean size (beds); no new home enters, so those left are those that did not close."""
    m, _ = _run("council.block_price_residential=420", "council.fee_uplift_residential=0",
                "market.home_entry_rate=0", *overrides, steps=steps)
    p = m.providers
    homes = p.active & (p.ptype == RESIDENTIAL)
    return int(homes.sum()), float(p.capacity[homes].mean())


def test_small_homes_left_with_council_funded_residents_close():
    """At a council rate below cost, the homes self-funders pass over (the small ones) are
    left with council-funded residents and, spreading a manager over few beds, cost most per
    bed: they close, the larger ones with self-funders stay (homes closing are smaller than
    those opening: Institute for Public Care 2017; the CMA finds homes serving mainly
    council-funded residents unsustainable at councils' rates).  Ablation: with payers alike
    in every home none close; without economies of scale (``market.home_manager_cost`` 0)
    fewer do."""
    both_n, both_beds = _homes_left()
    alike_n, alike_beds = _homes_left("market.self_funder_home_choice=0")
    flat_n, _ = _homes_left("market.home_manager_cost=0")
    none_n, _ = _homes_left("market.self_funder_home_choice=0", "market.home_manager_cost=0")
    assert alike_n == none_n                      # nobody closes where payers are alike
    assert both_n <= none_n - 4
    assert flat_n >= both_n + 2
    assert both_beds > alike_beds + 5             # the survivors are the larger homes


def test_care_home_money_balances():
    """Fees paid by councils and residents are what homes receive, with spend-downs and a
    premium under way (the model-wide identity of tests/test_invariants.py)."""
    m, ts = _run("users.capital_median=40000", "council.block_price_residential=450", steps=30)
    u, T = m.users, m.totals
    dp_held = u.dp_balance[u.active & (u.route == 1)].sum()
    received = (T["provider_revenue"] - T["self_spend"]) + T["family_received"] + T["planning"] \
        + T["brokerage"] + dp_held - T["dp_held_start"]
    carried = m.council.clawback_carry.sum() - T["clawback_carry_start"]
    assert T["council_net_spend"] - carried == pytest.approx(received, rel=1e-9)
    assert ts["care_home_spend_downs"].sum() > 0
    assert (ts["resident_contributions"] >= 0).all()
    assert (u.capital[u.active] >= 0).all()
    assert ts[["residential", "residential_self_funders", "care_home_beds"]].min().min() >= 0
    assert ts["care_home_occupancy"].between(0, 1).all()


# ---------------------------------------------------------------- entry

def _shrunk(*overrides, steps=52):
    """A council whose care homes lose a quarter of their beds at the start (say, rooms
    closed for refurbishment): residents are above the homes' usual occupancy."""
    m = CareMarketModel(compose("council.n_users=3000", f"steps={steps}", "policy.rollout=false",
                                "output.figures=false", *overrides))
    p = m.providers
    homes = p.active & (p.ptype == RESIDENTIAL)
    p.capacity[homes] *= 0.75
    return m.run(), int(homes.sum())


def test_care_homes_enter_when_beds_are_short():
    """Homes enter where residents are above their homes' usual occupancy and people seeking a
    place find none, and margins are good; with care-home entry off the council keeps the
    homes it had.  In the stationary baseline no bed is short, and no home enters."""
    m, before = _shrunk()
    off, _ = _shrunk("market.home_entry_rate=0")
    ts, ts_off = m.recorder.timeseries(m), off.recorder.timeseries(off)
    assert ts["care_home_unplaced"].sum() > 0
    homes = int((m.providers.active & (m.providers.ptype == RESIDENTIAL)).sum())
    homes_off = int((off.providers.active & (off.providers.ptype == RESIDENTIAL)).sum())
    assert homes_off <= before < homes
    assert ts["care_home_beds"].iloc[-1] > ts_off["care_home_beds"].iloc[-1]
    base, ts_base = _run()
    # (A small home left with council-funded residents may close in the baseline; its
    # residents find beds in the others, so that is no shortage either.)
    assert ts_base["provider_entries_residential"].sum() == 0
    assert (ts_base["care_home_beds"].diff().dropna() <= 0).all()
