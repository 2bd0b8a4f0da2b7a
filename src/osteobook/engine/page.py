"""What a chapter notebook shows: glued values, glued figures and HTML tables (the only display code)."""
from __future__ import annotations

import hashlib
import math
import re
from html import escape
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from IPython import display
from IPython.display import HTML
from myst_nb import glue
from pandas.io.formats.style import Styler

from ..prose import Markdown


def publish(values: dict[str, Any]) -> None:
    """Glue every value for `{glue:text}` roles (`prose.Markdown` values for `{glue:md}`); nothing is displayed."""
    for name, value in values.items():
        glue(name, display.Markdown(value) if isinstance(value, Markdown) else value, display=False)


def publish_figure(name: str, figure: plt.Figure) -> None:
    """Glue a figure for a `{glue:figure}` directive and close it (so it is not drawn twice)."""
    glue(name, figure, display=False)
    plt.close(figure)


def html_table(table: pd.DataFrame | Styler, sortable: bool = True) -> HTML:
    """A reader-facing table: no index, the book's table classes, sortable headers if asked.

    It scrolls inside its own box when wider than the page. Columns whose every cell is a value ("3/35 = 9%
    (2–23%)", "0.54 (0.27–1.08)", 12) are marked `value` and kept on one line; text columns wrap. Missing
    values show as a dash. A `Styler` (a chapter's table with HTML cells, such as source links) keeps its own
    formatting and table classes and gets the same value marking and scrolling box.
    """
    if isinstance(table, Styler):
        frame = table.data
        if re.fullmatch(f"[0-9a-f]{{{table.uuid_len}}}", table.uuid):  # pandas' random id -> one from the content
            table.set_uuid("t" + hashlib.sha256(frame.to_csv().encode()).hexdigest()[:12])
        marks = [_value_column([_text(value) for value in column]) for _, column in frame.items()]
        classes = pd.DataFrame([["value" if mark else "" for mark in marks]] * len(frame), index=frame.index,
                               columns=frame.columns)
        return HTML(_scrolling(table.set_td_classes(classes).to_html()))
    classes = "sortable evidence-table" if sortable else "evidence-table"
    cells = [[_text(value) for value in column] for _, column in table.items()]
    marks = [_value_column(column) for column in cells]
    head = "".join(f'<th scope="col">{escape(str(name))}</th>' for name in table.columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="value">{escape(text)}</td>' if mark else f"<td>{escape(text)}</td>"
                         for text, mark in zip(row, marks, strict=True)) + "</tr>"
        for row in zip(*cells, strict=True)) if len(table) else ""
    return HTML(_scrolling(f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'))


def _scrolling(table_html: str) -> str:
    """The table in a box that scrolls sideways on a narrow screen (focusable, so keys scroll it too)."""
    return f'<div class="table-scroll" tabindex="0">{table_html}</div>'


def _value_column(texts: list[str]) -> bool:
    shown = [text for text in texts if text != MISSING]
    return bool(shown) and all(_is_value(text) for text in shown)


MISSING = "—"
_VALUE = re.compile(r"^[-+−]?[\d.,]+\S*(\s*[=(–\-−/,:]?\s*[-+−]?[\d.,]+\S*)*\)?\s*[%†‡*]*$")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return MISSING
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _is_value(text: str) -> bool:
    """A number, a count, a percentage or an estimate with its interval, with nothing else to wrap."""
    return bool(_VALUE.match(text.strip())) and len(text) <= 40
