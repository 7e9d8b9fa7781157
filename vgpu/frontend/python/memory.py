"""Arrays a Python kernel creates, and atomics: cuda.shared.array, cuda.local.array,
cuda.const.array_like, cuda.atomic.*, and the constant strings printf formats live in.

In:  the call's AST node and the lowering state (`FnLower`).
Out: typed values; shared and constant arrays become module symbols (`ir.GlobalVar`), one per call site
     (every dynamic shared array, `shape=0`, is the one extern symbol, as in Numba); local arrays are
     per-thread `local` slots.  Atomics follow numba-cuda's table of types per operation.
"""
from __future__ import annotations

import numpy as np

from ... import types as T
from ...ir import nodes as ir
from . import ntypes as N
from .args import const_eval, dtype_of
from .values import ArrayVal, V, cast

_ATOMIC_TYPES = {
    "add": ("float64", "float32", "int32", "uint32", "int64", "uint64"),
    "sub": ("float64", "float32", "int32", "uint32", "int64", "uint64"),
    "max": ("float64", "float32", "int32", "uint32", "int64", "uint64"),
    "min": ("float64", "float32", "int32", "uint32", "int64", "uint64"),
    "nanmax": ("float64", "float32", "int32", "uint32", "int64", "uint64"),
    "nanmin": ("float64", "float32", "int32", "uint32", "int64", "uint64"),
    "and_": ("int32", "uint32", "int64", "uint64"), "or_": ("int32", "uint32", "int64", "uint64"),
    "xor": ("int32", "uint32", "int64", "uint64"), "exch": ("int32", "uint32", "int64", "uint64"),
    "inc": ("uint32", "uint64"), "dec": ("uint32", "uint64"),
    "cas": ("int32", "uint32", "int64", "uint64"), "compare_and_swap": ("int32", "uint32", "int64", "uint64"),
}


def string(fl, text: str) -> str:
    """The const symbol holding the NUL-terminated `text`."""
    key = ("str", text)
    st = fl.ctx.statics
    if key not in st:
        name = f"$str{sum(1 for k in st if k[0] == 'str')}"
        body = text.encode("utf-8") + b"\0"
        fl.ctx.module.globals[name] = ir.GlobalVar(name, "const", len(body), 1, T.U8, (len(body),), body)
        st[key] = name
    return st[key]


def _shape(fl, node, value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),)
    if isinstance(value, tuple) and value and all(isinstance(v, (int, np.integer)) for v in value):
        return tuple(int(v) for v in value)
    raise fl.err(node, "the shape must be a constant integer or tuple of integers (a literal or a global)")


