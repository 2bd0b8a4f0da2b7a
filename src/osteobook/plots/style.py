"""One figure style for the whole book: readable at laptop width, sharp at any zoom, colour-blind-safe.

Figures are published as SVG with real text (not outlines): sharp when zoomed, small, searchable. The book's
column is 672 px wide at a 1280 px window; a figure `MAX_WIDTH_IN` wide is shown at ≥ 87% of its natural
size, so text of `MIN_FONT_PT` renders at ≥ 10 px (the browser tests measure both on every page).
"""
from __future__ import annotations

import textwrap

import matplotlib as mpl
from matplotlib.axis import Axis
from matplotlib.ticker import FuncFormatter, NullFormatter

# Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MAX_WIDTH_IN = 8.0   # widest figure, inches (SVG: 96 px per inch at 100%)
MIN_FONT_PT = 9.0    # smallest text a figure may use
SVG_METADATA = {"Date": None}  # no timestamp: the same figure gives the same bytes


def use_book_style() -> None:
    """Apply the book's matplotlib defaults and, in a notebook, publish figures as SVG (call once per chapter)."""
    mpl.rcParams.update({
        "figure.figsize": (MAX_WIDTH_IN, 4.5),
        "figure.dpi": 110,
        "savefig.dpi": 220,            # any rasterised layer inside an SVG, and PNG exports
        "savefig.bbox": "tight",
        "svg.fonttype": "none",        # text stays text: crisp, selectable, a fraction of the size of outlines
        "svg.hashsalt": "osteobook",   # deterministic SVG ids
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "legend.fontsize": 10,
        "legend.title_fontsize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "legend.frameon": False,
    })
    _publish_as_svg()


def wrap(text: str, width: int = 40) -> str:
    """A label broken into lines of at most `width` characters, so that it fits the figure at a legible size.

    A trailing parenthesis such as "(q = 0.07)" or "(0/31)" moves to a line of its own rather than being split.
    """
    head, _, tail = text.rpartition(" (")
    if head and len(text) > width and tail.endswith(")") and len(tail) < width:
        return f"{wrap(head.rstrip(), width)}\n({tail}"
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text


def plain_log_ticks(axis: Axis) -> None:
    """Label a log axis 0.1, 1, 10 rather than 10⁻¹, 10⁰, 10¹ (whose exponents print at 70% of the font size)."""
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _publish_as_svg() -> None:
    """Make the notebook's display formatter emit SVG for figures (`glue` uses it); nothing outside IPython."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("svg", bbox_inches="tight", metadata=SVG_METADATA)
