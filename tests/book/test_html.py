"""The rendered book in a real browser (Debian chromium driven by Playwright).

Screenshots go to tests/screenshots/ (ignored by git): look at them after a build.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from osteobook.engine.render import html_dir
from osteobook.paths import ROOT, variant_dir

try:
    import playwright.sync_api as playwright
except ImportError as err:  # a missing test dependency fails loudly, never skips
    raise ImportError("the browser tests need playwright: .venv/bin/pip install -r requirements.lock") from err
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
SHOTS = ROOT / "tests" / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]


def pages() -> list[str]:
    toc = yaml.safe_load((variant_dir("stage", "default") / "_toc.yml").read_text())  # generated at staging
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda err: page.console_errors.append(str(err)))
    yield page
    page.close()


def _open(page, doc: str) -> Path:
    path = html_dir("default") / f"{doc}.html"
    assert path.exists(), f"{path} was not built"
    page.goto(path.as_uri(), wait_until="load")
    return path


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
def test_navigation_follows_the_table_of_contents(page):
    docs = pages()
    _open(page, docs[0])
    for expected in docs[1:]:
        page.locator("a.right-next").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"{expected}.html"), f"'next' from the previous page did not lead to {expected}"


@pytest.mark.book
def test_chapter_figures_have_alt_text(page):
    for doc in pages():
        if doc.startswith("notebooks/"):
            _open(page, doc)
            images = page.locator("main img")
            assert images.count() > 0, f"{doc} shows no figure"
            missing = page.evaluate("() => [...document.querySelectorAll('main img')].filter(i => !i.alt).length")
            assert missing == 0, f"{doc}: {missing} figure(s) without alt text"


@pytest.mark.book
def test_evidence_table_sorts_on_header_click(page):
    _open(page, "notebooks/evidence")
    table = page.locator("table.sortable").first
    header = table.locator("thead th", has_text="Value")
    column = [h.inner_text() for h in table.locator("thead th").all()].index(header.inner_text())

    def percents():
        cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
        return [float(text.split("%")[0].split("= ")[-1]) for text in cells]
    header.click()
    assert percents() == sorted(percents())
    header.click()
    assert percents() == sorted(percents(), reverse=True)
