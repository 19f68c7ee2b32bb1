"""Resolve parsed files into IR policies: extends chains, the stdlib, and bindings.

`extends NAME` means the local policy NAME, or the stdlib policy NAME when there is no
local one (a policy that extends its own name extends the stdlib one, so
`policy restricted extends restricted` tightens the shipped policy under the same name).
A description describes one policy, so it is the only intent not inherited.

`namespace NAME enforce LEVEL ...` declarations become ir.Namespace: the Pod Security
Admission settings stated for that namespace. Whether they fit the policies usable there is
checked later, with the other semantic checks (pspc.model.lint).
"""

from __future__ import annotations

from functools import cache

from pspc import vocabulary as voc
from pspc.diagnostics import Diagnostics, Span
from pspc.model import ir, language
from pspc.model.intents import REQUIRED, ROOT, State
from pspc.resources import resource_dir
from pspc.syntax import ast
from pspc.syntax.parser import parse_text

STDLIB_PREFIX = "stdlib/"


@cache
def _stdlib() -> tuple[tuple[ast.SourceFile, ...], tuple]:
    diags = Diagnostics()
    files = []
    for path in sorted(resource_dir("stdlib").glob("*.pspc")):
        parsed = parse_text(path.read_text(encoding="utf-8"), STDLIB_PREFIX + path.name, diags)
        if parsed is not None:
            files.append(parsed)
    return tuple(files), tuple(diags.items)


def stdlib_policies() -> dict[str, ast.PolicyDecl]:
    files, problems = _stdlib()
    if problems:
        raise RuntimeError(f"pspc's stdlib does not compile: {problems[0]}")
    return {p.name.text: p for f in files for p in f.policies}


def stdlib_sources() -> dict[str, str]:
    return {f.path: f.text for f in _stdlib()[0]}


@cache
def stdlib_program() -> ir.Program:
    """The stdlib's own policies, resolved (the reference of each Pod Security Standards
    level: pspc.pss.loosened)."""
    return compile_files(list(_stdlib()[0]), Diagnostics())


class _Resolver:
    def __init__(self, local: dict[str, ast.PolicyDecl], diags: Diagnostics) -> None:
        self.local = local
        self.stdlib = stdlib_policies()
        self.diags = diags
        self.done: dict[tuple[bool, str], State | None] = {}
        self.chain: dict[tuple[bool, str], tuple[str, ...]] = {}
        self.visiting: list[tuple[bool, str]] = []

    def parent_of(self, decl: ast.PolicyDecl, is_local: bool) -> tuple[bool, ast.PolicyDecl]:
        name = decl.extends.text
        if is_local and name in self.local and name != decl.name.text:
            return True, self.local[name]
        if name in self.stdlib and (is_local or name != decl.name.text):
            return False, self.stdlib[name]
        known = sorted(set(self.local) | set(self.stdlib))
        guess = voc.suggest(name, tuple(known))
        self.diags.error("E004", f"policy `{decl.name.text}` extends `{name}`, which is not "
                         "defined", decl.extends.span,
                         help=f"did you mean `{guess}`?" if guess else
                         "the stdlib has privileged, baseline and restricted")
        return False, None

    def resolve(self, decl: ast.PolicyDecl, is_local: bool) -> State | None:
        key = (is_local, decl.name.text)
        if key in self.done:
            return self.done[key]
        if key in self.visiting:
            cycle = [n for _, n in self.visiting[self.visiting.index(key):]] + [key[1]]
            self.diags.error("E005", "policies extend each other in a cycle: "
                             + " -> ".join(cycle), decl.extends.span if decl.extends else
                             decl.name.span, help="remove one of the `extends`")
            return None
        self.visiting.append(key)
        state = self._resolve(decl, is_local)
        self.visiting.pop()
        self.done[key] = state
        return state

    def _resolve(self, decl: ast.PolicyDecl, is_local: bool) -> State | None:
        name = decl.name.text
        label = name if is_local else f"stdlib:{name}"
        chain: tuple[str, ...] = ()
        if decl.extends is not None:
            parent_local, parent = self.parent_of(decl, is_local)
            if parent is None:
                return None
            base = self.resolve(parent, parent_local)
            if base is None:
                return None
            parent_name = parent.name.text if parent_local else f"stdlib:{parent.name.text}"
            chain = (parent_name,) + self.chain[(parent_local, parent.name.text)]
            state = State(label, {**base.fields, "description": None},
                          {k: v for k, v in base.origins.items() if k != "description"},
                          self.diags)
        else:
            state = State(label, dict(ROOT), {}, self.diags)
        self.chain[(is_local, name)] = chain
        seen: dict[str, Span] = {}
        for stmt in decl.statements:
            for key in language.keys(stmt):
                if key in seen:
                    self.diags.error("E009", f"policy `{name}` states `{key.replace('_', ' ')}` "
                                     "twice", stmt.span, notes=(("first stated here", seen[key]),),
                                     help="keep one statement; to change an inherited value, "
                                     "state it once in the extending policy")
                seen.setdefault(key, stmt.span)
        for stmt in sorted(decl.statements, key=language.phase):
            language.apply_statement(state, stmt)
        missing = [field for field in REQUIRED if state.fields[field] is None]
        if missing and is_local:
            self.diags.error("E011", f"policy `{name}` does not say "
                             + ", ".join(f.replace("_", " ") for f in missing),
                             decl.name.span,
                             help="state " + "; ".join(REQUIRED[f] for f in missing)
                             + " (or extend a stdlib policy: privileged, baseline, restricted)")
            return None
        return state

    def chain_of(self, name: str) -> tuple[str, ...]:
        return self.chain.get((True, name), ())

    def psp_only(self, name: str, state: State) -> tuple[str, ...]:
        """For a policy with a Pod Security Standards level: the intents that only shape its
        PodSecurityPolicy (pspc.validation.standards): those it never states, those it
        inherits from the stdlib, and those it states as the stdlib base already has them."""
        if state.fields["pod_security_standard"] is None:
            return ()
        stdlib = next((n.removeprefix("stdlib:") for n in self.chain_of(name)
                       if n.startswith("stdlib:")), None)
        base = self.done.get((False, stdlib)) if stdlib else None
        found = []
        for field in ir.INTENT_FIELDS:
            origin = state.origins.get(field)
            if field == "pod_security_standard":
                continue
            if origin is None or origin.policy.startswith("stdlib:") or (
                    base is not None and state.fields[field] == base.fields[field]):
                found.append(field)
        return tuple(found)


