"""What a phase is, what it declares, and the week it works in.

A **phase** is one named step of the weekly schedule (``sim.schedule.PHASES``): a function
``run(model, week)`` in the module named for its subject, which says in words what it reads
and writes and declares the time-series columns it produces (name, unit, meaning).  It fills
those columns with ``week.put`` and nothing else does; the recorder only assembles them.

A **week** (``Week``) is created by ``CareMarketModel.step`` and handed to every phase in
turn: values one phase passes to a later one in the same week travel in its fields, never as
attributes hung on the model.  Persistent state lives in the state tables and in the model's
and councils' ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .codes import N_TYPES


@dataclass(frozen=True)
class Column:
    """One time-series column: one value per council per week.

    ``scale`` says whether the figure adds up over councils (a count, £, hours: the national
    figure is the sum) or not (a share, a price, an index, a mean: the national figure is the
    mean over councils), as starsim's results do."""

    name: str
    unit: str
    meaning: str
    scale: bool = True


@dataclass(frozen=True)
class Phase:
    """A named step of the week (see the module docstring)."""

    name: str
    run: Callable[[Any, Week], None]
    reads: str
    writes: str
    columns: tuple[Column, ...] = ()

    @property
    def module(self) -> str:
        return self.run.__module__


@dataclass
class Week:
    """One week's hand-offs between phases (all per council unless said otherwise)."""

    t: int          # the week's number on the model's clock (1 = first burn-in week)
    n_councils: int
    ledger: Any                               # accounting.Ledger: the week's money flows
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    #: Brokered people per council, counted by the rollout phase and kept current by
    #: conversions (None: not counted this week; a conversion then counts afresh).
    broker_used: np.ndarray | None = None
    clearing: Any = None                      # market.Clearing of this week
    sales: Any = None                         # market.Sales: per provider units, £, block £
    census: dict[str, np.ndarray] | None = None   # per (council, route) sums (outcomes phase)
    entries: np.ndarray | None = None         # providers entering, per council x type
    exits: np.ndarray | None = None           # providers leaving, per council x type
    displaced: np.ndarray | None = None       # people re-placed after an exit or hand-back
    offers: np.ndarray | None = None          # PB offers made, per council (rollout, review)
    acceptances: np.ndarray | None = None     # offers accepted, per council
    unplaced: np.ndarray | None = None        # people seeking a care-home bed who found none
    #: Edge rows whose block contract came up for renewal this week (blocks phase): the only
    #: contracts a provider may hand back (providers' finances).
    renewed: np.ndarray | None = None

    def __post_init__(self):
        for name in ("displaced", "offers", "acceptances", "unplaced"):
            setattr(self, name, np.zeros(self.n_councils, dtype=np.int64))
        for name in ("entries", "exits"):
            setattr(self, name, np.zeros((self.n_councils, N_TYPES), dtype=np.int64))
        self.renewed = np.zeros(0, dtype=np.int64)

    def put(self, name: str, values) -> None:
        """Fill a declared column (one value per council)."""
        self.columns[name] = values


def rate(a, b, empty=np.nan) -> np.ndarray:
    """a / b where b > 0, else NaN (a rate with no denominator is undefined, not zero) or
    ``empty`` where the caller reads an undefined rate as that."""
    b = np.asarray(b, float)
    out = np.empty(b.shape)
    out.fill(empty)         # (np.full's Python layer costs more than the division)
    return np.divide(a, b, out=out, where=b > 0)
