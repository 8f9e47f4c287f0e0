"""Live dashboard for a presenter: ``solara run sim.app`` (then open http://localhost:8765).

A Mesa SolaraViz page (its Controls: play, step, reset, play and render intervals) with:

* headline cards, each with its unit: PB share against the target, council spend against the
  budget, people worse off than without the rollout, providers with exits and entries, unmet
  need; each with the same figure without the rollout;
* charts over calendar dates (the scenario's start date is week 1), the run beside its
  counterfactual (the same people and luck without the rollout, stepped in lockstep:
  ``sim.dashboard.DashboardModel``), and the market by provider type;
* levers grouped (policy, council, market), each showing its value and unit, and a reset to a
  named evidence scenario.  Levers apply when the run restarts at week 1 (APPLY or RESET).

Charts are ECharts (drawn in the browser from a small option dict: a week's redraw costs the
server about a millisecond), so a 10,000-user council plays at well over 10 weeks a second
(``python -m sim.bench --dashboard``).  The model and the figures are in ``sim.dashboard``.
"""

from __future__ import annotations

import logging
import threading
from html import escape

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter
from solara.components.echarts import EchartsWidget

from sim.config import ConfigError
from sim.dashboard import (
    CHARTS,
    GROUPS,
    LEVERS,
    SCENARIOS,
    DashboardModel,
    charts,
    date_text,
    default_settings,
    headline,
    settings_config,
)
from sim.scenarios import scenarios

logging.getLogger("MESA").setLevel(logging.WARNING)

#: Mesa's pause between two steps when playing (ms; its slider goes from 1 to 500).
PLAY_INTERVAL_MS = 1
#: Shortest time between two redraws of the charts (s).
CHART_INTERVAL_S = 0.15
#: The page's scenario, seed and lever values (solara keeps one per browser session).
SETTINGS = solara.reactive(default_settings())

CSS = """
.dash-status { font-size: 1.15rem; margin: 4px 0 10px 2px; }
.dash-cards { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px;
              margin-bottom: 14px; }
.dash-card { border-radius: 6px; padding: 10px 14px; background: #f5f7fb;
             border-left: 5px solid #1565c0; }
.dash-card-title { font-size: 0.95rem; font-weight: 600; color: #37474f; }
.dash-card-value { font-size: 2.0rem; font-weight: 700; line-height: 1.2; color: #0d2b52; }
.dash-card-unit { font-size: 0.85rem; color: #546e7a; margin-bottom: 4px; }
.dash-card-line { font-size: 0.85rem; color: #37474f; }
.dash-charts { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; }
.dash-chart { height: 330px; width: 100%; background: white; border: 1px solid #e0e0e0;
              border-radius: 6px; }
.dash-group { font-weight: 700; font-size: 0.95rem; margin: 14px 0 2px 0;
              text-transform: uppercase; letter-spacing: 0.04em; color: #1565c0; }
.dash-lever-label { font-size: 0.9rem; margin-top: 6px; }
.dash-lever-label b { font-size: 1.0rem; }
.dash-lever .v-input__slot { margin-bottom: 0; }
.dash-lever .v-messages { display: none; }
/* Mesa's "Model Parameters" card is empty: the levers are in their own card. */
.v-card:has(> .v-card__text > .v-sheet:empty) { display: none; }
.dash-scenario-text { font-size: 0.8rem; color: #546e7a; margin-bottom: 6px; }
"""


def _div(cls: str, children) -> solara.v.Html:
    return solara.v.Html(tag="div", class_=cls, children=list(children))


@solara.component
def Status(model: DashboardModel):
    """Week, date and what is running."""
    update_counter.get()
    s, t = model.settings, model.steps
    when = (f"Week {t} of {model.cfg.steps} · week starting {date_text(model.date_of(t))}" if t
            else f"Ready: week 1 starts {date_text(model.start_date)}")
    n_c = model.council.n
    where = f"{n_c} councils" if n_c > 1 else "one council"
    solara.HTML(tag="div", classes=["dash-status"], unsafe_innerHTML=escape(
        f"{when} · scenario {s['scenario']} · {where}, "
        f"{int(model.council.n_users0.sum()):,} funded users · seed {s['seed']}"))


def cards_html(cards: list[dict]) -> str:
    """The headline cards as one block of HTML (one widget: one message a week, not one per
    figure)."""
    def card(c):
        lines = "".join(f'<div class="dash-card-line">{escape(line)}</div>' for line in c["lines"])
        return (f'<div class="dash-card dash-card-{c["key"]}">'
                f'<div class="dash-card-title">{escape(c["title"])}</div>'
                f'<div class="dash-card-value">{escape(c["value"])}</div>'
                f'<div class="dash-card-unit">{escape(c["unit"])}</div>{lines}</div>')
    return "".join(card(c) for c in cards)


@solara.component
def Headline(model: DashboardModel):
    """The headline cards."""
    update_counter.get()
    solara.HTML(tag="div", classes=["dash-cards"], unsafe_innerHTML=cards_html(headline(model)))


@solara.component
def Charts(model: DashboardModel):
    """The charts; before the first week, a message instead of empty axes."""
    update_counter.get()
    if model.steps:
        ChartGrid(model)
    else:
        solara.Info(f"Press ▶ to play, or STEP for one week. The charts start at week 1 "
                    f"({date_text(model.start_date)}) and draw this run beside the same council "
                    "without the rollout.", classes=["dash-press-play"])


