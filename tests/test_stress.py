"""Provider stress tests: file validation and a small run of every scenario."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.stress import ProviderFileError, load_provider, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["home_care_agency", "day_centre", "pa_cooperative"])
def test_example_provider_files_load(name):
    spec = load_provider(ROOT / "examples" / f"{name}.yaml")
    assert spec.staffed_hours > 0 and spec.councils == [0]


@pytest.mark.parametrize("edit,expect", [
    (lambda d: d.pop("wage"), "missing field 'wage'"),
    (lambda d: d.update(wages=7.0), "unknown field 'wages'"),
    (lambda d: d.update(block_share=1.4), "block_share=1.4 is out of range"),
    (lambda d: d.update(type="hospital"), "type='hospital' is not allowed"),
    (lambda d: d.update(spot_price="cheap"), "spot_price='cheap' must be a number"),
])
def test_bad_provider_file_names_the_field(tmp_path, edit, expect):
    import yaml
    d = yaml.safe_load((ROOT / "examples/home_care_agency.yaml").read_text())
    edit(d)
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(d))
    with pytest.raises(ProviderFileError, match=expect.replace("(", r"\(").replace(")", r"\)")):
        load_provider(f)
    r = subprocess.run([sys.executable, "-m", "sim.stress", f"provider={f}", "seeds=1"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and expect in r.stderr


def test_stress_run_writes_table_figures_and_board_summary(tmp_path):
    out = tmp_path / "st"
    assert main([f"provider={ROOT / 'examples/home_care_agency.yaml'}", "seeds=2", "steps=53",
                 "council.n_users=2000", f"out={out}"]) == 0
    table = pd.read_csv(out / "table.csv")
    assert list(table["scenario"]) == ["baseline", "fast_uptake", "block_ends", "wage_rise",
                                       "demand_shock", "combined"]
    assert table["p_exit_1y"].between(0, 1).all() and (table["revenue_week_median"] > 0).all()
    for name in ("fan_revenue.png", "fan_cash.png", "fan_utilisation.png", "summary.md"):
        assert (out / name).exists()
    # The shocks hit at a stated week (the default, 26), and the outputs say so.
    assert list(table["shock_week"]) == [0, 0, 26, 26, 26, 26]
    for name in ("summary.md", "table.md"):
        assert "hit at the start of week 26 of 53" in (out / name).read_text()
    # A finished stress test is never overwritten.
    assert main([f"provider={ROOT / 'examples/home_care_agency.yaml'}", "seeds=1", "steps=5",
                 "shock_week=3", f"out={out}"]) == 3


# ---------------------------------------------------------------- nothing silently wrong
AGENCY = ROOT / "examples/home_care_agency.yaml"


def _agency_with(tmp_path, text_edit):
    f = tmp_path / "agency.yaml"
    f.write_text(text_edit(AGENCY.read_text()))
    return f


def test_duplicate_councils_rejected_naming_file_and_key(tmp_path):
    f = _agency_with(tmp_path, lambda t: t.replace("councils: [0]", "councils: [0, 0]"))
    with pytest.raises(ProviderFileError) as exc:
        load_provider(f)
    msg = str(exc.value)
    assert str(f) in msg and "councils=[0, 0]" in msg and "more than once" in msg


def test_malformed_yaml_names_file_and_line(tmp_path, capsys):
    f = _agency_with(tmp_path, lambda t: t.replace("wage: 6.80", "wage: [6.80"))
    line = next(i for i, s in enumerate(f.read_text().splitlines(), 1) if "wage: [" in s)
    with pytest.raises(ProviderFileError) as exc:
        load_provider(f)
    assert str(f) in str(exc.value) and "line" in str(exc.value)
    out = tmp_path / "out"
    assert main([f"provider={f}", f"out={out}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error:") and str(f) in err
    assert f"line {line}" in err or f"line {line + 1}" in err
    assert not out.exists()


@pytest.mark.parametrize("args,expect", [
    (["seeds=0"], "seeds=0 must be at least 1"),
    (["seeds=-3"], "seeds=-3 must be at least 1"),
    (["seeds=ten"], "seeds='ten' must be a whole number"),
    (["steps=0"], "steps=0 must be at least 1"),
    (["stress=blok_ends"], "unknown stress scenario 'blok_ends' (did you mean 'block_ends'?)"),
    (["seds=3"], "unknown option 'seds' (did you mean 'seeds'?)"),
    (["seed=3"], "seed is set by the stress test"),
    (["policy.pb_targt=0.3"], "did you mean 'policy.pb_target'?"),
    (["policy.pb_target=2"], "policy.pb_target=2.0 is out of range"),
    (["oops"], "expected key=value"),
    (["shock_week=0"], "shock_week=0 is out of range; allowed [1, 156]"),
    (["steps=20"], "shock_week=26 (the default) is out of range; allowed [1, 20]"),
    (["shock_week=soon"], "shock_week='soon' must be a whole number in 1..156"),
    (["shock_wek=3"], "unknown option 'shock_wek' (did you mean 'shock_week'?)"),
])
def test_bad_command_line_is_one_line_and_writes_nothing(tmp_path, capsys, args, expect):
    out = tmp_path / "out"
    assert main([f"provider={AGENCY}", f"out={out}", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and expect in err, err
    assert not out.exists()


def test_cli_exit_status_and_message(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sim.stress", f"provider={AGENCY}", "seeds=0",
                        f"out={tmp_path / 'o'}"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == "error: seeds=0 must be at least 1"
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def _run(seed, cash, exit_at=None, weeks=60):
    """A fake stress run: cash path, leaving (insolvent) at week exit_at if given."""
    from sim.stress import run_one  # noqa: F401  (the columns below mirror run_one's)
    rows = []
    for t in range(1, weeks + 1):
        if exit_at and t == exit_at:
            rows.append({"step": t, "alive": False, "revenue": 0.0, "utilisation": 0.0,
                         "margin": float("nan"), "cash": cash[t - 2], "block_revenue": 0.0,
                         "cost": 0.0, "delivered": 0.0, "exit_step": t})
            break
        rows.append({"step": t, "alive": True, "revenue": 30000.0, "utilisation": 0.9,
                     "margin": 0.02, "cash": cash[t - 1], "block_revenue": 0.0,
                     "cost": 29400.0, "delivered": 2000.0})
    df = pd.DataFrame(rows)
    df["seed"] = seed
    return df


def test_insolvent_seeds_report_their_cash_not_zero():
    import numpy as np

    from sim.stress import _summarise
    good = [_run(s, np.linspace(80000, 60000, 60)) for s in range(4)]
    bust = [_run(s, np.linspace(80000, -130000, 60), exit_at=50) for s in range(4)]
    table = _summarise({"baseline": good, "wage_rise": bust}, 60).set_index("scenario")
    assert table.loc["wage_rise", "insolvent_seeds"] == 4
    assert table.loc["wage_rise", "cash_end_median"] < 0
    assert table.loc["wage_rise", "cash_end_median"] < table.loc["baseline", "cash_end_median"]


def test_summary_and_table_have_no_nan_and_say_na_beyond_the_run():
    import numpy as np

    from sim.stress import _board_summary, _summarise, table_markdown
    spec = load_provider(AGENCY)
    runs = {"baseline": [_run(s, np.linspace(80000, 60000, 60)) for s in range(3)],
            "block_ends": [_run(s, np.linspace(80000, 90000, 60)) for s in range(3)],
            "wage_rise": [_run(s, np.linspace(80000, -130000, 60), exit_at=55)
                          for s in range(3)]}
    table = _summarise(runs, 60)
    md = _board_summary(spec, table, 60, 3)
    tmd = table_markdown(table, 60)
    for text in (md, tmd):
        assert "nan" not in text.lower() and "e+" not in text
    assert "n/a (run is 60 weeks)" in md
    assert "—" in tmd and "no value" in tmd
    # A scenario ending with more cash than the baseline is explained, not left to puzzle.
    assert "block_ends** ends with more cash than the baseline" in md
    assert "Most dangerous scenario: **wage_rise**" in md


def test_stress_run_outputs_are_readable(tmp_path):
    out = tmp_path / "st"
    assert main([f"provider={AGENCY}", "seeds=2", "steps=30", "stress=wage_rise",
                 "council.n_users=2000", f"out={out}"]) == 0
    for name in ("summary.md", "table.md"):
        text = (out / name).read_text()
        assert "nan" not in text.lower() and "e+" not in text, name
    assert "n/a (run is 30 weeks)" in (out / "summary.md").read_text()


# ---------------------------------------------------------------- shocks in time
def _future(scenario, steps=12, shock_week=6, spec=None, **extra):
    from sim.stress import run_one, scenarios

    spec = spec or load_provider(AGENCY)
    sc = scenarios(spec, ["block_ends", "wage_rise", "demand_shock"])[scenario]
    return run_one(spec, sc, 0, steps, {"council.n_users": 2000, **extra}, shock_week)


@pytest.mark.parametrize("scenario", ["block_ends", "wage_rise", "demand_shock", "combined"])
def test_a_shock_hits_mid_run_the_future_before_it_is_the_baselines(scenario):
    base, shocked = _future("baseline"), _future(scenario)
    before = base["step"] < 6
    pd.testing.assert_frame_equal(shocked[before], base[before], check_exact=True)
    assert not shocked[~before].equals(base[~before])
    if scenario in ("block_ends", "combined"):
        assert (shocked.loc[~before, "block_revenue"] == 0).all()
        assert (base.loc[~before, "block_revenue"] > 0).all()
    if scenario == "wage_rise":     # the wage floor rise raises its costs from the shock week
        assert (shocked.loc[~before, "cost"] > base.loc[~before, "cost"]).all()


def test_the_providers_block_ends_in_the_stated_week_of_the_recorded_run(tmp_path):
    f = _agency_with(tmp_path, lambda t: t.replace("block_end_week: 78", "block_end_week: 4"))
    run = _future("baseline", steps=6, spec=load_provider(f), **{"policy.renew_blocks": False})
    block = run.set_index("step")["block_revenue"]
    assert (block.loc[1:3] > 0).all() and (block.loc[4:] == 0).all()


def test_an_exit_reports_the_cash_it_left_with_and_why(tmp_path):
    from sim.stress import _summarise

    f = _agency_with(tmp_path, lambda t: t.replace("cash_reserves: 80000",
                                                   "cash_reserves: -500000"))
    run = _future("baseline", steps=3, spec=load_provider(f))
    assert list(run["alive"]) == [False] and run["exit_reason"].iloc[0] == "cash"
    # Its cash after the week it left (that week's trading booked), not the week before's.
    assert run["cash"].iloc[0] != -500000 and abs(run["cash"].iloc[0] + 500000) < 50000
    row = _summarise({"baseline": [run]}, 3).iloc[0]
    assert row["insolvent_seeds"] == 1 and row["exits_on_losses"] == 0


def test_a_provider_in_overdraft_at_the_end_is_said_to_be_still_trading():
    import numpy as np

    from sim.stress import _board_summary, _summarise
    runs = {"baseline": [_run(s, np.linspace(80000, -20000, 60)) for s in range(3)]}
    for d in runs["baseline"]:
        d["overdraft"] = 4 * 29400.0
    table = _summarise(runs, 60)
    assert table.loc[0, "in_overdraft_end"] == 3 and table.loc[0, "insolvent_seeds"] == 0
    md = _board_summary(load_provider(AGENCY), table, 60, 3)
    assert "below £0 but within its tolerated overdraft (median £118,000) in 3 of 3" in md


def test_more_cash_with_more_exits_is_not_called_better_off():
    import numpy as np

    from sim.stress import _board_summary, _summarise
    runs = {"baseline": [_run(s, np.linspace(80000, 20000, 60), exit_at=50 if s else None)
                         for s in range(3)],
            "block_ends": [_run(s, np.linspace(80000, 40000, 60), exit_at=40) for s in range(3)]}
    table = _summarise(runs, 60)
    md = _board_summary(load_provider(AGENCY), table, 60, 3)
    assert "block_ends** ends with more cash than the baseline" in md
    assert "It is not better off: it left the market in more futures (3 of 3, against 2" in md
    assert "in this market spot demand filled" not in md


def test_block_ends_note_of_a_provider_without_a_block_does_not_blame_its_block(tmp_path):
    import numpy as np

    from sim.stress import _board_summary, _summarise
    spec = load_provider(ROOT / "examples/pa_cooperative.yaml")
    runs = {"baseline": [_run(s, np.linspace(8000, 9000, 60)) for s in range(3)],
            "block_ends": [_run(s, np.linspace(8000, 12000, 60)) for s in range(3)]}
    md = _board_summary(spec, _summarise(runs, 60, shock_week=20), 60, 3, 20)
    assert "It holds no block contract" in md and "block price" not in md
    assert "From week 20 it was paid a median £15.00 per hour delivered (baseline £15.00)" in md
