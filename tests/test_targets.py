"""The targets registry (sim/data/targets.yaml, sim/targets.py): one place for every empirical
figure, each calibration or validation, never both; calibration fits only its own."""

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import calibrate, targets, validate
from sim.targets import RegistryError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def doc():
    return yaml.safe_load(targets.REGISTRY.read_text())


def test_registry_loads_with_both_roles():
    items = targets.load()
    assert len(items) >= 20
    assert {t.role for t in items} == {"calibration", "validation"}
    assert len({t.id for t in items}) == len(items)
    assert targets.fitted() and targets.input_checks() and targets.validation()


def test_registry_ships_with_the_package():
    assert targets.REGISTRY.parent.parent == Path(targets.__file__).resolve().parent
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'\[tool\.setuptools\.package-data\]\s*\nsim = \["data/\*\.yaml"[,\]]', text)


def test_every_entry_has_a_source_a_role_and_an_analogue():
    for t in targets.load():
        assert t.role in targets.ROLES, t.id
        assert t.source.title and t.source.author and 1990 < t.source.year <= 2014, t.id
        assert t.figure and t.where and t.verified and t.note and t.year and t.place, t.id
        assert (t.summary_key is None) != (t.analogue is None), t.id
        assert (ROOT / "configs" / "scenario" / f"{t.scenario}.yaml").is_file(), t.id
        if t.check == "within":
            assert t.width > 0 and t.tolerance_note, t.id


def test_no_source_figure_is_both_calibration_and_validation():
    roles = {}
    for t in targets.load():
        roles.setdefault((t.source.key, t.figure), set()).add(t.role)
        roles.setdefault(("id", t.id), set()).add(t.role)
    assert all(len(r) == 1 for r in roles.values())


def test_input_checks_are_never_validation_and_never_fitted():
    for t in targets.input_checks():
        assert t.role == "calibration" and not t.fitted
    # The target that checks an input (the 30% target, met with no spread over seeds) is one.
    assert targets.get("demos2010_pb_target_april2011").is_input_check
    assert targets.get("wsx2007_package_cost").is_input_check


def test_calibrate_fits_exactly_the_fitted_calibration_targets():
    fit = calibrate.fitted_targets()
    assert [t.id for t in fit] == [t.id for t in targets.fitted()]
    assert all(t.role == "calibration" and not t.is_input_check for t in fit)
    assert all(t.scenario == calibrate.SCENARIO for t in fit)


def test_validation_targets_are_not_used_in_fitting():
    fit = calibrate.fitted_targets()
    val = targets.validation()
    assert not {t.id for t in fit} & {t.id for t in val}
    # No prediction compares a model number the calibration fits...
    assert not {t.analogue_identity for t in fit} & {t.analogue_identity for t in val}
    # ...and the loss does not move whatever the validation (or input-check) analogues are.
    frame = pd.DataFrame({t.id: [t.value + 0.3 * t.width] for t in fit})
    base = calibrate.loss(frame)
    wild = frame.assign(**{t.id: [1e12] for t in val + targets.input_checks()})
    assert np.isclose(calibrate.loss(wild).iloc[0], base.iloc[0])


def test_west_sussex_is_checked_in_numbers_where_the_source_gives_them():
    wsx = [t for t in targets.load() if t.source.key == "wsx_2007"]
    numeric = [t for t in wsx if t.check == "within"]
    assert any(t.value == 70000 and t.unit == "gbp_year" for t in numeric)
    for t in wsx:
        if t.check != "within":
            assert "direction-only" in t.verified, t.id


# ---------------------------------------------------------------- malformed registries
def _broken(doc, edit):
    d = copy.deepcopy(doc)
    edit(d)
    return d


@pytest.mark.parametrize("edit,entry,key", [
    (lambda d: d["targets"][0].pop("source"), "demos2008_pb_package_cost", "source"),
    (lambda d: d["targets"][0].update(role="both"), "demos2008_pb_package_cost", "role"),
    (lambda d: d["targets"][1].update(source="nobody_2009"), "demos2008_traditional_package_cost",
     "source"),
    (lambda d: d["targets"][2].update(value="ten"), "demos2008_saving_mean", "value"),
    (lambda d: d["targets"][2].update(tolerance=None), "demos2008_saving_mean", "tolerance"),
    (lambda d: d["targets"][3].update(analogue="pb_share_at_week"), "demos2008_saving_top",
     "summary_key"),
    (lambda d: d["targets"][0].update(analogue="no_such_fn", summary_key=None),
     "demos2008_pb_package_cost", "analogue"),
    (lambda d: d["targets"][0].update(colour="red"), "demos2008_pb_package_cost", "colour"),
    (lambda d: d["targets"][1].update(id=d["targets"][0]["id"]), "demos2008_pb_package_cost", "id"),
])
def test_malformed_entry_is_named_with_its_key(doc, edit, entry, key):
    with pytest.raises(RegistryError) as e:
        targets.parse(_broken(doc, edit))
    assert f"'{entry}'" in str(e.value) and f"key '{key}'" in str(e.value)


