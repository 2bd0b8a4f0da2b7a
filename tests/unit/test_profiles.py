"""Profiles that configure the book (`book:`), one-off `build -p` variants, the student build's staging, the
build stamp and the "Parameters of this page" box."""
import hashlib

import nbformat
import pytest
import yaml

from osteobook import paths
from osteobook.engine import cli, execute, render
from osteobook.engine.params import (
    BOOK_KEY,
    ParameterError,
    book_config,
    broadcast,
    chapter_names,
    chapter_overrides,
    load_chapter,
    load_profile,
    resolve,
)
from osteobook.paths import PROFILES, ROOT


def test_every_profile_loads():
    assert {"student", "instructor"} <= {path.stem for path in PROFILES.glob("*.yaml")}
    for path in sorted(PROFILES.glob("*.yaml")):
        load_profile(path.stem)


def test_teaching_profiles_configure_the_book_not_the_chapters():
    student, instructor = load_profile("student"), load_profile("instructor")
    assert chapter_overrides(student) == {} and chapter_overrides(instructor) == {}
    assert book_config(student)["sphinx"]["config"] == {"audience": "student", "hide_solutions": True}
    assert book_config(instructor)["sphinx"]["config"] == {"audience": "instructor"}


def test_book_key_must_be_a_mapping(tmp_path):
    (tmp_path / "bad.yaml").write_text("book: [not, a, mapping]\n")
    with pytest.raises(ParameterError, match="'book' to Jupyter Book configuration"):
        load_profile("bad", tmp_path)


def test_book_is_reserved_and_no_chapter_name():
    assert BOOK_KEY not in chapter_names()
    with pytest.raises(ParameterError, match="reserved"):
        load_chapter(BOOK_KEY)


def test_deep_merge_keeps_the_rest_of_the_config():
    base = {"title": "T", "sphinx": {"config": {"a": 1, "b": {"c": 2}}, "extra_extensions": ["x"]}}
    merged = render.deep_merge(base, {"sphinx": {"config": {"b": {"d": 3}, "hide_solutions": True}}})
    assert merged == {"title": "T", "sphinx": {"config": {"a": 1, "b": {"c": 2, "d": 3}, "hide_solutions": True},
                                               "extra_extensions": ["x"]}}
    assert base["sphinx"]["config"] == {"a": 1, "b": {"c": 2}}  # the base is not changed in place


def test_build_p_goes_to_every_chapter_that_declares_the_parameter():
    chapters = [load_chapter(name) for name in chapter_names()]
    assert broadcast({"include_unverified": True}, chapters) == {name: {"include_unverified": True}
                                                                for name in chapter_names()}
    declaring = {c.name for c in chapters if "transform" in c.parameters}
    assert set(broadcast({"transform": "freeman-tukey"}, chapters)) == declaring
    with pytest.raises(ParameterError, match="no chapter in this build declares parameter 'nope'"):
        broadcast({"nope": 1}, chapters)
    with pytest.raises(ParameterError, match=r"'ci_method' = 'wald' is not allowed"):
        broadcast({"ci_method": "wald"}, chapters)


def test_with_overrides_keeps_the_profile_and_its_book_config():
    profile = {"book": {"sphinx": {"config": {"audience": "student"}}}, "tki": {"transform": "freeman-tukey"}}
    merged = cli._with_overrides(profile, {"tki": {"tau2_method": "DL"}, "evidence": {"ci_method": "wilson"}})
    assert merged == {"book": profile["book"], "tki": {"transform": "freeman-tukey", "tau2_method": "DL"},
                      "evidence": {"ci_method": "wilson"}}


def test_one_off_variants_get_safe_folder_names():
    assert cli._variant_name(None, {"landmark_rule": "4 months only"}) == "landmark_rule-4_months_only"
    assert cli._variant_name("student", {"seed": 1}) == "student-seed-1"
    long = cli._variant_name(None, {"caf_levels": [0.05] * 40})
    assert long.startswith("variant-") and len(long) <= 64


