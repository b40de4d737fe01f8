"""Jinja2 filters that make free text safe where it lands, and the guard that enforces them.

Request descriptions are hostile (quotes, newlines, ``{{``, NUL, U+2028 ...).
Templates never print them raw: each goes through the filter for its target,

- ``pyrepr``   -> a Python string literal (``repr``'s escapes: always one line, every
                  backslash and non-printable escaped) quoted as ``ruff format`` quotes
                  it: double quotes unless the text holds more ``"`` than ``'``;
- ``pydoc``    -> the same for a docstring, on one printable line without the leading
                  or trailing blanks ``ruff format`` would strip;
- ``pycomment``-> comment text on one line (non-printables dropped, no coding cookie);
- ``pycomments``-> the same wrapped into ``# `` lines of at most 88 columns;
- ``yaml_str`` -> a double-quoted YAML scalar with everything outside printable
                  ASCII escaped (so YAML 1.1 words like ``yes`` stay strings);
- ``md_text``  -> one line of Markdown with markup and HTML neutralised.

Filters return ``Emitted``; ``finalize_guard`` (the Environment's ``finalize``)
refuses any other output that is not a plain identifier-like token, so a
template that forgets a filter fails loudly instead of emitting injection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from onexgen.generation.confusables import unconfused
from onexgen.generation.errors import RenderError

_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.]*$")
_SPACES = re.compile(r"\s+")
_CODING = re.compile(r"coding[:=]", re.IGNORECASE)
_MD_ESCAPES = str.maketrans({ch: "\\" + ch for ch in "\\`*_[]!|#~"})
"""Markdown's inline markup characters, each escaped with a backslash (one C pass; a
regular expression's group reference was expanded in Python for every match)."""
_COMMENT_MAX = 300
_YAML_PLAIN = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII except " and \


class Emitted(str):
    """Text a filter has made safe for its destination."""

    __slots__ = ()


def _text(value: Any, filter_name: str) -> str:
    if not isinstance(value, str):
        raise RenderError(f"{filter_name} expects text, got {type(value).__name__}")
    return str(value)


def _printable_line(text: str) -> str:
    """One line: every non-printable character (controls, separators, NUL) becomes a space."""
    if text.isprintable():  # the usual case: only spaces to collapse (a third of the cost)
        if "  " not in text and text[:1] != " " and text[-1:] != " ":
            return text
        cleaned = text
    else:
        cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return _SPACES.sub(" ", cleaned).strip()


def _is_name(text: str) -> bool:
    """An identifier or dotted name in ASCII (``bench.store_1``): as a literal in Python or
    YAML it needs no escape, so it is just quoted (two C calls, where the general path
    costs a ``repr``, a regular expression and the quote choice)."""
    return text.isascii() and (text.isidentifier() or text.replace(".", "_").isidentifier())


def _literal(text: str) -> str:
    """``repr(text)`` re-quoted the way ``ruff format`` (and black) quote a string: double
    quotes, unless the text holds more double than single quotes (fewer escapes)."""
    literal = unconfused(repr(text))  # repr keeps printable non-ASCII: ruff's RUF001
    if '"' not in text and "'" not in text:  # the usual case: repr's quotes only to swap
        return literal if literal[0] == '"' else f'"{literal[1:-1]}"'
    body = literal[1:-1]
    if literal[0] == "'":  # repr escaped every ' (and no "): unescape, requote below
        body = body.replace("\\'", "'")
    if text.count('"') > text.count("'"):
        return "'" + body.replace("'", "\\'") + "'"
    return '"' + body.replace('"', '\\"') + '"'


def pyrepr(value: Any) -> Emitted:
    """A Python string literal for ``value``, as ``ruff format`` writes it; one line."""
    if type(value) is str and _is_name(value):
        return Emitted(f'"{value}"')  # the usual case (names): nothing to escape or requote
    return Emitted(_literal(_text(value, "pyrepr")))


def pydoc(value: Any, fallback: str = "") -> Emitted:
    """A one-line docstring literal: printable, stripped (``ruff format`` strips a
    docstring's outer blanks), ``fallback`` when nothing is left."""
    line = _printable_line(_text(value, "pydoc")) or fallback
    return Emitted(_literal(line))


