"""A run's artifacts in the HTML report: images inline, markup kept to its words, tables and lists cut to a
readable length, every value escaped."""
from __future__ import annotations

import base64
import html as _html
import json
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any

from app.core import format as fmt

ARTIFACT_ROWS = 60          # rows of an artifact's table shown; the rest are counted
ARTIFACT_TEXT = 4000        # characters of one artifact text shown


def esc(value: Any) -> str:
    """Any text as HTML text: markup in it is shown, never interpreted."""
    return _html.escape(str(value), quote=True)


def table(head: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    """A table of cells already turned into HTML."""
    rows = list(rows)
    if not rows:
        return '<p class="none">None.</p>'
    head = list(head)
    th = f"<thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead>" if any(head) else ""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{esc(cls)}">{th}<tbody>{body}</tbody></table>'


def _image(data: bytes | bytearray) -> str | None:
    kinds = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif", b"RIFF": "image/webp"}
    for magic, mime in kinds.items():
        if bytes(data[:len(magic)]) == magic:
            return f"data:{mime};base64," + base64.b64encode(bytes(data)).decode()
    return None


_MARKUP = re.compile(r"</?(p|br|b|i|em|strong|a|div|span|ul|ol|li|h[1-6]|table|tr|td|img|script|style)\b[^>]*>",
                     re.IGNORECASE)
_BLOCKS = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"}


class _Words(HTMLParser):
    """The words of an HTML text, a line per block, without its tags, scripts or styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def _markup(text: str) -> str | None:
    """An HTML text (an email body) as its words, never as markup: nothing in it is rendered or run.
    The HTML as it was kept follows, escaped, in a closed <details>. None when ``text`` is not HTML."""
    if not _MARKUP.search(text):
        return None
    words = _Words()
    words.feed(text)
    words.close()
    shown = words.text()
    source = f'<details class="markup"><summary>as HTML</summary><span class="text">{esc(text)}</span></details>'
    return (f'<span class="text">{esc(shown)}</span>' if shown else "") + source


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return esc(fmt.number(value) if isinstance(value, float) else str(value))
    text = str(value)
    if len(text) > ARTIFACT_TEXT:
        text = text[:ARTIFACT_TEXT] + f"… ({fmt.count(len(str(value)))} characters in all)"
    return _markup(text) or f'<span class="text">{esc(text)}</span>'


def _plain(obj: Any) -> str:
    return f"<{len(obj):,} bytes>" if isinstance(obj, (bytes, bytearray)) else str(obj)


def _head(key: Any) -> str:
    """A field's heading; an amount kept in cents (``total_cents``) is shown in dollars, so named without it."""
    key = str(key)
    return fmt.heading(key[:-len("_cents")] if key.endswith("_cents") else key)


def _field(key: Any, value: Any, depth: int) -> str:
    """A field's value: cents in dollars, a size in bytes with thousands separators, the rest as kept."""
    if isinstance(value, int) and not isinstance(value, bool):
        if str(key).endswith("_cents"):
            return esc(fmt.usd(value / 100))
        if str(key) == "bytes" or str(key).endswith("_bytes"):
            return esc(fmt.count(value))
    return artifact(value, depth)


def artifact(value: Any, depth: int = 0) -> str:
    """An artifact as it was kept: tables for records, nested lists for the rest, images shown."""
    if isinstance(value, (bytes, bytearray)):
        uri = _image(value)
        size = esc(fmt.count(len(value), "bytes"))
        return f'<img class="artifact" alt="image, {size}" src="{uri}"><br>{size}' if uri else size
    if depth > 2 and isinstance(value, (dict, list, tuple)):
        return f'<code>{esc(json.dumps(value, default=_plain)[:ARTIFACT_TEXT])}</code>'
    if isinstance(value, dict):
        if not value:
            return '<span class="none">(empty)</span>'
        rows = [[esc(_head(k)), _field(k, v, depth + 1)] for k, v in value.items()]
        return table(("", ""), rows, "record")
    if isinstance(value, (list, tuple)):
        if not value:
            return '<span class="none">(none)</span>'
        shown = list(value)[:ARTIFACT_ROWS]
        more = (f'<p class="note">{esc(fmt.count(len(value) - len(shown)))} more not shown.</p>'
                if len(value) > len(shown) else "")
        if all(isinstance(v, dict) for v in shown):
            cols = list(dict.fromkeys(k for v in shown for k in v))
            rows = [[_field(c, v.get(c), depth + 1) for c in cols] for v in shown]
            return table([_head(c) for c in cols], rows, "records") + more
        return "<ul>" + "".join(f"<li>{artifact(v, depth + 1)}</li>" for v in shown) + "</ul>" + more
    return _scalar(value)

