"""The sweep store on its own (no model runs): typed override columns, unreadable files
reported and skipped, quarantine, the store's one fingerprint, the cheap skip of finished
runs."""

from pathlib import Path

import pandas as pd
import pytest

from sim.results import Store, StoreMismatch, load, store_fingerprint, typed

ROOT = Path(__file__).resolve().parent.parent


def readme_sql() -> str:
    """The SQL of the README's sweep-store example (``res.sql('...')``)."""
    lines = [ln for ln in (ROOT / "README.md").read_text().splitlines()
             if ln.startswith("res.sql('")]
    assert len(lines) == 1
    return lines[0].removeprefix("res.sql('").removesuffix("')")


def _store(tmp_path, months=(3, 12, 6), seeds=(0, 1)):
    store = Store(tmp_path)
    for m in months:
        for s in seeds:
            overrides = [f"policy.rollout_months={m}", f"seed={s}", "output.figures=false",
                         "policy.pb_target=0.3", "council.name=Leeds"]
            ts = pd.DataFrame({"step": [1, 2], "council": [0, 0], "pb_share": [0.1, 0.2]})
            from sim.results import run_key
            store.write(run_key(overrides), overrides,
                        {"worse_off_share": m / 100 + s / 1000}, ts)
    return store


def test_override_columns_are_typed_so_numbers_sort_as_numbers(tmp_path):
    assert [typed(v) for v in ("12", "-3", "0.5", "1e-3", "true", "False", "abc", "3,4")] \
        == [12, -3, 0.5, 0.001, True, False, "abc", "3,4"]
    _store(tmp_path)
    res = load(tmp_path)
    s = res.summary
    assert s["ov.policy.rollout_months"].dtype.kind == "i" and s["ov.seed"].dtype.kind == "i"
    assert s["ov.policy.pb_target"].dtype.kind == "f"
    assert s["ov.output.figures"].dtype == bool and s["ov.council.name"].iloc[0] == "Leeds"
    # The README's example: 3, 6, 12 in order (as strings it was '12', '3', '6').
    q = res.sql(readme_sql())
    assert q.iloc[:, 0].tolist() == [3, 6, 12]
    assert q.iloc[:, 1].tolist() == pytest.approx([0.0305, 0.0605, 0.1205])


def _truncate(path, size=100):
    data = path.read_bytes()
    path.write_bytes(data[:size])


def test_load_names_and_skips_unreadable_files(tmp_path):
    store = _store(tmp_path)
    keys = sorted(store.keys())
    _truncate(store.root / "summary" / f"{keys[0]}.parquet")
    _truncate(store.root / "timeseries" / f"{keys[1]}.parquet")   # beside an intact summary
    (store.root / "timeseries" / f"{keys[2]}.parquet").unlink()   # summary without series
    with pytest.warns(UserWarning) as rec:
        res = load(tmp_path)
    msg = str(rec[0].message)
    assert all(k in msg for k in keys[:3]) and "rerun the sweep" in msg
    assert len(res.bad) == 3
    assert set(res.summary["run_key"]) == set(keys[3:])          # bad runs left out entirely
    assert set(res.timeseries["run_key"]) == set(keys[3:])
    assert res.sql("SELECT count(*) AS n FROM summary")["n"].iloc[0] == 3
    assert res.sql("SELECT count(DISTINCT run_key) AS n FROM timeseries")["n"].iloc[0] == 3
    assert store.is_finished(keys[0])                             # load alone moves nothing
    with pytest.warns(UserWarning):
        load(tmp_path, quarantine=True)
    assert not any(store.is_finished(k) for k in keys[:3])
    assert (store.root / "quarantine" / "summary" / f"{keys[0]}.parquet").exists()
    assert (store.root / "quarantine" / "timeseries" / f"{keys[1]}.parquet").exists()


def test_check_quarantines_runs_with_truncated_files_so_they_are_redone(tmp_path):
    store = _store(tmp_path)
    keys = sorted(store.keys())
    _truncate(store.root / "timeseries" / f"{keys[1]}.parquet", 500)
    _truncate(store.root / "summary" / f"{keys[4]}.parquet", 0)
    bad = store.check()
    assert sorted(p.stem for p, _ in bad) == [keys[1], keys[4]]
    assert store.keys() == set(keys) - {keys[1], keys[4]}
    assert store.check() == []
    assert len(load(tmp_path).summary) == len(keys) - 2           # no warning: nothing bad left


def test_store_fingerprint_ignores_seed_and_swept_keys_only(tmp_path):
    cfg = {"seed": 0, "steps": 10, "policy": {"rollout_months": 3, "pb_target": 0.3}}
    excluded = {"seed", "policy.rollout_months"}

    def fp(**changes):
        c = {**cfg, "policy": {**cfg["policy"]}}
        for k, v in changes.items():
            if k in c["policy"]:
                c["policy"][k] = v
            else:
                c[k] = v
        return store_fingerprint(c, excluded)

    assert fp()["fingerprint"] == fp(seed=7)["fingerprint"] == fp(rollout_months=12)["fingerprint"]
    assert fp()["fingerprint"] != fp(pb_target=0.5)["fingerprint"]
    store = Store(tmp_path)
    store.claim(fp())
    store.claim(fp(seed=9))                                      # more seeds: the same store
    with pytest.raises(StoreMismatch, match=r"policy.pb_target: 0.3 in the store, 0.5 now"):
        store.claim(fp(pb_target=0.5))
    other = {**fp(), "model": "another", "fingerprint": "x"}
    with pytest.raises(StoreMismatch, match="model's code"):
        store.claim(other)


def test_store_with_runs_but_no_fingerprint_is_refused(tmp_path):
    store = _store(tmp_path, months=(3,), seeds=(0,))
    with pytest.raises(StoreMismatch, match="older version"):
        store.claim(store_fingerprint({"seed": 0}, {"seed"}))


def test_finished_job_is_skipped_without_building_its_config(tmp_path, monkeypatch):
    """Resume: a job whose runs are finished returns before any config validation."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from sim import config as config_mod
    from sim.config import CONFIG_DIR, register_schema
    from sim.results import run_key
    from sim.sweep import run_job

    register_schema()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["seed=1", "steps=2"], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.sweep.dir = str(tmp_path)
        cfg.hydra.overrides.task = ["seed=1", "steps=2"]
    HydraConfig.instance().set_config(cfg)
    ts = pd.DataFrame({"step": [1], "council": [0]})
    Store(tmp_path).write(run_key(["seed=1", "steps=2"]), ["seed=1", "steps=2"], {"x": 1}, ts)

    def boom(*a, **k):
        raise AssertionError("a finished run's config was built")

    monkeypatch.setattr(config_mod, "to_config", boom)
    run_job(cfg, simulate=boom)
    assert Store(tmp_path).counts() == (1, 0)


def test_the_model_fingerprint_covers_the_model_not_the_commands():
    from sim.results import model_modules

    names = {p.name for p in model_modules()}
    assert {"model.py", "kernels.py", "market.py", "recording.py", "config.py"} <= names
    assert not names & {"validate.py", "bench.py", "report.py", "docfigs.py", "golden.py"}
