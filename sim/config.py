"""Configuration schema: the one place every parameter is declared.

Each field carries its unit, its source and its allowed range in dataclass metadata.  Hydra
uses the dataclasses as a structured-config schema, ``to_config`` refuses keys outside it
(suggesting the closest) and values of the wrong type, ``validate`` checks ranges, choices,
finiteness (no parameter allows NaN or infinity), the start date and the memory a run needs,
with a message naming the key, and ``docs/parameters.md`` is generated from the same metadata,
so the documentation cannot drift from the code.  ``RunGuard`` (a Hydra callback) applies the
checks before Hydra writes anything for a run; a sweep's points and the memory of its runs
executed at once (``sweep_memory_check``) are checked by ``sim.sweep.check_sweep``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

#: Package data (the targets registry, councils from published statistics).
DATA_DIR = Path(__file__).resolve().parent / "data"
ASSUMPTION = "assumption"
DEMOS_2008 = "Demos, Making it Personal (2008), as reported in the press at publication"
WSX_2007 = "West Sussex individual budget pilot, N. Golding, Community Care (2007)"
DEMOS_2010 = "C. Wood, Personal Best, Demos (15 November 2010)"
NMW_2010 = "UK National Minimum Wage, adult rate from Oct 2010 (Low Pay Commission)"
PSSRU_2010 = "PSSRU Unit Costs of Health and Social Care 2010"
NHSIC_2010 = "NHS Information Centre, Community Care Statistics 2009-10 (RAP)"
NHSIC_0910 = ("NHS Information Centre, Personal Social Services Expenditure and Unit Costs, "
              "England 2009-10, final council data: activity (RAP P2s, PSS-EX1) and unit "
              "costs per council (sim/data/england_councils_2009.md)")
FACS_2003 = "Department of Health, Fair Access to Care Services (2003): four eligibility bands"
SFC_2007 = ("Skills for Care, adult social care workforce report (2007), as reported by Personnel "
            "Today, 1 Oct 2007: turnover 19.3% adult care, 24.9% domiciliary care; training cost "
            "about £980 per care worker")
SFC_2013 = ("Skills for Care (NMDS-SC): turnover of directly employed staff 23.1% in 2012/13, as "
            "cited in the Health Foundation blog 'Valuing the social care workforce' "
            "(docs/evidence-market.md)")
LAING_2008 = ("W. Laing, Calculating a fair market price for care: a toolkit for residential and "
              "nursing homes, 3rd edition (Joseph Rowntree Foundation / Policy Press, Sept 2008): "
              "costs of an efficient home for frail older people, England outside London, £ per "
              "resident-week, 2008/09 (the cost table as reproduced in Table 5 of 'A scoping review "
              "of the costs, consequences, and wider impacts of residential care home closures in a "
              "UK context', Health & Social Care in the Community, 2023, article 8675499)")
LB_FEES_2013 = ("Laing & Buisson annual surveys of councils' baseline care-home fees, as reported by "
                "Community Care, 21 Jun 2013, 'Councils ease pressure on care homes with "
                "near-inflationary fee rise' (2010-11 to 2013-14), and by The Carer UK on Laing & "
                "Buisson's Fair Price for Care, 5th edition (2014): a '5.2% real terms cut in "
                "council-paid fees' since 2010/11")
CRAG_2010 = ("Department of Health, Charging for Residential Accommodation Guide (CRAG), capital "
             "limits 2010-11 (unchanged from April 2010 to 2015)")
PSSEX_0910_LINES = ("NHS Information Centre, Personal Social Services Expenditure and Unit Costs, "
                    "England 2009-10: gross current expenditure £16.8bn (Main Findings) less the "
                    "gross cost of residential and nursing care, home care and day care (annex "
                    "Final Detailed Unit Cost, Total England row); see sim/data/targets.yaml, "
                    "england_unsimulated_spend_2009_10")
LD_SURVEY_2005 = ("E. Emerson et al., Adults with Learning Difficulties in England 2003/4 (NHS "
                  "Information Centre / Department of Health, 2005), as quoted in SCIE Knowledge "
                  "review 14, Having a good day? (2007) and SCIE Guide 16: of adults with learning "
                  "difficulties attending a day centre, two-fifths attended five days a week; "
                  "the mean over the rest is an assumption (see configs/scenario/england.yaml)")
RAP_HOME_DAY = ("NHS Information Centre, PSS Expenditure and Unit Costs England 2009-10, activity "
                "annex (RAP P2s): 337,735 people receiving home care and 147,855 day care at 31 "
                "March 2010; per group, assumption (the England scenario sets them so that "
                "nationally 69.6% of traditional packages are home care and 30.4% day care)")
#: FACS eligibility bands, lowest first.
BANDS = ("low", "moderate", "substantial", "critical")


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
    need_growth: float = P(0.05, "per year, proportional drift of need", ASSUMPTION, -1, 2)
    need_shock_rate: float = P(0.1, "per year, chance of a step increase in need", ASSUMPTION,
                               0, 5)
    capability_mean: float = P(0.5, "mean capability to manage one's own support (0-1; Beta "
                               "draws, concentration users.capability_concentration)",
                               ASSUMPTION, 0.01, 0.99)
    home_care_only_share: float = P(0.0, "share of the group's people whose need the council "
                                    "meets with home care alone (all of it personal care: "
                                    "agency hours, no day care); the rest of the group, less "
                                    "day_care_only_share, receive both (personal-care share of "
                                    "need as agency hours, the rest as day care). 0 in the "
                                    "pilots' scenarios: everyone receives both", RAP_HOME_DAY,
                                    0, 1)
    day_care_only_share: float = P(0.0, "share of the group's people whose need the council meets "
                                   "with day care alone (no home care); see "
                                   "home_care_only_share", RAP_HOME_DAY, 0, 1)
    day_care_days_per_week: float = P(0.0, "days a week at a day service, mean over the group's "
                                      "people on day care alone: their weekly hours of need "
                                      "are drawn around days x users.day_care_hours_per_day "
                                      "(lognormal, the group's need_cv, at most 7 days) "
                                      "instead of around need_mean_hours. 0 (default, and "
                                      "every pilot scenario): drawn as everyone's need",
                                      LD_SURVEY_2005, 0, 7)


@dataclass
class UserGroups:
    older: GroupConfig = field(default_factory=lambda: GroupConfig(
        share=0.62, need_mean_hours=11.0, need_cv=0.9, personal_care_share=0.8,
        carer_prob=0.5, exit_rate=0.25, need_growth=0.06,
        need_shock_rate=0.15, capability_mean=0.45))
    physical: GroupConfig = field(default_factory=lambda: GroupConfig(
        share=0.17, need_mean_hours=14.0, need_cv=0.9, personal_care_share=0.7,
        carer_prob=0.55, exit_rate=0.08, need_growth=0.02,
        need_shock_rate=0.05, capability_mean=0.65))
    learning: GroupConfig = field(default_factory=lambda: GroupConfig(
        share=0.12, need_mean_hours=22.0, need_cv=0.8, personal_care_share=0.35,
        carer_prob=0.7, exit_rate=0.04, need_growth=0.0,
        need_shock_rate=0.02, capability_mean=0.25))
    mental: GroupConfig = field(default_factory=lambda: GroupConfig(
        share=0.09, need_mean_hours=7.0, need_cv=0.8, personal_care_share=0.3,
        carer_prob=0.4, exit_rate=0.10, need_growth=0.0,
        need_shock_rate=0.05, capability_mean=0.45))


@dataclass
class UsersConfig:
    groups: UserGroups = field(default_factory=UserGroups)
    need_scale: float = P(1.0, "multiplier on every group's mean need", ASSUMPTION, 0.1, 10)
    self_funder_ratio: float = P(0.3, "self-funders per council-funded community user", ASSUMPTION, 0, 5)
    residential_share: float = P(0.25, "care-home residents at start (council-funded and "
                                 "self-funding, the stationary mix) / council-funded users",
                                 NHSIC_2010, 0, 0.9)
    residential_need_threshold: float = P(30.0, "hours/week of total need", ASSUMPTION, 0, 168)
    day_care_hours_per_day: float = P(5.0, "hours of day service a day attended (a day-centre "
                                      "day of about 10:00-15:00; used only with a group's "
                                      "day_care_days_per_week)", ASSUMPTION, 0.5, 24)
    care_home_seek_rate: float = P(0.5, "per year: chance a person above the residential need "
                                   "threshold seeks a care-home place", ASSUMPTION, 0, 52)
    fit_alpha: float = P(2.0, "Beta(a,b) a for preference fit", ASSUMPTION, 0.1, 50)
    fit_beta: float = P(2.0, "Beta(a,b) b for preference fit", ASSUMPTION, 0.1, 50)
    autonomy_alpha: float = P(3.0, "Beta(a,b) a for wanting control of one's care", ASSUMPTION,
                              0.1, 50)
    autonomy_beta: float = P(1.5, "Beta(a,b) b for wanting control of one's care", ASSUMPTION,
                             0.1, 50)
    capability_concentration: float = P(6.0, "Beta concentration (a + b) of capability draws "
                                        "around each group's mean", ASSUMPTION, 0.1, 1000)
    need_shock_size: float = P(0.25, "proportional step increase in need", ASSUMPTION, 0, 5)
    pc_share_sd: float = P(0.1, "sd of a person's personal-care share around their group's",
                           ASSUMPTION, 0, 1)
    pc_share_min: float = P(0.05, "lowest personal-care share of need", ASSUMPTION, 0, 1)
    pc_share_max: float = P(0.95, "highest personal-care share of need", ASSUMPTION, 0, 1)
    residential_exit_mult: float = P(2.0, "exit hazard in a care home / the group's hazard at home",
                                     ASSUMPTION, 0, 20)
    care_home_income: float = P(110.0, "£/week of a care-home resident's income counted toward "
                                "the fee (state pension with pension credit, about £132, less "
                                "the personal expenses allowance, £22.30, in 2010-11)",
                                ASSUMPTION, 0, 10_000)
    care_home_owner_share: float = P(0.75, "share of council-funded people at home whose "
                                     "capital the care-home means test counts when they move "
                                     "in (mostly the home they leave, which the means test for "
                                     "care at home disregards; drawn as a self-funder's): "
                                     "chosen so that about 43% of residents pay their own fees "
                                     "at the start (Laing & Buisson 2012-13, an input check in "
                                     "the targets registry)", ASSUMPTION, 0, 1)
    capital_median: float = P(150_000.0, "£: median capital counted by the means test of a "
                              "self-funder moving into a care home (the home they leave, and "
                              "savings; lognormal)", ASSUMPTION, 1, 1e9)
    capital_sigma: float = P(0.7, "sd of log capital of a self-funder moving into a care home",
                             ASSUMPTION, 0, 5)


@dataclass
class CouncilConfig:
    name: str = P("Midshire", "label")
    n_users: int = P(10_000, "council-funded users (community + residential) at start", NHSIC_2010, 1,
                     10_000_000)
    budget_headroom: float = P(0.02, "budget envelope above the starting run-rate, share", ASSUMPTION,
                               -0.5, 2)
    eligibility_band: str = P("moderate", "lowest FACS band the council funds at start (Fair "
                              "Access to Care Services, 2003-2013)", FACS_2003,
                              choices=list(BANDS))
    eligibility_band_max: str = P("critical", "highest band a council under budget pressure "
                                  "raises its threshold to", ASSUMPTION, choices=list(BANDS))
    band_hours_moderate: float = P(2.0, "hours/week of eligible need at which the moderate band "
                                   "starts (below: low)", ASSUMPTION, 0, 168)
    band_hours_substantial: float = P(6.0, "hours/week of eligible need at which the substantial "
                                      "band starts", ASSUMPTION, 0, 168)
    band_hours_critical: float = P(15.0, "hours/week of eligible need at which the critical band "
                                   "starts", ASSUMPTION, 0, 168)
    eligibility_review_weeks: int = P(52, "weeks between a council's decisions on its eligibility "
                                      "band (the annual budget round)", ASSUMPTION, 1, 520)
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
    other_services_per_user_week: float = P(
        0.0, "£ per council-funded person at the start (community and care homes) per week, "
        "paid every week whatever happens in the run: the council's spend on what the model "
        "does not simulate (assessment and care management beyond support planning, direct "
        "payments' own line, supported and other accommodation, equipment and adaptations, "
        "meals, other services), booked as spend_other_services and kept out of spend_total "
        "and the budget. 0: none (the pilots). England 2009-10: £3.866bn / 52 weeks / 850,955 "
        "people = £87.36; the published figures allow about £86-£89 (the £16.8bn is rounded "
        "to £0.1bn)", PSSEX_0910_LINES, 0, 10_000)
    review_interval_weeks: int = P(52, "weeks between reviews of need and budget", ASSUMPTION, 1, 520)
    block_price_agency: float = P(13.5, "£/hour", PSSRU_2010, 0, 1000)
    block_price_day: float = P(8.0, "£/hour of day service", PSSRU_2010, 0, 1000)
    block_price_residential: float = P(480.0, "£/bed-week", PSSRU_2010, 0, 10_000)
    block_share: float = P(0.8, "share of what the council buys through its contracts (traditional "
                           "packages and managed PBs) under block contract",
                           ASSUMPTION, 0, 1)
    block_providers: int = P(6, "fewest agencies/day services holding a block contract (more "
                             "sign one when these cannot carry the volume)", ASSUMPTION, 0, 10_000)
    block_max_load: float = P(0.8, "largest share of a provider's capacity a block contract takes",
                              ASSUMPTION, 0.05, 1)
    block_guarantee: float = P(0.9, "share of contracted volume paid even if unused", ASSUMPTION, 0, 1)
    block_duration_weeks: int = P(104, "weeks a block contract runs before renewal", ASSUMPTION, 1, 1040)
    capital_upper: float = P(23_250.0, "£: upper capital limit; a care-home resident with more "
                             "pays the home's full fee (and is a self-funder)", CRAG_2010, 0, 1e9)
    capital_lower: float = P(14_250.0, "£: lower capital limit; capital below it is "
                             "disregarded", CRAG_2010, 0, 1e9)
    tariff_step: float = P(250.0, "£ of capital between the limits counted as £1/week of "
                           "(tariff) income, each part step too", CRAG_2010, 1, 1e9)
    fee_uplift: float = P(0.0, "annual increase of block fees (0: money in constant 2010 "
                          "prices; a nominal uplift is a scenario)", ASSUMPTION, -0.5, 1)
    fee_uplift_residential: float = P(0.0, "annual change of care-home fee rates on top of "
                                      "council.fee_uplift, in constant prices (against care "
                                      "homes' cost inflation; 0: fees keep pace, a stationary "
                                      "baseline): councils' fees fell 5.2% behind care-home "
                                      "costs in the four years 2010/11-2013/14 (-1.4%, -2.5%, "
                                      "-0.9%, -0.2% a year; -1.3% a year in the england "
                                      "scenario)", LB_FEES_2013, -0.5, 1)
    underspend_band: float = P(0.95, "a year's spend / budget below which eligibility relaxes",
                               ASSUMPTION, 0, 1)


@dataclass
class PolicyConfig:
    pb_share_start: float = P(0.13, "share of council-funded community users on a PB at start",
                              DEMOS_2010, 0, 1)
    pb_target: float = P(0.30, "target PB share", DEMOS_2010, 0, 1)
    rollout_months: float = P(12.0, "months to reach the target (Apr 2010 -> Apr 2011)", DEMOS_2010,
                              0.25, 600)
    rollout: bool = P(True, "the council pursues the PB target (false: the counterfactual, "
                      "PBs only on request at the pre-rollout rate)", ASSUMPTION)
    target_enforcement: float = P(1.0, "how hard councils are pushed to meet the target: scales "
                                  "their pressure (0 = no push)", ASSUMPTION, 0, 1)
    offer_base: float = P(0.1, "chance a PB is offered at an assessment or review without a "
                          "rollout (on request)", ASSUMPTION, 0, 1)
    offer_rollout: float = P(1.0, "chance a PB is offered at an assessment or review during "
                             "the rollout", DEMOS_2010, 0, 1)
    campaign_rate: float = P(0.05, "per week, at full pressure: share of traditional-package "
                             "holders approached with an offer between reviews", ASSUMPTION, 0, 1)
    persuasion: float = P(0.1, "utility of accepting a PB added per unit of council pressure "
                          "(councils sell harder when behind)", ASSUMPTION, 0, 5)
    rush_max: float = P(0.6, "largest cut in planner hours per plan, at full pressure (rushed "
                        "plans)", ASSUMPTION, 0, 0.95)
    unplanned_rate: float = P(0.1, "per week, at full pressure: share of people waiting for a "
                              "planner converted without a plan", ASSUMPTION, 0, 1)
    planned_share_start: float = P(0.7, "share of existing PB holders who had support planning",
                                   ASSUMPTION, 0, 1)
    ras_prices_intensive_care: bool = P(
        True, "the RAS budget includes the premium of intensive agency care (double-handed "
        "visits, waking nights); if false, every assessed hour is priced at the standard rate, "
        "as a points-based RAS does", ASSUMPTION)
    ras_social_weight: float = P(0.6, "RAS points per hour of non-personal-care need, per point "
                                 "of an hour of personal care", ASSUMPTION, 0, 5)
    ras_noise_sd: float = P(0.15, "sd of the RAS questionnaire's error (lognormal, per "
                            "assessment): budgets scatter around the cost of need", ASSUMPTION,
                            0, 2)
    signoff_margin: float = P(0.0, "at sign-off a support plan costing more than the "
                              "indicative RAS budget is funded up to this share of that budget "
                              "(times the plan's quality); 0: the RAS figure is final",
                              ASSUMPTION, 0, 1)
    ras_affordability: float = P(1.0, "the council's price per point sets the RAS total for its "
                                 "caseload at this share of what it spends on them now",
                                 ASSUMPTION, 0.1, 3)
    block_wind_down: float = P(0.5, "share of a block's surplus volume removed per year", ASSUMPTION,
                               0, 52)
    renew_blocks: bool = P(True, "block contracts are renewed at expiry", ASSUMPTION)
    renewal_uplift_max: float = P(0.10, "at renewal a council pays a provider that would "
                                  "decline its rate the provider's unit cost instead, if that "
                                  "is at most this share above the council's rate (and no "
                                  "dearer than spot); beyond it the provider hands the contract "
                                  "back (0: no renegotiation)", "assumption (issue 13: contracts "
                                  "renegotiated at renewal; councils' yearly fee uplifts were "
                                  "0-3% in 2010-13, ADASS budget surveys)", 0, 1)
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
    mix_satiation: float = P(0.5, "hours over which an option's value per hour falls by a "
                             "factor e, as a share of the need it serves (diminishing returns)",
                             ASSUMPTION, 0.01, 10)
    choice_scale: float = P(0.02, "scale of the random part of people's choices (logit): larger, "
                            "more idiosyncratic", ASSUMPTION, 0.001, 10)
    status_quo: float = P(0.05, "utility a person gives up by changing how their care is "
                          "arranged (inertia)", ASSUMPTION, 0, 5)
    w_met: float = P(0.5, "QoL weight of need met", ASSUMPTION, 0, 1)
    w_fit: float = P(0.3, "QoL weight of fit to preferences", ASSUMPTION, 0, 1)
    w_control: float = P(0.2, "QoL weight of control", ASSUMPTION, 0, 1)
    control_traditional: float = P(0.2, "control score, council-managed", ASSUMPTION, 0, 1)
    control_managed: float = P(0.5, "control score, managed PB", ASSUMPTION, 0, 1)
    control_dp: float = P(0.85, "control score, direct payment", ASSUMPTION, 0, 1)
    dp_admin_burden: float = P(0.15, "QoL loss at a full administrative burden (burden = load / "
                               "(load + capacity to manage) = 1)", DEMOS_2008, 0, 1)
    unplanned_burden_mult: float = P(1.5, "admin load without support planning / with a full plan",
                                     DEMOS_2008, 1, 10)
    admin_dp_hours: float = P(3.0, "hours/week of managing a direct payment (accounts, buying)",
                              ASSUMPTION, 0, 40)
    admin_mpb_hours: float = P(0.5, "hours/week of a managed PB (agreeing the plan's services)",
                               ASSUMPTION, 0, 40)
    admin_per_pa: float = P(1.0, "hours/week of employing each personal assistant (rota, pay, "
                            "cover)", ASSUMPTION, 0, 40)
    manage_hours: float = P(4.0, "hours/week of administration a fully capable person handles "
                            "without strain", ASSUMPTION, 0.1, 40)
    carer_help_hours: float = P(3.0, "most hours/week of administration a family carer helps "
                                "with (from their spare hours)", ASSUMPTION, 0, 40)
    broker_help_hours: float = P(3.0, "hours/week of administration a broker or advocate takes "
                                 "on", ASSUMPTION, 0, 40)
    disruption_penalty: float = P(0.1, "QoL loss when the main provider exits", ASSUMPTION, 0, 1)
    disruption_weeks: int = P(8, "weeks the disruption lasts", ASSUMPTION, 0, 104)
    outcome_threshold: float = P(0.02, "QoL/choice change counted as better or worse", ASSUMPTION,
                                 0, 1)
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
    strain_rate: float = P(0.05, "share of the gap to a carer's settled strain closed per week",
                           ASSUMPTION, 0, 1)
    strain_base: float = P(0.3, "settled strain at the recovery load", ASSUMPTION, 0, 1)
    strain_load: float = P(0.6, "settled strain per unit of load (hours given / hours available) "
                           "above the recovery load", ASSUMPTION, 0, 10)
    strain_recovery_load: float = P(0.5, "load (hours/available) at which strain settles at "
                                    "strain_base", ASSUMPTION, 0, 5)
    respite_relief: float = P(0.1, "settled strain relieved by respite_hours of day/community "
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
    strain_sd: float = P(0.1, "sd of carers' resilience: their settled strain's offset",
                         ASSUMPTION, 0, 1)
    replace_share_resident: float = P(0.7, "share of paid hours that replace care given unpaid, "
                                      "for a carer living with the person", ASSUMPTION, 0, 1)
    replace_share_other: float = P(0.2, "share of paid hours that replace care given unpaid, "
                                   "for a carer living elsewhere", ASSUMPTION, 0, 1)


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
    labour_residential: float = P(26.0, "staff hours per bed-week (all staff: care, catering, "
                                  "cleaning, management): Laing's £234 of staff per resident-week "
                                  "at the starting wage and on-cost (£8.45/hour), with half the "
                                  "hours fixed and a home at its usual occupancy", LAING_2008,
                                  0, 168)
    labour_fixed_share: float = P(0.5, "share of staff hours paid whether or not care is delivered",
                                  ASSUMPTION, 0, 1)
    overhead_share: float = P(0.1, "weekly overhead / (start capacity x start price): agencies "
                              "and personal assistants (care homes: market.home_running_cost "
                              "and their capital cost)", ASSUMPTION, 0, 5)
    home_running_cost: float = P(112.0, "£ per resident-week of a care home's non-staff running "
                                 "costs (repairs and maintenance £33; food, utilities, insurance, "
                                 "supplies and the like £79), fixed: charged on the residents of "
                                 "its usual occupancy", LAING_2008, 0, 10_000)
    home_capital_cost_floor: float = P(118.0, "£ per resident-week of return on a care home's "
                                       "land, buildings and equipment (12% a year) where the "
                                       "building meets only the standards for existing homes "
                                       "(the ceiling less Laing's £74 adjustment; Laing's floor "
                                       "fair price £463); starting homes draw theirs evenly "
                                       "between floor and ceiling, fixed on the residents of its "
                                       "usual occupancy", LAING_2008, 0, 10_000)
    home_capital_cost_ceiling: float = P(192.0, "£ per resident-week of return on capital of a "
                                         "home meeting the standards for new homes (land £43, "
                                         "building and equipment £149; Laing's ceiling fair "
                                         "price £538): what a new home carries", LAING_2008, 0,
                                         10_000)
    home_manager_cost: float = P(650.0, "£/week a care home carries whatever its size (its "
                                 "registered manager's pay and on-costs, about £34,000 a "
                                 "year): Laing's per-bed costs are those of a home of "
                                 "market.beds_mean beds, so a smaller home costs more per bed "
                                 "and a larger one less (0: no economies of scale)",
                                 ASSUMPTION, 0, 10_000)
    self_funder_home_choice: float = P(0.6, "weight of a care home's size in where "
                                       "self-funders moving in take a bed, against chance "
                                       "(0: they take free beds at random like "
                                       "council-funded people; 1: the largest homes' first); "
                                       "council-funded people take the beds left",
                                       "assumption: at 0.6 the england scenario starts with "
                                       "10% self-funders in homes under 20 beds and 54% in "
                                       "homes of 50 or more (ONS 2019-20: 15% in small homes, "
                                       "51% in large ones)", 0, 1)
    day_overhead_share: float = P(0.3, "weekly fixed cost of a day centre's building "
                                  "(premises, transport, management) / (start capacity x start "
                                  "price): building-based services carry more than agencies",
                                  ASSUMPTION, 0, 0.9)
    markup: float = P(0.05, "margin over full unit cost (at the target utilisation) below "
                      "which a provider does not list its price",
                      ASSUMPTION, 0, 2)
    recovery_cap: float = P(0.5, "largest surcharge on private buyers' price that recovers "
                            "what council rates leave unpaid, share of full cost",
                            ASSUMPTION, 0, 10)
    margin_smoothing: float = P(0.08, "weight of the latest week in a provider's smoothed "
                                "margin and unit cost (about a quarter's memory)", ASSUMPTION,
                                0.001, 1)
    exit_margin: float = P(0.1, "a provider whose smoothed loss exceeds this share of its costs "
                           "closes, cash or not (expected margins stay negative)", ASSUMPTION,
                           0, 10)
    price_on_built: bool = P(True, "a provider's list-price floor spreads its fixed overhead "
                             "over the capacity it was set up for, not its shrunken staffed "
                             "capacity (false: a shrinking provider raises its price floor as "
                             "it shrinks)", "economics: fixed cost is sunk; competitors' "
                             "prices bound a provider's")
    entry_on_spot: bool = P(True, "entrants answer spot demand beyond the capacity "
                            "incumbents' block contracts leave free (false: all demand against "
                            "all capacity, contracted hours counted against the target "
                            "utilisation)", "economics: an entrant holds no contract")
    quality_exit_rate: float = P(0.0039, "per year: share of regulated services (agencies, "
                                 "care homes) closing for quality rather than money, closed "
                                 "by the regulator or by their owners after a poor rating",
                                 "CQC, via Community Care 28 Sep 2010: in 2009-10, 42 adult "
                                 "care services closed after enforcement and 51 voluntarily "
                                 "after a 'poor' rating, of England's 24,000", 0, 1)
    exit_tolerance_spread: float = P(0.5, "providers' loss tolerance differs: each one's "
                                     "exit_margin and overdraft_weeks are scaled by a draw "
                                     "uniform within 1 +/- this (0: all alike, so providers "
                                     "alike in all else close in the same week)", ASSUMPTION,
                                     0, 0.99)
    exit_grace_weeks: int = P(26, "weeks after entry before a provider judges its margins",
                              ASSUMPTION, 0, 520)
    handback_margin: float = P(0.02, "a provider losing more than this share of its costs "
                               "(smoothed) hands back block contracts priced below its unit "
                               "cost", ASSUMPTION, 0, 10)
    handback_avoidable: bool = P(True, "a losing provider refused a renegotiated price hands "
                                 "a block contract back only if it pays less than the cost the "
                                 "provider would avoid without it (unit cost less fixed "
                                 "overhead per unit); false: if it pays less than full unit "
                                 "cost", "economics: a contract covering avoidable cost "
                                 "contributes to fixed cost")
    staff_contracted: bool = P(True, "a block-contract holder keeps staff for the hours its "
                               "contracts pay for whether used or not (council.block_guarantee "
                               "of their volume) and does not sell them on the spot market: "
                               "the guarantee buys capacity held for the council, paid for "
                               "until the wind-down or renewal cuts the volume (false: it "
                               "staffs only for the hours it delivers, and the guarantee on "
                               "hours not called off pays for nothing)",
                               "assumption (what a block contract buys); consistent with "
                               "the Guardian, 25 Mar 2014, 'Social care commissioners should "
                               "ditch zero-hours contracts': the growth of zero-hours "
                               "contracts was driven partly by 'a shift in commissioning from "
                               "block purchasing to activity-based funding'")
    cash_weeks: float = P(8.0, "cash reserve at start in weeks of costs", ASSUMPTION, 0, 520)
    overdraft_weeks: float = P(4.0, "weeks of costs of negative cash tolerated before exit",
                               ASSUMPTION, 0, 520)
    price_adjust: float = P(0.01, "price change per week per unit of utilisation gap", ASSUMPTION,
                            0, 1)
    target_utilisation: float = P(0.85, SHARE, ASSUMPTION, 0.05, 1)
    staff_adjust: float = P(0.05, "share of surplus staff (above recent demand plus slack) let "
                            "go per week; hiring is limited by market.vacancy_fill_rate and the "
                            "pool", ASSUMPTION, 0, 1)
    capacity_slack: float = P(0.15, "staffed hours above expected demand", ASSUMPTION, 0, 5)
    price_choice_beta: float = P(4.0, "logit weight on relative price in spot choice", ASSUMPTION,
                                 0, 100)
    spread_share: float = P(0.1, "share of a provider's free capacity offered evenly over every "
                            "council it serves; the rest follows last week's deliveries there",
                            ASSUMPTION, 0, 1)
    labour_pool_slack: float = P(0.1, "care-worker hours available above starting staffing",
                                 ASSUMPTION, 0, 10)
    labour_growth: float = P(0.02, "annual growth of the care-worker pool", ASSUMPTION, -1, 1)
    wage_pressure: float = P(0.5, "wage rise per unit of pool tightness above wage_knee",
                             ASSUMPTION, 0, 20)
    wage_knee: float = P(0.95, "pool tightness (staff employed or sought / pool) above which "
                         "wages rise", ASSUMPTION, 0, 5)
    turnover_agency: float = P(0.249, "leavers per year / staff in post, home-care agencies",
                               SFC_2007, 0, 5)
    turnover_residential: float = P(0.196, "leavers per year / staff in post, care homes",
                                    "NCF provider survey 2012, residential care for older "
                                    "people (Community Care, 6 Aug 2012; docs/evidence-market.md)",
                                    0, 5)
    turnover_other: float = P(0.231, "leavers per year / staff in post, day services and "
                              "community groups (the sector's average)", SFC_2013, 0, 5)
    turnover_pa: float = P(0.167, "leavers per year / personal assistants in post",
                           "Skills for Care, Individual employers and personal assistants "
                           "(2019/20, after the period: PA turnover well below care workers'; "
                           "docs/evidence-market.md)", 0, 5)
    turnover_pay_sensitivity: float = P(2.0, "extra turnover, share of the base rate, per unit "
                                        "of pay shortfall below the council's going rate (10% "
                                        "below: +20%)", ASSUMPTION, 0, 100)
    vacancy_fill_rate: float = P(0.12, "share of a provider's open posts filled per week when "
                                 "workers are free (about 8 weeks to fill a post; with the "
                                 "default turnover, posts kept open ahead of leavers are "
                                 "about 4% of all)",
                                 ASSUMPTION, 0, 1)
    recruit_cost: float = P(1000.0, "£ per care worker hired (advertising, checks, induction "
                            "and training; Skills for Care later put the full cost per hire at "
                            "about £3,500, cover included)", SFC_2007, 0, 1e5)
    worker_hours: float = P(30.0, "paid hours/week of one care worker", ASSUMPTION, 1, 80)
    pa_supply_adjust: float = P(0.1, "share of the gap between the PA pool and the PA supply "
                                "that demand and pay call for, closed per week (0: PA supply "
                                "fixed at its start)", ASSUMPTION, 0, 1)
    pa_pay_elasticity: float = P(1.0, "elasticity of PA supply to PA pay relative to the "
                                 "care-worker wage", ASSUMPTION, 0, 20)
    pa_pay_ratio_ref: float = P(1.18, "PA pay (PA price / on-cost) over the care-worker wage "
                                "at which PA supply keeps pace with demand (the starting "
                                "ratio: £10 / 1.3 / £6.50)", ASSUMPTION, 0.01, 100)
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
    home_entry_margin: float = P(0.0, "market margin above which care homes enter (where beds "
                                 "are short): their costs already carry a 12% a year return "
                                 "on land, buildings and equipment (market.home_capital_cost_*), "
                                 "so any margin above them is above a normal return",
                                 LAING_2008, -1, 1)
    entry_rate: float = P(0.05, "entrants per week per typical provider's worth of excess demand",
                          ASSUMPTION, 0, 100)
    home_entry_rate: float = P(0.05, "care homes entering per week per typical home's worth of "
                               "beds short (residents above the usual occupancy, while people "
                               "seeking a place find none)",
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
    commitment_sigma: float = P(0.0, "lognormal sigma of councils' commitment to the target "
                                "(scales their pressure)", ASSUMPTION, 0, 5)
    brokerage_sigma: float = P(0.0, "lognormal sigma of brokerage capacity per head between "
                               "councils", ASSUMPTION, 0, 5)
    owner_share_sd: float = P(0.0, "sd between councils of users.care_home_owner_share (normal, "
                              "clipped to 0-1): affluent and deprived areas (ONS 2019-20, after "
                              "the period: self-funding residents 24.6% North East to 45.4% "
                              "South East, 21.6% of residents of homes in the most deprived "
                              "areas to 53.8% in the least)", ASSUMPTION, 0, 1)
    neighbour_radius: float = P(0.2, "radius of the unit-square council adjacency graph", ASSUMPTION,
                                0, 2)
    multi_council_share: float = P(0.3, "share of agencies also serving neighbouring councils",
                                   ASSUMPTION, 0, 1)
    councils_file: str = P("", "named councils from a data file (a CSV shipped in sim/data, e.g. "
                           "england_councils_2009.csv; described in its .md): names, codes, "
                           "region, sizes, council-funded residents and starting PB shares from "
                           "published counts, used when geography.n_councils equals its rows "
                           "(else the councils are synthetic); empty: synthetic",
                           NHSIC_0910)
    region_neighbours: int = P(6, "with councils from data: each council's neighbours are this "
                               "many councils of its own region (a ring in random order, 3 each "
                               "side; all of a smaller region); the data hold no adjacency",
                               ASSUMPTION, 0, 200)


@dataclass
class ShocksConfig:
    """Shocks at a stated week of the run (``sim/shocks.py``): the market settles first, then
    the shocks hit at the start of recorded week ``week`` and stay.  Every shock is off by
    default, and ``week`` is used only when one is on."""

    week: int = P(0, "recorded week (step) at whose start the shocks hit; 1..steps when a "
                  "shock is on", ASSUMPTION, 0, 5200)
    need_rise: float = P(0.0, "share added to the eligible need of everyone present at the shock "
                         "week and of every entrant after it (councils' assessments, budgets "
                         "and packages follow at each person's next review)", ASSUMPTION, 0, 5)
    wage_floor_rise: float = P(0.0, "£/hour added to the care-worker wage floor "
                               "(market.wage_floor) from the shock week", ASSUMPTION, 0, 100)
    blocks_end: bool = P(False, "every council's block contracts end at the shock week (the "
                         "council buys that care at spot from then on; no block is signed again)",
                         ASSUMPTION)


@dataclass
class OutputConfig:
    figures: bool = P(True, "write PNG figures", ASSUMPTION)
    panel_size: int = P(0, "users sampled into an agent panel each step (0 = none)", ASSUMPTION, 0,
                        100_000)
    counterfactual: bool = P(True, "also run the same seed without the rollout (common random "
                             "numbers) and report effects per person", ASSUMPTION)
    effect_window_weeks: int = P(13, "last weeks of a run over which each person's outcomes are "
                                 "averaged and compared with their counterfactual", ASSUMPTION,
                                 1, 520)
    provider_reporters: bool = P(False, "Mesa's DataCollector also reports every provider every "
                                 "step (agent-type reporters; off: they slow a national run)",
                                 ASSUMPTION)


@dataclass
class DesignConfig:
    """A row of an experimental design (CSV of dotted keys) applied on top of the config;
    used by sensitivity analysis to run arbitrary points through the same sweep machinery."""

    path: str = P("", "CSV file of a design (empty = none)")
    row: int = P(-1, "row of the design to apply", ASSUMPTION, -1, 10**9)


@dataclass
class PosteriorConfig:
    """Parameter uncertainty: a run can take its calibrated parameters from one draw of the
    posterior ensemble (``configs/calibration/posterior.csv``, written by ``python -m
    sim.calibrate``) instead of the most likely set.  With ``by_seed`` a sweep over seeds
    draws a different set for each seed, so its intervals include parameter uncertainty as
    well as seed noise (the reports say which)."""

    draw: int = P(-1, "row of the posterior ensemble whose parameters this run takes (-1: "
                  "none, the most likely set of configs/calibration/demos_2008.yaml)",
                  ASSUMPTION, -1, 10**6)
    by_seed: bool = P(False, "take draw (seed mod number of draws): one switch for a sweep "
                      "over seeds to sample the posterior", ASSUMPTION)


@dataclass
class SimConfig:
    seed: int = P(0, "random seed", ASSUMPTION, 0, 2**32 - 1)
    steps: int = P(156, "weeks simulated and recorded", ASSUMPTION, 1, 5200)
    burn_in_weeks: int = P(26, "weeks simulated before step 1 with no rollout, not recorded (the "
                           "market, carers and care homes settle)", ASSUMPTION, 0, 1040)
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
    shocks: ShocksConfig = field(default_factory=ShocksConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    design: DesignConfig = field(default_factory=DesignConfig)
    posterior: PosteriorConfig = field(default_factory=PosteriorConfig)


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


def _schema() -> tuple[dict, set]:
    """The schema's leaf fields by dotted key, and its dotted group keys (``council``, ...)."""
    global _SCHEMA
    if _SCHEMA is None:
        leaves = {key: f for key, f, _ in _walk(SimConfig())}
        nodes = {k.rsplit(".", i)[0] for k in leaves for i in range(1, k.count(".") + 1)}
        _SCHEMA = leaves, nodes
    return _SCHEMA


