"""The model works with Mesa's own tools: batch runs give replicates, the DataCollector holds
every council's figures (and, on request, every provider's), and care users can be sampled as
agents without materialising a million of them."""

import json

import mesa
import numpy as np
import pandas as pd
import pytest
import yaml

from sim.agents import CareUser, Council, Provider
from sim.codes import DP, PROVIDER_TYPES
from sim.config import ConfigError, compose, to_config
from sim.model import CareMarketModel
from sim.outputs import write_run
from sim.recording import national_names

SMALL = {"council.n_users": 300}


def _same(a, b) -> bool:
    return (a == b) or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))


# ---------------------------------------------------------------- seeds
def test_batch_run_iterations_are_replicates_that_their_recorded_seed_repeats():
    params = {"council.n_users": 300, "policy.pb_target": [0.3, 0.6]}
    rows = pd.DataFrame(mesa.batch_run(CareMarketModel, parameters=params, iterations=2,
                                       max_steps=10, display_progress=False))
    assert len(rows) == 4 and set(rows["iteration"]) == {0, 1}
    assert rows["seed"].nunique() == 4
    for _, pair in rows.groupby("policy.pb_target"):
        first, second = pair.sort_values("iteration").to_dict("records")
        assert first["spend_total"] != second["spend_total"]

    # The recorded seed repeats a replicate exactly, every national figure of it.
    rep = rows[(rows["policy.pb_target"] == 0.6) & (rows["iteration"] == 1)].iloc[0]
    m = CareMarketModel(seed=int(rep["seed"]), **{"council.n_users": 300, "policy.pb_target": 0.6})
    while m.steps <= 10:                       # batch_run's loop
        m.step()
    again = m.datacollector.get_model_vars_dataframe().iloc[int(rep["Step"])]
    for name in national_names():
        assert _same(float(again[name]), float(rep[name])), name


def test_who_chooses_the_seed():
    fresh = [CareMarketModel(**SMALL) for _ in range(2)]
    assert fresh[0].seed != fresh[1].seed
    for m in fresh:
        assert m.cfg.seed == m.seed and 0 <= m.seed < 2**32
    assert CareMarketModel().seed != CareMarketModel().seed
    # A config keeps its seed (the command line's default 0 included); an explicit seed wins.
    assert CareMarketModel(to_config(None, **SMALL)).seed == 0
    assert CareMarketModel(compose("council.n_users=300")).seed == 0
    assert CareMarketModel({"seed": 11, "council": {"n_users": 300}}).seed == 11
    assert CareMarketModel(seed=5, **SMALL).cfg.seed == 5
    assert CareMarketModel(**{"seed": 5}, **SMALL).seed == 5
    cfg = to_config(None, seed=3, **SMALL)
    m = CareMarketModel(cfg, seed=5)
    assert (m.seed, m.cfg.seed, cfg.seed) == (5, 5, 3)      # the caller's config untouched
    with pytest.raises(ConfigError, match="seed=-1 is out of range"):
        CareMarketModel(seed=-1, **SMALL)


def test_a_seed_from_a_design_row_is_kept(tmp_path):
    design = tmp_path / "design.csv"
    pd.DataFrame({"seed": [42, 43], "policy.pb_target": [0.4, 0.5]}).to_csv(design, index=False)
    m = CareMarketModel(**SMALL, **{"design.path": str(design), "design.row": 1})
    assert (m.seed, m.cfg.policy.pb_target) == (43, 0.5)


def test_outputs_record_the_seed_drawn(tmp_path):
    m = CareMarketModel(**SMALL, steps=2).run()
    write_run(m, tmp_path, figures=False)
    assert json.loads((tmp_path / "summary.json").read_text())["seed"] == m.seed
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["seed"] == m.seed
    same = CareMarketModel(seed=m.seed, **SMALL, steps=2).run()
    pd.testing.assert_frame_equal(same.recorder.timeseries(same), m.recorder.timeseries(m))


# ---------------------------------------------------------------- DataCollector
@pytest.fixture(scope="module")
def regional():
    """Three councils sharing a market, with every provider reported."""
    return CareMarketModel(compose("scenario=england", "geography.n_councils=3",
                                   "council.n_users=300", "steps=4",
                                   "output.provider_reporters=true")).run()


def test_council_agents_report_every_time_series_column(regional):
    m = regional
    ts = m.recorder.timeseries(m)
    df = m.datacollector.get_agenttype_vars_dataframe(Council).reset_index()
    assert len(df) == len(ts) == 3 * 4
    agent_council = {a.unique_id: a.index for a in m.agents_by_type[Council]}
    assert (df["AgentID"].map(agent_council) == df["council"]).all()
    merged = ts.merge(df.rename(columns={"Step": "step"}), on=["step", "council"],
                      suffixes=("", "_mesa"), validate="one_to_one")
    assert len(merged) == len(ts)
    for name in ts.columns:
        if name in ("step", "council"):
            continue
        assert name in df.columns, name
        pd.testing.assert_series_equal(merged[name], merged[f"{name}_mesa"], check_names=False,
                                       check_dtype=False, obj=name)


