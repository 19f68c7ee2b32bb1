"""Parse pspc source text into the AST, turning every Lark error into a diagnostic.

The LALR parser is built once per process from grammar/pspc.lark and reused.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from pspc.diagnostics import Diagnostics, Span
from pspc.resources import resource_dir
from pspc.syntax import ast

MAX_SOURCE_BYTES = 4 * 1024 * 1024

_TERMINAL_WORDS = {
    "WORD": "a name",
    "STRING": "a quoted string",
    "INT": "a number",
    "PSS_VERSION": "a Pod Security Standards version (v1.30, latest)",
    "$END": "end of file",
}


class _Parser:
    """The cached Lark parser plus a per-parse comment sink."""

    def __init__(self) -> None:
        self.comments: list[Token] = []
        grammar = (resource_dir("grammar") / "pspc.lark").read_text(encoding="utf-8")
        self.lark = Lark(
            grammar,
            parser="lalr",
            lexer="contextual",
            propagate_positions=True,
            maybe_placeholders=False,
            lexer_callbacks={"COMMENT": self.comments.append},
            cache=True,
        )
        self.literals = {
            t.name: t.pattern.value for t in self.lark.terminals if t.pattern.type == "str"
        }

    def describe(self, terminal: str) -> str:
        if terminal in self.literals:
            return f"`{self.literals[terminal]}`"
        return _TERMINAL_WORDS.get(terminal, terminal.lower())


@cache
def _parser() -> _Parser:
    return _Parser()


def _span(path: str, item) -> Span:
    return Span(path, item.line, item.column, item.end_line, item.end_column)


def _number(digits: str) -> int:
    """An integer literal; beyond 19 digits it is clamped (still above any 64-bit limit)."""
    negative = digits.startswith("-")
    digits = digits.lstrip("-")
    value = int(digits) if len(digits) <= 19 else 10**19
    return -value if negative else value


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_CODE_POINT = re.compile(r"u\{([0-9A-Fa-f]{1,6})\}")


def _unquote(text: str) -> str:
    """The text of a STRING token: `\\n`, `\\r` and `\\t` are control characters,
    `\\u{HEX}` is the character of that code point, and a backslash before any other
    character stands for that character."""
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            i += 1
            code = _CODE_POINT.match(body, i)
            if code and int(code[1], 16) <= 0x10FFFF and not 0xD800 <= int(code[1], 16) <= 0xDFFF:
                out.append(chr(int(code[1], 16)))
                i = code.end()
                continue
            out.append(_ESCAPES.get(body[i], body[i]))
        else:
            out.append(body[i])
        i += 1
    return "".join(out)


class _ToAst(Transformer):
    """Build AST nodes bottom-up; each statement rule builds the class of that name."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _span(self, meta) -> Span:
        return _span(self.path, meta)

    def _word(self, token: Token) -> ast.Word:
        if token.type == "STRING":
            return ast.Word(_unquote(token.value), _span(self.path, token), quoted=True)
        return ast.Word(token.value, _span(self.path, token))

    def name(self, children):
        return self._word(children[0])

    word = name

    @v_args(meta=True)
    def id_range(self, meta, children):
        low, high = children[0], children[-1]
        text = low if len(children) == 1 else f"{low}..{high}"
        return ast.IdRange(_number(low), _number(high), self._span(meta), text)

    def words(self, children):
        first = children[0]
        if isinstance(first, Token) and first.type in ("ANY", "NONE"):
            return ast.Words(first.type.lower())
        return ast.Words("list", tuple(children))

    def ids(self, children):
        if_set = bool(children) and children[-1] == "if_set"
        ranges = tuple(c for c in children if isinstance(c, ast.IdRange))
        if isinstance(children[0], Token):
            return ast.Ids(children[0].type.lower(), ranges, if_set)
        return ast.Ids("ranges", ranges, if_set)

    @v_args(meta=True)
    def selinux(self, meta, children):
        options = tuple(c for c in children if not isinstance(c, Token))
        modes = [c.type.lower() for c in children if isinstance(c, Token)]
        return ast.Selinux(self._span(meta), options, modes[0] if modes else "options")

    def if_set(self, _children):
        return "if_set"

    def host_namespace(self, children):
        return self._word(children[0])

    def selinux_field(self, children):
        return str(children[0])

    def selinux_option(self, children):
        return (children[0], children[1])

    @v_args(meta=True)
    def host_path(self, meta, children):
        return ast.HostPath(children[0], len(children) > 1)

    # -- statements -------------------------------------------------------------------

    def __default__(self, data, children, meta):
        """A statement rule: the class of that name, built from its arguments in order.

        Keywords are dropped (their words are the class), `allow`/`deny` becomes `allow`,
        and each shape takes its arguments as the grammar rule lists them."""
        node = ast.STATEMENTS[str(data)]
        allow, args = None, []
        for child in children:
            if not isinstance(child, Token):
                args.append(child)
            elif child.type in ("ALLOW", "DENY"):
                allow = child.type == "ALLOW"
            elif child.type in ("STRING", "PSS_VERSION"):
                args.append(self._word(child))
        span = self._span(meta)
        if issubclass(node, ast.Verdict):
            if node is ast.HostPorts or node is ast.HostNamespaces:
                return node(span, allow, tuple(args))
            return node(span, allow)
        if issubclass(node, (ast.Names, ast.AllowHostPaths, ast.RunAsNonRoot)):
            return node(span, tuple(args))
        return node(span, *args)

    @v_args(meta=True)
    def policy(self, meta, children):
        name = children[0]
        extends = None
        body = children[1:]
        if body and isinstance(body[0], tuple) and body[0][0] == "extends":
            extends = body[0][1]
            body = body[1:]
        return ast.PolicyDecl(name, extends, tuple(body), self._span(meta))

    def extends(self, children):
        return ("extends", children[0])

    @v_args(meta=True)
    def binding(self, meta, children):
        policy, *rest = children
        subjects = tuple(c for c in rest if isinstance(c, ast.Subject))
        scope = next((c for c in rest if isinstance(c, tuple)), ("namespace", ()))
        return ast.BindingDecl(policy, subjects, scope[1], self._span(meta), scope[0])

    def scope(self, children):
        keyword = "namespaces" if len(children) > 1 else "namespace"
        return (keyword, tuple(children))

    def _subject(kind):  # noqa: N805 - a factory used at class creation
        @v_args(meta=True)
        def build(self, meta, children):
            return ast.Subject(kind, children[0] if children else None, self._span(meta))

        return build

    user = _subject("user")
    group = _subject("group")
    service_account = _subject("service_account")
    namespace_service_accounts = _subject("namespace_service_accounts")
    all_service_accounts = _subject("all_service_accounts")
    del _subject

    @v_args(meta=True)
    def namespace_decl(self, meta, children):
        name, *clauses = children
        levels = tuple(c[1] for c in clauses if c[0] == "level")
        versions = tuple(c[1] for c in clauses if c[0] == "version")
        force = next((c[1] for c in clauses if c[0] == "force"), None)
        return ast.NamespaceDecl(name, levels, versions, force is not None, self._span(meta),
                                 force)

    def psa_level(self, children):
        return ("level", (str(children[0]), children[1]))

    def psa_version(self, children):
        return ("version", children[0])

    @v_args(meta=True)
    def psa_force(self, meta, _children):
        return ("force", self._span(meta))

    def start(self, children):
        return tuple(children)


