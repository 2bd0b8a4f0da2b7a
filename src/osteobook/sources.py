"""Where a curated value comes from, for readers: links to its sources and its quote one click away.

Every table that shows curated values (trial results, marker genes, probes, model parameters) adds a
"Source and quote" column built by `source_cell` from the row's shared source columns (`data/SCHEMA.md`).
Curation bookkeeping ("from memory", "not found", draft asides) never reaches the page.
"""
from __future__ import annotations

import html
import re
from urllib.parse import urlparse

import pandas as pd

STATUS_LABELS = {"verified": "verified in the trial's own publication", "secondary": "read in a secondary copy",
                 "unverified": "not confirmed"}
# Curation bookkeeping that belongs in data/, never on a page: the marker quote of values without source
# text, and locations that only say what was not read.
NO_QUOTE = re.compile(r"^\[no verbatim source text")
CURATION_WORDS = re.compile(r"\bmemory\b|not found|not verified|not read|re-read|\bdraft\b", re.IGNORECASE)
DRAFT_ASIDE = re.compile(r"\s*\((?:[^()]*\bdraft\b[^()]*)\)", re.IGNORECASE)


def source_links(row: pd.Series) -> list[tuple[str, str]]:
    """(label, address) of a value's sources: the page(s) it was read on (labelled by site), then the paper's
    DOI and PubMed record."""
    links = []
    for url in str(row.get("source_url") or "").split(" | "):
        url = url.strip()
        if url.startswith("http"):
            links.append((urlparse(url).netloc.removeprefix("www.") or url, url))
    if isinstance(row.get("doi"), str) and row["doi"]:
        links.append(("DOI", f"https://doi.org/{row['doi']}"))
    if isinstance(row.get("pmid"), str) and row["pmid"]:
        links.append(("PubMed", f"https://pubmed.ncbi.nlm.nih.gov/{row['pmid']}/"))
    return links


def reader_quote(row: pd.Series) -> str | None:
    """The verbatim source text of a value, or None when the table holds only a curation marker."""
    quote = str(row.get("quote") or "").strip()
    return None if not quote or NO_QUOTE.match(quote) else quote


def reader_location(row: pd.Series) -> str:
    """Where in the source the value stands, without curation asides ('(as captured by the draft)')."""
    location = DRAFT_ASIDE.sub("", str(row.get("source_location") or "")).strip()
    return "" if CURATION_WORDS.search(location) else location


def source_cell(row: pd.Series) -> str:
    """HTML for a table cell: links to the sources, and the quote, its location and status one click away."""
    links = source_links(row)
    quote = reader_quote(row)
    tip = html.escape(f"“{quote}”" if quote else "no verbatim source text", quote=True)
    anchors = " · ".join(f'<a href="{html.escape(url, quote=True)}" title="{tip}" target="_blank" '
                         f'rel="noopener">{html.escape(label)}</a>' for label, url in links)
    where = reader_location(row)
    said = (f"<blockquote>“{html.escape(quote)}”</blockquote>" if quote
            else "<p>No verbatim source text was recorded for this value.</p>")
    about = "; ".join(part for part in (where, f"{row.get('source_kind', '')} source",
                                        STATUS_LABELS.get(row.get("status"), str(row.get("status")))) if part)
    return (f'<span class="source-links">{anchors or "no source address"}</span>'
            f'<details class="source-quote"><summary>quote</summary>{said}<p>{html.escape(about)}</p></details>')


def linked_table(frame: pd.DataFrame, html_columns: list[str], sortable: bool = True) -> pd.io.formats.style.Styler:
    """A reader table whose `html_columns` hold HTML (links, quotes); every other cell is escaped; no index."""
    plain = [column for column in frame.columns if column not in html_columns]
    classes = "sortable evidence-table" if sortable else "evidence-table"
    return (frame.style.format(escape="html", subset=plain, na_rep="–").hide(axis="index")
            .set_table_attributes(f'class="{classes}"'))
