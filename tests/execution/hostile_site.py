"""Pages that misbehave as real sites do, served on 127.0.0.1 for the engine's tests."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from tests.execution.engine_harness import serve_handler

LONG_SCRIPT = "/script.js?" + "s" * 600
BEACONS = ("a" * 3_000, "b" * 12_000)
MEGABYTE_LINE = "m" * 1_048_576

PAGES = {
    "/long.html": f"""<!doctype html><title>Long values</title><p>Loaded</p>
<script src="{LONG_SCRIPT}"></script>
<script>
fetch("/beacon?{BEACONS[0]}");
fetch("/beacon?{BEACONS[1]}");
console.log("m".repeat({len(MEGABYTE_LINE)}));
</script>""",
    LONG_SCRIPT.split("?")[0]: "console.log('from a script with a long URL');",
    "/dialogs.html": """<!doctype html><title>Dialogs</title>
<script>alert("Welcome to the dialogs page")</script>
<button onclick="document.getElementById('out').textContent =
  confirm('Really go on?') ? 'confirmed' : 'declined'">Ask</button><p id="out"></p>""",
    "/tabs.html": """<!doctype html><title>Tabs</title>
<a href="/second.html" target="_blank">Open the second page</a>""",
    "/second.html": """<!doctype html><title>Second page</title><h1>On the second tab</h1>""",
    "/inbox.html": """<!doctype html><title>Inbox</title>
<a href="/second.html">Next page</a>
<button onclick="document.title = 'Message 7'; history.pushState({}, '', '#7')">Open</button>""",
    "/prompt.html": """<!doctype html><title>Prompt</title>
<button onclick="document.getElementById('out').textContent =
  'Hello ' + prompt('Your name?')">Greet</button><p id="out"></p>""",
    "/draft.html": """<!doctype html><title>Draft</title><input>
<script>
addEventListener("beforeunload", (e) => { e.preventDefault(); e.returnValue = ""; })
</script>""",
    # Allocates until the renderer runs out of memory and crashes (a few seconds).
    "/crash.html": """<!doctype html><title>Crash</title>
<button onclick="const kept = [];
  for (;;) kept.push(new Array(1e6).fill(Math.random()))">
Load everything</button>""",
    "/download.html": """<!doctype html><title>Download</title>
<a href="/report.csv" download="report.csv">Get the report</a>""",
    "/report.csv": "name,result\nlogin,passed\n",
    "/app.html": """<!doctype html><title>App</title>
<p id="state"></p><button onclick="localStorage.setItem('user', 'ann');
  document.cookie = 'session=ann'; show()">Log in</button>
<script>
function show() {
  const user = localStorage.getItem("user");
  const cookie = document.cookie.includes("session=");
  document.getElementById("state").textContent =
    user || cookie ? "Logged in as " + (user || "cookie") : "Logged out";
}
show();
</script>""",
    "/busy.html": """<!doctype html><title>Busy</title><p>Ready</p>
<script>setTimeout(() => { for (;;) {} }, 300)</script>""",
}


@contextmanager
def serve_hostile_site() -> Iterator[str]:
    """Serve PAGES, the beacons and a page that never finishes; yields the base URL."""
    released = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/never.html":  # headers and a start, then nothing until the end
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<!doctype html><title>Never</title><p>Loading")
                self.wfile.flush()
                released.wait(120)
                return
            body = PAGES.get(path)
            if path == "/beacon":
                body = ""
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            kind = "text/html"
            if path.endswith(".js"):
                kind = "text/javascript"
            elif path.endswith(".csv"):
                kind = "text/csv"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    try:
        with serve_handler(Handler) as url:
            yield url
    finally:
        released.set()
