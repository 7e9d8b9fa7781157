"""A quick driver for the LALR tables of `tokens.parser()` that builds the AST as it reduces.

`quick_parse(text, builder)` lexes `text` (Lark's lexer and `PARSE_FILTER`), runs the same parse
table as Lark's parser, and calls the `_Builder` methods (through Lark's own callback wrappers) at
each reduction: no parse tree, and none of Lark's per-token overhead.  Rules are reduced in the order
a post-order walk of Lark's tree would visit them, so the AST and the diagnostics are the same as
`parser().parse` followed by `_Builder.transform`.

It does not recover from errors: on any syntax error (or an exception in a builder method) it
raises `QuickParseFailed`, and the caller parses again the slow way, which reports them.
"""
from __future__ import annotations

from functools import lru_cache

from lark import Token
from lark.lexer import LexerState
from lark.utils import TextSlice
from lark.parsers.lalr_analysis import Shift

from .tokens import PARSE_FILTER, parser


class QuickParseFailed(Exception):
    """The quick parse met something it leaves to the recovering parser."""


@lru_cache(maxsize=1)
def _tables():
    """(actions per state, start state, end state, rules in callback order, the basic lexer).
    An action is an int (shift to that state) or (size, rule index, rule's nonterminal)."""
    lark = parser()
    inner = lark.parser.parser.parser                      # ParsingFrontend -> LALR_Parser -> _Parser
    table = inner.parse_table
    rules = [rule for rule, _ in lark._parse_tree_builder.rule_builders]
    index = {rule: i for i, rule in enumerate(rules)}
    states = {}
    for state, acts in table.states.items():
        row = {}
        for name, (action, arg) in acts.items():
            row[name] = arg if action is Shift else (len(arg.expansion), index[arg], arg.origin.name)
        states[state] = row
    n = max(states) + 1
    dense = [states.get(s, {}) for s in range(n)]
    return dense, table.start_states["start"], table.end_states["start"], rules, lark.parser.lexer.lexer


def quick_parse(text: str, builder):
    """The AST of preprocessed `text`, built by `builder` (a `_Builder`); QuickParseFailed on a
    syntax error or any exception (PARSE_FILTER is then in an unknown state: reset it)."""
    states, start, end, rules, lexer = _tables()
    made = lark_callbacks(builder)
    cbs = [made[r] for r in rules]
    stream = PARSE_FILTER.process(lexer.lex(LexerState(TextSlice.cast_from(text)), None))
    stack = [start]
    values: list = []
    push_state, push_value = stack.append, values.append
    token = None
    try:
        for token in stream:
            ttype = token.type
            while True:
                act = states[stack[-1]].get(ttype)
                if act.__class__ is int:
                    push_state(act)
                    push_value(token)
                    break
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
                push_state(states[stack[-1]][origin])
        token = Token.new_borrow_pos("$END", "", token) if token is not None else Token("$END", "", 0, 1, 1)
        while True:
            act = states[stack[-1]].get("$END")
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
            push_state(states[stack[-1]][origin])
            if stack[-1] == end:
                return values[-1]
    except QuickParseFailed:
        raise
    except Exception as e:
        raise QuickParseFailed() from e


def lark_callbacks(builder) -> dict:
    """Lark's callback per rule, calling `builder`'s methods (its `__default__` for the others)."""
    return parser()._parse_tree_builder.create_callback(builder)