def static_array(fl, path: str, node):
    args = list(node.args)
    kw = {k.arg: k.value for k in node.keywords}
    b = fl.b
    if path == "cuda.const.array_like":
        if len(args) != 1 or kw:
            raise fl.err(node, "cuda.const.array_like() takes one array")
        host = const_eval(fl, args[0])
        if not isinstance(host, np.ndarray):
            raise fl.err(args[0], "cuda.const.array_like() needs a global NumPy array")
        dt = N.from_dtype(host.dtype)
        key = ("const", id(node), host.ctypes.data)
        if key not in fl.ctx.statics:
            name = f"$const{len(fl.ctx.statics)}"
            data = np.ascontiguousarray(host).astype(dt.dtype if dt != N.BOOL else np.uint8).tobytes()
            fl.ctx.module.globals[name] = ir.GlobalVar(name, "const", max(1, len(data)), max(1, dt.mem.size),
                                                        dt.mem, tuple(host.shape), data)
            fl.ctx.statics[key] = name
        t = N.Array(dt, host.ndim, "const", tuple(host.shape))
        addr = b.emit("addr", T.U64, sym=fl.ctx.statics[key])
        return V(t, ArrayVal(addr, [ir.Const(T.S64, d) for d in host.shape]))
    names = ("shape", "dtype")
    for k in kw:
        if k not in names:
            raise fl.err(node, f"unexpected keyword argument {k!r}")
    vals = args + [kw[n] for n in names[len(args):] if n in kw]
    if len(vals) != 2:
        raise fl.err(node, f"{path}() takes a shape and a dtype")
    shape = _shape(fl, vals[0], const_eval(fl, vals[0]))
    dt = dtype_of(const_eval(fl, vals[1]))
    if dt is None:
        raise fl.err(vals[1], "the dtype must be a NumPy or Numba scalar type (e.g. float32)")
    if any(d < 0 for d in shape):
        raise fl.err(vals[0], "array dimensions must not be negative")
    size = int(np.prod(shape)) * dt.mem.size
    t = N.Array(dt, len(shape), "shared" if path == "cuda.shared.array" else "local", shape)
    if path == "cuda.local.array":
        entry = b.fn.entry
        slot = ir.Instr("local", T.U64, [], {"size": max(1, size), "align": max(1, dt.mem.size),
                                             "name": f"local{len(entry.instrs)}"}, b.span, entry)
        entry.instrs.insert(0, slot)
        return V(t, ArrayVal(slot, [ir.Const(T.S64, d) for d in shape]))
    dynamic = size == 0 and shape[0] == 0
    key = ("dynshared",) if dynamic else ("shared", id(node), fl.inst)
    if key not in fl.ctx.statics:
        name = "$dynshared" if dynamic else f"$shared{sum(1 for k in fl.ctx.statics if k[0] == 'shared')}"
        fl.ctx.module.globals[name] = ir.GlobalVar(name, "shared", size, max(16, dt.mem.size), dt.mem, shape,
                                                    None, dynamic)
        fl.ctx.statics[key] = name
    addr = b.emit("addr", T.U64, sym=fl.ctx.statics[key])
    if dynamic:     # as many whole elements as the launch's dynamic shared memory holds
        n = fl.ctx.dynamic_shared_bytes()
        if dt.mem.size > 1:
            n = b.emit("div", T.S64, [n, ir.Const(T.S64, dt.mem.size)])
        return V(t, ArrayVal(addr, [n]))
    return V(t, ArrayVal(addr, [ir.Const(T.S64, d) for d in shape]))


def atomic(fl, name: str, node):
    if name not in _ATOMIC_TYPES:
        raise fl.err(node, f"cuda.atomic.{name} is not supported")
    b = fl.b
    n = {"cas": 4, "compare_and_swap": 3}.get(name, 3)
    if len(node.args) != n or node.keywords:
        raise fl.err(node, f"cuda.atomic.{name}() takes {n} positional arguments")
    ary = fl.expr(node.args[0])
    if not isinstance(ary.type, N.Array):
        raise fl.err(node.args[0], f"cuda.atomic.{name}() needs an array, not {ary.type}")
    dt = ary.type.dtype
    if dt.name not in _ATOMIC_TYPES[name]:
        raise fl.err(node, f"cuda.atomic.{name}() does not support arrays of {dt} "
                           f"(supported: {', '.join(_ATOMIC_TYPES[name])})")
    if ary.type.space == "const":
        raise fl.err(node.args[0], "atomics on a constant array")
    if name == "compare_and_swap":
        if ary.type.ndim != 1:
            raise fl.err(node.args[0], "cuda.atomic.compare_and_swap() needs a 1-d array")
        idx = [(V(N.INT64, ir.Const(T.S64, 0)), node)]
        rest = node.args[1:]
    else:
        iv = fl.expr(node.args[1])
        idx = [(x, node.args[1]) for x in iv.val] if isinstance(iv.type, N.Tuple) else [(iv, node.args[1])]
        rest = node.args[2:]
    addr, _ = fl.element_at(ary, idx, node)
    vals = []
    for a in rest:
        v = fl.expr(a)
        if not isinstance(v.type, N.Number):
            raise fl.err(a, f"expected a number, not {v.type}")
        vals.append(cast(b, v.val, v.type, dt))
    space = ary.type.space if ary.type.space in ("global", "shared") else "generic"
    op = {"and_": "and", "or_": "or", "compare_and_swap": "cas"}.get(name, name)
    if op in ("max", "min", "nanmax", "nanmin") and dt.is_float:
        return V(dt, _float_minmax(b, op, addr, vals[0], dt, space))
    op = {"nanmax": "max", "nanmin": "min"}.get(op, op)     # integers: NaN-free, the plain atomic
    if op in ("inc", "dec") and dt.bits == 64:
        return V(dt, _inc_dec64(b, op, addr, vals[0], space))
    if op == "sub" and dt.is_float:
        op, vals = "add", [b.emit("neg", dt.ir, vals)]
    ins = b.emit("atom", dt.ir, [addr, *vals])
    ins.attrs.update(op=op, space=space)
    return V(dt, ins)


