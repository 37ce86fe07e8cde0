"""A GitHub-Markdown table checker for the reports (used by the report tests).

Every block of lines starting with ``|`` must render as one table (markdown-it-py with the GFM table
rule) and every body row must have as many cells as the header: an unescaped ``|`` inside a cell
(``|x|``) either breaks the table or shifts the row.
"""

from __future__ import annotations

import re

_PIPE = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    s = s[:-1] if s.endswith("|") and not s.endswith("\\|") else s
    return _PIPE.split(s)


def table_problems(text: str) -> tuple[list[str], int]:
    """(problems, number of tables) of a Markdown text."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rendered = {tuple(t.map) for t in tokens if t.type == "table_open"}
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].lstrip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            blocks.append((i, j))
            i = j
        else:
            i += 1
    problems = []
    for a, b in blocks:
        if (a, b) not in rendered:
            problems.append(f"lines {a + 1}-{b} do not render as a table: {lines[a][:100]}")
            continue
        n = len(_cells(lines[a]))
        for k in range(a + 2, b):
            if len(_cells(lines[k])) != n:
                problems.append(f"line {k + 1} has {len(_cells(lines[k]))} cells, its header {n}: {lines[k][:100]}")
    return problems, len(blocks)
