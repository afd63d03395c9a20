"""`write_report`: the plan as a terminal table, JSON, markdown, self-contained HTML or csv."""

from __future__ import annotations

import html
import re
import textwrap
from typing import TextIO

from tabulate import tabulate

from p2c_upgrade.errors import UsageError
from p2c_upgrade.plan.blocks import Cell, Table
from p2c_upgrade.plan.changes import write_csv
from p2c_upgrade.plan.model import Plan, database_label
from p2c_upgrade.plan.sections import sections
from p2c_upgrade.redact import printable
from p2c_upgrade.render import to_json

FORMATS = ("table", "json", "markdown", "html", "csv")
_WRAP = 48  # terminal: wrap long cells at this width
_CODE = re.compile(r"`([^`]+)`")  # odd parts are code
_WORD = re.compile(r"\S+")
_LONG = 24  # characters: a word longer than this is an id or a number (print may wrap it)


def write_report(plan: Plan, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(to_json(plan.to_dict()) + "\n")
    elif fmt == "csv":
        write_csv(plan, out)
    elif fmt == "table":
        out.write(render_text(plan))
    elif fmt == "markdown":
        out.write(render_markdown(plan))
    elif fmt == "html":
        out.write(render_html(plan))
    else:
        raise UsageError(f"unknown plan format {fmt!r}; use one of {', '.join(FORMATS)}")


# --- terminal ----------------------------------------------------------------------------------

def render_text(plan: Plan) -> str:
    parts: list[str] = []
    for s in sections(plan):
        title = printable(s.title)
        parts.append(f"{title}\n{'=' * len(title)}")
        parts += [printable(p) for p in s.intro]
        for t in s.tables:
            rows = [[_wrap(c) for c in r] for r in t.rows]
            parts.append(tabulate(rows, headers=t.headers, tablefmt="simple",
                                  disable_numparse=True))
        parts.append("")
    parts.append(plan.verdict())
    return "\n".join(parts) + "\n"


def _wrap(cell: Cell) -> str:
    lines = cell if isinstance(cell, list) else [cell]
    return "\n".join(w for line in lines
                     for w in (textwrap.wrap(printable(line), _WRAP, break_on_hyphens=False)
                               or [""]))


# --- markdown ----------------------------------------------------------------------------------

_MD_ESCAPES = str.maketrans({"\\": "\\\\", "*": "\\*", "|": "\\|", "<": "&lt;", ">": "&gt;",
                             "\n": " "})


def _md(cell: Cell) -> str:
    """Values stay literal: markdown's emphasis, table and HTML characters are escaped, and
    every control character (a lone CR would end the table row)."""
    lines = cell if isinstance(cell, list) else [cell]
    return "<br>".join(printable(x.translate(_MD_ESCAPES)) for x in lines)


def render_markdown(plan: Plan) -> str:
    parts: list[str] = []
    for i, s in enumerate(sections(plan)):
        parts.append(("# " if i == 0 else "## ") + _md(s.title))
        parts += [_md(p) for p in s.intro]
        for t in s.tables:
            parts.append(_md_table(t))
    parts.append(f"**{_md(plan.verdict())}**")
    return "\n\n".join(parts) + "\n"


def _md_table(t: Table) -> str:
    lines = ["| " + " | ".join(_md(h) for h in t.headers) + " |",
             "|" + "|".join("---" for _ in t.headers) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in t.rows]
    return "\n".join(lines)


# --- html ----------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1b1b1b;
       word-break: normal; overflow-wrap: normal; hyphens: none; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #c8c8c8; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.blocker td, tr.blocker th { background: #fde8e8; }
.verdict { font-weight: bold; padding: 0.5em; border: 2px solid #888; display: inline-block; }
.verdict.blocked { border-color: #c62828; color: #c62828; }
.nw, .id { white-space: nowrap; }
#signoff td { height: 2.6em; min-width: 10em; }
#signoff td:last-child { min-width: 16em; }
#signoff td:first-child { min-width: 0; font-weight: bold; }
@page { margin: 15mm; }
@media print {
  body { margin: 0; font-size: 9pt; color: #000; }
  h2 { break-after: avoid; }
  tr, #signoff, .verdict { break-inside: avoid; }
  thead { display: table-header-group; }
  th, tr.blocker td, tr.blocker th { background: none; }
  .id { white-space: normal; overflow-wrap: anywhere; }
}
"""


def render_html(plan: Plan) -> str:
    """One file, no scripts, no links: it reads the same in any browser, offline."""
    e = html.escape
    body: list[str] = []
    for i, s in enumerate(sections(plan)):
        tag = "h1" if i == 0 else "h2"
        body.append(f'<section id="{e(s.id)}"><{tag}>{_html_text(s.title)}</{tag}>')
        if i == 0:
            cls = "verdict blocked" if plan.has_blockers else "verdict"
            body.append(f'<p class="{cls}" id="verdict">{_html_text(plan.verdict())}</p>')
        body += [f"<p>{_html_text(p)}</p>" for p in s.intro]
        body += [_html_table(t) for t in s.tables]
        body.append("</section>")
    title = e(printable(f"p2c-upgrade plan: {database_label(plan.db)}"))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _html_table(t: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{_html_text(h)}</th>" for h in t.headers)
    rows = []
    for r in t.rows:
        cls = ' class="blocker"' if any(c == "blocker" or c == "BLOCKED" for c in r) else ""
        cells = "".join(_html_cell(c) for c in r)
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (f'<table id="{e(t.id)}"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _html_text(text: str) -> str:
    """Escaped (control characters too), with `code` spans as <code> (the only markup the
    report's texts use). No word breaks across lines: a browser may break a line after a hyphen,
    a slash or other punctuation, so every word holding such a character is one unbreakable
    span (`nw`); words longer than `_LONG` (record ids, long numbers) are `id` spans, which
    print (and only print) may wrap anywhere rather than cut off at the page's edge."""
    parts = _CODE.split(printable(text))
    return "".join(f"<code>{_words(p)}</code>" if i % 2 else _words(p)
                   for i, p in enumerate(parts))


def _words(text: str) -> str:
    return _WORD.sub(_word, text)


def _word(m: re.Match[str]) -> str:
    word = m.group()
    if len(word) > _LONG:
        return f'<span class="id">{html.escape(word)}</span>'
    if word.isalnum():
        return html.escape(word)
    return f'<span class="nw">{html.escape(word)}</span>'


def _html_cell(cell: Cell) -> str:
    lines = cell if isinstance(cell, list) else [cell]
    text = "<br>".join(_html_text(x) for x in lines)
    numeric = isinstance(cell, str) and cell.replace(",", "").isdigit()
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"