@pytest.mark.parametrize("argv, message", [
    (["-p", "nope", "1"], "no chapter in this build declares parameter 'nope'"),
    (["-p", "seed", "1", "--variant", "default"], "not 'default'"),
    (["--variant", "mine"], "--variant names a one-off build"),
])
def test_build_refuses_bad_one_off_requests_before_doing_anything(argv, message, capsys):
    assert cli.main(["build", "--no-html", "--chapters", "evidence", *argv]) == 2
    assert message in capsys.readouterr().err


def gated_notebook() -> str:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# T\n\n:::{exercise} Q\n:label: ex-q\nAsk.\n:::\n\n"
                                      ":::{solution-start} ex-q\n:class: dropdown\n:::\n\nThe answer is"),
        nbformat.v4.new_code_cell("secret = 42"),
        nbformat.v4.new_markdown_cell("more answer.\n\n:::{solution-end}\n:::\n\n## What's next\n"),
        nbformat.v4.new_code_cell("shown = 1"),
    ]))


def test_without_solutions_removes_gated_solutions_and_their_code():
    stripped = nbformat.reads(render.without_solutions(gated_notebook()), as_version=4)
    text = "\n".join(cell.source for cell in stripped.cells)
    assert "Ask." in text and "## What's next" in text and "shown = 1" in text
    assert "solution" not in text and "secret" not in text and "answer" not in text


def test_student_profile_stages_config_notebooks_and_stamp(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "BUILD", tmp_path / "_build")
    executed = tmp_path / "evidence.ipynb"
    executed.write_text(gated_notebook())
    staged, changed = render.stage("student", {"evidence": executed}, load_profile("student"))
    assert changed and staged == tmp_path / "_build" / "stage" / "student"
    config = yaml.safe_load((staged / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True and config["sphinx"]["config"]["audience"] == "student"
    assert config["sphinx"]["config"]["bibtex_reference_style"] == "author_year"  # the rest of _config.yml is kept
    assert "audience" in config["sphinx"]["local_extensions"]
    assert "secret" not in (staged / "notebooks" / "evidence.ipynb").read_text()
    reproduce = (staged / "book" / "reproduce.md").read_text()
    assert hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest() in reproduce
    assert "| commit |" in reproduce and "hide_solutions: true" in reproduce


def test_build_stamp_names_commit_dates_and_lock_hash(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 UTC
    stamp = render.build_stamp()
    assert stamp["built"] == "2026-01-01"
    assert stamp["lock_sha256"] == hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest()
    assert stamp["commit"] and stamp["commit_date"]


def test_parameters_box_lists_values_labels_and_commands():
    evidence = load_chapter("evidence")
    box = execute.parameters_box(evidence, resolve(evidence, {"ci_method": "wilson"}))
    assert box.startswith(":::{admonition} Parameters of this page\n:class: dropdown parameters-box")
    assert "| `ci_method` | `wilson`: Wilson score; default `exact` |" in box
    assert all(f"| `{key}` |" in box for key in evidence.parameters)
    assert "`osteobook run evidence -p " in box and "`osteobook build -p " in box
    tki = load_chapter("tki")
    assert '`"16-18 weeks"`' in execute.parameters_box(tki, tki.defaults())  # a value with spaces, quoted for the shell


def test_runner_puts_the_box_under_the_title(tmp_path):
    evidence = load_chapter("evidence")
    path = tmp_path / "executed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("seed = 1", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_markdown_cell("# The clinical evidence base\n\n:::{admonition} Key takeaways\n:::")]), path)
    execute._hide_injected_parameters(path, execute.make_job(evidence, {}, "t"))
    cells = nbformat.read(path, as_version=4).cells
    assert "remove-cell" in cells[0].metadata["tags"]
    title, rest = cells[1].source.split("\n", 1)
    assert title == "# The clinical evidence base"
    assert rest.index("Parameters of this page") < rest.index("Key takeaways")
