"""Common random numbers: a person's chance events keyed by who they are and when.

Why: a run's effects are measured against its counterfactual (the same seed without the
rollout, ``sim.counterfactual``), person by person.  That comparison is only fair if the same
person meets the same luck in both runs: the same need shocks, the same move into a care home,
the same carer burning out at the same strain, the same taste when offered a choice.  A single
random stream cannot give that: once the two runs make different decisions they consume
different numbers of draws and every later draw shifts.  So every per-person chance event
draws its uniform from a counter-based generator, a hash of (seed, stream, person uid, week),
which depends on nothing else that happened in the run.  (Philox and Threefry, the
counter-based generators of numpy and JAX, work the same way; splitmix64's finaliser is
enough here and vectorises in plain numpy.)

The market side (provider sampling, entry) and who the council approaches keep drawing from
the model's own generator: they are part of what the policy changes.
"""

from __future__ import annotations

import numpy as np

from . import passes

#: One stream per kind of chance event; the value is mixed into the hash.
STREAMS = {"shock": 1, "residential": 2, "burnout": 3, "accept_dp": 4, "accept_mpb": 5,
           "accept_trad": 6, "ras": 7, "reconsider_now": 8, "reconsider_mpb": 9,
           "reconsider_trad": 10, "self_fund": 11, "offer": 12,
           "capital": 13, "owner": 14}

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (a bijection of 64-bit integers with good avalanche), in place
    on ``x`` (uint64; returned)."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


_MASK = 2**64 - 1
#: Each (seed, stream)'s key, made once: ``_mix(seed * GOLD + stream)``.
_KEYS: dict[tuple[int, str], np.uint64] = {}


def _key(seed: int, stream: str) -> np.uint64:
    k = _KEYS.get((seed, stream))
    if k is None:
        x = np.array([(int(seed) * int(_GOLD) + STREAMS[stream]) & _MASK], dtype=np.uint64)
        k = _KEYS[(seed, stream)] = _mix(x)[0]
    return k


def uniform(seed: int, stream: str, uid, t) -> np.ndarray:
    """Uniform draws in (0, 1), one per ``uid`` (array), for the chance event ``stream`` in week
    ``t`` (an int or an array like ``uid``); the same arguments give the same draws in every
    run.  One compiled pass (``kernels.crn_uniform``); ``uniform_numpy`` is the same hash in
    numpy, kept as its reference."""
    key = _KEY_ARRAYS.get((seed, stream))
    if key is None:
        key = _KEY_ARRAYS[(seed, stream)] = np.array([_key(seed, stream)], dtype=np.uint64)
    return passes.crn_uniform(uid=np.asarray(uid), weeks=t, key=key)


#: ``_key`` as the one-element array the compiled pass takes (made once per stream).
_KEY_ARRAYS: dict[tuple[int, str], np.ndarray] = {}


def uniform_numpy(seed: int, stream: str, uid, t) -> np.ndarray:
    """``uniform`` in numpy (the reference the compiled pass is tested against)."""
    uid = np.asarray(uid)
    # int64 -> uint64 keeps the bits (two's complement): a view, not a copy.
    x = (uid if uid.dtype == np.int64 else uid.astype(np.int64)).view(np.uint64) * _GOLD
    if np.ndim(t) == 0:
        x += np.uint64((int(t) * int(_M1)) & _MASK)
    else:
        with np.errstate(over="ignore"):
            x += np.asarray(t, dtype=np.int64).astype(np.uint64) * _M1
    x = _mix(x)
    x ^= _key(seed, stream)
    x = _mix(x)
    # 53 random bits -> (0, 1): never exactly 0 or 1 (logs and logits stay finite).
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def gumbel(seed: int, stream: str, uid, t) -> np.ndarray:
    """Standard Gumbel draws (the random part of a logit choice)."""
    return -np.log(-np.log(uniform(seed, stream, uid, t)))


def geometric_weeks(u: np.ndarray, annual_rate) -> np.ndarray:
    """Weeks until an event of constant annual hazard ``annual_rate`` (at least one), from
    uniforms ``u`` by inverting the geometric distribution; never for a zero rate."""
    p = 1 - np.exp(-np.asarray(annual_rate, dtype=float) / 52.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.ceil(np.log(u) / np.log1p(-np.clip(p, 1e-12, 1 - 1e-12)))
    return np.where(p > 0, np.clip(w, 1, 2**30), 2**30).astype(np.int32)
