"""The fast path at England shape: several councils sharing providers, and the agent API."""

import numpy as np

from sim.codes import ROUTES
from sim.config import compose
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
