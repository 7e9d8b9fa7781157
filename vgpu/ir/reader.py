"""Read the IR's text form (grammars/vir.lark) back into a Module.

In:  text as `vgpu.ir.printer.print_module` writes it (or written by hand, for tests and experiments).
Out: a Module whose printing equals the text's canonical form; block preds recomputed.  Any
     problem (syntax, an unknown op or value, a constant of the wrong kind) raises CompileError
     with the position in the text.  Whether the IR is well formed is `verify`'s business.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput

from ..diagnostics import CompileError, Diagnostic, Span
from ..grammars import load_grammar
from ..types import F32, PRED, SCALARS, Scalar
from .nodes import Block, Const, Function, GlobalVar, Instr, Module, Param, Undef, Value
from .ops import OPS
from .printer import OPERAND_ATTRS, SUFFIX_ATTRS, format_number, implied_type


class _Error(Exception):
    def __init__(self, tok, message: str):
        super().__init__(message)
        self.tok, self.message = tok, message


@dataclass
class _Opnd:
    """An operand as written, resolved to a Value once every definition of the function is known."""
    kind: str           # ref lit neg typed name string sym call incoming
    tok: Token
    text: str = ""
    type: Scalar | None = None
    sub: list | None = None      # call arguments; incoming: [operand]


def decode_string(tok: Token) -> bytes:
    """The bytes of a "..." literal with C escapes (\\n \\t \\r \\0 \\\\ \\" \\xNN)."""
    s, out, k = tok.value[1:-1], bytearray(), 0
    simple = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, '"': 34, "'": 39, "a": 7, "b": 8, "f": 12, "v": 11}
    while k < len(s):
        c = s[k]
        if c != "\\":
            out += c.encode("utf-8")
            k += 1
        elif s[k + 1] == "x":
            try:
                out.append(int(s[k + 2:k + 4], 16))
            except ValueError:
                raise _Error(tok, "bad \\x escape in string") from None
            k += 4
        elif s[k + 1] in simple:
            out.append(simple[s[k + 1]])
            k += 2
        else:
            raise _Error(tok, f"unknown escape '\\{s[k + 1]}' in string")
    return bytes(out)


def parse_scalar(tok: Token, name: str) -> Scalar:
    if name not in SCALARS:
        raise _Error(tok, f"unknown type '{name}'")
    return SCALARS[name]


def make_const(tok: Token, t: Scalar, text: str) -> Value:
    """The constant `text` of type t: decimal or hex ints, true/false, floats (hex = raw bits), undef."""
    if text == "undef":
        return Undef(t)
    try:
        if t == PRED:
            if text not in ("true", "false"):
                raise ValueError
            return Const(t, text == "true")
        if t.is_int:
            return Const(t, int(text, 0))
        if text.startswith(("0x", "-0x")):
            bits = int(text, 16)
            fmt = {16: ("<H", "<e"), 32: ("<I", "<f")}.get(t.bits, ("<Q", "<d"))
            return Const(t, struct.unpack(fmt[1], struct.pack(fmt[0], bits))[0])
        v = float(text)
        if t == F32 and not math.isinf(v):
            v32 = float(np.float32(v))
            v = v32 if format_number(F32, v32) == text else v
        return Const(t, v)
    except (ValueError, struct.error):
        raise _Error(tok, f"'{text}' is not a {t} constant") from None


