"""The teaching layer: exercises with gated solutions in every chapter, the course page, and the three builds
(default: solutions collapsed; student: no solutions; instructor: solutions and instructor notes shown).

The HTML tests read the default book and the `student` and `instructor` profile builds (`make test` builds
all profiles first). Screenshots go to tests/screenshots/teaching_*.png.
"""
from __future__ import annotations

import hashlib
import re

import pytest
import yaml
from bs4 import BeautifulSoup

from osteobook.engine.params import chapter_names
from osteobook.engine.render import html_dir
from osteobook.engine.results import load_results
from osteobook.paths import NOTEBOOKS, ROOT, results_path

SHOTS = ROOT / "tests" / "screenshots"
EXERCISE = re.compile(r"^:::\{exercise\}.*\n:label: (\S+)", re.MULTILINE)
SOLUTION = re.compile(r"^:::\{solution-start\} (\S+)\n:class: dropdown\n", re.MULTILINE)


def exercises_section(name: str) -> str:
    text = (NOTEBOOKS / f"{name}.md").read_text()
    assert "\n## Exercises\n" in text, f"{name}.md has no '## Exercises' section"
    section = text.split("\n## Exercises\n", 1)[1]
    assert "\n## What's next\n" in section, f"{name}.md: '## Exercises' must come before '## What's next'"
    return section.split("\n## What's next\n", 1)[0]


def exercise_labels(name: str) -> list[str]:
    return EXERCISE.findall(exercises_section(name))


# ---- sources ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", chapter_names())
def test_every_chapter_has_four_exercises_each_with_a_collapsed_gated_solution(name):
    section = exercises_section(name)
    labels = exercise_labels(name)
    assert len(labels) >= 4, f"{name}: {len(labels)} exercises, at least 4 needed"
    assert SOLUTION.findall(section) == labels, f"{name}: every exercise needs a `solution-start` with :class: dropdown"
    assert section.count(":::{solution-end}") == len(labels)
    assert section.count(":::{admonition} Instructor notes\n:class: instructor-notes") == 1, \
        f"{name}: the Exercises section needs one 'Instructor notes' admonition (class instructor-notes)"


@pytest.mark.parametrize("name", chapter_names())
def test_some_solutions_run_code(name):
    """Solutions with code cells are executed (and so tested) with the chapter."""
    assert "```{code-cell}" in exercises_section(name)


def test_course_page_plans_eight_weeks_with_every_exercise():
    course = (ROOT / "book" / "course.md").read_text()
    assert len(re.findall(r"^## Week \d", course, re.MULTILINE)) == 8
    referenced = set(re.findall(r"\{ref\}`[^`<]*<([^>]+)>`", course))
    chapter_labels = {label for name in chapter_names() for label in exercise_labels(name)}
    course_labels = set(re.findall(r"^:label: (\S+)", course, re.MULTILINE))
    assert chapter_labels <= referenced, f"exercises missing from the course: {sorted(chapter_labels - referenced)}"
    unknown = referenced - chapter_labels - course_labels
    assert not unknown, f"the course refers to labels that do not exist: {sorted(unknown)}"
    for name in chapter_names():
        assert f"{{doc}}`../notebooks/{name}`" in course, f"the course never assigns the chapter {name}"
    for word in ("Expected time", "Reading", "Capstone", "trial_outcomes.csv"):
        assert word in course
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    about = next(part for part in toc["parts"] if part["caption"] == "About this book")
    assert {"file": "book/course"} in about["chapters"]


def test_citation_file_is_complete():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["title"] and cff["authors"] and cff["message"]
    assert cff["license"] == "MIT" and cff["repository-code"].startswith("https://")
    assert "## How to cite" in (ROOT / "book" / "intro.md").read_text()


# ---- the three builds ---------------------------------------------------------------------------------

def page(variant: str, doc: str) -> BeautifulSoup:
    path = html_dir(variant) / f"{doc}.html"
    if not path.exists():
        option = f" --profile {variant}" if variant != "default" else ""
        pytest.fail(f"{path} is missing: run `osteobook build{option}`")
    return BeautifulSoup(path.read_text(), "html.parser")


def main(soup: BeautifulSoup):
    return soup.find("main") or soup


def solutions(soup: BeautifulSoup) -> list:
    return main(soup).select("div.solution")


def notes(soup: BeautifulSoup) -> list:
    return main(soup).select(".instructor-notes")


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_default_build_collapses_solutions_and_hides_notes(name):
    soup = page("default", f"notebooks/{name}")
    found = solutions(soup)
    assert len(main(soup).select("div.exercise")) == len(exercise_labels(name))
    assert len(found) == len(exercise_labels(name))
    assert all("dropdown" in div["class"] for div in found), "solutions must be collapsed (dropdown) by default"
    assert notes(soup) == []


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_student_build_has_exercises_without_solutions(name):
    soup = page("student", f"notebooks/{name}")
    assert len(main(soup).select("div.exercise")) == len(exercise_labels(name))
    assert solutions(soup) == [] and "Solution to" not in main(soup).get_text()
    assert notes(soup) == []
    source = html_dir("student") / "_sources" / "notebooks" / f"{name}.ipynb"
    if source.exists():  # the downloadable notebook carries no solution either
        assert "solution-start" not in source.read_text()


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_instructor_build_shows_solutions_and_notes(name):
    soup = page("instructor", f"notebooks/{name}")
    found = solutions(soup)
    assert len(found) == len(exercise_labels(name))
    assert not any("dropdown" in div["class"] for div in found), "instructors see solutions expanded"
    text = " ".join(note.get_text() for note in notes(soup))
    assert "Timing" in text and "Common mistakes" in text and "Discussion prompts" in text


