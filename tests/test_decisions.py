"""The behavioural core (docs/odd.md §7): councils offer and push, people choose, budgets follow
need, the mix is a choice, outcomes are structural, against a stationary baseline and a
counterfactual.  Each mechanism is switched off (or pushed to an extreme) and the figure it
drives must move; none of the headline figures is a parameter."""

import numpy as np
import pytest

from sim import crn, passes
from sim.codes import DP, PA, TRAD, holds_pb
from sim.config import compose
from sim.counterfactual import effects, run_counterfactual
from sim.model import CareMarketModel
from sim.recording import summary

BASE = ("council.n_users=1500", "steps=60", "output.figures=false")


def model(*overrides, counterfactual=False):
    m = CareMarketModel(compose(*BASE, *overrides)).run()
    if counterfactual:
        m.recorder.effects = effects(m, run_counterfactual(m))
    return m


def ts_of(m):
    return m.recorder.timeseries(m)


# ---------------------------------------------------------------- stationary baseline

@pytest.mark.parametrize("seed", [0, 1])
def test_without_rollout_the_baseline_is_stationary_for_five_years(seed):
    """No rollout: people, need met, carers' strain, care-home residents (council-funded and
    self-funding) and council spend stay within 3% of where they start over five years (first
    and last year compared), and the self-funding share of residents within 3 percentage
    points (the start's estimate of its stationary value is ~2 points low).  A council of
    20,000: care homes enter and leave whole (a home is ~1% of the beds of a council of
    10,000, where a few closures more or fewer in five years move residents by 3%).  Homes
    do close (the council's £480 is below a small home's cost; some close for quality) and
    others open where beds are short (seed 0: 15 closures, 17 openings)."""
    m = CareMarketModel(compose("council.n_users=20000", "steps=260", "policy.rollout=false",
                                "output.figures=false", f"seed={seed}")).run()
    ts = ts_of(m)
    ts["need_met"] = 1 - ts["unmet_need_share"]
    ts["residents"] = ts["residential"] + ts["residential_self_funders"]
    for col in ("users", "need_met", "carer_strain_mean", "residents", "spend_total"):
        first, last = ts[col].iloc[:52].mean(), ts[col].iloc[-52:].mean()
        assert abs(last / first - 1) < 0.03, (col, first, last)
    share = ts["residential_self_funders"] / ts["residents"]
    assert abs(share.iloc[-52:].mean() - share.iloc[:52].mean()) < 0.03
    assert ts["provider_exits_residential"].sum() > 0


def test_care_homes_replace_closed_ones_where_beds_are_short():
    """Care homes' costs carry a normal return on capital, so they enter wherever beds are
    short and incumbents earn anything above it (``market.home_entry_margin`` 0).  Ablation:
    with the agencies' 5% hurdle instead, no home replaces the closed ones and residents
    fall (seed 0: -5.4% against -0.3%)."""
    def run(margin):
        m = CareMarketModel(compose("council.n_users=20000", "steps=260", "policy.rollout=false",
                                    "output.figures=false", "seed=0",
                                    f"market.home_entry_margin={margin}")).run()
        ts = ts_of(m)
        res = ts["residential"] + ts["residential_self_funders"]
        return ts["provider_entries_residential"].sum(), res.iloc[-52:].mean() / res.iloc[:52].mean()
    entries, kept = run(0.0)
    entries_off, kept_off = run(0.05)
    assert entries > 5 and entries_off == 0
    assert kept > 0.98 and kept_off < 0.97


def test_common_random_numbers_depend_only_on_their_key():
    u = crn.uniform(7, "shock", np.arange(5), 3)
    assert np.array_equal(u, crn.uniform(7, "shock", np.arange(5), 3))
    assert not np.array_equal(u, crn.uniform(7, "shock", np.arange(5), 4))
    assert not np.array_equal(u, crn.uniform(7, "burnout", np.arange(5), 3))
    assert not np.array_equal(u, crn.uniform(8, "shock", np.arange(5), 3))
    # Uniform on (0, 1): mean and spread of many draws.
    big = crn.uniform(1, "offer", np.arange(200_000), 1)
    assert 0 < big.min() and big.max() < 1
    assert abs(big.mean() - 0.5) < 0.005 and abs(big.std() - 12**-0.5) < 0.005


