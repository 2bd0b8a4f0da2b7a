"""Chapters that open and run where students are: launch twins as downloads, Binder and Colab buttons that
resolve, JupyterLab with a compatible jupyterlab-myst that renders a twin's boxes and numbers.

The twins (`osteobook.engine.launch`) are served by the book build (book/_ext/launch_twins.py) and published to the
launch branch by the Pages workflow (.github/workflows/book.yml, job `launch-branch`). That a twin runs top to
bottom in a clean virtual environment with only the README's install is `make test-launch`
(tests/book/launch_clean_venv.py). The JupyterLab screenshot goes to tests/screenshots/jupyterlab_twin.png.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from bs4 import BeautifulSoup

from osteobook.engine import launch
from osteobook.engine.params import chapter_names
from osteobook.engine.render import html_dir
from osteobook.paths import ROOT, variant_dir
from tests.conftest import CHROMIUM

BIN = Path(sys.executable).parent
SHOTS = ROOT / "tests" / "screenshots"
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1).lower())] = match.group(2)
    return found


# ---- JupyterLab and jupyterlab-myst ------------------------------------------------------------------

def test_jupyterlab_and_jupyterlab_myst_pins_agree_everywhere():
    wanted = pins(ROOT / "requirements.in")
    locked = pins(ROOT / "requirements.lock")
    for name in ("jupyterlab", "jupyterlab-myst"):
        assert name in wanted and locked.get(name) == wanted[name], f"{name}: requirements.in and the lock differ"
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert f"jupyterlab=={wanted['jupyterlab']}" in pip


def test_jupyterlab_myst_is_compatible_with_the_installed_jupyterlab():
    """JupyterLab 4.6 bundles @jupyter/ydoc 4 and flags jupyterlab-myst 2.7.0 (ydoc 3) incompatible: it never loads."""
    done = subprocess.run([str(BIN / "jupyter"), "labextension", "list"], capture_output=True, text=True,
                          check=False, env={**os.environ, "NO_COLOR": "1"})
    report = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert re.search(r"jupyterlab-myst v\S+ enabled\s+OK", report), report
    assert "not compatible" not in report, report


# ---- the setup cell ---------------------------------------------------------------------------------------

def test_setup_cell_finds_the_project_and_makes_a_data_cache_next_to_the_notebook():
    """In a checkout (Binder, `make lab`) with no OSTEOBOOK_DATA_DIR: the project is found, and the data cache
    `osteobook-data/` next to the notebook exists, so the first fetch can write there."""
    folder = ROOT / "_build" / "launch-setup-check"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    setup = launch.SETUP.format(repository=launch.REPOSITORY, commit="HEAD")
    check = ("from osteobook.datasets import registry; import os; "
             "print(os.environ['OSTEOBOOK_ROOT']); print(registry.cache_dir())")
    env = {key: value for key, value in os.environ.items() if key not in ("OSTEOBOOK_ROOT", "OSTEOBOOK_DATA_DIR")}
    done = subprocess.run([sys.executable, "-c", setup + "\n" + check], cwd=folder, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    root, cache = done.stdout.split()
    assert Path(root) == ROOT and Path(cache) == folder / "osteobook-data" and Path(cache).is_dir()
    shutil.rmtree(folder)


# ---- the built site: downloads and launch buttons -----------------------------------------------------

def chapter_page(variant: str, name: str) -> tuple[Path, BeautifulSoup]:
    path = html_dir(variant) / "notebooks" / f"{name}.html"
    if not path.exists():
        pytest.fail(f"{path} is missing: build the book first")
    return path, BeautifulSoup(path.read_text(), "html.parser")


def assert_is_a_twin(path: Path) -> None:
    notebook = json.loads(path.read_text())
    assert "jupytext" not in notebook["metadata"] and "papermill" not in notebook["metadata"], path
    text = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    for placeholder in launch.PLACEHOLDERS:
        assert placeholder not in text, f"{path}: {placeholder} left in the text"
    assert notebook["cells"][0]["metadata"].get("tags") == ["setup"], f"{path}: no setup cell first"
    assert not any("injected-parameters" in cell["metadata"].get("tags", []) for cell in notebook["cells"])


@pytest.mark.book
@pytest.mark.parametrize("variant", ["default", "student"])
@pytest.mark.parametrize("name", chapter_names())
def test_the_download_button_serves_the_twin(name, variant):
    path, soup = chapter_page(variant, name)
    links = {a["href"] for a in soup.select("a[href$='.ipynb']") if not a["href"].startswith("http")}
    assert links == {f"../_sources/notebooks/{name}.ipynb"}, links
    download = (path.parent / links.pop()).resolve()
    assert download.exists(), f"the download {download} is not in the site"
    assert_is_a_twin(download)
    assert_is_a_twin(html_dir(variant) / launch.SITE_FOLDER / f"{name}.ipynb")
    if variant == "student":
        assert "solution-start" not in download.read_text()
    assert "instructor-notes" not in download.read_text(), "instructor notes are for the instructor build only"


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_the_instructor_download_keeps_the_instructor_notes(name):
    path, _ = chapter_page("instructor", name)
    assert "instructor-notes" in (path.parent.parent / "_sources" / "notebooks" / f"{name}.ipynb").read_text()


def test_twins_leave_instructor_notes_out_unless_asked():
    executed = variant_dir("executed", "default") / "evidence.ipynb"
    if not executed.exists():
        pytest.fail(f"{executed} is missing: build the book first")

    def text(notebook):
        return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    student, instructor = text(launch.twin(executed, "HEAD")), text(launch.twin(executed, "HEAD", instructor=True))
    assert "instructor-notes" not in student and "Common mistakes" not in student
    assert "instructor-notes" in instructor and "Common mistakes" in instructor
    assert student.count(":::") % 2 == 0 and "## What's next" in student  # the text after the notes is kept


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_executed_notebooks_are_not_paired_with_a_source(name):
    """papermill's output keeps the chapter's jupytext header unless the engine drops it (engine.execute): opened
    in JupyterLab with jupytext, it would look for (and write) a `.md` next to it."""
    executed = variant_dir("executed", "default") / f"{name}.ipynb"
    if not executed.exists():
        pytest.fail(f"{executed} is missing: build the book first")
    assert "jupytext" not in json.loads(executed.read_text())["metadata"]


def workflow_launch_job() -> dict:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return workflow["jobs"]["launch-branch"]


def published_tree(tmp_path: Path) -> set[str]:
    """The files of the launch branch as the workflow makes it: the built commit plus the site's twins."""
    job = workflow_launch_job()
    steps = " ".join(step.get("run", "") for step in job["steps"])
    assert "scripts/launch_notebooks.py --publish _site/html ." in steps
    assert 'git push --force origin "$LAUNCH_BRANCH"' in steps
    build_steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["build"]["steps"]
    artifact = next(step for step in build_steps if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert artifact["with"]["path"] == "_build/html"  # the site the job unpacks is html_dir("default")
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True)
    twins = launch.publish_tree(html_dir("default"), tmp_path)
    return set(tracked.stdout.split()) | {str(path.relative_to(tmp_path)) for path in twins}


