"""The HTML report: one self-contained file with tables, charts and per-instance image grids.

Layout of the page: the merge problems (overlapping shards, missing items), one pass-rate table
per model (95% Wilson intervals), the paired gaps with exact McNemar p-values, a bar chart of
the pass rate per task and condition (matplotlib, embedded as an SVG data URI), then one row
per (model, instance, seed) with the images of every condition side by side, the detector boxes
drawn over them, the verdict reasons, the reasoning and the prompt drawn.

Scale: the rows and images travel as JSON inside the page and a small script renders one page
of rows at a time, so 10,000 items stay fast. Safety: every string from a model or a suite is
either escaped by :func:`html.escape` (server-side tables) or set with ``textContent`` by the
script; the JSON is embedded with ``<``, ``>`` and ``&`` escaped, and a Content-Security-Policy
allows only the page's own script (by hash).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason import record
from pytest_ureason.conditions import condition_order
from pytest_ureason.results.junit import Item, Results
from pytest_ureason.results.summary import GAPS, Summary, wilson

if TYPE_CHECKING:
    from pytest_ureason.results.irt import GapScore

OUTCOMES = record.OUTCOMES
IMAGE_MODES = ("embed", "link", "none")
#: Images up to this size are embedded as they are; larger ones as a WebP thumbnail.
EMBED_AS_IS = 24_000


def _json_for_script(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element early or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


class _Images:
    """Image table of the page: each stored image once, by path."""

    def __init__(self, mode: str, thumb: int, out_dir: Path):
        self.mode = mode
        self.thumb = thumb
        self.out_dir = out_dir
        self.ids: dict[Path, int] = {}
        self.table: list[list[Any]] = []  # [src, width, height]
        self.missing = 0

    def add(self, path: Path | None) -> int:
        """Index of the image in the table; -1 when there is none or it cannot be read."""
        if path is None or self.mode == "none":
            return -1
        if path in self.ids:
            return self.ids[path]
        entry = self._entry(path)
        if entry is None:
            self.missing += 1
            index = -1
        else:
            index = len(self.table)
            self.table.append(entry)
        self.ids[path] = index
        return index

    def _entry(self, path: Path) -> list[Any] | None:
        from PIL import Image, UnidentifiedImageError

        try:
            data = path.read_bytes()
            with Image.open(path) as img:
                width, height = img.size
                if self.mode == "link":
                    rel = os.path.relpath(path.resolve(), self.out_dir.resolve())
                    return [urllib.parse.quote(Path(rel).as_posix()), width, height]
                if len(data) <= EMBED_AS_IS and img.format in ("PNG", "JPEG", "WEBP"):
                    mime = f"image/{img.format.lower()}"
                else:
                    import io

                    small = img.convert("RGB")
                    small.thumbnail((self.thumb, self.thumb))
                    buf = io.BytesIO()
                    small.save(buf, format="WEBP", quality=80)
                    data, mime = buf.getvalue(), "image/webp"
        except (OSError, UnidentifiedImageError, ValueError):
            return None
        return [f"data:{mime};base64,{base64.b64encode(data).decode()}", width, height]


def _boxes(evidence: Any) -> list[list[float]]:
    """Boxes [x0, y0, x1, y1] in an evidence record (``boxes`` or ``box``)."""
    if not isinstance(evidence, dict):
        return []
    raw = evidence.get("boxes", [evidence["box"]] if "box" in evidence else [])
    out = []
    for box in raw if isinstance(raw, list) else []:
        if isinstance(box, list) and len(box) == 4 and all(isinstance(v, int | float) for v in box):
            out.append([float(v) for v in box])
    return out[:200]


def _verdicts(item: Item) -> list[list[Any]]:
    """[assertion, passed, reason, detector, boxes, other evidence] per verdict."""
    out = []
    for v in item.verdicts():
        evidence = v.get("evidence")
        rest = {}
        if isinstance(evidence, dict):
            rest = {k: x for k, x in evidence.items() if k != "boxes"}
        shown = json.dumps(rest, ensure_ascii=False, default=str) if rest else ""
        # an advisory (derived) verdict may fail while the item passes: say so beside it
        role = " [derived, advisory]" if v.get("advisory") else ""
        role = role or (" [derived]" if v.get("derived") else "")
        out.append(
            [
                str(v.get("assertion", "")) + role,
                1 if v.get("passed") else 0,
                str(v.get("reason", "")),
                str(v.get("detector", "")),
                _boxes(evidence),
                shown[:600],
            ]
        )
    return out


def page_data(
    results: Results,
    *,
    images: str = "embed",
    thumb: int = 256,
    out_dir: Path = Path("."),
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The JSON the page's script renders: rows, cells, interned texts and images."""
    table = _Images(images, thumb, out_dir)
    texts: dict[str, int] = {}

    def text(value: str | None) -> int:
        if not value:
            return -1
        return texts.setdefault(value, len(texts))

    rows: dict[tuple[str, str, str, int], dict[str, list[Any]]] = {}
    for n, item in enumerate(results.items, 1):
        r = item.record
        p = item.props
        rows.setdefault((r.model, r.task, r.instance, r.seed), {})[r.condition] = [
            OUTCOMES.index(r.outcome) if r.outcome in OUTCOMES else 2,
            table.add(item.image_path()),
            p.get("ureason_reason", ""),
            text(p.get("ureason_reasoning")),
            text(p.get("ureason_drawn_prompt")),
            _verdicts(item),
            p.get("ureason_answer", ""),
        ]
        if progress is not None and (n % 1000 == 0 or n == len(results.items)):
            progress(n, len(results.items))
    prompts = {
        (i.record.model, i.record.task, i.record.instance): i.props.get("ureason_prompt")
        for i in results.items
        if i.props.get("ureason_prompt")
    }
    return {
        "conditions": condition_order({i.record.condition for i in results.items}),
        "outcomes": list(OUTCOMES),
        "rows": [
            [model, task, inst, seed, text(prompts.get((model, task, inst))), cells]
            for (model, task, inst, seed), cells in sorted(rows.items())
        ],
        "texts": list(texts),
        "images": table.table,
        "missing_images": table.missing,
    }


