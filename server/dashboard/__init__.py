"""The dashboard at /ui: server-rendered pages, made live by one small script (static/ui)."""

DASHBOARD = "/ui"
PARTS = "/ui/parts/"


def is_page_shell(path: str) -> bool:
    """A path that serves a page without data (public), as opposed to one of its parts."""
    return path in ("/", DASHBOARD) or (
        path.startswith(DASHBOARD + "/") and not path.startswith(PARTS)
    )
