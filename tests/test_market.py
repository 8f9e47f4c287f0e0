"""The provider market: block contracts as contracts, concentration by provider type."""

import numpy as np

from sim.codes import AGENCY, N_TYPES
from sim.config import compose
from sim.model import CareMarketModel


def _agency_block_volume(m):
    e, p = m.edges, m.providers
    live = e.active & (e.block_volume > 0) & (p.ptype[e.provider] == AGENCY)
    return e.block_volume[live].sum(), np.unique(e.provider[live]).size


def test_block_volume_is_what_the_council_wants_not_what_six_agencies_can_carry():
    m = CareMarketModel(compose("council.n_users=10000", "steps=1", "burn_in_weeks=0",
                                "output.figures=false"))
    volume, holders = _agency_block_volume(m)
    wanted = m.cfg.council.block_share * m.council.trad_units.reshape(-1, N_TYPES)[0, AGENCY]
    assert volume == np.float64(volume) and abs(volume - wanted) < 1e-6 * wanted
    assert holders > m.cfg.council.block_providers        # more than six were needed
    # No contract takes more than the allowed share of its provider's capacity.
    e, p = m.edges, m.providers
    b = np.flatnonzero(e.active & (e.block_volume > 0))
    assert (e.block_volume[b] <= m.cfg.council.block_max_load * p.capacity[e.provider[b]] + 1e-9).all()


def test_wind_down_speed_changes_the_agency_market():
    """Same seed, two wind-down speeds: block volume, agency utilisation and prices differ.
    (Managed PBs buy through the council's contracts, so only direct payments strand block
    volume: here running a direct payment is made easy, so most PB holders take one.)"""
    runs = {}
    for speed in (0.0, 4.0):
        m = CareMarketModel(compose("council.n_users=4000", "steps=104", "policy.pb_target=0.6",
                                    "behaviour.admin_dp_hours=0.3", "behaviour.control_managed=0.3",
                                    f"policy.block_wind_down={speed}", "output.figures=false")).run()
        runs[speed] = m.recorder.timeseries(m)
    slow, fast = runs[0.0], runs[4.0]
    assert fast["block_volume_agency"].iloc[-1] < 0.97 * slow["block_volume_agency"].iloc[-1]
    assert not np.allclose(fast["spot_price_agency"], slow["spot_price_agency"])
    assert not np.allclose(fast["utilisation"], slow["utilisation"])


def test_concentration_is_reported_per_provider_type():
    m = CareMarketModel(compose("council.n_users=3000", "steps=4", "output.figures=false")).run()
    ts = m.recorder.timeseries(m)
    # A council's few agencies are far more concentrated than its pooled market of every type.
    assert (ts["hhi_agency"] > ts["hhi"]).all()
    assert ts[[c for c in ts if c.startswith("hhi")]].stack().between(0, 10_000).all()
