"""Importers of released benchmark file formats, one module per format.

A suite file in a known external format loads as a suite without conversion: :func:`sniff`
looks at the first entry of a JSON-lines file and names the importer that reads it.

* ``geneval`` (:mod:`pytest_ureason.formats.geneval`): GenEval's ``evaluation_metadata.jsonl``.
"""

from __future__ import annotations

from typing import Any


def sniff(first: Any) -> str | None:
    """The format of a JSON-lines file from its first entry, or None for our own format."""
    if isinstance(first, dict) and "id" not in first and "generator" not in first:
        if "tag" in first and "prompt" in first and "include" in first:
            return "geneval"
    return None
