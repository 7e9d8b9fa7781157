"""A quick driver for the LALR tables of `tokens.parser()` that builds the AST as it reduces.

`quick_parse(text, builder)` lexes `text` (`quick_tokens`: the tokens of Lark's basic lexer, made by
a plainer loop, through `PARSE_FILTER`), runs the same parse table as Lark's parser, and calls the `_Builder` methods (through Lark's own callback wrappers) at
each reduction: no parse tree, and none of Lark's per-token overhead.  Rules are reduced in the order
a post-order walk of Lark's tree would visit them, so the AST and the diagnostics are the same as
`parser().parse` followed by `_Builder.transform`.

It does not recover from errors: on any syntax error (a stray character included) (or an exception in a builder method) it
raises `QuickParseFailed`, and the caller parses again the slow way, which reports them.
"""
from __future__ import annotations

import re
from functools import lru_cache

from lark import Token
from lark.lexer import PatternStr, UnlessCallback
from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift

from .tokens import PARSE_FILTER, parser


class QuickParseFailed(Exception):
    """The quick parse met something it leaves to the recovering parser."""


@lru_cache(maxsize=1)
def _tables():
    """(actions per state, start state, end state, rules in callback order).  An action is an int
    (shift to that state), a str (reduce a `?rule: x` of one symbol to that nonterminal: Lark's
    callback hands x back unchanged) or (size, rule index, the rule's nonterminal)."""
    lark = parser()
    inner = lark.parser.parser.parser                      # ParsingFrontend -> LALR_Parser -> _Parser
    table = inner.parse_table
    builders = lark._parse_tree_builder.rule_builders
    rules = [rule for rule, _ in builders]
    index = {rule: i for i, rule in enumerate(rules)}
    unit = {rule for rule, chain in builders if len(rule.expansion) == 1 and chain == [ExpandSingleChild]}
    states = {}
    for state, acts in table.states.items():
        row = {}
        for name, (action, arg) in acts.items():
            if action is Shift:
                row[name] = arg
            elif arg in unit:
                row[name] = arg.origin.name
            else:
                row[name] = (len(arg.expansion), index[arg], arg.origin.name)
        states[state] = row
    n = max(states) + 1
    dense = [states.get(s, {}) for s in range(n)]
    return dense, table.start_states["start"], table.end_states["start"], rules


@lru_cache(maxsize=1)
def _lexer():
    """(a regex: the ignored text (blanks, comments) possessively, then the scanner's; the ignored text
    alone; keyword type by spelling for IDENTIFIER; types that may hold a newline), from Lark's basic
    lexer; None where it is not the plain case this module repeats.  Skipping the ignored text first
    matches what Lark does: no terminal ordered before it starts with a blank, '/' or '\\'."""
    lx = parser().parser.lexer.lexer
    scanner = lx.scanner                                    # builds lx.callback too
    unless = lx.callback.get("IDENTIFIER")
    ignored = [t for t in scanner.terminals if t.name in lx.ignore_types]
    if len(scanner._mres) != 1 or set(lx.callback) != {"IDENTIFIER"} or not isinstance(unless, UnlessCallback) \
            or len(unless.scanner._mres) != 1 or len(ignored) != 1 or lx.re is not re:
        return None
    before = scanner.terminals[:scanner.terminals.index(ignored[0])]
    if any(re.match(t.pattern.to_regexp(), c) for t in before for c in " \t\f\r\n/\\"):
        return None
    keywords: dict[str, str] = {}
    for t in unless.scanner.terminals:
        if not isinstance(t.pattern, PatternStr) or t.pattern.flags:
            return None
        keywords.setdefault(t.pattern.value, t.name)
    master, skip = scanner._mres[0], ignored[0].pattern.to_regexp()
    return (re.compile(f"(?:{skip})?+(?:{master.pattern})", master.flags).match,
            re.compile(skip, master.flags).match, keywords, lx.newline_types)


def quick_tokens(text: str):
    """The tokens Lark's basic lexer makes of `text` (type, value, positions alike); QuickParseFailed at
    a character no terminal matches."""
    match, skip, keywords, newline_types = _lexer()
    new = str.__new__
    pos, end, line, line_start = 0, len(text), 1, 0
    while pos < end:
        m = match(text, pos)
        if m is None:
            m = skip(text, pos)
            if m is not None and m.end() == end:       # blanks at the end
                return
            raise QuickParseFailed()
        kind = m.lastgroup
        start, stop = m.span(kind)
        if start != pos and "\n" in text[pos:start]:
            line += text.count("\n", pos, start)
            line_start = text.rindex("\n", pos, start) + 1
        value = m.group(kind)
        if kind in newline_types and "\n" in value:
            end_line = line + value.count("\n")
            end_start = start + value.rindex("\n") + 1
        else:
            end_line, end_start = line, line_start
        t = new(Token, value)
        t.type = keywords.get(value, kind) if kind == "IDENTIFIER" else kind
        t.start_pos, t.value, t.line, t.column = start, value, line, start - line_start + 1
        t.end_line, t.end_column, t.end_pos = end_line, stop - end_start + 1, stop
        yield t
        pos, line, line_start = stop, end_line, end_start


def quick_parse(text: str, builder):
    """The AST of preprocessed `text`, built by `builder` (a `_Builder`); QuickParseFailed on a
    syntax error or any exception (PARSE_FILTER is then in an unknown state: reset it)."""
    if _lexer() is None:
        raise QuickParseFailed()
    states, start, end, rules = _tables()
    made = lark_callbacks(builder)
    cbs = [made[r] for r in rules]
    stream = PARSE_FILTER.process(quick_tokens(text))
    stack = [start]
    values: list = []
    push_state, push_value = stack.append, values.append
    state = start
    try:
        for token in stream:
            ttype = token.type
            while True:
                act = states[state].get(ttype)
                if act.__class__ is int:                 # shift
                    push_state(act)
                    push_value(token)
                    state = act
                    break
                if act.__class__ is str:                 # a one-symbol ?rule: its value stays
                    state = stack[-1] = states[stack[-2]][act]
                    continue
                if act is None:
                    raise QuickParseFailed()
                size, rule, origin = act
                if size:
                    args = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    args = []
                push_value(cbs[rule](args))
                state = states[stack[-1]][origin]
                push_state(state)
        while True:                                      # then $END: reduce until the end state
            act = states[state].get("$END")
            if act.__class__ is str:
                state = stack[-1] = states[stack[-2]][act]
            else:
                if act is None or act.__class__ is int:
                    raise QuickParseFailed()
                size, rule, origin = act
                if size:
                    args = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    args = []
                push_value(cbs[rule](args))
                state = states[stack[-1]][origin]
                push_state(state)
            if state == end:
                return values[-1]
    except QuickParseFailed:
        raise
    except Exception as e:
        raise QuickParseFailed() from e


def lark_callbacks(builder) -> dict:
    """Lark's callback per rule, calling `builder`'s methods (its `__default__` for the others)."""
    return parser()._parse_tree_builder.create_callback(builder)
