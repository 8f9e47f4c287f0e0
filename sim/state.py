"""Per-agent state as columns of numpy arrays.

Why: the weekly step must touch 850,000 users (England) without a Python loop, so users,
carers, providers and provider-council service edges each live in a ``Table`` of columns.
Exited rows are marked inactive and their slots are reused by entrants, so row indices stay
stable for the lifetime of an agent (a Mesa handle checks ``uid`` to notice reuse).
"""

from __future__ import annotations

import numpy as np

from .codes import GONE, N_OPTIONS


def small_keys(keys: np.ndarray, n: int) -> np.ndarray:
    """``keys`` (all in [0, n)) as int16 when they fit: numpy's stable sort of 16-bit keys is
    a radix sort, several times faster than a comparison sort of wider integers."""
    return keys.astype(np.int16) if n <= _INT16_MAX else keys


_INT16_MAX = int(np.iinfo(np.int16).max)    # (np.iinfo builds an object on every call)


class Table:
    """Fixed-schema columns with slot reuse; ``add`` returns the row indices it filled."""

    def __init__(self, schema: dict[str, tuple], capacity: int):
        self._schema = schema
        self.size = max(int(capacity), 16)
        #: Bumped by every ``add``, ``claim`` and ``remove``: a cache of anything derived from
        #: which rows are in use (``providers.ProviderIndex``) compares it instead of recounting.
        self.version = 0
        self.active = np.zeros(self.size, dtype=bool)
        self.uid = np.full(self.size, -1, dtype=np.int64)
        self._next_uid = 0
        # Shaped columns are stored option-major, (k, rows): each option is a contiguous
        # row, so whole-column arithmetic is 1-D and fast (a (rows, 5) layout was 5-20x slower).
        # Columns of the same dtype and shape are rows of one block array (each column a
        # C-contiguous view of its row), so reusing rows resets each block in one assignment
        # of its columns' fill values instead of one per column (a user has ~56 columns in 6
        # blocks; ``add`` runs once per entrant batch).  Columns are never rebound, only
        # written in place, so the views stay the columns' storage; ``_grow`` rebinds them to
        # the grown blocks.
        self._blocks: dict[tuple, list[str]] = {}
        for name, (dtype, _fill, *shape) in schema.items():
            self._blocks.setdefault((np.dtype(dtype), tuple(shape)), []).append(name)
        #: Each block's fill values, one per column, shaped to broadcast over its rows (a
        #: scalar where all its columns share one).
        self._fills = {}
        for key, names in self._blocks.items():
            fills = [schema[n][1] for n in names]
            self._fills[key] = (fills[0] if len(set(map(repr, fills))) == 1 else
                                np.array(fills, dtype=key[0]).reshape(-1, *[1] * len(key[1]), 1))
        self._store = {}
        for key in self._blocks:
            self._bind(key, self._new_block(key, self.size))

    def _new_block(self, key, size: int) -> np.ndarray:
        """A block of ``size`` rows at its columns' fill values (columns filled with zeros are
        left to ``np.zeros``, so their pages are not written until used)."""
        dtype, shape = key
        names = self._blocks[key]
        block = np.zeros((len(names), *shape, size), dtype=dtype)
        for i, name in enumerate(names):
            fill = self._schema[name][1]
            if fill != 0:
                block[i] = fill
        return block

    def _bind(self, key, block):
        self._store[key] = block
        for i, name in enumerate(self._blocks[key]):
            setattr(self, name, block[i])

    def _reset(self, rows):
        fills = self._fills
        for key, block in self._store.items():
            block[..., rows] = fills[key]

    def _grow(self, need: int):
        # What is needed plus 5% (not a quarter more): every whole-table pass reads every
        # row, used or not, each week (England's users grew once at set-up, by 23,000, and a
        # quarter more left 270,000 empty rows).
        new_cap = self.size + need + max(self.size // 20, 16)
        extra = new_cap - self.size
        self.active = np.concatenate([self.active, np.zeros(extra, dtype=bool)])
        self.uid = np.concatenate([self.uid, np.full(extra, -1, dtype=np.int64)])
        for key, block in list(self._store.items()):
            self._bind(key, np.concatenate([block, self._new_block(key, extra)], axis=-1))
        self.size = new_cap

    def add(self, n: int) -> np.ndarray:
        """Claim ``n`` rows (reset to the schema's fill values) and return their indices."""
        if n <= 0:
            return np.empty(0, dtype=np.int64)
        rows = self._lowest_free(n)
        self.version += 1
        if rows[0] < self._fresh:       # some rows were used before: reset them
            self._reset(rows)
        self._fresh = max(self._fresh, int(rows[-1]) + 1)
        self.active[rows] = True
        self.uid[rows] = np.arange(self._next_uid, self._next_uid + n)
        self._next_uid += n
        return rows

    def _lowest_free(self, n: int) -> np.ndarray:
        """The ``n`` lowest unused rows (growing the table if there are fewer).  Every row
        below ``_hint`` is in use, so the search starts there and widens until it has ``n``:
        in England a week's few thousand entrants are found within a few tens of thousands
        of rows instead of scanning a million."""
        lo, width = self._hint, max(4 * n, 4096)
        while True:
            free = np.flatnonzero(~self.active[lo:lo + width]) + lo
            if free.size >= n or lo + width >= self.size:
                break
            width *= 4
        if free.size < n:
            self._grow(n - free.size)
            free = np.flatnonzero(~self.active[lo:]) + lo
        rows = free[:n]
        self._hint = int(rows[-1]) + 1
        return rows

    #: Every row below this one is in use (``_lowest_free``).
    _hint = 0
    #: No row at or above this one has ever been used: its columns still hold their fill
    #: values, so ``add`` need not reset them (the starting population fills a fresh table).
    _fresh = 0

    def claim(self, rows: np.ndarray) -> np.ndarray:
        """Claim these particular (inactive) rows, growing the table to hold them: a table
        whose rows mirror another's (a carer lives in the row of the person cared for)."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return rows
        if rows.max() >= self.size:
            self._grow(int(rows.max()) + 1 - self.size)
        if self.active[rows].any():
            raise ValueError("claim: some rows are already in use")
        self.version += 1
        self._fresh = max(self._fresh, int(rows.max()) + 1)
        self._reset(rows)
        self.active[rows] = True
        self.uid[rows] = np.arange(self._next_uid, self._next_uid + rows.size)
        self._next_uid += rows.size
        return rows

    def remove(self, rows: np.ndarray):
        """Mark rows inactive and reset the columns that whole-column phases read (all of them
        unless ``reset_on_remove`` names a subset), so they see neutral values there; ``add``
        resets every column when a row is reused."""
        self.active[rows] = False
        self.version += 1
        if np.size(rows):
            self._hint = min(self._hint, int(np.min(rows)))
        if self.reset_on_remove is None:
            self._reset(rows)
            return
        for name in self.reset_on_remove:
            getattr(self, name)[..., rows] = self._schema[name][1]

    reset_on_remove: tuple | None = None

    def set_rows(self, name: str, rows, values):
        getattr(self, name)[:, rows] = np.asarray(values).T

    @property
    def n(self) -> int:
        return int(self.active.sum())


def user_table(capacity: int) -> Table:
    f8, i4, i1, b = np.float64, np.int32, np.int8, bool
    table = Table({
        # Unused rows: council 0 and route GONE with zero need and mix, so whole-column
        # operations (bincount by council, masks by route) ignore them without a gather.
        # council is intp: bincount would convert an int32 key on every call.
        "council": (np.intp, 0), "group": (i1, 0), "route": (i1, GONE),
        "total_need": (f8, 0.0),        # hours/week before any family care
        "need": (f8, 0.0),              # eligible formal need, hours/week (total - unpaid care)
        "informal": (f8, 0.0),          # hours/week of unpaid care from the family carer
        "assessed": (f8, 0.0),          # need recorded at the last review
        "pc_share": (f8, 0.5),          # share of need that is personal care
        "fit": (f8, 0.5, N_OPTIONS),            # preference fit for each option (revealed by planning)
        "autonomy": (f8, 0.5),          # how much the person wants to manage their own care
        "capability": (f8, 0.5),        # how well they can manage it themselves (0-1)
        # Support planning the person's PB had: 1 a full plan, less a rushed one, 0 none.
        "plan_quality": (f8, 0.0), "brokered": (b, False),
        "in_queue": (b, False), "queue_since": (i4, -1), "planning_until": (i4, -1),
        "wants_route": (i1, -1),        # route chosen when accepting an offer (while queued)
        "plan_hours": (f8, 0.0),        # planner hours given to the plan under way
        "converted_step": (i4, -1), "review_step": (i4, 0),
        # Exit: when the hazard accumulated since entry reaches the person's exit clock (an
        # Exp(1) draw), so a move into a care home changes the hazard, not the luck.  Next
        # step-increase in need: a geometric waiting time from a common random number.
        "exit_clock": (f8, np.inf), "hazard": (f8, 0.0), "shock_step": (i4, 2**31 - 1),
        "ras_error": (f8, 1.0),         # the RAS questionnaire's error at the last assessment
        "budget": (f8, 0.0),            # £/week personal budget
        # £ the means test counts (set when a self-funder moves into a care home; run down by
        # the fees they pay, then by tariff income once council-funded; 0 for everyone else).
        "capital": (f8, 0.0),
        "dp_balance": (f8, 0.0),        # £ held in a direct-payment account
        "mix": (f8, 0.0, N_OPTIONS),            # care hours/week chosen per option
        "delivered": (f8, 0.0, N_OPTIONS),      # care hours/week received per option
        "spend": (f8, 0.0),             # £ spent on the user's support this week
        "met": (f8, 1.0),               # share of need met this week
        "qol": (f8, 0.5), "choice": (f8, 0.2),
        "qol_before": (f8, np.nan), "choice_before": (f8, np.nan),
        "trad_cost_at_conv": (f8, np.nan),
        "cum_pb_cost": (f8, 0.0), "cum_trad_equiv": (f8, 0.0),
        # The saving's parts (accounting.package_costs): £/week at the last composition of the
        # mix, and their running sums over the person's weeks on a PB.
        "c_trad_own": (f8, 0.0),        # the traditional mix at the prices this person pays
        "c_wanted": (f8, 0.0),          # the chosen mix, before any cut to the budget
        "c_bought": (f8, 0.0),          # the chosen mix, cut to the budget
        "cum_trad_own": (f8, 0.0), "cum_wanted": (f8, 0.0), "cum_bought": (f8, 0.0),
        "cum_spend": (f8, 0.0), "cum_broker": (f8, 0.0),
        "cum_council": (f8, 0.0),       # council's cost: DP transfers net of recovery, or spend
        # Outcomes summed over the last output.effect_window_weeks of the run (the person's
        # effects against the counterfactual are these means' differences).
        "win_qol": (f8, 0.0), "win_choice": (f8, 0.0), "win_unmet": (f8, 0.0),
        "win_need": (f8, 0.0), "win_weeks": (i4, 0),
        "main_provider": (i4, -1), "disrupted_until": (i4, -1),
        "displaced_step": (i4, -1),     # last week their provider closed or handed them back
        "carer": (i4, -1),
    }, capacity)
    # Kernels skip route GONE; the queue, balances and carer link are read by masks.
    table.reset_on_remove = ("route", "in_queue", "planning_until", "dp_balance", "carer",
                             "main_provider", "brokered", "spend", "budget", "capital")
    return table


def carer_table(capacity: int) -> Table:
    """Family carers, one per person at most, each in the same row as the person cared for
    (``Table.claim``): the weekly carer pass then reads users' columns in order instead of
    jumping about a million-row table."""
    f8, i4, b = np.float64, np.int32, bool
    return Table({
        "user": (i4, -1), "available": (f8, 0.0), "informal": (f8, 0.0), "paid": (f8, 0.0),
        "same_household": (b, False), "strain": (f8, 0.2), "burnt_out": (b, False),
        "strain_offset": (f8, 0.0),     # resilience: offset of the carer's settled strain
        "replaced": (f8, 0.0),          # paid hours/week that replace care given unpaid
        "cum_received": (f8, 0.0),
    }, capacity)


def provider_table(capacity: int) -> Table:
    f8, i4, i1 = np.float64, np.int32, np.int8
    table = Table({
        "ptype": (i1, 0), "home": (i4, -1),
        "capacity": (f8, 0.0),          # billable hours (beds for residential) per week
        "capacity_cleared": (f8, 0.0),  # capacity when this week's market cleared
        # Workforce (labour.staffing): posts it wants staffed and posts it has staff for, in
        # billable units (hours, beds); vacancies are the difference.
        "posts": (f8, 0.0), "staffed": (f8, 0.0),
        "price": (f8, 0.0),             # spot price £/hour (£/bed-week)
        "overhead": (f8, 0.0),          # £/week fixed
        "own_wage": (f8, 0.0),          # £/hour it pays if above the local wage (0 = local)
        "cash": (f8, 0.0),
        "delivered": (f8, 0.0), "delivered_ema": (f8, 0.0), "revenue": (f8, 0.0),
        "asked": (f8, 0.0),             # units buyers asked of it this week (demand pressure)
        "block_revenue": (f8, 0.0), "cost": (f8, 0.0),
        "cum_revenue": (f8, 0.0), "cum_cost": (f8, 0.0),
        "occupied": (f8, 0.0),          # beds occupied (residential)
        "margin_ema": (f8, 0.0),        # smoothed (revenue - cost) / cost
        "unit_cost": (f8, 0.0),         # £ of full cost per unit at the target utilisation
        "built": (f8, 0.0),             # capacity it was set up for (units/week)
        "tolerance": (f8, 1.0),         # its loss tolerance, x market.exit_margin/overdraft_weeks
        "entered_step": (i4, 0), "exit_step": (i4, -1),
    }, capacity)
    # A provider that leaves keeps its history (when it entered and left, its cash when it
    # left, what it earned and spent) until its row is reused; phases read providers through
    # the active mask.
    keep = ("entered_step", "exit_step", "cash", "cum_revenue", "cum_cost")
    table.reset_on_remove = tuple(k for k in table._schema if k not in keep)
    return table


def edge_table(capacity: int) -> Table:
    """Provider x council service edges; block contracts live on edges."""
    f8, i4 = np.float64, np.int32
    return Table({
        "provider": (i4, -1), "council": (i4, -1),
        "block_volume": (f8, 0.0), "block_price": (f8, 0.0), "block_end": (i4, -1),
        "block_hours": (f8, 0.0), "spot_hours": (f8, 0.0),
        "block_pay": (f8, 0.0),         # £ paid under the block contract this week
        "revenue": (f8, 0.0),           # £ received this week through this edge
    }, capacity)
