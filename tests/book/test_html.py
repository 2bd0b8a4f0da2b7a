"""The rendered book in a real browser (Debian chromium driven by Playwright).

Every page of the staged table of contents is checked for what a reader meets: it loads without errors,
weighs at most PAGE_BUDGET with everything it loads, does not scroll sideways on a 390 px phone, shows no
internal ids or test markers, keeps its sortable headers keyboard-reachable with `aria-sort`, and draws its
icons from the fonts it loads. Chapter figures are checked for size (not shrunk below MIN_SCALE of their
natural width at 1280 px) and text (no figure text below MIN_FONT_PX once scaled). The home page's coverage
notice must name exactly the chapters of the table of contents.

Screenshots go to tests/screenshots/ (ignored by git): look at them after a build.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
import yaml
from fontTools.ttLib import TTFont

from osteobook.engine.render import html_dir
from osteobook.paths import ROOT, variant_dir

SHOTS = ROOT / "tests" / "screenshots"
LAPTOP, PHONE = 1280, 390
PAGE_BUDGET = 1_500_000  # bytes a page may load with an empty cache: HTML, scripts, styles, fonts, images
MIN_SCALE = 0.70         # a figure is shown at no less than 70% of its natural width at 1280 px
MIN_FONT_PX = 10.0       # the smallest figure text, once scaled, at 1280 px
# Text a reader should never see: test markers, build internals, raw pandas reprs, local paths, errors.
LEAKS = re.compile(r"NBVAL_\w+|\bresults_path\b|\bdtype: \w+|\bUnnamed: \d+|(?:/tmp|/work|/home|/root)/\S+"
                   r"|Traceback \(most recent call last\)")
FIGURES = "article figure img, article .cell_output img"


def pages() -> list[str]:
    toc = yaml.safe_load((variant_dir("stage", "default") / "_toc.yml").read_text())  # generated at staging
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


def chapters() -> list[str]:
    return [doc for doc in pages() if doc.startswith("notebooks/")]


@cache
def internal_ids() -> frozenset[str]:
    """The curated tables' machine ids (`RB_PBO_PFS8W`, `GRIGNANI2012_SORAFENIB`): labels must replace them.

    Only multi-part ids count: a one-word id such as SARC028 or ADVL1221 is the trial's own name."""
    ids = set()
    for table in (ROOT / "data").glob("*.csv"):
        frame = pd.read_csv(table, dtype=str)
        for column in [c for c in frame.columns if c.endswith("_id")]:
            ids |= {v for v in frame[column].dropna() if re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", v)}
    return frozenset(ids)


def _new_page(browser, width: int = LAPTOP):
    context = browser.new_context(viewport={"width": width, "height": 900})  # a fresh context: an empty cache
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda err: page.console_errors.append(str(err)))
    return page


@pytest.fixture
def page(browser):
    page = _new_page(browser)
    yield page
    page.context.close()


@pytest.fixture
def phone(browser):
    page = _new_page(browser, PHONE)
    yield page
    page.context.close()


