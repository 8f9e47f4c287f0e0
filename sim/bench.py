"""``python -m sim.bench``: how fast the simulator is, against Mesa's own BoltzmannWealth.

Each workload runs in its own subprocess (so its peak RSS is its own), several times; the
table reports the median wall time of the simulation (model construction + all steps),
user-steps per second, peak RSS, and the ratio to Mesa's BoltzmannWealth agent-steps per
second measured in the same run.  The council workload also times the whole ``python -m sim``
process.  Timings are machine-dependent: they belong here, never in pass/fail tests.

    python -m sim.bench                 # full: council, region, England (several minutes)
    python -m sim.bench --quick         # under a minute, for CI (fewer steps and repetitions)
    python -m sim.bench --json out.json --plot out.png
    python -m sim.bench --against ../base --reps 10   # this checkout vs another, pair by pair
    python -m sim.bench --dashboard     # the live dashboard's play speed, 10,000-user council
    python -m sim.bench --dashboard --browser   # ... and in headless Chromium, served
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOADS = {
    # name: (overrides, steps, quick_steps)
    "council": (["council.n_users=10000"], 156, 156),
    "region": (["council.n_users=100000", "council.planning_staff=60", "council.brokers=30",
                "council.block_providers=30"], 260, 26),
    "england": (["scenario=england"], 260, 13),
}


def _child(name: str, steps: int) -> dict:
    """Run one workload in this process and report wall time and peak RSS."""
    from . import compiled
    from .config import compose
    from .model import CareMarketModel

    overrides, _, _ = WORKLOADS[name]
    cfg = compose(*overrides, f"steps={steps}", "output.figures=false")
    t0 = time.perf_counter()
    model = CareMarketModel(cfg)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    # Users simulated per step (all people in the model: council-funded, self-funders,
    # residents), averaged over the run.
    user_steps = int(model.recorder.timeseries(model)["users"].sum())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"name": name, "users": round(user_steps / steps), "user_steps": user_steps,
            "steps": steps, "init_s": t1 - t0, "run_s": t2 - t1, "wall_s": t2 - t0,
            "peak_rss_mb": rss, "kernels": compiled.PATH}


def against(other: Path, workloads: list[str], reps: int) -> list[dict]:
    """This checkout against ``other`` (another checkout of the project, e.g. a ``git
    worktree`` of an earlier commit with its kernels built), run in turn, A B A B, each run a
    fresh process: the simulation's wall time of each, and the ratio this/other pair by pair
    (a pairwise ratio holds when the machine's speed drifts)."""
    here = Path(__file__).resolve().parent.parent
    rows = []
    for name in workloads:
        _, steps, _ = WORKLOADS[name]
        pairs = []
        for _ in range(reps):
            walls = []
            for cwd in (here, Path(other).resolve()):
                out = subprocess.run([sys.executable, "-m", "sim.bench", "--child", name,
                                      "--steps", str(steps)], cwd=cwd, capture_output=True,
                                     text=True, check=True).stdout
                walls.append(json.loads(out.strip().splitlines()[-1])["wall_s"])
            pairs.append(walls)
        ratios = [a / b for a, b in pairs]
        rows.append({"workload": name, "steps": steps, "runs": reps,
                     "this_median_s": statistics.median(a for a, _ in pairs),
                     "other_median_s": statistics.median(b for _, b in pairs),
                     "ratio_median": statistics.median(ratios), "ratio_min": min(ratios),
                     "ratio_max": max(ratios)})
    return rows


def sweep_bench(n_runs: int, sweep_dir: Path) -> dict:
    """Wall time of an ``n_runs`` sweep of a small council with the default (joblib) launcher,
    and the overhead of launcher + store per run relative to the simulation itself."""
    import shutil

    from .results import load

    shutil.rmtree(sweep_dir, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "-m", "experiment=sweep_bench",
                    f"seed=range(0,{n_runs},20)", "replicates=20",
                    f"hydra.sweep.dir={sweep_dir.resolve()}"], check=True, capture_output=True)
    wall = time.perf_counter() - t0
    summ = load(sweep_dir).summary
    sim_s = float(summ["wall_s_simulation"].mean())
    cores = os.cpu_count() or 1
    per_run = wall * cores / len(summ)          # core-seconds per finished run
    return {"runs": int(len(summ)), "wall_s": wall, "cores": cores,
            "simulation_s_per_run": sim_s, "core_s_per_run": per_run,
            "overhead_share": (per_run - sim_s) / sim_s}


