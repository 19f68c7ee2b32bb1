"""Lark's contextual lexer without its per-token overhead.

Lark's ContextualLexer builds one scanner per parser state (the terminals that state accepts)
and then, for every token and every run of blanks, goes through a generator, a line counter
object, a Token constructor and a callback lookup. This subclass keeps Lark's scanners, their
order and their keyword rules exactly (it reads them from the lexers Lark built) and runs a
tighter loop: one regular-expression match per token on the state's pattern, which skips the
blanks before the token (no terminal of the grammar starts with a blank, so skipping them
first is what matching them as an ignored token does), keywords told from words by a
dictionary instead of a second regex, and line and column counted inline. Where the pattern
matches nothing, it hands the position back to Lark's own loop, so every lexical error is
raised by Lark itself, word for word as before.

One rule differs from Lark's, on purpose: a keyword ends where a word does. Where a parser
state accepts a keyword but no name, Lark matches the keyword as a prefix of a longer word,
so `in namespaces shop` read as `in namespace` and the namespace `s`, `bind a to groupdevs`
bound the group `devs`. Here a keyword followed by more of a word is that whole word (a
WORD), which the parser then refuses where it expects the keyword, at the word's position.

It is plugged in through Lark's `_plugins` option (how lark_cython replaces the same class),
which gives it the terminals each state of the parse table accepts, as to the class it
replaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from lark import Token
from lark.lexer import BasicLexer, ContextualLexer, UnlessCallback

BLANK = "WS"  # the ignored terminal of blanks (%import common.WS), skipped before each token
WORD = "WORD"  # the terminal of names: a keyword followed by more of one is one
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z-]*")


class _State(NamedTuple):
    """What one parser state lexes: its compiled pattern and, by the number of the group
    that matched, the terminal's name, the keywords it turns into when its text is exactly
    one, its callback, whether it is skipped or may span lines, and whether it is a keyword
    (which must not be followed by more of a word)."""

    match: Callable
    groups: dict[int, tuple[str, dict[str, str] | None, Callable | None, bool, bool, bool]]

    @classmethod
    def of(cls, lexer: BasicLexer, blank: str) -> _State:
        scanner = lexer.scanner  # builds the pattern and lexer.callback
        (pattern,) = scanner._mres  # one pattern: a state has far fewer than 100 terminals
        groups = {}
        keywords_of = {t.name for t in lexer.terminals
                       if t.pattern.type == "str" and _KEYWORD.fullmatch(t.pattern.value)}
        for name, number in pattern.groupindex.items():
            callback = lexer.callback.get(name)
            keywords = None
            if isinstance(callback, UnlessCallback):
                strings = callback.scanner.terminals
                assert not any(t.pattern.flags for t in strings), "keywords are case-sensitive"
                keywords, callback = {t.pattern.value: t.name for t in strings}, None
            groups[number] = (name, keywords, callback, name in lexer.ignore_types,
                              name in lexer.newline_types, name in keywords_of)
        match = re.compile(f"(?:{blank})?(?:{pattern.pattern})", pattern.flags).match
        return cls(match, groups)


class _States(dict):
    """The _State of each parser state, made when the state first lexes (as Lark compiles
    its scanners: a short file needs a few of them, and `pspc check` starts faster)."""

    def __init__(self, lexers: dict[int, BasicLexer], blank: str) -> None:
        super().__init__()
        self.lexers, self.blank = lexers, blank
        self.shared: dict[int, _State] = {}  # Lark shares a lexer between states alike

    def __missing__(self, state: int) -> _State:
        lexer = self.lexers[state]
        if id(lexer) not in self.shared:
            self.shared[id(lexer)] = _State.of(lexer, self.blank)
        self[state] = self.shared[id(lexer)]
        return self[state]


class FastContextualLexer(ContextualLexer):
    """Lark's ContextualLexer, same tokens and errors, with a tight scanning loop."""

    def __init__(self, conf, states, always_accept=()) -> None:
        super().__init__(conf, states, always_accept)
        assert BLANK in conf.ignore and BLANK not in conf.callbacks, "blanks are skipped"
        self.states = _States(self.lexers, conf.terminals_by_name[BLANK].pattern.to_regexp())
        self.word = re.compile(conf.terminals_by_name[WORD].pattern.to_regexp()).match

    def lex(self, lexer_state, parser_state):
        text = lexer_state.text
        source, end = text.text, text.end
        counter = lexer_state.line_ctr
        pos, line, line_start = counter.char_pos, counter.line, counter.line_start_pos
        stack, states, word = parser_state.state_stack, self.states, self.word
        token = lexer_state.last_token
        while pos < end:
            match, groups = states[stack[-1]]
            found = match(source, pos)
            if found is None:
                break
            group = found.lastindex
            type_, keywords, callback, ignored, newlines, keyword = groups[group]
            value = found.group(group)
            skipped, pos = pos, found.end()
            start = pos - len(value)
            if keyword and (longer := word(source, start)) and longer.end() > pos:
                type_, value, pos = WORD, longer.group(), longer.end()  # not this keyword
            if start > skipped:  # blanks before the token
                count = source.count("\n", skipped, start)
                if count:
                    line += count
                    line_start = source.rindex("\n", skipped, start) + 1
            start_line, column = line, start - line_start + 1
            if newlines:
                count = value.count("\n")
                if count:
                    line += count
                    line_start = start + value.rindex("\n") + 1
            if ignored and callback is None:
                continue
            kind = type_ if keywords is None else keywords.get(value, type_)
            new = Token(kind, value, start, start_line, column, line, pos - line_start + 1, pos)
            if callback is not None:
                new = callback(new)
            if not ignored:
                token = new
                yield new
        counter.char_pos, counter.line, counter.line_start_pos = pos, line, line_start
        counter.column = pos - line_start + 1
        lexer_state.last_token = token
        if pos < end:  # nothing matches here: Lark's own loop raises the error
            yield from super().lex(lexer_state, parser_state)