@pytest.mark.book
def test_binder_and_colab_buttons_open_files_on_the_published_launch_branch(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    branch = config["launch_buttons"]["branch"]
    assert workflow_launch_job()["env"]["LAUNCH_BRANCH"] == branch
    assert workflow_launch_job()["permissions"] == {"contents": "write"}
    owner_repo = urlparse(config["repository"]["url"]).path.strip("/")
    tree = published_tree(tmp_path)
    for name in chapter_names():
        _, soup = chapter_page("default", name)
        hrefs = [a["href"] for a in soup.select("a[href^='https://']")]
        binder = [href for href in hrefs if href.startswith("https://mybinder.org/")]
        colab = [href for href in hrefs if href.startswith("https://colab.research.google.com/")]
        assert len(binder) == 1 and len(colab) == 1, f"{name}: one Binder and one Colab button"
        url = urlparse(binder[0])
        assert url.path == f"/v2/gh/{owner_repo}/{branch}", binder[0]
        [urlpath] = parse_qs(url.query)["urlpath"]
        binder_file = urlpath.removeprefix("lab/tree/")
        colab_file = urlparse(colab[0]).path.removeprefix(f"/github/{owner_repo}/blob/{branch}/")
        for target in (binder_file, colab_file):
            assert target == f"{launch.BRANCH_FOLDER}/{name}.ipynb", target
            assert target in tree, f"{name}: {target} is neither in the repository nor published by the workflow"
        for needed in ("environment.yml", "postBuild", "data/registry.yaml"):  # Binder's environment, find_root
            assert needed in tree


def test_binder_postbuild_keeps_the_published_twins(tmp_path):
    """Binder runs postBuild on the launch branch: it must not overwrite a twin with a notebook made from the
    MyST source (placeholders again), but still make one where no twin exists."""
    script = (ROOT / "postBuild").read_text()
    loop = script[script.index("for source in"):script.index("done") + len("done")]
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copyfile(ROOT / "notebooks" / "evidence.md", notebooks / "evidence.md")
    shutil.copyfile(ROOT / "notebooks" / "evidence.md", notebooks / "other.md")
    (notebooks / "evidence.ipynb").write_text("the twin")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", "-euo", "pipefail", "-c", loop], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    assert (notebooks / "evidence.ipynb").read_text() == "the twin"
    assert "cells" in json.loads((notebooks / "other.ipynb").read_text())


@pytest.mark.book
def test_publish_tree_copies_every_twin_and_only_twins(tmp_path):
    copied = launch.publish_tree(html_dir("default"), tmp_path)
    assert sorted(path.name for path in copied) == sorted(f"{name}.ipynb" for name in chapter_names())
    assert {path.parent for path in copied} == {tmp_path / launch.BRANCH_FOLDER}
    with pytest.raises(SystemExit):
        launch.publish_tree(tmp_path / "empty", tmp_path / "tree")


# ---- JupyterLab in a browser ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """`jupyter lab --no-browser` on a local port with a token, serving a folder with one chapter's twin."""
    executed = variant_dir("executed", "default") / "evidence.ipynb"
    if not executed.exists():
        pytest.fail(f"{executed} is missing: build the book first")
    home = tmp_path_factory.mktemp("lab")
    folder = home / "chapters"
    launch.write_twin(executed, folder / "evidence.ipynb", "HEAD")
    port, token = free_port(), "osteobook-test"
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    notebook_settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    notebook_settings.mkdir(parents=True)  # every cell rendered at once, so that the test can scroll to any
    (notebook_settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    server = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}", "--allow-root",
         f"--LabServerApp.user_settings_dir={home / 'settings'}",
         f"--LabServerApp.workspaces_dir={home / 'workspaces'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not start within 60 s")
        yield f"{base}/lab/tree/evidence.ipynb?token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.book