def profile_phases(name: str, steps: int) -> list[tuple[str, float]]:
    """Milliseconds per step spent in each phase of the weekly schedule (wall time), in
    schedule order (``sim.schedule.PHASES``), plus recording and the rest."""
    import dataclasses

    import sim.model as sm

    from .config import compose

    overrides, _, _ = WORKLOADS[name]
    model = sm.CareMarketModel(compose(*overrides, f"steps={steps}", "output.figures=false"))
    spent: dict[str, float] = {}

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] = spent.get(key, 0.0) + time.perf_counter() - t
        return wrapper

    saved = sm.PHASES
    record = model.recorder.record
    try:
        sm.PHASES = tuple(dataclasses.replace(p, run=timed(p.name, p.run)) for p in saved)
        model.recorder.record = timed("record", record)
        t0 = time.perf_counter()
        model.run(steps)
        total = time.perf_counter() - t0
    finally:
        sm.PHASES = saved
    rows = [(p.name, spent.get(p.name, 0.0) / steps * 1000) for p in saved]
    rows.append(("record", spent.get("record", 0.0) / steps * 1000))
    rows.append(("other (Mesa's step, data collection)",
                 (total - sum(spent.values())) / steps * 1000))
    rows.append(("total per step", total / steps * 1000))
    return rows


def dashboard_bench(n_users: int = 10_000, weeks: int = 104) -> dict:
    """The live dashboard's play loop without a browser: each week Mesa's Play steps the model
    (the run, its counterfactual in lockstep, the person-by-person comparison and the week's
    figures) and re-renders the page (``force_update``: the week, the cards, the chart grid);
    the charts are redrawn by their own thread at most every ``sim.app.CHART_INTERVAL_S``
    (``chart_ms``: building the six charts' options once, at the last week).  Weeks a second
    as Mesa plays them: 1000 / (its play interval + step + render), and the measured wall
    time of the loop (charts' thread included)."""
    import solara
    from mesa.visualization.utils import force_update

    from . import app
    from .dashboard import DashboardModel, charts
    from .model import CareMarketModel

    model = DashboardModel(n_users=n_users)

    @solara.component
    def View():
        app.Status(model)
        app.Headline(model)
        app.Charts(model)

    solara.render(View(), handle_error=False)
    spent = dict.fromkeys(("run", "counterfactual", "compare", "render"), 0.0)
    t_start = time.perf_counter()
    for _ in range(weeks):
        time.sleep(app.PLAY_INTERVAL_MS / 1000)            # as Mesa's play loop does
        t0 = time.perf_counter()
        CareMarketModel.step(model)
        t1 = time.perf_counter()
        model.counterfactual.step()
        t2 = time.perf_counter()
        model._observe()
        t3 = time.perf_counter()
        force_update()
        t4 = time.perf_counter()
        for key, dt_ in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            spent[key] += dt_
    wall = time.perf_counter() - t_start
    t0 = time.perf_counter()
    for _ in range(10):
        charts(model)
    chart_ms = (time.perf_counter() - t0) / 10 * 1000
    ms = {k: v / weeks * 1000 for k, v in spent.items()}
    step_ms = ms["run"] + ms["counterfactual"] + ms["compare"]
    return {"users": int(model.council.n_users0.sum()), "weeks": weeks,
            "play_interval_ms": app.PLAY_INTERVAL_MS, "run_ms": ms["run"],
            "counterfactual_ms": ms["counterfactual"], "compare_ms": ms["compare"],
            "step_ms": step_ms, "render_ms": ms["render"], "chart_ms": chart_ms,
            "chart_interval_s": app.CHART_INTERVAL_S,
            "weeks_per_s": 1000 / (app.PLAY_INTERVAL_MS + step_ms + ms["render"]),
            "weeks_per_s_wall": weeks / wall}


def dashboard_browser(seconds: float = 10.0) -> dict:
    """Weeks a second of the served dashboard (``solara run sim.app``) playing in headless
    Chromium (server, browser and model share this machine): the week shown after
    ``seconds`` of play, from the week shown when timing starts (2 s after pressing play)."""
    import re
    import shutil

    from playwright.sync_api import sync_playwright

    from .dashboard_server import CHROMIUM_ARGS, serve

    def week(page):
        m = re.search(r"Week (\d+)", page.locator(".dash-status").inner_text())
        return int(m.group(1)) if m else 0

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url, wait_until="networkidle")
        page.get_by_role("button", name="STEP").wait_for(timeout=60_000)
        page.get_by_role("button", name="▶").click()
        page.wait_for_timeout(2000)
        w0, t0 = week(page), time.perf_counter()
        page.wait_for_timeout(seconds * 1000)
        w1, t1 = week(page), time.perf_counter()
        page.get_by_role("button", name="❚❚").click()
        browser.close()
    return {"browser_weeks": w1 - w0, "browser_s": t1 - t0,
            "browser_weeks_per_s": (w1 - w0) / (t1 - t0)}


