"""Live dashboard: ``solara run sim.app`` (then open http://localhost:8765).

A presenter moves the main policy levers, steps or plays the model, and watches uptake, spend
by route, provider count, prices and unmet need update.  Built on Mesa's SolaraViz; the model
is the full simulator (a smaller council than the default, so each week takes milliseconds).
"""

from __future__ import annotations

import logging

from mesa.visualization import SolaraViz, make_plot_component

from sim.config import compose, to_config
from sim.model import CareMarketModel

logging.getLogger("MESA").setLevel(logging.WARNING)
BASE = compose("scenario=personal_best_2010")   # composed once: no Hydra calls per session


class DashboardModel(CareMarketModel):
    """The simulator with its main levers as keyword arguments (SolaraViz sets them)."""

    def __init__(self, pb_target=0.3, rollout_months=12.0, planning_staff=2.0,
                 ras_affordability=1.0, block_wind_down=0.5, family_pay_rule="non_resident",
                 n_users=3000, seed=0):
        cfg = to_config(BASE, **{
            "policy.pb_target": float(pb_target), "policy.rollout_months": float(rollout_months),
            "council.planning_staff": float(planning_staff),
            "policy.ras_affordability": float(ras_affordability),
            "policy.block_wind_down": float(block_wind_down),
            "policy.family_pay_rule": str(family_pay_rule), "council.n_users": int(n_users),
            "seed": int(seed), "steps": 260})
        super().__init__(cfg)


model_params = {
    "pb_target": {"type": "SliderFloat", "value": 0.3, "label": "PB target (share)",
                  "min": 0.13, "max": 1.0, "step": 0.05},
    "rollout_months": {"type": "SliderFloat", "value": 12.0, "label": "Months to reach target",
                       "min": 1.0, "max": 36.0, "step": 1.0},
    "planning_staff": {"type": "SliderFloat", "value": 2.0, "label": "Support planners (FTE)",
                       "min": 0.0, "max": 12.0, "step": 0.5},
    "ras_affordability": {"type": "SliderFloat", "value": 1.0, "label": "RAS price per point (x today)",
                       "min": 0.7, "max": 1.3, "step": 0.05},
    "block_wind_down": {"type": "SliderFloat", "value": 0.5,
                        "label": "Block wind-down (share/year)", "min": 0.0, "max": 4.0,
                        "step": 0.25},
    "family_pay_rule": {"type": "Select", "value": "non_resident", "label": "Pay family carers",
                        "values": ["none", "non_resident", "any"]},
    "n_users": {"type": "SliderInt", "value": 3000, "label": "Council size (users)",
                "min": 500, "max": 20000, "step": 500},
    "seed": {"type": "InputText", "value": 0, "label": "Seed"},
}

components = [
    make_plot_component("pb_share"),
    make_plot_component({"spend_traditional": "tab:blue", "spend_personal_budgets": "tab:orange"}),
    make_plot_component("providers"),
    make_plot_component("spot_price_agency"),
    make_plot_component("unmet_need_share"),
]

model = DashboardModel()
page = SolaraViz(model, components=components, model_params=model_params,
                 name="Self-directed care market")