@pytest.mark.book
def test_course_page_in_each_build():
    assert notes(page("default", "book/course")) == [] and notes(page("student", "book/course")) == []
    assert len(notes(page("instructor", "book/course"))) >= 3
    links = main(page("student", "book/course")).select("a[href*='notebooks/tki.html#ex-tki-pi']")
    assert links, "the course links each exercise by its label"


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_parameters_box_lists_the_values_the_page_was_built_with(name):
    box = main(page("default", f"notebooks/{name}")).select_one("div.parameters-box")
    assert box is not None and "dropdown" in box["class"]
    assert box.find_previous("h1") is not None and box.find_next("h2") is not None  # under the title
    text = box.get_text()
    for key in load_results(results_path(name))["parameters"]:
        assert key in text
    assert f"osteobook run {name} -p" in text and "osteobook build -p" in text


@pytest.mark.book
def test_reproduce_page_carries_the_build_stamp():
    text = main(page("default", "book/reproduce")).get_text()
    assert hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest() in text
    assert re.search(r"commit\s*([0-9a-f]{40}|unknown)", text)
    assert re.search(r"built on\s*\d{4}-\d{2}-\d{2}", text)


# ---- in a browser ------------------------------------------------------------------------------------


def open_exercises(browser, variant: str, doc: str):
    page = browser.new_page(viewport={"width": 1280, "height": 2400})
    path = html_dir(variant) / f"{doc}.html"
    assert path.exists(), f"{path} was not built"
    page.goto(path.as_uri(), wait_until="load")
    return page


def shoot(page, name: str) -> None:
    """The Exercises section (sticky headers unpinned, so that they do not cover it while it scrolls)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.add_style_tag(content=".bd-header, .bd-header-article, .skip-link { position: static !important; }")
    page.locator("section#exercises").screenshot(path=str(SHOTS / f"teaching_{name}.png"))


@pytest.mark.book
def test_solution_opens_on_click_in_the_default_build(browser):
    page = open_exercises(browser, "default", "notebooks/tki")
    solution = page.locator("div.solution").first
    body = solution.locator("section#solution-content")
    assert body.is_hidden(), "a solution is collapsed until the reader asks for it"
    shoot(page, "default_tki")
    solution.locator("button.toggle-button").first.click()  # the title's own link leads to the exercise
    body.wait_for(state="visible", timeout=5000)
    page.close()


@pytest.mark.book
def test_student_and_instructor_pages_in_a_browser(browser):
    student = open_exercises(browser, "student", "notebooks/tki")
    assert student.locator("div.exercise").count() >= 4 and student.locator("div.solution").count() == 0
    shoot(student, "student_tki")
    student.close()
    instructor = open_exercises(browser, "instructor", "notebooks/tki")
    assert instructor.locator("div.solution section#solution-content").first.is_visible()
    assert instructor.locator(".instructor-notes").first.is_visible()
    shoot(instructor, "instructor_tki")
    instructor.close()


@pytest.mark.book
def test_a_chapter_prints_to_a_legible_pdf(browser, tmp_path):
    """`make pdf` prints every page like this (scripts/print_pdf.py); the course page links the result."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("print_pdf", ROOT / "scripts" / "print_pdf.py")
    print_pdf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(print_pdf)
    assert print_pdf.pages("default")[0] == "book/intro" and "book/course" in print_pdf.pages("default")
    [pdf] = print_pdf.print_pages(html_dir("default"), ["notebooks/evidence"], tmp_path, browser)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 3
    assert len(data) > 100_000, "figures and tables are in the PDF"
    links = {a["href"] for a in main(page("default", "book/course")).select("a[href$='.pdf']")}
    assert "../pdf/osteosarcoma-evidence-book.pdf" in links


def launch_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("launch_notebooks", ROOT / "scripts" / "launch_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_launch_twins_carry_numbers_not_placeholders(name):
    from osteobook.paths import variant_dir

    twin = launch_script().twin(variant_dir("executed", "default") / f"{name}.ipynb", "HEAD")
    text = "\n".join(cell.source for cell in twin.cells if cell.cell_type == "markdown")
    assert "{glue" not in text and "{term}" not in text and "{footcite" not in text
    assert "OSTEOBOOK_DATA_DIR" in twin.cells[0].source and "pip" in twin.cells[0].source
    assert "jupytext" not in twin.metadata  # no pairing: JupyterLab opens the twin on its own


@pytest.mark.book
def test_a_launch_twin_runs_top_to_bottom_in_a_clean_kernel(monkeypatch):
    import nbclient
    import nbformat

    from osteobook.paths import BUILD, variant_dir

    folder = BUILD / "launch"
    folder.mkdir(parents=True, exist_ok=True)
    twin = launch_script().twin(variant_dir("executed", "default") / "evidence.ipynb", "HEAD")
    for cell in twin.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    monkeypatch.delenv("OSTEOBOOK_ROOT", raising=False)  # the setup cell must find the project by itself
    nbclient.NotebookClient(twin, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    nbformat.write(twin, folder / "evidence.run.ipynb")
    assert any(cell.get("outputs") for cell in twin.cells[2:])
