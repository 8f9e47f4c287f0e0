"""``python -m sim``: run one simulation from the Hydra configuration and write a run folder.

Examples::

    python -m sim                                   # default scenario (mid-sized council, 2010)
    python -m sim policy.rollout_months=6 seed=3    # faster rollout, another seed
    python -m sim scenario=england steps=260        # all of England
    python -m sim --cfg job                         # print the resolved configuration
    python -m sim -m experiment=rollout_vs_planning # a named sweep into one results store
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from .config import (
    ConfigError,
    SimConfig,
    checked,
    created_by_run,
    register_schema,
    single_run_config,
)
from .outputs import SUMMARY, ResultsExistError

log = logging.getLogger("sim")
logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
register_schema()


def _discard_unfinished(out: Path):
    """Remove what a run that did not finish (bad input, a crash, an interrupt) wrote: its
    whole folder if the run made it, else only the names it added (a folder given with
    ``hydra.run.dir=...`` may hold other files).  A finished run is never touched."""
    if not out.is_dir() or (out / SUMMARY).exists():
        return
    new = created_by_run(out)
    if new is None:
        shutil.rmtree(out, ignore_errors=True)
        return
    for name in new:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def simulate(cfg: SimConfig, progress: bool = False):
    """Run one model (and its counterfactual, if ``output.counterfactual``: the effects go into
    its summary); return it and the wall time (construction + all steps, both runs)."""
    from .counterfactual import run_with_counterfactual

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Hydra resets logging per job
    t0 = time.perf_counter()
    model = run_with_counterfactual(cfg, progress)
    return model, time.perf_counter() - t0


def run(cfg: SimConfig, out: Path, progress: bool = True) -> dict:
    """One run into its own folder (``python -m sim``)."""
    from .outputs import write_run

    model, wall = simulate(cfg, progress)
    return write_run(model, out, figures=cfg.output.figures, extra={"wall_s_simulation": wall})


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def main(dcfg: DictConfig) -> None:
    hc = HydraConfig.get()
    out = Path(hc.runtime.output_dir)
    if hc.mode == RunMode.MULTIRUN:
        from .sweep import run_job
        run_job(dcfg, simulate)
        return
    try:
        cfg = checked(out)   # validated by sim.config.RunGuard before Hydra wrote anything
        if cfg is None:
            try:
                cfg = single_run_config(dcfg)
            except ConfigError as exc:
                _discard_unfinished(out)
                print(f"error: {exc}", file=sys.stderr)
                sys.exit(2)
        summ = run(cfg, out, progress=sys.stderr.isatty())
    except ResultsExistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(3)
    except MemoryError:
        _discard_unfinished(out)
        print("error: the run ran out of memory (council.n_users x geography.n_councils too "
              "large for this machine); nothing was written", file=sys.stderr)
        sys.exit(4)
    except KeyboardInterrupt:
        _discard_unfinished(out)
        print("interrupted; nothing was written", file=sys.stderr)
        sys.exit(130)
    except BaseException:
        _discard_unfinished(out)
        raise
    for line in headlines(summ):
        log.info("%s", line)
    log.info("results in %s", out)


# The console's headline figures: summary key, label, unit (definitions in the README).
HEADLINES = (
    ("pb_share_start", "PB share at start", "share", "of council-funded community users"),
    ("pb_share_end", "PB share at end", "share", "of council-funded community users"),
    ("annual_cost_pb_mean", "annual cost per PB holder", "gbp_year", ""),
    ("annual_cost_traditional_mean", "annual cost per traditional package", "gbp_year", ""),
    ("package_saving_pct_mean", "package saving of PB holders", "pct",
     "of their traditional cost (mean)"),
    ("worse_off_share", "PB holders worse off", "share",
     "of those who moved, against their own path without the rollout (quality of life)"),
    ("effect_council_spend_pct", "council spend against no rollout", "pct", "over the run"),
    ("providers_start", "providers at start", "count", ""),
    ("providers_end", "providers at end", "count", ""),
    ("unmet_need_share_end", "unmet need at end", "share", "of eligible need"),
    ("wall_s_simulation", "simulation time", "seconds", ""),
)


def _figure(value, unit: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)                       # a NaN stays visible, never 0
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "pct":
        return f"{value:.1f}%"
    if unit == "gbp_year":
        return f"£{value:,.0f}/year"
    if unit == "seconds":
        return f"{value:.2f} s"
    return f"{value:,}"


def headlines(summ: dict) -> list[str]:
    """One line per headline figure, with its unit and its key in ``summary.json``."""
    lines = []
    for key, label, unit, note in HEADLINES:
        text = f"{_figure(summ.get(key), unit)} {note}".rstrip()
        lines.append(f"{label:<37} {text:<50} [{key}]")
    return lines


if __name__ == "__main__":
    main()
