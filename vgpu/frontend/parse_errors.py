"""Syntax errors and recovery: a Lark `on_error` handler that reports each error once, as a C
compiler words it ("expected ';' before 'x'", "unknown type name 'matrix'", "stray '@' in program"),
then repairs (inserting a missing `;` `)` `]`) or resynchronises at the next `;` or `}`, so one run
reports several errors."""
from __future__ import annotations

import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..diagnostics import Reporter, Span
from .preprocess import LineMap
from .tokens import PARSE_FILTER, spellings, unsupported_message

PREFERRED = ["';'", "')'", "']'", "'}'", "':'", "'('", "'{'", "'='", "','"]
CLOSERS = ["')'", "']'", "'}'", "';'"]          # what is most likely missing at the end of the input


def _acceptable(e: UnexpectedToken) -> set[str]:
    """The terminals the parser could really take where `e` happened (its table's list is wider)."""
    ok = set()
    for name in e.interactive_parser.choices():
        if name.isupper() or name == "$END":
            trial = e.interactive_parser.copy(deepcopy_values=False)
            try:
                trial.feed_token(Token(name, ""))
                ok.add(name)
            except UnexpectedInput:
                pass
    return ok


_NOT_YET_TYPES = ("__nv_bfloat16", "__nv_bfloat162")


def _unknown_type_message(name: str) -> str:
    if name in _NOT_YET_TYPES:
        return f"type '{name}' is not supported yet"
    if name in ("__half", "half", "__half2", "half2"):
        return f"unknown type name '{name}' (it is declared in <cuda_fp16.h>)"
    return f"unknown type name '{name}'"


class Recovery:
    """Lark `on_error` handler: reports each error once, then repairs or resynchronises."""
    MAX_ERRORS = 200

    def __init__(self, reporter: Reporter, lines: LineMap, text: str):
        self.reporter, self.lines, self.text = reporter, lines, text
        self.calls = 0
        self.last_bad = -1          # end offset of the last stray character reported

    def __call__(self, e: UnexpectedInput) -> bool:
        self.calls += 1
        if self.calls > self.MAX_ERRORS:
            return False
        if isinstance(e, UnexpectedCharacters):
            return self._stray(e)
        assert isinstance(e, UnexpectedToken)
        tok = e.token
        span = self._span(tok)
        if tok.value == "/" and self.text.startswith("/*", tok.start_pos):
            self.reporter.error(span, "unterminated comment")
            return False
        if tok.type == "$END":
            self.reporter.error(span, f"expected {self._expected(_acceptable(e), at_end=True)} at end of input")
            return False
        if tok.type in ("UNSUPPORTED", "OPERATOR") or (tok.value == "[" and "INT" in e.expected):
            what = unsupported_message(tok.value) or "lambda expressions are not supported"
            self.reporter.error(span, what)
            return self._resync(e, skip=True)
        unknown = self._unknown_type(tok)
        acceptable = _acceptable(e)
        if not unknown and tok.type == "IDENTIFIER" and "TYPE_NAME" in acceptable and "INT" not in acceptable:
            unknown = span, _unknown_type_message(tok.value)
        if unknown:
            self.reporter.error(*unknown)
        else:
            self.reporter.error(span, self._message(tok, acceptable))
        return self._insert(e) or self._resync(e, skip=tok.value not in (";", "}"))

    UNKNOWN_TYPE = re.compile(r"(?:^|[;{}])\s*([A-Za-z_]\w*)\s*\**\s*$")

    def _unknown_type(self, tok: Token) -> tuple[Span, str] | None:
        """`matrix m;`: an unknown name where a declaration's type stands -> (span, message), else None."""
        if tok.type != "IDENTIFIER" or tok.start_pos is None:
            return None
        m = self.UNKNOWN_TYPE.search(self.text, max(0, tok.start_pos - 200), tok.start_pos)
        if not m or m[1] in _KEYWORDS:
            return None
        pos = m.start(1)
        line = self.text.count("\n", 0, pos) + 1
        col = pos - self.text.rfind("\n", 0, pos)
        return self.lines.span(line, col, line, col + len(m[1])), _unknown_type_message(m[1])

    def _stray(self, e: UnexpectedCharacters) -> bool:
        """Report a character no token starts with; go on after it (but not after an open comment)."""
        pos, c = e.pos_in_stream, self.text[e.pos_in_stream]
        span = self.lines.span(e.line, e.column, e.line, e.column + 1)
        if self.text.startswith("/*", pos):
            self.reporter.error(span, "unterminated comment")
            return False
        if pos != self.last_bad:
            self.reporter.error(span, f"missing terminating {c} character" if c in "\"'" else
                                f"stray {c!r} in program")
        self.last_bad = pos + 1
        return True

    def _insert(self, e: UnexpectedToken) -> bool:
        """Repair a missing ';' ')' or ']' when the bad token fits after it."""
        for name in ("SEMICOLON", "RPAR", "RSQB"):
            fix = Token(name, {"SEMICOLON": ";", "RPAR": ")", "RSQB": "]"}[name])
            trial = e.interactive_parser.copy(deepcopy_values=False)
            try:
                trial.feed_token(fix)
                trial.feed_token(e.token)
            except UnexpectedInput:
                continue
            e.interactive_parser.feed_token(fix)
            e.interactive_parser.feed_token(e.token)
            return True
        return False

    def _resync(self, e: UnexpectedToken, skip: bool) -> bool:
        """Drop input to the next ';' or '}' and unwind the parser to where a ';' ends something."""
        PARSE_FILTER.skipping, PARSE_FILTER.skip_depth = skip, 0
        ip = e.interactive_parser
        semi = Token("SEMICOLON", ";")
        states, values = ip.parser_state.state_stack, ip.parser_state.value_stack
        for _ in range(len(states)):
            trial = ip.copy(deepcopy_values=False)
            try:
                trial.feed_token(semi)
                if e.token.value == "}":
                    trial.feed_token(e.token)
            except UnexpectedInput:
                if len(states) <= 1:
                    return True
                states.pop()
                values.pop()
                continue
            ip.feed_token(semi)
            if e.token.value == "}":
                ip.feed_token(e.token)
            return True
        return True

    def _span(self, tok: Token) -> Span:
        if tok.type == "$END" or tok.line is None:
            last = len(self.lines.lines)
            return self.lines.span(last, len(self.text.rsplit("\n", 1)[-1]) + 1)
        return self.lines.span(tok.line, tok.column, tok.end_line, tok.end_column)

    def _message(self, tok: Token, acceptable: set[str]) -> str:
        if tok.value == "}" and "$END" in acceptable:
            return "extraneous closing brace ('}')"
        return f"expected {self._expected(acceptable)} before {self._describe(tok)}"

    @staticmethod
    def _expected(expected: set[str], at_end: bool = False) -> str:
        spelled = {spellings().get(name, name) for name in expected}
        for want in CLOSERS if at_end else PREFERRED[:4]:
            if want in spelled:
                return want
        if "INT" in expected:
            return "expression"
        if "IDENTIFIER" in expected:
            return "identifier"
        for want in PREFERRED[4:]:
            if want in spelled:
                return want
        return " or ".join(sorted(spelled)[:3]) or "end of input"

    @staticmethod
    def _describe(tok: Token) -> str:
        text = tok.value if len(tok.value) <= 20 else tok.value[:17] + "..."
        return f"'{text}'"


_KEYWORDS = frozenset("return goto case sizeof else do typedef struct union enum const volatile static extern "
                      "unsigned signed register inline".split())
