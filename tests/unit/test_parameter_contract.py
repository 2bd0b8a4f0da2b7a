"""One source of truth for parameters: the spec. The notebook, the chapter code and the results agree with it."""
import ast
import importlib
import inspect
import re

import jupytext
import pytest

from osteobook.engine.params import chapter_names, load_chapter
from osteobook.errors import ParameterError
from osteobook.paths import results_path


def parameters_cell(chapter):
    notebook = jupytext.read(chapter.source)
    cells = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"{chapter.source.name}: expected one cell tagged 'parameters', found {len(cells)}"
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(cells[0].source).body
            if isinstance(node, ast.Assign)}


@pytest.mark.parametrize("name", chapter_names())
def test_parameters_cell_is_the_spec(name):
    chapter = load_chapter(name)
    cell = parameters_cell(chapter)
    assert cell.pop("results_path").endswith(f"{name}.json")
    assert cell == chapter.defaults()
    assert {"seed", "include_unverified"} <= set(chapter.parameters)


def spec_functions(name):
    """Functions of `osteobook.chapters.<name>` that the notebook calls (or `analyse...`) and that take
    any of the spec's parameters: the chapter's entry points."""
    module = importlib.import_module(f"osteobook.chapters.{name}")
    chapter = load_chapter(name)
    called = set(re.findall(r"\b\w+\.(\w+)\(", chapter.source.read_text()))
    return [(fname, fn) for fname, fn in inspect.getmembers(module, inspect.isfunction)
            if fn.__module__ == module.__name__ and (fname in called or fname.startswith("analyse"))
            and set(inspect.signature(fn).parameters) & set(chapter.parameters)]


@pytest.mark.parametrize("name", chapter_names())
def test_chapter_code_checks_its_arguments_against_the_spec(name):
    """Every entry point that takes spec parameters starts by validating them against the spec, so the code
    accepts exactly the spec's values (and a plain papermill run with a bad value fails with its message)."""
    functions = spec_functions(name)
    assert functions, f"osteobook.chapters.{name} has no function taking the spec's parameters"
    for fname, fn in functions:
        body = ast.parse(inspect.getsource(fn)).body[0].body
        first = body[1] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else body[0]
        call = first.value if isinstance(first, (ast.Assign, ast.Expr)) else None
        assert isinstance(call, ast.Call) and getattr(call.func, "id", None) == "validate" \
            and ast.literal_eval(call.args[0]) == name, f"{name}.{fname} does not start with validate({name!r}, locals())"


def test_a_value_outside_the_spec_is_refused_by_the_chapter_code():
    from osteobook.chapters import evidence
    defaults = load_chapter("evidence").defaults()
    arguments = {key: defaults[key] for key in inspect.signature(evidence.analyse).parameters}
    with pytest.raises(ParameterError, match=r"'ci_method' = 'jeffreys' is not allowed \(allowed: 'exact', 'wilson'\)"):
        evidence.analyse(**{**arguments, "ci_method": "jeffreys"})


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_results_carry_the_resolved_parameters(name):
    import json
    assert json.loads(results_path(name).read_text())["parameters"] == load_chapter(name).defaults()
