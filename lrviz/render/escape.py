"""Text from a spec, made safe for where it lands. One function per destination.

Names, titles, keys and column names come from specs, and specs come from pull
requests. Each destination has its own dangerous characters: a spreadsheet runs a
cell that starts with ``=``, Markdown and HTML take ``<script>`` and ``|`` as
structure, a terminal takes ESC as a command. (Matplotlib takes ``$...$`` as math:
figures turn that off while they are built, ``render.figure.literal_text``.)
"""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# Characters Markdown gives a meaning to inside a table cell or a heading (after the
# HTML escaping, which takes care of < > &).
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def terminal(text: str) -> str:
    """Text for a terminal or a log: control characters shown as escapes, never sent.

    An ESC sequence could recolour or rewrite the screen and a newline could forge a
    second ``error:`` line, so both come out as visible ``\\x1b`` / ``\\n``.
    """
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


def one_line(text: str) -> str:
    """Text for a single line of a figure, a heading or a cell: controls become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula.

    Only text from a spec goes through here (names, columns); numbers are written
    as they are, so ``-0.5`` stays a number.
    """
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def markdown(text: str) -> str:
    """Text for a Markdown table cell or heading: HTML escaped, Markdown neutralised."""
    return _MARKDOWN.sub(r"\\\1", html.escape(one_line(text), quote=True))


def code_fence(text: str) -> str:
    """A fence of backticks longer than any run inside ``text``, so it cannot be closed early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)
