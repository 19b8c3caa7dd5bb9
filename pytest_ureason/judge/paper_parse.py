"""The papers' own evaluation rules, read from their released scripts (stdlib only).

Two things live here, both without importing or running anything of the papers:

* **Reading a script** (:func:`read_template`, :func:`read_limits`): the script is parsed with
  :mod:`ast`; a template is a module-level assignment of a string literal (adjacent literals
  in parentheses are one literal), and its placeholders (``str.format`` fields) must be the
  ones the released script has. The decoding settings are the literal ``temperature=`` and
  ``max_tokens=`` keywords of the one call, in the function that uses the template, that
  names both (the vLLM ``SamplingParams`` or the ``chat.completions.create`` of the
  script). A missing file, a syntax error, a missing or non-literal constant, other
  placeholders or no such call is a :class:`ProtocolError` naming the file and the constant.
* **The papers' parses**, as their scripts apply them:

  - UReason (:func:`ureason_decision`): the first ``<answer>...</answer>`` on one line; yes
    when its text contains ``yes``, else no when it contains ``no``; otherwise (no tag, or a
    tag with neither) ``yes`` anywhere in the reply, else ``no`` anywhere, else no. Note the
    substring rule: ``not`` or ``know`` contain ``no``.
  - UniSandbox stage 1 (:func:`unisandbox_caption`): the caption of the image, or None when
    it is a refusal (math and mapping: the reply, or mapping's ``Object:`` value, is ``Error``
    in any case; knowledge: the first line is exactly ``Reject``); an empty reply is no
    caption either (the scripts retry it and then score 0; greedy decoding repeats it).
  - UniSandbox stage 2 (:func:`unisandbox_score`): the first ``Score: YES|NO``, any case;
    none is a NO (the scripts retry, then score 0).

UReason's de-contextualised prompt is :func:`pytest_ureason.conditions.extract_ureason` (the
conditions draw it, below the judges).
"""

from __future__ import annotations

import ast
import hashlib
import re
import string
from dataclasses import dataclass
from pathlib import Path


class ProtocolError(ValueError):
    """A paper's evaluation script cannot be read as released: names the file and what."""


