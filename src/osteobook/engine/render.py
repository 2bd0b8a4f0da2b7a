"""Render executed chapters into HTML with Jupyter Book.

The book is assembled in a staging folder (`_build/stage/<variant>`): the configuration, the
front matter in `book/`, the papermill-executed notebooks in place of the MyST sources, and a
generated "Reproduce this book" page. Files are copied only when changed, so Sphinx rebuilds
only what changed.
"""
from __future__ import annotations

import datetime
import hashlib
import os
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
from .params import Chapter, book_config, load_chapter

LOCK_FILE = ROOT / "requirements.lock"


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
    config = deep_merge(yaml.safe_load((ROOT / "_config.yml").read_text()), book_config(profile or {}))
    config["bibtex_bibfiles"] = list(dict.fromkeys(
        [*config["bibtex_bibfiles"], *(bib for chapter in chapters for bib in chapter.bibliography)]))
    if variant != "default":
        config["title"] = f"{config['title']} (profile: {variant})"
        config["html"]["announcement"] = (f"Alternate build <code>{variant}</code>: "
                                          "see <em>Reproduce this book</em> for its parameters.")
    hide_solutions = bool(config.get("sphinx", {}).get("config", {}).get("hide_solutions"))
    changed = [
        _write_if_changed(target / "_config.yml", yaml.safe_dump(config, sort_keys=False)),
        _write_if_changed(target / "_toc.yml", yaml.safe_dump(toc_for(chapters), sort_keys=False)),
        *(_copy_if_changed(source, target / source.relative_to(ROOT))
          for source in (ROOT / "book").rglob("*") if source.is_file() and source.suffix != ".bib"),
        *(_write_if_changed(target / source.relative_to(ROOT), without_notes(source.read_text()))
          for source in (ROOT / "book").rglob("*.bib")),
        *(_write_if_changed(target / "notebooks" / f"{name}.ipynb", without_solutions(notebook.read_text()))
          if hide_solutions else _copy_if_changed(notebook, target / "notebooks" / f"{name}.ipynb")
          for name, notebook in executed.items()),
        _write_if_changed(target / "book" / "reproduce.md", reproduce_page(variant, profile or {})),
        *(_copy_if_changed(source, target / "book" / "_static" / "katex" / name)
          for name, source in katex_files().items()),
    ]
    return target, any(changed)


# KaTeX typesets the maths (book/_ext/katex_math.py). It is fetched from the npm registry, checked against its
# sha256 and served with the book, never committed; the stylesheet keeps only the woff2 fonts it ships.
KATEX_URL = "https://registry.npmjs.org/katex/-/katex-0.19.1.tgz"
KATEX_SHA256 = "24da5a599eb2fcede2e270b99a6ff48bca816beecc95feeb84e8cccbd1bb34fd"
OLD_FONT_FORMATS = re.compile(r',url\(fonts/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)')


def katex_files() -> dict[str, Path]:
    """`{name under _static/katex: local file}`: script, woff2-only stylesheet, fonts, licence; empty offline."""
    folder = BUILD / "vendor" / "katex-0.19.1"
    if not (folder / "katex.min.css").exists():
        try:
            archive = pooch.retrieve(KATEX_URL, known_hash=f"sha256:{KATEX_SHA256}", path=BUILD / "vendor",
                                     progressbar=False)
        except Exception as err:  # noqa: BLE001 - offline: pages show the TeX source instead of typeset maths
            print(f"KaTeX not fetched ({type(err).__name__}); maths will show as TeX", file=sys.stderr)
            return {}
        with tarfile.open(archive) as bundle:
            for member in bundle.getmembers():
                keep = member.name in ("package/LICENSE", "package/dist/katex.min.js", "package/dist/katex.min.css")
                if member.isfile() and (keep or (member.name.startswith("package/dist/fonts/")
                                                 and member.name.endswith(".woff2"))):
                    member.name = member.name.removeprefix("package/").removeprefix("dist/")
                    bundle.extract(member, folder, filter="data")
        css = folder / "katex.min.css"
        css.write_text(OLD_FONT_FORMATS.sub("", css.read_text()))
    return {str(path.relative_to(folder)): path for path in sorted(folder.rglob("*")) if path.is_file()}


def deep_merge(base: dict, extra: dict) -> dict:
    """`base` updated with `extra`, mappings merged key by key (a profile's `book:` into `_config.yml`)."""
    merged = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = deep_merge(merged[key], value) if both else value
    return merged


SOLUTION_START = re.compile(r"^\s*(:{3,}|`{3,})\{solution-start\}")
SOLUTION_END = re.compile(r"^\s*(:{3,}|`{3,})\{solution-end\}")


def without_solutions(notebook_json: str) -> str:
    """The notebook without its gated solutions (`solution-start` … `solution-end`, code cells included).

    A build with `hide_solutions` stages these, so neither its pages nor its downloadable `.ipynb`
    sources carry a solution.
    """
    import nbformat

    notebook = nbformat.reads(notebook_json, as_version=4)
    cells, inside, end_fence = [], False, None
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            if not inside:
                cells.append(cell)
            continue
        kept = []
        for line in cell.source.splitlines(keepends=True):
            if not inside and SOLUTION_START.match(line):
                inside = True
            elif inside and end_fence is None and SOLUTION_END.match(line):
                end_fence = SOLUTION_END.match(line).group(1)
            elif inside and end_fence is not None and line.strip() == end_fence:
                inside, end_fence = False, None
            elif not inside:
                kept.append(line)
        cell.source = "".join(kept)
        if cell.source.strip():
            cells.append(cell)
    notebook.cells = cells
    papermill_meta = notebook.metadata.get("papermill", {})
    if not isinstance(papermill_meta.get("input_path"), (str, type(None))):  # a whole copy of the source
        papermill_meta.pop("input_path")
    return nbformat.writes(notebook)


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
    stamp = build_stamp()
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
osteobook build --profile ft_dl                # into _build/profiles/ft_dl/_build/html
osteobook build --profile student              # exercises without solutions (instructor: solutions and notes)
osteobook build -p include_unverified true     # a one-off variant: the value goes to every chapter declaring it
```

## This build

| stamp | value |
|---|---|
| commit | `{stamp["commit"]}`{" (with uncommitted changes)" if stamp["uncommitted"] else ""} |
| commit date | {stamp["commit_date"]} |
| built on | {stamp["built"]} |
| `requirements.lock` sha256 | `{stamp["lock_sha256"]}` |

Variant: **{variant}**. Parameter overrides (and, under `book`, the Jupyter Book configuration of the build):

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


def build_stamp() -> dict[str, str | bool]:
    """What the book was built from: the commit (noting uncommitted changes), its date, the build date and the
    lock file's sha256. The build date is a day (UTC; `$SOURCE_DATE_EPOCH` when set), so rebuilding the same
    sources on the same day gives the same page."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=20,
                                  check=True, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    built = (datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch
             else datetime.datetime.now(datetime.UTC))
    return {
        "commit": commit or "unknown (not a git checkout)",
        "uncommitted": bool(dirty),
        "commit_date": git("log", "-1", "--format=%cs") or "unknown",
        "built": built.date().isoformat(),
        "lock_sha256": hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest(),
    }


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
