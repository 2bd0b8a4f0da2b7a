"""Every significant result in a results file is reported on its page or explicitly set aside
(engine.findings): the scan is repeated here by its own rules, every chapter declares its findings, the glue
keys named as reporting a finding are on the page, and the reasons for setting results aside are printed."""
import html as html_lib
import re

import pytest

from osteobook.engine.params import chapter_names, load_chapter
from osteobook.engine.render import html_dir
from osteobook.paths import NOTEBOOKS
from tests.conftest import chapter_results

pytestmark = pytest.mark.book
TESTS = {"p", "p_value", "p_mannwhitney", "p_welch", "fisher_p", "alone_p_value", "observed_p", "p_without",
         "p_matched", "p_uniform", "p_between", "p_combo_higher"}
ADJUSTED = {"q", "q_value", "p_holm"}
CHECKS = {"ph_p", "ph_global_p", "q_p"}
SMART_QUOTES = str.maketrans("‘’“”", "''\"\"")  # Sphinx typesets straight quotes


def scan(node, path=(), alpha=0.05):
    """Significant values by the rule stated on the pages: an adjusted value decides where there is one."""
    if isinstance(node, dict):
        values = {k: v for k, v in node.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        raw = [v for k, v in values.items() if k in TESTS]
        adjusted = {k for k in values if k in ADJUSTED and min(raw, default=0) <= values[k] <= 1
                    and not (k == "q" and "q_p" in values)}  # a q beside q_p is Cochran's Q
        deciding = (adjusted if raw else set()) or {k for k in values if k in TESTS} | adjusted
        for key in sorted(deciding | (CHECKS & set(values))):
            if values[key] < alpha:
                yield "/".join((*path, key))
        for key, value in node.items():
            if path or key not in ("parameters", "findings"):
                yield from scan(value, (*path, str(key)), alpha)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from scan(value, (*path, str(index)), alpha)


@pytest.mark.parametrize("name", chapter_names())
def test_every_chapter_declares_where_its_significant_results_are(name):
    assert load_chapter(name).findings is not None, \
        f"notebooks/{name}.params.yaml has no `findings:` list (see osteobook.engine.findings)"


@pytest.mark.parametrize("name", chapter_names())
def test_every_significant_result_is_accounted_for(name):
    results = chapter_results(name)
    alpha = results["parameters"].get("alpha", 0.05)
    assert sorted(scan(results, alpha=alpha)) == sorted(f["path"] for f in results["findings"])


@pytest.mark.parametrize("name", chapter_names())
def test_reported_findings_are_glued_on_the_page_and_set_asides_printed(name):
    results = chapter_results(name)
    source = (NOTEBOOKS / f"{name}.md").read_text()
    raw = (html_dir("default") / "notebooks" / f"{name}.html").read_text()

    def text(markup: str) -> str:
        plain = html_lib.unescape(re.sub(r"<[^>]+>", " ", markup)).translate(SMART_QUOTES)
        return re.sub(r"\s+", " ", plain)
    page = text(raw)
    body = text(re.sub(r'<div class="[^"]*findings-box.*?</table>', "", raw, count=1, flags=re.DOTALL))
    for finding in results["findings"]:
        if "page_text" in finding:
            assert finding["page_text"] in body, f"{name}: {finding['path']} is said to be shown in a table with {finding['page_text']!r}"

        for key in finding.get("glue", []):
            assert re.search(rf"\{{glue(:[a-z]+)?\}}`{re.escape(key)}(:[^`]*)?`|glue:figure\}}\s*{re.escape(key)}\b",
                             source), f"{name}: {finding['path']} is said to be reported by glue key {key!r}, which the page does not use"
        words = re.sub(r"\s+", " ", finding.get("set_aside") or finding["shown"])
        assert words in page, f"{name}: the findings box does not print {words!r}"
    if results["findings"]:
        assert "Significant results on this page" in page
