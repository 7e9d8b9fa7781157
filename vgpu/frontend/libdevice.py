"""libdevice's math functions (CUDA's sinf, exp, pow, erff, hypot, lgamma, ...), computed as libdevice
computes them, for both front ends (.vk calls and Python kernels' math.*).

In:  a libdevice function name (`__nv_erff`, `__nv_hypot`, ...) and its IR arguments.
Out: the result, built in IR from `libdevice.json`: libdevice's own instructions (written by
     tools/libdevice_port.py from CUDA's libdevice.10.bc, with __nvvm_reflect resolved as numba-cuda
     compiles: no FTZ, precise sqrt).  Exact operations (add, mul, fma, sqrt, compares, bit operations,
     conversions, libdevice's constant tables; add.rz.f64 and mul.rz.f32 as IR ops with mode rz) give the
     GPU's bits; an alloca (sin/cos's Payne-Hanek reduction) is a per-thread `local` slot, its multi-word
     inline PTX is libdevice_asm.py's; a pointer parameter is an output if the function stores through it
     (frexp's exponent), else an array it reads (normf's).  The hardware approximations some
     functions start from are vgpu's models: ex2/lg2/rsqrt/rcp.approx.f32 give the correctly rounded
     value (subnormal results flushed for .ftz), rcp/rsqrt.approx.ftz.f64 the correctly rounded value of
     the input's upper 32 bits, truncated to its upper 32 bits; libdevice refines most of them with
     Newton steps, so results rarely differ from the GPU's, but they may in the last bit.
libdevice's explicit .rn operations are marked `nofuse` so that NVVM's contraction (Python kernels'
contract.py) leaves them alone; its plain fmul/fadd are contracted in Python kernels as NVVM contracts
them, and not in .vk (nvcc -fmad=false applies to the linked libdevice too).
"""
from __future__ import annotations

import json
import os
import struct

from .. import types as T
from ..ir import nodes as ir
from . import libdevice_asm

_TABLE: dict | None = None
_TYPES = {"float": T.F32, "double": T.F64, "i1": T.PRED, "i8": T.S8, "i16": T.S16, "i32": T.S32, "i64": T.S64}
_UNSIGNED = {T.S8: T.U8, T.S16: T.U16, T.S32: T.U32, T.S64: T.U64}


def rint(b, x, s: T.Scalar):
    """Round half to even (Python's round, cvt.rni, llvm.rint): floor(x + 0.5) fixed up on exact halves."""
    fl_ = b.emit("floor", s, [x])
    diff = b.emit("sub", s, [x, fl_])
    half = ir.Const(s, 0.5)
    up = b.emit("add", s, [fl_, ir.Const(s, 1.0)])
    gt = b.emit("gt", T.PRED, [diff, half])
    eq = b.emit("eq", T.PRED, [diff, half])
    # on a tie pick the even neighbour: floor is even when floor/2 is whole
    halff = b.emit("mul", s, [fl_, half])
    even = b.emit("eq", T.PRED, [b.emit("floor", s, [halff]), halff])
    pick_up = b.emit("or", T.PRED, [gt, b.emit("and", T.PRED, [eq, b.emit("not", T.PRED, [even])])])
    return b.emit("select", s, [pick_up, up, fl_])


class NotPortable(Exception):
    """The function uses an operation vgpu cannot compute as the GPU does."""


def table() -> dict:
    global _TABLE
    if _TABLE is None:
        with open(os.path.join(os.path.dirname(__file__), "libdevice.json")) as f:
            _TABLE = json.load(f)
    return _TABLE


def has(name: str) -> bool:
    return name in table()


def approximations(name: str, _seen: set | None = None) -> set[str]:
    """The hardware approximations (`ex2.approx.ftz.f`, `rcp.approx.ftz.f32`, ...) libdevice's `name`
    uses, itself or through the functions it calls; empty: only exact operations (the GPU's bits)."""
    seen = _seen if _seen is not None else set()
    seen.add(name)
    out = set()
    for _, ins in table()[name]["blocks"]:
        for i in ins:
            if i["op"] == "call" and i["fn"].startswith("__") and i["fn"] not in seen:
                out |= approximations(i["fn"], seen)
            elif i["op"] == "call" and "approx" in i["fn"]:
                out.add(i["fn"].replace("llvm.nvvm.", ""))
            elif i["op"] == "asm" and "approx" in i["asm"]:
                out.add(i["asm"].split()[0])
    return out


