"""Configuration schema: the one place every parameter is declared.

Each field carries its unit, its source and its allowed range in dataclass metadata.  Hydra
uses the dataclasses as a structured-config schema (so an unknown key or a wrong type is
rejected by OmegaConf before anything runs), ``validate`` checks ranges and choices with a
message naming the key, and ``docs/parameters.md`` is generated from the same metadata, so the
documentation cannot drift from the code.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

ASSUMPTION = "assumption"
DEMOS_2008 = "Demos, Making it Personal (2008), as reported in the press at publication"
WSX_2007 = "West Sussex individual budget pilot, N. Golding, Community Care (2007)"
DEMOS_2010 = "C. Wood, Personal Best, Demos (15 November 2010)"
NMW_2010 = "UK National Minimum Wage, adult rate from Oct 2010 (Low Pay Commission)"
PSSRU_2010 = "PSSRU Unit Costs of Health and Social Care 2010"
NHSIC_2010 = "NHS Information Centre, Community Care Statistics 2009-10 (RAP)"


def P(default: Any, unit: str, source: str = ASSUMPTION, lo=None, hi=None, choices=None):
    """A parameter: default plus the metadata used by validation and the docs."""
    meta = {"unit": unit, "source": source, "lo": lo, "hi": hi, "choices": choices}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default.copy(), metadata=meta)
    return field(default=default, metadata=meta)


SHARE = "share (0-1)"


@dataclass
class GroupConfig:
    """One user group: its need distribution and demographic rates."""

    share: float = P(0.25, SHARE, NHSIC_2010, 0, 1)
    need_mean_hours: float = P(12.0, "hours/week of eligible need", ASSUMPTION, 0.1, 168)
    need_cv: float = P(0.8, "coefficient of variation", ASSUMPTION, 0.01, 5)
    personal_care_share: float = P(0.7, SHARE, ASSUMPTION, 0, 1)
    carer_prob: float = P(0.5, SHARE, ASSUMPTION, 0, 1)
    exit_rate: float = P(0.2, "per year (death, moving away)", ASSUMPTION, 0, 5)
    residential_rate: float = P(0.05, "per year, at need above threshold", ASSUMPTION, 0, 5)
    need_growth: float = P(0.05, "per year, proportional drift of need", ASSUMPTION, -1, 2)


@dataclass
class UserGroups:
    older: GroupConfig = field(default_factory=lambda: GroupConfig(
        share=0.62, need_mean_hours=11.0, need_cv=0.9, personal_care_share=0.8,
        carer_prob=0.5, exit_rate=0.25, residential_rate=0.12, need_growth=0.08))
    physical: GroupConfig = field(default_factory=lambda: GroupConfig(
        share=0.17, need_mean_hours=14.0, need_cv=0.9, personal_care_share=0.7,
        carer_prob=0.55, exit_rate=0.08, residential_rate=0.02, need_growth=0.03))
    learning: GroupConfig = field(default_factory=lambda: GroupConfig(
        share=0.12, need_mean_hours=22.0, need_cv=0.8, personal_care_share=0.35,
        carer_prob=0.7, exit_rate=0.04, residential_rate=0.02, need_growth=0.01))
    mental: GroupConfig = field(default_factory=lambda: GroupConfig(
        share=0.09, need_mean_hours=7.0, need_cv=0.8, personal_care_share=0.3,
        carer_prob=0.4, exit_rate=0.10, residential_rate=0.01, need_growth=0.0))


@dataclass
class UsersConfig:
    groups: UserGroups = field(default_factory=UserGroups)
    need_scale: float = P(1.0, "multiplier on every group's mean need", ASSUMPTION, 0.1, 10)
    self_funder_ratio: float = P(0.3, "self-funders per council-funded community user", ASSUMPTION, 0, 5)
    residential_share: float = P(0.25, "share of council-funded users in residential care at start",
                                 NHSIC_2010, 0, 0.9)
    residential_need_threshold: float = P(30.0, "hours/week of total need", ASSUMPTION, 0, 168)
    fit_alpha: float = P(2.0, "Beta(a,b) a for preference fit", ASSUMPTION, 0.1, 50)
    fit_beta: float = P(2.0, "Beta(a,b) b for preference fit", ASSUMPTION, 0.1, 50)
    autonomy_alpha: float = P(3.0, "Beta(a,b) a for wanting control of one's care", ASSUMPTION,
                              0.1, 50)
    autonomy_beta: float = P(1.5, "Beta(a,b) b for wanting control of one's care", ASSUMPTION,
                             0.1, 50)
    need_shock_rate: float = P(0.15, "per year, chance of a step increase in need", ASSUMPTION, 0, 5)
    need_shock_size: float = P(0.25, "proportional step increase in need", ASSUMPTION, 0, 5)
    pc_share_sd: float = P(0.1, "sd of a person's personal-care share around their group's",
                           ASSUMPTION, 0, 1)
    pc_share_min: float = P(0.05, "lowest personal-care share of need", ASSUMPTION, 0, 1)
    pc_share_max: float = P(0.95, "highest personal-care share of need", ASSUMPTION, 0, 1)
    residential_exit_mult: float = P(2.0, "exit hazard in a care home / the group's hazard at home",
                                     ASSUMPTION, 0, 20)


@dataclass
class CouncilConfig:
    name: str = P("Midshire", "label")
    n_users: int = P(10_000, "council-funded users (community + residential) at start", NHSIC_2010, 1,
                     10_000_000)
    budget_headroom: float = P(0.02, "budget envelope above the starting run-rate, share", ASSUMPTION,
                               -0.5, 2)
    eligibility_threshold: float = P(2.0, "hours/week of need below which nobody is eligible",
                                     ASSUMPTION, 0, 168)
    eligibility_max: float = P(20.0, "hours/week of need: the highest a council raises its "
                               "eligibility threshold under budget pressure", ASSUMPTION, 0, 168)
    eligibility_response: float = P(0.25, "hours/week the threshold rises per week of overspend",
                                    ASSUMPTION, 0, 10)
    planning_staff: float = P(6.0, "FTE support planners", ASSUMPTION, 0, 100_000)
    planner_hours_per_plan: float = P(20.0, "staff hours per support plan", ASSUMPTION, 0.1, 1000)
    planner_hours_per_week: float = P(30.0, "productive hours per FTE per week", ASSUMPTION, 1, 80)
    planning_duration_weeks: int = P(10, "weeks from start to finish of a plan (2-3 months)", WSX_2007,
                                     1, 104)
    planner_cost_per_week: float = P(700.0, "£ per FTE per week incl. on-costs", PSSRU_2010, 0, 1e5)
    brokerage_caseload: int = P(400, "PB holders one broker/advocate can support", ASSUMPTION, 0,
                                1_000_000)
    brokers: float = P(3.0, "FTE brokers/advocates", ASSUMPTION, 0, 100_000)
    broker_cost_per_week: float = P(650.0, "£ per FTE per week", PSSRU_2010, 0, 1e5)
    review_interval_weeks: int = P(52, "weeks between reviews of need and budget", ASSUMPTION, 1, 520)
    block_price_agency: float = P(13.5, "£/hour", PSSRU_2010, 0, 1000)
    block_price_day: float = P(8.0, "£/hour of day service", PSSRU_2010, 0, 1000)
    block_price_residential: float = P(480.0, "£/bed-week", PSSRU_2010, 0, 10_000)
    block_share: float = P(0.8, "share of traditional agency/day hours under block contract",
                           ASSUMPTION, 0, 1)
    block_providers: int = P(6, "fewest agencies/day services holding a block contract (more "
                             "sign one when these cannot carry the volume)", ASSUMPTION, 0, 10_000)
    block_max_load: float = P(0.8, "largest share of a provider's capacity a block contract takes",
                              ASSUMPTION, 0.05, 1)
    block_guarantee: float = P(0.9, "share of contracted volume paid even if unused", ASSUMPTION, 0, 1)
    block_duration_weeks: int = P(104, "weeks a block contract runs before renewal", ASSUMPTION, 1, 1040)
    fee_uplift: float = P(0.01, "annual increase of block fees", ASSUMPTION, -0.5, 1)
    spend_smoothing: float = P(0.1, "weight of the latest week in the council's smoothed spend "
                               "(exponential moving average)", ASSUMPTION, 0.001, 1)
    underspend_band: float = P(0.95, "smoothed spend / budget below which eligibility relaxes",
                               ASSUMPTION, 0, 1)


@dataclass
class PolicyConfig:
    pb_share_start: float = P(0.13, "share of council-funded community users on a PB at start",
                              DEMOS_2010, 0, 1)
    pb_target: float = P(0.30, "target PB share", DEMOS_2010, 0, 1)
    rollout_months: float = P(12.0, "months to reach the target (Apr 2010 -> Apr 2011)", DEMOS_2010,
                              0.25, 600)
    target_enforcement: float = P(1.0, "share of a missed target converted without planning",
                                  ASSUMPTION, 0, 1)
    planned_share_start: float = P(0.7, "share of existing PB holders who had support planning",
                                   ASSUMPTION, 0, 1)
    dp_share: float = P(0.6, "share of PB holders taking a direct payment", ASSUMPTION, 0, 1)
    ras_prices_intensive_care: bool = P(
        True, "the RAS budget includes the premium of intensive agency care (double-handed "
        "visits, waking nights); if false, every assessed hour is priced at the standard rate, "
        "as a points-based RAS does", ASSUMPTION)
    ras_generosity: float = P(1.0, "budget / traditional cost of the same assessed need",
                              ASSUMPTION, 0.1, 3)
    block_wind_down: float = P(0.5, "share of a block's surplus volume removed per year", ASSUMPTION,
                               0, 52)
    renew_blocks: bool = P(True, "block contracts are renewed at expiry", ASSUMPTION)
    pa_needs_direct_payment: bool = P(
        True, "only a direct payment can employ a personal assistant; a council-managed PB "
        "buys from providers", "assumption (usual council practice: the PA's employer is the DP "
        "holder)")
    family_pay_rule: str = P("non_resident", "who of the family may be paid from a DP", ASSUMPTION,
                             choices=["none", "non_resident", "any"])
    clawback_interval_weeks: int = P(13, "weeks between DP clawbacks", ASSUMPTION, 1, 520)
    clawback_buffer_weeks: float = P(4.0, "weeks of budget a DP holder may keep", ASSUMPTION, 0, 520)


@dataclass
class BehaviourConfig:
    """Behavioural parameters: how people and carers choose (free parameters for calibration)."""

    price_sensitivity: float = P(0.5, "utility per (price / agency price)", ASSUMPTION, 0, 10)
    fit_threshold: float = P(0.45, "minimum fit for a planned user to accept an option", ASSUMPTION,
                             0, 1)
    pa_max_hours: float = P(168.0, "hours/week of support one person can get from personal "
                            "assistants they recruit and employ themselves (cover for holidays, "
                            "sickness and nights is hard to find)", ASSUMPTION, 0, 168)
    community_max_hours: float = P(10.0, "hours/week of community activity a user can use",
                                   WSX_2007, 0, 168)
    unplanned_dp_rebuy: float = P(1.0, "share of an unplanned user's package re-bought as before",
                                  DEMOS_2008, 0, 1)
    w_met: float = P(0.5, "QoL weight of need met", ASSUMPTION, 0, 1)
    w_fit: float = P(0.3, "QoL weight of fit to preferences", ASSUMPTION, 0, 1)
    w_control: float = P(0.2, "QoL weight of control", ASSUMPTION, 0, 1)
    control_traditional: float = P(0.2, "control score, council-managed", ASSUMPTION, 0, 1)
    control_managed: float = P(0.5, "control score, managed PB", ASSUMPTION, 0, 1)
    control_dp: float = P(0.85, "control score, direct payment", ASSUMPTION, 0, 1)
    dp_admin_burden: float = P(0.15, "QoL loss from running a DP alone", DEMOS_2008, 0, 1)
    unplanned_burden_mult: float = P(1.5, "burden multiplier without support planning", DEMOS_2008,
                                     0, 10)
    disruption_penalty: float = P(0.1, "QoL loss when the main provider exits", ASSUMPTION, 0, 1)
    disruption_weeks: int = P(8, "weeks the disruption lasts", ASSUMPTION, 0, 104)
    outcome_threshold: float = P(0.02, "QoL/choice change counted as better or worse", ASSUMPTION,
                                 0, 1)
    helped_burden_share: float = P(0.3, "share of a DP's admin burden left when a family carer "
                                   "or broker helps", ASSUMPTION, 0, 1)
    choice_control_weight: float = P(0.8, "weight of felt control in choice/control (the rest: "
                                     "variety of support)", ASSUMPTION, 0, 1)
    burden_aversion: float = P(2.0, "felt choice lost per unit of admin burden, for someone who "
                               "wants no control (scaled by 1 - autonomy)", ASSUMPTION, 0, 20)
    variety_bonus: float = P(0.2, "choice/control from using variety_options + 1 kinds of "
                             "support (linear from one kind)", ASSUMPTION, 0, 1)
    variety_options: int = P(3, "extra kinds of support beyond which variety adds no choice",
                             ASSUMPTION, 1, 4)


@dataclass
class CarersConfig:
    available_hours_mean: float = P(20.0, "hours/week a carer can give", ASSUMPTION, 0, 168)
    informal_share: float = P(0.5, "share of available hours given unpaid", ASSUMPTION, 0, 1)
    same_household_prob: float = P(0.5, SHARE, ASSUMPTION, 0, 1)
    family_rate: float = P(8.0, "£/hour paid to family from a DP", ASSUMPTION, 0, 100)
    paid_extra_share: float = P(0.6, "share of spare hours a paid carer adds", ASSUMPTION, 0, 1)
    strain_rate: float = P(0.02, "strain change per week per unit of excess load", ASSUMPTION, 0, 1)
    strain_recovery_load: float = P(0.5, "load (hours/available) at which strain is stable",
                                    ASSUMPTION, 0, 5)
    respite_relief: float = P(0.01, "strain relief per week from respite_hours of day/community "
                              "support", ASSUMPTION, 0, 1)
    respite_hours: float = P(10.0, "hours/week of day/community support giving respite_relief",
                             ASSUMPTION, 0.1, 168)
    payment_relief: float = P(0.3, "share of strain from paid hours relieved by pay", ASSUMPTION, 0, 1)
    burnout_threshold: float = P(0.8, "strain above which burnout can occur", ASSUMPTION, 0, 1)
    burnout_hazard: float = P(0.05, "weekly burnout probability at maximum strain", ASSUMPTION, 0, 1)
    available_shape: float = P(4.0, "gamma shape of the hours a carer can give (mean "
                               "available_hours_mean)", ASSUMPTION, 0.1, 100)
    informal_beta: float = P(4.0, "Beta b of the unpaid share of available hours (a set so the "
                             "mean is informal_share)", ASSUMPTION, 0.1, 100)
    strain_start_mean: float = P(0.35, "carers' mean strain at start (0-1)", ASSUMPTION, 0, 1)
    strain_start_sd: float = P(0.15, "sd of carers' strain at start", ASSUMPTION, 0, 1)
    strain_start_max: float = P(0.9, "highest strain at start", ASSUMPTION, 0, 1)


@dataclass
class MarketConfig:
    spot_price_agency: float = P(15.0, "£/hour at start", PSSRU_2010, 0, 1000)
    spot_price_day: float = P(9.0, "£/hour at start", PSSRU_2010, 0, 1000)
    price_pa: float = P(10.0, "£/hour at start", PSSRU_2010, 0, 1000)
    price_community: float = P(4.0, "£/hour at start", ASSUMPTION, 0, 1000)
    wage_floor: float = P(5.93, "£/hour", NMW_2010, 0, 1000)
    wage: float = P(6.5, "£/hour care-worker wage at start", ASSUMPTION, 0, 1000)
    on_cost: float = P(1.3, "labour cost / wage (NI, holiday, training)", PSSRU_2010, 1, 5)
    travel_factor_agency: float = P(1.3, "paid hours per billable agency hour (travel)", ASSUMPTION,
                                    1, 5)
    intensive_threshold: float = P(21.0, "agency/PA hours/week above which care is intensive",
                                   ASSUMPTION, 0, 168)
    agency_intensive_factor: float = P(1.8, "staff-hours per intensive agency hour (double-up, "
                                       "waking nights)", ASSUMPTION, 1, 5)
    pa_intensive_factor: float = P(1.0, "staff-hours per intensive PA hour (sleep-in, live-in)",
                                   ASSUMPTION, 0.2, 5)
    labour_day: float = P(0.5, "staff hours per day-service client hour", ASSUMPTION, 0, 10)
    labour_community: float = P(0.15, "paid staff hours per community-activity hour", ASSUMPTION,
                                0, 10)
    labour_residential: float = P(30.0, "staff hours per bed-week", ASSUMPTION, 0, 168)
    labour_fixed_share: float = P(0.5, "share of staff hours paid whether or not care is delivered",
                                  ASSUMPTION, 0, 1)
    overhead_share: float = P(0.1, "weekly overhead / (start capacity x start price)", ASSUMPTION,
                              0, 5)
    cash_weeks: float = P(8.0, "cash reserve at start in weeks of costs", ASSUMPTION, 0, 520)
    overdraft_weeks: float = P(4.0, "weeks of costs of negative cash tolerated before exit",
                               ASSUMPTION, 0, 520)
    price_adjust: float = P(0.01, "price change per week per unit of utilisation gap", ASSUMPTION,
                            0, 1)
    target_utilisation: float = P(0.85, SHARE, ASSUMPTION, 0.05, 1)
    staff_adjust: float = P(0.05, "share of the staffing gap closed per week", ASSUMPTION, 0, 1)
    capacity_slack: float = P(0.15, "staffed hours above expected demand", ASSUMPTION, 0, 5)
    price_choice_beta: float = P(4.0, "logit weight on relative price in spot choice", ASSUMPTION,
                                 0, 100)
    labour_pool_slack: float = P(0.1, "care-worker hours available above starting staffing",
                                 ASSUMPTION, 0, 10)
    labour_growth: float = P(0.02, "annual growth of the care-worker pool", ASSUMPTION, -1, 1)
    wage_pressure: float = P(0.5, "wage rise per unit of pool tightness above wage_knee",
                             ASSUMPTION, 0, 20)
    wage_knee: float = P(0.95, "pool tightness (staff used / pool) above which wages rise",
                         ASSUMPTION, 0, 5)
    demand_smoothing: float = P(0.1, "weight of the latest week in a provider's smoothed demand",
                                ASSUMPTION, 0.001, 1)
    price_step_max: float = P(0.05, "largest weekly price change, share of the price", ASSUMPTION,
                              0, 1)
    initial_price_sd: float = P(0.05, "sd of starting prices around the market price, share",
                                ASSUMPTION, 0, 1)
    initial_size_concentration: float = P(2.0, "Dirichlet concentration of starting provider "
                                          "sizes in a market (lower: more unequal)", ASSUMPTION,
                                          0.01, 1000)
    initial_pa_count: float = P(3.0, "personal assistants per area before anyone buys one",
                                ASSUMPTION, 0, 1000)
    entrant_size_min: float = P(0.3, "smallest entrant, share of a typical provider's size",
                                ASSUMPTION, 0.01, 10)
    entrant_size_max: float = P(0.7, "largest entrant, share of a typical provider's size",
                                ASSUMPTION, 0.01, 10)
    entrant_price_sd: float = P(0.03, "sd of an entrant's price around the market price, share",
                                ASSUMPTION, 0, 1)
    entrant_cash_share: float = P(0.5, "an entrant's cash reserve / an incumbent's at start",
                                  ASSUMPTION, 0, 10)
    entry_margin: float = P(0.05, "market margin above which providers enter", ASSUMPTION, -1, 1)
    entry_rate: float = P(0.05, "entrants per week per typical provider's worth of excess demand",
                          ASSUMPTION, 0, 100)
    pa_entry_rate: float = P(0.5, "new personal assistants per week per PA's worth of excess "
                             "demand (individuals respond faster than firms)", ASSUMPTION, 0, 100)
    pa_hours: float = P(25.0, "hours/week one personal assistant offers", ASSUMPTION, 1, 80)
    agency_hours_mean: float = P(1500.0, "staffed hours/week of a typical agency", ASSUMPTION, 1, 1e6)
    day_hours_mean: float = P(800.0, "hours/week of a typical day service", ASSUMPTION, 1, 1e6)
    community_hours_mean: float = P(300.0, "hours/week of a community organisation", ASSUMPTION, 1, 1e6)
    beds_mean: float = P(40.0, "beds of a typical care home", ASSUMPTION, 1, 10_000)


@dataclass
class GeographyConfig:
    n_councils: int = P(1, "councils sharing the market", ASSUMPTION, 1, 1000)
    size_sigma: float = P(0.0, "lognormal sigma of council size around council.n_users",
                          ASSUMPTION, 0, 5)
    budget_sigma: float = P(0.0, "lognormal sigma of budget per head between councils", ASSUMPTION,
                            0, 5)
    planning_sigma: float = P(0.0, "lognormal sigma of planning capacity between councils",
                              ASSUMPTION, 0, 5)
    uptake_sigma: float = P(0.0, "sd of starting PB share between councils", ASSUMPTION, 0, 1)
    neighbour_radius: float = P(0.2, "radius of the unit-square council adjacency graph", ASSUMPTION,
                                0, 2)
    multi_council_share: float = P(0.3, "share of agencies also serving neighbouring councils",
                                   ASSUMPTION, 0, 1)


@dataclass
class OutputConfig:
    figures: bool = P(True, "write PNG figures", ASSUMPTION)
    panel_size: int = P(0, "users sampled into an agent panel each step (0 = none)", ASSUMPTION, 0,
                        100_000)


@dataclass
class DesignConfig:
    """A row of an experimental design (CSV of dotted keys) applied on top of the config;
    used by sensitivity analysis to run arbitrary points through the same sweep machinery."""

    path: str = P("", "CSV file of a design (empty = none)")
    row: int = P(-1, "row of the design to apply", ASSUMPTION, -1, 10**9)


@dataclass
class SimConfig:
    seed: int = P(0, "random seed", ASSUMPTION, 0, 2**32 - 1)
    steps: int = P(156, "weeks simulated", ASSUMPTION, 1, 5200)
    start_date: str = P("2010-04-05", "ISO date of step 1 (week start)", DEMOS_2010)
    scenario: str = P("default", "label")
    replicates: int = P(1, "runs per sweep job, with seeds seed..seed+replicates-1 (multirun "
                        "only; amortises the launcher's per-job cost for short runs)",
                        ASSUMPTION, 1, 10_000)
    council: CouncilConfig = field(default_factory=CouncilConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    users: UsersConfig = field(default_factory=UsersConfig)
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    carers: CarersConfig = field(default_factory=CarersConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    geography: GeographyConfig = field(default_factory=GeographyConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    design: DesignConfig = field(default_factory=DesignConfig)


class ConfigError(ValueError):
    """A configuration value outside what the model allows; the message names key and range."""


def _float_fields(cfg):
    """Whole numbers given for float fields stored as floats, as OmegaConf would."""
    stack = [cfg]
    while stack:
        obj = stack.pop()
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                stack.append(value)
            elif f.type == "float" and type(value) is int:
                setattr(obj, f.name, float(value))
    return cfg


def _walk(obj, prefix=""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _walk(value, key + ".")
        else:
            yield key, f, value


_TYPES = {"bool": (bool,), "int": (int,), "float": (float, int), "str": (str,)}


def validate(cfg: SimConfig) -> SimConfig:
    """Check every value against its declared type and range; raise ConfigError naming the
    first bad key.  (OmegaConf checks types on the way in; this also catches a field set
    afterwards on a ``SimConfig`` object.)"""
    errors = []
    for key, f, value in _walk(cfg):
        allowed = _TYPES[f.type]
        if not isinstance(value, allowed) or (f.type != "bool" and isinstance(value, bool)):
            errors.append(f"{key}={value!r} has type {type(value).__name__}; expected {f.type}")
            continue
        m = f.metadata
        lo, hi, choices = m.get("lo"), m.get("hi"), m.get("choices")
        if choices is not None and value not in choices:
            errors.append(f"{key}={value!r} is not allowed; choose one of {choices}")
        if isinstance(value, bool):
            continue
        if lo is not None and value < lo or hi is not None and value > hi:
            errors.append(f"{key}={value!r} is out of range; allowed [{lo}, {hi}] ({m['unit']})")
    if errors:  # the checks across fields below need values of the right types
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    shares = sum(getattr(cfg.users.groups, g).share for g in GROUPS)
    if abs(shares - 1.0) > 1e-6:
        errors.append(f"users.groups.*.share sum to {shares:.4f}; they must sum to 1")
    b = cfg.behaviour
    if abs(b.w_met + b.w_fit + b.w_control - 1.0) > 1e-6:
        errors.append("behaviour.w_met + w_fit + w_control must sum to 1, got "
                      f"{b.w_met + b.w_fit + b.w_control:.4f}")
    if cfg.policy.pb_target < cfg.policy.pb_share_start:
        errors.append(f"policy.pb_target={cfg.policy.pb_target} is below policy.pb_share_start="
                      f"{cfg.policy.pb_share_start}; a target must not be below the start")
    for lo_key, hi_key in (("users.pc_share_min", "users.pc_share_max"),
                           ("market.entrant_size_min", "market.entrant_size_max")):
        lo, hi = (_get(cfg, k) for k in (lo_key, hi_key))
        if lo > hi:
            errors.append(f"{lo_key}={lo} is above {hi_key}={hi}; the minimum must not exceed "
                          "the maximum")
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    return cfg


def _get(cfg, key: str):
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


GROUPS = ("older", "physical", "learning", "mental")


def _design_row(cfg) -> dict:
    """The overrides in row ``design.row`` of the CSV at ``design.path`` (none if unset)."""
    path, row = cfg.design.path, cfg.design.row
    if not path:
        return {}
    import pandas as pd

    try:
        design = pd.read_csv(path)
    except OSError as exc:
        raise ConfigError(f"design.path={path!r} cannot be read: {exc}") from None
    if not 0 <= row < len(design):
        raise ConfigError(f"design.row={row} is out of range; allowed [0, {len(design) - 1}]")
    return {k: v.item() if hasattr(v, "item") else v for k, v in design.iloc[row].items()}


def to_config(cfg: DictConfig | dict | SimConfig | None = None, **overrides) -> SimConfig:
    """Merge a Hydra/dict config onto the schema and validate it.

    OmegaConf rejects unknown keys and wrong types with the key's full name; the messages are
    re-raised as ConfigError so every bad input fails the same way.
    """
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(cfg, SimConfig) and not overrides and not cfg.design.path:
        # Already a typed config: a checked copy (~1 ms), not OmegaConf's round trip (~80 ms,
        # a tenth of the council workload's budget).  The copy keeps the model's
        # configuration independent of the caller's object.
        return validate(_float_fields(copy.deepcopy(cfg)))
    base = OmegaConf.structured(SimConfig)
    try:
        if isinstance(cfg, SimConfig):
            merged = OmegaConf.merge(base, OmegaConf.structured(cfg))
        elif cfg is not None:
            merged = OmegaConf.merge(base, cfg)
        else:
            merged = base
        for key, value in {**_design_row(merged), **overrides}.items():
            OmegaConf.update(merged, key, value, merge=True)
        obj = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"invalid configuration at {key!r}: {msg}") from None
    return validate(obj)


CONFIG_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "configs"


def register_schema():
    """Make ``schema`` (the dataclasses above) available to Hydra's defaults list."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="schema", node=SimConfig)


def compose(*overrides: str) -> SimConfig:
    """The validated config for Hydra-style overrides, as ``python -m sim`` would build it
    (for notebooks, benchmarks and tests): ``compose("scenario=england", "seed=3")``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_schema()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        dc = hydra_compose("config", overrides=list(overrides))
    return to_config(dc)
