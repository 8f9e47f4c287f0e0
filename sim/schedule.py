"""The weekly schedule: one declared, ordered list of named phases.

``CareMarketModel.step`` walks ``PHASES`` in order, handing each the same ``Week``; the
benchmark's per-phase profile, the ODD's schedule (docs/odd.md §1.3, checked by a test) and
the time-series column table (docs/columns.md, generated) read this same list.  Adding a
phase is one function with its ``Phase`` declaration in the module named for it, and one
line here.
"""

from __future__ import annotations

from .accounting import ACCOUNTS, CLAWBACK, PACKAGE_COSTS, STAFF_COSTS
from .carers import FAMILY_CARE
from .councils import BLOCKS, COUNCIL_BUDGET, FEES
from .labour import LABOUR_MARKET
from .market import PURCHASE
from .outcomes import OUTCOMES
from .planning import REVIEW, ROLLOUT
from .population import DEMOGRAPHY
from .providers import ENTRY, FINANCES
from .shocks import SHOCKS
from .week import Column, Phase

PHASES: tuple[Phase, ...] = (
    SHOCKS,           # at the stated week only: need, wage floor, block contracts
    DEMOGRAPHY,       # entry, exit, need progression, moves into care homes
    ROLLOUT,          # queue, plan, convert to personal budgets
    REVIEW,           # annual reviews of need and budget
    FEES,             # yearly fee uplift
    BLOCKS,           # block contracts wound down, renewed or ended
    PURCHASE,         # demand, market clearing, payments, care-home fees
    FAMILY_CARE,      # paid family care, strain, burnout
    STAFF_COSTS,      # planners and brokers paid
    CLAWBACK,         # unspent direct payments recovered
    PACKAGE_COSTS,    # each PB holder's cost against the traditional equivalent
    OUTCOMES,         # need met, quality of life, choice; the week's census
    LABOUR_MARKET,    # care-worker pool and wage
    FINANCES,         # providers' books, prices, staffing, exits
    ENTRY,            # new providers; the market at the end of the week
    ACCOUNTS,         # the week's books closed: running totals and the money columns
    COUNCIL_BUDGET,   # overspend tightens eligibility
)

#: Columns every row of the time series starts with (written by the recorder).
INDEX_COLUMNS: tuple[Column, ...] = (
    Column("step", "week", "week number (1 = the first week)"),
    Column("date", "date", "first day of the week"),
    Column("council", "code", "council index"),
    Column("council_name", "label", "council name"),
)


def columns() -> tuple[Column, ...]:
    """Every time-series column in output order: the index, then each phase's, in schedule
    order."""
    return INDEX_COLUMNS + tuple(c for phase in PHASES for c in phase.columns)


def _check_unique():
    seen: dict[str, str] = {}
    for phase in PHASES:
        for c in phase.columns:
            if c.name in seen:
                raise RuntimeError(f"column {c.name!r} is declared by both {seen[c.name]!r} and "
                                   f"{phase.name!r}")
            seen[c.name] = phase.name


_check_unique()