@solara.component
def ChartGrid(model: DashboardModel):
    """The charts, redrawn by their own thread at most every ``CHART_INTERVAL_S`` while the
    model has moved on, so playing is not held up by drawing (the cards and the week update
    every week; the charts catch up within a fraction of a second, also after a pause).

    Each option goes straight to its widget, not through the element's props: reacton
    would walk every point looking for elements, and would set the option again on each
    render."""
    with solara.v.Html(tag="div", class_="dash-charts"):
        elements = {name: EchartsWidget.element(
            responsive=True, attributes={"class": f"dash-chart dash-chart-{name}"})
            for name in CHARTS}
    widgets = solara.use_ref({})

    def find_widgets():
        widgets.current = {name: solara.get_widget(el) for name, el in elements.items()}

    solara.use_effect(find_widgets, [])

    def paint(cancel: threading.Event):
        drawn = None
        while True:
            week = (model.steps, len(model.history.get("date", ())))
            if week != drawn and widgets.current:
                for name, option in charts(model).items():
                    widgets.current[name].option = option
                drawn = week
            if cancel.wait(CHART_INTERVAL_S):
                return

    solara.use_thread(paint, dependencies=[model], intrusive_cancel=False)


@solara.component
def LeverInput(lever, value, on_value):
    """One lever: its label, value and unit above its slider (or a select)."""
    with solara.v.Html(tag="div", class_=f"dash-lever dash-lever-{lever.name}"):
        if lever.kind == "select":
            solara.Select(f"{lever.label} ({lever.unit})", value=value,
                          values=list(lever.values), on_value=on_value)
            return
        _div("dash-lever-label", [f"{lever.label}: ", solara.v.Html(
            tag="b", children=[lever.text(value)]), f" {lever.unit}"])
        slider = solara.SliderInt if lever.kind == "int" else solara.SliderFloat
        slider("", value=value, min=lever.min, max=lever.max, step=lever.step,
               on_value=on_value, thumb_label=False)


@solara.component
def Levers(current: solara.Reactive):
    """Scenario select and reset, then the levers by group, then apply."""
    settings = SETTINGS.value
    running = current.value.settings
    error = solara.use_reactive("")

    def restart(values: dict):
        model = DashboardModel(settings=values)     # first: levers and run change together
        SETTINGS.value = values
        error.set("")
        current.value = model

    def setter(name, step=None):
        def set_value(value):
            if step:
                value = round(round(value / step) * step, 6)
            values = {**SETTINGS.value, name: value}
            try:            # only settings a run can start from (Mesa's RESET uses them too)
                settings_config(values)
            except ConfigError as e:
                error.set(str(e).removeprefix("invalid configuration: "))
                return
            error.set("")
            SETTINGS.value = values
        return set_value

    with solara.Card("Scenario and levers"):
        solara.Select("Scenario", value=settings["scenario"], values=list(SCENARIOS),
                      on_value=lambda name: restart(default_settings(name, settings["seed"])))
        _div("dash-scenario-text", [scenarios()[settings["scenario"]]])
        solara.Button(f"Reset to {settings['scenario']}", color="primary", outlined=True,
                      classes=["dash-reset-scenario"],
                      on_click=lambda: restart(default_settings(settings["scenario"],
                                                                settings["seed"])))
        for group in GROUPS:
            _div("dash-group", [group])
            for lever in LEVERS:
                if lever.group == group:
                    LeverInput(lever, settings[lever.name],
                               setter(lever.name, None if lever.kind == "select" else lever.step))
        solara.InputText("Seed (whole number)", value=str(settings["seed"]),
                         on_value=lambda v: setter("seed")(int(v) if v.strip().isdigit()
                                                           else settings["seed"]))
        if error.value:
            solara.Error(f"Not applied: {error.value}", dense=True, classes=["dash-lever-error"])
        changed = settings != running
        if changed:
            solara.Warning("Levers changed: they apply when the run restarts at week 1.",
                           dense=True)
        solara.Button("Apply levers (restart)", color="primary", disabled=not changed,
                      classes=["dash-apply"], on_click=lambda: restart(dict(SETTINGS.value)))


@solara.component
def LeverSidebar(current: solara.Reactive):
    """The levers' card in the sidebar, below Mesa's controls (a sidebar's content is
    placed by its depth in the page: one level deeper than SolaraViz's)."""
    with solara.Column():
        with solara.Sidebar():
            Levers(current)


@solara.component
def Page():
    model = solara.use_memo(lambda: DashboardModel(settings=SETTINGS.value), [])
    current = solara.use_reactive(model)
    solara.Style(CSS)
    # Mesa's page: controls (play, step, reset) and the step; its Reset builds the model from
    # SETTINGS (a fixed parameter: the levers are drawn below, grouped, with their units).
    SolaraViz(current, components=[], model_params={"settings": SETTINGS},
              play_interval=PLAY_INTERVAL_MS, name="Self-directed care market: live")
    LeverSidebar(current)
    Status(current.value)
    Headline(current.value)
    Charts(current.value)


page = Page
