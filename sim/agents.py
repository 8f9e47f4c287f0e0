"""Mesa agents: the public, per-agent view of the model's array state.

Each agent is a thin handle over one row of a table in ``sim.state``: reading an attribute
reads the array, so an analyst sees exactly what the vectorised step computed.  Behaviour
lives in the phase modules, where it runs for all agents at once.
"""

from __future__ import annotations

import mesa

from .codes import OPTIONS, PROVIDER_TYPES, ROUTES
from .config import GROUPS


class _Row(mesa.Agent):
    table_name = ""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = row
        self.uid = int(getattr(model, self.table_name).uid[row])

    def _get(self, col):
        return getattr(self.model, self.table_name).__dict__[col][self.row]

    @property
    def alive(self) -> bool:
        t = getattr(self.model, self.table_name)
        return bool(t.active[self.row] and t.uid[self.row] == self.uid)


class CareUser(_Row):
    """A person with eligible care needs (or a self-funder, or a care-home resident).

    Created on request only: ``model.agents_by_type[CareUser]`` holds the users someone asked
    for, not everyone (England has about a million; as Python objects they would cost more
    than the simulation).  Ask with ``model.care_user(row)``, ``model.sample_users(k,
    route="direct_payment", council=3)`` (k at random) or ``model.iter_users(...)`` (one by
    one); the filters take the codes of ``sim.codes`` or their names.  A handle stays a Mesa
    agent of the model until the person leaves (``alive`` then turns false).
    """

    table_name = "users"

    group = property(lambda self: GROUPS[self._get("group")])
    route = property(lambda self: ROUTES[self._get("route")])
    council = property(lambda self: self.model.council_agents[self._get("council")])
    need = property(lambda self: float(self._get("need")), doc="eligible need, hours/week")
    budget = property(lambda self: float(self._get("budget")), doc="personal budget, £/week")
    plan_quality = property(lambda self: float(self._get("plan_quality")))
    qol = property(lambda self: float(self._get("qol")))
    choice = property(lambda self: float(self._get("choice")))

    @property
    def support_mix(self) -> dict[str, float]:
        return dict(zip(OPTIONS, map(float, self._get("mix")), strict=True))

    @property
    def provider(self):
        p = int(self._get("main_provider"))
        return self.model.provider_agents.get(p) if p >= 0 else None

    @property
    def carer(self):
        c = int(self._get("carer"))
        return self.model.family_carer(c) if c >= 0 else None

    def __repr__(self):
        return (f"CareUser(row={self.row}, {self.group}, {self.route}, need={self.need:.1f}h, "
                f"budget=£{self.budget:.0f}/wk)")


class FamilyCarer(_Row):
    table_name = "carers"

    available = property(lambda self: float(self._get("available")))
    informal_hours = property(lambda self: float(self._get("informal")))
    paid_hours = property(lambda self: float(self._get("paid")))
    strain = property(lambda self: float(self._get("strain")))
    same_household = property(lambda self: bool(self._get("same_household")))

    @property
    def user(self):
        return self.model.care_user(int(self._get("user")))


class Provider(_Row):
    """A care provider (agency, day service, personal assistant, community organisation or
    care home); a Mesa agent from entry to exit (it leaves the model's agents when it exits)."""

    table_name = "providers"

    kind = property(lambda self: PROVIDER_TYPES[self._get("ptype")])
    home = property(lambda self: int(self._get("home")), doc="index of its home council")
    capacity = property(lambda self: float(self._get("capacity")))
    price = property(lambda self: float(self._get("price")))
    cash = property(lambda self: float(self._get("cash")))
    delivered = property(lambda self: float(self._get("delivered")))
    revenue = property(lambda self: float(self._get("revenue")))

    def __repr__(self):
        return f"Provider(row={self.row}, {self.kind}, cap={self.capacity:.0f}, £{self.price:.2f})"


class Council(mesa.Agent):
    """A council: budget, eligibility, planning staff, rollout target, block contracts.

    Its figures of a week are the time-series columns (``docs/columns.md``) for this council:
    ``figure(name)`` is this week's value, ``figures`` all of them; Mesa's DataCollector
    reports them every step (``get_agenttype_vars_dataframe(Council)``).
    """

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    name = property(lambda self: self.model.council.names[self.index])
    planning_staff = property(lambda self: float(self.model.council.planning_staff[self.index]))
    eligibility_threshold = property(lambda self: float(self.model.council.threshold[self.index]))

    def target_share(self, step=None) -> float:
        t = self.model.steps if step is None else step
        return float(self.model.council.target_share(t)[self.index])

    def figure(self, name: str, step: int | None = None):
        """Time-series column ``name`` for this council in the latest recorded week (or in
        week ``step``): the value in ``recorder.timeseries`` at (step, council)."""
        rows = self.model.recorder.rows
        if step is None:
            if not rows:
                raise LookupError("no week recorded yet (the model has not stepped)")
            return rows[-1][name][self.index]
        if not 1 <= step <= len(rows):
            raise LookupError(f"step {step} not recorded (steps 1..{len(rows)} are)")
        return rows[step - 1][name][self.index]

    @property
    def figures(self) -> dict:
        """Every time-series column for this council in the latest recorded week."""
        return {"council_name": self.name} | {n: self.figure(n) for n in self.model.recorder.names}

    def __repr__(self):
        return f"Council({self.name!r})"
