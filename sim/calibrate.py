"""``python -m sim.calibrate``: Bayesian calibration of the free behavioural parameters to the
source documents, by history matching with Gaussian-process emulators.

Method (argued in docs/calibration.md):

1. **Waves of runs through the sweep store.** Wave 1 is a Latin hypercube over the prior (a
   uniform box, ``FREE``); each later wave is drawn from the parameter space not ruled out
   yet.  Every run goes through ``sim.sweep.run_design`` (resumable after a kill, parallel
   with joblib or Ray), on the ``making_it_personal`` scenario, which stands for the councils
   Demos surveyed in 2008.
2. **Emulators.** One Gaussian process per fitted target (scikit-learn), trained on all runs
   so far: the model's mean analogue as a function of the parameters, with its uncertainty.
3. **History matching.** A point is ruled out when its second-largest implausibility
   |target - emulated mean| / sqrt(observation variance + emulator variance) is above 3.
4. **Posterior.** Uniform prior x Gaussian likelihood of the targets (observation sd =
   tolerance / 2; the emulator's variance added), sampled by importance sampling in two
   rounds on the emulators, resampled to ``--draws`` parameter sets: the posterior ensemble
   ``configs/calibration/posterior.csv``.  The most likely candidate goes to
   ``configs/calibration/demos_2008.yaml`` (what a run uses by default).
5. **Check.** Each posterior draw is run once (one more sweep): the posterior predictive
   interval of every fitted target, from model runs, not from the emulators.

The targets come from the registry (``sim/data/targets.yaml``, ``sim.targets``): only entries
with role ``calibration`` that are not input checks are fitted; role ``validation`` entries
are never seen here (``python -m sim.validate`` predicts them).  No free parameter is an
outcome: each is a behavioural or structural input.

Writes ``configs/calibration/posterior.csv``, ``configs/calibration/demos_2008.yaml``,
``docs/calibration.md`` and its figures (``docs/figures/calibration_*.png``).

    python -m sim.calibrate                       # 3 waves x 120 points x 2 seeds + 200 draws
    python -m sim.calibrate --waves 2 --points 24 --seeds 1 --draws 30 --no-write  # a look
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import targets
from .config import CONFIG_DIR
from .outputs import atomic_write
from .report import HEADLINE
from .sweep import run_design

ROOT = CONFIG_DIR.parent

# Free parameters: range and why it is free (no source pins it down).
FREE = {
    "users.need_scale": ((1.0, 2.4), "need distributions are assumptions; the level of average "
                         "packages pins it"),
    "market.agency_intensive_factor": ((1.2, 3.0), "staff hours per intensive agency hour "
                                       "(double-handed visits, waking nights): no 2008 source"),
    "behaviour.mix_satiation": ((0.1, 2.0), "how fast the value of more of one kind of support "
                                "falls (diminishing returns): unobserved"),
    "behaviour.price_sensitivity": ((0.1, 1.5), "how people weigh price against fit: "
                                    "unobserved"),
    "behaviour.fit_threshold": ((0.2, 0.7), "how well an option must fit to be used: "
                                "unobserved"),
    "behaviour.community_max_hours": ((2.0, 20.0), "how much community activity people can "
                                      "use (bowls club, the pub): no figure in the sources"),
    "behaviour.dp_admin_burden": ((0.02, 0.3), "how hard running a direct payment is alone: "
                                  "the Demos warning, without a number"),
    "market.pa_intensive_factor": ((0.3, 1.2), "paid hours per intensive PA hour: a live-in "
                                   "or sleep-in PA covers long hours for less than waking "
                                   "agency staff; no 2008 figure"),
    "behaviour.pa_max_hours": ((10.0, 168.0), "how many hours of personal assistants one "
                               "person can recruit and manage (cover for holidays, sickness, "
                               "nights): unobserved"),
    "policy.signoff_margin": ((0.0, 0.5), "how far councils funded a support plan above the "
                              "indicative RAS budget at sign-off: practice varied, no figure"),
    "behaviour.control_managed": ((0.2, 0.85), "how much control a council-managed budget "
                                  "gives: between traditional and a direct payment, unmeasured"),
    "users.autonomy_alpha": ((0.5, 6.0), "how many people want control of their care: "
                             "unobserved (Beta shape; b fixed at 1.5)"),
}
FIXED = [
    ("policy.pb_share_start, policy.pb_target, policy.rollout_months", "13% -> 30% by April 2011",
     "Demos, Personal Best (2010)"),
    ("council.planning_duration_weeks", "10-11 weeks (2-3 months of planning)",
     "West Sussex pilot (2007)"),
    ("council.block_price_*, market.spot_price_*, market.price_pa", "2010 unit costs",
     "PSSRU Unit Costs 2010"),
    ("market.wage_floor", "£5.93/hour", "National Minimum Wage, October 2010"),
    ("users.groups.*.share", "client group mix", "NHS Information Centre 2009-10"),
]
SCENARIO = "making_it_personal"
#: Implausibility above which a point is ruled out (the three-sigma rule, Pukelsheim 1994).
CUTOFF = 3.0
POSTERIOR = ROOT / "configs" / "calibration" / "posterior.csv"


def fitted_targets():
    """The targets the loss fits: the registry's role=calibration entries that are not input
    checks (``sim/data/targets.yaml``; see ``sim.targets``).  Each must be a ``within`` check
    on the calibration scenario, computable from the runs' summaries."""
    out = targets.fitted()
    for t in out:
        if t.scenario != SCENARIO:
            raise SystemExit(f"error: target '{t.id}' is fitted (role: calibration, no input) but "
                             f"compares scenario '{t.scenario}'; calibration runs '{SCENARIO}' only")
        if t.check != "within":
            raise SystemExit(f"error: target '{t.id}' is fitted but is a direction check "
                             f"('{t.check}'); a fitted target needs a value and a tolerance")
        if targets.needs_timeseries(t):
            raise SystemExit(f"error: target '{t.id}' is fitted but its analogue needs the time "
                             "series, which the calibration sweep does not load")
    return out