def _bindings(files: list[ast.SourceFile], local: dict[str, ast.PolicyDecl],
              diags: Diagnostics) -> dict[str, list[ir.Binding]]:
    result: dict[str, list[ir.Binding]] = {name: [] for name in local}
    for file in files:
        for decl in file.bindings:
            if decl.policy.text not in local:
                guess = voc.suggest(decl.policy.text, tuple(local))
                diags.error("E021", f"`bind` names policy `{decl.policy.text}`, which is not "
                            "defined in these sources", decl.policy.span,
                            help=f"did you mean `{guess}`?" if guess else
                            "define the policy (it may extend a stdlib policy) before binding it")
                continue
            for ns in decl.namespaces:
                if not voc.is_label(ns.text):
                    diags.error("E006", f"`{ns.text}` is not a valid namespace name", ns.span,
                                help="namespace names are DNS labels: lower-case letters, "
                                "digits and '-', at most 63 characters")
            namespaces = [ns.text for ns in decl.namespaces if voc.is_label(ns.text)] or [None]
            for subject in decl.subjects:
                for binding in _subject_bindings(subject, namespaces, decl, diags):
                    result[decl.policy.text].append(binding)
    return result


def _subject_bindings(subject: ast.Subject, namespaces: list[str | None],
                      decl: ast.BindingDecl, diags: Diagnostics) -> list[ir.Binding]:
    kind, name = subject.kind, subject.name
    if kind == "namespace_service_accounts":
        if decl.namespaces:
            diags.error("E022", "`service accounts in namespace` already says where the binding "
                        "applies", decl.namespaces[0].span,
                        help="drop the trailing `in namespace`, or bind "
                        "`group system:serviceaccounts` in those namespaces")
            return []
        if not voc.is_label(name.text):
            diags.error("E006", f"`{name.text}` is not a valid namespace name", name.span)
            return []
        group = ir.Subject("Group", f"system:serviceaccounts:{name.text}")
        return [ir.Binding(group, name.text, subject.span)]
    if kind == "all_service_accounts":
        target = ir.Subject("Group", "system:serviceaccounts")
    elif kind == "service_account":
        sa_namespace, _, sa_name = name.text.partition("/")
        if not (voc.is_label(sa_namespace) and voc.is_subdomain(sa_name)):
            diags.error("E022", f"`{name.text}` is not a service account reference", name.span,
                        help="write it as <namespace>/<name>, e.g. kube-system/"
                        "replicaset-controller")
            return []
        target = ir.Subject("ServiceAccount", sa_name, sa_namespace)
    else:
        if not name.text.strip():
            diags.error("E022", f"`{name.text}` is not a valid {kind} name", name.span)
            return []
        target = ir.Subject(kind.capitalize(), name.text)
    return [ir.Binding(target, ns, subject.span) for ns in namespaces]