def test_the_compiled_common_random_numbers_equal_their_numpy_reference():
    """The compiled hash gives the numpy hash's draws bit for bit: one week for all or one
    week each, negative weeks (the burn-in) and uids beyond 32 bits included."""
    rng = np.random.default_rng(3)
    uid = np.r_[np.arange(50), rng.integers(0, 2**40, 500)]
    weeks = rng.integers(-30, 300, uid.size)
    for seed, stream, t in ((0, "shock", 5), (12345, "offer", -26), (7, "ras", weeks)):
        assert np.array_equal(crn.uniform(seed, stream, uid, t),
                              crn.uniform_numpy(seed, stream, uid, t))
    assert crn.uniform(1, "shock", np.empty(0, np.int64), 3).size == 0


# ---------------------------------------------------------------- counterfactual

def test_counterfactual_holds_the_same_people_and_a_null_policy_has_no_effect():
    """The counterfactual of a run without a rollout is the same run: every person is matched
    and no effect is measured.  With a rollout, the same people are still there to compare."""
    null = model("policy.rollout=false", counterfactual=True)
    e = null.recorder.effects
    assert e["people_compared"] > 1500
    assert e["effect_council_spend_total"] == 0
    assert e["worse_off_share_all_funded"] == 0 and e["qol_improved_share_all_funded"] == 0
    m = model(counterfactual=True)
    e2 = m.recorder.effects
    assert e2["people_compared"] >= 0.95 * e["people_compared"]
    assert e2["pb_movers_compared"] > 100
    e = e2
    assert e["effect_council_spend_total"] != 0


# ---------------------------------------------------------------- councils offer, pace, push

def test_uptake_is_not_a_schedule():
    """The PB share at the target date varies with the seed and with how people weigh
    change; the target only sets the pressure."""
    shares = [summary(model(f"seed={s}"))["pb_share_target_week"] for s in range(3)]
    assert np.std(shares) > 0.002
    reluctant = summary(model("behaviour.status_quo=0.3"))["pb_share_target_week"]
    assert reluctant < min(shares) - 0.03


def test_push_makes_rushed_and_unplanned_conversions_and_more_uptake():
    pushed = ts_of(model("council.planning_staff=1.5", "policy.target_enforcement=1.0"))
    unpushed = ts_of(model("council.planning_staff=1.5", "policy.target_enforcement=0.0"))
    assert unpushed["conversions_unplanned"].sum() == 0
    assert (unpushed["plan_quality_started"].dropna() == 1.0).all()
    assert pushed["conversions_unplanned"].sum() > 10
    assert pushed["plan_quality_started"].min() < 0.97
    assert pushed["pb_share"].iloc[-1] > unpushed["pb_share"].iloc[-1] + 0.02


def test_short_planning_capacity_shows_as_waits_and_a_queue():
    """Without push, fewer planners mean a longer queue and longer waits (never hidden)."""
    few = ts_of(model("council.planning_staff=1.0", "policy.target_enforcement=0.0"))
    many = ts_of(model("council.planning_staff=8.0", "policy.target_enforcement=0.0"))
    assert few["queue_length"].iloc[-1] > many["queue_length"].iloc[-1] + 20
    assert few["planning_wait_weeks"].iloc[-1] > many["planning_wait_weeks"].iloc[-1]
    assert few["conversions_planned"].sum() < many["conversions_planned"].sum()


def test_quick_fix_is_worse_for_the_right_reason():
    """Fewer planners and brokers: more unplanned conversions, and more people worse off
    against their own counterfactual; the waits are honest: a planned PB takes longer to
    reach and people converted without a plan had waited no less (the pooled mean can read
    shorter, as most quick-fix conversions skip the planner)."""
    pb = summary(model("scenario=personal_best_2010", counterfactual=True))
    qf = summary(model("scenario=quick_fix", counterfactual=True))
    assert qf["conversions_unplanned"] > pb["conversions_unplanned"]
    assert qf["worse_off_share"] > pb["worse_off_share"]
    assert qf["planning_wait_weeks_planned"] > pb["planning_wait_weeks_planned"]
    assert qf["planning_wait_weeks_unplanned"] >= pb["planning_wait_weeks_unplanned"]


