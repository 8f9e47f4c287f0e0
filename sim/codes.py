"""Codes and sizes: the one registry of the model's categorical codes.

Every route, support option, provider type and buyer side is a small integer so that state
can live in numpy columns and the compiled kernels can branch on it; the integers are
defined here and nowhere else (kernels read them as compile-time constants).  The route sets
("holds a personal budget", "council-funded") are functions that work on a scalar (inside a
kernel) and on an array (a numpy mask) alike.
"""

from __future__ import annotations

#: Weeks in a year: annual rates and amounts are converted with this one figure.
WEEKS_PER_YEAR = 52.0
#: Hours in a week: nobody needs more care than this (total need is capped here).
HOURS_PER_WEEK = 168.0

# ---------------------------------------------------------------- funding routes of a person
# A care-home resident is council-funded (RES: the council pays its rate, the resident
# contributes income and tariff income) or self-funding (RES_SELF: pays the home's list price
# from income and capital until the means test's upper capital limit, then RES).  Routes below
# RES live in the community; GONE marks an unused row.
TRAD, DP, MPB, SELF, RES, RES_SELF, GONE = 0, 1, 2, 3, 4, 5, 6
ROUTES = ("traditional", "direct_payment", "managed_pb", "self_funder", "residential",
          "residential_self_funder", "gone")
N_ROUTES = len(ROUTES)

# ---------------------------------------------------------------- support options of a mix
# Columns of a person's mix of care hours.  The first N_MARKET_OPTIONS are bought from
# providers of the same-numbered provider type; paid family care is paid directly.
AGENCY, DAY, PA, COMMUNITY, FAMILY = 0, 1, 2, 3, 4
OPTIONS = ("agency", "day", "pa", "community", "family")
N_OPTIONS = len(OPTIONS)
N_MARKET_OPTIONS = 4

# ---------------------------------------------------------------- provider types
# Types 0-3 share their codes with the options they sell; care homes sell beds, not hours.
RESIDENTIAL = 4
PROVIDER_TYPES = ("agency", "day", "pa", "community", "residential")
N_TYPES = len(PROVIDER_TYPES)

# ---------------------------------------------------------------- buyer sides of the market
# Who buys a person's care: the person at spot prices (direct payment, self-funder), the
# council for a traditional package, the council for a managed PB (through its contracts,
# paid from the person's budget).
BUY_SPOT, BUY_COUNCIL_TRAD, BUY_COUNCIL_MPB = 0, 1, 2
BUYERS = ("spot", "council_traditional", "council_managed_pb")
N_BUYERS = len(BUYERS)


def holds_pb(route):
    """Holds a personal budget (direct payment or managed PB)."""
    return (route == DP) | (route == MPB)


def council_funded(route):
    """Council-funded and living in the community (traditional package or a PB)."""
    return (route == TRAD) | (route == DP) | (route == MPB)


def in_care_home(route):
    """Lives in a care home, council-funded or self-funding."""
    return (route == RES) | (route == RES_SELF)


def buyer(route):
    """The buyer side (``BUY_*``) of a person with this route (a scalar)."""
    return BUY_COUNCIL_TRAD if route == TRAD else (BUY_COUNCIL_MPB if route == MPB else BUY_SPOT)
