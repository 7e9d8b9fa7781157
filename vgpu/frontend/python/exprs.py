"""Expressions and conditions of a Python kernel: the `FnLower` methods that evaluate them.

In:  Python `ast` expression nodes.  Out: typed values (`V`) built in IR with Numba's semantics
(comparisons convert both sides to the type Numba's overloads pick, `and`/`or` yield one of their
operands unified to one type, arrays index in C order with negative indices wrapped around).
"""
from __future__ import annotations

import ast

from ... import types as T
from ...ir import nodes as ir
from . import ntypes as N
from .values import V, address, cast, flatten, from_mem, leaves, to_mem, unflatten

_ARITH = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.FloorDiv: "floordiv",
          ast.Mod: "mod", ast.Pow: "pow", ast.BitAnd: "and", ast.BitOr: "or", ast.BitXor: "xor",
          ast.LShift: "shl", ast.RShift: "shr"}
_CMP = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq", ast.NotEq: "ne"}
_REJECT = {
    ast.List: "list creation is not supported in a kernel (use cuda.local.array)",
    ast.Dict: "dict creation is not supported in a kernel",
    ast.Set: "set creation is not supported in a kernel",
    ast.ListComp: "comprehensions are not supported in a kernel",
    ast.DictComp: "comprehensions are not supported in a kernel",
    ast.SetComp: "comprehensions are not supported in a kernel",
    ast.GeneratorExp: "generator expressions are not supported in a kernel",
    ast.Lambda: "lambda is not supported in a kernel",
    ast.Try: "try/except is not supported in a kernel",
    ast.With: "with is not supported in a kernel",
    ast.Global: "global is not supported in a kernel",
    ast.Nonlocal: "nonlocal is not supported in a kernel",
    ast.FunctionDef: "nested functions are not supported in a kernel (use @cuda.jit(device=True))",
    ast.ClassDef: "class definitions are not supported in a kernel",
    ast.Import: "import is not supported in a kernel",
    ast.ImportFrom: "import is not supported in a kernel",
    ast.Delete: "del is not supported in a kernel",
    ast.Yield: "yield is not supported in a kernel",
    ast.Await: "await is not supported in a kernel",
    ast.Starred: "starred expressions are not supported in a kernel",
    ast.JoinedStr: "f-strings are not supported in a kernel (print the values instead)",
    ast.NamedExpr: "assignment expressions (:=) are not supported in a kernel",
}



def _small(v) -> bool:
    """A value in [0, 2^31): a constant, or a special register (thread/block index or size, lane)
    read as a 32-bit int and widened."""
    if isinstance(v, ir.Const):
        return isinstance(v.value, int) and 0 <= v.value < 2 ** 31
    if isinstance(v, ir.Instr) and v.op in ("cvt", "bitcast") and v.args:
        return _small(v.args[0]) and v.args[0].type is not None and v.args[0].type.bits <= 32
    return isinstance(v, ir.Instr) and v.op == "sreg"


