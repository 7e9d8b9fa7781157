"""A quick driver for the LALR tables of `tokens.parser()` that builds the AST as it reduces.

`quick_parse(text, builder)` lexes `text` (`parse_lex.quick_tokens`: the tokens of Lark's basic
lexer, made by a plainer loop, through `PARSE_FILTER`), runs the same parse table as Lark's parser,
and calls the `_Builder` methods (through Lark's own callback wrappers) at each reduction: no parse
tree, and none of Lark's per-token overhead.  Rules are reduced in the order a post-order walk of
Lark's tree would visit them, so the AST and the diagnostics are the same as `parser().parse`
followed by `_Builder.transform`.

It does not recover from errors: on any syntax error (a stray character included) or exception in
a builder method it raises `QuickParseFailed`, and the caller parses again the slow way, which
reports them.
"""
from __future__ import annotations

from functools import lru_cache

from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift

from .parse_lex import QuickParseFailed, lexer_tables, quick_tokens
from .tokens import PARSE_FILTER, parser


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
            # names as plain str: a parser Lark has just built (not loaded from its cache) names rules
            # with Tokens, which the loop's `act.__class__ is str` would take for a reduction
            name = str(name)
            if action is Shift:
                row[name] = arg
            elif arg in unit:
                row[name] = str(arg.origin.name)
            else:
                row[name] = (len(arg.expansion), index[arg], str(arg.origin.name))
        states[state] = row
    n = max(states) + 1
    dense = [states.get(s, {}) for s in range(n)]
    return dense, table.start_states["start"], table.end_states["start"], rules


_FREE: list = []        # (builder, its callbacks in rule order) not in use: made once, not per parse


def quick_parse(text: str, builder_class, *args):
    """The AST of preprocessed `text`, built by a `builder_class(*args)` (a `_Builder`); QuickParseFailed
    on a syntax error or any exception (PARSE_FILTER is then in an unknown state: reset it)."""
    try:                                 # Lark's insides, as this Lark version has them
        if lexer_tables() is None:
            raise QuickParseFailed()
        states, start, end, rules = _tables()
        pair = _FREE.pop() if _FREE else None
        if pair is not None and pair[0].__class__ is builder_class:
            pair[0].__init__(*args)      # a builder's state is what its __init__ sets
        else:
            builder = builder_class(*args)
            made = lark_callbacks(builder)
            pair = builder, [made[r] for r in rules]
    except Exception as e:
        raise QuickParseFailed() from e
    try:
        return _run(text, states, start, end, pair[1])
    finally:
        pair[0].__init__(*[None] * len(args))    # holds no source or reporter meanwhile
        _FREE.append(pair)


def _run(text: str, states, start, end, cbs):
    """The LALR loop of `quick_parse`: reduce with `cbs`, the callbacks in rule order."""
    stream = PARSE_FILTER.process(quick_tokens(text))
    stack = [start]
    values: list = []
    push_state, push_value = stack.append, values.append
    state = start

    def reduce(act):
        """Pop the rule's symbols, push its callback's value and the state after it; the new state."""
        size, rule, origin = act
        if size:
            args = values[-size:]
            del stack[-size:]
            del values[-size:]
        else:
            args = []
        push_value(cbs[rule](args))
        new = states[stack[-1]][origin]
        push_state(new)
        return new
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
                state = reduce(act)
        while True:                                      # then $END: reduce until the end state
            act = states[state].get("$END")
            if act.__class__ is str:
                state = stack[-1] = states[stack[-2]][act]
            else:
                if act is None or act.__class__ is int:
                    raise QuickParseFailed()
                state = reduce(act)
            if state == end:
                return values[-1]
    except QuickParseFailed:
        raise
    except Exception as e:
        raise QuickParseFailed() from e


def lark_callbacks(builder) -> dict:
    """Lark's callback per rule, calling `builder`'s methods (its `__default__` for the others)."""
    return parser()._parse_tree_builder.create_callback(builder)
