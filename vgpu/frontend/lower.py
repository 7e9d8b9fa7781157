"""Lower a checked .vk translation unit to SSA IR.

In:  an `ast.TranslationUnit` and its `Sema` from `vgpu.frontend.check`, free of errors.
Out: an `ir.Module`: one `ir.Function` per defined kernel (kind 'kernel') and device function
     (kind 'device'), one `ir.GlobalVar` per __shared__/__constant__/__device__ variable and string.

Conventions (relied on by the IR passes and the instruction selector):
- Scalar locals are SSA values (Builder.write/read keyed by the `symbols.Var`); struct locals are one
  SSA value per scalar leaf.  Locals whose address is taken, arrays, and structs holding arrays live
  in per-thread local memory (`local` op in the entry block, attrs size/align/name).
- C bool is `pred` in registers and a u8 0/1 in memory; kernel bool parameters are u8.
- Memory ops carry attrs space: 'global' where the pointer provably derives from a kernel pointer
  parameter or a __device__ symbol, 'shared', 'const', 'local' likewise, else 'generic'.
- Device functions returning a struct take a hidden first parameter '.sret' (the address the
  caller's local copy lives at); struct arguments are passed as one parameter per leaf.
- && || ! and non-trivial ?: become branches and phis; only constants and plain register
  variables are selected with `select`.
"""
from __future__ import annotations

import re

from . import ast as A
from .builtins import Builtin
from .consteval import const_value, convert
from .symbols import CallInfo, EnumConst, Func, Sema, Var
from .ctypes import (BOOL, INT, UINT, ULONG, Array, Bool, CType, Float, Int, Pointer, StructType, Void, alignof,
                     decay, iter_leaves, leaves, mem_scalar, promote, scalar_of, sizeof, unqual)
from .. import types as T
from ..diagnostics import CompileError, Diagnostic, Span, note_depth
from ..ir import nodes as ir
from ..ir.builder import Builder
from .lower_call import CallLowering
from .lower_cg import CGLowering
from .lower_debug import DebugLowering
from .lower_math import MathLowering
from .lower_stmt import StmtLowering
from .places import Mem, Reg, SRegs, in_memory, leaf_names, leaf_types

_BINOPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "rem", "&": "and", "|": "or", "^": "xor",
           "<<": "shl", ">>": "shr"}
_CMPS = {"<": "lt", ">": "gt", "<=": "le", ">=": "ge", "==": "eq", "!=": "ne"}
_SCALAR_CTYPES = (Int, Float, Bool, Pointer)       # conv of one of these to itself: the value unchanged