def test_councils_differ_in_uptake_because_they_differ():
    spread = ("geography.n_councils=8", "council.n_users=1200", "geography.planning_sigma=0.6",
              "geography.commitment_sigma=0.6", "geography.brokerage_sigma=0.6")
    alike = ("geography.n_councils=8", "council.n_users=1200")
    sd_spread = summary(model(*spread))["pb_share_target_council_sd"]
    sd_alike = summary(model(*alike))["pb_share_target_council_sd"]
    assert sd_spread > 1.5 * sd_alike


# ---------------------------------------------------------------- people choose

def test_route_choice_follows_burden_and_help():
    """The direct-payment share of new PB holders falls when running one is harder, and
    people with a carer or more capability choose it more."""
    def dp_share(m):
        u = m.users
        new = u.active & holds_pb(u.route) & (u.converted_step > m.cfg.burn_in_weeks)
        return (u.route[new] == DP).mean(), new

    # Under the calibrated control a managed PB gives, few choose a direct payment; with less
    # control from a managed PB and a burden that weighs, the mechanism's direction is clear.
    weight = ("behaviour.dp_admin_burden=0.3", "behaviour.control_managed=0.3")
    easy, new = dp_share(m := model(*weight))
    hard, _ = dp_share(model(*weight, "behaviour.admin_dp_hours=12"))
    assert hard < easy - 0.1
    u = m.users
    dp = u.route == DP
    assert (dp & new & (u.carer >= 0)).sum() / (new & (u.carer >= 0)).sum() > \
        (dp & new & (u.carer < 0)).sum() / (new & (u.carer < 0)).sum()
    groups = ("older", "physical", "learning", "mental")
    able = dp_share(model(*weight, *(f"users.groups.{g}.capability_mean=0.9" for g in groups)))[0]
    unable = dp_share(model(*weight, *(f"users.groups.{g}.capability_mean=0.1" for g in groups)))[0]
    assert able > unable + 0.05


def test_people_move_back_when_the_burden_is_high():
    heavy = summary(model("behaviour.admin_dp_hours=15", "behaviour.admin_per_pa=4"))
    stuck = summary(model("behaviour.admin_dp_hours=15", "behaviour.admin_per_pa=4",
                          "behaviour.status_quo=3"))
    assert heavy["moves_back"] > 20
    assert stuck["moves_back"] < heavy["moves_back"] / 5


# ---------------------------------------------------------------- budgets from assessed need

# Equal prices everywhere (block = spot, no price noise or adjustment, no RAS error) and a
# market whose providers do not close on sustained losses.  Equal prices take away the
# surcharge block-contract agencies put on private buyers, so they win spot demand from the
# spot-only agencies, whose smoothed losses (alike, as demand is shared by free capacity) cross
# market.exit_margin in the same week: at seed 0, 12 of 20 agencies (8,000 of 29,600 units a
# week) closed in week 43 (week 48 without any rollout), and direct-payment holders, who buy
# at spot after the council's block call-offs, got 74-97% of their agency hours for about 15
# weeks.  Those undelivered hours showed as a 2.1 pp "market" saving: a shortage, not a
# substitution, and one the setup itself caused.  (Closing for want of cash still applies.)
# Prices held equal and still: no adjustment to demand and no weekly step of list prices
# (``market.price_step_max`` 0: otherwise cost recovery moves spot prices away from the
# council's rate, a price gap the market makes; -0.9 pp of "saving" at the session-8
# calibration).
EQUAL_PRICES = ("market.price_adjust=0", "market.price_step_max=0",
                "market.spot_price_agency=15", "council.block_price_agency=15",
                "market.spot_price_day=9", "council.block_price_day=9",
                "policy.ras_noise_sd=0", f"policy.ras_social_weight={9 / 15}",
                "council.brokers=0", "market.initial_price_sd=0", "market.exit_margin=10")
NO_SUBSTITUTION = ("behaviour.pa_max_hours=0", "behaviour.community_max_hours=0",
                   "policy.family_pay_rule=none", *EQUAL_PRICES)


def test_without_substitution_or_price_gaps_there_is_no_saving():
    s = summary(model(*NO_SUBSTITUTION))
    assert abs(s["saving_total_pct"]) < 1.0
    assert abs(s["package_saving_pct_mean"]) < 1.0
    # The same market with substitution open: planned holders' new mixes save.
    assert summary(model(*EQUAL_PRICES))["saving_total_pct"] > 5.0


