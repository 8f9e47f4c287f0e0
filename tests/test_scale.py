"""The fast path at England shape: several councils sharing providers, and the agent API."""

import numpy as np

from sim.config import compose
from sim.model import CareMarketModel
from sim.state import ROUTES


def test_small_england_shaped_scenario():
    cfg = compose("scenario=england", "geography.n_councils=6", "council.n_users=600", "steps=26",
                  "geography.neighbour_radius=0.6", "output.panel_size=50")
    m = CareMarketModel(cfg).run()
    ts = m.recorder.timeseries(m)
    assert ts["council"].nunique() == 6 and len(ts) == 6 * 26
    # Councils differ in size, planning capacity and starting uptake, so outcomes differ.
    assert m.council.n_users0.std() > 0
    assert ts.groupby("council")["pb_share"].last().std() > 0
    # Some agencies serve more than one council (a shared market).
    e = m.edges
    per_provider = np.bincount(e.provider[e.active])
    assert (per_provider > 1).any()
    panel = m.recorder.panel_frame()
    assert 0 < panel["uid"].nunique() <= 50 and panel["step"].max() == 26


def test_mesa_agents_are_views_over_the_arrays():
    m = CareMarketModel(compose("council.n_users=500", "steps=4")).run()
    row = int(np.flatnonzero(m.users.active & (m.users.carer >= 0))[0])
    user = m.care_user(row)
    assert user is m.care_user(row)
    assert user.budget == m.users.budget[row] and user.route in ROUTES
    assert user.carer.user is user
    assert user.provider is None or user.provider.kind in ("agency", "day", "pa", "community")
    assert user in m.agents_by_type[type(user)]
    assert len(m.agents_by_type[type(m.council_agents[0])]) == 1