def _chart(summary: Summary, model: str, conditions: list[str]) -> str:
    """A bar chart of pass rates per task and condition, as an ``<img>`` with an SVG data URI."""
    import io

    try:
        import matplotlib
    except ImportError:
        return "<p>charts need matplotlib: pip install 'pytest-ureason[report]'</p>"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [*sorted({t for m, _, t in summary.cells if m == model and t != "all"}), "all"]
    conds = [c for c in conditions if any(k[:2] == (model, c) for k in summary.cells)]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(tasks) * max(1, len(conds)) ** 0.5), 3.2))
    width = 0.8 / max(1, len(conds))
    for j, cond in enumerate(conds):
        xs, ys, lo, hi = [], [], [], []
        for i, task in enumerate(tasks):
            cell = summary.cells.get((model, cond, task))
            if cell is None or cell.rate is None:
                continue
            a, b = wilson(cell.passed, cell.scored)
            xs.append(i + (j - (len(conds) - 1) / 2) * width)
            ys.append(100 * cell.rate)
            lo.append(100 * (cell.rate - a))
            hi.append(100 * (b - cell.rate))
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=cond)
    ax.set_xticks(range(len(tasks)), tasks, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("pass rate % (95% Wilson)")
    ax.legend(
        fontsize=8, ncols=max(1, len(conds)), loc="lower left", bbox_to_anchor=(0, 1), frameon=False
    )
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    uri = "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()
    alt = f"pass rate per task and condition, {html.escape(model)}"
    return f'<img class="chart" alt="{alt}" src="{uri}">'


def _pct(summary: Summary, key: tuple[str, str, str]) -> str:
    cell = summary.cells.get(key)
    if cell is None or cell.rate is None:
        return "<td>-</td>"
    lo, hi = wilson(cell.passed, cell.scored)
    return (
        f"<td><b>{100 * cell.rate:.1f}%</b> <small>[{100 * lo:.1f}-{100 * hi:.1f}] "
        f"{cell.passed}/{cell.scored}</small></td>"
    )


def summary_html(summary: Summary, conditions: list[str], charts: bool = True) -> str:
    """Pass-rate tables, gap tables and charts, every string escaped."""
    e = html.escape
    parts: list[str] = []
    for model in sorted({m for m, _, _ in summary.cells}):
        conds = [c for c in conditions if any(k[:2] == (model, c) for k in summary.cells)]
        tasks = [*sorted({t for m, _, t in summary.cells if m == model and t != "all"}), "all"]
        parts.append(f"<h2>model {e(model)}</h2>")
        head = "".join(f"<th>{e(c)}</th>" for c in conds)
        parts.append(f'<table class="rates"><tr><th>task</th>{head}</tr>')
        for task in tasks:
            cells = "".join(_pct(summary, (model, c, task)) for c in conds)
            parts.append(f"<tr><td>{e(task)}</td>{cells}</tr>")
        parts.append("</table>")
        gaps = [g for g in summary.gaps if g.model == model]
        if gaps:
            parts.append(
                '<table class="gaps"><tr><th>gap</th><th>task</th><th>pairs</th>'
                "<th>fixed</th><th>broken</th><th>diff (pts)</th><th>McNemar p</th></tr>"
            )
            order = {pair: i for i, pair in enumerate(GAPS)}
            for g in sorted(
                gaps, key=lambda g: (order.get((g.better, g.worse), 99), g.task == "all", g.task)
            ):
                kind = " bidirectional" if g.better == "understand" else ""
                parts.append(
                    f'<tr class="gap{kind}"><td>{e(g.better)} - {e(g.worse)}</td>'
                    f"<td>{e(g.task)}</td><td>{g.pairs}</td><td>{g.fixed}</td>"
                    f"<td>{g.broken}</td><td>{100 * (g.diff or 0):+.1f}</td>"
                    f"<td>{g.p_value:.3g}</td></tr>"
                )
            parts.append("</table>")
        if charts:
            parts.append(_chart(summary, model, conditions))
    return "\n".join(parts)


def gap_score_html(scores: dict[str, list[GapScore]]) -> str:
    """The MIRT Gap Score table (understand vs each generation condition), escaped."""
    if not scores:
        return ""
    e = html.escape
    rows = [
        "<h2>Gap Score (2D 2PL item response model)</h2>",
        '<table class="gapscore"><tr><th>model</th><th>understand vs</th><th>theta_u</th>'
        "<th>theta_g</th><th>gap [95% interval]</th><th>accuracy gap (pts)</th>"
        "<th>items</th></tr>",
    ]
    for condition, per_model in scores.items():
        for s in per_model:
            acc = "-" if s.accuracy_gap is None else f"{100 * s.accuracy_gap:+.1f}"
            rows.append(
                f"<tr><td>{e(s.model)}</td><td>{e(condition)}</td>"
                f"<td>{s.understanding:+.2f}</td><td>{s.generation:+.2f}</td>"
                f"<td>{s.gap:+.2f} [{s.gap_ci[0]:+.2f}, {s.gap_ci[1]:+.2f}]</td>"
                f"<td>{acc}</td><td>{s.items[0]}+{s.items[1]}</td></tr>"
            )
    rows.append("</table>")
    return "\n".join(rows)


def _asset(name: str) -> str:
    return (resources.files("pytest_ureason") / "data" / name).read_text(encoding="utf-8")


def build_html(
    results: Results,
    *,
    title: str = "ureason report",
    images: str = "embed",
    thumb: int = 256,
    out_dir: Path = Path("."),
    charts: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """The whole page as one string."""
    from pytest_ureason.results.gapscore import gap_scores

    records = results.records()
    summary = Summary.from_records(records)
    gap_table = gap_score_html(gap_scores(records))
    summary_part = summary_html(summary, condition_order({r.condition for r in records}), charts)
    data = page_data(results, images=images, thumb=thumb, out_dir=out_dir, progress=progress)
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
        "img-src data: file: http: https:"
    )
    e = html.escape
    problems = "".join(f"<li>{e(p)}</li>" for p in results.problems())
    files = ", ".join(e(f) for f in results.files)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
            f"<title>{e(title)}</title><style>{_asset('report.css')}</style></head><body>",
            f'<h1>{e(title)}</h1><p class="meta">{len(results.items)} items from {files}; '
            f"built {stamp}</p>",
            f'<ul class="problems">{problems}</ul>' if problems else "",
            f'<section id="summary">{summary_part}{gap_table}</section>',
            '<section id="items"><h2>items</h2><div id="controls"></div>',
            '<div id="pager"></div><div id="rows"></div></section>',
            f'<script type="application/json" id="ureason-data">{_json_for_script(data)}</script>',
            f"<script>{script}</script></body></html>\n",
        ]
    )
