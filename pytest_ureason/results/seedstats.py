"""The seed-format tables: derived coverage, judge-versus-detector agreement, reasoning x image.

Built from the ``ureason_*`` properties an item with a ``judge`` assertion carries (so they
are the same from junit files, a serial run or xdist workers):

* **coverage** per task: of the instances judged by the yes/no judge, how many also got
  derived assertions (:mod:`pytest_ureason.judge.derive`);
* **agreement** per task: over items where the judge decided and derived assertions ran, how
  often the judge's yes/no equals "every derived assertion passed", with both kinds of
  disagreement counted;
* **2x2** per condition and task, for ``reasoning`` / ``decontext`` items with a decided
  reasoning verdict (:func:`pytest_ureason.run.score.reasoning_verdict`) and a scored image:
  reasoning right/wrong x image right/wrong (the item passed or failed: by default the yes/no
  judge alone decides, derived assertions advise; see :func:`pytest_ureason.run.score.advisory`).
  "Reasoning right, image wrong" is the understanding-to-generation gap;
* **outcome rule**: whether derived assertions advised or decided, and how many items the
  judge passed while a derived assertion failed (with ``require`` those items fail);
* **UniSandbox mapping per ID** (:func:`mapping_pairs`), as the paper scores it: an ``ID``
  passes only when both its A image (instance ``<ID>-a``) and its B image (``<ID>-b``) pass,
  per condition, task (difficulty stays in the task and tag) and seed; each pair keeps its two
  per-image outcomes. A pair with a side missing (an unscorable released answer is skipped),
  or a side that errored, is *incomplete*: not scored.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from pytest_ureason import record

POOLED = "all"
CELLS = ("right_right", "right_wrong", "wrong_right", "wrong_wrong")


@dataclass(frozen=True)
class SeedRow:
    """What one item says for the seed-format tables."""

    condition: str
    task: str
    instance: str
    outcome: str
    judge: str | None  # yes / no / undecided
    derived: str | None  # passed / failed, None without derived assertions
    derived_count: int
    reasoning: str | None  # right / wrong / undecided, None when not a reasoning item
    derived_role: str | None = None  # advise / require, None without derived assertions
    seed: str = ""
    paper: str | None = None  # a paper protocol's image verdict: yes / no / error
    paper_protocol: str | None = None  # NAME#sha
    paper_reasoning: str | None = (
        None  # a paper protocol's reasoning verdict: right / wrong / error
    )
    paper_reasoning_protocol: str | None = None

    @classmethod
    def from_props(cls, props: dict[str, Any], outcome: str) -> SeedRow | None:
        """The row of an item, None when it has neither a judge nor a reasoning verdict."""
        judge = props.get(record.JUDGE_VERDICT)
        reasoning = props.get(record.REASONING_VERDICT)
        if judge is None and reasoning is None:
            return None
        derived = props.get(record.DERIVED_VERDICT)
        return cls(
            str(props.get(record.CONDITION, "")),
            str(props.get(record.TASK, "")),
            str(props.get(record.INSTANCE, "")),
            outcome,
            str(judge) if judge is not None else None,
            str(derived) if derived is not None else None,
            int(str(props.get(record.DERIVED_COUNT, 0) or 0)),
            str(reasoning) if reasoning is not None else None,
            str(role) if (role := props.get(record.DERIVED_ROLE)) is not None else None,
            str(props.get(record.SEED, "")),
            *(
                str(v) if (v := props.get(name)) is not None else None
                for name in (
                    record.PAPER_VERDICT,
                    record.PAPER_PROTOCOL,
                    record.PAPER_REASONING_VERDICT,
                    record.PAPER_REASONING_PROTOCOL,
                )
            ),
        )


def _by_task(rows: list[SeedRow]) -> dict[str, list[SeedRow]]:
    out: dict[str, list[SeedRow]] = {}
    for row in rows:
        out.setdefault(row.task, []).append(row)
    if out:
        out[POOLED] = list(rows)
    return out


def coverage(rows: list[SeedRow]) -> dict[str, dict[str, Any]]:
    """Per task: instances with a judge verdict, those with derived assertions, the share."""
    out: dict[str, dict[str, Any]] = {}
    for task, group in _by_task([r for r in rows if r.judge is not None]).items():
        judged = {(r.task, r.instance) for r in group}
        derived = {(r.task, r.instance) for r in group if r.derived_count > 0}
        out[task] = {
            "instances": len(judged),
            "derived": len(derived),
            "coverage": len(derived) / len(judged) if judged else 0.0,
        }
    return out


def agreement(rows: list[SeedRow]) -> dict[str, dict[str, Any]]:
    """Per task: judge yes/no against all-derived-passed, over items with both."""
    out: dict[str, dict[str, Any]] = {}
    both = [r for r in rows if r.judge in ("yes", "no") and r.derived is not None]
    for task, group in _by_task(both).items():
        agree = sum((r.judge == "yes") == (r.derived == "passed") for r in group)
        out[task] = {
            "items": len(group),
            "agree": agree,
            "rate": agree / len(group),
            "judge_yes_detector_no": sum(r.judge == "yes" and r.derived == "failed" for r in group),
            "judge_no_detector_yes": sum(r.judge == "no" and r.derived == "passed" for r in group),
        }
    return out


def two_by_two(rows: list[SeedRow]) -> dict[str, dict[str, dict[str, int]]]:
    """Per condition and task: reasoning right/wrong x image right/wrong counts, and how many
    reasoning verdicts were undecided."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    scored = [r for r in rows if r.reasoning is not None and r.outcome in ("passed", "failed")]
    conditions = sorted({r.condition for r in scored})
    for condition in conditions:
        cells: dict[str, dict[str, int]] = {}
        for task, group in _by_task([r for r in scored if r.condition == condition]).items():
            counts = dict.fromkeys((*CELLS, "undecided"), 0)
            for r in group:
                if r.reasoning not in ("right", "wrong"):
                    counts["undecided"] += 1
                    continue
                image = "right" if r.outcome == "passed" else "wrong"
                counts[f"{r.reasoning}_{image}"] += 1
            cells[task] = counts
        out[condition] = cells
    return out