def dashboard_table(r: dict) -> str:
    lines = [f"| dashboard ({r['users']:,} users + counterfactual, {r['weeks']} weeks) | ms per week |",
             "|---|---:|",
             f"| run (the model's week) | {r['run_ms']:.1f} |",
             f"| counterfactual, stepped in lockstep | {r['counterfactual_ms']:.1f} |",
             f"| person-by-person comparison and the week's figures | {r['compare_ms']:.1f} |",
             f"| page render (week, cards, chart grid) | {r['render_ms']:.1f} |",
             f"| Mesa's play interval | {r['play_interval_ms']:.0f} |",
             f"| charts: six options built, once per redraw (at most every "
             f"{r['chart_interval_s']:g} s, own thread) | {r['chart_ms']:.1f} |",
             "",
             f"Play speed: {r['weeks_per_s']:.1f} weeks/s from the loop's parts, "
             f"{r['weeks_per_s_wall']:.1f} weeks/s measured (wall, chart thread included)"]
    if "browser_weeks_per_s" in r:
        lines[-1] += (f"; served to headless Chromium: {r['browser_weeks_per_s']:.1f} weeks/s "
                      f"({r['browser_weeks']} weeks in {r['browser_s']:.1f} s)")
    return "\n".join(lines)


def _mesa_boltzmann(n=10_000, steps=20) -> float:
    from mesa.examples import BoltzmannWealth

    model = BoltzmannWealth(n=n, width=100, height=100, seed=42)
    model.step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    return n * steps / (time.perf_counter() - t0)