@lru_cache(maxsize=4096)
def _tree(text: str):
    """The Lark tree of a text and its comment tokens. Cached: `pspc import` compiles each
    source it writes several times (to choose it, to check it, to check all together)."""
    parser = _parser()
    parser.comments.clear()
    tree = parser.lark.parse(text)
    return tree, tuple(parser.comments)


def parse_text(text: str, path: str, diags: Diagnostics) -> ast.SourceFile | None:
    """Parse one file's text; on a syntax error report it and return None."""
    try:
        tree, tokens = _tree(text)
    except UnexpectedInput as exc:
        _report_syntax_error(exc, text, path, diags, _parser())
        return None
    comments = tuple(ast.Comment(t.value, _span(path, t)) for t in tokens)
    items = _ToAst(path).transform(tree)
    return ast.SourceFile(path, text, items, comments)


def read_source(path: str, data: bytes, diags: Diagnostics) -> str | None:
    """Decode a source file (UTF-8, optional BOM), refusing oversized or binary input."""
    if len(data) > MAX_SOURCE_BYTES:
        diags.error("E002", f"source file is larger than {MAX_SOURCE_BYTES} bytes",
                    Span(path, 1, 1, 1, 1), help="split the policies over several files")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data[: exc.start].count(b"\n") + 1
        column = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        diags.error("E002", "source file is not valid UTF-8", Span(path, line, column, line,
                    column + 1), help="save the file as UTF-8")
        return None
    if "\x00" in text:
        index = text.index("\x00")
        line = text[:index].count("\n") + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        diags.error("E002", "source file contains a NUL character",
                    Span(path, line, column, line, column + 1), help="remove the NUL byte")
        return None
    return text


def _end_of_text(text: str) -> tuple[int, int]:
    """The position just after the last non-blank character: where more was expected."""
    stripped = text.rstrip()
    return stripped.count("\n") + 1, len(stripped) - (stripped.rfind("\n") + 1) + 1


def _report_syntax_error(exc: UnexpectedInput, text: str, path: str, diags: Diagnostics,
                         parser: _Parser) -> None:
    line, column, width = exc.line, exc.column, 1
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        found = f"`{exc.token.value}`"
        width = max(1, len(exc.token.value))
        allowed = exc.accepts or exc.expected
    elif isinstance(exc, UnexpectedCharacters):
        found = f"character `{text[exc.pos_in_stream]}`"
        allowed = exc.allowed
    else:
        found = "end of file"
        line, column = _end_of_text(text)
        allowed = getattr(exc, "accepts", None) or getattr(exc, "expected", None)
    expected = sorted({parser.describe(t) for t in allowed or ()})
    span = Span(path, line, column, line, column + width)
    if expected == ["`only`"]:
        expected = ["`only via pvc` (or an intent after `allow`: is one mistyped?)"]
    help_text = f"expected {_one_of(expected)}" if expected else None
    diags.error("E001", f"syntax error: unexpected {found}", span, help=help_text)


def _one_of(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) > 8:
        return ", ".join(items[:8]) + f" or one of {len(items) - 8} more"
    return ", ".join(items[:-1]) + f" or {items[-1]}"
