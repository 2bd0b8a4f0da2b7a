"""Render executed chapters into HTML with Jupyter Book.

The book is assembled in a staging folder (`_build/stage/<variant>`): the configuration, the
front matter in `book/`, the papermill-executed notebooks in place of the MyST sources, and a
generated "Reproduce this book" page. Files are copied only when changed, so Sphinx rebuilds
only what changed.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pooch
import yaml

from ..datasets import registry
from ..errors import OsteobookError
from ..paths import BUILD, BUILD_ROOT, ROOT, variant_dir
from .params import Chapter, load_chapter

LOCK_FILE = ROOT / "requirements.lock"
# MathJax is served with the book so that math renders offline too (else the theme loads it from a CDN).
MATHJAX_URL = "https://registry.npmjs.org/mathjax/-/mathjax-3.2.2.tgz"
MATHJAX_SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
MATHJAX_FILES = ("package/es5/tex-mml-chtml.js", "package/es5/output/chtml/fonts/woff-v2/")


def output_root(variant: str) -> Path:
    """Jupyter Book writes `<output_root>/_build/html`: the build root for the default book."""
    return BUILD_ROOT if variant == "default" else BUILD / "profiles" / variant


def html_dir(variant: str) -> Path:
    return output_root(variant) / "_build" / "html"


def stage(variant: str, executed: dict[str, Path], profile: dict | None = None) -> tuple[Path, bool]:
    """Assemble the book's sources for `variant`; returns the folder and whether anything changed.

    The table of contents and the bibliography files are derived from the chapters' specs.
    """
    target = variant_dir("stage", variant)
    chapters = sorted((load_chapter(name) for name in executed), key=lambda chapter: chapter.order)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["bibtex_bibfiles"] = list(dict.fromkeys(
        [*config["bibtex_bibfiles"], *(bib for chapter in chapters for bib in chapter.bibliography)]))
    if variant != "default":
        config["title"] = f"{config['title']} (profile: {variant})"
        config["html"]["announcement"] = (f"Alternate build from profile <code>{variant}</code>: "
                                          "see <em>Reproduce this book</em> for its parameters.")
    if _vendor_mathjax(target / "book" / "_static" / "mathjax"):
        config["sphinx"]["config"]["mathjax_path"] = "mathjax/es5/tex-mml-chtml.js"
    changed = [
        _write_if_changed(target / "_config.yml", yaml.safe_dump(config, sort_keys=False)),
        _write_if_changed(target / "_toc.yml", yaml.safe_dump(toc_for(chapters), sort_keys=False)),
        *(_copy_if_changed(source, target / source.relative_to(ROOT))
          for source in (ROOT / "book").rglob("*") if source.is_file() and source.suffix != ".bib"),
        *(_write_if_changed(target / source.relative_to(ROOT), without_notes(source.read_text()))
          for source in (ROOT / "book").rglob("*.bib")),
        *(_copy_if_changed(notebook, target / "notebooks" / f"{name}.ipynb") for name, notebook in executed.items()),
        _write_if_changed(target / "book" / "reproduce.md", reproduce_page(variant, profile or {})),
    ]
    return target, any(changed)


def _vendor_mathjax(target: Path) -> bool:
    """Copy MathJax's browser bundle and fonts into the staged static folder; False if unavailable."""
    if (target / "es5" / "tex-mml-chtml.js").exists():
        return True
    try:
        archive = pooch.retrieve(MATHJAX_URL, known_hash=f"sha256:{MATHJAX_SHA256}",
                                 path=BUILD / "vendor", progressbar=False)
    except Exception as err:  # offline: the theme's CDN copy is used instead
        print(f"MathJax not vendored ({type(err).__name__}); pages will load it from a CDN", file=sys.stderr)
        return False
    with tarfile.open(archive) as bundle:
        for member in bundle.getmembers():
            if member.isfile() and member.name.startswith(MATHJAX_FILES):
                member.name = member.name.removeprefix("package/")
                bundle.extract(member, target, filter="data")
    return True