def _pure(node) -> bool:
    """Whether evaluating node can have no effect and no fault: comparisons, +, -, *, bitwise operators
    and not of names and constants."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Compare):
        return _pure(node.left) and all(_pure(c) for c in node.comparators)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)) and \
            _pure(node.left) and _pure(node.right)
    if isinstance(node, ast.UnaryOp):
        return _pure(node.operand)
    if isinstance(node, ast.BoolOp):
        return all(_pure(v) for v in node.values)
    return False


def _nonneg_index(v) -> bool:
    """True when `v` cannot be negative, so the wrap-around of a negative index can be left out
    (the result is the same): sums of products of two `_small` values, as cuda.grid(1) and
    threadIdx.x + blockIdx.x * blockDim.x are (below 2^63: no overflow)."""
    def prod(x) -> bool:
        return _small(x) or (isinstance(x, ir.Instr) and x.op == "mul" and all(_small(a) for a in x.args))
    if isinstance(v, ir.Const):
        return v.value >= 0
    return prod(v) or (isinstance(v, ir.Instr) and v.op == "add" and all(prod(a) for a in v.args))


class Exprs:
    """Mixed into FnLower (lower.py): everything that evaluates an expression."""

    # -- conditions ------------------------------------------------------------------------------------
    def truth(self, node) -> ir.Value:
        """node's truth as a predicate.  `x > 1 and s < n` on plain values: both sides evaluated and no
        branch (as NVVM's simplifycfg makes it); nothing they do can fault or be seen, so this is
        Python's short circuit all the same."""
        if isinstance(node, ast.BoolOp) and _pure(node):
            b = self.b
            saved = b.span
            b.span = self.src.span(node)
            p = self.truth(node.values[0])
            for value in node.values[1:]:
                p = b.emit("and" if isinstance(node.op, ast.And) else "or", T.PRED, [p, self.truth(value)])
            b.span = saved
            return p
        v = self.expr(node)
        return self.to_pred(v, node)

    def to_pred(self, v: V, node) -> ir.Value:
        if isinstance(v.type, N.Number):
            return cast(self.b, v.val, v.type, N.BOOL)
        if isinstance(v.type, N.Tuple):
            return ir.Const(T.PRED, bool(v.type.items))
        if v.type == N.NONE:
            return ir.Const(T.PRED, False)
        raise self.err(node, f"{v.type} cannot be used as a condition")

    def branch(self, node, t: ir.Block, f: ir.Block) -> None:
        b = self.b
        if isinstance(node, ast.BoolOp) and not _pure(node):
            for k, value in enumerate(node.values):
                if k == len(node.values) - 1:
                    self.branch(value, t, f)
                    return
                mid = b.block("sc")
                if isinstance(node.op, ast.And):
                    self.branch(value, mid, f)
                else:
                    self.branch(value, t, mid)
                b.seal(mid)
                b.at(mid)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.branch(node.operand, f, t)
            return
        saved = b.span
        b.span = self.src.span(node)
        b.br(self.truth(node), t, f)
        b.span = saved

    # -- expressions -----------------------------------------------------------------------------------
    def expr(self, node) -> V:
        saved = self.b.span
        self.b.span = self.src.span(node)
        try:
            m = getattr(self, "e_" + type(node).__name__, None)
            if m is None:
                raise self.err(node, _REJECT.get(type(node), f"{type(node).__name__} expressions are not "
                                                             f"supported in a kernel"))
            return m(node)
        finally:
            self.b.span = saved

    def e_Constant(self, node) -> V:
        return self.const_value(node.value, node)

    def const_value(self, value, node) -> V:
        if value is None:
            return V(N.NONE, None, None)
        if isinstance(value, str):
            return V(N.Ref("str", value), None, value)
        try:
            t = N.typeof(value)
        except TypeError:
            raise self.err(node, f"a {type(value).__name__} constant cannot be used in a kernel") from None
        if isinstance(t, N.Number):
            v = bool(value) if t == N.BOOL else (float(value) if t.is_float else int(value))
            return V(t, ir.Const(t.ir, v), v)
        raise self.err(node, f"the global array {getattr(node, 'id', '')!r} cannot be used in a kernel: "
                             f"pass it as an argument or use cuda.const.array_like")

    def e_Name(self, node) -> V:
        name = node.id
        if name in self.env:
            return self.read_var(name, node)
        if name in self.consts:
            return self.consts[name]
        found, value = self.src.lookup(name)
        if not found:
            raise self.err(node, f"name {name!r} is not defined")
        return self.calls.global_value(self, value, node)

    def e_Tuple(self, node) -> V:
        items = [self.expr(e) for e in node.elts]
        for it, e in zip(items, node.elts):
            if not isinstance(it.type, (N.Number, N.Tuple, N.Array)):
                raise self.err(e, f"{it.type} cannot be a tuple item in a kernel")
        return V(N.Tuple(tuple(i.type for i in items)), items)

    def e_Attribute(self, node) -> V:
        base = self.expr(node.value)
        return self.calls.attribute(self, base, node.attr, node)

    def e_Call(self, node) -> V:
        fn = self.expr(node.func)
        return self.calls.call(self, fn, node)

    def e_IfExp(self, node) -> V:
        b = self.b
        yes, no = b.block("ifx.then"), b.block("ifx.else")
        self.branch(node.test, yes, no)
        ends = []
        for blk, e in ((yes, node.body), (no, node.orelse)):
            b.seal(blk)
            b.at(blk)
            v = self.expr(e)                 # may open blocks of its own: record where it ends
            ends.append((b.cur, v, e))
        return self.join_values(ends, node)

    def join_values(self, ends: list, node) -> V:
        """Join values computed in different blocks (each still open) into one of the unified type."""
        b = self.b
        t = ends[0][1].type
        for _, v, e in ends[1:]:
            u = N.unify(t, v.type)
            if u is None:
                raise self.err(node, f"cannot unify {t} and {v.type}")
            t = u
        end = b.block("ifx.end")
        key = ("$join", id(node), self.inst, t)
        for blk, v, e in ends:
            b.at(blk)
            v = self.convert(v, t, e)
            for k, x in enumerate(flatten(v)):
                b.write((key, k), x)
            b.jmp(end)
        b.seal(end)
        b.at(end)
        return unflatten(t, [b.read((key, k), st) for k, (_, st) in enumerate(leaves(t))])

    def e_BoolOp(self, node) -> V:
        b = self.b
        ends = []
        for k, value in enumerate(node.values):
            v = self.expr(value)
            if k == len(node.values) - 1:
                ends.append((b.cur, v, value))
                break
            p = self.to_pred(v, value)
            nxt, done = b.block("bool.next"), b.block("bool.done")
            if isinstance(node.op, ast.And):
                b.br(p, nxt, done)
            else:
                b.br(p, done, nxt)
            b.seal(done)
            b.at(done)
            ends.append((done, v, value))
            b.seal(nxt)
            b.at(nxt)
        return self.join_values(ends, node)

    def e_UnaryOp(self, node) -> V:
        v = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            return V(N.BOOL, self.b.emit("not", T.PRED, [self.to_pred(v, node.operand)]))
        if not isinstance(v.type, N.Number):
            raise self.err(node, f"bad operand type for unary operator: {v.type}")
        op = {ast.USub: "neg", ast.UAdd: "pos", ast.Invert: "invert"}[type(node.op)]
        rt = N.unary_result(op, v.type)
        if rt is None:
            raise self.err(node, f"bad operand type for ~: {v.type}")
        x = cast(self.b, v.val, v.type, rt)
        if op == "pos":
            return V(rt, x)
        if op == "invert" and rt == N.BOOL:
            return V(rt, self.b.emit("not", T.PRED, [x]))
        r = self.b.emit("neg" if op == "neg" else "not", rt.ir, [x])
        if v.type.is_int and v.type.bits < rt.bits:
            # Numba negates and inverts before widening: -int8(-128) is -128, ~uint16(0) is 65535
            r = cast(self.b, cast(self.b, r, rt, v.type), v.type, rt)
        return V(rt, r)

    def e_BinOp(self, node) -> V:
        a, c = self.expr(node.left), self.expr(node.right)
        return self.binop(_ARITH[type(node.op)], a, c, node)

    def binop(self, op: str, a: V, c: V, node) -> V:
        from .arith import binop
        if not (isinstance(a.type, N.Number) and isinstance(c.type, N.Number)):
            raise self.err(node, f"unsupported operand types for {op}: {a.type} and {c.type}")
        return binop(self, op, a, c, node)

    def e_Compare(self, node) -> V:
        b = self.b
        left = self.expr(node.left)
        result = None
        for op, right_node in zip(node.ops, node.comparators):
            right = self.expr(right_node)
            if type(op) not in _CMP:
                raise self.err(node, f"the operator {type(op).__name__} is not supported in a kernel")
            if not (isinstance(left.type, N.Number) and isinstance(right.type, N.Number)):
                raise self.err(node, f"cannot compare {left.type} and {right.type}")
            ct = N.compare_type(left.type, right.type)
            x, y = cast(b, left.val, left.type, ct), cast(b, right.val, right.type, ct)
            name = _CMP[type(op)]
            if ct == N.BOOL and name not in ("eq", "ne"):
                x, y = cast(b, x, N.BOOL, N.INT64), cast(b, y, N.BOOL, N.INT64)
            if ct == N.BOOL:
                p = b.emit("xor" if name == "ne" else "xor", T.PRED, [x, y]) if name in ("eq", "ne") else \
                    b.emit(name, T.PRED, [x, y])
                if name == "eq":
                    p = b.emit("not", T.PRED, [p])
            else:
                p = b.emit(name, T.PRED, [x, y])
            result = p if result is None else b.emit("and", T.PRED, [result, p])
            left = right
        return V(N.BOOL, result)

    # -- arrays ---------------------------------------------------------------------------------------
    def indices(self, node, views: bool = False) -> list:
        """[(V, node)] per index; with views=True a slice gives (None, the ast.Slice)."""
        sl = node.slice
        items = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        out = []
        for it in items:
            if isinstance(it, ast.Slice) or (isinstance(it, ast.Constant) and it.value is Ellipsis):
                if not views:
                    raise self.err(it, "a slice cannot be assigned to in a kernel (store element by element)")
                out.append((None, it))
                continue
            v = self.expr(it)
            if isinstance(v.type, N.Tuple):
                out += [(x, it) for x in v.val]
            else:
                out.append((v, it))
        return out

    def element(self, base: V, node):
        """The address and element type of base[index]."""
        t = base.type
        if not isinstance(t, N.Array):
            if isinstance(t, N.Tuple):
                raise self.err(node, "tuples cannot be assigned to")
            raise self.err(node, f"{t} cannot be indexed")
        return self.element_at(base, self.indices(node), node)

    def element_at(self, base: V, idx: list, node):
        t = base.type
        if len(idx) != t.ndim:
            raise self.err(getattr(node, "slice", node), f"a {t.ndim}-d array takes {t.ndim} indices, "
                                                         f"{len(idx)} given" if len(idx) > t.ndim else
                           f"{len(idx)} indices on a {t.ndim}-d array: index every dimension to store")
        if t.layout != "C":
            b, off = self.b, None
            for k, (v, n) in enumerate(idx):
                term = self.mul64(self.wrap_index(v, n, base.val.shape[k]), base.val.strides[k])
                off = term if off is None else b.emit("add", T.S64, [off, term])
            return address(b, base.val.data, off), t.dtype
        lin = self.linear(base, idx)
        return self.offset(base, lin), t.dtype

    def wrap_index(self, v: V, n, dim):
        """The integer index v as int64, a negative one wrapped around once (+ dim), as Numba does."""
        b = self.b
        if not isinstance(v.type, N.Number) or not (v.type.is_int or v.type == N.BOOL):
            raise self.err(n, f"array index must be an integer, not {v.type}")
        i = cast(b, v.val, v.type, N.INT64)
        if v.type.signed and v.type != N.BOOL and not _nonneg_index(i):
            if isinstance(i, ir.Const):
                i = ir.Const(T.S64, i.value + dim.value) if isinstance(dim, ir.Const) else \
                    b.emit("add", T.S64, [i, dim])
            else:
                neg = b.emit("lt", T.PRED, [i, ir.Const(T.S64, 0)])
                i = b.emit("add", T.S64, [i, b.emit("select", T.S64, [neg, dim, ir.Const(T.S64, 0)])])
        return i

    def linear(self, base: V, idx: list):
        """The C-order linear index of the leading len(idx) indices (int64), negative ones wrapped."""
        b = self.b
        lin = None
        for k, (v, n) in enumerate(idx):
            dim = base.val.shape[k]
            i = self.wrap_index(v, n, dim)
            lin = i if lin is None else b.emit("add", T.S64, [b.emit("mul", T.S64, [lin, dim]), i])
        return lin

    def offset(self, base: V, lin):
        """The address of element `lin` (int64) of base's data."""
        b = self.b
        size = base.type.dtype.mem.size
        off = lin if size == 1 else b.emit("mul", T.S64, [lin, ir.Const(T.S64, size)])
        return address(b, base.val.data, off)

    def view(self, base: V, parts: list, node) -> V:
        """a[i], a[i, :], a[:, j], a[lo:hi:step], a[..., j]: a view (vgpu/frontend/python/views.py)."""
        from .views import view
        return view(self, base, parts, node)

    def mul64(self, x, y):
        if isinstance(x, ir.Const) and isinstance(y, ir.Const):
            return ir.Const(T.S64, T.wrap_int(x.value * y.value, 64, True))
        return self.b.emit("mul", T.S64, [x, y])

    def e_Subscript(self, node) -> V:
        base = self.expr(node.value)
        if isinstance(base.type, N.Tuple):
            i = self.calls.const_eval(self, node.slice)
            if not isinstance(i, int) or isinstance(i, bool):
                raise self.err(node.slice, "a tuple index must be a constant integer")
            if not -len(base.val) <= i < len(base.val):
                raise self.err(node.slice, "tuple index out of range")
            return base.val[i]
        if not isinstance(base.type, N.Array):
            raise self.err(node, f"{base.type} cannot be indexed")
        parts = self.indices(node, views=True)
        if len(parts) != base.type.ndim or any(v is None for v, _ in parts):
            return self.view(base, parts, node)
        addr, et = self.element_at(base, parts, node)
        v = self.b.emit("load", et.mem, [addr], space=base.type.space)
        return V(et, from_mem(self.b, v, et))

    def store_index(self, base: V, node, v: V) -> None:
        if isinstance(base.type, N.Array):
            parts = self.indices(node, views=True)
            if len(parts) != base.type.ndim or any(x is None for x, _ in parts):
                from .views import fill
                fill(self, self.view(base, parts, node), v, node)    # a[i, :] = x: every element of the view
                return
        addr, et = self.element(base, node)
        self.store_at(addr, base.type, v, node)

    def store_at(self, addr, at: N.Array, v: V, node) -> None:
        if at.space == "const":
            raise self.err(node, "a constant array cannot be written")
        if not isinstance(v.type, N.Number):
            raise self.err(node, f"cannot store {v.type} into an array of {at.dtype}")
        x = cast(self.b, v.val, v.type, at.dtype)
        self.b.emit("store", None, [addr, to_mem(self.b, x, at.dtype)], space=at.space)
