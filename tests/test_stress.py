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
    # A finished stress test is never overwritten.
    assert main([f"provider={ROOT / 'examples/home_care_agency.yaml'}", "seeds=1", "steps=5",
                 f"out={out}"]) == 3