@v_args(inline=True)
class _Tree(Transformer):
    """Parse tree -> tuples and _Opnd records (one method per rule)."""

    def ref(self, tok):
        name = tok.value[1:]
        return _Opnd("ref", tok, decode_string(Token("S", name)).decode() if name.startswith('"') else name)

    def lit(self, tok):
        return _Opnd("lit", tok, tok.value)

    def neg(self, minus, tok):
        return _Opnd("lit", tok, "-" + tok.value)

    def literal(self, *toks):
        return "".join(t.value for t in toks)

    def typed(self, tname, text):
        return _Opnd("typed", tname, text, parse_scalar(tname, tname.value))

    def name(self, tok):
        return _Opnd("name", tok, tok.value)

    def string(self, tok):
        return _Opnd("string", tok, decode_string(tok))

    def sym(self, tok):
        return _Opnd("sym", tok, tok.value[1:])

    def callop(self, tok, *args):
        return _Opnd("call", tok, tok.value[1:], sub=[a for a in args if a is not None])

    def incoming(self, value, block):
        return _Opnd("incoming", block, block.value, sub=[value])

    def attrs(self, *items):
        return dict(i for i in items if i is not None)

    def attr(self, key, value):
        return key.value, value

    def anum(self, tok):
        if tok.value.startswith(("0x", "-0x")) or not any(c in tok.value for c in ".eE"):
            return int(tok.value, 0)
        return float(tok.value)

    def aname(self, tok):
        fixed = {"true": True, "false": False, "none": None, "inf": math.inf}
        if tok.value in fixed:
            return fixed[tok.value]
        return SCALARS.get(tok.value, tok.value)

    def aneg(self, minus, tok):
        if tok.value != "inf":
            raise _Error(tok, f"unexpected '-{tok.value}'")
        return -math.inf

    def astr(self, tok):
        return decode_string(tok).decode("utf-8", "replace")

    def abytes(self, kind, tok):
        if kind.value != "bytes":
            raise _Error(kind, f"unknown literal prefix '{kind.value}'")
        return decode_string(tok)

    def alist(self, *items):
        return [i for i in items if i is not None] if items != (None,) else []


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return load_grammar("vir.lark", parser="lalr", propagate_positions=True, maybe_placeholders=True,
                        transformer=_Tree())


class _Reader:
    def __init__(self, filename: str):
        self.filename = filename
        self.module = Module(filename=filename)

    def read(self, tree: Tree) -> Module:
        for item in tree.children:
            getattr(self, "_" + item.data)(item)
        return self.module

    def _header(self, t: Tree) -> None:
        kw, name = t.children
        self._expect(kw, "module")
        self.module.filename = decode_string(name).decode("utf-8", "replace")

    def _expect(self, tok: Token, *words: str) -> None:
        if tok.value not in words:
            raise _Error(tok, f"expected {' or '.join(repr(w) for w in words)}, found '{tok.value}'")

    # -- globals ----------------------------------------------------------------------------------------
    def _global(self, t: Tree) -> None:
        space, gname, *words, init = t.children
        self._expect(space, "shared", "const", "global")
        g = GlobalVar(gname.value[1:], space.value, 0, span=self._span(gname))
        if init is not None:
            g.init = self._hex(init)
        items = list(words)
        if items and items[0].data == "gword" and items[0].children[0].type == "NAME" and \
                items[0].children[0].value in SCALARS:
            g.elem = SCALARS[items.pop(0).children[0].value]
            while items and items[0].data == "dim":
                g.shape += (int(items.pop(0).children[0].value, 0),)
        toks = [w.children[0] for w in items]
        while toks:
            tok = toks.pop(0)
            if tok.value == "dynamic":
                g.dynamic = True
            elif tok.value in ("size", "align") and toks and toks[0].type == "NUMBER":
                setattr(g, tok.value, int(toks.pop(0).value, 0))
            else:
                raise _Error(tok, f"unexpected '{tok.value}' in a global declaration")
        if g.name in self.module.globals:
            raise _Error(gname, f"global @{g.name} is declared twice")
        self.module.globals[g.name] = g

    def _hex(self, tok: Token) -> bytes:
        try:
            return bytes.fromhex(tok.value[1:-1])
        except ValueError:
            raise _Error(tok, "initial bytes must be written as hex digits") from None

    def _span(self, tok: Token) -> Span:
        return Span(self.filename, tok.line, tok.column, tok.end_column)

    # -- functions --------------------------------------------------------------------------------------
    def _function(self, t: Tree) -> None:
        kw, rtype, gname, *rest = t.children
        self._expect(kw, "kernel", "device")
        trees = [c for c in rest if isinstance(c, Tree)]
        params = [self._param(p, k) for k, p in enumerate(c for c in trees if c.data == "param")]
        body = [c for c in trees if c.data != "param"]
        attrs = next((c for c in rest if isinstance(c, dict)), {})
        fn = Function(gname.value[1:], kw.value, params,
                      parse_scalar(rtype, rtype.value) if rtype is not None else None,
                      span=self._span(gname), attrs=attrs)
        if fn.name in self.module.functions:
            raise _Error(gname, f"function @{fn.name} is defined twice")
        _Body(self, fn).read(body)
        self.module.functions[fn.name] = fn

    def _param(self, t: Tree, index: int) -> Param:
        tname, star, name = t.children
        pname = decode_string(Token("S", name.value[1:])).decode() if name.value[1] == '"' else name.value[1:]
        if star is None:
            return Param(pname, parse_scalar(tname, tname.value), index, span=self._span(name))
        pointee = None if tname.value == "void" else parse_scalar(tname, tname.value)
        return Param(pname, SCALARS["u64"], index, pointee, True, self._span(name))