def outputs(name: str) -> list[int]:
    """The pointer parameters `name` stores through (frexp's exponent, modf's integer part); its other
    pointer parameters (normf's array) it only reads."""
    fn = table()[name]
    stored = {i["a"][1] for _, ins in fn["blocks"] for i in ins if i["op"] == "store"}
    return [k for k, (t, p) in enumerate(fn["params"]) if t.endswith("*") and p in stored]


def emit(b, name: str, args: list):
    """Inline libdevice's `name` at the builder's current block; `args` has a value for each parameter
    but the `outputs`, the address for a pointer it reads.  Returns its result, and for a function with
    outputs (result, [the values stored there])."""
    fn = table()[name]
    outs = outputs(name)
    args = [_Ptr(a, _TYPES[t[:-1]]) if t.endswith("*") else a
            for a, (t, _) in zip(args, [p for k, p in enumerate(fn["params"]) if k not in outs])]
    if not outs:
        return _Inliner(b).call(name, args)
    full = list(args)
    for k in outs:
        full.insert(k, _Out(_TYPES[fn["params"][k][0][:-1]]))
    inl = _Inliner(b)
    r = inl.call(name, full)
    return r, [b.read(inl.key_of(full[k]), full[k].t) for k in outs]


class _Out:
    """A pointer parameter: what the function stores through it is read after the call."""

    def __init__(self, t: T.Scalar):
        self.t = t


