"""Lighter pages: no 1.5 MB icon script, no search index outside the search page, icon fonts cut to the icons used.

The pydata theme loads Font Awesome twice: `fontawesome.js` (every icon as JavaScript, 1.5 MB) and its CSS
font files (275 kB), although the CSS alone draws every `<i class="fa-…">` icon. This extension

- overrides the theme's head (`templates/layout.html`) to drop `fontawesome.js`, and Sphinx's search scripts
  and index on pages other than the search page (the search box submits to `search.html`);
- at the end of the build, subsets the three Font Awesome fonts to the icons the pages use (the `fa-*` classes
  in the HTML and scripts, and the icons the theme's CSS draws itself, such as admonition icons) and writes
  `_static/icon-fonts.css`, whose `@font-face` rules, loaded after the theme's, point the same font families
  at the subsets (about 10 kB instead of 275 kB).

The browser tests measure what a page loads and check that every icon's glyph is in the font it is drawn from.
"""
from __future__ import annotations

import re
from pathlib import Path

from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
ICON_CSS = "icon-fonts.css"
WEBFONTS = Path("vendor") / "fontawesome" / "webfonts"
SUBSET_DIR = WEBFONTS / "subset"
# (CSS family, weight, font file without extension): the faces pydata-sphinx-theme's CSS declares
FACES = [("Font Awesome 6 Free", 900, "fa-solid-900"), ("Font Awesome 6 Free", 400, "fa-regular-400"),
         ("Font Awesome 6 Brands", 400, "fa-brands-400")]
_SCRIPT = re.compile(r'\s*<script defer src="[^"]*scripts/fontawesome\.js[^"]*"></script>')
_CATALOGUE_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:(?::)?before,?)+)\{content:"\\([0-9a-fA-F]+) ?"\}')
_ESCAPE = re.compile(r'"\\([0-9a-fA-F]{4,5}) ?"')
_CLASS = re.compile(r"\bfa-[a-z0-9-]+")


def without_fontawesome(html: str) -> Markup:
    """The theme's preload block without its `fontawesome.js` script tag."""
    return Markup(_SCRIPT.sub("", str(html)))


def _page_context(app, pagename, templatename, context, doctree):
    context["without_fontawesome"] = without_fontawesome


def used_codepoints(static: Path, pages: list[Path]) -> set[int]:
    """Private-use code points the site can draw with the icon fonts.

    The `fa-*` classes named in the pages and scripts, looked up in the CSS catalogue
    (`.fa-bars:before{content:"\\f0c9"}`), plus every private-use escape the CSS uses outside that catalogue
    (icons the theme's CSS draws itself, such as the admonition icons, written as escapes or as characters).
    """
    catalogue: dict[str, int] = {}
    direct: set[int] = set()
    for css in static.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        for selectors, code in _CATALOGUE_RULE.findall(text):
            for name in re.findall(r"\.(fa-[a-z0-9-]+):", selectors):
                catalogue[name] = int(code, 16)
        rest = _CATALOGUE_RULE.sub("", text)
        direct |= {int(code, 16) for code in _ESCAPE.findall(rest)}  # content:"\f05a"
        direct |= {ord(char) for char in rest if 0xE000 <= ord(char) <= 0xF8FF}  # --pst-icon-bell:"<U+F0F3>"
    names: set[str] = set()
    for path in [*pages, *static.rglob("*.js")]:
        if path.name != "fontawesome.js":
            names |= set(_CLASS.findall(path.read_text(encoding="utf-8", errors="replace")))
    private = {code for code in direct if 0xE000 <= code <= 0xF8FF}
    return private | {catalogue[name] for name in names if name in catalogue}


def subset_icon_fonts(app, exception) -> None:
    """Write the icon-font subsets and the CSS that points the theme's font families at them."""
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset  # a matplotlib dependency: always installed with the book
    from fontTools.ttLib import TTFont

    out = Path(app.outdir)
    static = out / "_static"
    if not (static / WEBFONTS).is_dir():
        return
    codepoints = used_codepoints(static, sorted(out.rglob("*.html")))
    (static / SUBSET_DIR).mkdir(parents=True, exist_ok=True)
    rules = []
    for family, weight, name in FACES:
        source = static / WEBFONTS / f"{name}.ttf"
        font = TTFont(source)
        present = codepoints & set(font.getBestCmap())
        options = subset.Options()
        options.flavor = "woff"          # woff2 needs brotli, which the book does not install
        options.layout_features = []
        options.hinting = False
        options.name_IDs = [1, 2]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(present) or [0x20])
        subsetter.subset(font)
        target = static / SUBSET_DIR / f"{name}.woff"
        font.flavor = "woff"
        font.save(target)
        url = (SUBSET_DIR / target.name).as_posix()
        rules.append(f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
                     f'font-display:block;src:url({url}) format("woff")}}')
    header = "/* Generated by book/_ext/lean_pages.py: the theme's icon fonts, cut to the icons the book uses. */"
    (static / ICON_CSS).write_text("\n".join([header, *rules]) + "\n", encoding="utf-8")


def copy_edited_static_files(app, exception) -> None:
    """Copy `html_static_path` files that changed since the last build.

    Sphinx copies static files only when some page is rewritten, so an edit to `book.css` or a script alone
    would otherwise never reach the published book.
    """
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util.osutil import copyfile

    static = Path(app.outdir) / "_static"
    for entry in app.config.html_static_path:
        source_dir = Path(app.confdir) / entry
        for source in (p for p in source_dir.rglob("*") if p.is_file()):
            target = static / source.relative_to(source_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            copyfile(source, target, __overwrite_warning__=False)


def _add_templates(app, config):
    config.templates_path = [str(TEMPLATES), *config.templates_path]


def setup(app):
    app.connect("config-inited", _add_templates)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", copy_edited_static_files, priority=400)
    app.connect("build-finished", subset_icon_fonts)
    app.add_css_file(ICON_CSS, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
