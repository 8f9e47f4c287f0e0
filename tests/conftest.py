import pytest

from sim.config import to_config
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
