"""The parsing stage: .vk source text in, an `ast.TranslationUnit` out.

In:  source text (or a file path) and a `Reporter`.
Out: `ast.TranslationUnit`, every node with a `Span` in original-file coordinates (after
     `#include`, a node points into the header).  Bad input raises `CompileError` holding every
     syntax error found: the parser recovers (inserting a missing `;` `)` `]`, or skipping to the
     next `;` or `}`) to report several per run.

How the AST spells things, for the checker:
- `TypeRef.base` is canonical: 'void' 'bool' 'char' 'signed char' 'unsigned char' 'short'
  'unsigned short' 'int' 'unsigned int' 'long' 'unsigned long' 'long long' 'unsigned long long'
  'float' 'double' 'long double' 'auto'; 'struct S' 'union U' 'enum E'; typedef names as written;
  vector types ('float4'), 'size_t', 'dim3', and 'cooperative_groups::grid_group' (namespace
  aliases resolved).  Anonymous structs and enums get the name '(anonymous struct at f.vk:3:9)'.
- Every declaration becomes one `DeclStmt` (at file scope too) holding its StructDef, EnumDef,
  Typedef and VarDecl items in source order; a prototype becomes a `FunctionDef` with body None.
- `Ident.name` of a qualified name is 'cooperative_groups::this_grid' (no blanks, aliases resolved).
- `FunctionDef.qualifiers` and `VarDecl.storage` hold every non-type specifier written (__global__
  __device__ __host__ __forceinline__ __noinline__ static inline __inline__ extern register
  constexpr __shared__ __constant__), whichever the declaration is; the checker judges them.
- `FloatLit.value` of a float literal is already rounded to the nearest float32; `CharLit.value` is
  that of a (signed) char; `IntLit.base` is 2 for C++14 `0b` literals.
- `UnsupportedStmt.what` is a plural noun phrase: 'goto statements', 'labels'.
"""
from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from lark import Token, Transformer, Tree
from lark.exceptions import GrammarError, UnexpectedInput, VisitError

from . import ast
from ..diagnostics import CompileError, Reporter, Span, note_depth, too_deep
from .parse_cpp import CppBuilder
from .literals import LiteralError, number
from .parse_class import ClassBuilder
from .parse_records import (_Align, _Brace, _Declarator, _Params, _Specs, _TemplateName, _TypeSpec, _Word, _canonical,
                            _decode_escapes)
from .parse_errors import Recovery, _unknown_type_message
from .parse_lalr import QuickParseFailed, quick_parse
from .preprocess import LineMap, decode, preprocess
from .tokens import PARSE_FILTER, parser

# -- parse tree -> AST -----------------------------------------------------------------------------

