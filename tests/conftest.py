import pytest

from sim.config import compose, to_config
from sim.model import CareMarketModel

SMALL = {"council.n_users": 2000, "steps": 52}


def small_cfg(**overrides):
    return to_config(None, **{**SMALL, **overrides})


@pytest.fixture(scope="session")
def default_run():
    """One small default run shared by read-only tests."""
    return CareMarketModel(small_cfg()).run()


def run(**overrides):
    return CareMarketModel(small_cfg(**overrides)).run()


def small_england(n_users: int, *extra, weeks: int = 2):
    """An England-shaped model (four synthetic councils of ``n_users``, the England scenario's
    people) stepped ``weeks`` weeks: for tests of who the England people are."""
    m = CareMarketModel(compose("scenario=england", "geography.n_councils=4",
                                f"council.n_users={n_users}", f"steps={weeks}",
                                "output.figures=false", "output.counterfactual=false", *extra))
    for _ in range(weeks):
        m.step()
    return m
