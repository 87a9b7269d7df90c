"""The dashboard's HTML pieces: the page shell, badges, durations, progress bars, tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape

from execution.html_report import duration

__all__ = ["badge", "duration", "page", "progress", "table", "text", "when"]


def text(value: object) -> str:
    """A value as escaped HTML text ('' for None)."""
    return "" if value is None else escape(str(value))


def when(value: datetime | None) -> str:
    """A time as a <time> element people and machines read."""
    if value is None:
        return ""
    stamp = value.isoformat(timespec="seconds")
    return f'<time datetime="{stamp}">{escape(value.strftime("%Y-%m-%d %H:%M:%S"))}</time>'


def badge(status: str, label: str | None = None) -> str:
    """A coloured status word (the word is there too: colour is never the only sign)."""
    return f'<span class="badge {escape(status)}">{escape(label or status)}</span>'


def progress(done: int, total: int, label: str) -> str:
    """A progress bar with its accessible name and the figures beside it."""
    maximum = max(total, 1)
    return (
        f'<progress value="{min(done, maximum)}" max="{maximum}" aria-label="{escape(label)}">'
        f"</progress> <span>{done}/{total}</span>"
    )


def table(caption: str, headers: Iterable[str], rows: Iterable[str]) -> str:
    """A table that scrolls sideways on its own on a narrow screen."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(rows)
    return (
        f'<div class="scroll" role="region" aria-label="{escape(caption)}" tabindex="0">'
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def page(title: str, part: str) -> str:
    """The shell of every page, with no data in it.

    The script fills `main` from `part` with the token kept in the browser, and keeps it live.
    """
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)} · testrun</title>
<link rel="stylesheet" href="/static/ui/dashboard.css">
<script src="/static/ui/dashboard.js" defer></script></head>
<body><a class="skip" href="#content">Skip to content</a>
<header><nav aria-label="Main"><a href="/ui" class="brand">testrun</a>
<a href="/ui">Runs</a> <a href="/ui/test-cases">Test cases</a>
<a href="/ui/test-cases?flaky=1">Flaky</a> <a href="/graphql">GraphiQL</a></nav>
<button type="button" id="sign-out" hidden>Sign out</button></header>
<form id="sign-in" hidden><h1>Sign in</h1>
<p>Paste an API token (<code>testrun token create</code> prints one). It stays in this
browser only.</p><label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in</button><p id="sign-in-error" class="error" role="alert"></p>
</form>
<p id="notice" role="status" aria-live="polite"></p>
<main id="content" data-part="{escape(part)}" tabindex="-1"><p>Loading…</p></main>
</body></html>"""
