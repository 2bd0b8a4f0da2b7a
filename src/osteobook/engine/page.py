"""What a chapter notebook shows: glued values, glued figures and HTML tables (the only display code)."""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from IPython import display
from IPython.display import HTML
from myst_nb import glue

from ..prose import Markdown


def publish(values: dict[str, Any]) -> None:
    """Glue every value for `{glue:text}` roles (`prose.Markdown` values for `{glue:md}`); nothing is displayed."""
    for name, value in values.items():
        glue(name, display.Markdown(value) if isinstance(value, Markdown) else value, display=False)


def publish_figure(name: str, figure: plt.Figure) -> None:
    """Glue a figure for a `{glue:figure}` directive and close it (so it is not drawn twice)."""
    glue(name, figure, display=False)
    plt.close(figure)


def html_table(frame: pd.DataFrame, sortable: bool = True) -> HTML:
    """A reader-facing table: no index, the book's table classes, sortable headers if asked."""
    classes = "sortable evidence-table" if sortable else "evidence-table"
    return HTML(frame.to_html(index=False, classes=classes, border=0, escape=True))
