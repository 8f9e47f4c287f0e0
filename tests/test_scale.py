"""The fast path at England shape: several councils sharing providers, and the agent API."""

import re

import numpy as np
import pandas as pd
import pytest

from sim import targets
from sim.codes import RESIDENTIAL, ROUTES
from sim.config import ConfigError, compose
from sim.councils import CouncilState, read_councils
from sim.model import CareMarketModel


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


def test_england_is_the_152_named_councils_of_2009_10():
    """scenario=england builds its councils from sim/data/england_councils_2009.csv: names,
    GSS codes, regions, sizes, council-funded residents, starting PB shares and care-home
    fees from the published 2009-10 counts; neighbours within regions."""
    C = CouncilState(compose("scenario=england"), np.random.default_rng(0))
    assert C.n == 152 and len(set(C.names)) == 152 and len(set(C.codes)) == 152
    assert {"Derbyshire", "Birmingham", "City of London", "Isles of Scilly", "Cornwall"} <= set(C.names)
    assert all(re.fullmatch(r"E(06|07|08|09|10)\d{6}", c) for c in C.codes)
    assert C.codes[C.names.index("Birmingham")] == "E08000025"
    assert len(C.region_names) == 9 and C.regions.count("London") == 33
    # Sizes: people at home (DP/PB + home care + day care at 31 March 2010) + supported
    # residents (resident weeks of 2009-10 / 52), one simulated person per real one.
    assert abs(C.funded_residents0.sum() - 12_048_155 / 52) < 200
    home = C.n_users0 - C.funded_residents0
    # (the published counts' sum over councils, plus stand-ins for Essex's day care and the
    # City of London's DP/PB)
    assert 0 <= home.sum() - (130_850 + 337_730 + 147_825) < 5_000
    assert C.n_users0[C.names.index("Kent")] > 20 * C.n_users0[C.names.index("Rutland")]
    # Starting PB shares: each council's own DP/PB count, nationally about 21%.
    assert abs((C.pb_start * home).sum() - 130_850) < 200
    assert 0.2 < (C.pb_start * home).sum() / home.sum() < 0.22 and C.pb_start.std() > 0.05
    data = read_councils("england_councils_2009.csv")
    derby = data["name"].index("Derby")
    assert np.isclose(C.pb_start[derby], 895 / (895 + 1695 + 645))
    # Care-home fees: each council's gross cost per supported resident week.
    fee = C.block_price[:, RESIDENTIAL]
    assert np.isclose(fee[derby], (48_455 - 13_789) * 1000 / 65_070)
    assert 600 < np.average(fee, weights=C.funded_residents0) < 750
    # Neighbours: councils of the same region only, each with some.
    for c in range(C.n):
        nb = C.neighbours(c)
        assert nb and all(C.regions[x] == C.regions[c] for x in nb)


def test_england_of_another_size_stays_synthetic():
    C = CouncilState(compose("scenario=england", "geography.n_councils=6"),
                     np.random.default_rng(0))
    assert C.names[0] == "Council 001" and C.funded_residents0 is None and C.codes == [""] * 6
    with pytest.raises(ConfigError, match="councils_file"):
        compose("geography.councils_file=no_such_file.csv")


@pytest.fixture(scope="module")
def england_year():
    """One national run's first year: its summary and time series."""
    from sim.recording import summary

    m = CareMarketModel(compose("scenario=england", "steps=52", "output.figures=false",
                                "output.counterfactual=false")).run()
    ts = m.recorder.timeseries(m)
    head = pd.DataFrame([{"run_key": "r", **summary(m, ts)}])
    ts.insert(0, "run_key", "r")
    return head, ts


def _england_targets(role):
    return [t for t in targets.load() if t.scenario == "england" and t.role == role]


#: England's predictions that miss today, stated in docs/validation.md: day care is about
#: 60% of the published line (the day-care price and most groups' day-care hours are not from
#: the return).  Strict: a pass makes the test fail, to be noticed.
ENGLAND_KNOWN_MISSES = {"england_day_care_gross_cost_2009_10"}
#: On the edge of its tolerance (95.2% of £16.8bn at the default parameters, 94.9% over the
#: posterior draws): held here within twice its tolerance, so that a regression is caught
#: while the report says pass or miss at the tolerance itself.
ENGLAND_BORDERLINE = {"england_gross_spend_2009_10"}


