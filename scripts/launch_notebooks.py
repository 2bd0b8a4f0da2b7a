"""Launch twins: each chapter as a plain Jupyter notebook for Binder, Colab or a download.

    python scripts/launch_notebooks.py     # _build/executed/default/<chapter>.ipynb -> _build/launch/<chapter>.ipynb

A twin is the executed chapter with
- a first cell that finds the book's package and project folder, or (on Colab, or anywhere without a checkout)
  clones the repository at the built commit and installs it, and points the data cache at `osteobook-data/`
  next to the notebook unless `$OSTEOBOOK_DATA_DIR` is set;
- the numbers of this build in the text: `{glue:text}` and `{glue:md}` roles replaced by their values, each
  `{glue:figure}` by its image (a cell attachment) and caption, `{term}`, `{footcite}` and `{numref}` roles by
  plain text, so the text reads right without a MyST renderer (jupyterlab-myst still renders the boxes);
- no jupytext pairing (JupyterLab would look for the `.md` source) and no papermill bookkeeping.
Re-running a twin recomputes its outputs; the numbers in the text stay those of the build.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text

from osteobook.engine.params import chapter_names
from osteobook.paths import BUILD, ROOT, variant_dir

REPOSITORY = "https://github.com/osteobook/osteosarcoma-evidence-book"
MIME = "application/papermill.record/"
SETUP = '''# Setup (Binder, Colab or a download): the book's package and project folder, and a data cache.
import os, pathlib, subprocess, sys

REPOSITORY, COMMIT = "{repository}", "{commit}"
try:
    from osteobook.paths import find_root
    os.environ.setdefault("OSTEOBOOK_ROOT", str(find_root()))
except Exception:  # no checkout here: clone the book at the commit these numbers come from, then install it
    checkout = pathlib.Path("osteosarcoma-evidence-book").resolve()
    if not checkout.exists():
        subprocess.run(["git", "clone", "--quiet", REPOSITORY, str(checkout)], check=True)
        subprocess.run(["git", "-C", str(checkout), "checkout", "--quiet", COMMIT], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(checkout)], check=True)
    sys.path.insert(0, str(checkout / "src"))
    os.environ["OSTEOBOOK_ROOT"] = str(checkout)
os.environ.setdefault("OSTEOBOOK_DATA_DIR", str(pathlib.Path("osteobook-data").resolve()))
'''
TEXT_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")
MD_ROLE = re.compile(r"\{glue:md\}`([^`:]+)(?::[^`]*)?`")
FIGURE = re.compile(r"^```\{glue:figure\} (\S+)\n((?::[^\n]*\n)*)\n?(.*?)^```\n?", re.MULTILINE | re.DOTALL)
TERM = re.compile(r"\{term\}`([^`<]+?)(?:\s*<[^>]+>)?`")
CITE = re.compile(r"\{footcite:?[pt]?\}`([^`]+)`")
NUMREF = re.compile(r"\{numref\}`[^`]+`")


def glued(notebook) -> dict[str, dict]:
    """Every glued value of an executed notebook: name -> its mime bundle (without the papermill prefix)."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                values[name] = {key.removeprefix(MIME): value for key, value in output["data"].items()}
    return values


def with_values(cell, values: dict[str, dict]) -> None:
    """Put the glued values, figures and plain-text references into a markdown cell."""
    def text(match: re.Match) -> str:
        return format_plain_text(values[match.group(1)]["text/plain"], match.group(2) or "")

    def markdown(match: re.Match) -> str:
        bundle = values[match.group(1)]
        return bundle.get("text/markdown") or format_plain_text(bundle["text/plain"], "")

    def figure(match: re.Match) -> str:
        name, options, caption = match.group(1), match.group(2), match.group(3).strip()
        alt = re.search(r"^:alt: (.*)$", options, re.MULTILINE)
        bundle = values[name]
        kind, ext = ("image/svg+xml", "svg") if "image/svg+xml" in bundle else ("image/png", "png")
        cell.setdefault("attachments", {})[f"{name}.{ext}"] = {kind: bundle[kind]}
        return f"![{alt.group(1) if alt else name}](attachment:{name}.{ext})\n\n*{caption}*\n"

    source = FIGURE.sub(figure, cell.source)
    source = MD_ROLE.sub(markdown, TEXT_ROLE.sub(text, source))
    source = NUMREF.sub("the figure", CITE.sub(lambda m: f"[{m.group(1)}]", TERM.sub(r"\1", source)))
    cell.source = source


def twin(executed: Path, commit: str):
    notebook = nbformat.read(executed, as_version=4)
    values = glued(notebook)
    cells = [nbformat.v4.new_code_cell(SETUP.format(repository=REPOSITORY, commit=commit),
                                       metadata={"tags": ["setup"]})]
    for cell in notebook.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            continue  # build plumbing: the parameters cell below holds the chapter's defaults
        cell.metadata.pop("papermill", None)
        if cell.cell_type == "markdown":
            with_values(cell, values)
        cells.append(cell)
    notebook.cells = cells
    for key in ("jupytext", "papermill"):
        notebook.metadata.pop(key, None)
    return notebook


def build_commit() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "main"


def main() -> int:
    out = BUILD / "launch"
    out.mkdir(parents=True, exist_ok=True)
    commit = build_commit()
    for name in chapter_names():
        executed = variant_dir("executed", "default") / f"{name}.ipynb"
        if not executed.exists():
            raise SystemExit(f"{executed} is missing: build the book first (make book)")
        nbformat.write(twin(executed, commit), out / f"{name}.ipynb")
        print(f"{name}: {out / f'{name}.ipynb'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
