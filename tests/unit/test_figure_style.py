"""The book's figure style: SVG with real text, legible sizes, numbers at risk under Kaplan–Meier curves."""
import io
import re

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt
import numpy as np
from lifelines import KaplanMeierFitter

from osteobook.plots import survival
from osteobook.plots.style import (
    MIN_FONT_PT,
    PALETTE,
    SVG_METADATA,
    plain_log_ticks,
    use_book_style,
    wrap,
)


def test_numbers_at_risk_match_lifelines_event_table():
    rng = np.random.default_rng(3)
    durations, events = rng.exponential(5, 40), rng.integers(0, 2, 40)
    fitter = KaplanMeierFitter().fit(durations, events)
    table = fitter.event_table
    ticks = [0, 2.5, 5, 10, 20, 40]
    expected = [int(table.loc[table.index >= t, "at_risk"].iloc[0]) if (table.index >= t).any() else 0
                for t in ticks]
    assert survival.at_risk(fitter.durations, ticks) == expected


def test_km_panel_prints_numbers_at_risk_per_group_and_tick():
    use_book_style()
    rng = np.random.default_rng(1)
    fits = {name: KaplanMeierFitter(label=name).fit(rng.exponential(4, 30), rng.integers(0, 2, 30))
            for name in ("low", "high")}
    fig, ax = plt.subplots()
    survival.plot_km(ax, fits, {"low": PALETTE[0], "high": PALETTE[3]})
    ticks = list(ax.get_xticks())
    texts = [t.get_text() for t in ax.texts]
    assert "Number at risk" in texts and {"low", "high"} <= set(texts)
    expected = [str(n) for fitter in fits.values() for n in survival.at_risk(fitter.durations, ticks)]
    assert [t for t in texts if t.isdigit()] == expected and expected[0] == "30"
    plt.close(fig)


def test_svg_keeps_text_as_text_at_legible_sizes_and_without_a_timestamp():
    use_book_style()
    fig, ax = plt.subplots()
    ax.set_xscale("log")
    ax.plot([0.1, 1, 10], [1, 2, 3])
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel(wrap("a long axis label that would otherwise run past the edge of the figure", 30))
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata=SVG_METADATA)
    plt.close(fig)
    svg = buffer.getvalue()
    sizes = [float(size) for size in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    assert sizes and min(sizes) >= MIN_FONT_PT, "text is drawn as text, none smaller than the book's minimum"
    assert "<dc:date>" not in svg
    assert ">10<" in svg or ">10</text>" in svg  # '10', not 10 with a superscript exponent


def test_wrap_keeps_a_trailing_parenthesis_whole():
    assert wrap("T cells regulatory (Tregs)  (q = 0.91)", 18) == "T cells regulatory\n(Tregs)\n(q = 0.91)"
    assert wrap("short", 18) == "short"
