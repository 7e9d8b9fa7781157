"""The tokens of Lark's basic lexer for `vk.lark`, made by a plainer loop (for `parse_lalr`).

`quick_tokens(text)` yields the same `Token`s as `parser().lex(text)` before the postlexer: same
types (keywords retyped from IDENTIFIER as Lark's UnlessCallback does), values and positions.  It
picks the terminal the way Lark's scanner does (the first, in Lark's order, to match), but tries
only those whose first character can be the one at hand (a table by character, from each pattern's
set of possible first characters, erring on the side of more), and skips the ignored text (blanks,
comments) with its own pattern first.  At a character no terminal matches it raises
`QuickParseFailed`, leaving the diagnostic to Lark.
"""
from __future__ import annotations

import re
from functools import lru_cache

try:
    from re import _constants as C, _parser as P
except ImportError:                                          # Python 3.10
    import sre_constants as C
    import sre_parse as P

from lark import Token
from lark.lexer import PatternStr, UnlessCallback

from .tokens import parser


class QuickParseFailed(Exception):
    """The quick parse met something it leaves to the recovering parser."""


def first_chars(pattern: str) -> set[str] | None:
    """The characters a match of the regex `pattern` can start with (a superset), or None when
    not known (it can be empty, or is too complex to tell)."""
    parsed = P.parse(pattern)
    if parsed.state.flags & re.IGNORECASE:
        return None
    f, nullable = _first(parsed)
    return None if f is None or nullable else f


_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT))


def _first(items) -> tuple[set[str] | None, bool]:
    out: set[str] = set()
    for op, av in items:
        f, nullable = _first_op(op, av)
        if f is None:
            return None, False
        out |= f
        if not nullable:
            return out, False
    return out, True


def _first_op(op, av) -> tuple[set[str] | None, bool]:
    if op is C.LITERAL:
        return {chr(av)}, False
    if op is C.IN:
        chars: set[str] = set()
        for o, a in av:
            if o is C.LITERAL:
                chars.add(chr(a))
            elif o is C.RANGE and a[1] - a[0] < 256:
                chars |= {chr(c) for c in range(a[0], a[1] + 1)}
            else:
                return None, False
        return chars, False
    if op is C.SUBPATTERN:
        return (None, False) if av[1] & re.IGNORECASE else _first(av[-1])
    if op is C.BRANCH:
        chars, nullable = set(), False
        for alt in av[1]:
            f, n = _first(alt)
            if f is None:
                return None, False
            chars |= f
            nullable = nullable or n
        return chars, nullable
    if op in _REPEATS:
        lo, _, item = av
        f, n = _first(item)
        return (None, False) if f is None else (f, n or lo == 0)
    return None, False


@lru_cache(maxsize=1)
def lexer_tables():
    """(the ignored text's match and first characters, the match by first character (ASCII), the
    whole scanner's match, keyword type by spelling for IDENTIFIER, types that may hold a newline),
    from Lark's basic lexer; None where it is not the plain case this module repeats."""
    lx = parser().parser.lexer.lexer
    scanner = lx.scanner                                    # builds lx.callback too
    unless = lx.callback.get("IDENTIFIER")
    terms = scanner.terminals
    ignored = [t for t in terms if t.name in lx.ignore_types]
    if len(scanner._mres) != 1 or set(lx.callback) != {"IDENTIFIER"} or not isinstance(unless, UnlessCallback) \
            or len(unless.scanner._mres) != 1 or len(ignored) != 1 or lx.re is not re:
        return None
    keywords: dict[str, str] = {}
    for t in unless.scanner.terminals:
        if not isinstance(t.pattern, PatternStr) or t.pattern.flags:
            return None
        keywords.setdefault(t.pattern.value, t.name)
    firsts = {t.name: first_chars(t.pattern.to_regexp()) for t in terms}
    skip_first = firsts[ignored[0].name]
    before = terms[:terms.index(ignored[0])]
    if skip_first is None or any(firsts[t.name] is None or firsts[t.name] & skip_first for t in before):
        return None                     # skipping the ignored text first might not be what Lark does
    master = scanner._mres[0]
    if master.flags & re.IGNORECASE:
        return None
    by_char = {}
    for code in range(128):
        c = chr(code)
        chosen = [t for t in terms if t is not ignored[0] and (firsts[t.name] is None or c in firsts[t.name])]
        if chosen:
            by_char[c] = re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in chosen),
                                    master.flags).match
    skip = re.compile(ignored[0].pattern.to_regexp(), master.flags).match
    return skip, frozenset(skip_first), by_char, master.match, keywords, lx.newline_types


def quick_tokens(text: str):
    """The tokens Lark's basic lexer makes of `text` (type, value, positions alike); QuickParseFailed at
    a character no terminal matches."""
    skip, skip_first, by_char, master, keywords, newline_types = lexer_tables()
    new = str.__new__
    get = by_char.get
    pos, end, line, line_start = 0, len(text), 1, 0
    while pos < end:
        c = text[pos]
        if c in skip_first:
            m = skip(text, pos)
            if m is not None:
                stop = m.end()
                if "\n" in text[pos:stop]:
                    line += text.count("\n", pos, stop)
                    line_start = text.rindex("\n", pos, stop) + 1
                pos = stop
                if pos == end:
                    return
                c = text[pos]
        m = get(c, master)(text, pos)
        if m is None:
            raise QuickParseFailed()
        kind = m.lastgroup
        value = m.group()
        stop = pos + len(value)
        if kind in newline_types and "\n" in value:
            end_line = line + value.count("\n")
            end_start = pos + value.rindex("\n") + 1
        else:
            end_line, end_start = line, line_start
        t = new(Token, value)
        t.type = keywords.get(value, kind) if kind == "IDENTIFIER" else kind
        t.start_pos, t.value, t.line, t.column = pos, value, line, pos - line_start + 1
        t.end_line, t.end_column, t.end_pos = end_line, stop - end_start + 1, stop
        yield t
        pos, line, line_start = stop, end_line, end_start
