"""Read Kubernetes YAML that users hand to pspc (pods, workloads, PSP and RBAC dumps).

Multi-document files and `kind: List` are flattened; every object keeps where it came from
(`file#index`, the index of the document in its file). Input is untrusted: files are
bounded in size, YAML aliases are refused (they are how "billion laughs" bombs work and
Kubernetes manifests do not need them), and every problem becomes a diagnostic with a
location instead of an exception. Every object is type-checked against the API's types
(pspc.apitypes) as it is read: one with a field of the wrong type is reported, field by
field, and left out, so no reader downstream ever sees `privileged: "false"`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pspc import apitypes
from pspc.apitypes import field_path
from pspc.diagnostics import Diagnostics, Span
from pspc.workloads import WORKLOADS

MAX_MANIFEST_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object and where it was read.

    `item` is the object's index in a `kind: List` document (None for a plain document);
    `node` is the YAML node it was built from, for locating fields (see `locate`).
    """

    source: str
    span: Span
    object: dict
    item: int | None = None
    node: yaml.Node | None = field(default=None, compare=False, repr=False)

    @property
    def document(self) -> str:
        """`document 3`, or `document 0, item 4` for an object inside a List."""
        index = self.source.rsplit("#", 1)[-1]
        return f"document {index}" + (f", item {self.item}" if self.item is not None else "")

    @property
    def kind(self) -> str:
        return str(self.object.get("kind", ""))

    @property
    def name(self) -> str:
        metadata = self.object.get("metadata")
        if not isinstance(metadata, dict):
            return ""
        return str(metadata.get("name") or metadata.get("generateName") or "")


def describe(manifest: Manifest) -> str:
    """`document 2 (PodSecurityPolicy restricted)`: how messages name an input object."""
    name = manifest.name
    return f"{manifest.document} ({manifest.kind or 'object'}{' ' + name if name else ''})"


def type_problems(manifest: Manifest) -> list:
    """(path, message) for each field of the object that does not have its API type."""
    workload = WORKLOADS.get(manifest.kind)
    return apitypes.problems(manifest.object, apitypes.shape(
        manifest.kind, workload.template_path if workload else None))


def well_typed(manifest: Manifest, diags: Diagnostics) -> bool:
    """Whether every field of the object has its API type; each one that has not is an
    error (E043) at the value, named as `pspc import` names fields."""
    found = type_problems(manifest)
    for path, message in found:
        diags.error("E043", f"{describe(manifest)}: {field_path(path)}: {message}",
                    locate(manifest, path))
    return not found


class _TabSeparators(yaml.SafeLoader):
    """Accept tabs as separators between tokens (`key:\tvalue`, `image: nginx\t# note`),
    as Kubernetes' go-yaml does and PyYAML does not. The scanner asks here only between
    tokens, so quoted and block scalars keep their tabs; columns are unchanged, so errors
    stay located. A tab in a line's indentation is still an error, as in go-yaml."""

    def scan_to_next_token(self):
        super().scan_to_next_token()
        while self.peek() == "\t" and self.buffer[
                max(0, self.pointer - self.column):self.pointer].strip(" \t"):
            self.forward()
            super().scan_to_next_token()


class _NoAliasLoader(_TabSeparators):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not accepted", mark)
        return super().compose_node(parent, index)


def mark_span(path: str, mark) -> Span:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Span(path, line, column, line, column + 1)


def parse_manifests(text: str, path: str, diags: Diagnostics) -> list[Manifest]:
    """Every object in one file; on a YAML error, report it and return nothing."""
    diags.sources[path] = text  # for diagnostics that quote the offending line
    try:
        loader = _NoAliasLoader(_escaped_json(text))
    except yaml.YAMLError as exc:
        diags.error("E030", f"not readable as YAML: {exc}", Span(path, 1, 1, 1, 2))
        return []
    found: list[Manifest] = []
    index = 0
    try:
        while loader.check_node():
            start = loader.peek_event().start_mark
            node = loader.get_node()
            document = loader.construct_document(node)
            span = mark_span(path, start)
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
                item_nodes = list_item_nodes(node)
                for number, item in enumerate(items):
                    item_node = item_nodes[number] if number < len(item_nodes) else None
                    item_span = mark_span(path, item_node.start_mark) if item_node else span
                    if not isinstance(item, dict):
                        diags.error("E030", f"document {index}: a list item is not an object",
                                    item_span)
                        return []
                    found.append(Manifest(f"{path}#{index}", item_span, item, number, item_node))
            else:
                found.append(Manifest(f"{path}#{index}", span, document, None, node))
            index += 1
    except yaml.MarkedYAMLError as exc:
        diags.error("E030", f"invalid YAML: {exc.problem or exc.context}",
                    mark_span(path, exc.problem_mark or exc.context_mark))
        return []
    except (yaml.YAMLError, RecursionError) as exc:
        diags.error("E030", f"invalid YAML: {type(exc).__name__}", Span(path, 1, 1, 1, 2),
                    help="the document may be nested too deeply")
        return []
    finally:
        loader.dispose()
    return [manifest for manifest in found if well_typed(manifest, diags)]


_JSON_ONLY = re.compile("[\x7f-\x9f\u2028\u2029]")


def _escaped_json(text: str) -> str:
    """JSON allows U+007F, the C1 controls and the line separators raw inside strings; YAML
    refuses the first and reads the others (U+0085, U+2028, U+2029) as line breaks, folded
    into spaces. In a JSON document, where they can only stand inside a string, write them
    as escapes."""
    if not text.lstrip("\ufeff \t\r\n").startswith(("{", "[")) or not _JSON_ONLY.search(text):
        return text
    return _JSON_ONLY.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def list_item_nodes(node: yaml.Node) -> list[yaml.Node]:
    items = _child(node, "items")
    return list(items.value) if isinstance(items, yaml.SequenceNode) else []


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    """The value node under a mapping key or at a sequence index, if there is one."""
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def locate(manifest: Manifest, path: tuple[str | int, ...], key: bool = False) -> Span:
    """Where a field of a manifest is written: the value at `path` (its key with
    `key=True`), or the nearest enclosing node that exists; the document when unknown."""
    node, found = manifest.node, manifest.span
    if node is None:
        return found
    found = mark_span(manifest.span.file, node.start_mark)
    for depth, step in enumerate(path):
        last = depth == len(path) - 1
        if key and last and isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == step:
                    return mark_span(manifest.span.file, key_node.start_mark)
        node = _child(node, step)
        if node is None:
            break
        found = mark_span(manifest.span.file, node.start_mark)
    return found


def duplicate_keys(manifest: Manifest) -> Iterator[tuple[tuple[str | int, ...], Span]]:
    """Mapping keys written twice in a manifest (YAML keeps the last silently; Kubernetes'
    strict decoding refuses them): the path of each repeated key and where it repeats."""
    if manifest.node is None:
        return
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(manifest.node, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if name in seen:
                    yield path + (name,), mark_span(manifest.span.file, key_node.start_mark)
                if name is not None:
                    seen.add(name)
                    stack.append((value_node, path + (name,)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, path + (i,)) for i, child in enumerate(node.value))


def read_manifests(path: Path, display: str, diags: Diagnostics,
                   texts: dict[str, str] | None = None) -> list[Manifest]:
    """Every object in a file (see parse_manifests); `texts` receives the file's text, for
    diagnostics that quote the offending line."""
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
    if texts is not None:
        texts[display] = text
    return parse_manifests(text, display, diags)
