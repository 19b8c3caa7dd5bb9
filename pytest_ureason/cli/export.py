"""``ureason export --passing RESULTS... --out DIR``: passing generations as a training set.

For rejection-sampling self-training (UniSandbox's STARS: keep only the generations that pass
their checks, fine-tune on them). Layout of ``DIR``::

    DIR/train.jsonl           one JSON object per passing generation (below)
    DIR/images/ab/ab12...png  the images, named by the SHA-256 of their bytes
    DIR/dataset.json          what was exported from where, and the field list

Each line of ``train.jsonl``: ``id`` (``task/instance[condition-sSEED]``), ``model``,
``fingerprint``, ``condition``, ``task``, ``instance``, ``seed``, ``suite``, ``prompt`` (the
instance's prompt), ``reasoning`` (null for ``direct``), ``drawn_prompt`` (what the image was
drawn from: the prompt, or the refined prompt for ``decontext``), ``image`` (path relative to
``DIR``), ``verdicts`` (the assertions it passed, with evidence). Lines are sorted by id and
model, so an export is reproducible; exporting again into the same folder replaces it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

FIELDS = (
    "id",
    "model",
    "fingerprint",
    "condition",
    "task",
    "instance",
    "seed",
    "suite",
    "prompt",
    "reasoning",
    "drawn_prompt",
    "image",
    "verdicts",
)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``ureason export``."""
    p = sub.add_parser("export", help="write passing generations as a JSONL + images training set")
    p.add_argument("--passing", nargs="+", required=True, metavar="RESULTS", help="junit XML files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--condition", action="append", help="only these conditions (repeatable)")
    p.set_defaults(fn=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Export the passing generations."""
    from pytest_ureason.files import atomic_write
    from pytest_ureason.results.junit import ResultsError, load_results

    try:
        results = load_results([Path(p) for p in args.passing])
    except ResultsError as exc:
        print(f"ureason export: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    rows: list[dict[str, Any]] = []
    unreadable: list[str] = []
    wanted = set(args.condition or [])
    try:
        for item in results.items:
            r = item.record
            if r.outcome != "passed" or (wanted and r.condition not in wanted):
                continue
            source = item.image_path()
            if source is None:
                continue  # a text-only item (e.g. understand) has no image to train on
            try:
                data = source.read_bytes()
            except OSError as exc:
                unreadable.append(f"{item.item_id}: {source}: {exc.strerror or exc}")
                continue
            if not data.startswith(b"\x89PNG"):
                unreadable.append(f"{item.item_id}: {source}: not a PNG image")
                continue
            digest = hashlib.sha256(data).hexdigest()
            rel = Path("images", digest[:2], f"{digest}.png")
            if not (out / rel).exists():
                atomic_write(out / rel, data)
            suite = item.suite()
            rows.append(
                {
                    "id": item.item_id,
                    "model": r.model,
                    "fingerprint": item.props.get("ureason_fingerprint"),
                    "condition": r.condition,
                    "task": r.task,
                    "instance": r.instance,
                    "seed": r.seed,
                    "suite": f"{suite[0]}@{suite[1]}" if suite else None,
                    "prompt": item.props.get("ureason_prompt"),
                    "reasoning": item.props.get("ureason_reasoning"),
                    "drawn_prompt": item.props.get("ureason_drawn_prompt"),
                    "image": rel.as_posix(),
                    "verdicts": item.verdicts(),
                }
            )
        rows.sort(key=lambda row: (row["id"], row["model"]))
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        atomic_write(out / "train.jsonl", lines.encode("utf-8"))
        meta = {
            "format": "pytest-ureason-selftrain",
            "version": 1,
            "sources": results.files,
            "examples": len(rows),
            "fields": list(FIELDS),
            "skipped_unreadable": unreadable,
        }
        atomic_write(out / "dataset.json", (json.dumps(meta, indent=1) + "\n").encode())
        _prune_images(out, {row["image"] for row in rows})
    except OSError as exc:
        print(f"ureason export: cannot write to {out}: {exc}", file=sys.stderr)
        return 2
    for line in unreadable:
        print(f"not exported: {line}", file=sys.stderr)
    print(f"{len(rows)} passing generations exported to {out}/train.jsonl")
    return 0


def _prune_images(out: Path, kept: set[str]) -> None:
    """Remove images of an earlier export that this one no longer lists (only files named as
    this module names them, ``images/ab/<sha256>.png``; nothing else in the folder is touched)."""
    for path in out.glob("images/??/*.png"):
        rel = path.relative_to(out).as_posix()
        if rel not in kept and len(path.stem) == 64 and path.stem.startswith(path.parent.name):
            path.unlink()
