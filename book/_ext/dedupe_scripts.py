"""Drop repeated inline scripts from pages.

sphinx-thebe registers its configuration script once per read phase; with Sphinx 7.4 the same
`const THEBE_JS_URL = ...` then appears twice per page and the browser reports a redeclaration error.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique  # in place: it is the builder's list


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