def test_the_saving_decomposes_into_its_parts():
    s = summary(model())
    parts = sum(s[f"saving_{k}_pct"] for k in ("prices", "substitution", "shortfall", "market",
                                              "brokerage"))
    assert parts == pytest.approx(s["saving_total_pct"], abs=1e-6)
    assert s["saving_substitution_pct"] > 2      # planned holders substitute
    assert s["saving_prices_pct"] < 0            # spot prices above the council's block rates


def test_budgets_come_from_points_at_the_councils_price():
    # The RAS figure itself (sign-off, which raises planned budgets, has its own test).
    m = model("policy.signoff_margin=0")
    u = m.users
    pb = np.flatnonzero(u.active & holds_pb(u.route))
    from sim.planning import ras_points
    pts = ras_points(m.cfg, u.assessed[pb], u.pc_share[pb])
    implied = u.budget[pb] / (pts * u.ras_error[pb])
    assert np.allclose(implied, m.council.price_per_point[u.council[pb]])
    cheaper = model("policy.ras_affordability=0.8")
    assert cheaper.council.price_per_point[0] == pytest.approx(0.8 * m.council.price_per_point[0])


# ---------------------------------------------------------------- the mix is a choice

def _planned_mixes(m, route=None):
    u = m.users
    held = holds_pb(u.route) if route is None else u.route == route
    rows = np.flatnonzero(u.active & held & (u.plan_quality >= 1) & (u.need > 5))
    return u.mix[:, rows]


def test_planned_holders_mix_options_and_the_mix_moves_with_prices():
    """Planned holders mix several options (not corner solutions: the ablation with almost
    no diminishing returns gives fewer mixes), and dearer PAs cut PAs' share of the mix of
    the planned direct-payment holders, the only people who can employ one
    (``policy.pa_needs_direct_payment``): measured over all PB holders the response is
    diluted by how many hold a direct payment in each run, which differs between two runs by
    more than the response (issue 12 review, session 8: -1.4 pp on average over 10 seeds,
    -2.1 to -10.3 pp among direct-payment holders in every seed)."""
    base = _planned_mixes(model())
    used = (base > 0.25).sum(axis=0)
    assert (used >= 3).mean() > 0.3
    corner = _planned_mixes(model("behaviour.mix_satiation=10"))
    assert ((corner > 0.25).sum(axis=0) >= 3).mean() < (used >= 3).mean()
    dp = _planned_mixes(model(), DP)
    dear_pa = _planned_mixes(model("market.price_pa=14"), DP)
    assert dear_pa[PA].sum() / dear_pa.sum() < dp[PA].sum() / dp.sum() - 0.02


# ---------------------------------------------------------------- structural outcomes

def test_burden_falls_with_capability_and_help():
    from sim.config import BehaviourConfig, MarketConfig

    b, mk = BehaviourConfig(), MarketConfig()
    args = dict(route=np.full(4, DP), plan_quality=1.0, pa_used=10.0, behaviour=b, market=mk)
    burden = passes.expected_burden(capability=np.array([0.1, 0.9, 0.1, 0.1]),
                                    spare=np.array([0, 0, 10, 0]),
                                    brokered=np.array([False, False, False, True]), **args)
    assert burden[1] < burden[0] and burden[2] < burden[0] and burden[3] < burden[0]
    unplanned = passes.expected_burden(capability=np.array([0.1]), spare=np.array([0.0]),
                                       brokered=np.array([False]),
                                       **{**args, "route": np.full(1, DP), "plan_quality": 0.0})
    assert unplanned[0] > burden[0]
    assert passes.expected_burden(capability=np.array([0.1]), spare=np.array([0.0]),
                                  brokered=np.array([False]),
                                  **{**args, "route": np.full(1, TRAD)})[0] == 0


def test_outcomes_differ_within_a_route_by_circumstance():
    """Within unplanned conversions, who is worse off depends on circumstance: neither nobody
    nor everybody; and direct-payment holders who can manage bear less burden."""
    m = model("council.planning_staff=0.5", "policy.pb_target=0.5", counterfactual=True)
    s = summary(m)
    assert 0.05 < s["worse_off_share_unplanned"] < 0.95
    groups = ("older", "physical", "learning", "mental")
    burden = {cap: ts_of(model("council.planning_staff=0.5", "policy.pb_target=0.5",
                               *(f"users.groups.{g}.capability_mean={cap}" for g in groups)))
              ["burden_mean_dp"].iloc[-10:].mean() for cap in (0.1, 0.9)}
    assert burden[0.9] < 0.8 * burden[0.1]


