"""Instruction selection, op by op: one function per IR op group, each emitting the PTX-style
instructions for one IR instruction through the `KernelSelector` `s` (vgpu.isa.select) that drives
it: `s.src`/`s.reg`/`s.dst` for operands, `s.emit` for instructions, `s.plans` for the patterns
chosen by its analysis (addresses, mul.wide, mad).  `SELECT` maps a group name to its function and
`GROUP` an IR op to its group; the type-suffix helpers (ity, bty, sty, cls_of) serve both modules.
"""
from __future__ import annotations

from typing import Any

from ..ir import nodes as ir
from ..ir.ops import BINARY_ALU, COMPARISONS
from ..types import F32, PRED, Scalar
from .program import DataSymbol, Imm, Mem, Reg, SReg, Sym
from .spec import EXTENSION_MATH, reg_class

Selector = Any          # the vgpu.isa.select.KernelSelector driving the selection
FLOAT_INVERSE = {"eq": "neu", "neu": "eq", "lt": "geu", "le": "gtu", "gt": "leu", "ge": "ltu"}
INT_INVERSE = {"eq": "ne", "ne": "eq", "lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}
_ROUND_TO_INT = {"floor": "rmi", "ceil": "rpi", "trunc": "rzi"}
_NO_RENORM = ("and", "or", "xor", "min", "max", "shr", "select")   # ops that keep 8-bit values normalised


def ity(t: Scalar) -> str:
    """ISA type for arithmetic on `t` (8-bit values are computed in 16 bits)."""
    if t.bits == 8:
        return t.name[0] + "16"
    return t.name


def bty(t: Scalar) -> str:
    return "pred" if t == PRED else f"b{max(16, t.bits)}"


def sty(t: Scalar) -> str:
    """Type for wrap-around integer ops (add, sub, mul.lo, mad.lo): signed spelling, as nvcc."""
    return "s" + ity(t)[1:] if t.is_int else ity(t)


def cls_of(t: Scalar) -> str:
    return reg_class(ity(t))


def is_const(v: ir.Value) -> bool:
    return isinstance(v, (ir.Const, ir.Undef))


def const_value(v: ir.Value) -> int | float:
    if isinstance(v, ir.Undef):
        return 0.0 if v.type.is_float else 0
    return v.value


# -- per-op selection (one function per IR op group) --------------------------------------------------
def _alias(s: Selector, i: ir.Instr) -> None:
    pass


def _renorm(s: Selector, i: ir.Instr, d: Reg) -> None:
    if i.type.bits == 8 and i.op not in _NO_RENORM:
        s.emit("cvt", (), (ity(i.type), i.type.name), [d, d])


def _binary(s: Selector, i: ir.Instr) -> None:
    t, op = i.type, i.op
    a, b = i.args
    d = s.dst(i)
    if t == PRED:
        s.emit(op, (), ("pred",), [d, s.reg(a), s.reg(b)])
        return
    if t.is_float:
        mods = (i.attrs.get("mode", "rn"),) if op in ("add", "sub", "mul", "div") else ()
        s.emit(op, mods, (t.name,), [d, s.src(a), s.src(b)])
        return
    if op in ("and", "or", "xor"):
        s.emit(op, (), (bty(t),), [d, s.src(a), s.src(b)])
    elif op == "shl":
        s.emit("shl", (), (bty(t),), [d, s.src(a), s.src(b)])
    elif op == "shr":
        s.emit("shr", (), (ity(t),), [d, s.src(a), s.src(b)])
    elif op in ("add", "sub"):
        s.emit(op, (), (sty(t),), [d, s.src(a), s.src(b)])
    elif op == "mul":
        s.emit("mul", ("lo",), (sty(t),), [d, s.src(a), s.src(b)])
    else:                                        # div rem min max
        s.emit(op, (), (ity(t),), [d, s.src(a), s.src(b)])
    _renorm(s, i, d)


def _unary(s: Selector, i: ir.Instr) -> None:
    t, a, d = i.type, i.args[0], s.dst(i)
    if i.op == "not":
        s.emit("not", (), (bty(t),), [d, s.src(a)])
    elif t.is_float or i.op == "neg" or i.op == "abs":
        s.emit(i.op, (), (("s" + ity(t)[1:]) if t.is_int else t.name,), [d, s.src(a)])
    _renorm(s, i, d)


def _cmp(s: Selector, i: ir.Instr) -> None:
    a, b = i.args
    d = s.dst(i)
    if a.type == PRED:                           # eq/ne of predicates: xor (and not)
        if i.op == "ne":
            s.emit("xor", (), ("pred",), [d, s.reg(a), s.reg(b)])
        elif i.op == "eq":
            s.emit("xor", (), ("pred",), [d, s.reg(a), s.reg(b)])
            s.emit("not", (), ("pred",), [d, d])
        else:
            raise s.error(i, f"ordered comparison '{i.op}' of predicates")
        return
    s.emit("setp", (s.cmp_name(i),), (s.cmp_type(i),), [d, s.src(a), s.src(b)])


def _select(s: Selector, i: ir.Instr) -> None:
    p, a, b = i.args
    d = s.dst(i)
    if i.type == PRED:                           # d = (p & a) | (!p & b)
        pr, t, u = s.reg(p), s.vreg("%p"), s.vreg("%p")
        s.emit("and", (), ("pred",), [t, pr, s.reg(a)])
        s.emit("not", (), ("pred",), [u, pr])
        s.emit("and", (), ("pred",), [u, u, s.reg(b)])
        s.emit("or", (), ("pred",), [d, t, u])
        return
    s.emit("selp", (), (ity(i.type) if not i.type.is_int else bty(i.type),), [d, s.src(a), s.src(b), s.reg(p)])


def _cvt(s: Selector, i: ir.Instr) -> None:
    a, t = i.args[0], i.type
    f = a.type
    d = s.dst(i)
    if i.op == "bitcast":
        s.emit("mov", (), (f"b{t.bits}",), [d, s.src(a)])
    elif f == PRED:
        one, zero = (Imm(1.0), Imm(0.0)) if t.is_float else (Imm(1), Imm(0))
        s.emit("selp", (), (ity(t) if t.is_float else bty(t),), [d, one, zero, s.reg(a)])
    elif t == PRED:
        s.emit("setp", ("neu" if f.is_float else "ne",), (ity(f) if f.is_float else bty(f),),
               [d, s.src(a), Imm(0.0 if f.is_float else 0)])
    elif f == t and "mode" in i.attrs:          # round to integral in the same type (cvt.rni.f16.f16)
        s.emit("cvt", (i.attrs["mode"],), (t.name, t.name), [d, s.src(a)])
    elif f == t:
        s.emit("mov", (), (ity(t),), [d, s.src(a)])
    elif t.is_float and f.is_float:
        rnd = (i.attrs.get("mode", "rn"),) if t.bits < f.bits else ()
        s.emit("cvt", rnd, (t.name, f.name), [d, s.src(a)])
    elif t.is_float:
        s.emit("cvt", (i.attrs.get("mode", "rn"),), (t.name, f.name), [d, s.src(a)])
    elif f.is_float:
        s.emit("cvt", (i.attrs.get("mode", "rzi"),), (t.name, f.name), [d, s.src(a)])
    else:
        s.emit("cvt", (), (t.name, f.name), [d, s.src(a)])


def _math(s: Selector, i: ir.Instr) -> None:
    t, op = i.type.name, i.op
    d = s.dst(i)
    args = [s.src(a) for a in i.args]
    if op in ("sqrt", "rcp"):
        s.emit(op, (i.attrs.get("mode", "rn"),), (t,), [d, *args])
    elif op == "rsqrt":
        s.emit("rsqrt", ("approx",), (t,), [d, *args])
    elif op in _ROUND_TO_INT:
        s.emit("cvt", (_ROUND_TO_INT[op],), (t, t), [d, *args])
    elif op == "fabs":
        s.emit("abs", (), (t,), [d, *args])
    elif op in ("fmin", "fmax"):
        s.emit(op[1:], (), (t,), [d, *args])
    elif op == "fma":
        s.emit("fma", (i.attrs.get("mode", "rn"),), (t,), [d, *args])
    elif op in EXTENSION_MATH:
        s.emit(op, (), (t,), [d, *args])
    else:
        raise s.error(i, f"no instruction for math function '{op}'")


def _bits(s: Selector, i: ir.Instr) -> None:
    a = i.args[0]
    w = 64 if a.type.bits == 64 else 32
    src = s.src(a)
    if a.type.bits < 32:                         # widen 8/16-bit operands by their signedness
        t = s.vreg("%r")
        s.emit("cvt", (), ("u32" if a.type.kind != "signed" else "s32", a.type.name), [t, src])
        src = t
    if i.op == "brev":
        s.emit("brev", (), (f"b{w}",), [s.dst(i), src])
    else:
        s.emit(i.op, (), (f"b{w}",), [s.dst(i), src])


def _space(i: ir.Instr) -> tuple[str, ...]:
    sp = i.attrs.get("space", "generic")
    mods = ("volatile",) if i.attrs.get("volatile") else ()
    return mods + (() if sp in ("generic", None) else (sp,))


def _address(s: Selector, i: ir.Instr) -> Mem:
    _, base, off, _ = s.plans[i]
    if isinstance(base, Sym):
        return Mem(base, off)
    b = s.resolve(base)
    if is_const(b):
        return Mem(Imm(int(const_value(b)) + off))
    return Mem(s.dst(b), off)


def _load(s: Selector, i: ir.Instr) -> None:
    m = _address(s, i)
    if i.type == PRED:
        t = s.vreg("%rs")
        s.emit("ld", _space(i), ("u8",), [t, m])
        s.emit("setp", ("ne",), ("b16",), [s.dst(i), t, Imm(0)])
        return
    s.emit("ld", _space(i), (i.type.name,), [s.dst(i), m])


def _store(s: Selector, i: ir.Instr) -> None:
    m = _address(s, i)
    v = i.args[1]
    if v.type == PRED:
        t = s.vreg("%rs")
        s.emit("selp", (), ("b16",), [t, Imm(1), Imm(0), s.reg(v)])
        s.emit("st", _space(i), ("u8",), [m, t])
        return
    s.emit("st", _space(i), (v.type.name,), [m, s.src(v)])


_ATOM_TYPE = {"add": lambda t: t.name if t.is_float else ("u" + t.name[1:] if t.bits == 64 else t.name),
              "min": lambda t: t.name, "max": lambda t: t.name, "inc": lambda t: "u32", "dec": lambda t: "u32"}


def _atom(s: Selector, i: ir.Instr) -> None:
    m = _address(s, i)
    op = i.attrs["op"]
    t = i.type if i.type is not None else i.args[-1].type
    vals = i.args[1:]
    srcs = [s.src(v) for v in vals]
    if op == "sub":                              # atomicSub: add of the negation
        op = "add"
        if isinstance(srcs[0], Imm):
            srcs = [Imm(-srcs[0].value)]
        else:
            n = s.vreg(cls_of(t))
            s.emit("neg", (), ("s" + t.name[1:],), [n, srcs[0]])
            srcs = [n]
    tname = _ATOM_TYPE.get(op, lambda t: f"b{t.bits}")(t)
    space = tuple(x for x in _space(i) if x in ("global", "shared"))
    mods = space + (op, "noftz") if tname == "f16" else space + (op,)   # PTX: atom.add.noftz.f16
    if i in s.needed and s.uses.get(i) or op in ("exch", "cas"):
        s.emit("atom", mods, (tname,), [s.dst(i), m, *srcs])
    else:
        s.emit("red", mods, (tname,), [m, *srcs])


def _addr(s: Selector, i: ir.Instr) -> None:
    s.emit("mov", (), ("u64",), [s.dst(i), Sym(s.symbol_of(i))])


def _sreg(s: Selector, i: ir.Instr) -> None:
    name = i.attrs["name"]
    if name == "warpsize":
        s.emit("mov", (), ("u32",), [s.dst(i), Imm(32)])
    else:
        s.emit("mov", (), ("u32",), [s.dst(i), SReg("%" + name)])


def _clock(s: Selector, i: ir.Instr) -> None:
    if i.type.bits == 64:
        s.emit("mov", (), ("u64",), [s.dst(i), SReg("%clock64")])
    else:
        s.emit("mov", (), ("u32",), [s.dst(i), SReg("%clock")])


def _bar(s: Selector, i: ir.Instr) -> None:
    mode = i.attrs.get("mode", "sync")
    if mode == "sync":
        s.emit("bar", ("sync",), (), [Imm(0)])
    elif mode == "popc":
        s.emit("bar", ("red", "popc"), ("u32",), [s.dst(i), Imm(0), s.reg(i.args[0])])
    else:
        d = s.dst(i)
        if i.type == PRED:
            s.emit("bar", ("red", mode), ("pred",), [d, Imm(0), s.reg(i.args[0])])
        else:                                   # an int result: reduce into a predicate, then 0/1
            p = s.vreg("%p")
            s.emit("bar", ("red", mode), ("pred",), [p, Imm(0), s.reg(i.args[0])])
            s.emit("selp", (), (bty(i.type),), [d, Imm(1), Imm(0), p])


def _membar(s: Selector, i: ir.Instr) -> None:
    s.emit("membar", (i.attrs.get("level", "gl"),), (), [])


def _shfl_c(s: Selector, mode: str, width: ir.Value) -> Reg | Imm:
    if is_const(width):
        c = (32 - int(const_value(width))) << 8
        return Imm(c if mode == "up" else c | 31)
    t = s.vreg("%r")
    s.emit("sub", (), ("s32",), [t, Imm(32), s.src(width)])
    s.emit("shl", (), ("b32",), [t, t, Imm(8)])
    if mode != "up":
        s.emit("or", (), ("b32",), [t, t, Imm(31)])
    return t


def _shfl(s: Selector, i: ir.Instr) -> None:
    mask, val, lane, width = i.args
    mode = i.attrs["mode"]
    c = _shfl_c(s, mode, width)
    m, b = s.src(mask), s.src(lane)
    t, d = i.type, s.dst(i)
    if t.bits == 64:                            # two 32-bit shuffles of the halves
        x = s.reg(val)
        if t.is_float:
            y = s.vreg("%rd")
            s.emit("mov", (), ("b64",), [y, x])
            x = y
        lo, hi, h = s.vreg("%r"), s.vreg("%r"), s.vreg("%rd")
        s.emit("cvt", (), ("u32", "u64"), [lo, x])
        s.emit("shr", (), ("u64",), [h, x, Imm(32)])
        s.emit("cvt", (), ("u32", "u64"), [hi, h])
        s.emit("shfl", ("sync", mode), ("b32",), [lo, lo, b, c, m])
        s.emit("shfl", ("sync", mode), ("b32",), [hi, hi, b, c, m])
        r = s.vreg("%rd") if t.is_float else d
        s.emit("cvt", (), ("u64", "u32"), [h, hi])
        s.emit("shl", (), ("b64",), [h, h, Imm(32)])
        s.emit("cvt", (), ("u64", "u32"), [r, lo])
        s.emit("or", (), ("b64",), [r, r, h])
        if t.is_float:
            s.emit("mov", (), ("b64",), [d, r])
    elif t.bits < 32:                           # a half moves as its 16 bits
        x, y = s.vreg("%r"), s.vreg("%r")
        tn = "u16" if t.is_float else t.name
        s.emit("cvt", (), ("s32" if t.is_signed else "u32", tn), [x, s.src(val)])
        s.emit("shfl", ("sync", mode), ("b32",), [y, x, b, c, m])
        s.emit("cvt", (), (tn, "u32"), [d, y])
    else:
        s.emit("shfl", ("sync", mode), ("b32",), [d, s.reg(val), b, c, m])


def _vote(s: Selector, i: ir.Instr) -> None:
    mask, p = i.args
    mode = i.attrs["mode"]
    d = s.dst(i)
    if mode == "ballot":
        s.emit("vote", ("sync", "ballot"), ("b32",), [d, s.reg(p), s.src(mask)])
    elif i.type == PRED:
        s.emit("vote", ("sync", mode), ("pred",), [d, s.reg(p), s.src(mask)])
    else:
        q = s.vreg("%p")
        s.emit("vote", ("sync", mode), ("pred",), [q, s.reg(p), s.src(mask)])
        s.emit("selp", (), (bty(i.type),), [d, Imm(1), Imm(0), q])


def _activemask(s: Selector, i: ir.Instr) -> None:
    s.emit("activemask", (), ("b32",), [s.dst(i)])


def _syncwarp(s: Selector, i: ir.Instr) -> None:
    s.emit("bar", ("warp", "sync"), (), [s.src(i.args[0])])


def _gridsync(s: Selector, i: ir.Instr) -> None:
    s.emit("grid", ("sync",), (), [])


def _trap(s: Selector, i: ir.Instr) -> None:
    s.emit("trap", (), (), [])


def _printf(s: Selector, i: ir.Instr) -> None:
    name = i.attrs.get("sym")
    if name is None:                             # IR without a string symbol: make one
        fmt = i.attrs["fmt"]
        data = (fmt.encode() if isinstance(fmt, str) else bytes(fmt)).rstrip(b"\0") + b"\0"
        name = f"$str{sum(1 for n in s.prog.symbols if n.startswith('$str'))}"
        s.prog.symbols[name] = DataSymbol(name, "const", len(data), 1, data)
    ops = []
    for a in i.args:
        t = a.type
        if t == F32:
            r = s.vreg("%fd")
            s.emit("cvt", (), ("f64", "f32"), [r, s.src(a)])
        elif t == PRED or t.bits < 32:
            r = s.vreg("%r")
            if t == PRED:
                s.emit("selp", (), ("b32",), [r, Imm(1), Imm(0), s.reg(a)])
            else:
                s.emit("cvt", (), ("s32" if t.is_signed else "u32", t.name), [r, s.src(a)])
        else:
            r = s.reg(a)
        ops.append(r)
    s.emit("printf", (), (), [Sym(name), *ops])


def _wide(s: Selector, i: ir.Instr) -> None:
    _, x, y, t, _ = s.plans[i]
    s.emit("mul", ("wide",), (t,), [s.dst(i), s.src(x), s.src(y)])


def _mad(s: Selector, i: ir.Instr) -> None:
    _, a, b, c, _ = s.plans[i]
    d = s.dst(i)
    s.emit("mad", ("lo",), (sty(i.type),), [d, s.src(a), s.src(b), s.src(c)])
    _renorm(s, i, d)


def _mad_wide(s: Selector, i: ir.Instr) -> None:
    _, x, y, t, c, _ = s.plans[i]
    s.emit("mad", ("wide",), (t,), [s.dst(i), s.src(x), s.src(y), s.src(c)])


def _mem(s: Selector, i: ir.Instr) -> None:
    {"load": _load, "store": _store, "atom": _atom}[i.op](s, i)


GROUP = {**{o: "binary" for o in BINARY_ALU},
          **{o: "unary" for o in ("neg", "not", "abs")},
          **{o: "cmp" for o in COMPARISONS},
          "bitcast": "cvt", "popc": "bits", "clz": "bits", "ffs": "bits", "brev": "bits",
          **{o: "math" for o in ("sqrt", "rsqrt", "rcp", "floor", "ceil", "trunc", "fabs", "fmin", "fmax",
                                 "fma", *EXTENSION_MATH)}}
SELECT = {"binary": _binary, "unary": _unary, "cmp": _cmp, "select": _select, "cvt": _cvt, "math": _math,
           "bits": _bits, "mem": _mem, "alias": _alias, "wide": _wide, "mad": _mad, "mad_wide": _mad_wide,
           "addr": _addr, "local": _addr, "sreg": _sreg, "clock": _clock, "bar": _bar, "membar": _membar,
           "shfl": _shfl, "vote": _vote, "activemask": _activemask, "syncwarp": _syncwarp,
           "gridsync": _gridsync, "trap": _trap, "printf": _printf}
