"""A big workflow made from a real one: its nodes, edges and form repeated under new ids."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def scaled_workflow(source: Path, nodes: int) -> dict[str, Any]:
    """``source`` repeated until it has at least ``nodes`` nodes; copy ``k`` renames every node
    id and form element id ``x`` to ``x-k`` (the form's root stays one, holding every copy)."""
    workflow: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    elements = workflow["form"]["elements"]
    ids = [node["id"] for node in workflow["nodes"]] + [e for e in elements if e != "root"]
    text = json.dumps({k: workflow[k] for k in ("nodes", "edges", "exposedFields", "form")})
    big: dict[str, Any] = {**workflow, "nodes": [], "edges": [], "exposedFields": []}
    root = {**elements["root"], "data": {**elements["root"]["data"], "children": []}}
    big["form"] = {**workflow["form"], "elements": {"root": root}}
    for k in range(math.ceil(nodes / len(workflow["nodes"]))):
        copy = json.loads(_renamed(text, ids, f"-{k}"))
        for key in ("nodes", "edges", "exposedFields"):
            big[key] += copy[key]
        copied = copy["form"]["elements"]
        root["data"]["children"] += copied.pop("root")["data"]["children"]
        big["form"]["elements"].update(copied)
    return big


def _renamed(text: str, ids: list[str], suffix: str) -> str:
    for old in sorted(ids, key=len, reverse=True):
        text = text.replace(f'"{old}"', f'"{old}{suffix}"')
    return text


def write_scaled(source: Path, nodes: int, out: Path) -> Path:
    """Write the scaled workflow to ``out``; return ``out``."""
    out.write_text(json.dumps(scaled_workflow(source, nodes)), encoding="utf-8")
    return out