def outcome_rule(rows: list[SeedRow]) -> dict[str, Any]:
    """How derived assertions entered the outcomes: their role(s), and the items passed by
    the judge alone while a derived assertion failed (advisory) or failed by a derived
    assertion the judge passed (required)."""
    roles = sorted({r.derived_role for r in rows if r.derived_role is not None})
    split = [r for r in rows if r.judge == "yes" and r.derived == "failed"]
    return {
        "derived_assertions": roles[0] if len(roles) == 1 else roles,
        "passed_with_failing_derived": sum(
            r.outcome == "passed" and r.derived_role == "advise" for r in split
        ),
        "failed_by_derived_only": sum(
            r.outcome == "failed" and r.derived_role == "require" for r in split
        ),
    }


#: Per kind of verdict: its two words, and the fields of ours, the paper's and its protocol.
_KINDS: dict[str, tuple[tuple[str, str], str, str, str]] = {
    "image": (("yes", "no"), "judge", "paper", "paper_protocol"),
    "reasoning": (("right", "wrong"), "reasoning", "paper_reasoning", "paper_reasoning_protocol"),
}
MAX_DISAGREEMENTS = 1000


def _paper_stats(group: list[SeedRow], kind: str) -> dict[str, Any]:
    (good, bad), ours_of, paper_of, _ = _KINDS[kind]
    ours = [getattr(r, ours_of) for r in group]
    paper = [getattr(r, paper_of) for r in group]
    judged = sum(p in (good, bad) for p in paper)
    both = [
        (o, p) for o, p in zip(ours, paper, strict=True) if o in (good, bad) and p in (good, bad)
    ]
    return {
        "items": len(group),
        "judged": judged,
        "ours_yes": sum(o == good for o in ours),
        "ours_decided": sum(o in (good, bad) for o in ours),
        "paper_yes": sum(p == good for p in paper),
        "ours_rate": sum(o == good for o in ours) / len(group) if group else 0.0,
        "paper_rate": sum(p == good for p in paper) / judged if judged else 0.0,
        "both_decided": len(both),
        "disagree": sum(o != p for o, p in both),
        "paper_errors": sum(p == "error" for p in paper),
    }


