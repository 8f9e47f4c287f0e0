"""The compiled kernels: ``K``, loaded ahead of time or just in time.

``K.<name>`` is the compiled form of ``sim.kernels.<name>``; only ``sim.passes`` calls it.
At import this module installs the ahead-of-time build (made by ``python -m sim.aot``, see
there) if one matches the kernels' source and this CPU (``PATH == "aot"``), else numba's JIT
(``PATH == "jit"``; compiled on first use and cached beside the source, so only the first run
on a machine pays the compile time).  numba itself is imported only when a kernel needs the
JIT: with the ahead-of-time build a run never imports it (~0.2 s of every process).  A call
whose argument types differ from every exported signature runs through the JIT (compiled
code does not check types); ``SIM_KERNELS=jit`` forces the JIT path (the tests compare the
two).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import codes, kernels

#: The ahead-of-time module's name and folder (``sim/_kernels_aot*.so`` and ``.json``).
MODULE = "_kernels_aot"
HERE = Path(__file__).resolve().parent

#: The compiled kernels by name (filled at import: ahead-of-time build or JIT).
K = SimpleNamespace()
#: numba's JIT dispatchers by kernel name, made on first need (``_jit``).
JIT: dict = {}


def source_stamp() -> int:
    """A 60-bit hash of the kernels' source (``kernels.py`` and the codes they compile in) and
    numba's version: what an ahead-of-time build was made from, so a build is used only with
    the source it was compiled from."""
    text = b"".join(Path(m.__file__).read_bytes() for m in (kernels, codes))
    text += version("numba").encode()
    return int(hashlib.sha256(text).hexdigest()[:15], 16)


def _jit() -> dict:
    """numba dispatchers for every kernel.  The helpers' names in ``sim.kernels`` are bound to
    their dispatchers, so a compiled kernel calls compiled helpers (numba resolves them when
    it compiles the caller)."""
    if not JIT:
        from numba import njit

        for name, fn in kernels._PY.items():
            JIT[name] = njit(cache=True, nogil=True)(fn)
        vars(kernels).update({n: d for n, d in JIT.items() if n.startswith("_")})
    return JIT


_INTS = (int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32)
_SCALARS = {"int": _INTS, "float": (float, np.float64, np.float32) + _INTS,
            "bool": (bool, np.bool_)}


def _type_check(specs):
    """A function of a kernel's arguments, true when each has exactly the exported type.

    Generated as one boolean expression: a generic loop over ~20 arguments cost ~1 us each,
    ~35 ms over a council run.  Arrays must be C-contiguous and aligned, and writeable
    unless the signature took them read-only (``flags.carray`` is all three)."""
    env, terms = {"ndarray": np.ndarray}, []
    for i, arg in enumerate(specs):
        a = f"a{i}"
        if arg[0] == "array":
            _, dtype, ndim, readonly = arg
            env[f"d{i}"] = np.dtype(dtype)
            flags = (f"{a}.flags.c_contiguous and {a}.flags.aligned" if readonly
                     else f"{a}.flags.carray")
            terms.append(f"({a}.__class__ is ndarray and {a}.dtype == d{i} and {a}.ndim == {ndim}"
                         f" and {flags})")
        else:
            env[f"k{i}"] = frozenset(_SCALARS[arg[0]])
            terms.append(f"{a}.__class__ in k{i}")
    params = ", ".join(f"a{i}" for i in range(len(specs)))
    exec(f"def check({params}):\n    return {' and '.join(terms) or 'True'}", env)  # noqa: S102
    return env["check"]


def _checked(name, compiled, specs):
    """``name``'s compiled variants behind a type check, falling back to the JIT kernel."""
    variants = [(fn, _type_check(args), len(args))
                for fn, args in zip(compiled, specs, strict=True)]

    def call(*args):
        for fn, check, n in variants:
            if len(args) == n and check(*args):
                return fn(*args)
        return _jit()[name](*args)

    py = kernels._PY[name]
    call.__name__, call.__doc__, call.py_func = name, py.__doc__, py
    return call


def _has_cpu_features(spec) -> bool:
    """Whether this machine has every CPU feature the build was compiled for (read from
    /proc/cpuinfo where there is one, else asked of LLVM)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        import llvmlite.binding as ll

        host = ll.get_host_cpu_features()
        return all(host.get(f, False) for f in spec["requires"])
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    return all(f in flags for f in spec["requires_cpuinfo"])


def _install_ahead_of_time() -> str:
    """Put the ahead-of-time kernels in ``K`` if a build matching this source and CPU exists;
    return which path the kernels take ("aot" or "jit")."""
    if os.environ.get("SIM_KERNELS", "").lower() == "jit":
        return "jit"
    spec_path = HERE / f"{MODULE}.json"
    try:
        spec = json.loads(spec_path.read_text())
        stamp = source_stamp()
        if spec.get("stamp") != stamp or (spec.get("requires") and not _has_cpu_features(spec)):
            return "jit"
        from . import _kernels_aot as aot
    except (OSError, ValueError, KeyError, ImportError):
        return "jit"
    if aot.stamp() != stamp:
        return "jit"
    for name in kernels._PY:
        if not name.startswith("_"):  # a kernel the build did not export: JIT on first call
            entries = spec["kernels"].get(name, [])
            compiled = [getattr(aot, e["symbol"]) for e in entries]
            setattr(K, name, _checked(name, compiled, [e["args"] for e in entries]))
    return "aot"


@contextlib.contextmanager
def jit_only():
    """Within this block every kernel runs through numba's JIT (the ahead-of-time build uses
    it to see which signatures the model calls)."""
    jit = _jit()
    saved = dict(vars(K))
    vars(K).update(jit)
    try:
        yield
    finally:
        vars(K).clear()
        vars(K).update(saved)


PATH = _install_ahead_of_time()
if PATH == "jit":
    vars(K).update(_jit())