def test_a_figure_used_for_both_roles_is_refused(doc):
    def dup(d):
        again = copy.deepcopy(d["targets"][0])
        again.update(id="again", role="validation", scenario="personal_best_2010")
        d["targets"].append(again)
    with pytest.raises(RegistryError, match="both calibration and validation"):
        targets.parse(_broken(doc, dup))


def test_a_validation_target_on_a_fitted_number_is_refused(doc):
    def dup(d):
        again = copy.deepcopy(d["targets"][0])
        again.update(id="again", role="validation", figure="another figure")
        d["targets"].append(again)
    with pytest.raises(RegistryError, match="'again'.*which calibration fits"):
        targets.parse(_broken(doc, dup))


def test_an_input_check_marked_validation_is_refused(doc):
    def mark(d):
        t = next(t for t in d["targets"] if t.get("input"))
        t["role"] = "validation"
    with pytest.raises(RegistryError, match="key 'input'.*never a validation"):
        targets.parse(_broken(doc, mark))


def test_unreadable_yaml_is_a_registry_error(tmp_path):
    bad = tmp_path / "targets.yaml"
    bad.write_text("targets: [\n  - id: x\n   role")
    with pytest.raises(RegistryError, match="not valid YAML"):
        targets.load(bad)


# ---------------------------------------------------------------- analogues and the report
def test_timeseries_analogues_sum_councils_per_run():
    ts = pd.DataFrame({
        "run_key": ["a", "a", "a", "b"], "step": [26, 26, 52, 26], "council": [0, 1, 0, 0],
        "direct_payment": [10, 30, 5, 0], "managed_pb": [10, 50, 5, 0],
        "funded_community": [100, 300, 100, 50], "spend_direct_payment": [100.0, -100, 1, 0],
        "clawback": [0.0, 400, 0, 0], "spend_managed_pb": [100.0, 100, 1, 0]})
    summary = pd.DataFrame({"run_key": ["a", "b"]})
    assert targets.pb_share_at_week(summary, ts, week=26).tolist() == [0.25, 0.0]
    dp = targets.dp_share_of_pb_at_week(summary, ts, week=26)
    assert dp.iloc[0] == 40 / 100 and np.isnan(dp.iloc[1])
    assert targets.dp_spend_share_at_week(summary, ts, week=26).iloc[0] == 400 / 600
    # A run that ended before the week has no analogue (NaN), not an error.
    assert targets.pb_share_at_week(summary, ts, week=104).isna().all()


def test_named_analogues_from_summaries():
    s = pd.DataFrame({"pb_spend_share_community": [0.1], "pb_spend_share_family": [0.2],
                      "pb_spend_share_pa": [0.3], "effect_qol_mean_older": [0.01],
                      "effect_qol_mean_physical": [0.05], "effect_qol_mean_learning": [0.03],
                      "effect_qol_mean_mental": [None]})
    assert np.isclose(targets.community_family_pa_spend_share(s).iloc[0], 0.6)
    assert np.isclose(targets.older_qol_effect_gap(s).iloc[0], 0.02)


def test_every_target_computes_from_a_real_run():
    """Each scenario's targets have an analogue in a short, small run of it."""
    from sim.__main__ import simulate
    from sim.config import compose
    from sim.recording import summary

    for sc in targets.scenarios():
        model, _ = simulate(compose(f"scenario={sc}", "steps=30", "council.n_users=300",
                                    "geography.n_councils=2", "output.figures=false", "seed=0"))
        s = pd.DataFrame([{**summary(model), "run_key": "r0"}])
        ts = model.recorder.timeseries(model).assign(run_key="r0")
        out = validate.add_analogues(sc, s, lambda ts=ts: ts)
        for t in (t for t in targets.load() if t.scenario == sc):
            v = out[t.id].iloc[0]
            weeks = t.params.get("week", t.params.get("last", 0))
            assert np.isnan(v) if weeks > 30 else np.isfinite(v), (t.id, v)


