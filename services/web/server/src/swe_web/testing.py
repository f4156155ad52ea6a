"""A stand-in build for tests that need a console to serve but not the real app.

It has the shape of Vite's output: ``index.html`` loading a hashed module script and stylesheet
from ``assets/``. The script renders a line into ``#root`` and sets ``data-ready`` on it, so a
browser test can wait for the page to have run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

SCRIPT = """\
const root = document.getElementById("root");
root.textContent = "SWE platform console (placeholder build) at " + location.pathname;
root.dataset.ready = "true";
// Padding so the file is worth compressing, like a real bundle.
export const padding = "%s";
"""
STYLE = "body { font-family: sans-serif; margin: 2rem; color: #1a1a1a; background: #fff; }\n"
INDEX = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>SWE platform</title>
    <script type="module" crossorigin src="/assets/{script}"></script>
    <link rel="stylesheet" crossorigin href="/assets/{style}">
  </head>
  <body>
    <main><h1>SWE platform</h1><div id="root"></div></main>
  </body>
</html>
"""


def _hashed(stem: str, body: str, suffix: str) -> str:
    return f"{stem}-{hashlib.sha256(body.encode()).hexdigest()[:8]}{suffix}"


def write_placeholder_build(dist: Path, label: str = "") -> Path:
    """Write the stand-in build into ``dist`` (created if missing); returns ``dist``."""
    assets = dist / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    script = SCRIPT % ("console " * 400 + label)
    script_name = _hashed("index", script, ".js")
    style_name = _hashed("index", STYLE, ".css")
    (assets / script_name).write_text(script)
    (assets / style_name).write_text(STYLE)
    (dist / "index.html").write_text(INDEX.format(script=script_name, style=style_name))
    return dist