_SCHEMA = None


def unknown_key_message(key: str) -> str:
    """``unknown key 'policy.pb_targt'; did you mean policy.pb_target?``"""
    leaves, nodes = _schema()
    close = difflib.get_close_matches(key, [*leaves, *nodes], n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else \
        "the keys are listed by `python -m sim --cfg job` and in docs/parameters.md"
    return f"unknown key {key!r}; {hint}"


def check_key(key: str) -> None:
    """Raise ConfigError (with the closest key) if ``key`` is not in the schema."""
    leaves, nodes = _schema()
    if key not in leaves and key not in nodes:
        raise ConfigError(unknown_key_message(key))


def _unknown_keys(tree, prefix="") -> list[str]:
    """Dotted keys of a nested dict that the schema does not have."""
    leaves, nodes = _schema()
    found = []
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if key in nodes and isinstance(v, dict):
            found += _unknown_keys(v, key + ".")
        elif key not in leaves and key not in nodes:
            found.append(key)
    return found


def _invalid(errors: list[str]) -> ConfigError:
    """One error on one line; several, one per line."""
    if len(errors) == 1:
        return ConfigError(f"invalid configuration: {errors[0]}")
    return ConfigError("invalid configuration:\n  " + "\n  ".join(errors))


def _type_error(key: str, f, value) -> str | None:
    """The message if ``value`` is not of the field's declared type (None if it is)."""
    if not isinstance(value, _TYPES[f.type]) or (f.type != "bool" and isinstance(value, bool)):
        return f"{key}={value!r} has type {type(value).__name__}; expected {f.type}"
    return None


def _value_errors(key: str, f, value) -> list[str]:
    """Type, finiteness, choice and range errors of one value (empty if it is valid)."""
    wrong = _type_error(key, f, value)
    if wrong:
        return [wrong]
    m = f.metadata
    lo, hi, choices = m.get("lo"), m.get("hi"), m.get("choices")
    if isinstance(value, float) and not math.isfinite(value):
        # No parameter is meaningful at NaN or infinity (every float field has a finite range),
        # and a NaN would pass every range comparison.
        return [f"{key}={value!r} is not a finite number; allowed [{lo}, {hi}] ({m['unit']})"]
    errors = []
    if choices is not None and value not in choices:
        errors.append(f"{key}={value!r} is not allowed; choose one of {choices}")
    if not isinstance(value, bool) and (lo is not None and value < lo
                                        or hi is not None and value > hi):
        errors.append(f"{key}={value!r} is out of range; allowed [{lo}, {hi}] ({m['unit']})")
    return errors


def _date_errors(cfg) -> list[str]:
    try:
        start = dt.date.fromisoformat(cfg.start_date)
    except ValueError:
        return [f"start_date={cfg.start_date!r} is not an ISO date; expected YYYY-MM-DD, "
                "e.g. 2010-04-05"]
    try:
        start + dt.timedelta(weeks=cfg.steps)
    except OverflowError:
        return [f"start_date={cfg.start_date!r} with steps={cfg.steps}: the run would end after "
                f"the last representable date ({dt.date.max})"]
    return []


def validate(cfg: SimConfig, check_memory: bool = True) -> SimConfig:
    """Check every value against its declared type and range (NaN and infinities are not
    numbers any parameter allows); raise ConfigError naming the bad keys.  (OmegaConf checks
    types on the way in; this also catches a field set afterwards on a ``SimConfig`` object.)
    Last, a run that would not fit in the memory available is refused (``memory_check``;
    ``check_memory=False`` leaves that to the caller, as a sweep checks its runs together)."""
    errors = []
    for key, f, value in _walk(cfg):
        errors += _value_errors(key, f, value)
    if errors:  # the checks across fields below need values of the right types
        raise _invalid(errors)
    errors += _date_errors(cfg)
    shares = sum(getattr(cfg.users.groups, g).share for g in GROUPS)
    if abs(shares - 1.0) > 1e-6:
        errors.append(f"users.groups.*.share sum to {shares:.4f}; they must sum to 1")
    cf = cfg.geography.councils_file
    if cf and (Path(cf).name != cf or not (DATA_DIR / cf).is_file()):
        errors.append(f"geography.councils_file={cf!r} is not a file in sim/data (give a file "
                      f"name, e.g. england_councils_2009.csv; there: "
                      f"{sorted(q.name for q in DATA_DIR.glob('*.csv'))})")
    b = cfg.behaviour
    if abs(b.w_met + b.w_fit + b.w_control - 1.0) > 1e-6:
        errors.append("behaviour.w_met + w_fit + w_control must sum to 1, got "
                      f"{b.w_met + b.w_fit + b.w_control:.4f}")
    if cfg.policy.pb_target < cfg.policy.pb_share_start:
        errors.append(f"policy.pb_target={cfg.policy.pb_target} is below policy.pb_share_start="
                      f"{cfg.policy.pb_share_start}; a target must not be below the start")
    cc = cfg.council
    if not cc.band_hours_moderate <= cc.band_hours_substantial <= cc.band_hours_critical:
        errors.append("council.band_hours_moderate <= band_hours_substantial <= "
                      f"band_hours_critical must hold, got {cc.band_hours_moderate}, "
                      f"{cc.band_hours_substantial}, {cc.band_hours_critical}")
    if BANDS.index(cc.eligibility_band_max) < BANDS.index(cc.eligibility_band):
        errors.append(f"council.eligibility_band_max={cc.eligibility_band_max!r} is below "
                      f"council.eligibility_band={cc.eligibility_band!r}")
    for name in GROUPS:
        g = getattr(cfg.users.groups, name)
        if g.home_care_only_share + g.day_care_only_share > 1 + 1e-9:
            errors.append(f"users.groups.{name}.home_care_only_share + day_care_only_share must "
                          f"not exceed 1, got {g.home_care_only_share} + "
                          f"{g.day_care_only_share}")
    for lo_key, hi_key in (("users.pc_share_min", "users.pc_share_max"),
                           ("market.entrant_size_min", "market.entrant_size_max"),
                           ("council.capital_lower", "council.capital_upper"),
                           ("market.home_capital_cost_floor", "market.home_capital_cost_ceiling")):
        lo, hi = (_get(cfg, k) for k in (lo_key, hi_key))
        if lo > hi:
            errors.append(f"{lo_key}={lo} is above {hi_key}={hi}; the minimum must not exceed "
                          "the maximum")
    errors += _shock_errors(cfg)
    if errors:
        raise _invalid(errors)
    if check_memory:
        memory_check(cfg)
    return cfg


def shocks_on(sc) -> list[str]:
    """The shocks of a ``ShocksConfig`` that are on, as ``key=value`` (empty: none)."""
    on = [f"shocks.need_rise={sc.need_rise:g}" if sc.need_rise else "",
          f"shocks.wage_floor_rise={sc.wage_floor_rise:g}" if sc.wage_floor_rise else "",
          "shocks.blocks_end=true" if sc.blocks_end else ""]
    return [x for x in on if x]


def _shock_errors(cfg) -> list[str]:
    """A shock that is on must hit within the recorded run: week 1..steps."""
    on = shocks_on(cfg.shocks)
    week = cfg.shocks.week
    if on and not 1 <= week <= cfg.steps:
        return [f"shocks.week={week} is out of range; allowed [1, {cfg.steps}] (the recorded "
                f"week the shocks hit, at most steps={cfg.steps}) when a shock is on "
                f"({', '.join(on)})"]
    return []


def _get(cfg, key: str):
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


GROUPS = ("older", "physical", "learning", "mental")

# Memory of a run, measured (peak resident size): about 160 MB of interpreter, libraries and
# kernels, plus the user and carer tables (``sim.state``: bytes per row from their schemas;
# rows = council-funded users x (1 + self-funders) x 1.05 head-room, as ``CareMarketModel``
# sizes them) times 1.15 for the weekly passes' temporaries, twice over when the
# counterfactual runs beside the model, plus the time series (one row per council and week).
# Measured at 1 million users: 1.00 GB alone, 1.83 GB with the counterfactual.
MEMORY_BASE = 160e6
MEMORY_TEMPORARIES = 1.15
TIMESERIES_ROW_BYTES = 65 * 8 * 3
FORCE_MEMORY_ENV = "SIM_FORCE_MEMORY"


@functools.lru_cache(maxsize=1)
def _table_row_bytes() -> float:
    from .state import carer_table, user_table

    total = 0.0
    for table in (user_table(16), carer_table(16)):
        total += (sum(getattr(table, n).nbytes for n in table._schema)
                  + table.active.nbytes + table.uid.nbytes) / table.size
    return total


def memory_estimate(cfg: SimConfig) -> float:
    """Bytes a run of ``cfg`` needs at its peak (an estimate within ~10%)."""
    users = cfg.council.n_users * cfg.geography.n_councils
    rows = users * (1 + cfg.users.self_funder_ratio) * 1.05
    series = cfg.steps * cfg.geography.n_councils * TIMESERIES_ROW_BYTES
    models = 2 if cfg.output.counterfactual else 1
    return MEMORY_BASE + models * rows * _table_row_bytes() * MEMORY_TEMPORARIES + series


def memory_available() -> float | None:
    """Bytes of memory available to a new process (``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def memory_check(cfg: SimConfig, available: float | None = None) -> None:
    """Refuse a run whose estimated memory exceeds what is available (before anything is
    allocated), unless the environment variable ``SIM_FORCE_MEMORY=1`` forces it."""
    if os.environ.get(FORCE_MEMORY_ENV, "") not in ("", "0"):
        return
    available = memory_available() if available is None else available
    if available is None:
        return
    need = memory_estimate(cfg)
    if need > available:
        raise ConfigError(
            f"the run needs about {need / 1e9:.1f} GB of memory (council.n_users="
            f"{cfg.council.n_users} x geography.n_councils={cfg.geography.n_councils}, with "
            f"users.self_funder_ratio={cfg.users.self_funder_ratio}) but {available / 1e9:.1f} "
            f"GB is available; run a smaller model, or set {FORCE_MEMORY_ENV}=1 to try anyway")


def sweep_memory_check(sweep: str, largest: SimConfig, point: str, at_once: int, how: str,
                       fewer: str, available: float | None = None) -> None:
    """Refuse a sweep whose runs executing at the same time would together exceed the memory
    available: its peak is taken as ``at_once`` (runs the launcher executes at once, found
    as ``how`` says) times the estimate of its largest run (``largest``, the point of
    overrides ``point``).  ``fewer`` is the setting that runs fewer at once, with ``{n}``
    for a number.  ``SIM_FORCE_MEMORY=1`` forces it, as for one run."""
    if os.environ.get(FORCE_MEMORY_ENV, "") not in ("", "0"):
        return
    available = memory_available() if available is None else available
    if available is None:
        return
    need = memory_estimate(largest)
    if need * at_once <= available:
        return
    fits = int(available // need)
    if fits >= 1:
        advice = (f"run at most {fits} at once ({fewer.format(n=fits)}), or one at a time "
                  "(hydra/launcher=basic), or a smaller model")
    else:
        advice = (f"even one run does not fit (council.n_users={largest.council.n_users} x "
                  f"geography.n_councils={largest.geography.n_councils}): run a smaller model")
    gb = lambda b: f"{b / 1e9:.2f} GB"
    raise ConfigError(
        f"sweep {sweep} needs about {gb(need * at_once)} of memory: {at_once} "
        f"run{'s' if at_once != 1 else ''} at once ({how}) x {gb(need)} for its largest run "
        f"({point}), but {gb(available)} is available; {advice}; or set {FORCE_MEMORY_ENV}=1 to try "
        "anyway. Nothing was run or written")


def design_row(cfg) -> dict:
    """The overrides in row ``design.row`` of the CSV at ``design.path`` (none if unset).

    A blank cell is an error (it would arrive as NaN); a whole number in a column that pandas
    read as floats (because of such a blank elsewhere) is taken as the integer it is."""
    path, row = cfg.design.path, cfg.design.row
    if not path:
        return {}
    import pandas as pd

    try:
        design = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"design.path={path!r} cannot be read: {exc}") from None
    if not 0 <= row < len(design):
        raise ConfigError(f"design.row={row} is out of range; allowed [0, {len(design) - 1}]")
    leaves, _ = _schema()
    values, errors = {}, []
    for k, v in design.iloc[row].items():
        v = v.item() if hasattr(v, "item") else v
        f = leaves.get(k)
        if isinstance(v, float) and math.isnan(v):
            errors.append(f"{k} is blank in row {row} of design {path}")
        elif f is not None and f.type == "int" and isinstance(v, float) and v.is_integer():
            v = int(v)
        values[k] = v
    if errors:
        raise _invalid(errors)
    return values


def posterior_row(cfg) -> dict:
    """The calibrated parameters of the posterior draw a run takes (``posterior.draw``, or
    with ``posterior.by_seed`` draw = seed mod the number of draws); none if neither is set.
    Sets ``posterior.draw`` to the draw taken, so the run's configuration records it."""
    post = cfg.posterior
    if post.draw < 0 and not post.by_seed:
        return {}
    import pandas as pd

    try:
        table = pd.read_csv(posterior_file())
    except OSError:
        raise ConfigError("posterior.draw / posterior.by_seed need the posterior ensemble "
                          "configs/calibration/posterior.csv; run python -m sim.calibrate "
                          "first") from None
    n = len(table)
    draw = cfg.seed % n if post.by_seed else post.draw
    if not 0 <= draw < n:
        raise ConfigError(f"posterior.draw={draw} is out of range; allowed [0, {n - 1}] "
                          f"(the ensemble has {n} draws)")
    leaves, _ = _schema()
    post.draw = int(draw)
    return {k: v.item() if hasattr(v, "item") else v
            for k, v in table.iloc[draw].items() if k in leaves}


def _calibrated_values() -> dict:
    """The calibrated parameters a composed configuration holds by default (the
    ``calibration`` group's file, ``configs/calibration/demos_2008.yaml``), by dotted key."""
    import yaml

    out: dict = {}

    def walk(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                out[f"{prefix}{k}"] = v
    path = CONFIG_DIR / "calibration" / "demos_2008.yaml"
    walk(yaml.safe_load(path.read_text()) or {} if path.exists() else {})
    return out


def _posterior_values(obj, overrides: dict, composed: bool = False) -> dict:
    """``posterior_row``, refusing a calibrated parameter also set by the caller (the draw
    would replace it): given as an override, or (``composed``: a configuration from Hydra,
    whose command-line settings are already merged in) holding another value than the
    calibration file's."""
    row = posterior_row(obj)
    set_here = set(overrides)
    if row and composed:
        calibrated = _calibrated_values()
        for key in row:
            *path, name = key.split(".")
            node = obj
            for part in path:
                node = getattr(node, part)
            if key not in calibrated or not math.isclose(float(getattr(node, name)),
                                                         float(calibrated[key])):
                set_here.add(key)
    clash = sorted(row.keys() & set_here)
    if clash:
        raise ConfigError(f"{', '.join(clash)}: set by the posterior draw "
                          f"(posterior.draw={obj.posterior.draw}); a run either draws the "
                          "calibrated parameters from the posterior or sets them (or "
                          "calibration=none), not both")
    return row


def _check_overrides(overrides: dict, source: str = "") -> None:
    """Dotted-key overrides: every key in the schema, every value of its field's type (no
    silent conversion of a number to a label, or of a string to a number)."""
    leaves, nodes = _schema()
    errors = []
    for key, value in overrides.items():
        if key in leaves:
            wrong = _type_error(key, leaves[key], value)
            if wrong:
                errors.append(wrong + source)
        elif key in nodes and isinstance(value, dict):
            errors += [unknown_key_message(k) + source for k in _unknown_keys(value, key + ".")]
        else:
            errors.append(unknown_key_message(key) + source)
    if errors:
        raise _invalid(errors)


def single_run_config(cfg) -> SimConfig:
    """``to_config`` for one run (``python -m sim`` without ``-m``): one seed only."""
    out = to_config(cfg)
    if out.replicates > 1:
        raise ConfigError(f"replicates={out.replicates} needs a multirun (python -m sim -m ...); "
                          "a single run has one seed")
    return out


def to_config(cfg: DictConfig | dict | SimConfig | None = None, *, check_memory: bool = True,
              **overrides) -> SimConfig:
    """Merge a Hydra/dict config onto the schema and validate it (``validate``; with
    ``check_memory=False``, all but the memory check).

    OmegaConf rejects wrong types with the key's full name; the messages are re-raised as
    ConfigError so every bad input fails the same way.  Keys the schema does not have are
    refused here, with the closest known key (OmegaConf would keep a key added with Hydra's
    ``+`` through the merge and drop it silently when building the dataclasses).
    """
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(cfg, SimConfig) and not overrides and not cfg.design.path:
        # Already a typed config: a checked copy (~1 ms), not OmegaConf's round trip (~80 ms,
        # a tenth of the council workload's budget).  The copy keeps the model's
        # configuration independent of the caller's object.
        return validate(_float_fields(copy.deepcopy(cfg)), check_memory)
    overrides = {k: v.item() if type(v).__module__ == "numpy" and hasattr(v, "item") else v
                 for k, v in overrides.items()}          # numpy scalars as Python numbers
    _check_overrides(overrides)
    leaves, _ = _schema()
    if (cfg is None or isinstance(cfg, SimConfig)) and all(k in leaves for k in overrides):
        # Dotted overrides of checked types onto a typed config: set directly (~1 ms; the
        # same values OmegaConf's merge would give, without its round trip).
        obj = SimConfig() if cfg is None else copy.deepcopy(cfg)
        _set(obj, overrides)
        design = design_row(obj)
        if design:
            _check_overrides(design, f" (design {obj.design.path}, row {obj.design.row})")
            _set(obj, {**design, **overrides})
        _set(obj, _posterior_values(obj, overrides))
        return validate(_float_fields(obj), check_memory)
    if isinstance(cfg, (dict, DictConfig)):
        tree = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg
        unknown = _unknown_keys(tree)
        if unknown:
            raise _invalid([unknown_key_message(k) for k in unknown])
    base = OmegaConf.structured(SimConfig)
    try:
        if isinstance(cfg, SimConfig):
            merged = OmegaConf.merge(base, OmegaConf.structured(cfg))
        elif cfg is not None:
            merged = OmegaConf.merge(base, cfg)
        else:
            merged = base
        for key, value in overrides.items():
            OmegaConf.update(merged, key, value, merge=True)
        design = design_row(merged)      # after the overrides: they may name the design
        if design:
            _check_overrides(design, f" (design {merged.design.path}, row {merged.design.row})")
        for key, value in {**design, **overrides}.items():
            OmegaConf.update(merged, key, value, merge=True)
        obj = OmegaConf.to_object(merged)
        _set(obj, _posterior_values(obj, overrides, composed=cfg is not None))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"invalid configuration at {key!r}: {msg}") from None
    return validate(obj, check_memory)


def _set(obj: SimConfig, values: dict) -> None:
    """Set dotted leaf keys (already checked against the schema) on a typed config."""
    for key, value in values.items():
        *path, name = key.split(".")
        node = obj
        for part in path:
            node = getattr(node, part)
        setattr(node, name, value)


CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def posterior_file() -> Path:
    """The posterior ensemble of the calibrated parameters (``python -m sim.calibrate``)."""
    return CONFIG_DIR / "calibration" / "posterior.csv"


class RunGuard:
    """Hydra callback (registered by ``register_schema``) that checks a run before Hydra
    writes anything: Hydra saves ``.hydra/`` and opens the log in the run folder before the
    task function starts, so a check there would come too late to keep a finished run's record
    intact or to leave nothing behind for bad input.

    * a single run: a folder that holds a finished run (``summary.json``) is refused, and the
      configuration is validated (``to_config``; the task function takes the checked config
      from ``checked``); it also notes what the folder held before, so that a run that fails
      removes only what it wrote (``created_by_run``);
    * a multirun: every overridden key (command line and the sweeper's parameters) must be in
      the schema, before any job is launched or any folder made.

    A refusal prints one line and exits (Hydra turns a callback's exception into a warning)."""

    def on_run_start(self, config, **kwargs) -> None:
        out = _run_dir(config)
        if out is not None and (out / "summary.json").is_file():
            _refuse(f"{out / 'summary.json'} already exists; refusing to overwrite a finished "
                    "run (choose another output folder: hydra.run.dir=...)", 3)
        task = copy.copy(config)
        with _open(task):
            del task["hydra"]
        try:
            cfg = single_run_config(task)
        except ConfigError as exc:
            _refuse(str(exc), 2)
        if out is not None:
            _CHECKED[str(out)] = cfg
            _BEFORE[str(out)] = set(os.listdir(out)) if out.is_dir() else None

    def on_multirun_start(self, config, **kwargs) -> None:
        try:
            check_override_keys([*config.hydra.overrides.task,
                                 *(f"{k}={v}" for k, v in
                                   (config.hydra.sweeper.get("params") or {}).items())])
        except ConfigError as exc:
            _refuse(str(exc), 2)

    def on_run_end(self, config, **kwargs) -> None:
        pass

    def on_multirun_end(self, config, **kwargs) -> None:
        pass

    def on_job_start(self, config, **kwargs) -> None:
        pass

    def on_job_end(self, config, **kwargs) -> None:
        pass


_CHECKED: dict[str, SimConfig] = {}
_BEFORE: dict[str, set | None] = {}


def checked(out) -> SimConfig | None:
    """The configuration ``RunGuard`` validated for the run into folder ``out`` (once)."""
    return _CHECKED.pop(os.path.abspath(out), None)


def created_by_run(out) -> set[str] | None:
    """Names in folder ``out`` that the run wrote: None if the run made the folder (all of it
    is the run's), else the names that were not there before.  Without ``RunGuard``'s note,
    only the names a run writes (Hydra's record and log, the results)."""
    out = Path(os.path.abspath(out))
    if str(out) not in _BEFORE:
        return {n for n in os.listdir(out) if n in _RUN_NAMES or n.endswith((".log", ".tmp"))}
    before = _BEFORE[str(out)]
    return None if before is None else set(os.listdir(out)) - before


_RUN_NAMES = {".hydra", "config.yaml", "timeseries.parquet", "panel.parquet", "figures"}


def _refuse(message: str, code: int):
    import sys

    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _open(node):
    from omegaconf import flag_override

    return flag_override(node, ["struct", "readonly"], [False, False])


def _run_dir(config) -> Path | None:
    """The single run's folder, resolved as Hydra will resolve it (``${now:...}`` is cached
    on the config, so both see the same time)."""
    try:
        return Path(os.path.abspath(str(OmegaConf.select(config, "hydra.run.dir"))))
    except Exception:  # an unresolvable folder: Hydra itself will report it
        return None


def config_groups() -> set[str]:
    """Names of the config groups (``council=...``, ``scenario=...``, ``experiment=...``)."""
    return {p.name for p in CONFIG_DIR.iterdir() if p.is_dir()} | {"experiment"}


def check_override_keys(overrides) -> None:
    """Raise ConfigError naming every override (Hydra syntax) whose key is neither a config
    group nor in the schema (with the closest key), and every value of a parameter, or of a
    sweep over it, that is not a finite number, out of its range or not one of its choices."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    groups = config_groups()
    leaves, _ = _schema()
    errors = []
    for o in OverridesParser.create().parse_overrides(list(overrides)):
        key = o.key_or_group
        if key == "hydra" or key.startswith(("hydra.", "hydra/")) or "/" in key or o.package:
            continue
        if key in groups and not o.is_delete():
            continue
        try:
            check_key(key)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        if key in leaves and not o.is_delete():
            values = list(o.sweep_iterator()) if o.is_sweep_override() else [o.value()]
            for value in values:
                errors += _sweep_value_errors(key, leaves[key], value)
    if errors:
        raise _invalid(errors)


def _sweep_value_errors(key: str, f, value) -> list[str]:
    """Errors of a value as Hydra parsed it from the command line, where OmegaConf will still
    convert types (``council.name=3`` is the label "3"): non-finite numbers, ranges, choices."""
    if f.type in ("float", "int") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        return _value_errors(key, f, float(value) if f.type == "float" else value)
    if f.metadata.get("choices") is not None and isinstance(value, str):
        return _value_errors(key, f, value)
    return []


def register_schema():
    """Make ``schema`` (the dataclasses above, and ``RunGuard`` with the scenarios listed in
    ``--help``) available to Hydra's defaults list."""
    from hydra.core.config_store import ConfigStore

    from .scenarios import listing

    header = ("python -m sim: one run of the social-care market model (python -m sim -m: a "
              "sweep).\n\n== Scenarios ==\nscenario=NAME (also: python -m sim.scenarios)\n\n"
              + listing(width=100).replace("${", "\\${") + "\n")
    cs = ConfigStore.instance()
    cs.store(name="sim_schema", node=SimConfig)
    cs.store(name="sim_hydra", node={"hydra": {
        "callbacks": {"run_guard": {"_target_": "sim.config.RunGuard"}},
        "help": {"header": header}}})
    cs.store(name="schema", node={"defaults": ["sim_schema", "sim_hydra", "_self_"]})


def compose(*overrides: str) -> SimConfig:
    """The validated config for Hydra-style overrides, as ``python -m sim`` would build it
    (for notebooks, benchmarks and tests): ``compose("scenario=england", "seed=3")``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_schema()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        dc = hydra_compose("config", overrides=list(overrides))
    return to_config(dc)


def band_hours(cc) -> list[float]:
    """Lower bound of eligible need (hours/week) of each FACS band, lowest band first."""
    return [0.0, cc.band_hours_moderate, cc.band_hours_substantial, cc.band_hours_critical]
