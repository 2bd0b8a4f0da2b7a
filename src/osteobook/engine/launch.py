"""Launch twins: an executed chapter as a plain Jupyter notebook for Binder, Colab, JupyterLab or a download.

A twin is the executed chapter with
- a first cell that finds the book's package and project folder, or (on Colab, or anywhere without a checkout)
  clones the repository at the built commit and installs it, and points the data cache at `osteobook-data/`
  next to the notebook unless `$OSTEOBOOK_DATA_DIR` is set;
- the numbers of this build in the text: `{glue:text}` and `{glue:md}` roles replaced by their values, each
  `{glue:figure}` by its image (an HTML `<img>` with a data URL) and caption, each `{glue:md}`/`{glue}` block by
  its Markdown, HTML, image or text,
  `{term}`, `{footcite}`, `{numref}`, `{doc}` and `{ref}` roles by plain text, so the text reads right without a MyST renderer
  (jupyterlab-myst renders the boxes);
- no jupytext pairing (JupyterLab would look for the `.md` source) and no papermill bookkeeping;
- instructor notes (`:class: instructor-notes`) only in the instructor build's twins, as on its pages;
- code the book hides (`remove-cell`, `remove-input`, `hide-input`) collapsed in JupyterLab
  (`jupyter.source_hidden`), one click away, and the build's injected-parameters cell left out.
Re-running a twin recomputes its outputs; the numbers and figures in the text stay those of the build.

Where twins go: `scripts/launch_notebooks.py` writes `_build/launch/<chapter>.ipynb`; the book's `launch_twins`
extension (book/_ext) serves a twin as each chapter's download (`_sources/notebooks/<chapter>.ipynb`) and as
`launch/<chapter>.ipynb` in the site, and the Pages workflow publishes those to the branch the Binder and Colab
buttons open (`publish_tree`).
"""
from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
from pathlib import Path