def without_notes(bibtex: str) -> str:
    """BibTeX without `note` fields: they hold curation notes for contributors, not references for readers."""
    kept, position = [], 0
    for match in re.finditer(r"^\s*note\s*=\s*\{", bibtex, flags=re.MULTILINE):
        if match.start() < position:
            continue
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(bibtex[end], 0)
            end += 1
        end += len(bibtex[end:]) - len(bibtex[end:].lstrip(" ,"))  # the field's trailing comma
        kept.append(bibtex[position:match.start()])
        position = end
    return "".join(kept) + bibtex[position:]


def toc_for(chapters: list[Chapter]) -> dict:
    """`_toc.yml` (front and back matter) with a part per chapter `part`, in chapter order, before them."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts: dict[str, list[dict]] = {}
    for chapter in chapters:
        parts.setdefault(chapter.part, []).append({"file": f"notebooks/{chapter.name}"})
    toc["parts"] = [{"caption": caption, "chapters": entries} for caption, entries in parts.items()] + toc["parts"]
    return toc


def build_html(variant: str, staged: Path, changed: bool = True) -> Path:
    """Render the staged book and publish it; skipped when no staged file changed since the last render.

    Jupyter Book renders into its own folder (`_build/render/<variant>`, kept for incremental builds);
    only a render without warnings is copied next to the published book and swapped in by renames,
    so `html_dir(variant)` always holds the last good book.
    """
    rendered = staged / ".rendered"
    target = html_dir(variant)
    if not changed and rendered.exists() and (target / "index.html").exists():
        print(f"HTML unchanged for {variant!r}: nothing to render", file=sys.stderr)
        return target
    rendered.unlink(missing_ok=True)
    workspace = variant_dir("render", variant)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(staged), "--path-output", str(workspace),
               "--warningiserror", "--nitpick", "--keep-going"]
    if subprocess.run(command, check=False).returncode:
        raise OsteobookError(f"jupyter-book build failed for {variant!r} (warnings are errors; see the log "
                             f"above); the last good book in {target} was kept")
    publish(workspace / "_build" / "html", target)
    rendered.touch()
    return target


def publish(source: Path, target: Path) -> None:
    """Replace the folder `target` by a copy of `source` with renames, never leaving it half-written."""
    incoming, outgoing = target.with_name(target.name + ".incoming"), target.with_name(target.name + ".outgoing")
    for leftover in (incoming, outgoing):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(source, incoming)
    if target.exists():
        target.rename(outgoing)
    incoming.rename(target)
    shutil.rmtree(outgoing, ignore_errors=True)


def reproduce_page(variant: str, profile: dict) -> str:
    """The 'Reproduce this book' page: commands, data files with hashes, the profile, pinned packages."""
    rows = "\n".join(f"| `{e.name}` | {e.description} | [source]({e.url}) | `{e.sha256}` |"
                     for e in registry.entries().values())
    pins = [line for line in LOCK_FILE.read_text().splitlines() if line and not line.startswith("#")]
    overrides = yaml.safe_dump(profile, sort_keys=True).strip() if profile else "(defaults of every chapter)"
    return f"""# Reproduce this book

This page is generated at build time from `data/registry.yaml` and `requirements.lock`.

## Two commands

```bash
make book   # pinned packages, checked data, every chapter executed, HTML
make test   # the whole test suite (builds the book first if needed)
```

Without internet, point the data cache at a folder of pre-fetched copies:
`export OSTEOBOOK_DATA_DIR=/path/to/data`. Conda users: `conda env create -f environment.yml`,
then `pip install --no-deps -e .` and `osteobook build`.

Run one chapter with other parameters, or a whole alternate book from a profile:

```bash
osteobook run evidence -p ci_method wilson
osteobook build --profile ft_dl   # into _build/profiles/ft_dl/_build/html
```

## This build

Variant: **{variant}**. Parameter overrides:

```yaml
{overrides}
```

Each chapter writes its key numbers to `_build/results/{variant}/<chapter>.json`.

## Data files

Every file is downloaded from a pinned commit and checked against its sha256 before use.

| file | content | URL | sha256 |
|---|---|---|---|
{rows}

## Pinned packages ({len(pins)})

```text
{chr(10).join(pins)}
```
"""


def _copy_if_changed(source: Path, target: Path) -> bool:
    if target.exists() and target.read_bytes() == source.read_bytes():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return True


def _write_if_changed(target: Path, text: str) -> bool:
    if target.exists() and target.read_text() == text:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return True