def paper_protocols(rows: list[SeedRow]) -> dict[str, Any]:
    """The papers' protocols beside ours: per kind (image, reasoning), protocol and task
    (``all`` pooled; ``by_condition`` split), our yes rate and the paper's, how often the two
    verdicts differ where both decided; and every item where ours and the paper's differ
    (ours undecided included)."""
    out: dict[str, Any] = {}
    disagreements: list[dict[str, Any]] = []
    for kind, (_, ours_of, paper_of, protocol_of) in _KINDS.items():
        mine = [r for r in rows if getattr(r, paper_of) is not None]
        if not mine:
            continue
        per: dict[str, Any] = {}
        for label in sorted({str(getattr(r, protocol_of)) for r in mine}):
            group = [r for r in mine if str(getattr(r, protocol_of)) == label]
            entry = {task: _paper_stats(g, kind) for task, g in _by_task(group).items()}
            entry["by_condition"] = {
                c: {
                    t: _paper_stats(g, kind)
                    for t, g in _by_task([r for r in group if r.condition == c]).items()
                }
                for c in sorted({r.condition for r in group})
            }
            per[label] = entry
            for r in group:
                ours, paper = getattr(r, ours_of), getattr(r, paper_of)
                if ours != paper and len(disagreements) < MAX_DISAGREEMENTS:
                    disagreements.append(
                        {
                            "kind": kind,
                            "protocol": label,
                            "condition": r.condition,
                            "task": r.task,
                            "instance": r.instance,
                            "ours": ours,
                            "paper": paper,
                        }
                    )
        out[kind] = per
    if out:
        out["disagreements"] = disagreements
    return out


def paper_lines(rows: list[SeedRow], shown: int = 20) -> list[str]:
    """Terminal lines of :func:`paper_protocols` (empty when no paper protocol ran)."""
    table = paper_protocols(rows)
    if not table:
        return []
    lines = [
        "paper protocols beside ours (yes/scored; disagree: both decided, verdicts differ):",
        f"  {'kind':9} {'protocol':24} {'condition':10} {'task':26} {'ours':>15} "
        f"{'paper':>15} {'disagree':>8} {'errors':>6}",
    ]
    for kind in ("image", "reasoning"):
        for label, entry in table.get(kind, {}).items():
            for condition, tasks in entry["by_condition"].items():
                for task, st in tasks.items():
                    ours = f"{st['ours_yes']}/{st['items']} {_pct(st['ours_rate'])}"
                    paper = f"{st['paper_yes']}/{st['judged']} {_pct(st['paper_rate'])}"
                    lines.append(
                        f"  {kind:9} {label:24} {condition:10} {task:26} {ours:>15} "
                        f"{paper:>15} {st['disagree']:>8} {st['paper_errors']:>6}"
                    )
    found = table["disagreements"]
    if found:
        listed = "; ".join(
            f"{d['kind']} {d['condition']} {d['task']}/{d['instance']}: {d['ours']} -> {d['paper']}"
            for d in found[:shown]
        )
        more = f" (and {len(found) - shown} more in --ureason-json)" if len(found) > shown else ""
        lines.append(f"disagreements (ours -> paper), {len(found)}: {listed}{more}")
    return lines


MAPPING_TASK = "unisandbox-mapping"
_SIDE_RE = re.compile(r"^(?P<id>.+)-(?P<side>[ab])$")


