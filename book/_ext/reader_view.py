"""What readers see of a code cell: its code and its result, not the build's test markers or pandas internals.

- A chapter marks the cells whose printed output `make test` re-checks with a first line `# NBVAL_CHECK_OUTPUT`
  (nbval reads it from the notebook). The marker means nothing to a reader, so the page shows the cell without it.
- A pandas Series printed as text ends with `Name: key result, dtype: float64`, a line about the object rather
  than the result; the page shows the values without it.

The executed notebook is unchanged (nbval still compares its outputs); only the rendered page differs.
"""
from __future__ import annotations

import re

from docutils import nodes

MARKER = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*\n?", flags=re.MULTILINE)
PANDAS_FOOTER = re.compile(r"\n(?:Name: [^\n]*, )?(?:Length: \d+, )?dtype: \w+\s*$")


def strip_test_markers(app, doctree) -> None:
    for block in list(doctree.findall(nodes.literal_block)):
        parent = block.parent
        if not (isinstance(parent, nodes.container) and "cell_input" in parent.get("classes", [])):
            continue
        text = block.astext()
        cleaned = MARKER.sub("", text)
        if cleaned != text:
            block.children = []
            block += nodes.Text(cleaned)
            block.rawsource = cleaned


def strip_pandas_footers(app, doctree, docname) -> None:
    """After myst-nb has chosen each output's representation (a post-transform), so text outputs exist."""
    for block in list(doctree.findall(nodes.literal_block)):
        parent = block.parent
        if not (isinstance(parent, nodes.container) and "cell_output" in parent.get("classes", [])):
            continue
        text = block.astext()
        cleaned = PANDAS_FOOTER.sub("", text)
        if cleaned != text:
            block.children = []
            block += nodes.Text(cleaned)
            block.rawsource = cleaned


def setup(app):
    app.connect("doctree-read", strip_test_markers)
    app.connect("doctree-resolved", strip_pandas_footers)
    # env_version: a change to what this extension does to doctrees must re-read every page
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
