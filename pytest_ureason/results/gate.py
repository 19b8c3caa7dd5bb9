"""Release gates: compare a run with a stored baseline, instance by instance.

A baseline (``goldens/baselines/NAME.json``) records, for one model, the outcome of every suite
item of a run, grouped by suite with the suite's version, and the model's fingerprint. A gate
pairs each item of this run with the same item (task, instance, condition, seed) in the
baseline and, per condition, counts the pairs that broke (passed before, not now) and that got
fixed. An exact McNemar test on those discordant pairs decides:

* **regression** (the gate fails): more broke than got fixed, ``p < alpha``, and the pass rate
  over the pairs dropped by at least ``min_effect``;
* **improvement** (signalled, never a failure): the same the other way round; refresh the
  baseline (``--ureason-regen-baseline``) so the next gate holds the new level.

Every flipped item is listed either way. Items of a suite whose version differs from the
baseline's are not compared (the gate says so); when nothing at all can be compared, the gate
fails rather than pass on no evidence.

The gate fails closed on a baseline it cannot trust:

* **coverage**: items of this run that the baseline does not hold (a suite or items added, or
  entries deleted from the file) are counted and the first ones named; they fail the gate
  unless ``--gate-allow-new`` (ini ``ureason_gate_allow_new``) accepts them as new items.
* **integrity**: a baseline carries ``digest``, the sha256 of the canonical JSON (sorted keys,
  no spaces, ASCII) of every other field, items and ``pass_rates`` included; :meth:`Baseline.read`
  recomputes it and the pass rates, so a hand edit is refused. A baseline of format version 1
  (written before digests) is refused too: regenerate it with ``--ureason-regen-baseline``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_ureason import record
from pytest_ureason.conditions import condition_order
from pytest_ureason.files import atomic_write
from pytest_ureason.results.junit import Item
from pytest_ureason.results.summary import mcnemar_exact

FORMAT = "pytest-ureason-baseline"
FORMAT_VERSION = 2  # 2: with "digest" (version 1 files are refused: regenerate them)
OUTCOMES = record.OUTCOMES


REGEN_HINT = "regenerate it with --ureason-regen-baseline"
#: Items of this run missing from the baseline that a gate names (the rest are counted).
MAX_NEW_LISTED = 20


class BaselineError(Exception):
    """A baseline file that cannot be read or written, naming the file and the field."""


def digest_of(data: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a baseline's fields other than ``digest``."""
    body = {k: v for k, v in data.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _pass_rates(suites: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per condition, the items passed and scored (skips are not scored)."""
    rates: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry in suites.values():
        for item_id, outcome in entry["items"].items():
            if outcome != "skipped":
                cond = _condition(item_id)
                rates[cond][0] += outcome == "passed"
                rates[cond][1] += 1
    return {c: {"passed": p, "scored": n} for c, (p, n) in sorted(rates.items())}


@dataclass
class Baseline:
    """Outcomes of one model's run, per suite (with its version)."""

    model: str
    fingerprints: list[str]
    suites: dict[str, dict[str, Any]]  # name -> {"version": str, "items": {item id: outcome}}
    created: str = ""

    @classmethod
    def from_items(cls, items: list[Item], model: str) -> Baseline:
        """The baseline of ``model``'s items."""
        suites: dict[str, dict[str, Any]] = {}
        prints = set()
        for item in items:
            if item.props.get("ureason_model") != model:
                continue
            name, version = item.suite() or ("", "")
            entry = suites.setdefault(name, {"version": version, "items": {}})
            entry["items"][item.item_id] = item.record.outcome
            if item.props.get("ureason_fingerprint"):
                prints.add(item.props["ureason_fingerprint"])
        for entry in suites.values():
            entry["items"] = dict(sorted(entry["items"].items()))
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(model, sorted(prints), dict(sorted(suites.items())), stamp)

    def to_json(self) -> dict[str, Any]:
        """The file's JSON form (with pass rates per condition, for a reader, and the digest
        of everything else)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created": self.created,
            "model": self.model,
            "fingerprints": self.fingerprints,
            "pass_rates": _pass_rates(self.suites),
            "suites": self.suites,
        }
        data["digest"] = digest_of(data)
        return data

    def write(self, path: Path) -> None:
        """Write atomically.

        Raises:
            BaselineError: the file cannot be written.
        """
        try:
            atomic_write(path, (json.dumps(self.to_json(), indent=1) + "\n").encode())
        except OSError as exc:
            raise BaselineError(f"{path}: cannot write the baseline: {exc}") from None

    @classmethod
    def read(cls, path: Path) -> Baseline:
        """Read and validate a baseline file.

        Raises:
            BaselineError: naming the file and the field that is wrong.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BaselineError(
                f"{path}: cannot read the baseline: {exc.strerror or exc}"
            ) from None
        except ValueError as exc:
            raise BaselineError(f"{path}: not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BaselineError(f"{path}: not a pytest-ureason baseline (field 'format')")
        if data.get("version") == 1:
            raise BaselineError(
                f"{path}: an old baseline (format version 1, without a digest) cannot be "
                f"trusted: {REGEN_HINT}"
            )
        if data.get("version") != FORMAT_VERSION:
            raise BaselineError(
                f"{path}: field 'version': {data.get('version')!r} is not {FORMAT_VERSION}"
            )
        model, suites = data.get("model"), data.get("suites")
        if not isinstance(model, str) or not model:
            raise BaselineError(f"{path}: field 'model' must be a non-empty string")
        if not isinstance(suites, dict):
            raise BaselineError(f"{path}: field 'suites' must be an object")
        for name, entry in suites.items():
            where = f"{path}: field suites[{name!r}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("items"), dict):
                raise BaselineError(f"{where}: must be an object with 'version' and 'items'")
            if not isinstance(entry.get("version"), str):
                raise BaselineError(f"{where}.version: must be a string")
            for item_id, outcome in entry["items"].items():
                if outcome not in OUTCOMES or "[" not in item_id:
                    raise BaselineError(f"{where}.items[{item_id!r}]: bad outcome {outcome!r}")
        prints = data.get("fingerprints", [])
        if not isinstance(prints, list) or not all(isinstance(p, str) for p in prints):
            raise BaselineError(f"{path}: field 'fingerprints' must be a list of strings")
        stored = data.get("digest")
        if not isinstance(stored, str) or not stored:
            raise BaselineError(f"{path}: field 'digest' is missing: {REGEN_HINT}")
        if stored != digest_of(data):
            raise BaselineError(
                f"{path}: field 'digest' does not match the file's content (edited by hand or "
                f"damaged): {REGEN_HINT}"
            )
        if data.get("pass_rates") != _pass_rates(suites):
            raise BaselineError(
                f"{path}: field 'pass_rates' disagrees with the items: {REGEN_HINT}"
            )
        return cls(model, list(prints), suites, str(data.get("created", "")))


def _condition(item_id: str) -> str:
    """The condition of ``task/instance[condition-sSEED]``."""
    inside = item_id.rpartition("[")[2].rstrip("]")
    return inside.rpartition("-s")[0] or inside


@dataclass
class ConditionGate:
    """The comparison of one condition."""

    condition: str
    pairs: int = 0
    before: int = 0  # passed in the baseline
    after: int = 0  # passed in this run
    skipped: int = 0  # baseline passes that this run skipped (counted as broken)
    broken: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    p_value: float = 1.0
    status: str = "unchanged"  # unchanged | regression | improvement | not significant

    @property
    def effect(self) -> float:
        """Change of the pass rate over the pairs (this run - baseline)."""
        return (len(self.fixed) - len(self.broken)) / self.pairs if self.pairs else 0.0


@dataclass
class GateResult:
    """A whole gate: per condition, plus what could not be compared."""

    baseline: str
    alpha: float
    min_effect: float
    conditions: list[ConditionGate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compared: int = 0
    new: list[str] = field(default_factory=list)  # items of this run the baseline lacks
    allow_new: bool = False  # whether those are accepted (--gate-allow-new)

    @property
    def uncovered(self) -> bool:
        """Whether the baseline covers less than the run, and that is not accepted."""
        return bool(self.new) and not self.allow_new

    @property
    def failed(self) -> bool:
        """Whether the gate fails the session."""
        return (
            self.compared == 0
            or self.uncovered
            or any(c.status == "regression" for c in self.conditions)
        )

    @property
    def improved(self) -> bool:
        """Whether a condition improved significantly (refresh the baseline)."""
        return any(c.status == "improvement" for c in self.conditions)


def compare(
    baseline: Baseline,
    items: list[Item],
    *,
    alpha: float = 0.05,
    min_effect: float = 0.02,
    source: str = "",
    model: str | None = None,
    allow_new: bool = False,
) -> GateResult:
    """Gate the items of ``model`` (default: the baseline's model) against ``baseline``.

    A release gate may compare a new model with an old one's baseline: the names need not
    match, and a note says when they do not. Items of this run that the baseline lacks fail
    the gate unless ``allow_new``.
    """
    result = GateResult(source, alpha, min_effect, allow_new=allow_new)
    model = model or baseline.model
    run = Baseline.from_items(items, model)
    if not run.suites:
        result.notes.append(f"this run has no items of model {model!r}")
        return result
    if model != baseline.model:
        result.notes.append(f"the baseline is of model {baseline.model!r}, this run {model!r}")
    if baseline.fingerprints and run.fingerprints and run.fingerprints != baseline.fingerprints:
        result.notes.append(
            f"model fingerprint {', '.join(run.fingerprints)} differs from the baseline's "
            f"{', '.join(baseline.fingerprints)} (model, weights or settings changed)"
        )
    gates: dict[str, ConditionGate] = {}
    for name in sorted(set(run.suites) | set(baseline.suites)):
        now, then = run.suites.get(name), baseline.suites.get(name)
        label = name or "(suite not recorded)"
        if then is None:
            new = list(now["items"]) if now else []
            result.notes.append(f"suite {label}: not in the baseline ({len(new)} items new)")
            result.new += new
            continue
        if now is None:
            result.notes.append(f"suite {label}: in the baseline but not run")
            continue
        if now["version"] != then["version"]:
            result.notes.append(
                f"suite {label}: version {now['version']} here, {then['version']} in the "
                "baseline: not compared (refresh the baseline with --ureason-regen-baseline)"
            )
            continue
        absent = len(set(then["items"]) - set(now["items"]))
        if absent:
            result.notes.append(
                f"suite {label}: {absent} baseline items not in this run (not compared)"
            )
        result.new += [i for i in now["items"] if i not in then["items"]]
        for item_id, outcome in now["items"].items():
            old = then["items"].get(item_id)
            # A baseline skip carries no verdict to compare with. A pass that this run skips
            # (an adapter now Unsupported, a detector gone) is a loss, not a blank.
            if old is None or old == "skipped" or (outcome == "skipped" and old != "passed"):
                continue
            g = gates.setdefault(_condition(item_id), ConditionGate(_condition(item_id)))
            g.skipped += outcome == "skipped"
            g.pairs += 1
            g.before += old == "passed"
            g.after += outcome == "passed"
            if old == "passed" and outcome != "passed":
                g.broken.append(item_id)
            elif old != "passed" and outcome == "passed":
                g.fixed.append(item_id)
    for g in gates.values():
        g.p_value = mcnemar_exact(len(g.fixed), len(g.broken))
        if not (g.fixed or g.broken):
            g.status = "unchanged"
        elif g.p_value < alpha and -g.effect >= min_effect and len(g.broken) > len(g.fixed):
            g.status = "regression"
        elif g.p_value < alpha and g.effect >= min_effect and len(g.fixed) > len(g.broken):
            g.status = "improvement"
        else:
            g.status = "not significant"
        result.compared += g.pairs
    order = condition_order(set(gates))
    result.conditions = [gates[c] for c in order]
    if result.compared == 0:
        result.notes.append("no item could be compared with the baseline: the gate fails")
    return result


def format_gate(result: GateResult, max_flips: int = 40) -> list[str]:
    """Terminal lines of a gate."""
    lines = [
        f"gate against {result.baseline} (exact McNemar, alpha {result.alpha:g}, "
        f"minimum effect {100 * result.min_effect:g} pts)"
    ]
    lines += [f"note: {n}" for n in result.notes]
    for g in result.conditions:
        lines.append(
            f"{g.condition}: {g.before}/{g.pairs} -> {g.after}/{g.pairs} passed "
            f"({100 * g.effect:+.1f} pts), {len(g.broken)} broke, {len(g.fixed)} fixed, "
            f"p={g.p_value:.3g}: {g.status.upper()}"
            + (f" ({g.skipped} baseline passes skipped in this run)" if g.skipped else "")
        )
        for kind, flips in (("broke", g.broken), ("fixed", g.fixed)):
            for item_id in flips[:max_flips]:
                lines.append(f"  {kind}: {item_id}")
            if len(flips) > max_flips:
                lines.append(f"  {kind}: ... and {len(flips) - max_flips} more")
    if result.new:
        lines.append(
            f"{len(result.new)} items of this run are not in the baseline: "
            + (
                "accepted as new (--gate-allow-new)"
                if result.allow_new
                else "the baseline covers less than the run, the gate fails (regenerate it with "
                "--ureason-regen-baseline, or accept new items with --gate-allow-new)"
            )
        )
        for item_id in result.new[:MAX_NEW_LISTED]:
            lines.append(f"  new: {item_id}")
        if len(result.new) > MAX_NEW_LISTED:
            lines.append(f"  new: ... and {len(result.new) - MAX_NEW_LISTED} more")
    if result.failed:
        lines.append("GATE FAILED")
    elif result.improved:
        lines.append(
            "GATE PASSED with a significant improvement: refresh the baseline "
            "(--ureason-regen-baseline) so the gate holds the new level"
        )
    else:
        lines.append("GATE PASSED")
    return lines