def pycomment(value: Any) -> Emitted:
    """Text safe after ``#``: one printable line, no encoding cookie, bounded length."""
    line = _printable_line(_text(value, "pycomment"))
    if ":" in line or "=" in line:  # a cookie needs one of them: most text skips the search
        line = _CODING.sub("coding -", line)
    if len(line) > _COMMENT_MAX:
        line = line[: _COMMENT_MAX - 3] + "..."
    return Emitted(unconfused(line))  # ruff's RUF003: ambiguous characters as \\uXXXX


def pycomments(value: Any, prefix: str = "", width: int = 88) -> Emitted:
    """``prefix`` and the text as ``# `` comment lines of at most ``width`` columns (a word
    longer than a line stays whole), joined by newlines."""
    text = (prefix + pycomment(value)).strip()
    if len(text) + 2 <= width:  # the usual case: one line
        return Emitted("# " + text if text else "#")
    words = text.split(" ")
    lines: list[str] = []
    line = "#"
    for word in words:
        if not word:
            continue
        if len(line) + 1 + len(word) > width and line != "#":
            lines.append(line)
            line = "#"
        line += " " + word
    lines.append(line)
    return Emitted("\n".join(lines))


def yaml_str(value: Any) -> Emitted:
    """A double-quoted YAML scalar that loads back to exactly ``value``."""
    if type(value) is str and (known := _KNOWN_YAML.get(value)) is not None:
        return known
    if type(value) is str and _is_name(value):
        return Emitted(f'"{value}"')  # names: the usual case, checked without the regex
    text = _text(value, "yaml_str")
    if _YAML_PLAIN.fullmatch(text):  # printable ASCII without quote or backslash: as is
        return Emitted(f'"{text}"')
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return Emitted("".join(out))


def md_text(value: Any) -> Emitted:
    """One line of Markdown that renders as the literal text (no links, HTML or emphasis)."""
    if type(value) is str and (known := _KNOWN_MD.get(value)) is not None:
        return known
    line = _printable_line(_text(value, "md_text"))
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Emitted(line.translate(_MD_ESCAPES))


_KNOWN_YAML: dict[str, Emitted] = {}
_KNOWN_MD: dict[str, Emitted] = {}


def precompute(texts: Iterable[str]) -> None:
    """Filter once, at start, text that every package of a process prints the same (the
    mixin catalogue's descriptions, the dependencies): ``yaml_str`` and ``md_text``
    then answer it from a dict. Request text is filtered per request as before."""
    for text in texts:
        _KNOWN_YAML[text] = yaml_str(text)
        _KNOWN_MD[text] = md_text(text)


_PASS = (Emitted, bool, int, float)
_TOKENS_SEEN: dict[str, None] = {}
"""Plain strings already found identifier-like: a package prints the same names many
times (an effect package its class name eleven), and a dict lookup costs a fraction of
the regular expression."""
_TOKENS_SEEN_MAX = 4096


def finalize_guard(value: Any) -> Any:
    """Let filtered text and identifier-like tokens through; refuse anything else."""
    kind = type(value)  # called for every {{ }}: the common cases first, by exact type
    if kind is Emitted:
        return value
    if kind is str:
        if value in _TOKENS_SEEN:
            return value
        if _SAFE_TOKEN.fullmatch(value):
            if len(_TOKENS_SEEN) >= _TOKENS_SEEN_MAX:
                _TOKENS_SEEN.clear()
            _TOKENS_SEEN[value] = None
            return value
    elif isinstance(value, _PASS) or (isinstance(value, str) and _SAFE_TOKEN.fullmatch(value)):
        return value
    raise RenderError(f"template printed unfiltered value {str(value)[:60]!r}; pass it through "
                      "pyrepr, pydoc, pycomment(s), yaml_str or md_text")


FILTERS = {"pyrepr": pyrepr, "pydoc": pydoc, "pycomment": pycomment, "pycomments": pycomments,
           "yaml_str": yaml_str, "md_text": md_text}