def lhs(n: int, bounds: dict, seed: int) -> pd.DataFrame:
    from scipy.stats import qmc

    lo = np.array([b[0] for b in bounds.values()])
    hi = np.array([b[1] for b in bounds.values()])
    x = qmc.LatinHypercube(d=len(bounds), seed=seed).random(n)
    return pd.DataFrame(qmc.scale(x, lo, hi), columns=list(bounds))


def _unit(frame: pd.DataFrame) -> np.ndarray:
    """Parameters scaled to [0, 1] over their prior ranges (the emulators' inputs)."""
    lo = np.array([v[0][0] for v in FREE.values()])
    hi = np.array([v[0][1] for v in FREE.values()])
    return (frame[list(FREE)].to_numpy(float) - lo) / (hi - lo)


def loss(frame: pd.DataFrame) -> pd.Series:
    """Sum over the fitted targets of ((model - target) / tolerance)^2; ``frame`` has one
    column per target id (the model's analogue, mean over seeds)."""
    total = 0.0
    for t in fitted_targets():
        total = total + ((pd.to_numeric(frame[t.id], errors="coerce").fillna(1e9) - t.value)
                         / t.width) ** 2
    return total


def evaluate(out: Path, stage: str, design: pd.DataFrame, seeds: str, extra) -> pd.DataFrame:
    """Run ``design`` (each row for each seed) through the sweep store in ``out/stage``
    (resumable); returns one row per run: the design's parameters, ``design_row``, ``seed``
    and each fitted target's model analogue (column = target id), and the headline outputs
    (``HEADLINE``: column = summary key)."""
    res = run_design(out / stage, design, [f"scenario={SCENARIO}", *extra], seeds)
    fit = fitted_targets()
    cols = pd.DataFrame({t.id: targets.analogue(t, res) for t in fit}, index=res.index)
    for key in HEADLINE:      # for the sensitivity analysis (``sobol``)
        if key in res:
            cols[key] = pd.to_numeric(res[key], errors="coerce")
    runs = design.iloc[res["design_row"].to_numpy()].reset_index(drop=True)
    runs["design_row"] = res["design_row"].to_numpy()
    runs["seed"] = res["seed"].to_numpy() if "seed" in res else 0
    return pd.concat([runs, cols.reset_index(drop=True)], axis=1).assign(wave=stage)


