"""Padded Markdown tables: the one table formatter (CLI output, reports, attack.md, benchmarks)."""
from __future__ import annotations


def markdown_table(rows: list[dict], cols: list[str]) -> str:
    """Rows of dicts as a column-aligned Markdown table; missing cells are blank."""
    w = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    head = "| " + " | ".join(c.ljust(w[c]) for c in cols) + " |"
    sep = "|" + "|".join("-" * (w[c] + 2) for c in cols) + "|"
    body = ["| " + " | ".join(str(r.get(c, "")).ljust(w[c]) for c in cols) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def markdown_rows(head, rows) -> str:
    """Rows of sequences under the column names ``head``, as :func:`markdown_table` formats them."""
    cols = list(head)
    if len(set(cols)) != len(cols):
        raise ValueError(f"duplicate column names in {cols}")
    return markdown_table([dict(zip(cols, (str(c) for c in r))) for r in rows], cols)