def mapping_pairs(rows: list[SeedRow]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per condition and mapping task (and pooled over ``all``): the IDs whose A and B images
    were both scored, how many passed both, the rate, the incomplete IDs, and each pair's
    per-image outcomes (``{"id", "seed", "a", "b", "passed"}``)."""
    sides: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for r in rows:
        found = _SIDE_RE.match(r.instance)
        if not r.task.startswith(MAPPING_TASK) or found is None:
            continue
        key = (r.condition, r.task, found.group("id"), r.seed)
        sides.setdefault(key, {})[found.group("side")] = r.outcome
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (condition, task, pid, seed), got in sorted(sides.items()):
        for name in (task, POOLED):
            cell = out.setdefault(condition, {}).setdefault(
                name, {"ids": 0, "passed": 0, "rate": 0.0, "incomplete": 0, "pairs": []}
            )
            a, b = got.get("a"), got.get("b")
            scored = a in ("passed", "failed") and b in ("passed", "failed")
            both = a == "passed" and b == "passed"
            if scored:
                cell["ids"] += 1
                cell["passed"] += int(both)
                cell["rate"] = cell["passed"] / cell["ids"]
            else:
                cell["incomplete"] += 1
            if name != POOLED:
                cell["pairs"].append(
                    {"id": pid, "seed": seed, "a": a, "b": b, "passed": both if scored else None}
                )
    for cells in out.values():
        if POOLED in cells:
            del cells[POOLED]["pairs"]
            if len(cells) == 2:  # one task: the pooled row repeats it
                del cells[POOLED]
    return out


def to_json(rows: list[SeedRow]) -> dict[str, Any]:
    """The three tables and the rows they come from (empty when no item had a judge or
    reasoning verdict)."""
    if not rows:
        return {}
    return {
        "derived_coverage": coverage(rows),
        "judge_detector_agreement": agreement(rows),
        "reasoning_image": two_by_two(rows),
        "outcome_rule": outcome_rule(rows),
        **({"paper_protocols": papers} if (papers := paper_protocols(rows)) else {}),
        "mapping_pairs": mapping_pairs(rows),
        "rows": [asdict(r) for r in rows],
    }


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def format_lines(rows: list[SeedRow]) -> list[str]:
    """Terminal lines of the three tables."""
    if not rows:
        return []
    rule = outcome_rule(rows)
    lines = []
    if rule["derived_assertions"] == "advise":
        lines.append(
            "outcome: the yes/no judge alone decides (derived assertions advise; "
            f"{rule['passed_with_failing_derived']} items passed with a failing derived "
            "assertion; --derived-assertions require makes them decide)"
        )
    elif rule["derived_assertions"] == "require":
        lines.append(
            "outcome: the yes/no judge and the derived assertions decide (--derived-assertions "
            f"require; {rule['failed_by_derived_only']} items failed by a derived assertion "
            "alone)"
        )
    lines.append("derived assertions (coverage) and judge vs detector (agreement):")
    lines.append(
        f"  {'task':26} {'derived/judged':>15} {'agree/both':>11} {'rate':>7} "
        f"{'judge yes,det no':>17} {'judge no,det yes':>17}"
    )
    agree = agreement(rows)
    for task, cov in coverage(rows).items():
        a = agree.get(task)
        both = f"{a['agree']}/{a['items']}" if a else "0/0"
        rate = _pct(a["rate"]) if a else "    -"
        lines.append(
            f"  {task:26} {cov['derived']:>6}/{cov['instances']:<8} {both:>11} {rate:>7} "
            f"{a['judge_yes_detector_no'] if a else 0:>17} "
            f"{a['judge_no_detector_yes'] if a else 0:>17}"
        )
    table = two_by_two(rows)
    if table:
        lines.append("reasoning x image (reasoning right/wrong x image right/wrong; gap = R+ I-):")
        lines.append(
            f"  {'condition':10} {'task':26} {'R+ I+':>6} {'R+ I-':>6} {'R- I+':>6} "
            f"{'R- I-':>6} {'undecided':>9}"
        )
        for condition, tasks in table.items():
            for task, c in tasks.items():
                lines.append(
                    f"  {condition:10} {task:26} {c['right_right']:>6} {c['right_wrong']:>6} "
                    f"{c['wrong_right']:>6} {c['wrong_wrong']:>6} {c['undecided']:>9}"
                )
    lines.extend(paper_lines(rows))
    pairs = mapping_pairs(rows)
    if pairs:
        lines.append("UniSandbox mapping per ID (passes when its A and B images both pass):")
        lines.append(
            f"  {'condition':10} {'task':26} {'IDs passed':>11} {'rate':>7} {'A only':>6} "
            f"{'B only':>6} {'incomplete':>10}"
        )
        for condition, per_task in pairs.items():
            for task, cell in per_task.items():
                sides: list[dict[str, Any]] = cell.get("pairs") or [
                    p for t, v in per_task.items() if t != POOLED for p in v["pairs"]
                ]  # pooled: the tasks' pairs
                a_only = sum(p["a"] == "passed" and p["b"] == "failed" for p in sides)
                b_only = sum(p["b"] == "passed" and p["a"] == "failed" for p in sides)
                rate = _pct(cell["rate"]) if cell["ids"] else "    -"
                lines.append(
                    f"  {condition:10} {task:26} {cell['passed']:>5}/{cell['ids']:<5} {rate:>7} "
                    f"{a_only:>6} {b_only:>6} {cell['incomplete']:>10}"
                )
    return lines
