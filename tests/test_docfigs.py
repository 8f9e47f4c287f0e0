"""Every figure in the README and docs still shows what the code produces.

Each figure was made by ``python -m sim.docfigs`` (``make figures``), which recorded a cheap
sample of its numbers in docs/figures.json; this recomputes the samples (a few seconds)."""

from sim import docfigs


def test_committed_figures_match_the_code():
    stale = docfigs.stale()
    assert not stale, "stale figures (regenerate with make figures):\n" + "\n".join(stale)
