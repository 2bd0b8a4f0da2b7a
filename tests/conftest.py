"""Shared fixtures: the data cache and the built book's results."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from scipy.stats import beta

from osteobook.engine.results import load_results
from osteobook.paths import results_path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the browser tests (a missing playwright or chromium fails them, never skips)."""
    try:
        from playwright import sync_api as playwright
    except ImportError as err:
        raise ImportError("the browser tests need playwright: .venv/bin/pip install -r requirements.lock") from err

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def data_cache() -> None:
    """Use ../shared/data as the cache when no cache is configured (offline machines)."""
    if "OSTEOBOOK_DATA_DIR" not in os.environ and SHARED_DATA.exists():
        os.environ["OSTEOBOOK_DATA_DIR"] = str(SHARED_DATA)


def chapter_results(chapter: str, variant: str = "default") -> dict:
    """Key results a chapter wrote in the last `make book` (fails if the book was not built)."""
    path = results_path(chapter, variant)
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make book` (or `osteobook build`) before the book tests")
    return load_results(path)


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial CI written out from beta quantiles: the tests' independent reference."""
    tail = (1 - level) / 2
    low = 0.0 if x == 0 else beta.ppf(tail, x, n - x + 1)
    high = 1.0 if x == n else beta.ppf(1 - tail, x + 1, n - x)
    return low, high


def check_glue_contract(notebook: str, glue: dict) -> None:
    """Every `{glue}` role of a chapter source has a value, every `{glue:figure}` is published by the notebook
    (and is not also a value), and every `{glue:md}` role gets generated Markdown."""
    import re

    from osteobook.prose import Markdown

    roles = set(re.findall(r"\{glue(?::\w+)?\}`([^`:]+)", notebook))
    figures = set(re.findall(r"^```\{glue:figure\} (\S+)", notebook, flags=re.MULTILINE))
    published = set(re.findall(r"publish_figure\(\"(\w+)\"", notebook))
    assert roles and figures
    assert roles - set(glue) == set()
    assert figures == published
    assert not published & set(glue)
    for name in re.findall(r"\{glue:md\}`([^`]+)`", notebook):
        assert isinstance(glue[name], Markdown), name


def bh(p):
    """Benjamini–Hochberg q-values written out by hand: the tests' independent reference."""
    import numpy as np

    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    scaled = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.empty_like(p)
    q[order] = np.minimum(1, np.minimum.accumulate(scaled[::-1])[::-1])
    return q
