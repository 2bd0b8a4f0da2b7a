"""Generated sentences for the page: a `str` that `engine.page.publish` glues as Markdown."""
from __future__ import annotations


class Markdown(str):
    """Text with Markdown markup (links, emphasis, roles) generated from results, glued with `{glue:md}`."""


def trial_name(label: str) -> str:
    """A trial's short name: its curated `trial_label` without the parenthetical ('SARC024 (osteosarcoma
    cohort)' -> 'SARC024'), the one way every chapter and figure names a trial."""
    return label.split(" (")[0]
