"""Bad input is rejected before anything runs, with a message naming key, value and range."""

import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import ConfigError, to_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("key,value,expect", [
    ("council.block_price_agency", -5.0, "council.block_price_agency=-5.0 is out of range"),
    ("policy.pb_target", 1.5, "policy.pb_target=1.5 is out of range; allowed [0, 1]"),
    ("policy.family_pay_rule", "cousins", "choose one of ['none', 'non_resident', 'any']"),
    ("users.groups.older.share", 0.9, "must sum to 1"),
    ("policy.pb_share_start", 0.5, "policy.pb_target=0.3 is below policy.pb_share_start=0.5"),
])
def test_range_errors_name_key_value_and_allowed(key, value, expect):
    with pytest.raises(ConfigError) as e:
        to_config(None, **{key: value})
    assert expect in str(e.value)


def test_unknown_key_is_rejected_with_its_name():
    with pytest.raises(ConfigError, match="council.budget_envelop"):
        to_config({"council": {"budget_envelop": 3}})


def test_wrong_type_is_rejected_with_its_name():
    with pytest.raises(ConfigError, match="steps"):
        to_config({"steps": "many"})


def test_a_typed_config_is_checked_again_and_copied():
    """A ``SimConfig`` object is re-checked when a model is built from it (a field may have
    been set since), and the model keeps its own copy."""
    from sim.model import CareMarketModel

    cfg = to_config(None, **{"council.n_users": 300, "steps": 2})
    cfg.policy.pb_target = "high"
    with pytest.raises(ConfigError, match="policy.pb_target='high' has type str; expected float"):
        CareMarketModel(cfg)
    cfg.policy.pb_target = 2.0
    with pytest.raises(ConfigError, match="policy.pb_target=2.0 is out of range"):
        CareMarketModel(cfg)
    cfg.policy.pb_target = 1                      # a whole number for a float field is fine
    cfg.council.review_interval_weeks = 26.5      # a fraction for an int field is not
    with pytest.raises(ConfigError, match="council.review_interval_weeks=26.5 has type float"):
        CareMarketModel(cfg)
    cfg.council.review_interval_weeks = 52
    model = CareMarketModel(cfg)
    assert model.cfg.policy.pb_target == 1.0 and isinstance(model.cfg.policy.pb_target, float)
    cfg.policy.pb_target = 0.2
    assert model.cfg.policy.pb_target == 1.0 and model.cfg is not cfg


def _cli(*args, tmp_path):
    return subprocess.run([sys.executable, "-m", "sim", *args, f"hydra.run.dir={tmp_path}/run"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("arg,expect", [
    ("council.planning_staff=-1", "council.planning_staff=-1.0 is out of range"),
    ("policy.pb_target=2", "policy.pb_target=2.0 is out of range"),
    ("council.nonsense=1", "nonsense"),
    ("steps=abc", "steps"),
    ("council=bogus", "bogus"),
])
def test_cli_bad_input_exits_nonzero_without_a_run_folder(arg, expect, tmp_path):
    r = _cli(arg, "council.n_users=200", "steps=2", tmp_path=tmp_path)
    assert r.returncode != 0
    assert expect in r.stderr + r.stdout
    assert not (tmp_path / "run" / "summary.json").exists()
    assert not (tmp_path / "run").exists()


def test_cli_writes_a_complete_run_folder(tmp_path):
    r = _cli("council.n_users=300", "steps=8", "output.figures=true", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "run"
    for name in ("summary.json", "timeseries.parquet", "config.yaml", "figures/uptake.png",
                 "figures/spend_by_route.png", "figures/providers_hhi.png", "figures/prices.png",
                 "figures/outcomes.png", "figures/unmet_need.png"):
        assert (out / name).exists(), name
    # A finished run is never overwritten.
    again = _cli("council.n_users=300", "steps=8", tmp_path=tmp_path)
    assert again.returncode != 0
    assert "refusing to overwrite" in again.stderr + again.stdout


def test_generated_config_files_are_current():
    from sim.paramdocs import main
    assert main(["--check"]) == 0
