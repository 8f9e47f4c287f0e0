"""Bad input is rejected before anything runs, with a message naming key, value and range."""

import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import ConfigError, compose, to_config

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


# Nothing silently wrong: NaN, infinities, unknown keys, dates, memory.

@pytest.mark.parametrize("key", ["council.planning_staff", "users.groups.older.share",
                                 "policy.pb_target", "market.wage"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinities_are_rejected_naming_the_key(key, value):
    with pytest.raises(ConfigError, match=f"{key}={value!r} is not a finite number"):
        to_config(None, **{key: value})


def test_nan_is_rejected_through_every_entry():
    from sim.model import CareMarketModel

    nan = float("nan")
    with pytest.raises(ConfigError, match="council.planning_staff=nan"):
        CareMarketModel(**{"council.planning_staff": nan})
    with pytest.raises(ConfigError, match="council.planning_staff=nan"):
        to_config({"council": {"planning_staff": nan}})
    cfg = to_config(None)
    cfg.users.groups.older.share = nan            # set on a typed config afterwards
    with pytest.raises(ConfigError, match="users.groups.older.share=nan"):
        CareMarketModel(cfg)


def test_a_blank_cell_of_a_design_is_rejected(tmp_path):
    path = tmp_path / "design.csv"
    path.write_text("council.planning_staff,council.n_users\n3.0,300\n,400\n")
    ok = to_config(None, **{"design.path": str(path), "design.row": 0})
    assert ok.council.planning_staff == 3.0 and ok.council.n_users == 300
    with pytest.raises(ConfigError, match="council.planning_staff is blank in row 1"):
        to_config(None, **{"design.path": str(path), "design.row": 1})
    with pytest.raises(ConfigError, match="council.planning_staff is blank in row 1"):
        to_config({"design": {"path": str(path), "row": 1}})


def test_a_design_column_outside_the_schema_is_rejected(tmp_path):
    path = tmp_path / "design.csv"
    path.write_text("policy.pb_targt\n0.5\n")
    with pytest.raises(ConfigError, match="did you mean policy.pb_target"):
        to_config(None, **{"design.path": str(path), "design.row": 0})


@pytest.mark.parametrize("key,suggestion", [
    ("policy.pb_targt", "policy.pb_target"),
    ("councl.n_users", "council.n_users"),
    ("users.groups.oldr.share", "users.groups.older.share"),
    ("sed", "seed"),
])
def test_unknown_keys_are_rejected_with_the_closest_key(key, suggestion):
    with pytest.raises(ConfigError, match=f"unknown key '{key}'; did you mean {suggestion}?"):
        to_config(None, **{key: 0.5})


def test_a_key_added_with_hydras_plus_is_rejected():
    """Hydra's ``+key=value`` adds a key OmegaConf would carry and then drop silently."""
    from sim.config import compose

    with pytest.raises(ConfigError, match="did you mean policy.pb_target"):
        compose("+policy.pb_targt=0.5")


def test_the_fast_path_gives_what_omegaconf_gives():
    """Dotted overrides set on a typed config equal the same overrides merged by OmegaConf."""
    over = {"policy.pb_target": 1, "council.n_users": 300, "council.name": "X",
            "policy.renew_blocks": False, "start_date": "2011-01-03"}
    nested = {}
    for k, v in over.items():
        *path, name = k.split(".")
        node = nested
        for p in path:
            node = node.setdefault(p, {})
        node[name] = v
    assert to_config(None, **over) == to_config(nested)


@pytest.mark.parametrize("value,expect", [
    ("2010-13-45", "start_date='2010-13-45' is not an ISO date; expected YYYY-MM-DD"),
    ("April 2010", "start_date='April 2010' is not an ISO date"),
    ("9999-12-01", "would end after the last representable date"),
])
def test_a_bad_start_date_is_rejected(value, expect):
    with pytest.raises(ConfigError, match=expect):
        to_config(None, start_date=value)


def test_a_run_too_big_for_memory_is_refused_unless_forced(monkeypatch):
    from sim.config import memory_check, memory_estimate

    cfg = to_config(None, **{"council.n_users": 10_000_000, "output.counterfactual": False})
    assert 7.5e9 < memory_estimate(cfg) < 10e9     # measured at 1 million users: 1.0 GB
    both = to_config(None, **{"council.n_users": 10_000_000})
    assert memory_estimate(both) > 1.9 * memory_estimate(cfg) - 0.3e9   # the counterfactual
    with pytest.raises(ConfigError, match=r"needs about 8\.\d GB of memory .* but 4\.0 GB"):
        memory_check(cfg, available=4e9)
    memory_check(cfg, available=16e9)
    monkeypatch.setenv("SIM_FORCE_MEMORY", "1")
    memory_check(cfg, available=4e9)


def test_validate_refuses_what_the_machine_cannot_hold(monkeypatch):
    import sim.config as config

    monkeypatch.setattr(config, "memory_available", lambda: 1e9)
    with pytest.raises(ConfigError, match="GB of memory"):
        to_config(None, **{"council.n_users": 2_000_000})
    to_config(None, **{"council.n_users": 1000})


def test_the_summary_never_turns_nan_into_zero():
    """The summary of a run is finite for a valid configuration; the writer stores a
    non-finite figure as null (never 0)."""
    import math

    from sim.outputs import _clean

    assert _clean({"x": float("nan"), "y": 1.0}) == {"x": None, "y": 1.0}
    from sim.model import CareMarketModel
    from sim.recording import summary

    model = CareMarketModel(**{"council.n_users": 300, "steps": 10, "seed": 0})
    model.run()
    for k, v in summary(model).items():
        assert not (isinstance(v, float) and math.isnan(v)), k


def test_numpy_scalars_are_numbers_and_labels_must_be_strings():
    import numpy as np

    cfg = to_config(None, **{"council.n_users": np.int64(300), "policy.pb_target": np.float64(0.5)})
    assert type(cfg.council.n_users) is int and cfg.policy.pb_target == 0.5
    with pytest.raises(ConfigError, match="council.name=3 has type int; expected str"):
        to_config(None, **{"council.name": 3})
    with pytest.raises(ConfigError, match="policy.renew_blocks='yes' has type str; expected bool"):
        to_config(None, **{"policy.renew_blocks": "yes"})


def test_a_sweep_too_big_for_memory_at_once_is_refused_unless_forced(monkeypatch):
    """The sweep's peak is its largest run times the runs executed at once."""
    from sim.config import sweep_memory_check

    cfg = to_config(None, **{"council.n_users": 800_000,             # ~0.8 GB a run alone
                             "output.counterfactual": False})
    args = ("into S", cfg, "council.n_users=800000", 4, "hydra.launcher.n_jobs=4",
            "hydra.launcher.n_jobs={n}")
    with pytest.raises(ConfigError, match=r"^sweep into S needs about 3\.\d\d GB of memory: 4 "
                       r"runs at once \(hydra\.launcher\.n_jobs=4\) x 0\.\d\d GB for its "
                       r"largest run \(council\.n_users=800000\), but 2\.00 GB is available; "
                       r"run at most 2 at once \(hydra\.launcher\.n_jobs=2\)"):
        sweep_memory_check(*args, available=2e9)
    with pytest.raises(ConfigError, match=r"even one run does not fit \(council\.n_users=800000"):
        sweep_memory_check(*args, available=0.5e9)
    sweep_memory_check(*args[:3], 2, *args[4:], available=2e9)      # two at once fit
    monkeypatch.setenv("SIM_FORCE_MEMORY", "1")
    sweep_memory_check(*args, available=2e9)


def test_a_run_takes_its_calibrated_parameters_from_a_posterior_draw(tmp_path, monkeypatch):
    """posterior.draw=k takes row k's parameters; posterior.by_seed takes row seed mod N, so a
    sweep over seeds samples the ensemble; a bad draw or a clash with an explicit setting of
    a calibrated parameter is refused, naming the key."""
    import sim.config as sc

    post = tmp_path / "posterior.csv"
    post.write_text("draw,behaviour.mix_satiation,users.need_scale,log_likelihood\n"
                    "0,0.2,1.3,-1.0\n1,0.5,1.7,-2.0\n2,0.9,2.1,-3.0\n")
    monkeypatch.setattr(sc, "posterior_file", lambda: post)
    base = compose()
    assert base.posterior.draw == -1
    one = to_config(base, **{"posterior.draw": 1})
    assert (one.behaviour.mix_satiation, one.users.need_scale, one.posterior.draw) == (0.5, 1.7, 1)
    by_seed = [to_config(base, **{"posterior.by_seed": True, "seed": s}) for s in range(5)]
    assert [c.posterior.draw for c in by_seed] == [0, 1, 2, 0, 1]
    assert [c.behaviour.mix_satiation for c in by_seed] == [0.2, 0.5, 0.9, 0.2, 0.5]
    assert compose("posterior.draw=2").users.need_scale == 2.1       # the Hydra path
    with pytest.raises(ConfigError, match=r"posterior.draw=3 is out of range; allowed \[0, 2\]"):
        to_config(base, **{"posterior.draw": 3})
    with pytest.raises(ConfigError, match="users.need_scale: set by the posterior draw"):
        to_config(base, **{"posterior.draw": 0, "users.need_scale": 1.5})


def test_a_posterior_draw_refuses_a_calibrated_parameter_set_on_the_command_line(tmp_path,
                                                                                 monkeypatch):
    import sim.config as sc

    post = tmp_path / "posterior.csv"
    post.write_text("draw,behaviour.mix_satiation\n0,0.2\n1,0.5\n")
    monkeypatch.setattr(sc, "posterior_file", lambda: post)
    with pytest.raises(ConfigError, match="behaviour.mix_satiation: set by the posterior draw"):
        compose("posterior.draw=1", "behaviour.mix_satiation=0.7")
    with pytest.raises(ConfigError, match="behaviour.mix_satiation: set by the posterior draw"):
        compose("posterior.by_seed=true", "calibration=none")
    assert compose("posterior.by_seed=true", "seed=3", "policy.pb_target=0.5") \
        .behaviour.mix_satiation == 0.5