def _inc_dec64(b, op: str, addr, val, space: str):
    """atomic.inc/dec on uint64 as numba-cuda's ___numba_atomic_u64_inc/dec (PTX has no 64-bit
    atom.inc): a compare-and-swap loop storing (old < val ? old + 1 : 0), resp.
    (old - 1 < val ? old - 1 : val) (unsigned compares); returns the value replaced."""
    u = T.U64
    key = ("$incdec", id(addr))
    loop, done = b.block("incdec.loop"), b.block("incdec.done")
    b.write((key, "old"), b.emit("load", u, [addr], space=space, volatile=True))
    b.jmp(loop)
    b.at(loop)
    old = b.read((key, "old"), u)
    if op == "inc":
        new = b.emit("select", u, [b.emit("lt", T.PRED, [old, val]), b.emit("add", u, [old, ir.Const(u, 1)]),
                                   ir.Const(u, 0)])
    else:
        dec = b.emit("sub", u, [old, ir.Const(u, 1)])
        new = b.emit("select", u, [b.emit("lt", T.PRED, [dec, val]), dec, val])
    got = b.emit("atom", u, [addr, old, new])
    got.attrs.update(op="cas", space=space)
    b.write((key, "old"), got)
    b.br(b.emit("ne", T.PRED, [got, old]), loop, done)
    b.seal(loop)
    b.seal(done)
    b.at(done)
    return old


def _float_minmax(b, op: str, addr, val, dt: N.Number, space: str):
    """Atomic max/min/nanmax/nanmin of floats, as numba-cuda's ___numba_atomic_<T>_[nan]max/min
    (cudadrv/nvvm.py): load the stored value; return it at once when val is NaN (and, for max/min,
    when the stored value is NaN); else, while the current value is below val (max; above for min;
    nanmax/nanmin also while it is NaN), compare-and-swap val in and take the swap's result as the
    current value.  Returns the value first loaded, as numba-cuda's does."""
    s, it = dt.ir, (T.U32 if dt.bits == 32 else T.U64)
    key = ("$fatom", id(addr))
    check, attempt, done = b.block("fatom.check"), b.block("fatom.cas"), b.block("fatom.done")
    first = b.emit("load", s, [addr], space=space, volatile=True)
    early = b.emit("ne", T.PRED, [val, val])
    if op in ("max", "min"):
        early = b.emit("or", T.PRED, [early, b.emit("ne", T.PRED, [first, first])])
    b.write((key, "cur"), first)
    b.br(early, done, check)
    b.at(check)
    cur = b.read((key, "cur"), s)
    go = b.emit("lt" if op.endswith("max") else "gt", T.PRED, [cur, val])
    if op.startswith("nan"):     # fcmp ult / ugt: also true when the current value is NaN
        go = b.emit("or", T.PRED, [go, b.emit("ne", T.PRED, [cur, cur])])
    b.br(go, attempt, done)
    b.seal(attempt)
    b.at(attempt)
    got = b.emit("atom", it, [addr, b.emit("bitcast", it, [cur]), b.emit("bitcast", it, [val])])
    got.attrs.update(op="cas", space=space)
    b.write((key, "cur"), b.emit("bitcast", s, [got]))
    b.jmp(check)
    b.seal(check)
    b.seal(done)
    b.at(done)
    return first
