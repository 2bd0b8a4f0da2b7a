"""Alt texts written from a chapter's numbers: a figure's `:alt:` option may carry `{glue:text}` roles, which
MyST does not expand inside directive options, so the executor fills them in the executed notebook. A
description that states numbers or what the intervals show ("every interval crosses 1") is then generated
from the same results as the figure, never typed (`tests/book/test_alt_texts.py`)."""
from __future__ import annotations

import re

from ..errors import ChapterFailed
from .launch import fill_roles, glued

ALT = re.compile(r"^(:alt: )(.*)$", re.MULTILINE)


def fill(notebook, chapter: str) -> None:
    """Replace the glue roles of every `:alt:` line of the executed `notebook` by their values."""
    values = glued(notebook)
    for cell in notebook.cells:
        if cell.cell_type != "markdown" or ":alt: " not in cell.source:
            continue
        try:
            cell.source = ALT.sub(lambda m: m.group(1) + fill_roles(m.group(2), values), cell.source)
        except KeyError as err:
            raise ChapterFailed(f"notebooks/{chapter}.md: an alt text uses the glue value {err.args[0]!r}, which the "
                                "chapter does not publish; the previous good output was kept") from None