class FunctionLowering(CallLowering, CGLowering, MathLowering, StmtLowering, DebugLowering):
    def __init__(self, mod: "ModuleLowering", fn: Func):
        self.m = mod
        self.sema: Sema = mod.sema
        self.func = fn
        self.b: Builder | None = None
        self.slots: dict[Var, ir.Value] = {}
        self.breaks: list[ir.Block] = []
        self.continues: list[ir.Block] = []
        self.case_blocks: dict[A.Case, ir.Block] = {}
        self.ptr_arith: set[ir.Instr] = set()
        self.sret: ir.Param | None = None
        self.nlocals = 0
        self.scopes: list[tuple[str, int, int]] = []     # open blocks' (file, first, last line): lower_debug

    # -- the function ----------------------------------------------------------------------------
    def lower(self) -> ir.Function:
        fn, d = self.func, self.func.defn
        ret = fn.ctype.ret
        ret_scalar = None if isinstance(ret, (Void, StructType)) else scalar_of(ret)
        out = ir.Function(fn.name, fn.kind, [], ret_scalar, span=fn.span)
        out.attrs.update({k.strip("_"): v for k, v in fn.attrs.items()})
        self.b = b = Builder(out)
        entry = b.block("entry")
        b.at(entry)
        b.seal(entry)
        b.span = fn.span
        self.open_function_scope(fn.span, d.body)
        if isinstance(ret, StructType):
            self.sret = self.param(out, ".sret", T.U64, None, True)
        for v in fn.params:
            self.lower_param(out, v)
        self.stmt(d.body)
        b.span = d.body.span
        if not b.terminated:
            b.ret(ir.Undef(ret_scalar) if ret_scalar is not None else None)
        b.finish()
        self.refine_spaces(out)
        return out

    def param(self, out: ir.Function, name: str, t: T.Scalar, pointee, is_ptr: bool) -> ir.Param:
        p = ir.Param(name, t, len(out.params), pointee, is_ptr, self.func.span)
        out.params.append(p)
        return p

    def lower_param(self, out: ir.Function, v: Var) -> None:
        t = unqual(v.ctype)
        if v.ref:
            p = self.param(out, v.name, T.U64, None, True)
            p.span = v.span
            self.b.write((v, "ref"), p)
            return
        if isinstance(t, StructType) and self.func.kind == "kernel":
            vals = [self.struct_leaf_param(out, v, t, name, off, lt)
                    for name, (off, lt) in zip(leaf_names(t), iter_leaves(t))]
        elif isinstance(t, StructType):
            vals = [self.param(out, f"{v.name}.{name}", scalar_of(lt), None, isinstance(lt, Pointer))
                    for name, lt in zip(leaf_names(t), leaf_types(t))]
        else:
            kernel = self.func.kind == "kernel"
            pointee = None
            if isinstance(t, Pointer) and not isinstance(t.to, (Void, StructType, Array)):
                pointee = mem_scalar(t.to)
            p = self.param(out, v.name, mem_scalar(t) if kernel else scalar_of(t), pointee,
                           isinstance(t, Pointer))
            p.span = v.span
            vals = p
            if kernel and isinstance(t, Bool):
                vals = self.b.emit("ne", T.PRED, [p, ir.Const(T.U8, 0)])
        self.assign(self.var_place(v), vals)

    def struct_leaf_param(self, out: ir.Function, v: Var, t: StructType, name: str, off: int, lt) -> ir.Value:
        """One leaf of a kernel's struct parameter: a .param scalar named `s.field.3` at the leaf's
        offset in the struct as C lays it out; its value as the struct's leaf holds it."""
        pointee = mem_scalar(lt.to) if isinstance(lt, Pointer) and \
            not isinstance(lt.to, (Void, StructType, Array)) else None
        pname = re.sub(r"\[(\d+)\]", r".\1", f"{v.name}.{name}").replace("..", ".")
        p = self.param(out, pname, mem_scalar(lt), pointee, isinstance(lt, Pointer))
        p.span, p.group = v.span, (v.name, off, sizeof(t), alignof(t))
        if isinstance(unqual(lt), Bool):
            return self.b.emit("ne", T.PRED, [p, ir.Const(T.U8, 0)])
        return p

    # -- places ----------------------------------------------------------------------------------------
    def var_place(self, v: Var):
        if v.ref:
            return Mem(self.b.read((v, "ref"), T.U64), v.ctype)
        if v.storage in ("global", "shared", "const"):
            return Mem(self.b.emit("addr", T.U64, sym=v.symbol), v.ctype)
        if in_memory(v):
            if v not in self.slots:
                self.slots[v] = self.local_slot(v.name, v.ctype, v.align)
                self.declare_in_memory(v, self.slots[v])
            return Mem(self.slots[v], v.ctype)
        return Reg(self.register_keys(v), v.ctype)

    def local_slot(self, name: str, t: CType, align: int = 0) -> ir.Instr:
        """A per-thread local-memory slot, allocated in the entry block."""
        entry = self.b.fn.entry
        ins = ir.Instr("local", T.U64, [], {"size": max(1, sizeof(t)), "align": max(alignof(t), align), "name": name},
                       self.b.span, entry)
        entry.instrs.insert(self.nlocals, ins)
        self.nlocals += 1
        return ins

    def read(self, place):
        b = self.b
        t = unqual(place.ctype)
        if isinstance(place, SRegs):
            vals = [b.emit("sreg", T.U32, name=n) for n in place.names]
            return vals if isinstance(t, StructType) else vals[0]
        if isinstance(place, Reg):
            vals = [b.read(k, scalar_of(lt)) for k, lt in zip(place.keys, leaf_types(t))]
            return vals if isinstance(t, StructType) else vals[0]
        if isinstance(t, Array):
            return place.addr
        vals = [self.load(self.offset(place.addr, off), lt, place.ctype.volatile or lt.volatile)
                for off, lt in leaves(t)]
        return vals if isinstance(t, StructType) else vals[0]

    def load(self, addr: ir.Value, t: CType, volatile: bool) -> ir.Value:
        attrs = {"space": "generic"}
        if volatile:
            attrs["volatile"] = True
        v = self.b.emit("load", mem_scalar(t), [addr], **attrs)
        if isinstance(unqual(t), Bool):
            v = self.b.emit("ne", T.PRED, [v, ir.Const(T.U8, 0)])
        return v

    def assign(self, place, value) -> None:
        b = self.b
        t = unqual(place.ctype)
        vals = value if isinstance(t, (StructType, Array)) else [value]
        if isinstance(place, Reg):
            for k, v in zip(place.keys, vals):
                b.write(k, v)
                b.debug_value(k, v)                      # a variable's new value (vgpu.ir.debug)
            return
        for (off, lt), v in zip(leaves(t), vals):
            if isinstance(unqual(lt), Bool):
                v = self.bool_to(v, T.U8)
            attrs = {"space": "generic"}
            if place.ctype.volatile or lt.volatile:
                attrs["volatile"] = True
            b.emit("store", None, [self.offset(place.addr, off), v], **attrs)

    def offset(self, addr: ir.Value, off: int) -> ir.Value:
        if off == 0:
            return addr
        ins = self.b.emit("add", T.U64, [addr, ir.Const(T.U64, off)])
        self.ptr_arith.add(ins)
        return ins

    def place(self, e: A.Expr):
        """The place an lvalue expression designates (a struct rvalue: a temporary copy of it, to call a
        member function on)."""
        e = self.sema.rewrites.get(e, e)
        if isinstance(e, A.Ident):
            sym = self.sema.refs[e]
            if isinstance(sym, Builtin):
                return SRegs(list(sym.sregs), sym.ret)
            return self.var_place(sym)
        if isinstance(e, A.Unary) and e.op == "*":
            return Mem(self.value(e.operand), e.ctype)
        if isinstance(e, A.Index):
            base, idx = e.base, e.index
            if not isinstance(decay(base.ctype), Pointer):
                base, idx = idx, base
            p = self.value(base)
            return Mem(self.ptr_add(p, self.value(idx), decay(idx.ctype), sizeof(e.ctype)), e.ctype)
        if isinstance(e, A.Member):
            if e.arrow:
                st = decay(e.base.ctype).to
                return Mem(self.offset(self.value(e.base), st.info.field(e.name).offset), e.ctype)
            inner = self.place(e.base)
            st = unqual(e.base.ctype)
            f = st.info.field(e.name)
            if isinstance(inner, Mem):
                return Mem(self.offset(inner.addr, f.offset), e.ctype)
            start, n = self.leaf_range(st, e.name)
            if isinstance(inner, SRegs):
                return SRegs(inner.names[start:start + n], e.ctype)
            return Reg(inner.keys[start:start + n], e.ctype)
        if isinstance(e, A.StringLit):
            return Mem(self.b.emit("addr", T.U64, sym=self.m.string(e.value)), e.ctype)
        if isinstance(unqual(e.ctype), StructType):
            slot = self.local_slot("tmp", e.ctype)
            self.assign(Mem(slot, e.ctype), self.value(e))
            return Mem(slot, e.ctype)
        raise self.m.fail(e.span, "this lvalue is not supported yet")

    @staticmethod
    def leaf_range(st: StructType, name: str) -> tuple[int, int]:
        start = 0
        for f in st.info.fields:
            n = len(leaves(f.ctype))
            if f.name == name:
                return start, n
            start += n
        raise KeyError(name)

    # -- conversions -----------------------------------------------------------------------------------
    def conv(self, v, src: CType, dst: CType):
        """The value `v` of C type `src` converted to `dst` (C semantics)."""
        if src is dst and src.__class__ in _SCALAR_CTYPES:
            return v                                # the common case, made quick
        src, dst = decay(src), unqual(dst)
        if isinstance(dst, Void):
            return None
        if isinstance(dst, StructType):
            return v
        s, d = scalar_of(src), scalar_of(dst)
        if d == T.PRED:
            return v if s == T.PRED else self.cmp("ne", v, ir.Const(s, 0.0 if s.is_float else 0))
        if s == T.PRED:
            return self.bool_to(v, d)
        if s == d:
            return v
        if isinstance(v, ir.Const) and not (s.is_float and d.is_int):    # float -> int is left to cvt
            return ir.Const(d, convert(v.value, src, dst))
        return self.b.emit("cvt", d, [v])

    def bool_to(self, v: ir.Value, d: T.Scalar) -> ir.Value:
        one, zero = (1.0, 0.0) if d.is_float else (1, 0)
        if isinstance(v, ir.Const):
            return ir.Const(d, one if v.value else zero)
        return self.b.emit("select", d, [v, ir.Const(d, one), ir.Const(d, zero)])

    def cmp(self, op: str, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.emit(op, T.PRED, [a, b])

    def to_pred(self, e: A.Expr) -> ir.Value:
        return self.conv(self.value(e), e.ctype, BOOL)

    # -- expressions -----------------------------------------------------------------------------------
    def value(self, e: A.Expr):
        """Evaluate `e` for its value: a scalar ir.Value, a list of leaves for a struct, None for void."""
        saved = self.b.span
        self.b.span = e.span
        try:
            n = self.sema.group_casts.get(e)        # a block or tile as a thread_group: (size, tile width)
            e = self.sema.rewrites.get(e, e)        # what the checker rewrote e to (a cg member, a __half2 operator)
            if n is not None:
                getattr(self, "e_" + type(e).__name__)(e)
                return [self.cg_block("size"), ir.Const(T.U32, 0)] if n == 0 else \
                    [ir.Const(T.U32, n), ir.Const(T.U32, n)]
            conversion = self.sema.conversions.get(e)
            if conversion is not None:             # a struct's conversion operator (it ignores the object)
                if not (isinstance(e, A.Call) and self.sema.calls[e].op == "construct"):
                    getattr(self, "e_" + type(e).__name__)(e)
                return self.b.emit("call", scalar_of(conversion.ctype.ret), [], callee=conversion.name)
            t = decay(e.ctype)
            if isinstance(t, (Int, Bool, Float)) and not isinstance(e, (A.Assign, A.Call, A.Postfix)):
                c = const_value(e, self.sema)
                if c is not None:
                    return self.b.const(scalar_of(t), c)
            return getattr(self, "e_" + type(e).__name__)(e)
        except RecursionError as x:
            note_depth(x, e.span)
            raise
        finally:
            self.b.span = saved

    def e_StringLit(self, e: A.StringLit):
        return self.b.emit("addr", T.U64, sym=self.m.string(e.value))

    def e_Ident(self, e: A.Ident):
        sym = self.sema.refs[e]
        if isinstance(sym, EnumConst):
            return self.b.const(scalar_of(sym.ctype), sym.value)
        if isinstance(sym, Builtin) and sym.value is not None:
            return ir.Const(T.S32, sym.value)
        if isinstance(sym, Func):
            raise self.m.fail(e.span, "function pointers are not supported yet")
        return self.read(self.place(e))

    def e_Index(self, e: A.Index):
        return self.read(self.place(e))

    def e_Member(self, e: A.Member):
        if not e.arrow and not self.is_place(e.base):
            vals = self.value(e.base)
            start, n = self.leaf_range(unqual(e.base.ctype), e.name)
            part = vals[start:start + n]
            if isinstance(unqual(e.ctype), Array):
                raise self.m.fail(e.span, "arrays in struct rvalues are not supported yet")
            return part if isinstance(unqual(e.ctype), StructType) else part[0]
        return self.read(self.place(e))

    def is_place(self, e: A.Expr) -> bool:
        e = self.sema.rewrites.get(e, e)
        if isinstance(e, A.Ident):
            return not isinstance(self.sema.refs.get(e), (EnumConst, Func))
        if isinstance(e, A.Member):
            return e.arrow or self.is_place(e.base)
        return isinstance(e, (A.Index, A.StringLit)) or (isinstance(e, A.Unary) and e.op == "*")

    def e_Unary(self, e: A.Unary):
        op = e.op
        if op == "*":
            return self.read(self.place(e))
        if op == "&":
            place = self.place(e.operand)
            return place.addr
        if op in ("++", "--"):
            return self.incdec(e, op, prefix=True)
        if op == "!":
            p = self.to_pred(e.operand)
            return self.b.emit("not", T.PRED, [p])
        t = e.ctype
        v = self.conv(self.value(e.operand), e.operand.ctype, t)
        if op == "+":
            return v
        return self.b.emit("neg" if op == "-" else "not", scalar_of(t), [v])

    def e_Postfix(self, e: A.Postfix):
        return self.incdec(e, e.op, prefix=False)

    def incdec(self, e, op: str, prefix: bool):
        place = self.place(e.operand)
        t = unqual(e.operand.ctype)
        old = self.read(place)
        if isinstance(t, Pointer):
            new = self.ptr_add(old, ir.Const(T.S32, 1 if op == "++" else -1), INT, sizeof(t.to))
        else:
            pt = promote(t)
            one = ir.Const(scalar_of(pt), 1.0 if isinstance(pt, Float) else 1)
            new = self.b.emit("add" if op == "++" else "sub", scalar_of(pt), [self.conv(old, t, pt), one])
            new = self.conv(new, pt, t)
        self.assign(place, new)
        return new if prefix else old

    def ptr_add(self, p: ir.Value, i: ir.Value, it: CType, size: int, sub: bool = False) -> ir.Value:
        """p + i (or p - i) for a pointer to objects of `size` bytes and an integer i of type `it`."""
        off = self.conv(i, it, ULONG)        # C: sign- or zero-extended by i's type, modulo 2^64
        if size != 1:
            off = ir.Const(T.U64, (off.value * size) % 2 ** 64) if isinstance(off, ir.Const) else \
                self.b.emit("mul", T.U64, [off, ir.Const(T.U64, size)])
        if isinstance(off, ir.Const) and off.value == 0:
            return p
        ins = self.b.emit("sub" if sub else "add", T.U64, [p, off])
        self.ptr_arith.add(ins)
        return ins

    def e_Binary(self, e: A.Binary):
        op = e.op
        if op in ("&&", "||"):
            return self.logical_value(e)
        lt, rt = decay(e.left.ctype), decay(e.right.ctype)
        ot = self.sema.optype.get(e)
        if op in _CMPS:
            a, b = self.value(e.left), self.value(e.right)
            return self.cmp(_CMPS[op], self.conv(a, lt, ot), self.conv(b, rt, ot))
        if isinstance(ot, Pointer):
            a, b = self.value(e.left), self.value(e.right)
            size = sizeof(ot.to)
            if isinstance(lt, Pointer) and isinstance(rt, Pointer):
                diff = self.b.emit("bitcast", T.S64, [self.b.emit("sub", T.U64, [a, b])])
                return diff if size == 1 else self.b.emit("div", T.S64, [diff, ir.Const(T.S64, size)])
            if isinstance(lt, Pointer):
                return self.ptr_add(a, b, rt, size, op == "-")
            return self.ptr_add(b, a, lt, size)
        a, b = self.value(e.left), self.value(e.right)
        return self.arith(op, a, lt, b, rt, ot)

    def arith(self, op: str, a, at: CType, b, bt: CType, ot: CType) -> ir.Value:
        a = self.conv(a, at, ot)
        b = self.conv(b, bt, UINT if op in ("<<", ">>") else ot)
        return self.b.emit(_BINOPS[op], scalar_of(ot), [a, b])

    def logical_value(self, e: A.Binary) -> ir.Value:
        b = self.b
        t, f, join = b.block("land.true" if e.op == "&&" else "lor.true"), b.block("l.false"), b.block("l.end")
        self.branch(e, t, f)
        key = object()
        for blk, val in ((t, True), (f, False)):
            b.seal(blk)
            b.at(blk)
            b.write(key, ir.Const(T.PRED, val))
            b.jmp(join)
        b.seal(join)
        b.at(join)
        return b.read(key, T.PRED)

    def branch(self, e: A.Expr, t: ir.Block, f: ir.Block) -> None:
        """Branch to t if e is true, else to f, evaluating && || ! lazily (unless overloaded)."""
        b = self.b
        e = self.sema.rewrites.get(e, e)
        if isinstance(e, A.Binary) and e.op in ("&&", "||"):
            mid = b.block("and.rhs" if e.op == "&&" else "or.rhs")
            if e.op == "&&":
                self.branch(e.left, mid, f)
            else:
                self.branch(e.left, t, mid)
            b.seal(mid)
            b.at(mid)
            self.branch(e.right, t, f)
            return
        if isinstance(e, A.Unary) and e.op == "!":
            self.branch(e.operand, f, t)
            return
        saved = b.span
        b.span = e.span
        b.br(self.to_pred(e), t, f)
        b.span = saved

    def e_Conditional(self, e: A.Conditional):
        b = self.b
        t = self.sema.optype[e]
        if self.simple(e.then) and self.simple(e.other) and not isinstance(t, (Void, StructType)):
            c = self.to_pred(e.cond)
            x = self.conv(self.value(e.then), e.then.ctype, t)
            y = self.conv(self.value(e.other), e.other.ctype, t)
            return b.emit("select", scalar_of(t), [c, x, y])
        yes, no, join = b.block("cond.true"), b.block("cond.false"), b.block("cond.end")
        self.branch(e.cond, yes, no)
        key = object()
        n = len(leaves(t)) if isinstance(t, StructType) else 1
        keys = [(key, k) for k in range(n)]
        for blk, arm in ((yes, e.then), (no, e.other)):
            b.seal(blk)
            b.at(blk)
            v = self.conv(self.value(arm), arm.ctype, t)
            if v is not None:
                for k, x in zip(keys, v if isinstance(t, StructType) else [v]):
                    b.write(k, x)
            b.jmp(join)
        b.seal(join)
        b.at(join)
        if isinstance(t, Void):
            return None
        vals = [b.read(k, scalar_of(lt)) for k, lt in zip(keys, leaf_types(t))]
        return vals if isinstance(t, StructType) else vals[0]

    def simple(self, e: A.Expr) -> bool:
        """Cheap to evaluate and free of side effects and faults: may be evaluated unconditionally."""
        if const_value(e, self.sema) is not None:
            return True
        if isinstance(e, A.Ident):
            sym = self.sema.refs.get(e)
            return isinstance(sym, Var) and sym.storage in ("local", "param") and not in_memory(sym) \
                and not isinstance(unqual(sym.ctype), StructType)
        if isinstance(e, A.Cast) or (isinstance(e, A.Unary) and e.op in ("-", "+", "~", "!")):
            return self.simple(e.operand)
        if isinstance(e, A.Binary) and (e.op in _CMPS or e.op in ("+", "-", "*", "&", "|", "^")):
            return self.simple(e.left) and self.simple(e.right)
        return False

    def e_Assign(self, e: A.Assign):
        tt = unqual(e.target.ctype)
        vt = decay(e.value.ctype)
        rhs = self.value(e.value)
        place = self.place(e.target)
        if e.op == "=":
            v = self.conv(rhs, vt, tt)
        else:
            op = e.op[:-1]
            old = self.read(place)
            ot = self.sema.optype[e]
            if isinstance(tt, Pointer):
                v = self.ptr_add(old, rhs, vt, sizeof(tt.to), op == "-")
            else:
                v = self.conv(self.arith(op, old, tt, rhs, vt, ot), ot, tt)
        self.assign(place, v)
        return v

    def e_Cast(self, e: A.Cast):
        v = self.value(e.operand)
        return self.conv(v, e.operand.ctype, e.ctype)

    def e_FunctionalCast(self, e: A.FunctionalCast):
        if not e.args and isinstance(unqual(e.ctype), StructType):   # S(): every leaf zero
            return [self.b.const(scalar_of(lt), 0) for _, lt in leaves(e.ctype)]
        if not e.args:                            # T(): value-initialised
            return self.conv(ir.Const(T.S32, 0), INT, e.ctype)
        v = self.value(e.args[0])
        return self.conv(v, e.args[0].ctype, e.ctype)

    def e_Comma(self, e: A.Comma):
        v = None
        for x in e.exprs:
            v = self.value(x)
        return v

    def e_Call(self, e: A.Call):
        info: CallInfo = self.sema.calls[e]
        if isinstance(info.target, Func):
            return self.call_func(e, info)
        b = self.b
        target = info.target
        if target.kind == "make":
            return [self.conv(self.value(a), a.ctype, p) for a, p in zip(e.args, info.params)]
        if info.op == "construct":                 # S(): value-initialised, every leaf zero
            return [ir.Const(scalar_of(lt), 0) for _, lt in leaves(info.ret)]
        if info.op == "cg_block":
            return self.cg_block(info.attrs["what"])
        if info.op == "coalesced":                 # coalesced_threads(): the active lanes
            return [self.b.emit("activemask", T.U32)]
        if info.op == "dyn_tile":
            self.value(e.args[0])
            n = self.conv(self.value(e.args[1]), e.args[1].ctype, UINT)
            return [n, n]
        if info.op == "cg_reduce":
            return self.cg_reduce(e, info)
        if target.kind == "cg":
            return []
        if info.op == "mul24":
            t = T.S32 if info.attrs["signed"] else T.U32
            ops = []
            for a, p in zip(e.args, info.params):
                v = self.conv(self.value(a), a.ctype, p)
                if info.attrs["signed"]:      # sign-extend bit 23: (v << 8) >> 8, arithmetic
                    v = b.emit("shr", t, [b.emit("shl", t, [v, ir.Const(T.U32, 8)]), ir.Const(T.U32, 8)])
                else:
                    v = b.emit("and", t, [v, ir.Const(T.U32, 0xFFFFFF)])
                ops.append(v)
            return b.emit("mul", t, ops)
        if info.op == "printf":
            args = [self.conv(self.value(a), a.ctype, p) for a, p in zip(e.args[1:], info.params[1:])]
            fmt = info.attrs["fmt"]
            b.emit("printf", None, args, fmt=fmt, sym=self.m.string(fmt))
            return ir.Const(T.S32, len(args))
        args = [self.conv(self.value(a), a.ctype, p) for a, p in zip(e.args, info.params)]
        args += [ir.Const(scalar_of(p), d) for p, d in zip(info.params[len(args):], info.defaults)]
        if info.op.startswith("libdevice."):
            return self.libdevice_call(info, args)
        attrs = dict(info.attrs)
        if info.op == "atom":
            attrs["space"] = "generic"
        if info.op == "clock":
            s = scalar_of(info.ir_ret)
            v = b.emit("bitcast", s, [b.emit("clock", T.unsigned_of(s))])
        else:
            rt = info.ir_ret or info.ret
            v = b.emit(info.op, None if isinstance(rt, Void) else scalar_of(rt), args)
            v.attrs.update(attrs)             # attrs may hold 'op' (atomics)
            if isinstance(rt, Void):
                return None
        return self.conv(v, info.ir_ret, info.ret)

    def e_SizeOf(self, e: A.SizeOf | A.OffsetOf):
        return ir.Const(T.U64, const_value(e, self.sema))

    e_OffsetOf = e_SizeOf

    # -- state spaces --------------------------------------------------------------------------------
    def refine_spaces(self, fn: ir.Function) -> None:
        """Give memory ops the state space their address provably lies in (else leave 'generic')."""
        TOP, BOTTOM = "top", "generic"
        origin: dict = {}
        for p in fn.params:
            origin[p] = "global" if fn.kind == "kernel" and p.is_pointer else BOTTOM
        globals_ = self.m.module.globals

        def of(v) -> str:
            if isinstance(v, ir.Undef):
                return TOP
            return origin.get(v, BOTTOM)

        def meet(vals) -> str:
            out = TOP
            for x in vals:
                if x == TOP:
                    continue
                if out not in (TOP, x):
                    return BOTTOM
                out = x
            return out

        instrs = [i for i in fn.instructions() if i.type == T.U64]
        for i in instrs:
            if i.op == "phi":
                origin[i] = TOP
        changed = True
        while changed:
            changed = False
            for i in instrs:
                if i.op == "addr":
                    new = globals_[i.attrs["sym"]].space
                elif i.op == "local":
                    new = "local"
                elif i in self.ptr_arith:
                    new = of(i.args[0])
                elif i.op == "phi":
                    new = meet(of(a) for a in i.args if a is not i)
                elif i.op == "select":
                    new = meet(of(a) for a in i.args[1:])
                else:
                    new = BOTTOM
                if origin.get(i) != new:
                    origin[i] = new
                    changed = True
        for i in fn.instructions():
            if i.op in ("load", "store", "atom") and i.attrs.get("space") == "generic":
                space = of(i.args[0])
                if space not in (TOP, BOTTOM):
                    i.attrs["space"] = space


class ModuleLowering:
    def __init__(self, tu: A.TranslationUnit, sema: Sema, filename: str, reporter=None):
        self.tu = tu
        self.sema = sema
        self.reporter = reporter
        self.module = ir.Module(filename=filename)
        self.strings: dict[bytes, str] = {}

    def fail(self, span: Span, msg: str) -> CompileError:
        if self.reporter is not None:
            return self.reporter.fatal(span, msg)
        return CompileError(Diagnostic(span, msg))

    def lower(self) -> ir.Module:
        for v in self.sema.statics:
            self.module.globals[v.symbol] = self.global_var(v)
        for fn in self.sema.funcs.values():
            if fn.defn is not None:
                self.module.functions[fn.name] = FunctionLowering(self, fn).lower()
        return self.module

    def global_var(self, v: Var) -> ir.GlobalVar:
        t = v.ctype
        shape = []
        while isinstance(t, Array):
            shape.append(t.n or 0)
            t = t.elem
        elem = None if isinstance(unqual(t), StructType) else mem_scalar(t)
        return ir.GlobalVar(v.symbol, v.storage, 0 if v.dynamic else sizeof(v.ctype), max(alignof(v.ctype), v.align),
                            elem, tuple(shape), v.init, v.dynamic, v.span)

    def string(self, data: bytes) -> str:
        """The const symbol holding the NUL-terminated string `data`."""
        if data not in self.strings:
            name = f"$str{len(self.strings)}"
            self.strings[data] = name
            body = data + b"\0"
            self.module.globals[name] = ir.GlobalVar(name, "const", len(body), 1, T.U8, (len(body),), body)
        return self.strings[data]


def lower(tu: A.TranslationUnit, sema: Sema, filename: str = "<string>", reporter=None) -> ir.Module:
    """Lower a checked translation unit to an IR module."""
    return ModuleLowering(tu, sema, filename, reporter).lower()
