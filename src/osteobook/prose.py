"""Generated sentences for the page: a `str` that `engine.page.publish` glues as Markdown."""
from __future__ import annotations


class Markdown(str):
    """Text with Markdown markup (links, emphasis, roles) generated from results, glued with `{glue:md}`."""