@pytest.mark.slow
def test_england_first_year_inputs_match_2009_10(england_year):
    """The registry's England input checks (DP/PB, home-care and day-care clients, home-care
    hours, supported residents, care-home spend, the unsimulated spend line) within their
    tolerances in the first year of one national run of the 152 councils."""
    summary, ts = england_year
    mine = _england_targets("calibration")
    assert {t.unit for t in mine} == {"people", "gbp", "hours_week"}
    for t in mine:
        value = float(targets.analogue(t, summary, ts).iloc[0])
        assert t.passes(value), (t.id, value, t.value)
    assert ts["council_name"].nunique() == 152


@pytest.mark.slow
@pytest.mark.parametrize("target_id", [t.id for t in _england_targets("validation")])
def test_england_first_year_predictions(england_year, target_id, request):
    """England's out-of-sample national figures: those that pass must keep passing, the known
    misses are strict expected failures."""
    if target_id in ENGLAND_KNOWN_MISSES:
        request.applymarker(pytest.mark.xfail(strict=True, reason="known miss, see "
                                              "docs/validation.md"))
    summary, ts = england_year
    t = next(t for t in targets.load() if t.id == target_id)
    value = float(targets.analogue(t, summary, ts).iloc[0])
    if target_id in ENGLAND_BORDERLINE:
        assert t.tolerance_kind == "relative"
        assert abs(value / t.value - 1) <= 2 * t.tolerance, (t.id, value, t.value)
    else:
        assert t.passes(value), (t.id, value, t.value)


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


_RUN_DIGEST = """
import hashlib, sys
from sim.config import compose
from sim.model import CareMarketModel
from sim import compiled
m = CareMarketModel(compose("scenario=england", "geography.n_councils=4", "council.n_users=500",
                            "steps=30", "output.figures=false")).run()
print(compiled.PATH, hashlib.sha256(m.recorder.timeseries(m).to_csv().encode()).hexdigest())
"""


def _digest(env_path: str | None) -> tuple[str, str]:
    import os
    import subprocess
    import sys

    env = {**os.environ}
    env.pop("SIM_KERNELS", None)
    if env_path:
        env["SIM_KERNELS"] = env_path
    out = subprocess.run([sys.executable, "-c", _RUN_DIGEST], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0], out[1]


def test_ahead_of_time_kernels_are_used_and_match_the_jit():
    """``make setup`` builds the kernels ahead of time (``python -m sim.aot``); they must be
    in use, and a run through them must be bit-identical to one through numba's JIT."""
    aot_path, aot = _digest(None)
    jit_path, jit = _digest("jit")
    assert aot_path == "aot", "the ahead-of-time kernels are missing or stale: python -m sim.aot"
    assert jit_path == "jit"
    assert aot == jit


def test_a_carer_stopping_reassesses_through_the_ahead_of_time_kernel():
    """Carers' rows are int32: the re-assessment when a carer stops must still reach the
    exported (int64 rows) kernel, not a JIT compile (it cost ~2 s in every England run)."""
    from sim import carers, compiled

    if compiled.PATH != "aot":
        pytest.skip("kernels not built ahead of time")
    m = CareMarketModel(compose("council.n_users=400", "steps=4", "output.figures=false"))
    m.run(2)
    k = np.flatnonzero(m.carers.active)[:5].astype(np.int32)
    before = len(compiled.JIT["compose_mix"].signatures) if "compose_mix" in compiled.JIT else 0
    carers.withdraw(m, k, 2)
    after = len(compiled.JIT["compose_mix"].signatures) if "compose_mix" in compiled.JIT else 0
    assert after == before


def test_kernel_with_unexpected_argument_types_falls_back_to_the_jit():
    """Compiled code does not check types, so a call whose types differ from the exported
    signature must run through the JIT kernel, not the ahead-of-time one."""
    from sim import compiled, passes

    council = np.array([0, 1, 1, 0])
    route = np.zeros(4, dtype=np.int8)
    flag = np.array([True, True, False, True])
    expected = np.array([2, 1])
    assert (passes.count_flag(council=council, route=route, flag=flag, n_councils=2)
            == expected).all()
    # int32 councils and a strided flag: not the exported signature.
    assert (passes.count_flag(council=council.astype(np.int32), route=route,
                              flag=np.repeat(flag, 2)[::2], n_councils=2) == expected).all()
    jit_sigs = [str(s) for s in compiled.JIT["count_flag"].signatures]
    assert any("int32" in s and "'A'" in s for s in jit_sigs)
