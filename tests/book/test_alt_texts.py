"""Alt texts agree with the figures' numbers: a description that states numbers or what the intervals show is
written with `{glue:text}` roles (filled from the chapter's results by engine.alt_text), never typed, and the
built pages carry the filled text."""
import html as html_lib
import re

import pytest

from osteobook.engine.params import chapter_names
from osteobook.engine.render import html_dir
from osteobook.paths import NOTEBOOKS

pytestmark = pytest.mark.book
GLUE = re.compile(r"\{glue:text\}`[^`]+`")
CLAIM = re.compile(r"\b(cross(es|ing)?|span(s|ning)?|exclud\w*|lies? (above|below))\b|\d\.\d|near \d", re.IGNORECASE)


@pytest.mark.parametrize("name", chapter_names())
def test_no_alt_text_types_a_number_or_an_interval_claim(name):
    for alt in re.findall(r"^:alt: (.*)$", (NOTEBOOKS / f"{name}.md").read_text(), flags=re.MULTILINE):
        typed = CLAIM.search(GLUE.sub("", alt))
        assert typed is None, f"{name}: alt text types {typed.group(0)!r} instead of gluing it: {alt[:120]}"


@pytest.mark.parametrize("name", chapter_names())
def test_the_pages_carry_filled_alt_texts(name):
    page = (html_dir("default") / "notebooks" / f"{name}.html").read_text()
    alts = [html_lib.unescape(a) for a in re.findall(r'<img[^>]*\balt="([^"]*)"', page)]
    assert alts and not [a for a in alts if "{glue" in a or "`" in a]
    source = (NOTEBOOKS / f"{name}.md").read_text()
    for template in re.findall(r"^:alt: (.*\{glue:text\}.*)$", source, flags=re.MULTILINE):
        fixed = [part for part in GLUE.split(template) if len(part) > 12]  # the typed words around the values
        assert any(all(part in alt for part in fixed) for alt in alts), f"{name}: no figure has the alt {template[:80]}"
