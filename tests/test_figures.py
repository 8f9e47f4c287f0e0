"""A run's figures (sim/figures.py): readable dates, legends clear of the data, £ axes."""

import matplotlib
import matplotlib.dates as mdates
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from sim import figures  # noqa: E402
from sim.figures import colours, gbp  # noqa: E402
from tests.conftest import small_cfg  # noqa: E402


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """Every figure of a small run, drawn but kept open for inspection."""
    from sim.model import CareMarketModel

    model = CareMarketModel(small_cfg(**{"council.n_users": 500, "steps": 60})).run()
    ts = model.recorder.timeseries(model)
    figs = {}

    def keep(fig, path):
        fig.text(0.99, 0.01, figures.SOURCE, ha="right", va="bottom", fontsize=7)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        fig.canvas.draw()
        figs[path.stem] = fig
    mp = pytest.MonkeyPatch()
    mp.setattr(figures, "_save", keep)
    try:
        figures.run_figures(ts, tmp_path_factory.mktemp("figs"))
    finally:
        mp.undo()
    yield figs
    for fig in figs.values():
        plt.close(fig)


NAMES = ["uptake", "spend_by_route", "cost_by_route", "providers_hhi", "prices", "outcomes",
         "unmet_need", "carers", "planning"]


def test_every_figure_drawn(drawn):
    assert sorted(drawn) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_time_axis_uses_date_locator_and_concise_formatter(drawn, name):
    ax = drawn[name].axes[-1]              # the bottom axes carries the dates
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert isinstance(ax.xaxis.get_major_locator(), mdates.AutoDateLocator)
    r = drawn[name].canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text()]
    assert len(boxes) >= 3
    assert not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False))


@pytest.mark.parametrize("name", NAMES)
def test_legends_do_not_cover_the_data(drawn, name):
    fig = drawn[name]
    r = fig.canvas.get_renderer()
    data = [ax.get_window_extent(r) for ax in fig.axes]
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert legends
    for leg in legends:
        box = leg.get_window_extent(r)
        assert not any(box.overlaps(d) for d in data), name
        assert fig.bbox.x1 >= box.x1 and box.x0 >= 0        # and is inside the figure


@pytest.mark.parametrize("name", ["spend_by_route", "cost_by_route"])
def test_money_axes_in_pounds_without_offset(drawn, name):
    ax = drawn[name].axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and all(t.startswith(("£", "-£")) for t in ticks), ticks
    assert ax.yaxis.get_offset_text().get_text() == ""


def test_no_offset_or_scientific_notation_anywhere(drawn):
    for name, fig in drawn.items():
        for ax in fig.axes:
            assert ax.yaxis.get_offset_text().get_text() == "", name
            assert not any("e+" in t.get_text() or "1e" in t.get_text()
                           for t in ax.get_yticklabels()), name


def test_gbp_and_colours():
    assert [gbp(v) for v in (0, 800, 15_000, 1_200_000, 3.4e9, -15_000)] == \
        ["£0", "£800", "£15k", "£1.2m", "£3.4bn", "-£15k"]
    assert len(set(colours(12))) == 12 and len(set(colours(30))) == 30