# ---------------------------------------------------------------- emulators

class Emulators:
    """One Gaussian-process emulator per fitted target: the model's mean analogue over seeds
    as a function of the free parameters (scaled to [0, 1]).

    Kernel: a constant times an anisotropic Matern 5/2 (one length scale per parameter, so a
    parameter the target does not depend on gets a long one) plus white noise (what is left
    of the seed noise in a mean of a few seeds).  scikit-learn fits the hyperparameters by
    maximum marginal likelihood."""

    def __init__(self, runs: pd.DataFrame, seed: int = 0, columns: list[str] | None = None):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        self.targets = fitted_targets()
        #: What is emulated: the fitted targets (by id), or other outputs of the runs.
        self.columns = columns or [t.id for t in self.targets]
        means = runs.groupby(["wave", "design_row"], sort=False)
        first = means[list(FREE)].first()
        y = means[self.columns].mean()
        ok = np.isfinite(y.to_numpy()).all(axis=1)
        self.x, self.y = _unit(first[ok]), y[ok].to_numpy()
        #: Seed variance of one run, pooled over design points (per column); with one seed
        #: per point, from the emulators' white-noise term (the scatter about a smooth mean).
        self.seed_var = runs.groupby(["wave", "design_row"])[self.columns].var().mean() \
            .to_numpy()
        d = self.x.shape[1]
        self.gps = []
        for j in range(len(self.columns)):
            kernel = (ConstantKernel(1.0, (1e-3, 1e3))
                      * Matern(np.full(d, 0.5), (0.05, 50.0), nu=2.5)
                      + WhiteKernel(0.05, (1e-6, 1.0)))
            gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2,
                                          random_state=seed)
            with warnings.catch_warnings():   # a length scale at its bound: no dependence
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(self.x, self.y[:, j])
            self.gps.append(gp)
        n_seeds = runs.groupby(["wave", "design_row"]).size().mean()
        nugget = np.array([gp.kernel_.k2.noise_level * gp._y_train_std ** 2 for gp in self.gps])
        self.seed_var = np.where(np.isfinite(self.seed_var), self.seed_var, nugget * n_seeds)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of each target's emulated model mean at ``x`` (unit scale)."""
        mu = np.empty((x.shape[0], len(self.gps)))
        var = np.empty_like(mu)
        for j, gp in enumerate(self.gps):
            for lo in range(0, x.shape[0], 20_000):
                m, s = gp.predict(x[lo:lo + 20_000], return_std=True)
                mu[lo:lo + 20_000, j], var[lo:lo + 20_000, j] = m, s ** 2
        return mu, var

    def length_scales(self) -> np.ndarray:
        """Fitted length scale of each parameter for each target (targets x parameters)."""
        return np.array([gp.kernel_.k1.k2.length_scale for gp in self.gps])


def observed() -> tuple[np.ndarray, np.ndarray]:
    """Each fitted target's value and the standard deviation of its observation error: the
    registry's tolerance is read as a 95% interval, so sd = tolerance / 2."""
    fit = fitted_targets()
    return np.array([t.value for t in fit]), np.array([t.width / 2 for t in fit])


def implausibility(em: Emulators, x: np.ndarray) -> np.ndarray:
    """|target - emulated mean| / sqrt(observation variance + emulator variance), per target
    (Craig et al. 1997; Vernon et al. 2010)."""
    z, sd = observed()
    mu, var = em.predict(x)
    return np.abs(z - mu) / np.sqrt(sd ** 2 + var)


def nroy(imp: np.ndarray, cutoff: float = CUTOFF) -> np.ndarray:
    """Not ruled out yet: the second-largest implausibility below ``cutoff`` (one target may
    miss: with several targets the largest alone rules out too much; Vernon et al. 2010)."""
    second = np.sort(imp, axis=1)[:, -2] if imp.shape[1] > 1 else imp[:, 0]
    return second < cutoff