class _Ptr:
    """A pointer parameter the function reads (normf's array): a generic address of `t` elements."""

    def __init__(self, addr, t: T.Scalar):
        self.addr, self.t = addr, t

    def at(self, b, idx):
        off = b.emit("mul", T.U64, [b.emit("bitcast", T.U64, [idx]), ir.Const(T.U64, self.t.bits // 8)])
        return b.emit("add", T.U64, [self.addr, off])


class _Local:
    """An alloca: a per-thread local array (a `local` slot in the kernel's entry block)."""

    def __init__(self, b, n: int, t: T.Scalar):
        self.t = t
        entry = b.fn.entry
        _Inliner.count += 1
        self.slot = ir.Instr("local", T.U64, [], {"size": n * t.bits // 8, "align": t.bits // 8,
                                                  "name": f"libdevice{_Inliner.count}"}, b.span, entry)
        entry.instrs.insert(0, self.slot)

    def addr(self, b, idx):
        off = b.emit("mul", T.U64, [b.emit("bitcast", T.U64, [idx]), ir.Const(T.U64, self.t.bits // 8)])
        return b.emit("add", T.U64, [self.slot, off])


def _f(bits_hex: str, t: T.Scalar) -> float:
    v = struct.unpack(">d", bytes.fromhex(bits_hex))[0]
    return v if t == T.F64 else struct.unpack("<f", struct.pack("<f", v))[0]


class _Inliner:
    count = 0

    def __init__(self, b):
        self.b = b

    # -- values ----------------------------------------------------------------------------------------
    def val(self, env, x, t: T.Scalar):
        if isinstance(x, str):
            return env[x]
        kind = x[0]
        if kind == "c":
            return ir.Const(t, bool(x[1]) if t == T.PRED else x[1])
        if kind == "f":
            return ir.Const(t, _f(x[1], t))
        if t is not None:                                # undef (ynf's phi of a path that never uses it): any value
            return ir.Const(t, False if t == T.PRED else 0.0 if t.is_float else 0)
        return None

    def u(self, v, t):
        """v (of signless int type t) as the unsigned type of its width."""
        return self.b.emit("bitcast", _UNSIGNED[t], [v]) if t in _UNSIGNED else v

    # -- a function ------------------------------------------------------------------------------------
    def key_of(self, out):
        return (self.key, "out", id(out))

    def call(self, name: str, args: list):
        fn = table()[name]
        _Inliner.count += 1
        key = self.key = ("$libdevice", _Inliner.count)
        b = self.b
        env = {p[1]: (a, ir.Const(T.S64, 0)) if isinstance(a, _Ptr) else a for p, a in zip(fn["params"], args)}
        blocks = {lbl: b.block("ld") for lbl, _ in fn["blocks"]}
        done = b.block("ld.ret")
        phis = {lbl: [i for i in ins if i["op"] == "phi"] for lbl, ins in fn["blocks"]}
        b.jmp(blocks[fn["blocks"][0][0]])
        for lbl, ins in fn["blocks"]:
            b.at(blocks[lbl])
            for i in ins:
                op = i["op"]
                if op == "phi":
                    env[i["d"]] = b.read((key, i["d"]), _TYPES[i["t"]])
                elif op in ("jmp", "br", "ret"):
                    self.terminate(i, env, key, lbl, blocks, phis, done, fn)
                else:
                    v = self.instr(i, env)
                    if i.get("d"):
                        env[i["d"]] = v
        for blk in blocks.values():
            b.seal(blk)
        b.seal(done)
        b.at(done)
        if fn["ret"] == "void":
            return None
        if fn["ret"] not in _TYPES:                      # a struct: its fields
            return [b.read((key, "$ret", k), t) for k, t in enumerate(self.ret_types)]
        return b.read((key, "$ret"), _TYPES[fn["ret"]])

    def terminate(self, i, env, key, lbl, blocks, phis, done, fn):
        b = self.b
        if i["op"] == "ret":
            if fn["ret"] in _TYPES:
                b.write((key, "$ret"), self.val(env, i["a"][0], _TYPES[fn["ret"]]))
            elif fn["ret"] != "void":
                fields = env[i["a"][0]]
                self.ret_types = [v.type for v in fields]
                for k, v in enumerate(fields):
                    b.write((key, "$ret", k), v)
            b.jmp(done)
            return
        targets = [i["to"]] if i["op"] == "jmp" else i["to"]
        for tgt in dict.fromkeys(targets):
            for p in phis[tgt]:
                for v, src in p["inc"]:
                    if src == lbl:
                        b.write((key, p["d"]), self.val(env, v, _TYPES[p["t"]]))
        if i["op"] == "jmp":
            b.jmp(blocks[i["to"]])
        else:
            b.br(self.val(env, i["a"][0], T.PRED), blocks[i["to"][0]], blocks[i["to"][1]])

    # -- instructions ----------------------------------------------------------------------------------
    def instr(self, i, env):
        b, op = self.b, i["op"]
        t = _TYPES.get(i.get("t"))
        if op == "alloca":
            return (_Local(b, i["n"], _TYPES[i["t"]]), ir.Const(T.S64, 0))
        if op == "store":
            out = env[i["a"][1]]
            if isinstance(out, tuple):                   # into a local array
                loc, idx = out
                b.emit("store", None, [loc.addr(b, idx), self.val(env, i["a"][0], loc.t)], space="local")
                return None
            self.b.write(self.key_of(out), self.val(env, i["a"][0], out.t))
            return None
        if op == "const":                                # a resolved __nvvm_reflect and what it decided
            return self.val(env, i["a"][0], t)
        if op == "gep":
            if "g" in i:
                return (i["g"], self.val(env, i["a"][0], T.S64))
            base, off = env[i["a"][0]]
            return (base, b.emit("add", T.S64, [off, self.val(env, i["a"][1], T.S64)]))
        if op == "load":
            g, idx = env[i["a"][0]]
            if isinstance(g, _Local):
                return b.emit("load", g.t, [g.addr(b, idx)], space="local")
            if isinstance(g, _Ptr):
                return b.emit("load", g.t, [g.at(b, idx)], space="generic")
            vals = table()["$tables"][g]              # a constant table: selected by the index
            c = (lambda v: ir.Const(t, v)) if t != T.F64 else (lambda v: ir.Const(T.F64, _f(v, T.F64)))  # noqa: E731
            r = c(vals[0])
            for k in range(1, len(vals)):
                r = b.emit("select", t, [b.emit("eq", T.PRED, [idx, ir.Const(T.S64, k)]), c(vals[k]), r])
            return r
        if op == "insertvalue":
            agg = env.get(i["a"][0]) if isinstance(i["a"][0], str) else [None, None]
            agg = list(agg)
            agg[i["i"]] = self.val(env, i["a"][1], _TYPES[i["et"]])
            return agg
        if op == "extractvalue":
            return env[i["a"][0]][i["i"]]
        if op == "call":
            ts = [_TYPES.get(x) for x in i["ts"]]
            args = [self.val(env, a, at) for a, at in zip(i["a"], ts)]
            return self.intrinsic(i["fn"], t, args)
        if op == "asm":
            ts = [_TYPES[x] for x in i["ts"]]
            args = [self.val(env, a, at) for a, at in zip(i["a"], ts)]
            if libdevice_asm.handles(i["asm"]):
                return libdevice_asm.run(b, i["asm"], i["t"].count(",") + 1 if i["t"].startswith("{") else 1, args, ts)
            return self.asm(i["asm"], t, args)
        if op in ("icmp", "fcmp"):
            at = _TYPES[i["t"]]
            x, y = (self.val(env, a, at) for a in i["a"])
            return self.compare(op, i["pred"], at, x, y)
        if op == "select":
            c, x, y = self.val(env, i["a"][0], T.PRED), self.val(env, i["a"][1], t), self.val(env, i["a"][2], t)
            return b.emit("select", t, [c, x, y])
        if op in ("bitcast", "zext", "sext", "trunc", "sitofp", "uitofp", "fptosi", "fptoui", "fpext", "fptrunc"):
            return self.convert(op, _TYPES[i["from"]], t, self.val(env, i["a"][0], _TYPES[i["from"]]))
        if op == "fneg":
            return b.emit("neg", t, [self.val(env, i["a"][0], t)])
        x, y = (self.val(env, a, t) for a in i["a"])
        return self.binary(op, t, x, y)

    def binary(self, op, t, x, y):
        b = self.b
        simple = {"add": "add", "sub": "sub", "mul": "mul", "and": "and", "or": "or", "xor": "xor",
                  "fadd": "add", "fsub": "sub", "fmul": "mul", "fdiv": "div", "sdiv": "div", "srem": "rem"}
        if t == T.PRED and op in ("and", "or", "xor"):
            return b.emit(op, T.PRED, [x, y])
        if op in simple:
            return b.emit(simple[op], t, [x, y])
        if op in ("udiv", "urem"):
            r = b.emit("div" if op == "udiv" else "rem", _UNSIGNED[t], [self.u(x, t), self.u(y, t)])
            return b.emit("bitcast", t, [r])
        if op in ("shl", "lshr", "ashr"):
            amount = b.emit("cvt", T.U32, [self.u(y, t)]) if t.bits != 32 else self.u(y, t)
            if op == "lshr":
                return b.emit("bitcast", t, [b.emit("shr", _UNSIGNED[t], [self.u(x, t), amount])])
            return b.emit("shl" if op == "shl" else "shr", t, [x, amount])
        raise NotPortable(f"LLVM instruction {op}")

    def compare(self, op, pred, t, x, y):
        b = self.b
        if op == "icmp":
            if pred in ("eq", "ne"):
                return b.emit(pred, T.PRED, [x, y])
            if pred[0] == "u":
                x, y = self.u(x, t), self.u(y, t)
            return b.emit(pred[1:], T.PRED, [x, y])          # slt/ult -> lt on the signed/unsigned view
        nan = lambda: b.emit("or", T.PRED, [b.emit("ne", T.PRED, [x, x]), b.emit("ne", T.PRED, [y, y])])  # noqa: E731
        ordered = {"oeq": "eq", "olt": "lt", "ole": "le", "ogt": "gt", "oge": "ge"}
        if pred in ordered:
            return b.emit(ordered[pred], T.PRED, [x, y])
        if pred == "une":
            return b.emit("ne", T.PRED, [x, y])
        inverse = {"ult": "ge", "ule": "gt", "ugt": "le", "uge": "lt"}
        if pred in inverse:
            return b.emit("not", T.PRED, [b.emit(inverse[pred], T.PRED, [x, y])])
        one = lambda: b.emit("or", T.PRED, [b.emit("lt", T.PRED, [x, y]), b.emit("gt", T.PRED, [x, y])])  # noqa: E731
        if pred == "one":
            return one()
        if pred == "ueq":
            return b.emit("not", T.PRED, [one()])
        if pred == "uno":
            return nan()
        if pred == "ord":
            return b.emit("not", T.PRED, [nan()])
        if pred in ("true", "false"):
            return ir.Const(T.PRED, pred == "true")
        raise NotPortable(f"fcmp {pred}")

    def convert(self, op, src, dst, v):
        b = self.b
        if op == "bitcast":
            return b.emit("bitcast", dst, [v])
        if op == "zext":
            if src == T.PRED:
                return b.emit("select", dst, [v, ir.Const(dst, 1), ir.Const(dst, 0)])
            return b.emit("bitcast", dst, [b.emit("cvt", _UNSIGNED[dst], [self.u(v, src)])])
        if op == "sext":
            if src == T.PRED:
                return b.emit("select", dst, [v, ir.Const(dst, -1), ir.Const(dst, 0)])
            return b.emit("cvt", dst, [v])
        if op == "trunc":
            if dst == T.PRED:
                return b.emit("ne", T.PRED, [b.emit("and", src, [v, ir.Const(src, 1)]), ir.Const(src, 0)])
            return b.emit("cvt", dst, [v])
        if op in ("sitofp", "fptosi", "fpext", "fptrunc"):
            return b.emit("cvt", dst, [v])
        if op == "uitofp":
            return b.emit("cvt", dst, [self.u(v, src)])
        if op == "fptoui":
            return b.emit("bitcast", dst, [b.emit("cvt", _UNSIGNED[dst], [v])])
        raise NotPortable(op)

    # -- NVVM intrinsics -------------------------------------------------------------------------------
    def ftz(self, x, t):
        """PTX .ftz on an f32 value: a subnormal becomes a zero of its sign."""
        b = self.b
        if t != T.F32:
            return x
        tiny = b.emit("lt", T.PRED, [b.emit("fabs", t, [x]), ir.Const(t, 2.0 ** -126)])
        z = b.emit("mul", t, [x, ir.Const(t, 0.0)], nofuse=True)
        return b.emit("select", t, [tiny, z, x])

    def hi_word(self, x):
        """An f64 with its lower 32 bits cleared (what the .f64 approximations work on)."""
        b = self.b
        bits = b.emit("bitcast", T.U64, [x])
        return b.emit("bitcast", T.F64, [b.emit("and", T.U64, [bits, ir.Const(T.U64, 0xFFFFFFFF00000000)])])

    def intrinsic(self, fn: str, t, a):
        b = self.b
        if fn.startswith(("__nv_", "__internal_")):
            if fn not in table():
                raise NotPortable(fn)
            return _Inliner(b).call(fn, a)
        name = fn.replace("llvm.nvvm.", "").replace("llvm.", "")
        base = name.rsplit(".", 1)[0] if name.endswith((".f", ".d", ".f32", ".f64")) else name
        ftz = ".ftz" in base
        base = base.replace(".ftz", "")
        if base == "fabs":
            return b.emit("fabs", t, a)
        if base in ("fma.rn", "fma"):
            return b.emit("fma", t, a)
        if base in ("mul.rn", "add.rn"):
            return self.ftz(b.emit(base[:3], t, [self.ftz(x, t) for x in a], nofuse=True), t) if ftz else \
                b.emit(base[:3], t, a, nofuse=True)
        if base == "add.rz" and t == T.F32:
            x, y = ([self.ftz(v, t) for v in a]) if ftz else a
            r = self.add_rz(x, y)
            return self.ftz(r, t) if ftz else r
        if base in ("add.rz", "mul.rz") and not ftz:   # add.rz.f64 (llround), mul.rz.f32 (erfcxf): the
            return b.emit(base[:3], t, a, nofuse=True, mode="rz")   # instruction, which the interpreter rounds
        if base in ("fma.rz", "fma.rm") and t == T.F32:
            x, y, z = ([self.ftz(v, t) for v in a]) if ftz else a
            r = self.fma_rz(x, y, z, down=base == "fma.rm")
            return self.ftz(r, t) if ftz else r
        if base == "saturate":          # clamp to [0, 1]; NaN gives 0
            x = self.ftz(a[0], t) if ftz else a[0]
            r = b.emit("select", t, [b.emit("lt", T.PRED, [x, ir.Const(t, 1.0)]), x, ir.Const(t, 1.0)])
            return b.emit("select", t, [b.emit("ge", T.PRED, [x, ir.Const(t, 0.0)]), r, ir.Const(t, 0.0)])
        if base == "div.rn":
            if ftz:
                return self.ftz(b.emit("div", t, [self.ftz(x, t) for x in a], nofuse=True), t)
            return b.emit("div", t, a, nofuse=True)
        if name == "d2i.rn":
            return b.emit("cvt", T.S32, [rint(b, a[0], T.F64)])
        if name == "ctlz.i64":
            return b.emit("cvt", T.S64, [b.emit("clz", T.S32, [a[0]])])
        if name == "ctlz.i32":
            return b.emit("clz", T.S32, [a[0]])
        if base in ("sqrt.rn", "sqrt"):
            return b.emit("sqrt", t, a)
        if base in ("ex2.approx", "lg2.approx", "rsqrt.approx"):
            op = {"ex2.approx": "exp2", "lg2.approx": "log2", "rsqrt.approx": "rsqrt"}[base]
            x = self.ftz(a[0], t) if ftz else a[0]
            r = b.emit(op, t, [x])
            return self.ftz(r, t) if ftz else r
        if base in ("rcp.approx",) and t == T.F64:
            return self.hi_word(b.emit("rcp", T.F64, [self.hi_word(a[0])]))
        if base in ("floor", "trunc"):
            return b.emit(base, t, a)
        if base == "round":             # cvt.rni: round half to even
            return rint(b, a[0], t)
        if base == "fmin":
            return b.emit("fmin", t, a)
        if base == "fmax":
            return b.emit("fmax", t, a)
        if base == "copysign":
            it = T.U32 if t.bits == 32 else T.U64
            sign = 1 << (t.bits - 1)
            mag = b.emit("and", it, [b.emit("bitcast", it, [a[0]]), ir.Const(it, sign - 1)])
            sg = b.emit("and", it, [b.emit("bitcast", it, [a[1]]), ir.Const(it, sign)])
            return b.emit("bitcast", t, [b.emit("or", it, [mag, sg])])
        if name == "d2i.hi":
            bits = b.emit("bitcast", T.U64, [a[0]])
            return b.emit("bitcast", T.S32, [b.emit("cvt", T.U32, [b.emit("shr", T.U64, [bits, ir.Const(T.U32, 32)])])])
        if name == "d2i.lo":
            return b.emit("bitcast", T.S32, [b.emit("cvt", T.U32, [b.emit("bitcast", T.U64, [a[0]])])])
        if name == "lohi.i2d":
            lo = b.emit("cvt", T.U64, [b.emit("bitcast", T.U32, [a[0]])])
            hi = b.emit("cvt", T.U64, [b.emit("bitcast", T.U32, [a[1]])])
            return b.emit("bitcast", T.F64, [b.emit("or", T.U64, [b.emit("shl", T.U64, [hi, ir.Const(T.U32, 32)]), lo])])
        if name in ("f2i.rz",):
            return b.emit("cvt", T.S32, a)
        if name in ("f2i.rn", "f2i.rn.ftz"):
            return b.emit("cvt", T.S32, [rint(b, a[0], T.F32)])
        if base in ("div.approx",) and t == T.F32:
            return self.fdividef(a[0], a[1], ftz)
        raise NotPortable(fn)

    def _two_sum(self, t, a, c):
        """(s, e): s = a + c rounded to nearest in type t, e its exact error (Knuth's TwoSum)."""
        b = self.b
        s = b.emit("add", t, [a, c], nofuse=True)
        bb = b.emit("sub", t, [s, a], nofuse=True)
        e = b.emit("add", t, [b.emit("sub", t, [a, b.emit("sub", t, [s, bb], nofuse=True)], nofuse=True),
                              b.emit("sub", t, [c, bb], nofuse=True)], nofuse=True)
        return s, e

    def _fma_sum(self, x, y, z):
        """(p, z, s, e) of x*y + z for f32 operands, in f64: the exact product p, z, and _two_sum(p, z)."""
        b, d = self.b, T.F64
        p = b.emit("mul", d, [b.emit("cvt", d, [x]), b.emit("cvt", d, [y])], nofuse=True)
        z64 = b.emit("cvt", d, [z])
        return (p, z64) + self._two_sum(d, p, z64)

    def _inward(self, t, s, e):
        """Whether the error e points from s toward zero (the exact sum lies below |s|)."""
        b, zero = self.b, ir.Const(t, 0.0)
        return b.emit("or", T.PRED, [b.emit("and", T.PRED, [b.emit("gt", T.PRED, [s, zero]), b.emit("lt", T.PRED, [e, zero])]),
                                     b.emit("and", T.PRED, [b.emit("lt", T.PRED, [s, zero]), b.emit("gt", T.PRED, [e, zero])])])

    def add_rz(self, x, y):
        """add.rz.f32, exactly: the round-to-nearest sum s and its exact error e (Knuth's TwoSum); when
        e points toward zero from s the exact sum lies below |s|, so the result is s one step toward
        zero; an overflow to infinity of finite operands gives the largest finite value."""
        b, t = self.b, T.F32
        s, e = self._two_sum(t, x, y)
        toward0 = self._inward(t, s, e)
        bits = b.emit("bitcast", T.U32, [s])
        r = b.emit("select", t, [toward0, b.emit("bitcast", t, [b.emit("sub", T.U32, [bits, ir.Const(T.U32, 1)])]), s])
        inf = ir.Const(t, float("inf"))
        finite = lambda v: b.emit("lt", T.PRED, [b.emit("fabs", t, [v]), inf])  # noqa: E731
        over = b.emit("and", T.PRED, [b.emit("eq", T.PRED, [b.emit("fabs", t, [s]), inf]),
                                      b.emit("and", T.PRED, [finite(x), finite(y)])])
        big = b.emit("bitcast", t, [b.emit("sub", T.U32, [bits, ir.Const(T.U32, 1)])])
        return b.emit("select", t, [over, big, r])

    def fma_rz(self, x, y, z, down: bool = False):
        """fma.rz.f32 (fma.rm.f32 when `down`), exactly: p = x*y is exact in f64; s = p + z rounded (f64)
        with its exact error e (TwoSum); s converted to f32 toward zero (round to nearest, then one step
        toward zero when that went outward); and when s itself is an f32 value, one more step toward zero
        if e points that way.  Toward minus infinity likewise, and an exact zero sum is -0 unless both
        p and z are +0."""
        if down:
            return self.fma_rm(x, y, z)
        b, d, f = self.b, T.F64, T.F32
        _, _, s, e = self._fma_sum(x, y, z)
        t = b.emit("cvt", f, [s])
        down = lambda v: b.emit("bitcast", f, [b.emit("sub", T.U32, [b.emit("bitcast", T.U32, [v]),  # noqa: E731
                                                                     ir.Const(T.U32, 1)])])
        t64 = b.emit("cvt", d, [t])
        outward = b.emit("gt", T.PRED, [b.emit("fabs", d, [t64]), b.emit("fabs", d, [s])])
        t = b.emit("select", f, [outward, down(t), t])
        exact = b.emit("eq", T.PRED, [b.emit("cvt", d, [t]), s])
        inward = self._inward(d, s, e)
        return b.emit("select", f, [b.emit("and", T.PRED, [exact, inward]), down(t), t])

    def fma_rm(self, x, y, z):
        b, d, f = self.b, T.F64, T.F32
        p, z64, s, e = self._fma_sum(x, y, z)

        def nextdown(v):                 # the next f32 below v (v not -inf, not NaN)
            bits = b.emit("bitcast", T.U32, [v])
            pos = b.emit("gt", T.PRED, [v, ir.Const(f, 0.0)])
            zero = b.emit("eq", T.PRED, [v, ir.Const(f, 0.0)])
            r = b.emit("select", T.U32, [pos, b.emit("sub", T.U32, [bits, ir.Const(T.U32, 1)]),
                                         b.emit("add", T.U32, [bits, ir.Const(T.U32, 1)])])
            return b.emit("bitcast", f, [b.emit("select", T.U32, [zero, ir.Const(T.U32, 0x80000001), r])])
        t = b.emit("cvt", f, [s])
        t = b.emit("select", f, [b.emit("gt", T.PRED, [b.emit("cvt", d, [t]), s]), nextdown(t), t])
        below = b.emit("and", T.PRED, [b.emit("eq", T.PRED, [b.emit("cvt", d, [t]), s]),
                                       b.emit("lt", T.PRED, [e, ir.Const(d, 0.0)])])
        t = b.emit("select", f, [below, nextdown(t), t])
        plus0 = lambda v: b.emit("eq", T.PRED, [b.emit("bitcast", T.U64, [v]), ir.Const(T.U64, 0)])  # noqa: E731
        zero = b.emit("select", f, [b.emit("and", T.PRED, [plus0(p), plus0(z64)]), ir.Const(f, 0.0),
                                    ir.Const(f, -0.0)])
        return b.emit("select", f, [b.emit("eq", T.PRED, [s, ir.Const(d, 0.0)]), zero, t])

    def fdividef(self, x, y, ftz: bool):
        """div.approx.f32 as vgpu's __fdividef models it: x * (1/y), 0 for 2^126 < |y| < 2^128."""
        b, t = self.b, T.F32
        if ftz:
            x, y = self.ftz(x, t), self.ftz(y, t)
        ay = b.emit("fabs", t, [y])
        big = b.emit("and", T.PRED, [b.emit("gt", T.PRED, [ay, ir.Const(t, 2.0 ** 126)]),
                                     b.emit("le", T.PRED, [ay, ir.Const(t, 3.4028234663852886e38)])])
        q = b.emit("mul", t, [x, b.emit("div", t, [ir.Const(t, 1.0), y])], nofuse=True)
        r = b.emit("select", t, [big, b.emit("mul", t, [x, ir.Const(t, 0.0)], nofuse=True), q])
        return self.ftz(r, t) if ftz else r

    def asm(self, text: str, t, a):
        b = self.b
        if text.startswith("rcp.approx.ftz.f32"):
            return self.ftz(b.emit("div", T.F32, [ir.Const(T.F32, 1.0), self.ftz(a[0], T.F32)]), T.F32)
        if text.startswith("rsqrt.approx.ftz.f64"):
            return self.hi_word(b.emit("rsqrt", T.F64, [self.hi_word(a[0])]))
        if text.startswith(("sub.rn.f32", "sub.rn.f64")):
            return b.emit("sub", t, a, nofuse=True)
        if text.startswith("sub.rn.ftz.f32"):
            return self.ftz(b.emit("sub", T.F32, [self.ftz(x, T.F32) for x in a], nofuse=True), T.F32)
        if "setp.equ.f64" in text and "selp.f64" in text:
            x, y, p, q = a
            equ = b.emit("or", T.PRED, [b.emit("eq", T.PRED, [x, y]), b.emit("or", T.PRED, [
                b.emit("ne", T.PRED, [x, x]), b.emit("ne", T.PRED, [y, y])])])
            return b.emit("select", T.F64, [equ, p, q])
        raise NotPortable(f"inline PTX {text!r}")