def test_national_analogues_sum_over_councils_and_weeks():
    ts = pd.DataFrame({"run_key": ["a"] * 4 + ["b"] * 2, "step": [1, 1, 2, 2, 1, 1],
                       "council": [0, 1, 0, 1, 0, 1], "direct_payment": [1, 2, 3, 4, 5, 6],
                       "managed_pb": [10, 20, 30, 40, 50, 60]})
    s = pd.DataFrame({"run_key": ["a", "b"]})
    cols = ["direct_payment", "managed_pb"]
    assert targets.national_count_at_week(s, ts, cols, week=2).tolist()[0] == 77
    assert targets.national_count_at_week(s, ts, cols, week=2).isna().tolist() == [False, True]
    assert targets.national_mean_over_weeks(s, ts, "managed_pb", 1, 2).tolist()[0] == 50
    total = targets.national_total_over_weeks(s, ts, cols, 1, 2)
    assert total.iloc[0] == 110 and np.isnan(total.iloc[1])    # b did not reach week 2


def test_report_has_separate_calibration_and_prediction_tables():
    res = {}
    for t in targets.load():
        frame = res.setdefault(t.scenario, pd.DataFrame({"run_key": ["r0", "r1"]}))
        v = t.value + (1 if t.check == "above" else -1 if t.check == "below" else 0)
        frame[t.id] = [v, v]
    table = validate.target_table(res)
    assert table["pass"].all()
    assert set(table.loc[table["role"] == "validation", "use"]) == {"prediction"}
    assert set(table.loc[table["role"] == "calibration", "use"]) == {"fitted", "input"}
    comp = pd.DataFrame([{"measure": "m", "personal_best_2010": "1", "quick_fix": "2"}])
    md = validate.markdown(table, comp, 2, "")
    cal, val = md.index("## Calibration fit"), md.index("## Out-of-sample predictions")
    assert cal < val
    assert "`demos2008_pb_package_cost` | fitted" in md[cal:val]
    assert "`demos2010_pb_target_april2011` | input" in md[cal:val]
    assert "`adass2011_dp_share_march2011` | prediction" in md[val:]
    assert "prediction" not in md[cal:val] and "| fitted" not in md[val:]


def test_the_emulators_and_posterior_recover_a_known_response():
    """History matching's pieces on a made-up model whose targets depend on two parameters
    only: the emulated posterior puts those two near the values that give the targets and
    leaves a parameter no target depends on as spread as its prior (not identified)."""
    names = list(calibrate.FREE)
    fit = calibrate.fitted_targets()
    lo = np.array([calibrate.FREE[n][0][0] for n in names])
    hi = np.array([calibrate.FREE[n][0][1] for n in names])
    rng = np.random.default_rng(1)
    u = rng.random((90, len(names)))
    truth = np.full(len(names), 0.5)
    truth[0], truth[1] = 0.3, 0.7
    runs = pd.DataFrame(lo + u * (hi - lo), columns=names)
    for j, t in enumerate(fit):       # each target: its value at `truth`, moved by two params
        a, b = (1.0, 0.5) if j % 2 == 0 else (-0.5, 1.0)
        slope = 4 * t.width
        runs[t.id] = t.value + slope * (a * (u[:, 0] - 0.3) + b * (u[:, 1] - 0.7))
    runs["wave"], runs["design_row"] = "wave1", np.arange(len(runs))
    em = calibrate.Emulators(runs)
    draws, _, ess, best = calibrate.posterior(em, 200, seed=3, n_candidates=20_000)
    unit = (draws.to_numpy() - lo) / (hi - lo)
    assert ess > 100
    assert abs(np.median(unit[:, 0]) - 0.3) < 0.1 and abs(np.median(unit[:, 1]) - 0.7) < 0.1
    ident = calibrate.identifiability(draws).set_index("parameter")["verdict"]
    assert ident[names[0]] == "identified" and ident[names[1]] == "identified"
    assert ident[names[5]] == "not identified"
    # Sobol over the posterior: an output made of one parameter has it as its only driver.
    runs["pb_share_end"] = 0.2 + 0.3 * u[:, 3]
    sens = calibrate.sobol(runs, draws, seed=2, n=256).set_index(["output", "parameter"])
    st = sens.loc["pb_share_end", "ST"]
    assert st.idxmax() == names[3] and st[names[3]] > 0.8 and st.drop(names[3]).max() < 0.1