def log_likelihood(em: Emulators, x: np.ndarray) -> np.ndarray:
    """Gaussian log-likelihood of the fitted targets at ``x``: target = model mean +
    observation error (sd: ``observed``), the model mean known up to the emulator's
    variance."""
    z, sd = observed()
    mu, var = em.predict(x)
    s2 = sd ** 2 + var
    return (-0.5 * ((z - mu) ** 2 / s2 + np.log(s2))).sum(axis=1)


def posterior(em: Emulators, n_draws: int, seed: int, n_candidates: int = 100_000):
    """``n_draws`` parameter sets from the posterior (uniform prior over ``FREE`` x the
    emulated likelihood), by importance sampling in two rounds: candidates from the prior,
    then from a Gaussian fitted to the weighted first round (mixed 1:4 with the prior, so the
    tails keep support), each weighted by prior / proposal x likelihood; then systematic
    resampling.  Returns (draws in parameter units, their log-likelihood, effective sample
    size of the final round)."""
    rng = np.random.default_rng(seed)
    d = len(FREE)
    x = rng.random((n_candidates, d))
    logw = log_likelihood(em, x)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    mean = w @ x
    cov = np.cov(x.T, aweights=w) + np.eye(d) * 1e-4
    k = int(n_candidates * 0.8)
    prop = rng.multivariate_normal(mean, cov, size=n_candidates)
    prop[k:] = rng.random((n_candidates - k, d))
    inside = ((prop >= 0) & (prop <= 1)).all(axis=1)
    prop = prop[inside]
    from scipy.stats import multivariate_normal

    q = 0.8 * multivariate_normal(mean, cov, allow_singular=True).pdf(prop) + 0.2  # prior pdf 1
    ll = log_likelihood(em, prop)
    logw = ll - np.log(q)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    ess = 1.0 / np.sum(w ** 2)
    u = (rng.random() + np.arange(n_draws)) / n_draws
    idx = np.minimum(np.searchsorted(np.cumsum(w), u), w.size - 1)
    lo = np.array([v[0][0] for v in FREE.values()])
    hi = np.array([v[0][1] for v in FREE.values()])
    draws = pd.DataFrame(lo + prop[idx] * (hi - lo), columns=list(FREE))
    return draws, ll[idx], ess, (lo + prop[np.argmax(ll)] * (hi - lo))


def _second(imp: np.ndarray) -> np.ndarray:
    return np.sort(imp, axis=1)[:, -2] if imp.shape[1] > 1 else imp[:, 0]


def holdout_check(runs: pd.DataFrame, last: str) -> pd.DataFrame:
    """The emulators trained without wave ``last`` predicting its points: per target, the
    share of points whose mean over seeds falls in the emulator's 95% interval (widened by the
    seed noise of that mean) and the RMSE against the spread of the points."""
    em = Emulators(runs[runs["wave"] != last])
    held = runs[runs["wave"] == last].groupby("design_row")
    x = _unit(held[list(FREE)].first())
    y = held[[t.id for t in em.targets]].mean().to_numpy()
    n_seeds = held.size().to_numpy()[:, None]
    mu, var = em.predict(x)
    sd = np.sqrt(var + em.seed_var / n_seeds)
    ok = np.isfinite(y)
    rows = []
    for j, t in enumerate(em.targets):
        m = ok[:, j]
        err = y[m, j] - mu[m, j]
        rows.append({"target": t.id, "points": int(m.sum()),
                     "in 95% interval": float(np.mean(np.abs(err) <= 1.96 * sd[m, j])),
                     "RMSE / sd of points": float(np.sqrt(np.mean(err ** 2)) / np.std(y[m, j]))})
    return pd.DataFrame(rows)


