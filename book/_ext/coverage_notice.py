"""The `coverage` directive: which review sections have a chapter in this build, and which have none yet.

Each content line is `review | section | chapter`, where chapter is a document name (`notebooks/tki`) or `-`:

    ```{coverage}
    Hu et al. 2025 (mini review) | Tyrosine kinase inhibitors | notebooks/tki
    CAF review 2025 | 2.1 Origins of CAFs | -
    ```

It renders a table whose chapter cells link to the chapter. The notice cannot drift from the table of
contents: a chapter of the build that no line names is a build warning (warnings are errors), a named chapter
left out of a partial build (`osteobook build --chapters …`) is shown as not in this build, and the page is
re-read whenever the set of documents changes.
"""
from __future__ import annotations

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)
CHAPTERS = "notebooks/"
NO_CHAPTER = "no chapter yet"
NOT_BUILT = "chapter not in this build"


class Coverage(SphinxDirective):
    has_content = True

    def run(self):
        rows = []
        for number, line in enumerate(self.content, start=self.content_offset + 1):
            if not line.strip():
                continue
            cells = [cell.strip() for cell in line.split("|")]
            if len(cells) != 3:
                logger.warning("coverage: expected 'review | section | chapter', got %r", line,
                               location=(self.env.docname, number))
                continue
            rows.append(cells)
        built = {doc for doc in self.env.found_docs if doc.startswith(CHAPTERS)}
        named = {chapter for _, _, chapter in rows if chapter != "-"}
        for doc in sorted(built - named):
            logger.warning("coverage: chapter %s is in the table of contents but not in the coverage notice; "
                           "add the review section it covers", doc, location=self.get_location())
        self.env.coverage_docs = getattr(self.env, "coverage_docs", set()) | {self.env.docname}
        return [self._table(rows, built)]

    def _table(self, rows: list[list[str]], built: set[str]) -> nodes.table:
        table = nodes.table(classes=["coverage-table"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (3, 5, 4):
            group += nodes.colspec(colwidth=width)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        head += self._row([nodes.Text("Review"), nodes.Text("Section"), nodes.Text("Chapter")])
        for review, section, chapter in rows:
            if chapter == "-":
                link = nodes.emphasis(text=NO_CHAPTER)
            elif chapter not in built:  # a partial build (`osteobook build --chapters …`)
                link = nodes.emphasis(text=NOT_BUILT)
            else:
                link = addnodes.pending_xref("", nodes.inline(text=chapter), refdomain="std", reftype="doc",
                                             reftarget=f"/{chapter}", refexplicit=False, refwarn=True,
                                             refdoc=self.env.docname)
            body += self._row([nodes.Text(review), nodes.Text(section), link])
        return table

    @staticmethod
    def _row(contents) -> nodes.row:
        row = nodes.row()
        for content in contents:
            paragraph = nodes.paragraph()
            paragraph += content
            row += nodes.entry("", paragraph)
        return row


def _reread_when_documents_change(app, env, added, changed, removed):
    """Documents with a coverage notice are re-read whenever a document is added or removed."""
    return sorted(getattr(env, "coverage_docs", set())) if added or removed else []


def _purge(app, env, docname):
    getattr(env, "coverage_docs", set()).discard(docname)


def _merge(app, env, docnames, other):
    env.coverage_docs = getattr(env, "coverage_docs", set()) | getattr(other, "coverage_docs", set())


def setup(app):
    app.add_directive("coverage", Coverage)
    app.connect("env-get-outdated", _reread_when_documents_change)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