REPOSITORY = "https://github.com/osteobook/osteosarcoma-evidence-book"
SITE_FOLDER = "launch"          # the twins in the built site: <html>/launch/<chapter>.ipynb
BRANCH_FOLDER = "notebooks"     # ... and on the launch branch: notebooks/<chapter>.ipynb (where the buttons point)
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
pathlib.Path(os.environ["OSTEOBOOK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)  # the cache must exist
'''
TEXT_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")
MD_ROLE = re.compile(r"\{glue:md\}`([^`:]+)(?::[^`]*)?`")
FIGURE = re.compile(r"^```\{glue:figure\} (\S+)\n((?::[^\n]*\n)*)\n?(.*?)^```\n?", re.MULTILINE | re.DOTALL)
BLOCK = re.compile(r"^(`{3,}|:{3,})\{glue(?::\w+)?\} (\S+)\n((?::[^\n]*\n)*)\1[ \t]*\n?", re.MULTILINE)
TERM = re.compile(r"\{term\}`([^`<]+?)(?:\s*<[^>]+>)?`")
CITE = re.compile(r"\{footcite:?[pt]?\}`([^`]+)`")
NUMREF = re.compile(r"\{numref\}`[^`]+`")
ROLE = re.compile(r"\{(?:doc|ref|eq|download)\}`([^`<]*?)\s*(?:<([^>]+)>)?`")  # cross-references: their text
BIBLIOGRAPHY = re.compile(r"^(`{3,}|:{3,})\{footbibliography\}[^\n]*\n\1[ \t]*\n?", re.MULTILINE)
HIDDEN_SOURCE = {"remove-cell", "remove-input", "hide-input", "hide-cell"}  # the book's tags that hide code
NOTES = re.compile(r"^(:{3,}|`{3,})\{admonition\}[^\n]*\n:class:[^\n]*\binstructor-notes\b[^\n]*\n.*?^\1[ \t]*\n?",
                   re.MULTILINE | re.DOTALL)  # book/_ext/audience.py shows these to instructors only
PLACEHOLDERS = ("{glue", "{term}", "{footcite", "{numref}", "{doc}", "{ref}", "{footbibliography}")


def glued(notebook) -> dict[str, dict]:
    """Every glued value of an executed notebook: name -> its mime bundle (without the papermill prefix)."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                values[name] = {key.removeprefix(MIME): value for key, value in output["data"].items()}
    return values


def fill_roles(source: str, values: dict[str, dict]) -> str:
    """`{glue:text}` and `{glue:md}` roles replaced by their glued values (a missing name raises KeyError)."""
    from myst_nb.core.variables import format_plain_text

    def text(match: re.Match) -> str:
        return format_plain_text(values[match.group(1)]["text/plain"], match.group(2) or "")

    def markdown(match: re.Match) -> str:
        bundle = values[match.group(1)]
        return bundle.get("text/markdown") or format_plain_text(bundle["text/plain"], "")

    return MD_ROLE.sub(markdown, TEXT_ROLE.sub(text, source))


def with_values(cell, values: dict[str, dict]) -> None:
    """Put the glued values, figures and plain-text references into a markdown cell."""
    from myst_nb.core.variables import format_plain_text

    def image(name: str, alt: str) -> str | None:
        """An HTML image with a data URL: jupyterlab-myst (like markdown-it) refuses SVG in Markdown images and
        cell attachments, but shows an `<img>` element in Markdown, trusted or not (and so do Colab and Jupyter)."""
        bundle = values[name]
        if "image/svg+xml" in bundle:
            svg = bundle["image/svg+xml"]
            url = "data:image/svg+xml;base64," + base64.b64encode(
                ("".join(svg) if isinstance(svg, list) else svg).encode()).decode()
        elif "image/png" in bundle:
            url = "data:image/png;base64," + "".join(bundle["image/png"]).replace("\n", "")
        else:
            return None
        return f'<img src="{url}" alt="{html.escape(alt, quote=True)}" style="max-width: 100%">\n'

    def figure(match: re.Match) -> str:
        name, options, caption = match.group(1), match.group(2), match.group(3).strip()
        alt = re.search(r"^:alt: (.*)$", options, re.MULTILINE)
        return f"{image(name, alt.group(1) if alt else name)}\n*{caption}*\n"

    def block(match: re.Match) -> str:
        """A `{glue}`, `{glue:md}` or `{glue:any}` directive: the value as Markdown, HTML, an image or text."""
        name = match.group(2)
        bundle = values[name]
        shown = (image(name, name) or bundle.get("text/markdown") or bundle.get("text/html")
                 or format_plain_text(bundle["text/plain"], ""))
        return ("".join(shown) if isinstance(shown, list) else shown).rstrip("\n") + "\n"

    source = fill_roles(BLOCK.sub(block, FIGURE.sub(figure, cell.source)), values)
    source = NUMREF.sub("the figure", CITE.sub(lambda m: f"[{m.group(1)}]", TERM.sub(r"\1", source)))
    source = ROLE.sub(lambda m: m.group(1) or Path(m.group(2) or "").name, source)
    source = BIBLIOGRAPHY.sub("*The works cited in brackets are listed on this chapter's page in the book.*\n", source)
    cell.source = source


def twin(executed: Path, commit: str, instructor: bool = False):
    """The launch twin of an executed chapter notebook (an `nbformat` notebook); instructor notes only if asked."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    values = glued(notebook)
    cells = [nbformat.v4.new_code_cell(SETUP.format(repository=REPOSITORY, commit=commit),
                                       metadata={"tags": ["setup"]})]
    for cell in notebook.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            continue  # build plumbing: the parameters cell below holds the chapter's defaults
        cell.metadata.pop("papermill", None)
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "code" and tags & HIDDEN_SOURCE:  # collapsed in JupyterLab as on the page
            cell.metadata["jupyter"] = {"source_hidden": True, **({"outputs_hidden": True}
                                                                   if "remove-cell" in tags else {})}
        if cell.cell_type == "markdown":
            with_values(cell, values)
            if not instructor:
                cell.source = NOTES.sub("", cell.source)
        cells.append(cell)
    notebook.cells = cells
    for key in ("jupytext", "papermill"):
        notebook.metadata.pop(key, None)
    return notebook


def write_twin(executed: Path, target: Path, commit: str, instructor: bool = False) -> bool:
    """Write the twin of `executed` to `target` unless it is already there; True if written."""
    import nbformat

    text = nbformat.writes(twin(executed, commit, instructor))
    if target.exists() and target.read_text() == text:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return True


def build_commit(folder: Path) -> str:
    """The commit checked out in `folder` (what a twin's setup cell clones), or `main` outside git."""
    done = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "main"


def publish_tree(site: Path, tree: Path) -> list[Path]:
    """Copy the site's twins (`<site>/launch/*.ipynb`) to `<tree>/notebooks/`, where the launch buttons point.

    The Pages workflow runs this on a checkout of the built commit and pushes the result to the launch branch.
    """
    twins = sorted((site / SITE_FOLDER).glob("*.ipynb"))
    if not twins:
        raise SystemExit(f"no launch twins in {site / SITE_FOLDER}: was the book built with book/_ext/launch_twins?")
    copied = []
    for notebook in twins:
        target = tree / BRANCH_FOLDER / notebook.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, target)
        copied.append(target)
    return copied
