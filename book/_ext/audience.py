"""Who a build is for: the `audience` config value, `reader` (default), `student` or `instructor`.

- Admonitions with the class `instructor-notes` (timing, common mistakes, discussion prompts) are kept only
  when the audience is `instructor`.
- Solutions stay collapsed (`:class: dropdown`) except for instructors, who see them expanded.
- `hide_solutions = True` (sphinx-exercise's option) removes every solution. sphinx-exercise 1.2 drops only the
  `solution-start` marker of a gated solution and leaves its content on the page, so this extension takes the
  option over: sphinx-exercise builds the solutions, and they are removed after the gated parts were merged.

A profile sets these through its `book:` key, e.g. `book: {sphinx: {config: {audience: student,
hide_solutions: true}}}`.
"""
from __future__ import annotations

from docutils import nodes
from sphinx.errors import ConfigError
from sphinx.transforms import SphinxTransform
from sphinx_exercise.nodes import solution_node

AUDIENCES = ("reader", "student", "instructor")
NOTES_CLASS = "instructor-notes"


class ApplyAudience(SphinxTransform):
    """Remove instructor notes and (if asked) solutions; expand solutions for instructors."""

    default_priority = 20  # after sphinx-exercise merges gated solutions (priority 10)

    def apply(self) -> None:
        audience = self.config.audience
        if audience != "instructor":
            for node in list(self.document.findall(nodes.Element)):
                if NOTES_CLASS in node.get("classes", []) and node.parent is not None:
                    node.parent.remove(node)
        for node in list(self.document.findall(solution_node)):
            if self.config.audience_hide_solutions:
                node.parent.remove(node)
            elif audience == "instructor" and "dropdown" in node["classes"]:
                node["classes"].remove("dropdown")


def take_over_hide_solutions(app, config) -> None:
    if config.audience not in AUDIENCES:
        raise ConfigError(f"audience = {config.audience!r} is not allowed; allowed: {', '.join(AUDIENCES)}")
    config.audience_hide_solutions = bool(config.hide_solutions)
    config.hide_solutions = False


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_config_value("audience", "reader", "env", [str])
    app.add_config_value("audience_hide_solutions", False, "env", [bool])
    app.connect("config-inited", take_over_hide_solutions, priority=900)
    app.add_transform(ApplyAudience)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
