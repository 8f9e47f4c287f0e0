"""``python -m sim.aot``: compile ``sim.kernels`` ahead of time (run by ``make setup``);
``sim.compiled`` loads the build.

Why: numba's JIT, even when it loads compiled kernels from its on-disk cache, initialises its
typing and target contexts on the first kernel call of every process, about 0.3 s on this
machine.  That is a third of the council workload's 1 s budget, paid again by every fresh
worker of a sweep.  ``numba.pycc`` compiles the same kernel source into an ordinary extension
module, ``sim/_kernels_aot*.so``, which loads in about a millisecond without numba.

The exported signatures are the ones the model actually calls: the build first runs two short
scenarios (a council and an England-shaped one) through the JIT kernels and exports every
signature numba compiled for them.  ``sim/_kernels_aot.json`` records the signatures and a hash
of ``kernels.py`` and numba's version; ``sim.kernels`` uses the compiled module only while both
still match, and per call only when every argument has exactly the exported type (compiled
code does not check types: a wrong dtype would be undefined behaviour, not an error).
Anything else runs through the JIT kernel, so a missing or stale build costs time, never
correctness.  ``SIM_KERNELS=jit`` forces the JIT path (the tests compare the two).

The module is built for the x86-64-v3 level (AVX2, FMA) where the building machine has it,
else for the generic x86-64, and is loaded only on a machine with every feature it was built
for, so a checkout shared between machines (a cluster's workers) never runs instructions its
CPU lacks.  ``numba.pycc`` is pending
deprecation in numba (since 0.57) but ships in the pinned 0.68.1; if it goes, the JIT path
remains.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from . import kernels
from .compiled import HERE, JIT, MODULE, PATH, jit_only, source_stamp


def _discover() -> dict:
    """Run short scenarios through the JIT kernels; return {kernel name: [Signature, ...]}."""
    from . import providers
    from .config import compose
    from .model import CareMarketModel
    from .week import Week

    with jit_only():
        for overrides in (["council.n_users=3000", "steps=40"],
                          ["scenario=england", "geography.n_councils=6", "council.n_users=600",
                           "steps=30"]):
            model = CareMarketModel(compose(*overrides, "output.figures=false"))
            model.run()
            # A provider exit, which a short run may not reach (it calls ``users_of``).
            week = Week(t=model.t, n_councils=model.council.n, ledger=None)
            providers.exit_providers(model, week, np.flatnonzero(model.providers.active)[:2])
    return {name: list(disp.nopython_signatures) for name, disp in sorted(JIT.items())
            if disp.nopython_signatures and not name.startswith("_")}


#: The x86-64-v3 level (Haswell and later, Zen): AVX2, FMA, BMI and the v2 features.
#: LLVM's feature names, and the same features as Linux's /proc/cpuinfo names them.
X86_64_V3 = {"avx": "avx", "avx2": "avx2", "bmi": "bmi1", "bmi2": "bmi2", "f16c": "f16c",
             "fma": "fma", "lzcnt": "abm", "movbe": "movbe", "xsave": "xsave", "cx16": "cx16",
             "popcnt": "popcnt", "sse3": "pni", "sse4.1": "sse4_1", "sse4.2": "sse4_2",
             "ssse3": "ssse3", "sahf": "lahf_lm"}


def _target() -> tuple[str, dict[str, str]]:
    """The CPU to compile for and the features it needs: x86-64-v3 when this machine has
    them (the England kernels run ~25% slower built for the generic x86-64), else generic.
    Not the host's own model, which may imply features a virtual machine hides; the loader
    checks that the machine it runs on has every listed feature."""
    import platform

    import llvmlite.binding as ll

    if platform.machine() not in ("x86_64", "AMD64"):
        return "", {}
    host = ll.get_host_cpu_features()
    if all(host.get(f, False) for f in X86_64_V3):
        return "x86-64-v3", X86_64_V3
    return "", {}


def _arg_spec(ty) -> list:
    """What ``sim.kernels`` checks before calling compiled code with an argument of type ``ty``."""
    from numba.core import types

    if isinstance(ty, types.Array):
        if ty.layout != "C" or not ty.aligned:
            raise ValueError(f"only C-contiguous aligned arrays are exported, got {ty}")
        return ["array", str(ty.dtype), ty.ndim, not ty.mutable]
    if isinstance(ty, types.Boolean):
        return ["bool"]
    if isinstance(ty, types.Integer):
        return ["int"]
    if isinstance(ty, types.Float):
        return ["float"]
    raise ValueError(f"argument type {ty} is not supported by the ahead-of-time build")


def build(out_dir: Path = HERE, verbose: bool = True) -> Path:
    """Compile the kernels into ``out_dir``; return the path of the signature file."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending-deprecation notice
        from numba.pycc import CC
    import numba

    found = _discover()
    cc = CC(MODULE)
    cc.verbose = False
    cpu, requires = _target()
    cc.target_cpu = cpu
    exported = {}
    for name, sigs in sorted(found.items()):
        py_func = kernels._PY[name]
        entries = []
        for i, sig in enumerate(sigs):
            symbol = f"{name}__{i}"
            cc.export(symbol, sig)(py_func)
            entries.append({"symbol": symbol, "args": [_arg_spec(t) for t in sig.args]})
        exported[name] = entries
    stamp = source_stamp()
    cc.export("stamp", "i8()")(_const(stamp))
    # Build beside the target and move into place, so an interrupted build never leaves a
    # half-written module; the signature file goes last and names the module's stamp.
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".aot-build-") as tmp:
        cc.output_dir = tmp
        cc.compile()
        built = Path(tmp) / cc.output_file
        built.replace(out_dir / cc.output_file)
        spec = out_dir / f"{MODULE}.json"
        tmp_spec = Path(tmp) / spec.name
        tmp_spec.write_text(json.dumps({"stamp": stamp, "numba": numba.__version__,
                                        "cpu": cpu or "generic", "requires": list(requires),
                                        "requires_cpuinfo": list(requires.values()),
                                        "kernels": exported}, indent=1))
        tmp_spec.replace(spec)
    if verbose:
        n = sum(len(v) for v in exported.values())
        print(f"sim.aot: compiled {n} kernel signatures into {out_dir.name}/{MODULE} "
              f"in {time.perf_counter() - t0:.0f} s")
    return spec


def _const(value: int):
    def stamp():
        return value
    return stamp


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim.aot", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true",
                        help="rebuild even if the build matches the kernels' source")
    args = parser.parse_args(argv)
    if PATH == "aot" and not args.force:
        print("sim.aot: the ahead-of-time kernels are up to date")
        return 0
    try:
        build()
    except Exception as exc:  # noqa: BLE001  (any failure leaves the JIT path, always correct)
        print(f"sim.aot: the ahead-of-time build failed ({type(exc).__name__}: {exc}); the "
              "kernels will be compiled just in time instead (slower start)", file=sys.stderr)
        return 1
    return 0




if __name__ == "__main__":
    raise SystemExit(main())