class _Body:
    """Reads one function body: blocks and instructions first, then operands (forward references)."""

    def __init__(self, reader: _Reader, fn: Function):
        self.r, self.fn = reader, fn
        self.values: dict[str, Value] = {p.name: p for p in fn.params}
        self.blocks: dict[str, Block] = {}
        self.pending: list[tuple[Instr, list[_Opnd], Scalar | None]] = []

    def read(self, lines: list[Tree]) -> None:
        cur: Block | None = None
        span: Span | None = None
        for line in lines:
            if line.data == "label":
                tok = line.children[0]
                if tok.value in self.blocks:
                    raise _Error(tok, f"block {tok.value} is defined twice")
                cur = self.blocks[tok.value] = Block(tok.value)
                self.fn.blocks.append(cur)
            elif line.data == "loc":
                span = self._loc(line.children[0])
            else:
                if cur is None:
                    raise _Error(line.meta, "an instruction before the first block label")
                self._instr(line, cur, span)
        for ins, opnds, pt in self.pending:
            self._operands(ins, opnds, pt)
        self.fn.recompute_preds()

    def _loc(self, tok: Token) -> Span:
        text = tok.value[1:].strip()
        file = self.r.module.filename
        if text.startswith('"'):
            end = text.rindex('"')
            file = decode_string(Token("S", text[:end + 1])).decode("utf-8", "replace")
            text = text[end + 1:].strip()
        return Span(file, int(text.split()[1]), 1)

    def _instr(self, t: Tree, block: Block, span: Span | None) -> None:
        dest, optok, *rest = t.children
        attrs = dict(rest.pop()) if rest and isinstance(rest[-1], dict) else {}
        rest = [o for o in rest if o is not None]
        parts = optok.value.split(".")
        op = parts[0]
        info = OPS.get(op)
        if info is None:
            raise _Error(optok, f"unknown op '{op}'")
        pt = None
        if len(parts) > 1 and parts[-1] in SCALARS:
            pt = SCALARS[parts.pop()]
        keys = SUFFIX_ATTRS.get(op, ())
        if len(parts) > 1:
            if len(parts) - 1 != len(keys):
                raise _Error(optok, f"'{optok.value}': expected {len(keys)} suffixes ({', '.join(keys) or 'none'})"
                                    + (" and a type" if info.res != "none" else ""))
            attrs = {**dict(zip(keys, parts[1:])), **attrs}
        rtype = None
        if dest is not None:
            rtype = PRED if info.res == "pred" else pt
            if rtype is None:
                raise _Error(optok, f"'{optok.value}' defines a value, so it needs a type")
        ins = Instr(op, rtype, [], attrs, span)
        block.append(ins)
        if dest is not None:
            name = dest.value[1:]
            if name in self.values:
                raise _Error(dest, f"%{name} is defined twice")
            self.values[name] = ins
        self.pending.append((ins, rest, pt))

    def _operands(self, ins: Instr, opnds: list[_Opnd], pt: Scalar | None) -> None:
        op, special = ins.op, {}
        if op in ("br", "jmp"):
            k = len(opnds)
            while k and opnds[k - 1].kind == "name" and opnds[k - 1].text not in ("true", "false", "undef"):
                k -= 1
            if k < len(opnds):
                special["targets"] = [self._block(o) for o in opnds[k:]]
            opnds = opnds[:k]
        elif op == "phi" and opnds and all(o.kind == "incoming" for o in opnds):
            special["blocks"] = [self._block(o) for o in opnds]
            opnds = [o.sub[0] for o in opnds]
        elif op == "addr" and opnds and opnds[0].kind == "sym":
            special["sym"] = opnds.pop(0).text
        elif op == "sreg" and opnds and opnds[0].kind == "name":
            special["name"] = opnds.pop(0).text
        elif op == "call" and len(opnds) == 1 and opnds[0].kind == "call":
            special["callee"] = opnds[0].text
            opnds = opnds[0].sub
        elif op == "printf" and opnds and opnds[0].kind == "string":
            special["fmt"] = opnds.pop(0).text
        ins.args = [self._value(o, implied_type(op, k, pt)) for k, o in enumerate(opnds)]
        order = OPERAND_ATTRS.get(op, ()) + SUFFIX_ATTRS.get(op, ())
        ins.attrs = {**special, **ins.attrs} if not order else \
            {**{k: v for k, v in {**special, **ins.attrs}.items() if k in order},
             **{k: v for k, v in ins.attrs.items() if k not in order}}

    def _block(self, o: _Opnd) -> Block:
        b = self.blocks.get(o.text)
        if b is None or o.kind not in ("name", "incoming"):
            raise _Error(o.tok, f"unknown block '{o.text}'")
        return b

    def _value(self, o: _Opnd, implied: Scalar | None) -> Value:
        if o.kind == "ref":
            v = self.values.get(o.text)
            if v is None:
                raise _Error(o.tok, f"unknown value %{o.text}")
            return v
        if o.kind == "typed":
            return make_const(o.tok, o.type, o.text)
        if o.kind == "lit" or (o.kind == "name" and o.text in ("undef", "true", "false", "inf")):
            if implied is None:
                raise _Error(o.tok, f"the type of '{o.text}' is not implied here: write it, e.g. 's32 {o.text}'")
            return make_const(o.tok, implied, o.text)
        raise _Error(o.tok, f"unexpected operand '{o.text if isinstance(o.text, str) else o.tok.value}'")


def parse_module(text: str, filename: str = "<ir>") -> Module:
    """Read IR text into a Module; CompileError (with line and column) on any problem."""
    lines = text.splitlines()
    try:
        tree = _parser().parse(text if text.endswith("\n") else text + "\n")
        return _Reader(filename).read(tree)
    except UnexpectedInput as e:
        tok = getattr(e, "token", None)
        what = f"unexpected '{tok.value}'" if tok is not None and tok.type != "$END" else \
            "unexpected end of text" if tok is not None else f"unexpected character {text[e.pos_in_stream]!r}"
        err = _diag(filename, lines, e.line, e.column, what.replace("'\n'", "end of line"))
    except _Error as e:
        err = _from_error(filename, lines, e)
    raise CompileError(err)


def _from_error(filename: str, lines: list[str], e: _Error) -> Diagnostic:
    tok = e.tok
    line, col = getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0
    return _diag(filename, lines, line, col, e.message, getattr(tok, "end_column", None))


def _diag(filename, lines, line, col, message, end=None) -> Diagnostic:
    src = lines[line - 1] if 1 <= line <= len(lines) else None
    return Diagnostic(Span(filename, line, col, end), message, "error", src)
