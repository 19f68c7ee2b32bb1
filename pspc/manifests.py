"""Read Kubernetes YAML that users hand to pspc (pods, workloads, PSP and RBAC dumps).

Multi-document files and `kind: List` are flattened; every object keeps where it came from
(`file#index`, the index of the document in its file). Input is untrusted: files are
bounded in size, YAML aliases are refused (they are how "billion laughs" bombs work and
Kubernetes manifests do not need them), and every problem becomes a diagnostic with a
location instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pspc.diagnostics import Diagnostics, Span

MAX_MANIFEST_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object and where it was read."""

    source: str
    span: Span
    object: dict

    @property
    def kind(self) -> str:
        return str(self.object.get("kind", ""))

    @property
    def name(self) -> str:
        metadata = self.object.get("metadata") or {}
        return str(metadata.get("name") or metadata.get("generateName") or "")


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not accepted", mark)
        return super().compose_node(parent, index)


def _mark_span(path: str, mark) -> Span:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Span(path, line, column, line, column + 1)


def parse_manifests(text: str, path: str, diags: Diagnostics) -> list[Manifest]:
    """Every object in one file; on a YAML error, report it and return nothing."""
    loader = _NoAliasLoader(text)
    found: list[Manifest] = []
    index = 0
    try:
        while loader.check_node():
            start = loader.peek_event().start_mark
            node = loader.get_node()
            document = loader.construct_document(node)
            span = _mark_span(path, start)
            if document is None:
                index += 1
                continue
            if not isinstance(document, dict):
                diags.error("E030", f"document {index} is a {type(document).__name__}, not a "
                            "Kubernetes object", span, help="each document must be a mapping "
                            "with apiVersion and kind")
                return []
            if document.get("kind") == "List" or str(document.get("kind", "")).endswith("List"):
                items = document.get("items") or []
                if not isinstance(items, list):
                    diags.error("E030", f"document {index}: `items` is not a list", span)
                    return []
                for item in items:
                    if not isinstance(item, dict):
                        diags.error("E030", f"document {index}: a list item is not an object",
                                    span)
                        return []
                    found.append(Manifest(f"{path}#{index}", span, item))
            else:
                found.append(Manifest(f"{path}#{index}", span, document))
            index += 1
    except yaml.MarkedYAMLError as exc:
        diags.error("E030", f"invalid YAML: {exc.problem or exc.context}",
                    _mark_span(path, exc.problem_mark or exc.context_mark))
        return []
    except (yaml.YAMLError, RecursionError) as exc:
        diags.error("E030", f"invalid YAML: {type(exc).__name__}", Span(path, 1, 1, 1, 2),
                    help="the document may be nested too deeply")
        return []
    finally:
        loader.dispose()
    return found


def read_manifests(path: Path, display: str, diags: Diagnostics) -> list[Manifest]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        diags.error("E002", f"cannot read the file: {exc.strerror}", Span(display, 1, 1, 1, 1))
        return []
    if len(data) > MAX_MANIFEST_BYTES:
        diags.error("E002", f"file is larger than {MAX_MANIFEST_BYTES} bytes",
                    Span(display, 1, 1, 1, 1))
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        diags.error("E002", "file is not valid UTF-8", Span(display, 1, 1, 1, 1))
        return []
    return parse_manifests(text, display, diags)
