"""A deterministic RFC 6902 JSON patch between two JSON documents.

Used to report what admission (defaulting plus the chosen policy's mutation) changed, in a
form a mutating webhook or a GitOps diff can apply directly.
"""

from __future__ import annotations

from typing import Any

from .pod import json_clone


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _same_scalar(left: Any, right: Any) -> bool:
    return left == right and isinstance(left, bool) == isinstance(right, bool)


def diff(old: Any, new: Any) -> list[dict]:
    """Operations turning `old` into `new`: object keys in sorted order, lists by index."""
    ops: list[dict] = []
    _diff(old, new, "", ops)
    return ops


def _diff(old: Any, new: Any, path: str, ops: list[dict]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            child = f"{path}/{_pointer_token(key)}"
            if key not in new:
                ops.append({"op": "remove", "path": child})
            elif key not in old:
                ops.append({"op": "add", "path": child, "value": json_clone(new[key])})
            else:
                _diff(old[key], new[key], child, ops)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) == len(new):
            for index, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
                _diff(old_item, new_item, f"{path}/{index}", ops)
        elif len(new) > len(old) and not diff(old, new[: len(old)]):
            for index in range(len(old), len(new)):
                ops.append(
                    {"op": "add", "path": f"{path}/{index}", "value": json_clone(new[index])}
                )
        else:
            ops.append({"op": "replace", "path": path, "value": json_clone(new)})
    elif not _same_scalar(old, new):
        ops.append({"op": "replace", "path": path, "value": json_clone(new)})