def test_the_councils_fast_records_are_mesas_own(regional):
    """The collector's column-wise records of the councils equal what Mesa's loop over the
    reporters gives (the last week's)."""
    m = regional
    fast = list(m.datacollector._record_agenttype(m, Council))
    slow = list(mesa.DataCollector._record_agenttype(m.datacollector, m, Council))
    assert len(fast) == len(slow) == 3
    assert fast == slow


def test_a_council_reads_any_recorded_week(regional):
    m = regional
    ts = m.recorder.timeseries(m).set_index(["step", "council"])
    c = m.council_agents[2]
    assert c.figure("spend_total", step=2) == ts.loc[(2, 2), "spend_total"]
    assert c.figures["users"] == ts.loc[(4, 2), "users"]
    assert c.figures["council_name"] == ts.loc[(4, 2), "council_name"]
    with pytest.raises(LookupError, match="step 5 not recorded"):
        c.figure("users", step=5)


def test_provider_agents_report_their_figures_when_asked(regional):
    m = regional
    ts = m.recorder.timeseries(m)
    df = m.datacollector.get_agenttype_vars_dataframe(Provider).reset_index()
    national = m.datacollector.get_model_vars_dataframe()
    per_step = df.groupby("Step").size()
    assert per_step.tolist() == national["providers"].astype(int).tolist()
    assert df["active"].all() and set(df["type"]) <= set(PROVIDER_TYPES)
    # Only agencies serve beyond their home council, so the other types, counted by the home
    # council they report, are the time series' providers serving each council.
    for kind in ("day", "pa", "community", "residential"):
        counted = (df[df["type"] == kind].groupby(["Step", "council"]).size()
                   .reindex(pd.MultiIndex.from_frame(ts[["step", "council"]]), fill_value=0))
        assert counted.tolist() == ts[f"providers_{kind}"].tolist(), kind
    last = df[df["Step"] == 4].set_index("AgentID")
    p = next(iter(m.agents_by_type[Provider]))
    assert last.loc[p.unique_id, "cash"] == m.providers.cash[p.row]
    assert (last["capacity"] > 0).all() and (last["price"] > 0).all()


def test_provider_reporters_are_off_by_default():
    m = CareMarketModel(**SMALL, seed=0).run(1)
    assert Provider not in m.datacollector.agenttype_reporters
    assert set(m.datacollector.agenttype_reporters) == {Council}


# ---------------------------------------------------------------- care users on demand
def test_care_users_are_agents_only_when_asked_for(regional):
    m = regional
    ts = m.recorder.timeseries(m)
    end = ts[ts["step"] == 4].set_index("council")
    before = len(m.agents_by_type[CareUser]) if CareUser in m.agents_by_type else 0
    dp = m.sample_users(5, rng=1, route="direct_payment", council=1)
    assert len(dp) == 5 and len({u.row for u in dp}) == 5
    assert all(u.route == "direct_payment" and u.council is m.council_agents[1] for u in dp)
    assert len(m.agents_by_type[CareUser]) == before + 5
    # By code or by name, and the same seed draws the same people.
    again = m.sample_users(5, rng=np.random.default_rng(1), route=DP, council="Council 002")
    assert [u.row for u in again] == [u.row for u in dp]
    # Asking for more than there are gives all of them: the time series' head counts.
    assert len(m.sample_users(10**6, route="direct_payment", council=1)) == end.loc[1, "direct_payment"]
    assert sum(1 for _ in m.iter_users(council=2)) == end.loc[2, "users"]
    older = m.iter_users(group="older", route=["traditional", "managed_pb"])
    first = next(older)
    assert first.group == "older" and first.route in ("traditional", "managed_pb")


def test_inspecting_users_does_not_change_the_run():
    quiet = CareMarketModel(**SMALL, seed=4)
    looked = CareMarketModel(**SMALL, seed=4)
    for _ in range(3):
        quiet.step()
        looked.step()
        looked.sample_users(20)
        list(looked.iter_users(route="direct_payment"))
    pd.testing.assert_frame_equal(looked.recorder.timeseries(looked),
                                  quiet.recorder.timeseries(quiet))


def test_bad_user_filters_are_named():
    m = CareMarketModel(**SMALL, seed=0)
    with pytest.raises(TypeError, match="unknown user filter 'colour'"):
        m.sample_users(3, colour="red")
    with pytest.raises(ValueError, match="route='cash' is not a known name"):
        list(m.iter_users(route="cash"))
