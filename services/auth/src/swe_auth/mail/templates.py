"""Mail templates: a plain-text and an HTML part per kind (``templates/<kind>.txt|.html``),
filled with ``string.Template``; every value is HTML-escaped in the HTML part."""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

SUBJECTS = {
    "password_reset": "Reset your password",
    "email_verification": "Verify your e-mail address",
    "registration_attempted": "Someone tried to register with your address",
    "issue_assigned": "Your issue was assigned to an agent",
    "review_finished": "A review of your project's pull request finished",
    "run_failed": "An agent run of your project failed",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def _template(name: str) -> Template:
    return Template(resources.files(__package__).joinpath("templates", name).read_text("utf-8"))


def render(kind: str, values: dict[str, str], console_url: str) -> Rendered:
    """The mail of ``kind``; a missing value is a bug, so it raises (``substitute``)."""
    subject = SUBJECTS[kind]
    text = _template(f"{kind}.txt").substitute(values)
    escaped = {key: html.escape(value) for key, value in values.items()}
    body = _template(f"{kind}.html").substitute(escaped)
    page = _template("layout.html").substitute(
        subject=html.escape(subject), body=body, console_url=html.escape(console_url)
    )
    return Rendered(subject=subject, text=text, html=page)