def test_a_twin_opened_in_jupyterlab_shows_rendered_boxes_and_numbers(jupyterlab):
    # a missing browser library fails the test, never skips it
    from playwright import sync_api as playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(jupyterlab, wait_until="load")
        notebook = page.locator(".jp-Notebook")
        notebook.wait_for(timeout=60_000)
        # jupyterlab-myst renders a MyST directive as a box: the parameters box is an admonition with its title
        box = page.locator(".jp-MarkdownCell .myst .myst-admonition.parameters-box").first
        box.wait_for(timeout=30_000)
        assert box.locator(".myst-admonition-header-text").inner_text().strip() == "Parameters of this page"
        takeaways = page.locator(".jp-MarkdownCell .myst .myst-admonition.tip").first
        takeaways.wait_for(timeout=10_000)
        rendered = "\n".join(page.locator(".jp-MarkdownCell .myst").all_inner_texts())
        assert ":::{" not in rendered and "{glue" not in rendered and "{term}" not in rendered
        assert re.search(r"\b\d+ of \d+\b", takeaways.inner_text()), "numbers, not placeholders, in the takeaways"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "jupyterlab_twin.png"))
        # a glued figure: an <img> with the SVG as a data URL in the text, its caption below
        figure = page.locator(".jp-MarkdownCell .myst img[src^='data:image/svg+xml']").first
        figure.wait_for(state="attached", timeout=30_000)
        figure.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 300", arg=figure.element_handle())
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "jupyterlab_twin_figure.png"))
        browser.close()