def _namespaces(files: list[ast.SourceFile], diags: Diagnostics) -> tuple[ir.Namespace, ...]:
    """The `namespace` declarations, checked on their own (name, levels, version)."""
    declared: dict[str, ast.NamespaceDecl] = {}
    result: list[ir.Namespace] = []
    for file in files:
        for decl in file.namespaces:
            name = decl.name.text
            if not voc.is_label(name):
                diags.error("E006", f"`{name}` is not a valid namespace name", decl.name.span,
                            help="namespace names are DNS labels: lower-case letters, "
                            "digits and '-', at most 63 characters")
                continue
            if name in declared:
                diags.error("E027", f"namespace `{name}` is declared twice", decl.name.span,
                            notes=(("first declared here", declared[name].name.span),),
                            help="state all of its settings in one `namespace` declaration")
                continue
            declared[name] = decl
            levels: dict[str, str] = {}
            first: dict[str, Span] = {}
            for mode, word in decl.levels:
                if mode in first:
                    diags.error("E027", f"namespace `{name}` states its {mode} level twice",
                                word.span, notes=(("first stated here", first[mode]),),
                                help="keep one")
                    continue
                first[mode] = word.span
                if word.text not in voc.LEVELS:
                    guess = voc.suggest(word.text, voc.LEVELS)
                    diags.error("E025", f"`{word.text}` is not a Pod Security Standards level",
                                word.span, help=f"did you mean `{guess}`?" if guess else
                                "the levels are privileged, baseline and restricted")
                    continue
                levels[mode] = word.text
            version = None
            for i, word in enumerate(decl.versions):
                if i:
                    diags.error("E027", f"namespace `{name}` states its version twice",
                                word.span, notes=(("first stated here", decl.versions[0].span),),
                                help="keep one")
                elif word.text not in voc.known_versions():
                    diags.error("E026", f"`{word.text}` is not a Pod Security Standards "
                                "version pspc knows", word.span,
                                help=f"use v1.0 to {voc.known_versions()[-2]}, or latest (which "
                                "follows the cluster's version)")
                else:
                    version = word.text
            spans = {"name": decl.name.span, **first}
            if decl.versions:
                spans["version"] = decl.versions[0].span
            if decl.force_span is not None:
                spans["force"] = decl.force_span
            result.append(ir.Namespace(name, dict(sorted(levels.items())), version, decl.force,
                                       decl.span, spans))
    return tuple(sorted(result, key=lambda n: n.name))


def compile_files(files: list[ast.SourceFile], diags: Diagnostics) -> ir.Program:
    """Resolve parsed sources into IR policies (diagnostics go to `diags`)."""
    local: dict[str, ast.PolicyDecl] = {}
    for file in files:
        for decl in file.policies:
            name = decl.name.text
            if not voc.is_subdomain(name):
                diags.error("E006", f"`{name}` is not a valid policy name", decl.name.span,
                            help="policy names become Kubernetes object names: lower-case "
                            "letters, digits, '-' and '.', starting and ending alphanumeric")
            if name in local:
                diags.error("E003", f"policy `{name}` is defined twice", decl.name.span,
                            notes=(("first defined here", local[name].name.span),),
                            help="rename one of them")
                continue
            local[name] = decl
    resolver = _Resolver(local, diags)
    bindings = _bindings(files, local, diags)
    policies = []
    for name in sorted(local):
        state = resolver.resolve(local[name], True)
        if state is None:
            continue
        fields = {k: v for k, v in state.fields.items()}
        policies.append(ir.Policy(
            name=name,
            source=local[name].span.file,
            span=local[name].span,
            extends=resolver.chain_of(name),
            bindings=tuple(sorted(set(bindings[name]),
                                  key=lambda b: (b.namespace or "", b.subject.sort_key))),
            origins=dict(state.origins),
            psp_only=resolver.psp_only(name, state),
            **fields,
        ))
    namespaces = _namespaces(files, diags)
    sources = {f.path: f.text for f in files}
    sources.update(stdlib_sources())
    diags.sources.update(sources)
    return ir.Program(tuple(policies), sources, namespaces)