@dataclass(frozen=True)
class Template:
    """A template constant read from a script."""

    path: str
    name: str
    text: str
    fields: tuple[str, ...]
    line: int

    @property
    def sha(self) -> str:
        """Short SHA-256 of the template's text."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]

    def fill(self, **values: str) -> str:
        """The template with its placeholders filled (``str.format``, as the scripts do); a
        template without placeholders is sent as it is, never formatted."""
        if not self.fields:
            return self.text
        return self.text.format(**{k: values[k] for k in self.fields})


@dataclass(frozen=True)
class Limits:
    """Decoding settings of the call that sends a template."""

    max_tokens: int
    temperature: float
    line: int


def parse_script(path: Path) -> ast.Module:
    """The script's syntax tree.

    Raises:
        ProtocolError: missing, unreadable or not Python.
    """
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{path}: cannot be read: {exc}") from None
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ProtocolError(f"{path}:{exc.lineno}: not Python: {exc.msg}") from None


def placeholders(text: str) -> tuple[str, ...]:
    """The ``str.format`` field names of a text, in order of first use.

    Raises:
        ValueError: the text is not a valid format string.
    """
    names: list[str] = []
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None and name not in names:
            names.append(name)
    return tuple(names)


def read_template(path: Path, tree: ast.Module, name: str, fields: tuple[str, ...]) -> Template:
    """The module-level string constant ``name`` of a script, checked to have exactly the
    placeholders ``fields`` (any order).

    Raises:
        ProtocolError: the constant is missing, assigned more than once, not a string
            literal, or has other placeholders; the message names the file and the constant.
    """
    found: list[ast.Assign | ast.AnnAssign] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            found.append(node)  # type: ignore[arg-type]
    if not found:
        raise ProtocolError(f"{path}: constant {name} is missing (not assigned at module level)")
    if len(found) > 1:
        lines = ", ".join(str(n.lineno) for n in found)
        raise ProtocolError(f"{path}: constant {name} is assigned more than once (lines {lines})")
    node = found[0]
    value = node.value
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
        raise ProtocolError(
            f"{path}:{node.lineno}: constant {name} is not a string literal (the released "
            "script assigns one)"
        )
    text = value.value
    if fields:
        try:
            have = placeholders(text)
        except ValueError as exc:
            raise ProtocolError(
                f"{path}:{node.lineno}: constant {name} is not a format string: {exc}"
            ) from None
        if sorted(have) != sorted(fields):
            raise ProtocolError(
                f"{path}:{node.lineno}: constant {name} has the placeholders "
                f"{_names(have)}, the released script's are {_names(fields)}"
            )
    return Template(str(path), name, text, tuple(fields), node.lineno)


def _names(fields: tuple[str, ...]) -> str:
    return ", ".join("{" + f + "}" for f in fields) if fields else "none"


def _number(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if not isinstance(node.value, bool):
            return float(node.value)
    return None


def read_limits(path: Path, tree: ast.Module, name: str) -> Limits:
    """The ``max_tokens`` and ``temperature`` of the call that sends template ``name``: the
    one call with both keywords as number literals in the function that uses ``name``.

    Raises:
        ProtocolError: no function uses the constant, or none or several such calls are in
            it; the message names the file and the constant.
    """
    users = [
        f
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(f))
    ]
    if not users:
        raise ProtocolError(f"{path}: constant {name} is used by no function")
    calls: list[Limits] = []
    for function in users:
        for call in ast.walk(function):
            if not isinstance(call, ast.Call):
                continue
            kw = {k.arg: k.value for k in call.keywords if k.arg}
            if "max_tokens" in kw and "temperature" in kw:
                tokens, temp = _number(kw["max_tokens"]), _number(kw["temperature"])
                if tokens is None or temp is None or tokens != int(tokens) or tokens < 1:
                    raise ProtocolError(
                        f"{path}:{call.lineno}: the call that sends {name} has no literal "
                        "max_tokens= and temperature= numbers"
                    )
                calls.append(Limits(int(tokens), temp, call.lineno))
    if len(calls) != 1:
        where = ", ".join(f.name for f in users)
        raise ProtocolError(
            f"{path}: constant {name}: expected one call with max_tokens= and temperature= in "
            f"the function that uses it ({where}), found {len(calls)}"
        )
    return calls[0]


# -- the papers' parses --------------------------------------------------------------------

_UREASON_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE)  # one line: no DOTALL
_SCORE = re.compile(r"Score:\s*(YES|NO)", re.IGNORECASE)
_OBJECT = re.compile(r"Object:\s*(.+)")


@dataclass(frozen=True)
class PaperDecision:
    """A paper's verdict on one reply: ``yes``, and how it was read."""

    yes: bool
    method: str


def ureason_decision(reply: str) -> PaperDecision:
    """UReason's parse of a judge reply (see the module docstring)."""
    tag = _UREASON_TAG.search(reply)
    if tag is not None:
        inside = tag.group(1).strip().lower()
        for word, yes in (("yes", True), ("no", False)):
            if word in inside:
                return PaperDecision(yes, "tag")
    lower = reply.lower()
    for word, yes in (("yes", True), ("no", False)):
        if word in lower:
            return PaperDecision(yes, "text")
    return PaperDecision(False, "default")


def unisandbox_caption(family: str, reply: str) -> str | None:
    """What stage 2 compares (the caption, or mapping's identified object), or None when
    stage 1 refused (``Error`` / ``Reject``) or said nothing: a NO without stage 2."""
    text = reply.strip()
    if not text:
        return None
    if family == "knowledge":
        first = text.splitlines()[0].strip()
        return None if first == "Reject" else first
    if text.upper() == "ERROR":
        return None
    if family == "mapping":
        found = _OBJECT.search(text)
        obj = found.group(1).strip() if found else text
        return None if obj.upper().strip() == "ERROR" else obj
    return text


def unisandbox_score(reply: str) -> PaperDecision:
    """UniSandbox's stage-2 parse: the first ``Score: YES|NO``; none is a NO."""
    found = _SCORE.search(reply)
    if found is None:
        return PaperDecision(False, "no score")
    return PaperDecision(found.group(1).upper() == "YES", "score")
