import pandas.testing as pdt

from tests.conftest import run


def test_same_seed_same_timeseries(tmp_path):
    a = run(seed=7, steps=30)
    b = run(seed=7, steps=30)
    pdt.assert_frame_equal(a.recorder.timeseries(a), b.recorder.timeseries(b))
    pa, pb = tmp_path / "a.parquet", tmp_path / "b.parquet"
    a.recorder.timeseries(a).to_parquet(pa)
    b.recorder.timeseries(b).to_parquet(pb)
    assert pa.read_bytes() == pb.read_bytes()


def test_different_seeds_differ():
    a = run(seed=1, steps=20)
    b = run(seed=2, steps=20)
    ta, tb = a.recorder.timeseries(a), b.recorder.timeseries(b)
    assert not ta["spend_total"].equals(tb["spend_total"])
