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
import shutil
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from .config import ConfigError, SimConfig, register_schema, to_config
from .outputs import ResultsExistError

log = logging.getLogger("sim")
logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
register_schema()


def _discard_unfinished(out: Path):
    """Remove a run folder Hydra created for a run that never started (bad input)."""
    if out.exists() and not (out / "summary.json").exists():
        shutil.rmtree(out, ignore_errors=True)


def simulate(cfg: SimConfig, progress: bool = False):
    """Run one model; return it and its wall time (construction + all steps)."""
    from .model import CareMarketModel

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Hydra resets logging per job
    t0 = time.perf_counter()
    model = CareMarketModel(cfg)
    model.run(progress=progress)
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
        cfg = to_config(dcfg)
        if cfg.replicates > 1:
            raise ConfigError(f"replicates={cfg.replicates} needs a multirun (python -m sim -m ...); "
                              "a single run has one seed")
    except ConfigError as exc:
        _discard_unfinished(out)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    try:
        summ = run(cfg, out, progress=sys.stderr.isatty())
    except ResultsExistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(3)
    keys = ("pb_share_start", "pb_share_end", "annual_cost_pb_mean", "annual_cost_traditional_mean",
            "package_saving_pct_mean", "worse_off_share", "providers_start", "providers_end",
            "unmet_need_share_end", "wall_s_simulation")
    for k in keys:
        v = summ.get(k)
        log.info("%-30s %s", k, f"{v:,.3f}" if isinstance(v, float) else v)
    log.info("results in %s", out)


if __name__ == "__main__":
    main()
