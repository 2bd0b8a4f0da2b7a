"""Generated sentences for the page: a `str` that `engine.page.publish` glues as Markdown."""
from __future__ import annotations


class Markdown(str):
    """Text with Markdown markup (links, emphasis, roles) generated from results, glued with `{glue:md}`."""


def trial_name(label: str) -> str:
    """A trial's short name: its curated `trial_label` without the parenthetical ('SARC024 (osteosarcoma
    cohort)' -> 'SARC024'), the one way every chapter and figure names a trial."""
    return label.split(" (")[0]


def intervals(labels, lows, highs, null: float = 1.0) -> str:
    """What a forest plot's intervals show against `null`, for its generated alt text: "all 13 intervals cross 1",
    or each interval that excludes it by name ("X (0.54 to 0.97) lies below 1; the other 3 intervals cross 1")."""
    rows = list(zip(labels, lows, highs, strict=True))
    apart = [(label, low, high) for label, low, high in rows if low > null or high < null]
    if not apart:
        return f"all {len(rows)} intervals cross {null:g}" if len(rows) != 1 else f"the interval crosses {null:g}"
    named = "; ".join(f"{label} ({low:.2f} to {high:.2f}) lies {'below' if high < null else 'above'} {null:g}"
                      for label, low, high in apart)
    rest = len(rows) - len(apart)
    if not rest:
        return named
    return f"{named}; the other {rest} interval{'s cross' if rest != 1 else ' crosses'} {null:g}"