def sobol(runs: pd.DataFrame, draws: pd.DataFrame, seed: int, n: int = 512) -> pd.DataFrame:
    """Sobol indices of each headline output over the posterior (SALib; Saltelli sampling,
    first-order and total), computed on Gaussian-process emulators of the outputs trained on
    the calibration's runs.  The parameters vary independently over the posterior's central
    90% (each one's 5th-95th percentile): Sobol's decomposition needs independent inputs, so
    the posterior's correlations are not kept.  Returns one row per (output, parameter)."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    outputs = [k for k in HEADLINE if k in runs and runs[k].notna().all()
               and runs[k].std() > 0]
    lo = np.array([v[0][0] for v in FREE.values()])
    hi = np.array([v[0][1] for v in FREE.values()])
    q = (draws[list(FREE)].quantile([0.05, 0.95]).to_numpy() - lo) / (hi - lo)
    bounds = [[a, max(b, a + 1e-6)] for a, b in q.T]
    problem = {"num_vars": len(FREE), "names": list(FREE), "bounds": bounds}
    x = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    em = Emulators(runs, seed=seed, columns=outputs)
    mu, _ = em.predict(x)
    rows = []
    for j, out in enumerate(outputs):
        r = sobol_analyze.analyze(problem, mu[:, j], calc_second_order=False, seed=seed)
        for i, name in enumerate(FREE):
            rows.append({"output": out, "parameter": name, "S1": float(r["S1"][i]),
                         "ST": float(r["ST"][i]), "ST_conf": float(r["ST_conf"][i])})
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.calibrate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--waves", type=int, default=3, help="history-matching waves")
    ap.add_argument("--points", type=int, default=120, help="parameter sets per wave")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per parameter set")
    ap.add_argument("--draws", type=int, default=200, help="posterior parameter sets")
    ap.add_argument("--candidates", type=int, default=20_000,
                    help="prior candidates screened for each wave's design")
    ap.add_argument("--seed", type=int, default=20081, help="seed of the designs and sampling")
    ap.add_argument("--out", type=Path, default=Path("outputs/calibration"),
                    help="sweep folders of the waves (one per model version)")
    ap.add_argument("--write", action=argparse.BooleanOptionalAction, default=True,
                    help="write the posterior, demos_2008.yaml, docs/calibration.md and figures")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    a = ap.parse_args(argv)
    for name in ("waves", "points", "seeds", "draws", "candidates"):
        if getattr(a, name) < (2 if name in ("points", "draws") else 1):
            ap.error(f"--{name} must be at least {2 if name in ('points', 'draws') else 1}")
    if a.waves > 1 and a.points < len(FREE) + 2:
        ap.error(f"--points must be at least {len(FREE) + 2} (free parameters + 2) to fit "
                 "emulators")
    t0 = time.perf_counter()
    seeds = f"range(0,{a.seeds})"
    bounds = {k: v[0] for k, v in FREE.items()}
    # The search must not start from a previous calibration: run from the schema defaults.
    extra = ["calibration=none", *a.overrides]
    # One folder per version of the model: a rerun resumes, a changed model starts afresh.
    from .results import model_fingerprint

    out = a.out / model_fingerprint()
    rng = np.random.default_rng(a.seed)
    runs = evaluate(out, "wave1", lhs(a.points, bounds, a.seed), seeds, extra)
    waves = [{"wave": "wave1", "design": "Latin hypercube over the prior box",
              "points": a.points, "runs": len(runs), "not ruled out (share of prior)": 1.0}]
    for k in range(2, a.waves + 1):
        em = Emulators(runs, seed=a.seed)
        cand = lhs(a.candidates, bounds, a.seed + k)
        second = _second(implausibility(em, _unit(cand)))
        keep = np.flatnonzero(second < CUTOFF)
        if keep.size >= a.points:
            pick, how = rng.choice(keep, a.points, replace=False), "random points not ruled out"
        else:
            pick = np.argsort(second)[:a.points]
            how = ("the least implausible candidates (fewer than --points were not ruled "
                   "out)")
        design = cand.iloc[np.sort(pick)].reset_index(drop=True)
        runs = pd.concat([runs, evaluate(out, f"wave{k}", design, seeds, extra)],
                         ignore_index=True)
        waves.append({"wave": f"wave{k}", "design": how, "points": a.points,
                      "runs": int((runs["wave"] == f"wave{k}").sum()),
                      "not ruled out (share of prior)": float(keep.size / a.candidates)})
    em = Emulators(runs, seed=a.seed)
    check = holdout_check(runs, f"wave{a.waves}") if a.waves > 1 else None
    draws, ll, ess, best = posterior(em, a.draws, a.seed)
    draws = draws.round(6)
    pred = evaluate(out, "posterior", draws, "0", extra)
    sens = sobol(pd.concat([runs, pred], ignore_index=True), draws, a.seed)
    minutes = (time.perf_counter() - t0) / 60
    fit = fitted_targets()
    print(pd.DataFrame({t.id: pred[t.id].quantile([0.05, 0.5, 0.95]) for t in fit}).T
          .assign(target=[t.value for t in fit]).to_string())
    print(f"posterior: {a.draws} draws, effective sample size {ess:.0f}; {minutes:.1f} min")
    if a.write:
        write_outputs(a, runs, pd.DataFrame(waves), check, em, draws, ll, ess,
                      dict(zip(FREE, best, strict=True)), pred, sens, minutes)
    return 0


def _yaml(values: dict) -> str:
    lines = ["# @package _global_",
             "# Generated by `python -m sim.calibrate` (see docs/calibration.md): the most likely",
             "# parameter set of the posterior (configs/calibration/posterior.csv). Edit by",
             "# rerunning."]
    nested: dict = {}
    for key, v in values.items():
        node = nested
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = round(float(v), 4)

    def emit(d, indent=0):
        for k, v in d.items():
            if isinstance(v, dict):
                lines.append("  " * indent + f"{k}:")
                emit(v, indent + 1)
            else:
                lines.append("  " * indent + f"{k}: {v}")
    emit(nested)
    return "\n".join(lines) + "\n"


def _figures(draws: pd.DataFrame, best: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figdir = ROOT / "docs" / "figures"
    names = list(FREE)
    n_col = 4
    n_row = -(-len(names) // n_col)
    fig, axes = plt.subplots(n_row, n_col, figsize=(13, 2.6 * n_row), layout="constrained")
    for ax, name in zip(axes.ravel(), names, strict=False):
        lo, hi = FREE[name][0]
        ax.hist(draws[name], bins=20, range=(lo, hi), density=True, color="#4477aa",
                alpha=0.8, label="posterior")
        ax.axhline(1 / (hi - lo), color="#cc6677", lw=1.5, label="prior (uniform)")
        ax.axvline(best[name], color="black", lw=1, ls="--", label="most likely")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_yticks([])
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7, loc="upper right")
    fig.suptitle("Calibration: posterior against prior for each free parameter")
    atomic_write(figdir / "calibration_marginals.png", lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)

    d = len(names)
    fig, axes = plt.subplots(d, d, figsize=(15, 15), layout="constrained")
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(draws[xj], bins=15, range=FREE[xj][0], color="#4477aa")
            else:
                ax.scatter(draws[xj], draws[yi], s=3, alpha=0.5, color="#4477aa")
                ax.set_xlim(FREE[xj][0])
                ax.set_ylim(FREE[yi][0])
            if i == d - 1:
                ax.set_xlabel(xj.split(".")[-1], fontsize=7, rotation=30)
            if j == 0:
                ax.set_ylabel(yi.split(".")[-1], fontsize=7, rotation=60)
    fig.suptitle("Calibration: posterior draws, each pair of free parameters (axes: prior ranges)")
    atomic_write(figdir / "calibration_pairs.png", lambda p: fig.savefig(p, dpi=80, format="png"))
    plt.close(fig)
    return ["figures/calibration_marginals.png", "figures/calibration_pairs.png"]


def identifiability(draws: pd.DataFrame) -> pd.DataFrame:
    """Posterior spread against the prior's: sd ratio (a uniform prior's sd is range/sqrt 12);
    below 0.5 the targets identify the parameter, 0.5-0.8 weakly, above 0.8 not."""
    rows = []
    for name, ((lo, hi), why) in FREE.items():
        ratio = float(draws[name].std() / ((hi - lo) / np.sqrt(12)))
        verdict = "identified" if ratio < 0.5 else ("weakly" if ratio < 0.8 else "not identified")
        q = draws[name].quantile([0.05, 0.5, 0.95])
        rows.append({"parameter": name, "prior": f"[{lo:g}, {hi:g}]",
                     "posterior median [5%, 95%]": f"{q[0.5]:.3g} [{q[0.05]:.3g}, {q[0.95]:.3g}]",
                     "sd / prior sd": round(ratio, 2), "verdict": verdict, "why free": why})
    return pd.DataFrame(rows)


def _sobol_figure(sens: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st = sens.pivot(index="output", columns="parameter", values="ST")[list(FREE)]
    fig, ax = plt.subplots(figsize=(12, 0.38 * len(st) + 2.2), layout="constrained")
    im = ax.imshow(st.clip(0, 1).to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(FREE)), [n.split(".")[-1] for n in FREE], rotation=35, ha="right",
                  fontsize=8)
    ax.set_yticks(range(len(st)), st.index, fontsize=8)
    for (i, j), v in np.ndenumerate(st.to_numpy()):
        if v >= 0.05:
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.5 else "black")
    fig.colorbar(im, ax=ax, label="total Sobol index (share of the output's variance)")
    ax.set_title("What drives each headline output over the posterior (total Sobol indices, "
                 "on emulators)", fontsize=10)
    atomic_write(ROOT / "docs" / "figures" / "calibration_sobol.png",
                 lambda p: fig.savefig(p, dpi=100, format="png"))
    plt.close(fig)
    return "figures/calibration_sobol.png"


def write_outputs(a, runs, waves, check, em, draws, ll, ess, best, pred, sens, minutes):
    post = draws.copy()
    post.insert(0, "draw", np.arange(len(post)))
    post["log_likelihood"] = np.round(ll, 4)
    atomic_write(POSTERIOR, lambda p: post.to_csv(p, index=False))
    atomic_write(ROOT / "configs" / "calibration" / "demos_2008.yaml",
                 lambda p: p.write_text(_yaml(best)))
    figs = _figures(draws, best)
    ident = identifiability(draws)
    fit = fitted_targets()
    z, sd = observed()
    cmd = (f"python -m sim.calibrate --waves {a.waves} --points {a.points} --seeds {a.seeds} "
           f"--draws {a.draws} --candidates {a.candidates} --seed {a.seed}")
    md = ["# Calibration", "",
          f"Generated by `{cmd}` (scenario `{SCENARIO}`, which stands for the councils Demos "
          f"surveyed in 2008); {len(runs) + len(pred)} runs, {minutes:.0f} minutes of this "
          "invocation on this machine (a rerun resumes from the sweep store, so a resumed "
          "call reports less).", "",
          "## Method and why", "",
          "**History matching with Gaussian-process emulators, then a posterior sampled on the "
          "emulators** (Craig et al. 1997; Kennedy and O'Hagan 2001; Vernon et al. 2010, "
          "*Galaxy formation: a Bayesian uncertainty analysis*). Chosen over ABC-SMC (pyabc) "
          "because a run of the calibration scenario takes about 2.5 s of a core: ABC-SMC "
          "needs ~10^4 runs (about 3.5 hours on two cores), while emulators learn the "
          "response from a few hundred runs, all of which go through the project's own sweep "
          "store (resumable after a kill, parallel with joblib or Ray). The price: the "
          "posterior is only as good as the emulators, so their hold-out check is below, and "
          "the posterior draws are then run through the model itself (the predictive "
          "intervals in the fit table are model runs, not emulator guesses).", "",
          f"1. Wave 1: a Latin hypercube of {a.points} points over the prior box (uniform on "
          f"each range below), {a.seeds} seed(s) each.",
          f"2. Each later wave: {a.candidates:,} candidates from the prior box, screened by "
          "the emulators trained on all runs so far; a candidate is ruled out when its "
          f"second-largest implausibility is above {CUTOFF:g} (one target may miss), and "
          f"{a.points} of the rest are run.",
          "3. Posterior: uniform prior x Gaussian likelihood of the targets, where each target = "
          "the model's mean + an observation error whose sd is half the registry's tolerance "
          "(the tolerance read as a 95% interval), and the model's mean is known up to the "
          "emulator's variance. Sampled by importance sampling in two rounds and resampled "
          f"to {a.draws} draws (effective sample size of the last round: {ess:.0f}).",
          "4. Check: each draw run once (seed 0) through the model.", "",
          "The posterior ensemble is `configs/calibration/posterior.csv` (one row per draw); "
          "the most likely candidate is `configs/calibration/demos_2008.yaml`, which every "
          "scenario loads by default (`calibration=none` runs the schema defaults).", "",
          "## Waves", "", waves.to_markdown(index=False, floatfmt=".3f"), ""]
    if check is not None:
        md += ["## Emulator check", "",
               f"Emulators trained without the last wave, predicting its {a.points} points "
               "(share of points in the 95% interval; RMSE relative to the spread of the "
               "points: 0 perfect, 1 no better than their mean).", "",
               check.to_markdown(index=False, floatfmt=".2f"), ""]
    md += ["## Fit: posterior predictive against the targets", "",
           "Model runs of the posterior draws (one seed each: parameter uncertainty and seed "
           "noise together). *Seed sd* is one run's seed noise, pooled over the waves.", "",
           "| target | evidence | tolerance | model: median [5%, 95%] | seed sd | within "
           "tolerance (median) | source |", "|---|---|---|---|---|---|---|"]
    n_ok = 0
    for j, t in enumerate(fit):
        q = pred[t.id].quantile([0.05, 0.5, 0.95])
        ok = t.passes(float(q[0.5]))
        n_ok += ok
        md.append(f"| `{t.id}` | {t.value:g} | {t.tolerance_text()} | {q[0.5]:.4g} "
                  f"[{q[0.05]:.4g}, {q[0.95]:.4g}] | {np.sqrt(em.seed_var[j]):.3g} | "
                  f"{'yes' if ok else '**no**'} | {t.source.cite()}: {t.figure} |")
    md += ["", f"{n_ok} of {len(fit)} fitted targets have their posterior median within "
           "tolerance.", "",
           "## What the data identify", "",
           "Posterior spread against the prior's (sd ratio; below 0.5 identified, 0.5-0.8 "
           "weakly, above 0.8 not: the targets say little about that parameter, and its "
           "uncertainty is carried into every run that draws from the posterior).", "",
           ident.to_markdown(index=False), "",
           *[f"![{f}]({f})" for f in figs], "",
           "## What drives each answer: Sobol indices over the posterior", "",
           "Total Sobol index of each free parameter for each headline output of the "
           f"calibration scenario (SALib, Saltelli sampling, {len(FREE) + 2} x 512 points), "
           "computed on Gaussian-process emulators of the outputs trained on this "
           "calibration's runs, with each parameter varying independently over its posterior "
           "5th-95th percentile (Sobol needs independent inputs: the posterior's correlations "
           "are dropped). A total index is the share of the output's variance that involves "
           "the parameter; the three largest per output are listed.", "",
           "| output | main drivers (total index) |", "|---|---|"]
    for out_name, g in sens.groupby("output", sort=False):
        top = g.sort_values("ST", ascending=False).head(3)
        md.append(f"| `{out_name}` | " + ", ".join(
            f"`{r.parameter}` {r.ST:.2f}" for r in top.itertuples()) + " |")
    md += ["", f"![Sobol indices]({_sobol_figure(sens)})", "",
           "## Fixed from evidence", "", "| parameters | value | source |", "|---|---|---|"]
    md += [f"| `{k}` | {v} | {s} |" for k, v, s in FIXED]
    md += ["", "Every other parameter keeps its documented default ([parameters.md]"
           "(parameters.md)).", "",
           "The validation report ([validation.md](validation.md)) checks the calibrated model "
           "in two tables: this fit (with the input checks: figures the scenarios' inputs are "
           "set from) and the out-of-sample predictions of the role=validation targets, which "
           "this calibration never sees.", ""]
    atomic_write(ROOT / "docs" / "calibration.md", lambda p: p.write_text("\n".join(md)))


if __name__ == "__main__":
    sys.exit(main())
