"""`/docs`: the OpenAPI document rendered as one page for people, with no script or CDN.

Every operation by tag (method, path, parameters, body, responses) and every schema with
its fields, linked to each other, all from /openapi.json.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font:14px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328}
main{max-width:1100px;margin:0 auto;padding:24px}nav a{margin-right:12px}
h2{border-bottom:1px solid #d1d9e0;padding-bottom:4px;margin-top:36px}
.op{border:1px solid #d1d9e0;border-radius:8px;margin:14px 0;padding:10px 14px}
.method{display:inline-block;min-width:64px;font-weight:700;color:#fff;border-radius:4px;
text-align:center;padding:1px 6px;margin-right:8px}.get{background:#0969da}
.post{background:#1a7f37}.put{background:#9a6700}.delete{background:#cf222e}
code,.path{font-family:ui-monospace,Menlo,Consolas,monospace}.path{font-weight:600}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #d1d9e0;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
.desc{white-space:pre-wrap;color:#59636e}
"""


def _anchor(ref: str) -> str:
    return "schema-" + ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> str:
    """A schema as a short HTML type expression, schemas linked."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#{_anchor(name)}">{escape(name)}</a>'
    if "anyOf" in schema:
        return " | ".join(type_of(branch) for branch in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{escape(str(schema['const']))}</code>"
    kind = schema.get("type")
    if kind == "array":
        return "array of " + type_of(schema.get("items", {}))
    if kind is None:
        return "any JSON"
    limits = [
        f"{label} {schema[key]}"
        for key, label in (
            ("format", "format"),
            ("minimum", "≥"),
            ("maximum", "≤"),
            ("minLength", "length ≥"),
            ("maxLength", "length ≤"),
            ("maxItems", "items ≤"),
        )
        if key in schema
    ]
    return escape(str(kind) + (f" ({', '.join(limits)})" if limits else ""))


def _parameters(parameters: list[dict[str, Any]]) -> str:
    if not parameters:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{type_of(p['schema'])}</td><td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>"
        for p in parameters
    )
    return (
        "<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Required</th>"
        f"<th>Description</th></tr>{rows}</table>"
    )


def _operation(path: str, method: str, entry: dict[str, Any]) -> str:
    parts = [
        f'<div class="op" id="{escape(entry["operationId"])}">'
        f'<span class="method {method}">{method.upper()}</span>'
        f'<span class="path">{escape(path)}</span> — {escape(entry["summary"])}'
        f'<p class="desc">{escape(entry.get("description", ""))}</p>',
        _parameters(entry.get("parameters", [])),
    ]
    if "requestBody" in entry:
        schema = entry["requestBody"]["content"]["application/json"]["schema"]
        parts.append(f"<p>Body (JSON): {type_of(schema)}</p>")
    answers = []
    for status, response in entry["responses"].items():
        kinds = response.get("content", {})
        shown = ", ".join(
            type_of(kind["schema"]) if media == "application/json" else escape(media)
            for media, kind in kinds.items()
        )
        answers.append(
            f"<li><b>{escape(status)}</b> {shown} — {escape(response['description'])}</li>"
        )
    parts.append(f"<ul>{''.join(answers)}</ul></div>")
    return "".join(parts)


def _schema(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code></td><td>{type_of(spec)}</td>"
        f"<td>{'yes' if field in required else 'no'}</td>"
        f"<td>{escape(spec.get('description', ''))}</td></tr>"
        for field, spec in schema.get("properties", {}).items()
    )
    table = (
        f"<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>"
        f"{rows}</table>"
        if rows
        else f"<p>{type_of(schema)}</p>"
    )
    return (
        f'<h3 id="{_anchor(name)}">{escape(name)}</h3>'
        f'<p class="desc">{escape(schema.get("description", ""))}</p>{table}'
    )


def render_docs(document: dict[str, Any]) -> str:
    """The page for `document` (an OpenAPI 3.1 document as `openapi_document` builds it)."""
    info = document["info"]
    by_tag: dict[str, list[str]] = {}
    for path, methods in document["paths"].items():
        for method, entry in methods.items():
            by_tag.setdefault(entry["tags"][0], []).append(_operation(path, method, entry))
    sections = "".join(
        f'<h2 id="tag-{escape(tag)}">{escape(tag)}</h2>{"".join(ops)}'
        for tag, ops in by_tag.items()
    )
    nav = "".join(f'<a href="#tag-{escape(tag)}">{escape(tag)}</a>' for tag in by_tag)
    schemas = "".join(
        _schema(name, schema) for name, schema in sorted(document["components"]["schemas"].items())
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(info['title'])} REST API</title><style>{_STYLE}</style></head><body>"
        f"<main><h1>{escape(info['title'])} REST API {escape(info['version'])}</h1>"
        f'<p class="desc">{escape(info["description"])}</p>'
        f'<p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>'
        f'<nav>{nav}<a href="#schemas">Schemas</a></nav>{sections}'
        f'<h2 id="schemas">Schemas</h2>{schemas}</main></body></html>'
    )
