"""The package's layers, the chapter contract and self-registering chapters."""
import ast
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

from osteobook.engine import execute, render
from osteobook.engine.params import chapter_names, load_chapter
from osteobook.paths import NOTEBOOKS, ROOT

PACKAGE = ROOT / "src" / "osteobook"
# layer -> what it must never import (matplotlib counts as drawing)
FORBIDDEN = {
    "datasets": ("osteobook.stats", "osteobook.models", "osteobook.plots", "osteobook.chapters", "osteobook.engine",
                 "matplotlib", "seaborn"),
    "stats": ("osteobook.plots", "osteobook.chapters", "osteobook.engine", "matplotlib", "seaborn"),
    "models": ("osteobook.plots", "osteobook.chapters", "osteobook.engine", "matplotlib", "seaborn"),
    "plots": ("osteobook.chapters", "osteobook.engine", "osteobook.datasets"),
    "chapters": ("osteobook.plots", "osteobook.engine.execute", "osteobook.engine.render", "osteobook.engine.cli",
                 "matplotlib", "seaborn"),
}


def imports_of(path: Path) -> set[str]:
    """Absolute names `path` imports, including every name it takes `from` a module."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    return execute.module_imports(path.read_text(), module, osteobook_only=False)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_what_they_may(layer):
    offences = [f"{path.relative_to(ROOT)} imports {name}"
                for path in sorted((PACKAGE / layer).glob("*.py")) for name in sorted(imports_of(path))
                if name.startswith(FORBIDDEN[layer])]
    assert not offences, "\n".join(offences)


def test_only_datasets_and_engine_open_files():
    """Reading files is the datasets layer's job (and the engine's, which runs the build)."""
    offences = []
    for layer in ("stats", "models", "plots", "chapters"):
        for path in sorted((PACKAGE / layer).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                called = node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else (
                    node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None)
                if called in ("open", "read_csv", "read_r", "read_text", "read_bytes"):
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {called}")
    assert not offences, "\n".join(offences)


def code_share(source: Path) -> float:
    """Share of a chapter source's non-blank lines that are code (inside code cells, tags excluded)."""
    notebook = jupytext.read(source)
    code = sum(1 for cell in notebook.cells if cell.cell_type == "code" for line in cell.source.splitlines()
               if line.strip())
    text = sum(1 for cell in notebook.cells if cell.cell_type == "markdown" for line in cell.source.splitlines()
               if line.strip())
    return code / (code + text)


@pytest.mark.parametrize("chapter", chapter_names())
def test_chapter_sources_are_mostly_narrative(chapter):
    assert code_share(NOTEBOOKS / f"{chapter}.md") <= 0.30


@pytest.mark.parametrize("chapter", chapter_names())
def test_every_chapter_has_a_module_of_the_same_name(chapter):
    assert (PACKAGE / "chapters" / f"{chapter}.py").exists()


def test_toc_and_bibliography_come_from_the_chapter_specs():
    chapters = [load_chapter(name) for name in chapter_names()]
    toc = render.toc_for(sorted(chapters, key=lambda c: c.order))
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    assert files[:len(chapters)] == [f"notebooks/{c.name}" for c in sorted(chapters, key=lambda c: c.order)]
    central = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert not [e for part in central["parts"] for e in part["chapters"] if e["file"].startswith("notebooks/")]
    assert "book/bib/" not in (ROOT / "_config.yml").read_text()


DUMMY_SPEC = {"title": "A dummy chapter", "part": "Dummy part", "order": 99, "bibliography": ["book/bib/dummy.bib"],
              "data": [], "parameters": {"seed": {"type": "int", "default": 1, "min": 0, "help": "seed"}}}


def test_a_new_chapter_touches_no_central_file(tmp_path):
    """Copy the project's central files, add only a chapter's own files, and stage: it is in the book."""
    for name in ("_toc.yml", "_config.yml", "requirements.lock"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    for folder in ("data", "notebooks", "book"):
        subprocess.run(["cp", "-r", str(ROOT / folder), str(tmp_path / folder)], check=True)
    (tmp_path / "notebooks" / "dummy.params.yaml").write_text(yaml.safe_dump(DUMMY_SPEC))
    (tmp_path / "notebooks" / "dummy.md").write_text("# A dummy chapter\n")
    (tmp_path / "book" / "bib" / "dummy.bib").write_text("")
    script = ("from osteobook.engine import render\nfrom osteobook.engine.params import chapter_names\n"
              "import yaml\nfrom pathlib import Path\n"
              "executed = {name: Path('notebooks', name + '.md') for name in chapter_names()}\n"
              "stage, _ = render.stage('default', executed)\n"
              "print(yaml.safe_dump({'toc': yaml.safe_load((stage / '_toc.yml').read_text()),"
              " 'bib': yaml.safe_load((stage / '_config.yml').read_text())['bibtex_bibfiles']}))\n")
    env = {"OSTEOBOOK_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    staged = yaml.safe_load(out.stdout)
    parts = {part["caption"]: [e["file"] for e in part["chapters"]] for part in staged["toc"]["parts"]}
    assert parts["Dummy part"] == ["notebooks/dummy"]
    assert "book/bib/dummy.bib" in staged["bib"]


def test_a_chapter_is_keyed_on_the_modules_it_imports():
    evidence = execute.imported_modules(load_chapter("evidence").source)
    assert "osteobook.chapters.evidence" in evidence and "osteobook.stats.proportions" in evidence
    assert "osteobook.models.ros" not in evidence and "osteobook.chapters.tki" not in evidence
