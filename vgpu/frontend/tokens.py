"""The token stream between Lark's lexer and its parser, and the parser itself.

`PARSE_FILTER` (a Lark postlexer) retypes IDENTIFIERs that name types as TYPE_NAME, tracking
`typedef`s as they go by, and C++-only keywords as UNSUPPORTED; after a syntax error it drops tokens
up to the next `;` or `}` (the recovery in `vgpu.frontend.parse_errors` switches it on).
`parser()` is the LALR parser of `vk.lark`; `spellings()` how a C programmer writes each terminal.
"""
from __future__ import annotations

from functools import lru_cache

from lark import Lark, Token
from lark.lexer import PatternStr

from ..grammars import load_grammar

VECTOR_TYPES = {f"{base}{n}" for base in ("char", "uchar", "short", "ushort", "int", "uint", "long", "ulong",
                                          "longlong", "ulonglong", "float", "double") for n in (1, 2, 3, 4)}
BUILTIN_TYPES = VECTOR_TYPES | {"size_t", "ptrdiff_t", "clock_t", "dim3"}
CG_TYPES = {"grid_group", "thread_block", "thread_group", "coalesced_group"}   # cooperative_groups::
UNSUPPORTED = {
    "template": "templates are not supported", "typename": "templates are not supported",
    "class": "classes are not supported", "virtual": "classes are not supported",
    "public": "classes are not supported", "private": "classes are not supported",
    "operator": "operator overloading is not supported",
    "asm": "inline assembly (asm) is not supported", "__asm__": "inline assembly (asm) is not supported",
    "__asm": "inline assembly (asm) is not supported",
    "new": "'new' is not supported", "delete": "'delete' is not supported",
    "try": "exceptions are not supported", "catch": "exceptions are not supported",
    "throw": "exceptions are not supported",
    "using": "'using' is not supported (write the qualified name, or `namespace cg = cooperative_groups;`)",
    "__managed__": "__managed__ variables are not supported",
}
OPEN, CLOSE = "([{", ")]}"
TYPE_WORD_ORDER = ("signed", "unsigned", "short", "long", "void", "bool", "char", "int", "float", "double",
                   "auto")                       # the grammar's type_word, in the order _canonical sorts them
TYPE_WORDS = frozenset(TYPE_WORD_ORDER)


class _TokenFilter:
    """Lark postlexer: retypes IDENTIFIERs naming types as TYPE_NAME (tracking `typedef`s as they
    go by) and C++-only keywords as UNSUPPORTED; drops tokens while `skipping` after an error."""

    always_accept = ("IDENTIFIER",)       # Lark: terminals the postlexer may produce from these

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.type_names = set(BUILTIN_TYPES)
        self.prev = ""
        self.prev_is_type = False
        self.typedef_depth: list[int] | None = None    # [parens, braces, brackets] inside a typedef
        self.skipping = False
        self.skip_depth = 0

    def process(self, stream):
        for tok in stream:
            if self.skipping and self._skip(tok):
                continue
            t = tok.type
            if t in _PLAIN and self.typedef_depth is None and tok.value not in TYPE_WORDS \
                    and tok.value != "typedef":
                after_type = False                    # _retype's answer, the common case made quick
            else:
                after_type = self._retype(tok)
            self.prev = tok.value if t not in ("STRING", "CHAR") else '""'
            self.prev_is_type = after_type
            yield tok

    def _skip(self, tok: Token) -> bool:
        """Whether to drop `tok`: stop after a ';' or a whole `{...}`, or before a closing '}'."""
        v = tok.value if tok.type not in ("STRING", "CHAR") else '""'
        if v in OPEN:
            self.skip_depth += 1
        elif v in CLOSE:
            if v == "}" and self.skip_depth == 0:
                self.skipping = False
                return False
            self.skip_depth = max(self.skip_depth - 1, 0)
            self.skipping = not (v == "}" and self.skip_depth == 0)
        elif v == ";" and self.skip_depth == 0:
            self.skipping = False
        return True

    def _retype(self, tok: Token) -> bool:
        """Retype `tok` in place; say whether it completes a type (so a type name after it is redeclared)."""
        v = tok.value
        after_tag = self.prev in ("struct", "union", "enum", ".", "->")
        if tok.type == "IDENTIFIER" and not after_tag:
            redeclared = self.prev_is_type or (self.prev == "}" and self.typedef_depth == [0, 0, 0])
            if v in UNSUPPORTED:
                tok.type = "UNSUPPORTED"
            elif v in self.type_names and not redeclared:
                tok.type = "TYPE_NAME"
                return True
            elif self.typedef_depth is not None:
                parens, braces, brackets = self.typedef_depth
                if braces == brackets == 0 and (parens == 0 or (parens == 1 and self.prev == "*")):
                    self.type_names.add(v)
        elif tok.type == "QUALIFIED_ID":
            if v.rsplit("::", 1)[1].strip() in CG_TYPES:
                tok.type = "TYPE_NAME"
                return True
        elif v == "typedef" and tok.type != "IDENTIFIER":
            self.typedef_depth = [0, 0, 0]
        elif self.typedef_depth is not None and tok.type not in ("STRING", "CHAR"):
            if v == ";" and not any(self.typedef_depth):
                self.typedef_depth = None
            elif len(v) == 1 and v in OPEN + CLOSE:
                i = (OPEN + CLOSE).index(v)
                self.typedef_depth[i % 3] += 1 if i < 3 else -1
        return (tok.type == "IDENTIFIER" and self.prev in ("struct", "union", "enum")) or \
            (v in TYPE_WORDS and tok.type not in ("IDENTIFIER", "STRING", "CHAR"))


PARSE_FILTER = _TokenFilter()
_PLAIN = frozenset({"INT", "FLOAT", "CHAR", "STRING", "SEMICOLON", "COMMA", "LPAR", "RPAR", "EQUAL", "PLUS", "MINUS",
                    "STAR", "LSQB", "RSQB", "LBRACE", "RBRACE", "LESSTHAN", "MORETHAN", "DOT"})  # never retyped


@lru_cache(maxsize=1)
def parser() -> Lark:
    return load_grammar("vk.lark", parser="lalr", lexer="basic", maybe_placeholders=True, postlex=PARSE_FILTER,
                        cache=True)


@lru_cache(maxsize=1)
def spellings() -> dict[str, str]:
    """Terminal name -> how a C programmer would write it in a message."""
    names = {t.name: f"'{t.pattern.value}'" for t in parser().terminals if isinstance(t.pattern, PatternStr)}
    names.update(IDENTIFIER="identifier", QUALIFIED_ID="identifier", TYPE_NAME="type name", INT="constant",
                 FLOAT="constant", CHAR="constant", STRING="string literal")
    return names
