"""Parse pspc source text into the AST, turning every Lark error into a diagnostic.

The LALR parser is built once per process from grammar/pspc.lark and reused.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache, partial
from typing import NamedTuple

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from pspc.diagnostics import Diagnostics, Span
from pspc.resources import resource_dir
from pspc.syntax import ast
from pspc.syntax.lexer import FastContextualLexer

MAX_SOURCE_BYTES = 4 * 1024 * 1024

_TERMINAL_WORDS = {
    "WORD": "a name",
    "STRING": "a quoted string",
    "INT": "a number",
    "PSS_VERSION": "a Pod Security Standards version (v1.30, latest)",
    "$END": "end of file",
}


class _Parser:
    """The cached Lark parser, its AST builder and a per-parse comment sink."""

    def __init__(self) -> None:
        self.comments: list[Token] = []
        self.build = _ToAst()
        grammar = (resource_dir("grammar") / "pspc.lark").read_text(encoding="utf-8")
        self.lark = Lark(
            grammar,
            parser="lalr",
            lexer="contextual",
            transformer=self.build,
            keep_all_tokens=True,
            maybe_placeholders=False,
            lexer_callbacks={"COMMENT": self.comments.append},
            cache=True,
            _plugins={"ContextualLexer": FastContextualLexer},
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


class _Part(NamedTuple):
    """A value that has no span of its own (a list of words, a user strategy, a clause), with
    the end of its last token, where the statement around it may end."""

    value: object
    end: tuple[int, int]


def _end(child) -> tuple[int, int]:
    """Line and column just after the last token of a child of a rule."""
    if isinstance(child, Token):
        return child.end_line, child.end_column
    if isinstance(child, _Part):
        return child.end
    return child.span.end_line, child.span.end_column


class _ToAst:
    """Build AST nodes while Lark parses: an embedded transformer, so no parse tree is built.

    Lark keeps every token (`keep_all_tokens`): a node spans from its first token, always a
    keyword or a number, to the end of its last child, so keywords and punctuation are passed
    in and skipped here. Each statement rule builds the class of that name (`__getattr__`);
    `path` is set for each file before it is parsed."""

    path = ""

    def _span(self, children) -> Span:
        first = children[0]
        return Span(self.path, first.line, first.column, *_end(children[-1]))

    def _word(self, token: Token) -> ast.Word:
        span = _span(self.path, token)
        if token.type == "STRING":
            return ast.Word(_unquote(token.value), span, quoted=True)
        return ast.Word(token.value, span)

    def name(self, children):
        return self._word(children[0])

    word = name

    def id_range(self, children):
        low, high = children[0], children[-1]
        text = low if len(children) == 1 else f"{low}..{high}"
        return ast.IdRange(_number(low), _number(high), self._span(children), text)

    def words(self, children):
        first = children[0]
        if isinstance(first, Token):
            words = ast.Words(first.type.lower())  # `any` or `none`
        else:
            words = ast.Words("list", tuple(c for c in children if isinstance(c, ast.Word)))
        return _Part(words, _end(children[-1]))

    def ids(self, children):
        first = children[0]
        ranges = tuple(c for c in children if isinstance(c, ast.IdRange))
        mode = first.type.lower() if isinstance(first, Token) else "ranges"  # any | none
        return _Part(ast.Ids(mode, ranges, isinstance(children[-1], _Part)), _end(children[-1]))

    def if_set(self, children):
        return _Part(True, _end(children[-1]))

    def selinux(self, children):
        options = tuple(c.value for c in children if isinstance(c, _Part))
        modes = [c.type.lower() for c in children[1:] if isinstance(c, Token)]
        return ast.Selinux(self._span(children), options, modes[0] if modes else "options")

    def host_namespace(self, children):
        return self._word(children[0])

    def selinux_field(self, children):
        return str(children[0])

    def selinux_option(self, children):
        return _Part((children[0], children[1]), _end(children[1]))

    def host_path(self, children):
        return _Part(ast.HostPath(children[0], len(children) > 1), _end(children[-1]))

    # -- statements -------------------------------------------------------------------

    def __getattr__(self, rule: str):
        """A statement rule: the class of that name, built from its arguments in order.

        Keywords are dropped (their words are the class), `allow`/`deny` becomes `allow`,
        and each shape takes its arguments as the grammar rule lists them."""
        node = ast.STATEMENTS.get(rule)
        if node is None:
            raise AttributeError(rule)
        return partial(self._statement, node)

    def _statement(self, node: type[ast.Statement], children):
        allow, args = None, []
        for child in children:
            if isinstance(child, _Part):
                args.append(child.value)
            elif not isinstance(child, Token):
                args.append(child)
            elif child.type in ("ALLOW", "DENY"):
                allow = child.type == "ALLOW"
            elif child.type in ("STRING", "PSS_VERSION"):
                args.append(self._word(child))
        span = self._span(children)
        if issubclass(node, ast.Verdict):
            if node is ast.HostPorts or node is ast.HostNamespaces:
                return node(span, allow, tuple(args))
            return node(span, allow)
        if issubclass(node, (ast.Names, ast.AllowHostPaths, ast.RunAsNonRoot)):
            return node(span, tuple(args))
        return node(span, *args)

    def policy(self, children):
        extends = children[2].value if isinstance(children[2], _Part) else None
        body = children[4 if extends else 3:-1]
        return ast.PolicyDecl(children[1], extends, tuple(body), self._span(children))

    def extends(self, children):
        return _Part(children[1], _end(children[1]))

    def binding(self, children):
        subjects = tuple(c for c in children if isinstance(c, ast.Subject))
        scope = children[-1].value if isinstance(children[-1], _Part) else ("namespace", ())
        return ast.BindingDecl(children[1], subjects, scope[1], self._span(children), scope[0])

    def scope(self, children):
        names = tuple(c for c in children if isinstance(c, ast.Word))
        keyword = "namespaces" if len(names) > 1 else "namespace"
        return _Part((keyword, names), _end(children[-1]))

    def _subject(kind):  # noqa: N805 - a factory used at class creation
        def build(self, children):
            name = children[-1] if isinstance(children[-1], ast.Word) else None
            return ast.Subject(kind, name, self._span(children))

        return build

    user = _subject("user")
    group = _subject("group")
    service_account = _subject("service_account")
    namespace_service_accounts = _subject("namespace_service_accounts")
    all_service_accounts = _subject("all_service_accounts")
    del _subject

    def namespace_decl(self, children):
        clauses = [c.value for c in children[2:]]
        levels = tuple(c[1] for c in clauses if c[0] == "level")
        versions = tuple(c[1] for c in clauses if c[0] == "version")
        force = next((c[1] for c in clauses if c[0] == "force"), None)
        return ast.NamespaceDecl(children[1], levels, versions, force is not None,
                                 self._span(children), force)

    def psa_level(self, children):
        return _Part(("level", (str(children[0]), children[1])), _end(children[1]))

    def psa_version(self, children):
        return _Part(("version", children[1]), _end(children[1]))

    def psa_force(self, children):
        return _Part(("force", self._span(children)), _end(children[0]))

    def start(self, children):
        return tuple(children)


@lru_cache(maxsize=4096)
def _parse(text: str, path: str) -> ast.SourceFile:
    """The AST of one file's text. Cached: `pspc import` compiles each source it writes
    several times (to choose it, to check it, to check all together)."""
    parser = _parser()
    parser.comments.clear()
    parser.build.path = path
    items = parser.lark.parse(text)
    comments = tuple(ast.Comment(t.value, _span(path, t)) for t in parser.comments)
    return ast.SourceFile(path, text, items, comments)


def parse_text(text: str, path: str, diags: Diagnostics) -> ast.SourceFile | None:
    """Parse one file's text; on a syntax error report it and return None."""
    try:
        return _parse(text, path)
    except UnexpectedInput as exc:
        _report_syntax_error(exc, text, path, diags, _parser())
        return None


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
        found = _character(text[exc.pos_in_stream])
        allowed = exc.allowed
        if text[exc.pos_in_stream] == '"' and "STRING" in (allowed or ()):
            diags.error("E001", "syntax error: unterminated string",
                        Span(path, line, column, line, column + 1),
                        help='close it with `"` on the same line (`\\n` writes a line break)')
            return
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


def _character(char: str) -> str:
    """How an error names a character: itself, or its code point where it shows as a blank
    (a no-break space) or not at all."""
    if char.isprintable() and not char.isspace():
        return f"character `{char}`"
    name = unicodedata.name(char, "").lower()
    return f"character U+{ord(char):04X}" + (f" ({name})" if name else "")


def _one_of(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) > 8:
        return ", ".join(items[:8]) + f" or one of {len(items) - 8} more"
    return ", ".join(items[:-1]) + f" or {items[-1]}"
