"""Small records and helpers shared by the parse-tree builder (`vgpu.frontend.parse`) and its C++ and
class rules (`vgpu.frontend.parse_cpp`, `parse_class`): specifier words, type specifiers, declaration
specifiers, declarators and their parameter lists, template names, the canonical spelling of C's basic
types, escape decoding."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import ast
from ..diagnostics import Reporter, Span
from .tokens import TYPE_WORD_ORDER

SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "e": 27,
                  "\\": 92, "'": 39, '"': 34, "?": 63}
ESCAPE = re.compile(r"\\(x[0-9a-fA-F]*|[0-7]{1,3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)|[^\\]+", re.S)

@dataclass
class _Word:
    kind: str                   # 'storage', 'qual', 'type' or 'struct'
    text: str
    span: Span


@dataclass
class _TypeSpec:
    base: str
    span: Span
    defs: list = field(default_factory=list)      # StructDef / EnumDef defined by this specifier


@dataclass
class _TemplateName:
    name: str
    args: list
    span: Span


@dataclass
class _Specs:
    base: str
    quals: frozenset[str]
    storage: frozenset[str]
    launch_bounds: list
    defs: list
    span: Span
    targs: list | None = None
    align: object = None                     # the expression or type of an alignas(...)


@dataclass
class _Params:
    params: list[ast.ParamDecl]
    span: Span
    args: list | None = None                 # `S v(a, b)`: expressions, not parameters


@dataclass
class _Brace:
    """`{a, b}` right after a declarator's name (BRACE_INIT): list-initialisation."""
    items: list
    span: Span


@dataclass
class _Declarator:
    name: str
    name_span: Span
    derived: list               # Pointer / Array / _Params, innermost (next to the name) first
    span: Span
    ref: bool = False
    targs: list | None = None


def _canonical(words: list[str]) -> str | None:
    """C's many spellings of a basic type -> one name; None when they don't combine."""
    words = sorted(words, key=TYPE_WORD_ORDER.index)
    sign = [w for w in words if w in ("signed", "unsigned")]
    longs = words.count("long")
    rest = [w for w in words if w not in ("signed", "unsigned", "long")]
    if len(sign) > 1 or longs > 2 or len(rest) > 2 or (len(rest) == 2 and rest != ["short", "int"]):
        return None
    core = rest[0] if rest else "int"
    u = "unsigned " if sign == ["unsigned"] else ""
    if core == "char" and not longs:
        return f"{sign[0]} char" if sign else "char"
    if core == "short" and not longs:
        return u + "short"
    if core == "int":
        return u + ("int", "long", "long long")[longs]
    if core == "double" and longs == 1 and not sign:
        return "long double"
    return core if not sign and not longs else None


def _decode_escapes(body: str, span: Span, reporter: Reporter) -> bytes:
    out = bytearray()
    for m in ESCAPE.finditer(body):
        esc = m.group(1)
        if esc is None:
            out += m.group(0).encode()
        elif esc[0] == "x":
            if len(esc) == 1 or int(esc[1:], 16) > 0xFF:
                reporter.error(span, "\\x used with no following hex digits" if len(esc) == 1 else
                               "hex escape sequence out of range")
            else:
                out.append(int(esc[1:], 16))
        elif esc[0] in "01234567":
            if int(esc, 8) > 0xFF:
                reporter.error(span, "octal escape sequence out of range")
            else:
                out.append(int(esc, 8))
        elif esc[0] in "uU":
            out += chr(int(esc[1:], 16)).encode("utf-8", "replace")
        else:
            out += bytes([SIMPLE_ESCAPES[esc]]) if esc in SIMPLE_ESCAPES else esc.encode()
    return bytes(out)


@dataclass
class _Align:
    """`alignas(N)` / `alignas(type)` among declaration specifiers."""
    value: object
    span: Span