BINARY_PRECEDENCE = {"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
                     "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10}


@dataclass
class _Head:
    """The part of a while/for/switch/case/default/label statement before its body."""
    kind: str
    args: list
    span: Span


def _to_float32(text: str) -> float:
    """Round a decimal literal straight to float32 (no double rounding through float64)."""
    d = float(text)
    try:
        f = struct.unpack("f", struct.pack("f", d))[0]
    except OverflowError:
        return float("inf") if d > 0 else float("-inf")
    if f == d or d != d or math.isinf(f):
        return f
    other_bits = struct.unpack("I", struct.pack("f", f))[0] + (1 if abs(f) < abs(d) else -1)
    other = struct.unpack("f", struct.pack("I", other_bits & 0xFFFFFFFF))[0]
    # past FLT_MAX the next value is 2^128 as far as rounding goes (it rounds to infinity)
    other_value = Fraction(other) if not math.isinf(other) else Fraction(2 ** 128) * (1 if other > 0 else -1)
    mid = (Fraction(f) + other_value) / 2
    if Fraction(d) != mid:
        return f
    exact = Fraction(Decimal(text))
    return f if exact == mid or (exact < mid) == (f < other) else other


class _Builder(CppBuilder, ClassBuilder, Transformer):
    """One method per grammar rule; each returns an AST node (or a small helper record).

    Spans come from the tokens: a node runs from its first positioned child to its last
    (Lark's propagate_positions would double the parse time).
    """

    def __init__(self, lines: LineMap, reporter: Reporter):
        super().__init__(visit_tokens=False)
        self.lines, self.reporter = lines, reporter
        self.aliases: dict[str, str] = {}
        self.using_cg = False

    def transform(self, tree: Tree):
        """Lark's `Transformer.transform`, with the same results and errors, minus its per-node
        generator and method lookups (a third of the parse time)."""
        methods: dict = {}

        def build(t: Tree):
            children = []
            try:
                for c in t.children:
                    children.append(build(c) if isinstance(c, Tree) else c)
            except RecursionError as e:
                note_depth(e, self.first_span(t))
                raise
            f = methods.get(t.data)
            if f is None:
                f = methods[t.data] = getattr(self, t.data, False)
            if f is False:
                return self.__default__(t.data, children, t.meta)
            try:
                return f(children)
            except GrammarError:
                raise
            except Exception as e:
                raise VisitError(t.data, t, e)

        try:
            return build(tree) if isinstance(tree, Tree) else tree
        finally:
            build = None                 # noqa: F841 - breaks the closure's cycle through its own cell

    # -- positions and helpers -------------------------------------------------------------------
    def first_span(self, t: Tree) -> Span | None:
        """The span of the first token under `t` (a loop: called where the stack has no room)."""
        while isinstance(t, Tree):
            t = next((c for c in t.children if c is not None), None)
        return self.tspan(t) if isinstance(t, Token) and t.line is not None else None

    def tspan(self, tok: Token) -> Span:
        return self.lines.span(tok.line, tok.column, tok.end_line, tok.end_column)

    def edge(self, item, last: bool) -> Span | None:
        """The span of the first (or last) positioned thing in `item`."""
        if isinstance(item, Token):
            return self.tspan(item)
        if isinstance(item, Span):
            return item
        if isinstance(item, (list, tuple)):
            for x in reversed(item) if last else item:
                found = self.edge(x, last)
                if found is not None:
                    return found
            return None
        return getattr(item, "span", None)

    def extent(self, children) -> Span:
        first, last = self.edge(children, False), self.edge(children, True)
        if first is None:
            return Span(self.lines.lines[0][0], 1, 1)
        return _join(first, last)

    def qualify(self, name: str) -> str:
        """`name` with blanks around '::' removed and a namespace alias in front resolved."""
        if "::" not in name:
            return name
        head, sep, tail = re.sub(r"\s+", "", name).partition("::")
        return self.aliases.get(head, head) + sep + tail

    def type_ref(self, specs: _Specs, derived: list, span: Span, ref: bool = False) -> ast.TypeRef:
        if any(isinstance(d, _Params) for d in derived):
            self.reporter.error(span, "function pointers and function types are not supported")
            derived = [d for d in derived if not isinstance(d, _Params)]
        derived = [d for d in derived if d != "&"]
        return ast.TypeRef(specs.base, specs.quals, derived, specs.targs, ref, span=specs.span)

    # -- file scope ------------------------------------------------------------------------------

    def start(self, items):
        return ast.TranslationUnit(_flatten(items), self.using_cg, span=Span(self.lines.lines[0][0], 1, 1))

    def namespace_alias(self, children):
        name, target = children
        self.aliases[str(name)] = self.qualify(str(target))
        return []

    def function_def(self, children):
        specs, decl, *quals, body = children
        head = [ast.DeclStmt(specs.defs, span=specs.span)] if specs.defs else []
        fn = self._function(specs, decl, body, self.extent(children))
        if any(q.text == "const" for q in quals):            # `T S::f() const {...}`
            fn.qualifiers = fn.qualifiers | {"const"}
        return head + [fn]

    def _function(self, specs: _Specs, decl: _Declarator, body, span: Span) -> ast.FunctionDef:
        if not decl.derived or not isinstance(decl.derived[0], _Params):
            self.reporter.error(decl.name_span, f"'{decl.name}' is not a function")
            params = []
        else:
            params = decl.derived[0].params
            if decl.derived[0].args is not None:
                self._not_params(decl.derived[0].args)
        if "typedef" in specs.storage:
            self.reporter.error(decl.name_span, "a function definition cannot be a typedef")
        ret = self.type_ref(specs, decl.derived[1:], decl.span, decl.ref)
        return ast.FunctionDef(decl.name, ret, params, body, specs.storage, specs.launch_bounds,
                               span=span, name_span=decl.name_span, targs=decl.targs)

    # -- declarations ----------------------------------------------------------------------------

    def declaration(self, children):
        specs, *inits = children
        items, functions = list(specs.defs), []
        if not any(inits) and not items and specs.base.startswith(("struct ", "union ")) and not specs.storage:
            kind, name = specs.base.split(" ", 1)         # `struct S;`: a forward declaration
            items.append(ast.StructDecl(name, kind == "union", span=specs.span))
        for decl, value in filter(None, inits):
            args, braces = None, False
            if isinstance(value, _Brace) and decl.derived and isinstance(decl.derived[0], ast.Array):
                value = ast.InitList(value.items, span=value.span)      # `int b[3]{1, 2}`: as `= {1, 2}`
            elif isinstance(value, _Brace):
                args, braces, value = value.items, True, None
            elif decl.derived and isinstance(decl.derived[0], _Params) and decl.derived[0].args is not None:
                args, decl.derived = decl.derived[0].args, decl.derived[1:]
            if args is not None and not braces and (specs.base == "void" or "__global__" in specs.storage):
                self._not_params(args)               # `void f(uint8_t *p);`: a prototype with an unknown type
            elif args is not None and "typedef" not in specs.storage:
                items.append(ast.VarDecl(decl.name, self.type_ref(specs, decl.derived, decl.span, decl.ref), None,
                                         specs.storage, span=decl.span, name_span=decl.name_span, align=specs.align,
                                         args=args, braces=braces))
            elif "typedef" in specs.storage:
                if value is not None:
                    self.reporter.error(decl.span, "a typedef cannot have an initialiser")
                items.append(ast.Typedef(decl.name, self.type_ref(specs, decl.derived, decl.span), span=decl.span))
            elif decl.derived and isinstance(decl.derived[0], _Params):
                functions.append(self._function(specs, decl, None, self.extent([specs, decl])))
            else:
                if specs.launch_bounds:
                    self.reporter.error(decl.name_span, "__launch_bounds__ applies only to functions")
                items.append(ast.VarDecl(decl.name, self.type_ref(specs, decl.derived, decl.span, decl.ref), value,
                                         specs.storage, span=decl.span, name_span=decl.name_span, align=specs.align))
        return [ast.DeclStmt(items, span=self.extent(children))] * bool(items or not functions) + functions

    def _not_params(self, args: list) -> None:
        """Expressions where parameters belong: name the unknown type they start with."""
        x = args[0]
        while isinstance(x, (ast.Binary, ast.Call, ast.Index)):
            x = x.left if isinstance(x, ast.Binary) else x.func if isinstance(x, ast.Call) else x.base
        if isinstance(x, ast.Ident):
            self.reporter.error(x.span, _unknown_type_message(x.name))
        else:
            self.reporter.error(x.span, "expected a parameter declaration")

    def init_declarator(self, children):
        decl, value = children
        if value is not None:
            decl.span = self.extent(children)
        return decl, value

    def direct_init(self, children):
        decl, brace = children
        decl.span = self.extent(children)
        return decl, brace

    def brace_init(self, children):
        items = [c for c in children if c is not None and not isinstance(c, Token)]
        return _Brace(items, self.extent(children))

    def init_list(self, children):
        items = [c for c in children if c is not None and not isinstance(c, Token)]
        return ast.InitList(items, span=self.extent(children))

    def decl_specs(self, children):
        return self._specs(children)

    type_specs = decl_specs

    def _specs(self, children) -> _Specs:
        span = self.extent(children)
        words, named, bounds, defs, targs, align = [], [], [], [], None, None
        quals, storage = set(), set()
        for c in children:
            if isinstance(c, _Word) and c.kind == "type":
                words.append(c.text)
            elif isinstance(c, _Word):
                (quals if c.kind == "qual" else storage).add(c.text)
            elif isinstance(c, _TemplateName):
                named.append(self.qualify(c.name))
                targs = c.args
            elif isinstance(c, _TypeSpec):
                named.append(c.base)
                defs += c.defs
            elif isinstance(c, Token):
                named.append(self.qualify(str(c)))
            elif isinstance(c, _Align):
                align = c.value
            else:
                bounds = c
        base = _canonical(words) if words else None
        if words and base is None:
            self.reporter.error(span, f"cannot combine {' '.join(repr(w) for w in words)} in one type")
        if named and (words or len(named) > 1):
            self.reporter.error(span, f"cannot combine '{named[-1]}' with another type")
        base = named[0] if named else base
        if not words and not named:
            self.reporter.error(span, "a type specifier is required")
        return _Specs(base or "int", frozenset(quals), frozenset(storage), bounds, defs, span, targs, align)

    def spec_word(self, children):
        return _Word("storage", str(children[0]), self.tspan(children[0]))

    def type_qual(self, children):
        return _Word("qual", str(children[0]), self.tspan(children[0]))

    def type_word(self, children):
        return _Word("type", str(children[0]), self.tspan(children[0]))

    def launch_bounds(self, children):
        return list(children)

    def struct_kw(self, children):
        return _Word("struct", str(children[0]), self.tspan(children[0]))

    def tag(self, children):
        return str(children[0])

    def enum_def(self, children):
        _, tag, *items = children
        span = self.extent(children)
        name = str(tag) if tag is not None else f"(anonymous enum at {span})"
        return _TypeSpec(f"enum {name}", span, [ast.EnumDef(name, items, span=span)])

    def enum_ref(self, children):
        return _TypeSpec(f"enum {children[1]}", self.extent(children))

    def enumerator(self, children):
        name, value = children
        return str(name), value, self.tspan(name)

    # -- declarators -----------------------------------------------------------------------------

    def declarator(self, children):
        pointers, ref, first, *suffixes = children
        outer = suffixes + list(reversed(pointers or []))
        span = self.extent(children)
        if isinstance(first, _Declarator):
            return _Declarator(first.name, first.name_span, first.derived + outer, span, first.ref or bool(ref),
                               first.targs)
        if isinstance(first, _TemplateName):
            return _Declarator(first.name, first.span, outer, span, bool(ref), first.args)
        return _Declarator(self.qualify(str(first)), self.tspan(first), outer, span, bool(ref))

    def ref(self, children):
        return "&"

    def pointers(self, children):
        return list(children)

    def pointer(self, children):
        return ast.Pointer(frozenset(children[1:]), span=self.extent(children))

    def array_suffix(self, children):
        return ast.Array(children[1], span=self.extent(children))

    def param_suffix(self, children):
        params = [p for p in children if isinstance(p, ast.ParamDecl)]
        exprs = [p for p in children if isinstance(p, ast.Expr)]
        if len(params) == 1 and params[0].name is None and params[0].type.base == "void" \
                and not params[0].type.derived and not params[0].type.quals:
            params = []
        if exprs and params:
            self.reporter.error(params[0].span, "expected an expression (constructor arguments)")
        return _Params(params, self.extent(children), exprs or None)

    def param(self, children):
        specs, decl, default = children
        return ast.ParamDecl(decl.name, self.type_ref(specs, decl.derived, decl.span, decl.ref), default,
                             span=self.extent(children))

    def param_abstract(self, children):
        specs, derived = children
        span = self.extent(children)
        return ast.ParamDecl(None, self.type_ref(specs, derived or [], span, "&" in (derived or [])), span=span)

    def abstract_declarator(self, children):
        pointers = children[0] if isinstance(children[0], list) else []
        suffixes = [c for c in children if isinstance(c, ast.Array)]
        return suffixes + list(reversed(pointers)) + ["&"] * ("&" in children)

    def type_name(self, children):
        specs, derived = children
        return self.type_ref(specs, derived or [], self.extent(children), "&" in (derived or []))

    # -- statements ------------------------------------------------------------------------------

    def compound_stmt(self, children):
        items = []
        for item in _flatten(children[1:-1]):
            if isinstance(item, ast.FunctionDef) and item.body is not None:
                self.reporter.error(item.span, "function definitions inside a function are not allowed")
            else:                                # a prototype: declares the function at file scope
                items.append(item)
        close = self.edge(children[-1:], True)
        return ast.Compound(items, close.line if close is not None else 0, span=self.extent(children))

    def expr_stmt(self, children):
        return ast.ExprStmt(children[0], span=self.extent(children))

    def if_stmt(self, children):
        return ast.If(*children[1:], span=self.extent(children))

    def do_stmt(self, children):
        return ast.DoWhile(children[1], children[2], span=self.extent(children))

    def break_stmt(self, children):
        return ast.Break(span=self.extent(children))

    def continue_stmt(self, children):
        return ast.Continue(span=self.extent(children))

    def return_stmt(self, children):
        return ast.Return(children[1], span=self.extent(children))

    def goto_stmt(self, children):
        return ast.UnsupportedStmt("goto statements", span=self.extent(children))

    def headed_stmt(self, children):
        head, body = children
        kind, args, span = head.kind, head.args, self.extent(children)
        if kind == "while":
            return ast.While(args[0], body, span=span)
        if kind == "for":
            return ast.For(*args, body, span=span)
        if kind == "switch":
            return ast.Switch(args[0], body, span=span)
        if kind == "case":
            return ast.Case(args[0], body, span=span)
        return ast.UnsupportedStmt("labels", span=span)

    def while_head(self, children):
        return _Head("while", children[1:], self.tspan(children[0]))

    def for_head(self, children):
        _, init, cond, step = children
        if isinstance(init, list):
            init = next((i for i in init if isinstance(i, ast.DeclStmt)), None)
        elif init.expr is None:
            init = None
        return _Head("for", [init, cond, step], self.tspan(children[0]))

    def switch_head(self, children):
        return _Head("switch", children[1:], self.tspan(children[0]))

    def case_head(self, children):
        return _Head("case", children[1:], self.tspan(children[0]))

    def default_head(self, children):
        return _Head("case", [None], self.tspan(children[0]))

    def label_head(self, children):
        return _Head("label", [], self.tspan(children[0]))

    # -- expressions -----------------------------------------------------------------------------

    def comma(self, children):
        left, right = children
        exprs = left.exprs + [right] if isinstance(left, ast.Comma) else [left, right]
        return ast.Comma(exprs, span=self.extent(children))

    def assign(self, children):
        target, op, value = children
        return ast.Assign(op, target, value, span=self.extent(children))

    def conditional(self, children):
        return ast.Conditional(*children, span=self.extent(children))

    def binary_expr(self, children):
        """Precedence climbing over the flat chain `e op e op e ...` (all left-associative)."""
        return _climb(children[::2], children[1::2], 0, 0)[0]

    def _op(self, children):
        return str(children[0])

    assign_op = binary_op = incdec_op = ptr_qual = targ_op = _op

    def unary_op(self, children):
        return children[0]              # the token: a unary expression's span starts at it

    def cast(self, children):
        return ast.Cast(children[1], children[3], span=self.extent(children))

    def unary(self, children):
        op, operand = children
        return ast.Unary(str(op), operand, span=self.extent(children))

    def sizeof_expr(self, children):
        return ast.SizeOf(children[1], span=self.extent(children))

    sizeof_type = sizeof_expr

    def offsetof(self, children):
        path = [str(children[2])]
        for step in children[3:]:
            x = step.children[0]
            path.append(str(x) if isinstance(x, Token) else x)
        return ast.OffsetOf(children[1], path, span=self.extent(children))

    def alignof_type(self, children):
        return ast.SizeOf(children[1], True, span=self.extent(children))

    def align_spec(self, children):
        return _Align(children[1], self.extent(children))

    def postfix(self, children):
        return ast.Postfix(children[1], children[0], span=self.extent(children))

    def index(self, children):
        return ast.Index(children[0], children[2], span=self.extent(children))

    def call(self, children):
        args = [a for a in children[2:] if a is not None and not isinstance(a, Token)]
        return ast.Call(children[0], args, span=self.extent(children))

    def launch(self, children):
        span = self.extent(children)
        name = children[0].name if isinstance(children[0], ast.Ident) else "the kernel"
        self.reporter.error(span, f"not supported: launching a kernel from a .vk file ({name}<<<...>>>); a .vk "
                                  "file holds device code only: launch it from Python "
                                  "(vgpu.compile(...).get_function(...)(..., grid=, block=)) or with 'vgpuc run'")
        return ast.Call(children[0], [], span=span)

    def member(self, children):
        return ast.Member(children[0], str(children[2]), span=self.extent(children))

    def arrow(self, children):
        return ast.Member(children[0], str(children[2]), arrow=True, span=self.extent(children))

    def ident(self, children):
        return ast.Ident(self.qualify(str(children[0])), span=self.tspan(children[0]))

    def int_lit(self, children):
        text, span = str(children[0]), self.tspan(children[0])
        if text.isdigit() and text.isascii() and (text[0] != "0" or text == "0") and len(text) < 19:
            return ast.IntLit(int(text), "", 10, text, span=span)      # plain decimal: what follows finds
        try:
            n = number(text)
        except LiteralError as e:
            self.reporter.error(span, str(e))
            return ast.IntLit(0, span=span, text=text)
        if n.is_float:
            value = n.value
            if n.suffix == "f":
                value = _to_float32(repr(value) if n.base == 16 else text.replace("'", "")[:-1])
            return ast.FloatLit(value, n.suffix == "f", text, span=span)
        if n.value >= 1 << 64:
            self.reporter.error(span, "integer literal is too large to be represented in any integer type")
        return ast.IntLit(n.value, n.suffix, n.base, text, span=span)

    float_lit = int_lit         # one pp-number rule; FLOAT only wins the lexer for a clean decimal float

    def char_lit(self, children):
        span = self.tspan(children[0])
        data = _decode_escapes(str(children[0])[1:-1], span, self.reporter)
        if len(data) != 1:
            self.reporter.error(span, "empty character constant" if not data else
                                "multi-character character constants are not supported")
            return ast.CharLit(0, span=span)
        return ast.CharLit(data[0] - 256 if data[0] >= 128 else data[0], span=span)

    def string_lit(self, children):
        return ast.StringLit(b"".join(_decode_escapes(str(t)[1:-1], self.tspan(t), self.reporter)
                                      for t in children), span=self.extent(children))


def _climb(operands: list, ops: list, lo: int, min_prec: int) -> tuple[ast.Expr, int]:
    """The expression of operands[lo:] up to the first operator binding looser than `min_prec`, and
    where it stops (a function, not a closure: a closure calling itself is a reference cycle per
    expression, left to the cyclic collector)."""
    left, i = operands[lo], lo
    while i < len(ops) and BINARY_PRECEDENCE[ops[i]] >= min_prec:
        op = ops[i]
        right, i = _climb(operands, ops, i + 1, BINARY_PRECEDENCE[op] + 1)
        left = ast.Binary(op, left, right, span=_join(left.span, right.span))
    return left, i


def _join(first: Span, last: Span) -> Span:
    """The span from the start of `first` to the end of `last` (end kept only on one line)."""
    same_line = (first.file, first.line) == (last.file, last.line)
    return Span(first.file, first.line, first.col, last.end_col if same_line else None)


def _flatten(items) -> list:
    out = []
    for item in items:
        if isinstance(item, list):
            out += item
        elif item is not None:
            out.append(item)
    return out


# -- entry points ----------------------------------------------------------------------------------

def parse(text: str, filename: str = "<string>", reporter: Reporter | None = None) -> ast.TranslationUnit:
    """Preprocess and parse `text`; raise CompileError with every diagnostic on bad input."""
    reporter = reporter if reporter is not None else Reporter()
    pp_text, lines = preprocess(text, filename, reporter)
    reporter.check()
    PARSE_FILTER.reset()
    mark = len(reporter.diagnostics)
    try:
        unit = quick_parse(pp_text, _Builder, lines, reporter)
    except QuickParseFailed:             # a syntax error (or trouble): the recovering parser reports it
        del reporter.diagnostics[mark:]
        PARSE_FILTER.reset()
    else:
        reporter.check()
        return unit
    recovery = Recovery(reporter, lines, pp_text)
    try:
        tree = parser().parse(pp_text, on_error=recovery)
    except UnexpectedInput:
        tree = None            # already reported by `recovery`
    except RecursionError as e:
        raise too_deep(reporter, e, lines.span(1, 1)) from None
    if tree is None and not reporter.errors:
        reporter.error(lines.span(1, 1), "could not parse the program")
    reporter.check()
    try:
        unit = _Builder(lines, reporter).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, CompileError):
            raise e.orig_exc
        if isinstance(e.orig_exc, RecursionError):
            raise too_deep(reporter, e.orig_exc, lines.span(1, 1)) from None
        raise
    except RecursionError as e:
        raise too_deep(reporter, e, lines.span(1, 1)) from None
    reporter.check()
    return unit


def parse_file(path: str | Path, reporter: Reporter | None = None) -> ast.TranslationUnit:
    """Read (as UTF-8) and parse a .vk file; `#include "..."` resolves next to it."""
    reporter = reporter if reporter is not None else Reporter()
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise reporter.fatal(Span(name, 0, 0), f"cannot read file: {e.strerror or e}")
    return parse(decode(data, name, reporter), name, reporter)
