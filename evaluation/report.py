"""Show results: a terminal table, the JSON document, and a plot of retention (or numbers kept)
and accuracy vs rate."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# (header, key, format) of the terminal table, left to right.
_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("method", "method", "s"),
    ("rate", "rate", "rate"),
    ("kept words", "ratio_words", "pct"),
    ("kept tokens", "ratio_tokens", "pct"),
    ("x", "compression_tokens", "x"),
    ("on rate", "rate_within_10pct", "pct"),
    ("forced>budget", "forced_over_budget", "pct"),
    ("answer kept", "answer_retention", "pct"),
    ("numbers kept", "numbers_kept", "pct"),
    ("ms p50", "condense_ms_p50", "ms"),
    ("acc full", "accuracy_full", "pct"),
    ("acc condensed", "accuracy_condensed", "pct"),
    ("n", "n", "d"),
)


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100.0 * value:.1f}%"
    if kind == "rate":
        return f"{value:g}"
    if kind == "x":
        return f"{value:.1f}x"
    if kind == "ms":
        return f"{value:.1f}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as an aligned text table; columns no row has (e.g. accuracy without --answer) are left out."""
    columns = [c for c in _COLUMNS if any(c[1] in row for row in rows)]
    body = [[_cell(row.get(key), kind) for _, key, kind in columns] for row in rows]
    widths = [max([len(title)] + [len(line[i]) for line in body]) for i, (title, _, _) in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)])

    out = [line([c[0] for c in columns]), line(["-" * w for w in widths])]
    out.extend(line(cells) for cells in body)
    return "\n".join(out)


def to_json(rows: Sequence[dict[str, Any]], config: dict[str, Any]) -> str:
    """``{"config": {...}, "results": [row, ...]}``, indented, keys in a stable order."""
    return json.dumps({"config": config, "results": list(rows)}, indent=2, ensure_ascii=False)


# Image formats matplotlib writes by itself; others it lists need more (pgf: a LaTeX install) or
# are no image a reader opens (raw, rgba).
_PLOT_FORMATS = frozenset({"png", "svg", "pdf", "jpg", "jpeg"})


def plot_formats() -> set[str]:
    """File name endings ``plot`` can write: png, svg, pdf and jpg, as far as this matplotlib has them."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backend_bases import FigureCanvasBase

    return set(FigureCanvasBase.get_supported_filetypes()) & _PLOT_FORMATS


def plot(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """Write ``figure(rows, title)`` to ``path`` in the format its name ends in, atomically (a
    failed run leaves the old file, or none)."""
    import io

    from splitinfer.sdk._bundle import atomic_write

    path = Path(path)
    fig = figure(rows, title)  # selects the Agg backend before pyplot is imported
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=path.suffix.lower().lstrip(".") or "png", dpi=110)
    finally:
        plt.close(fig)
    atomic_write(path, buffer.getvalue())


# (row key, y-axis label) of the first panel, the first any row has a value for: answer retention,
# or for problems whose answers are computed, not in the context (gsm8k), the numbers kept.
_FIRST_PANEL = (
    ("answer_retention", "answer kept in the condensed context"),
    ("numbers_kept", "numbers kept in the condensed context"),
)


def figure(rows: Sequence[dict[str, Any]], title: str = "") -> Any:
    """Answer retention (or, when no row has one, numbers kept) and condensed accuracy when
    measured, vs requested rate, one line per method: a matplotlib figure (Agg backend, so it works
    without a display).

    ``none`` (no rate) is drawn as a dashed horizontal line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(
        (panel for panel in _FIRST_PANEL if any(row.get(panel[0]) is not None for row in rows)),
        _FIRST_PANEL[0],
    )
    panels = [first]
    if any(row.get("accuracy_condensed") is not None for row in rows):
        panels.append(("accuracy_condensed", "extractive answer accuracy"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.2), squeeze=False, sharex=True)
    methods = list(dict.fromkeys(row["method"] for row in rows))
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        for method in methods:
            points = [(r["rate"], r[key]) for r in rows if r["method"] == method and r.get(key) is not None]
            if not points:
                continue
            if method == "none":
                ax.axhline(100.0 * points[0][1], linestyle="--", color="grey", label="none (full context)")
                continue
            points.sort()
            color = f"C{methods.index(method)}"
            ax.plot(
                [p[0] for p in points], [100.0 * p[1] for p in points], marker="o", color=color, label=method
            )
        ax.set_xlabel("requested rate (share of tokens kept)")
        ax.set_ylabel(f"{label} (%)")
        ax.set_ylim(0, 102)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def format_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a GitHub-flavoured Markdown table (same columns as :func:`format_table`)."""
    columns = [c for c in _COLUMNS if any(c[1] in row for row in rows)]
    lines = [
        "| " + " | ".join(title for title, _, _ in columns) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key), kind) for _, key, kind in columns) + " |")
    return "\n".join(lines)
