"""Readers can trace every curated value: a table that shows curated values (it has a curation-status or a
source column) gives each row its source link(s) and its quote one click away."""
import re

import pytest
import yaml

from osteobook.engine.render import html_dir
from osteobook.paths import variant_dir

pytestmark = pytest.mark.book


def chapters() -> list[str]:
    toc = yaml.safe_load((variant_dir("stage", "default") / "_toc.yml").read_text())
    return [e["file"] for part in toc["parts"] for e in part["chapters"] if e["file"].startswith("notebooks/")]


def curated_tables(html: str) -> list[tuple[list[str], list[str]]]:
    """(headers, body rows) of each table with a curation-status or source column."""
    found = []
    for table in re.findall(r"<table.*?</table>", html, flags=re.DOTALL):
        headers = [re.sub(r"<[^>]+>", "", h).strip().lower() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.DOTALL)]
        if any("status" in h or h.startswith("source") for h in headers):
            body = table.split("<tbody>", 1)[-1]
            found.append((headers, re.findall(r"<tr.*?</tr>", body, flags=re.DOTALL)))
    return found


@pytest.mark.parametrize("doc", chapters())
def test_every_row_of_a_curated_table_links_its_source_and_quote(doc):
    html = (html_dir("default") / f"{doc}.html").read_text()
    tables = curated_tables(html)
    for headers, rows in tables:
        assert any("source" in h for h in headers), f"{doc}: a curated table has no source column: {headers}"
        for row in rows:
            assert "<a href=" in row or "no source address" in row, \
                f"{doc}: a row without a source link: {re.sub('<[^>]+>', ' ', row)[:200]}"
            assert "<details" in row, f"{doc}: a row without its quote: {re.sub('<[^>]+>', ' ', row)[:200]}"


def test_the_trial_chapters_show_curated_tables():
    counts = {doc: len(curated_tables((html_dir("default") / f"{doc}.html").read_text())) for doc in chapters()}
    assert all(counts[f"notebooks/{name}"] for name in ("evidence", "tki", "mtor", "ici", "caf", "ferroptosis",
                                                        "exosomes")), counts
