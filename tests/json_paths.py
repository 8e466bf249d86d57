"""Paths into decoded JSON, for tests that edit a payload in place."""

from __future__ import annotations

from typing import Any

Path = tuple[Any, ...]


def paths(node: Any, prefix: Path = ()) -> list[Path]:
    """Every path below `node` (keys and list indexes), parents before their children."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def get(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def put(doc: Any, path: Path, value: Any) -> None:
    get(doc, path[:-1])[path[-1]] = value
