"""Launch twins in the built book: what the download, Binder and Colab buttons of a chapter open.

- Each chapter page's download (`_sources/notebooks/<chapter>.ipynb`) is the chapter's launch twin
  (`osteobook.engine.launch.twin`): numbers in the text instead of `{glue}` placeholders, a setup cell, no
  jupytext pairing, instructor notes only in the instructor build; the same twins are written to
  `<html>/launch/<chapter>.ipynb`.
- The Binder and Colab buttons point at the launch branch (`launch_buttons: branch:` in `_config.yml`), to which
  the Pages workflow publishes `<html>/launch/*.ipynb` as `notebooks/*.ipynb` on top of the built commit
  (`scripts/launch_notebooks.py --publish`); sphinx-book-theme itself knows only `repository: branch:`.
"""
from __future__ import annotations

from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)


def launch_branch(app) -> str | None:
    return (app.config.html_theme_options.get("launch_buttons") or {}).get("branch")


def retarget_launch_buttons(app, pagename, templatename, context, doctree) -> None:
    """After sphinx-book-theme made the buttons (priority 501): Binder and Colab open the launch branch."""
    branch, main = launch_branch(app), app.config.html_theme_options.get("repository_branch") or "main"
    if not branch or branch == main:
        return
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            url = button.get("url", "")
            if button.get("text") == "Binder":
                button["url"] = url.replace(f"/{main}?urlpath=", f"/{branch}?urlpath=", 1)
            elif button.get("text") == "Colab":
                button["url"] = url.replace(f"/blob/{main}/", f"/blob/{branch}/", 1)


def write_twins(app, exception) -> None:
    """Every notebook page's twin as its download and under `launch/` (with the book's own package, installed
    wherever the book builds)."""
    from osteobook.engine import launch

    if exception is not None or app.builder.format != "html":
        return

    commit = launch.build_commit(Path(app.srcdir))
    instructor = getattr(app.config, "audience", "reader") == "instructor"  # book/_ext/audience.py
    for docname in sorted(app.env.found_docs):
        source = Path(app.env.doc2path(docname))
        if source.suffix != ".ipynb":
            continue
        outdir = Path(app.outdir)
        download = outdir / "_sources" / f"{docname}.ipynb"
        launch.write_twin(source, download, commit, instructor)
        launch.write_twin(source, outdir / launch.SITE_FOLDER / source.name, commit, instructor)
    LOGGER.info("launch twins written for the notebook pages")


def setup(app):
    app.connect("html-page-context", retarget_launch_buttons, priority=502)
    app.connect("build-finished", write_twins)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