def _open(page, doc: str) -> Path:
    path = html_dir("default") / f"{doc}.html"
    assert path.exists(), f"{path} was not built"
    page.goto(path.as_uri(), wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")
    return path


def _local(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


@pytest.mark.book
@pytest.mark.parametrize("doc", pages())
def test_page_renders_without_errors(page, doc):
    _open(page, doc)
    heading = page.locator("main h1").first.inner_text()
    assert heading.strip() and heading.strip().lower() in page.title().lower()
    broken = page.evaluate("""() => [...document.querySelectorAll('main img')]
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)""")
    assert not broken, f"images that did not load: {broken}"
    assert "Traceback" not in page.locator("main").inner_text(), "an error output was rendered"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{doc.replace('/', '_')}.png"), full_page=True)
    assert page.console_errors == [], f"console errors on {doc}: {page.console_errors}"


@pytest.mark.book
@pytest.mark.parametrize("doc", pages())
def test_page_weight_within_budget(page, doc):
    """Sum of the bodies of every response of one page load with an empty cache, after fonts and maths."""
    sizes: dict[str, int] = {}
    page.on("requestfinished", lambda request: sizes.__setitem__(request.url, len(request.response().body())))
    _open(page, doc)
    page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:6]
    detail = "\n".join(f"  {size / 1e3:7.0f} kB  {url.split('/html/')[-1]}" for url, size in largest)
    assert total <= PAGE_BUDGET, f"{doc} loads {total / 1e6:.2f} MB (budget {PAGE_BUDGET / 1e6} MB):\n{detail}"
    assert not [url for url in sizes if "fontawesome.js" in url or "mathjax" in url.lower()], \
        f"{doc} loads Font Awesome's script or MathJax"


@pytest.mark.book
@pytest.mark.parametrize("doc", pages())
def test_no_horizontal_scrolling_on_a_phone(phone, doc):
    _open(phone, doc)
    overflow = phone.evaluate("""() => {
      const width = document.documentElement.clientWidth;
      const inScroller = (e) => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        const style = getComputedStyle(a);
        if (style.overflowX !== 'visible' && a.getBoundingClientRect().right <= width + 1) return true; }
        return false; };
      const culprits = [...document.querySelectorAll('.bd-main *')].filter(e => {
        const box = e.getBoundingClientRect(); return box.width > 0 && box.right > width + 1 && !inScroller(e); });
      return {scroll: document.documentElement.scrollWidth, width,
              culprits: culprits.slice(0, 5).map(e => `${e.tagName}.${e.className} "${e.innerText.slice(0, 60)}"`)};
    }""")
    assert overflow["scroll"] <= overflow["width"], \
        f"{doc} scrolls sideways at {PHONE} px ({overflow['scroll']} px wide): {overflow['culprits']}"


@pytest.mark.book
@pytest.mark.parametrize("doc", ["notebooks/certainty", "notebooks/tki"])
def test_summary_of_findings_tables_stack_on_a_phone(phone, doc):
    """On a phone each summary-of-findings table reads as label: value lines, with nothing to scroll to."""
    _open(phone, doc)
    tables = phone.evaluate("""() => [...document.querySelectorAll('table.sof-table')].map(t => ({
      scroll: t.parentElement.scrollWidth, width: t.parentElement.clientWidth,
      label: getComputedStyle(t.querySelector('td:last-child'), '::before').content}))""")
    assert tables and all(t["scroll"] <= t["width"] + 1 for t in tables), tables
    assert all(t["label"] == '"Certainty"' for t in tables)


@pytest.mark.book
@pytest.mark.parametrize("doc", pages())
def test_no_internal_ids_or_test_markers_in_page_text(page, doc):
    _open(page, doc)
    text = page.locator("main").inner_text()
    leaks = sorted({match.group(0) for match in LEAKS.finditer(text)})
    words = set(re.findall(r"[A-Z][A-Z0-9_]{4,}", text))
    ids = sorted(words & internal_ids())
    assert not leaks and not ids, f"{doc} shows build internals {leaks} and internal ids {ids}"


@pytest.mark.book
@pytest.mark.parametrize("doc", chapters())
def test_figures_are_legible_at_laptop_width(page, doc):
    """Each chapter figure is an SVG shown at ≥ 70% of its natural width, its smallest text ≥ 10 px."""
    _open(page, doc)
    figures = page.evaluate(f"""() => [...document.querySelectorAll('{FIGURES}')].map(img => ({{
        src: img.src, natural: img.naturalWidth, shown: img.getBoundingClientRect().width}}))""")
    assert figures, f"{doc} shows no figure"
    problems = []
    for figure in figures:
        name = figure["src"].rsplit("/", 1)[-1][:12]
        scale = figure["shown"] / figure["natural"]
        if scale < MIN_SCALE:
            problems.append(f"{name}: shown at {scale:.0%} of its natural width")
        if not figure["src"].endswith(".svg"):
            problems.append(f"{name}: not an SVG (the book style publishes figures as SVG)")
            continue
        points, view_width = _svg_text(_local(figure["src"]))
        font_px = points * figure["shown"] / view_width
        if font_px < MIN_FONT_PX:
            problems.append(f"{name}: smallest text {points:g} pt renders at {font_px:.1f} px")
    assert not problems, f"{doc}: " + "; ".join(problems)


def _svg_text(path: Path) -> tuple[float, float]:
    """(smallest font size, viewBox width) of a matplotlib SVG, both in points."""
    svg = path.read_text()
    sizes = [float(size) for size in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    sizes += [float(size) for size in re.findall(r"font:\s*(?:[a-z]+\s+)*([\d.]+)px", svg)]
    view_width = float(re.search(r'viewBox="[\d.\-]+ [\d.\-]+ ([\d.]+) [\d.]+"', svg).group(1))
    return (min(sizes) if sizes else float("inf")), view_width


@pytest.mark.book
def test_figures_enlarge_on_click_and_keyboard(page):
    doc = chapters()[0]
    _open(page, doc)
    figure = page.locator(FIGURES).first
    figure.click()
    dialog = page.locator("dialog.figure-zoom")
    assert dialog.evaluate("d => d.open"), "clicking a figure did not open the enlarged view"
    shown = dialog.locator("img").evaluate("img => img.getBoundingClientRect().width")
    assert shown > figure.evaluate("img => img.getBoundingClientRect().width"), "the enlarged figure is not larger"
    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open"), "Escape did not close the enlarged view"
    figure.focus()
    page.keyboard.press("Enter")
    assert dialog.evaluate("d => d.open"), "Enter on a focused figure did not open the enlarged view"


@pytest.mark.book
@pytest.mark.parametrize("doc", pages())
def test_sortable_headers_are_buttons_with_aria_sort(page, doc):
    _open(page, doc)
    headers = page.evaluate("""() => [...document.querySelectorAll('table.sortable thead th')].map(th => ({
        text: th.innerText.trim(), sort: th.getAttribute('aria-sort'),
        button: !!th.querySelector('button.sort-button')}))""")
    bad = [h["text"] for h in headers if h["sort"] not in ("none", "ascending", "descending") or not h["button"]]
    assert not bad, f"{doc}: sortable headers without a button or aria-sort: {bad}"


@pytest.mark.book
def test_evidence_table_sorts_from_the_keyboard(page):
    _open(page, "notebooks/evidence")
    table = page.locator("table.sortable").first
    names = [h.inner_text().strip() for h in table.locator("thead th").all()]
    column = next(i for i, name in enumerate(names) if name.startswith("Value"))
    header = table.locator("thead th").nth(column)

    def percents():
        cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
        return [float(re.search(r"(-?\d+(?:\.\d+)?)%", text).group(1)) for text in cells]
    header.locator("button").focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    assert percents() == sorted(percents())
    page.keyboard.press("Space")
    assert header.get_attribute("aria-sort") == "descending"
    assert percents() == sorted(percents(), reverse=True)
    others = {h.get_attribute("aria-sort") for i, h in enumerate(table.locator("thead th").all()) if i != column}
    assert others == {"none"}


@pytest.mark.book
def test_evidence_table_sorts_on_header_click(page):
    _open(page, "notebooks/evidence")
    table = page.locator("table.sortable").first
    header = table.locator("thead th", has_text="Value")
    column = [h.inner_text() for h in table.locator("thead th").all()].index(header.inner_text())

    def percents():
        cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
        return [float(re.search(r"(-?\d+(?:\.\d+)?)%", text).group(1)) for text in cells]
    header.click()
    assert percents() == sorted(percents())
    header.click()
    assert percents() == sorted(percents(), reverse=True)


@pytest.mark.book
@pytest.mark.parametrize("doc", pages())
def test_icons_are_in_the_fonts_the_page_loads(page, doc):
    """Every Font Awesome icon on the page has its glyph in the subset font the page loads for its face, and the
    theme's full fonts are never fetched (the browser fetches them only for a glyph the subset lacks)."""
    fonts: list[str] = []
    page.on("requestfinished", lambda request: "/webfonts/" in request.url and fonts.append(request.url))
    _open(page, doc)
    icons = page.evaluate("""() => { const found = [];
      document.querySelectorAll('*').forEach(e => { for (const pseudo of ['::before', '::after']) {
        const style = getComputedStyle(e, pseudo);
        if (!style.fontFamily.includes('Font Awesome') || !style.content.startsWith('"')) continue;
        if (getComputedStyle(e).display === 'none') continue;
        for (const ch of style.content.slice(1, -1))
          found.push([style.fontFamily, style.fontWeight, ch.codePointAt(0), e.className.toString()]); } });
      return found; }""")
    full = [url for url in fonts if "/subset/" not in url]
    assert not full, f"{doc} fetched the theme's full icon fonts: {full}"
    glyphs: dict[str, set[int]] = {}
    for url in fonts:
        face = next(face for face in ("solid", "regular", "brands") if face in url.rsplit("/", 1)[-1])
        glyphs.setdefault(face, set()).update(_font_cmap(url))
    missing = []
    for family, weight, code, where in icons:
        face = "brands" if "Brands" in family else "solid" if int(weight) >= 600 else "regular"
        if code not in glyphs.get(face, set()):
            missing.append(f"U+{code:04X} ({face}) in .{where}")
    assert icons and not missing, f"{doc}: icons missing from the loaded fonts: {sorted(set(missing))}"


@cache
def _font_cmap(url: str) -> frozenset[int]:
    return frozenset(TTFont(_local(url)).getBestCmap())


@pytest.mark.book
@pytest.mark.parametrize("doc", pages())
def test_maths_is_typeset(page, doc):
    _open(page, doc)
    state = page.evaluate("""() => ({
        maths: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('.math .katex').length,
        errors: [...document.querySelectorAll('.katex-error')].map(e => e.title || e.innerText)})""")
    assert state["typeset"] >= state["maths"] and not state["errors"], f"{doc}: maths not typeset: {state}"


@pytest.mark.book
def test_coverage_notice_matches_the_table_of_contents(page):
    docs = pages()
    _open(page, docs[0])
    notice = page.locator(".coverage-notice")
    assert notice.count() == 1, "the home page has no coverage notice"
    linked = notice.evaluate("""n => [...n.querySelectorAll('table a.reference.internal')]
        .map(a => new URL(a.href).pathname)""")
    linked_docs = {re.sub(r"^.*/(notebooks/[^/]+)\.html$", r"\1", path) for path in linked}
    assert linked_docs == set(chapters()), \
        f"coverage notice links {sorted(linked_docs)}, table of contents has {sorted(chapters())}"
    text = notice.inner_text()
    assert "no chapter yet" in text and "not in this build" not in text


@pytest.mark.book
def test_glossary_defines_the_terms_chapters_link(page):
    _open(page, "book/glossary")
    terms = set(page.locator("dl.glossary dt").all_inner_texts())
    assert len(terms) >= 40, f"the glossary defines {len(terms)} terms"
    for doc in chapters():
        _open(page, doc)
        linked = page.evaluate("""() => [...document.querySelectorAll('article a[href*="glossary.html#term-"]')]
            .map(a => a.getAttribute('href').split('#')[1])""")
        assert len(set(linked)) >= 5, f"{doc} links only {len(set(linked))} glossary terms"


@pytest.mark.book
def test_navigation_follows_the_table_of_contents(page):
    docs = pages()
    _open(page, docs[0])
    for expected in docs[1:]:
        page.locator("a.right-next").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"{expected}.html"), f"'next' from the previous page did not lead to {expected}"


@pytest.mark.book
def test_chapter_figures_have_alt_text(page):
    for doc in chapters():
        _open(page, doc)
        images = page.locator("main img")
        assert images.count() > 0, f"{doc} shows no figure"
        missing = page.evaluate("() => [...document.querySelectorAll('main img')].filter(i => !i.alt).length")
        assert missing == 0, f"{doc}: {missing} figure(s) without alt text"
