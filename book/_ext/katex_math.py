"""Render maths with KaTeX, and load it only on pages that show maths.

MathJax's single-file bundle is 1.2 MB and Sphinx loads it on every page whose table of contents reaches a page
with maths (the home page included). KaTeX (MIT, 0.19.1; fetched from the npm registry and checked against its
sha256 into `_static/katex/` when the book is staged, see `engine.render.katex_files`) is 300 kB and here is
loaded only by pages whose own document holds a `math` or `math_block` node. Select it with
`html_math_renderer: katex` in the Sphinx configuration.

The HTML keeps the TeX source as text (`<span class="math">x^2</span>`), so a reader without JavaScript sees
the TeX; `_static/katex-render.js` typesets each such element in place.
"""
from __future__ import annotations

from docutils import nodes

KATEX_CSS = "katex/katex.min.css"
KATEX_JS = ("katex/katex.min.js", "katex-render.js")
CLASSES = "math notranslate nohighlight"


def visit_math(self, node):
    self.body.append(self.starttag(node, "span", "", CLASS=CLASSES))
    self.body.append(self.encode(node.astext()) + "</span>")
    raise nodes.SkipNode


def visit_math_block(self, node):
    """A display equation, numbered like Sphinx's MathJax renderer; paragraphs become aligned lines."""
    self.body.append(self.starttag(node, "div", CLASS=CLASSES))
    if node.get("number"):
        self.body.append(f'<span class="eqno">({node["number"]})')
        self.add_permalink_ref(node, "Link to this equation")
        self.body.append("</span>")
    text = node.astext()
    parts = [part for part in text.split("\n\n") if part.strip()]
    if not node.get("nowrap") and len(parts) > 1:
        text = "\\begin{aligned}" + "\\\\".join(parts) + "\\end{aligned}"
    self.body.append(f'<span class="tex">{self.encode(text)}</span></div>\n')
    raise nodes.SkipNode


def _has_math(doctree) -> bool:
    return doctree is not None and next(iter(doctree.findall(
        lambda node: isinstance(node, (nodes.math, nodes.math_block)))), None) is not None


def _add_katex(app, pagename, templatename, context, doctree):
    if app.builder.format == "html" and getattr(app.builder, "math_renderer_name", None) == "katex" \
            and _has_math(doctree):
        app.add_css_file(KATEX_CSS)
        for script in KATEX_JS:
            app.add_js_file(script, loading_method="defer")


def setup(app):
    app.add_html_math_renderer("katex", (visit_math, None), (visit_math_block, None))
    app.connect("html-page-context", _add_katex)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
