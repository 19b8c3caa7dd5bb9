"""What a judge server receives under ``--judge-protocol ureason``, against the script's template.

    python benchmarks/seed_protocols.py ../shared/seed-data                  # stand-in scripts
    python benchmarks/seed_protocols.py ../shared/seed-data --scripts DIR    # the released ones
    python benchmarks/seed_protocols.py ../shared/seed-data --tasks arithmetic,code

Starts an OpenAI-compatible judge server on 127.0.0.1 that records every request (and answers
``<answer>Yes</answer>``), runs ``pytest SEED/ureason/<task>.jsonl direct_<task>.jsonl --model
reference --judge http --judge-protocol ureason=VISION --text-judge http
--text-judge-protocol ureason=TEXT`` on the real UReason records, and compares every prompt
the server received under the paper's protocol with the script's template filled with the
record (``expect_en`` for the image judge; the record's prompt, the model's reasoning and
``expect_en`` for the reasoning judge), character for character. It also checks each call's
``max_tokens`` / ``temperature`` against the script's and that every ``decontext`` image was
drawn from the paper's extraction of the reasoning.

``DIR`` holds ``qwen_vision_batch.py`` and ``qwen_text_batch.py`` (directly, or under
``evaluation/``); without it, stand-ins written here (our own words, the released scripts'
structure) are used, so the measurement runs anywhere. :func:`protocol_check` returns the
table's lines (``benchmarks/seed_real.py`` calls it when present).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_ureason.conditions import extract_ureason  # noqa: E402
from pytest_ureason.judge.paper_protocols import PaperProtocol, load  # noqa: E402

TASKS = ("code", "arithmetic", "spatial", "attribute", "text")
SERVED = "loopback-judge"

STAND_IN_VISION = '''\
from vllm import LLM, SamplingParams

EVALUATION_TEMPLATE = """
(stand-in) Look at the picture and decide whether it shows: "{description}"
Think it through, then close with <answer>Yes</answer> or <answer>No</answer>.
"""


def judge(llm, rows):
    texts = [EVALUATION_TEMPLATE.format(description=r["expect_en"]) for r in rows]
    return llm.generate(texts, sampling_params=SamplingParams(temperature=0.0, max_tokens=512))
'''
STAND_IN_TEXT = '''\
from vllm import LLM, SamplingParams

EVALUATION_TEMPLATE = """
(stand-in) Did this thinking reach the goal?
[request] {user_prompt}
[thinking] {model_thought}
[goal] {criteria}
Close with <answer>Yes</answer> or <answer>No</answer>.
"""


def judge(llm, rows):
    texts = [
        EVALUATION_TEMPLATE.format(
            user_prompt=r["prompt"], model_thought=r["thought"], criteria=r["expect_en"]
        )
        for r in rows
    ]
    return llm.generate(texts, sampling_params=SamplingParams(temperature=0.0, max_tokens=512))
'''


class _Server(ThreadingHTTPServer):
    bodies: list[dict[str, Any]]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.bodies.append(body)
        reply = {"choices": [{"message": {"role": "assistant", "content": "<answer>Yes</answer>"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _script(scripts_dir: Path, name: str) -> Path:
    for candidate in (scripts_dir / name, scripts_dir / "evaluation" / name):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"seed_protocols: {name} is not in {scripts_dir} or its evaluation/ folder")


def _records(path: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {str(r["id"]): r for r in rows}


def _texts(body: dict[str, Any]) -> tuple[str, bool]:
    content = body["messages"][0]["content"]
    if isinstance(content, str):
        return content, False
    text = "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return text, any(p.get("type") == "image_url" for p in content)


def _run(
    seed_dir: Path, vision: Path, text: Path, tasks: tuple[str, ...], work: Path
) -> tuple[list[dict[str, Any]], list[dict[str, str]], float]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.bodies, srv.lock = [], threading.Lock()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    host, port = srv.server_address[:2]
    http = [f"base_url=http://{host}:{port}/v1", f"model={SERVED}", "concurrency=8"]
    files = [  # absolute: pytest runs in ``work``, where a relative seed path finds nothing
        str(seed_dir.resolve() / "ureason" / f"{prefix}{task}.jsonl")
        for task in tasks
        for prefix in ("", "direct_")
    ]
    junit = work / "out.xml"
    cmd = [
        sys.executable, "-m", "pytest", *files, "--model", "reference",
        "--judge", "http", *(f"--judge-arg={a}" for a in http),
        "--text-judge", "http", *(f"--text-judge-arg={a}" for a in http),
        f"--judge-protocol=ureason={vision}", f"--text-judge-protocol=ureason={text}",
        "--store", str(work / "store"), f"--junitxml={junit}", "-q", "-p", "no:cacheprovider",
        "--rootdir", str(work),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "none"}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    srv.shutdown()
    srv.server_close()
    if not junit.exists():
        raise SystemExit(f"seed_protocols: pytest wrote no junit:\n{done.stdout[-3000:]}")
    items = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        if "ureason_task" in props:
            items.append(props)
    if not items:
        raise SystemExit(f"seed_protocols: pytest ran no UReason item:\n{done.stdout[-3000:]}")
    return srv.bodies, items, seconds


def protocol_check(
    seed_dir: Path, scripts_dir: Path | None = None, tasks: tuple[str, ...] = TASKS
) -> list[str]:
    """Run the paper protocol over the real UReason records against a loopback judge and
    compare every received prompt with the script's template filled with the record; the
    table's lines (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="seed-protocols-") as tmp:
        work = Path(tmp)
        if scripts_dir is None:
            vision, text = work / "qwen_vision_batch.py", work / "qwen_text_batch.py"
            vision.write_text(STAND_IN_VISION)
            text.write_text(STAND_IN_TEXT)
            source = "stand-in scripts written here (our own words, the released structure)"
        else:
            vision = _script(scripts_dir, "qwen_vision_batch.py")
            text = _script(scripts_dir, "qwen_text_batch.py")
            source = f"scripts from {scripts_dir}"
        image_protocol: PaperProtocol = load(f"ureason={vision.resolve()}", "image")
        text_protocol: PaperProtocol = load(f"ureason={text.resolve()}", "reasoning")
        bodies, items, seconds = _run(seed_dir, vision, text, tasks, work)
    image_stage = image_protocol.stages("ureason")[0]
    text_stage = text_protocol.stages("ureason")[0]
    image_head = image_stage.template.text[:40]
    text_head = text_stage.template.text[:40]
    received_image: list[tuple[str, dict[str, Any]]] = []
    received_text: list[tuple[str, dict[str, Any]]] = []
    for body in bodies:
        prompt, has_image = _texts(body)
        if has_image and prompt.startswith(image_head):
            received_image.append((prompt, body))
        elif not has_image and prompt.startswith(text_head):
            received_text.append((prompt, body))
    lines = [
        f"UReason protocol check: {len(items)} items in {seconds:.1f} s, {source}",
        f"  image judge: {image_protocol.label} ({', '.join(image_protocol.templates())}); "
        f"reasoning judge: {text_protocol.label} ({', '.join(text_protocol.templates())})",
        "  (want: distinct prompts the script's template filled with the records gives; exact:"
        " received character for character; miss: never received; extra: received, not wanted)",
        f"  {'task':22} {'items':>5} {'want':>5} {'exact':>5} {'miss':>5} {'extra':>5}  kind",
    ]
    totals = {"want": 0, "exact": 0, "miss": 0, "extra": 0}
    records = {  # each task's released records (both files), read once for both kinds
        task: {
            **_records(seed_dir / "ureason" / f"direct_{task}.jsonl"),
            **_records(seed_dir / "ureason" / f"{task}.jsonl"),
        }
        for task in tasks
    }
    for kind, received, stage in (
        ("image", received_image, image_stage),
        ("reasoning", received_text, text_stage),
    ):
        got = {p for p, _ in received}
        limits = {(b.get("max_tokens"), b.get("temperature")) for _, b in received}
        matched_all: set[str] = set()
        for task in tasks:
            mine = [p for p in items if p["ureason_task"] == f"ureason-{task}"]
            want: set[str] = set()
            for props in mine:
                rid, condition = props["ureason_instance"], props["ureason_condition"]
                record = records[task][rid]
                if kind == "image":
                    if "ureason_paper_verdict" in props:
                        want.add(stage.template.fill(description=record["expect_en"]))
                elif condition in ("reasoning", "decontext") and props.get("ureason_reasoning"):
                    want.add(
                        stage.template.fill(
                            user_prompt=record["prompt"],
                            model_thought=props["ureason_reasoning"],
                            criteria=record["expect_en"],
                        )
                    )
            exact = want & got
            matched_all |= exact
            lines.append(
                f"  {'ureason-' + task:22} {len(mine):>5} {len(want):>5} "
                f"{len(exact):>5} {len(want - got):>5} {'':>5}  {kind}"
            )
            totals["want"] += len(want)
            totals["exact"] += len(exact)
            totals["miss"] += len(want - got)
        extra = len(got - matched_all)
        totals["extra"] += extra
        lines.append(
            f"  {'all ' + kind:22} {'':>5} {len(got):>5} "
            f"{len(matched_all):>5} {'':>5} {extra:>5}  {len(received)} requests, "
            f"max_tokens/temperature sent {sorted(limits, key=str)}, the script's "
            f"{stage.limits.max_tokens}/{stage.limits.temperature:g}"
        )
    decontext = [p for p in items if p["ureason_condition"] == "decontext"]
    drawn = sum(
        p.get("ureason_drawn_prompt") == extract_ureason(p.get("ureason_reasoning", "")).prompt
        for p in decontext
        if p.get("ureason_drawn_prompt")
    )
    lines.append(
        f"  distinct prompts expected {totals['want']}, received exactly {totals['exact']}, "
        f"missing {totals['miss']}, received but not expected {totals['extra']}; decontext "
        f"images drawn from the paper's extraction: {drawn}/{len(decontext)}"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seed_dir", type=Path, help="the seed data folder (holds ureason/)")
    parser.add_argument("--scripts", type=Path, help="folder of UReason's evaluation scripts")
    parser.add_argument("--tasks", default=",".join(TASKS), help="UReason tasks to run")
    args = parser.parse_args()
    tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
    for line in protocol_check(args.seed_dir, args.scripts, tasks):
        print(line)


if __name__ == "__main__":
    main()
