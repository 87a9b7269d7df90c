"""A site for the checkpoint tests: a form, a cookie-guarded API, pages with a11y faults."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from tests.execution.engine_harness import serve_handler, step

FORM = """<!doctype html><title>Form</title>
<a id="login" href="/account/login">Log in</a>
<button id="send" disabled>Submit</button>"""

# Three known violations: an image without alt (critical), text of too low contrast
# (serious) and a button without a name (critical).
INACCESSIBLE = """<!doctype html><html lang="en"><title>Faults</title>
<main><h1>Faults</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="20" height="20">
<p style="color:#ccc;background:#fff">Barely readable text</p>
<button id="icon"></button></main></html>"""

ACCESSIBLE = """<!doctype html><html lang="en"><title>Fine</title>
<main><h1>Fine</h1><p>Plain readable text</p><a href="/faults.html">Faults</a></main></html>"""


def visual_page(shift_px: int, banner: str) -> str:
    """A page with a button `shift_px` to the right and a changing banner (to mask)."""
    return f"""<!doctype html><title>Visual</title>
<style>body {{ margin: 0; font: 16px sans-serif; background: #fff }}
#banner {{ position: absolute; left: 20px; top: 20px; width: 300px; height: 40px;
  background: #eef; }}
#buy {{ position: absolute; left: {40 + shift_px}px; top: 120px; width: 160px;
  height: 150px; background: #1e6bd6; border: 0; }}</style>
<div id="banner">{banner}</div><button id="buy" aria-label="Buy"></button>"""


def visual_steps(site: str, **checkpoint: Any) -> list[dict[str, Any]]:
    """Proven steps that open /visual.html and compare it with the baseline 'Home page'."""
    return [
        step(1, "navigate_to", url=f"{site}/visual.html"),
        step(2, "assert_screenshot_matches", name="Home page", **checkpoint),
    ]


class CheckpointSite(http.server.BaseHTTPRequestHandler):
    """The pages above; `visual` holds what /visual.html shows now."""

    visual: ClassVar[dict[str, object]] = {"shift_px": 0, "banner": "Sale today"}

    def _send(self, status: int, body: bytes, content_type: str, *cookie: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for value in cookie:
            self.send_header("Set-Cookie", value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        html = "text/html; charset=utf-8"
        if self.path == "/form.html":
            self._send(200, FORM.encode(), html, "session=ann-42; Path=/")
        elif self.path == "/api/me":
            signed_in = "session=ann-42" in (self.headers.get("Cookie") or "")
            body = {"user": {"name": "Ann"}} if signed_in else {"error": "no session"}
            self._send(200 if signed_in else 401, json.dumps(body).encode(), "application/json")
        elif self.path == "/faults.html":
            self._send(200, INACCESSIBLE.encode(), html)
        elif self.path == "/fine.html":
            self._send(200, ACCESSIBLE.encode(), html)
        elif self.path == "/visual.html":
            page = visual_page(int(str(self.visual["shift_px"])), str(self.visual["banner"]))
            self._send(200, page.encode(), html)
        else:
            self._send(404, b"not found", "text/plain")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_checkpoint_site() -> Iterator[str]:
    """Serve CheckpointSite on a free port; yields its base URL."""
    CheckpointSite.visual = {"shift_px": 0, "banner": "Sale today"}
    with serve_handler(CheckpointSite) as url:
        yield url
