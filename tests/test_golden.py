"""The golden baseline: results must not move unless someone means them to.

A failure lists what moved.  If the change was deliberate, refresh with
``python -m sim.golden --refresh`` and give the reason in the commit message."""

import pytest

from sim import golden


@pytest.mark.parametrize("name", golden.TEST)
def test_matches_golden_baseline(name):
    moved = golden.compare(golden.load(name), golden.run_case(name))
    assert not moved, f"{name} moved from the golden baseline:\n" + "\n".join(moved[:30])


def test_compare_reports_a_moved_figure():
    old = golden.load("default")
    new = {**old, "summary": {**old["summary"], "pb_share_end": old["summary"]["pb_share_end"] + 1e-6}}
    assert golden.compare(old, new) == [
        f"summary.pb_share_end: {old['summary']['pb_share_end']} -> {new['summary']['pb_share_end']}"]