# ---------------------------------------------------------------- family care

def test_paying_a_resident_carer_replaces_unpaid_care():
    """A carer living with the person is partly paid for care they gave unpaid: those hours
    add no care, so an added family hour costs more and fewer are bought."""
    kw = ("policy.family_pay_rule=any", "carers.same_household_prob=1.0")
    replace = model(*kw, "carers.replace_share_resident=0.5")
    add = model(*kw, "carers.replace_share_resident=0.0")
    c1, c2 = replace.carers, add.carers
    paid1, paid2 = c1.paid[c1.active].sum(), c2.paid[c2.active].sum()
    assert paid1 > 0 and paid2 > 0
    assert c1.replaced[c1.active].sum() > 0.3 * paid1
    assert c2.replaced[c2.active].sum() == 0
    # Replaced hours add no care: delivered family hours are the paid hours less replaced.
    u, act = replace.users, np.flatnonzero(c1.active)
    assert np.allclose(u.delivered[4, c1.user[act]], c1.paid[act] - c1.replaced[act])
    added = lambda m: m.users.delivered[4, m.users.active].sum()  # noqa: E731
    assert added(replace) < added(add)


# ---------------------------------------------------------------- eligibility bands

def test_an_overspending_council_raises_its_band_and_reviews_apply_it():
    tight = model("council.budget_headroom=-0.2", "steps=110")
    ts = ts_of(tight)
    assert ts["eligibility_band"].iloc[-1] > ts["eligibility_band"].iloc[0]
    assert ts["lost_eligibility"].sum() > 0 and ts["turned_away"].sum() > 0
    capped = ts_of(model("council.budget_headroom=-0.2", "steps=110",
                         "council.eligibility_band_max=moderate"))
    assert capped["lost_eligibility"].sum() == 0
    assert (capped["eligibility_band"] == 1).all()


# ---------------------------------------------------------------- outputs

def test_outputs_by_group_route_sizes_and_councils():
    s = summary(model(counterfactual=True))
    deciles = [s[f"pb_size_p{10 * k}"] for k in range(1, 10)]
    assert deciles == sorted(deciles) and deciles[0] > 0
    for k in ("pb_size_share_under_1k", "pb_size_share_10k_plus", "worse_off_share",
              "qol_improved_share", "choice_improved_share", "worse_off_share_planned"):
        assert s[k] is None or 0 <= s[k] <= 1, k
    groups = ("older", "physical", "learning", "mental")
    routes = ("traditional", "direct_payment", "managed_pb")
    assert sum(s[f"people_{g}_{r}"] for g in groups for r in routes) > 1000
    for g in groups:
        assert s[f"qol_mean_{g}_traditional"] is not None


# ---------------------------------------------------------------- sign-off of support plans

def test_sign_off_funds_plans_above_the_indicative_budget_and_fewer_end_up_worse_off():
    """With sign-off off (margin 0) the RAS figure is final: planned holders whose plan costs
    more go short, and more of them end worse off than before; with sign-off, budgets of
    planned holders rise (never above what the plan costs), unplanned budgets do not."""
    sc = ("scenario=making_it_personal", "geography.n_councils=4", "output.figures=false")
    off = CareMarketModel(compose(*sc, "policy.signoff_margin=0")).run()
    on = CareMarketModel(compose(*sc, "policy.signoff_margin=0.3")).run()
    s_off, s_on = summary(off), summary(on)
    assert s_on["worse_off_share_before_after"] < s_off["worse_off_share_before_after"] - 0.03
    assert s_on["package_saving_pct_mean"] < s_off["package_saving_pct_mean"]
    # Budgets rise only up to what the plan costs: nobody under sign-off holds more than
    # their plan's cost unless the RAS gave it (then sign-off did not touch them).
    u = on.users
    pb = np.flatnonzero(u.active & holds_pb(u.route) & (u.plan_quality > 0))
    short_off = (off.users.c_bought < off.users.c_wanted - 1e-9)[
        np.flatnonzero(off.users.active & holds_pb(off.users.route))].mean()
    short_on = (u.c_bought[pb] < u.c_wanted[pb] - 1e-9).mean()
    assert short_on < short_off