def _process_wall(reps: int) -> float:
    """Median wall time of a whole ``python -m sim`` process on the council workload."""
    times = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sim", "council.n_users=10000", "steps=156",
                            "output.figures=false", f"hydra.run.dir={d}/run"], check=True,
                           capture_output=True)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _dashboard_child(quick: bool) -> dict:
    """``dashboard_bench`` in its own process (a fresh interpreter, like the server's)."""
    out = subprocess.run([sys.executable, "-m", "sim.bench", "--dashboard", "--child-json"]
                         + (["--steps", "26"] if quick else []), check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_bench(quick: bool, reps: int | None = None) -> dict:
    reps = reps or (1 if quick else 3)
    results, all_runs = [], []
    for name, (_, steps, quick_steps) in WORKLOADS.items():
        n_steps = quick_steps if quick else steps
        runs = []
        for _ in range(reps):
            out = subprocess.run([sys.executable, "-m", "sim.bench", "--child", name,
                                  "--steps", str(n_steps)], check=True, capture_output=True,
                                 text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        all_runs.append(runs)
        wall = statistics.median(r["wall_s"] for r in runs)
        users = runs[0]["users"]   # mean over the run's steps
        results.append({
            "name": name, "users": users, "steps": n_steps, "repetitions": reps,
            "wall_s_median": wall,
            "init_s_median": statistics.median(r["init_s"] for r in runs),
            "run_s_median": statistics.median(r["run_s"] for r in runs),
            "user_steps_per_s": runs[0]["user_steps"] / statistics.median(r["run_s"] for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        })
        print(f"  {name}: {wall:.2f} s", file=sys.stderr)
    mesa_rate = statistics.median(_mesa_boltzmann() for _ in range(reps))
    by = {r["name"]: r for r in results}
    out = {
        "workloads": results,
        "mesa_boltzmann_agent_steps_per_s": mesa_rate,
        "ratio_vs_mesa": by["england"]["user_steps_per_s"] / mesa_rate,
        "england_over_region_time_per_step_ratio":
            (by["england"]["run_s_median"] / by["england"]["steps"])
            / (by["region"]["run_s_median"] / by["region"]["steps"]),
        "council_process_wall_s": _process_wall(reps),
        "dashboard": _dashboard_child(quick),
        "quick": quick,
        # "aot": compiled ahead of time (python -m sim.aot); "jit": numba compiles on first use
        "kernels": sorted({r["kernels"] for rs in all_runs for r in rs}),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
    }
    return out


def table(res: dict) -> str:
    lines = ["| workload | users | steps | wall s (median) | of which init s | user-steps/s | "
             "peak RSS MB | x Mesa |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    m = res["mesa_boltzmann_agent_steps_per_s"]
    for r in res["workloads"]:
        lines.append(f"| {r['name']} | {r['users']:,} | {r['steps']} | {r['wall_s_median']:.2f} | "
                     f"{r['init_s_median']:.2f} | {r['user_steps_per_s']:,.0f} | "
                     f"{r['peak_rss_mb']:,.0f} | {r['user_steps_per_s'] / m:.1f} |")
    lines.append("")
    lines.append(f"Mesa BoltzmannWealth (10,000 agents): {m:,.0f} agent-steps/s; "
                 f"England ratio {res['ratio_vs_mesa']:.1f}x; "
                 f"England/region time per step {res['england_over_region_time_per_step_ratio']:.1f}; "
                 f"whole `python -m sim` process (council): {res['council_process_wall_s']:.2f} s; "
                 f"kernels: {', '.join(res.get('kernels', ['jit']))}")
    if "dashboard" in res:
        d = res["dashboard"]
        lines.append("")
        lines.append(f"Dashboard ({d['users']:,} users + counterfactual): "
                     f"{d['weeks_per_s']:.1f} weeks/s playing (step {d['step_ms']:.1f} ms, "
                     f"render {d['render_ms']:.1f} ms, play interval {d['play_interval_ms']} ms; "
                     f"charts {d['chart_ms']:.1f} ms a redraw); `--dashboard` for its profile")
    return "\n".join(lines)


def plot(res: dict, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = res["workloads"]
    users = [r["users"] for r in w]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.8))
    ax[0].loglog(users, [r["run_s_median"] / r["steps"] * 1000 for r in w], "o-")
    ax[0].set_xlabel("users")
    ax[0].set_ylabel("ms per weekly step")
    ax[0].set_title("Time per step vs users")
    ax[1].loglog(users, [r["peak_rss_mb"] for r in w], "s-", color="C1")
    ax[1].set_xlabel("users")
    ax[1].set_ylabel("peak RSS (MB)")
    ax[1].set_title("Memory vs users")
    for a in ax:
        a.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs, one repetition (CI)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per workload")
    ap.add_argument("--json", type=Path, default=None, help="write results as JSON here")
    ap.add_argument("--plot", type=Path, default=None, help="write the scaling plot here")
    ap.add_argument("--sweep", type=int, default=None, metavar="N",
                    help="time an N-run sweep of a 2,000-user council (launcher + store), and exit")
    ap.add_argument("--profile", choices=sorted(WORKLOADS), default=None,
                    help="print milliseconds per step by phase for one workload, and exit")
    ap.add_argument("--against", type=Path, default=None, metavar="DIR",
                    help="time this checkout against another (council and England by default; "
                         "--reps pairs each), and exit")
    ap.add_argument("--workloads", default="council,england",
                    help="comma-separated workloads for --against")
    ap.add_argument("--dashboard", action="store_true",
                    help="time the live dashboard's play loop (10,000-user council with its "
                         "counterfactual; --steps weeks, default 104), and exit")
    ap.add_argument("--browser", action="store_true",
                    help="with --dashboard: also play the served page in headless Chromium")
    ap.add_argument("--child-json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", choices=sorted(WORKLOADS), help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_child(a.child, a.steps)))
        return 0
    if a.sweep:
        r = sweep_bench(a.sweep, Path("outputs/sweeps/sweep_bench"))
        print(json.dumps(r, indent=2))
        if a.json:
            from .outputs import atomic_write
            atomic_write(a.json, lambda p: p.write_text(json.dumps(r, indent=2)))
        return 0
    if a.against:
        rows = against(a.against, a.workloads.split(","), a.reps or 5)
        print("| workload | steps | pairs | this (median s) | other (median s) | this/other per "
              "pair: median [min, max] |\n|---|---:|---:|---:|---:|---|")
        for r in rows:
            print(f"| {r['workload']} | {r['steps']} | {r['runs']} | {r['this_median_s']:.3f} | "
                  f"{r['other_median_s']:.3f} | {r['ratio_median']:.3f} [{r['ratio_min']:.3f}, "
                  f"{r['ratio_max']:.3f}] |")
        if a.json:
            from .outputs import atomic_write
            atomic_write(a.json, lambda p: p.write_text(json.dumps(rows, indent=2)))
        return 0
    if a.dashboard:
        r = dashboard_bench(weeks=a.steps or 104)
        if a.child_json:
            print(json.dumps(r))
            return 0
        if a.browser:
            r |= dashboard_browser()
        print(dashboard_table(r))
        if a.json:
            from .outputs import atomic_write
            atomic_write(a.json, lambda p: p.write_text(json.dumps(r, indent=2)))
        return 0
    if a.profile:
        steps = a.steps or 26
        print(f"| phase | ms per step ({a.profile}, {steps} steps) |\n|---|---:|")
        for k, v in profile_phases(a.profile, steps):
            print(f"| {k} | {v:.1f} |")
        return 0
    res = run_bench(a.quick, a.reps)
    print(table(res))
    if a.json:
        from .outputs import atomic_write
        atomic_write(a.json, lambda p: p.write_text(json.dumps(res, indent=2)))
    plot_path = a.plot or (a.json.with_suffix(".png") if a.json else None)
    if plot_path:
        plot(res, plot_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
