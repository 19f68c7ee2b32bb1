"""Markdown documents (report.md, migration.md) from the Jinja templates beside this module.

The templates hold the layout: headings, prose, tables. The targets compute what they say
(policies, levels, gaps, reasons) and pass it as plain values. A value the template names
but is not given is an error, not an empty string.
"""

from __future__ import annotations

from functools import cache

import jinja2


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pspc.output", "templates"),
        autoescape=False,  # Markdown, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["code"] = lambda text: f"`{text}`"
    return env


def render(template: str, **values) -> str:
    return environment().get_template(template).render(**values)