# ---- a twin in a clean virtual environment (make test-launch) ---------------------------------------------

WHEELHOUSE = ROOT / "_build" / "wheelhouse"
BUILD_REQUIREMENT = "setuptools>=68"  # pyproject's build-system: newer than the environment's pinned setuptools
CHECK_CELL = "import os, sys, osteobook\nprint(sys.prefix)\nprint(os.environ['OSTEOBOOK_ROOT'])\nprint(osteobook.__file__)"


def wheelhouse() -> Path:
    """Wheels for every pin of the lock (fetched once with pip, or built from the sdist where PyPI has no wheel),
    plus the setuptools the package's own build asks for (pyproject's build-system)."""
    lock = ROOT / "requirements.lock"
    stamp = WHEELHOUSE / ".lock-sha256"
    import hashlib

    digest = hashlib.sha256(lock.read_bytes() + BUILD_REQUIREMENT.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return WHEELHOUSE
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-r", str(lock), "-w", str(WHEELHOUSE)], check=True)
    subprocess.run([*pip, "download", "--no-deps", BUILD_REQUIREMENT, "-d", str(WHEELHOUSE)], check=True)
    stamp.write_text(digest)
    return WHEELHOUSE


@pytest.mark.book
@pytest.mark.clean_venv
def test_launch_twins_run_top_to_bottom_in_a_clean_venv_with_the_readme_install(tmp_path):
    """The README's install is `make book`'s: a new venv, `pip install -r requirements.lock`, `pip install
    --no-deps -e .`. Here the same with the lock's wheels from the local wheelhouse (no index: offline after the
    first run), then every chapter's twin executed by that venv's kernel in a folder of the checkout (as on Binder
    or after `make lab`), with no OSTEOBOOK_ROOT and only the data cache variable set."""
    venv = tmp_path / "venv"
    base = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "--no-index",
           "--find-links", str(wheelhouse())]
    subprocess.run([*pip, "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    folder = ROOT / "_build" / "launch-run"
    shutil.rmtree(folder, ignore_errors=True)
    env = {key: value for key, value in os.environ.items()
           if key not in ("OSTEOBOOK_ROOT", "PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH", "JUPYTER_DATA_DIR")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    import nbformat

    failures = []
    chosen = os.environ.get("OSTEOBOOK_LAUNCH_CHAPTERS")  # e.g. "evidence,tki" for a quicker look; default all
    for name in chosen.split(",") if chosen else chapter_names():
        notebook = launch.twin(variant_dir("executed", "default") / f"{name}.ipynb", "HEAD")
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
        path = folder / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
        run = subprocess.run([str(venv / "bin" / "jupyter"), "execute", "--inplace", "--timeout=900", path.name],
                             cwd=folder, env=env, capture_output=True, text=True, check=False)
        if run.returncode:
            failures.append(f"{name}: {run.stderr[-2000:]}")
            continue
        executed = nbformat.read(path, as_version=4)
        printed = "".join(output.get("text", "") for output in executed.cells[-1].outputs).split()
        assert printed[0] == str(venv), f"{name} ran in {printed[0]}, not in the clean venv"
        assert Path(printed[1]) == ROOT and Path(printed[2]).is_relative_to(ROOT / "src")
        assert sum(bool(cell.get("outputs")) for cell in executed.cells) > 3, f"{name}: no outputs"
    assert not failures, "\n\n".join(failures)
