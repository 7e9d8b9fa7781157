"""Lane-vector arithmetic in LLVM IR: vgpu.arith's semantics, op by op, over <32 x T> values.

In:  an llvmlite IRBuilder, a vgpu.arith op name, the result type `t` (a vgpu Scalar; for compares
     the operand type), the operand vectors (already of their types), cvt's source type and mode.
Out: the result vector (binary16 halves: i16 bits, see the section at the end).  `supported(op, t,
     src, mode)` says whether an op is implemented here; the executor declines kernels using anything
     else (the transcendental math functions, whose numpy values this file cannot reproduce bit for bit).

Every definition mirrors vgpu/arith.py (the reference): wrapping integers, division by zero giving
all ones, clamped shift amounts, canonical NaNs, PTX min/max, saturating float -> int conversion.
tests/test_compiled.py checks the bits against vgpu.arith on random operands.
"""
from __future__ import annotations

from llvmlite import ir

from ...types import SCALARS

N = 32
I1, I8, I16, I32, I64, I128 = (ir.IntType(b) for b in (1, 8, 16, 32, 64, 128))
F32, F64 = ir.FloatType(), ir.DoubleType()
F32_SCALAR = SCALARS["f32"]


def vec(t: ir.Type) -> ir.VectorType:
    return ir.VectorType(t, N)


def scalar_type(s) -> ir.Type:
    """LLVM element type of a vgpu Scalar (pred -> i1)."""
    if s.kind == "pred":
        return I1
    if s.is_float:
        return {16: I16, 32: F32}.get(s.bits, F64)          # f16: its bits (see the binary16 section)
    return ir.IntType(s.bits)


def splat(t: ir.Type, v) -> ir.Constant:
    """A constant vector of N copies; ints wrap, floats come from their exact bits."""
    if isinstance(t, ir.IntType):
        return ir.Constant(vec(t), [ir.Constant(t, int(v) & ((1 << t.width) - 1))] * N)
    return ir.Constant(vec(t), [ir.Constant(t, float(v))] * N)


def fbits_const(t: ir.Type, bits: int, b: ir.IRBuilder):
    """A float vector constant from its bit pattern (NaN payloads exact)."""
    it = I32 if t == F32 else I64
    return b.bitcast(splat(it, bits), vec(t))


_CANON = {32: 0x7FFFFFFF, 64: 0xFFF8000000000000}
_CVT_NAN32 = 0xFFC00000


def canon(b, x, nan_bits=None):
    """x with NaNs replaced by the canonical NaN (or `nan_bits`).  Done on the integer bits: LLVM may
    fold a float select between NaNs to either operand (NaN payloads are not preserved by its rules)."""
    ft = x.type.element
    it = vec(I32 if ft == F32 else I64)
    bits = nan_bits if nan_bits is not None else _CANON[32 if ft == F32 else 64]
    isnan = b.fcmp_unordered("uno", x, x)
    return b.bitcast(b.select(isnan, opaque_splat(b, it.element, bits), b.bitcast(x, it)), x.type)


def opaque_splat(b, t: ir.IntType, v: int):
    """<32 x t> of the constant v, which the optimiser cannot see (an empty asm): with registers in
    SSA values it would otherwise turn `select isnan, NaN bits, x` into a float select and drop it."""
    x = b.asm(ir.FunctionType(t, [t]), "", "=r,0", [ir.Constant(t, v)], False)
    e = b.insert_element(ir.Constant(vec(t), None), x, ir.Constant(I32, 0))
    return b.shuffle_vector(e, ir.Constant(vec(t), None), ir.Constant(vec(I32), [ir.Constant(I32, 0)] * N))


def _intrinsic(b, name, args, ret=None):
    mod = b.module
    tys = [a.type for a in args]
    ret = ret or tys[0]
    fn = mod.globals.get(name)
    if fn is None:
        fn = ir.Function(mod, ir.FunctionType(ret, tys), name=name)
    return b.call(fn, args)


def _vsuffix(t: ir.VectorType) -> str:
    e = t.element
    s = "f32" if e == F32 else "f64" if e == F64 else f"i{e.width}"
    return f"v{N}{s}"


def intr(b, base, *args, ret=None):
    """Call llvm.<base>.<vector type> (e.g. intr(b, 'ctpop', x))."""
    return _intrinsic(b, f"llvm.{base}.{_vsuffix(args[0].type)}", list(args), ret)


# -- integers ----------------------------------------------------------------------------------------
def _ones(t):
    return splat(t.element, -1)


def _zero(t):
    return ir.Constant(t, None)


def _sel_zero_div(b, d):
    zero = b.icmp_unsigned("==", d, _zero(d.type))
    return zero, b.select(zero, splat(d.type.element, 1), d)


def _iabs(b, x):
    neg = b.icmp_signed("<", x, _zero(x.type))
    return b.select(neg, b.neg(x), x)


def const_value(v, signed=True):
    """The value of every lane of a constant splat (as a signed or unsigned integer), else None."""
    if not (isinstance(v, ir.Constant) and isinstance(v.constant, list) and v.constant):
        return None
    vals = {c.constant for c in v.constant}
    if len(vals) != 1 or not isinstance(next(iter(vals)), int):
        return None
    w = v.type.element.width
    x = next(iter(vals)) & ((1 << w) - 1)
    return x - (1 << w) if signed and x >> (w - 1) else x


def idiv(b, signed, x, y, rem=False):
    """arith._idiv / _irem: x % 0 is x; x / 0 all ones, at 64 bits 0xFFFFFFFF when 0 <= x < 2**32."""
    c = const_value(y) if signed else None
    if c is not None and c not in (0, -1):     # C's truncating division, no overflow: LLVM's shifts
        return b.srem(x, y) if rem else b.sdiv(x, y)
    zero, y1 = _sel_zero_div(b, y)
    if signed:
        ua, ub = _iabs(b, x), _iabs(b, y1)
        r = b.urem(ua, ub) if rem else b.udiv(ua, ub)
        negate = b.icmp_signed("<", x, _zero(x.type)) if rem else \
            b.icmp_signed("<", b.xor(x, y), _zero(x.type))
        r = b.select(negate, b.neg(r), r)
    else:
        r = b.urem(x, y1) if rem else b.udiv(x, y1)
    if rem:
        return b.select(zero, x, r)
    by_zero = _ones(x.type)
    if x.type.element.width == 64:
        small = b.icmp_unsigned("<=", x, splat(I64, 0xFFFFFFFF))      # 0 <= x < 2**32 (signed or not)
        by_zero = b.select(small, splat(I64, 0xFFFFFFFF), by_zero)
    return b.select(zero, by_zero, r)


def _amount(b, s, t):
    """(s >= width as a mask, min(s, width-1) in t's element type) for a u32 shift amount."""
    w = t.element.width
    big = b.icmp_unsigned(">=", s, splat(I32, w))
    k = b.select(big, splat(I32, w - 1), s)
    if w > 32:
        k = b.zext(k, t)
    elif w < 32:
        k = b.trunc(k, t)
    return big, k


def shl(b, x, s):
    big, k = _amount(b, s, x.type)
    return b.select(big, _zero(x.type), b.shl(x, k))


def shr(b, signed, x, s):
    big, k = _amount(b, s, x.type)
    if signed:
        return b.ashr(x, k)
    return b.select(big, _zero(x.type), b.lshr(x, k))


def mul_hi(b, signed, x, y):
    w = x.type.element.width
    wide = vec(ir.IntType(2 * w))
    ext = b.sext if signed else b.zext
    p = b.mul(ext(x, wide), ext(y, wide))
    return b.trunc(b.lshr(p, splat(wide.element, w)), x.type)


def imin(b, signed, x, y, is_max=False):
    cmp = b.icmp_signed if signed else b.icmp_unsigned
    c = cmp(">" if is_max else "<", x, y)
    return b.select(c, x, y)


def bitlen(b, u):
    """Bit length (0 for 0) in u's type."""
    w = u.type.element.width
    return b.sub(splat(u.type.element, w), intr(b, "ctlz", u, ir.Constant(I1, 0), ret=u.type))


def to_u32(b, x):
    w = x.type.element.width
    if w == 32:
        return x
    return b.trunc(x, vec(I32)) if w > 32 else b.zext(x, vec(I32))


# -- floats ------------------------------------------------------------------------------------------
def fmin(b, x, y, is_max=False):
    both_zero = b.and_(b.fcmp_ordered("==", x, _zero(x.type)), b.fcmp_ordered("==", y, _zero(y.type)))
    xneg = signbit(b, x)
    zres = b.select(xneg, y, x) if is_max else b.select(xneg, x, y)
    xnan = b.fcmp_unordered("uno", x, x)
    ynan = b.fcmp_unordered("uno", y, y)
    pick = b.fcmp_ordered(">" if is_max else "<", x, y)
    r = b.select(pick, x, y)
    r = b.select(ynan, x, r)
    r = b.select(xnan, y, r)
    return canon(b, b.select(both_zero, zres, r))


def signbit(b, x):
    it = vec(I32 if x.type.element == F32 else I64)
    return b.icmp_signed("<", b.bitcast(x, it), _zero(it))


def nextafter_bits(b, r, toward_neg):
    """r moved one ulp toward -inf (toward_neg True) or +inf, as IEEE bit arithmetic."""
    ft = r.type.element
    it = vec(I32 if ft == F32 else I64)
    bits = b.bitcast(r, it)
    is_zero = b.fcmp_ordered("==", r, _zero(r.type))
    neg = signbit(b, r)
    if toward_neg:   # positive: shrink (-1), negative: grow (+1)
        step = b.select(neg, splat(it.element, 1), splat(it.element, -1))
    else:
        step = b.select(neg, splat(it.element, -1), splat(it.element, 1))
    moved = b.add(bits, step)
    tiny = splat(it.element, (1 << (it.element.width - 1)) | 1 if toward_neg else 1)
    out = b.select(is_zero, tiny, moved)
    isnan = b.fcmp_unordered("uno", r, r)
    return b.select(isnan, r, b.bitcast(out, r.type))


def toward_zero_bits(b, r):
    """r moved one ulp toward zero (r finite nonzero or infinite)."""
    it = vec(I32 if r.type.element == F32 else I64)
    bits = b.bitcast(r, it)
    isnan = b.fcmp_unordered("uno", r, r)
    is_zero = b.fcmp_ordered("==", r, _zero(r.type))
    moved = b.bitcast(b.sub(bits, splat(it.element, 1)), r.type)
    return b.select(b.or_(isnan, is_zero), r, moved)


def f64_to_f32(b, x, rnd):
    """Round f64 to f32 with mode rn (None) rz rm rp (arith._f64_to_f32)."""
    r = b.fptrunc(x, vec(F32))
    if rnd in (None, "rn"):
        return r
    r64 = b.fpext(r, x.type)
    if rnd == "rz":
        away = b.fcmp_ordered(">", intr(b, "fabs", r64), intr(b, "fabs", x))
        return b.select(away, toward_zero_bits(b, r), r)
    if rnd == "rm":
        return b.select(b.fcmp_ordered(">", r64, x), nextafter_bits(b, r, True), r)
    return b.select(b.fcmp_ordered("<", r64, x), nextafter_bits(b, r, False), r)


_INTEGRAL = {"rni": "rint", "rzi": "trunc", "rmi": "floor", "rpi": "ceil",
             "rn": "rint", "rz": "trunc", "rm": "floor", "rp": "ceil"}


def _parse_mode(mode):
    parts = (mode or "").split(".")
    return next((p for p in parts if p and p != "sat"), None), "sat" in parts


def cvt(b, t, src, x, mode):
    """arith._cvt: x (of type src) to t."""
    rnd, sat = _parse_mode(mode)
    tt = vec(scalar_type(t))
    if t.kind == "pred":
        if src.is_float:
            return b.fcmp_unordered("!=", x, _zero(x.type))
        return b.icmp_unsigned("!=", x, _zero(x.type))
    if src.kind == "pred":
        return b.uitofp(x, tt) if t.is_float else b.zext(x, tt)
    if src.is_float and t.is_float:
        if rnd in ("rni", "rzi", "rmi", "rpi"):
            x, rnd = intr(b, _INTEGRAL[rnd], x), None
        if t.bits < src.bits:
            r = canon(b, f64_to_f32(b, x, rnd), _CVT_NAN32)
        elif t.bits > src.bits:
            r = canon(b, b.fpext(x, tt))
        else:
            r = canon(b, x)
        if sat:
            isnan = b.fcmp_unordered("uno", r, r)
            lo = b.fcmp_ordered("<", r, _zero(r.type))
            hi = b.fcmp_ordered(">", r, splat(tt.element, 1.0))
            r = b.select(lo, _zero(r.type), b.select(hi, splat(tt.element, 1.0), r))
            r = b.select(isnan, _zero(r.type), r)
        return r
    if src.is_float:
        return float_to_int(b, t, src, intr(b, _INTEGRAL[rnd or "rzi"], x))
    if t.is_float:
        conv = b.sitofp if src.is_signed else b.uitofp
        if src.bits <= 32:
            d = conv(x, vec(F64))
            return d if t.bits == 64 else f64_to_f32(b, d, rnd)
        if rnd not in (None, "rn"):
            raise NotImplementedError("directed rounding of a 64-bit integer")
        return conv(x, tt)
    # int -> int
    if sat:
        lo, hi = _range(t)
        slo, shi = _range(src)
        wide = vec(ir.IntType(max(t.bits, src.bits) + 1))
        xe = (b.sext if src.is_signed else b.zext)(x, wide)
        if slo < lo:
            c = splat(wide.element, lo)
            xe = b.select(b.icmp_signed("<", xe, c), c, xe)
        if shi > hi:
            c = splat(wide.element, hi)
            xe = b.select(b.icmp_signed(">", xe, c), c, xe)
        return b.trunc(xe, tt)
    return resize(b, x, tt, src.is_signed)


def float_to_int(b, t, src, x):
    """arith._float_to_int: saturating; NaN -> the sign bit alone at 64 bits or from f64, else 0;
    8- and 16-bit targets through the 32-bit conversion of their signedness."""
    if t.bits < 32:
        wide = SCALARS[("s" if t.is_signed else "u") + "32"]
        return b.trunc(float_to_int(b, wide, src, x), vec(scalar_type(t)))
    tt = vec(scalar_type(t))
    name = "fptosi.sat" if t.is_signed else "fptoui.sat"
    r = _intrinsic(b, f"llvm.{name}.{_vsuffix(tt)}.{_vsuffix(x.type)}", [x], tt)
    if t.bits == 64 or src.bits == 64:
        isnan = b.fcmp_unordered("uno", x, x)
        r = b.select(isnan, splat(tt.element, 1 << (t.bits - 1)), r)
    return r


def _range(t):
    if t.is_signed:
        return -(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1
    return 0, (1 << t.bits) - 1


def resize(b, x, tt, signed):
    """Integer vector x to integer vector type tt: truncate, or extend by `signed`."""
    fw, tw = x.type.element.width, tt.element.width
    if fw == tw:
        return x
    if fw > tw:
        return b.trunc(x, tt)
    return b.sext(x, tt) if signed else b.zext(x, tt)


# -- the table ---------------------------------------------------------------------------------------
_FCMP = {"eq": ("o", "=="), "ne": ("u", "!="), "lt": ("o", "<"), "le": ("o", "<="), "gt": ("o", ">"),
         "ge": ("o", ">="), "ne_ordered": ("o", "!="), "equ": ("u", "=="), "neu": ("u", "!="),
         "ltu": ("u", "<"), "leu": ("u", "<="), "gtu": ("u", ">"), "geu": ("u", ">="),
         "num": ("o", "ord"), "nan": ("u", "uno")}
_ICMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
INT_OPS = {"add", "sub", "mul", "div", "rem", "and", "or", "xor", "not", "neg", "abs", "shl", "shr", "min", "max",
           "mul_hi", "mul_wide", "mad_lo", "mad_hi", "mad_wide", "popc", "clz", "ffs", "bfind", "brev"}
FLOAT_OPS = {"add", "sub", "mul", "div", "neg", "abs", "fabs", "min", "max", "fmin", "fmax", "sqrt", "rcp",
             "rsqrt", "rsqrt_approx", "fma", "round", "fmod", "floor", "ceil", "trunc", "rint"}
VIA64_F32 = {"exp2", "log2", "ex2_approx", "lg2_approx"}    # f32 only: evaluated in double, rounded (vgpu.arith)


def supported(op: str, t, src=None, mode=None) -> bool:
    if is_half(t) or is_half(src):
        return half_supported(op, t, src, mode)
    if op in ("cvt", "select") or op in _FCMP:
        rnd = _parse_mode(mode)[0] if op == "cvt" else None
        if op == "cvt" and src is not None and src.kind != "pred" and not src.is_float and t.is_float:
            if rnd in ("rni", "rzi", "rmi", "rpi"):        # vgpu.arith has no such conversion (KeyError)
                return False
            if src.bits == 64 and rnd not in (None, "rn"):
                return False
        return True
    if t.is_float:
        if mode not in (None, "rn"):                # add.rz.f32 and kin: vgpu.arith rounds them exactly
            return False
        return op in FLOAT_OPS or (op in VIA64_F32 and t.bits == 32)
    return op in INT_OPS


def emit(b: ir.IRBuilder, op: str, t, args: list, src=None, mode=None):
    """The vector result of arith op `op` at type t (see the module docstring)."""
    if is_half(t) or is_half(src):
        return half_emit(b, op, t, args, src, mode)
    if op == "select":
        return b.select(args[0], args[1], args[2])
    if op == "cvt":
        return cvt(b, t, src, args[0], mode)
    if op in _FCMP and not (op in _ICMP and not t.is_float):
        kind, c = _FCMP[op]
        if c in ("ord", "uno"):
            return b.fcmp_ordered("ord", args[0], args[1]) if c == "ord" else b.fcmp_unordered("uno", args[0], args[1])
        return (b.fcmp_ordered if kind == "o" else b.fcmp_unordered)(c, args[0], args[1])
    if op in _ICMP:
        cmp = b.icmp_signed if t.is_signed else b.icmp_unsigned
        return cmp(_ICMP[op], args[0], args[1])
    if t.is_float:
        return _float(b, op, t, args)
    return _int(b, op, t, args, src)


def _float(b, op, t, a):
    x = a[0]
    if op == "add":
        return canon(b, b.fadd(x, a[1]))
    if op == "sub":
        return canon(b, b.fsub(x, a[1]))
    if op == "mul":
        return canon(b, b.fmul(x, a[1]))
    if op == "div":
        return canon(b, b.fdiv(x, a[1]))
    if op == "neg":
        return canon(b, b.fneg(x))
    if op in ("abs", "fabs"):
        return canon(b, intr(b, "fabs", x))
    if op in ("min", "fmin"):
        return fmin(b, x, a[1])
    if op in ("max", "fmax"):
        return fmin(b, x, a[1], is_max=True)
    if op == "sqrt":
        return canon(b, intr(b, "sqrt", x))
    if op == "rcp":
        return canon(b, b.fdiv(splat(x.type.element, 1.0), x))
    if op in ("rsqrt", "rsqrt_approx"):
        if t.bits == 64:
            return canon(b, b.fdiv(splat(F64, 1.0), intr(b, "sqrt", x)))
        d = b.fpext(x, vec(F64))
        return canon(b, b.fptrunc(b.fdiv(splat(F64, 1.0), intr(b, "sqrt", d)), x.type))
    if op in VIA64_F32:             # ex2/lg2.approx.f32 as vgpu models them: libm's exp2/log2 in double
        d = b.fpext(x, vec(F64))
        return canon(b, b.fptrunc(intr(b, "exp2" if op in ("exp2", "ex2_approx") else "log2", d), x.type))
    if op == "fma":
        return canon(b, intr(b, "fma", x, a[1], a[2]))
    if op == "round":
        return canon(b, intr(b, "round", x))
    if op in ("floor", "ceil", "trunc", "rint"):
        return canon(b, intr(b, op, x))
    if op == "fmod":
        return canon(b, b.frem(x, a[1]))
    raise NotImplementedError(op)


def _int(b, op, t, a, src=None):
    x = a[0]
    s = t.is_signed
    if op == "add":
        return b.add(x, a[1])
    if op == "sub":
        return b.sub(x, a[1])
    if op == "mul":
        return b.mul(x, a[1])
    if op in ("div", "rem"):
        return idiv(b, s, x, a[1], rem=op == "rem")
    if op == "and":
        return b.and_(x, a[1])
    if op == "or":
        return b.or_(x, a[1])
    if op == "xor":
        return b.xor(x, a[1])
    if op == "not":
        return b.not_(x)
    if op == "neg":
        return b.neg(x)
    if op == "abs":
        return _iabs(b, x) if s else x
    if op == "shl":
        return shl(b, x, a[1])
    if op == "shr":
        return shr(b, s, x, a[1])
    if op in ("min", "max"):
        return imin(b, s, x, a[1], op == "max")
    if op == "mul_hi":
        return mul_hi(b, s, x, a[1])
    if op == "mad_lo":
        return b.add(b.mul(x, a[1]), a[2])
    if op == "mad_hi":
        return b.add(mul_hi(b, s, x, a[1]), a[2])
    if op in ("mul_wide", "mad_wide"):
        wt = vec(scalar_type(t))
        ext = b.sext if s else b.zext
        p = b.mul(ext(x, wt), ext(a[1], wt))
        return b.add(p, a[2]) if op == "mad_wide" else p
    # bit ops: the operand's type is x's, the result type t
    tt = vec(scalar_type(t))
    if op == "popc":
        r = intr(b, "ctpop", x)
    elif op == "clz":
        r = intr(b, "ctlz", x, ir.Constant(I1, 0), ret=x.type)
    elif op == "ffs":
        nz = b.icmp_unsigned("!=", x, _zero(x.type))
        tz = intr(b, "cttz", x, ir.Constant(I1, 0), ret=x.type)
        r = b.select(nz, b.add(tz, splat(x.type.element, 1)), _zero(x.type))
    elif op == "bfind":
        u = x
        if src is not None and src.is_signed:
            u = b.select(b.icmp_signed("<", x, _zero(x.type)), b.not_(x), x)
        nz = b.icmp_unsigned("!=", u, _zero(u.type))
        r = b.select(nz, b.sub(bitlen(b, u), splat(u.type.element, 1)), _ones(u.type))
        return b.select(nz, resize(b, r, tt, False), splat(tt.element, 0xFFFFFFFF))
    elif op == "brev":
        return intr(b, "bitreverse", x)
    else:
        raise NotImplementedError(op)
    return resize(b, r, tt, False)

# -- binary16 (.f16) --------------------------------------------------------------------------------------
# A half lives in an i16 (as in the register file), and every operation converts with integer and
# float32 code written out here, so no compiler-rt helper (`__extendhfsf2`, `__truncdfhf2`) is needed,
# which MCJIT does not provide.  `half_emit` takes <32 x i16> halves (other operands of their own types)
# and gives i16 halves with NaN results 0x7FFF, as vgpu.arith; `half_supported` says which ops.
# Conversions: half -> float is exact (`to_f32`); float -> half rounds to nearest even with subnormals
# (`from_f32`, Giesen's float_to_half_fast3_rtne); double -> half rounds to odd at float precision first
# (`_odd_f32`), then to nearest even: correct, as 24 >= 11 + 2.  add sub mul div sqrt in float32 then one
# rounding are correctly rounded (24 >= 2*11 + 2); fma rounds a*b + c (exact product, TwoSum error) to odd
# in double, then as above: one rounding, as arith._fma.

HALF_OPS = {"add", "sub", "mul", "div", "neg", "abs", "fabs", "min", "max", "fmin", "fmax", "sqrt", "rcp", "fma",
            "floor", "ceil", "trunc", "rint"}
_HALF_INTEGRAL = {"rni": "rint", "rzi": "trunc", "rmi": "floor", "rpi": "ceil"}


def is_half(s) -> bool:
    return s is not None and s.is_float and s.bits == 16


def half_supported(op: str, t, src=None, mode=None) -> bool:
    """Whether `half_emit` implements op with a half among t and src (directed rounding to half, 64-bit
    integers to half are the interpreter's)."""
    rnd = (mode or "").split(".")
    if "sat" in rnd:
        return False
    if op == "select" or op in _FCMP:
        return True
    if op == "cvt":
        if is_half(t):
            if src.kind == "pred" or is_half(src):
                return True
            if src.is_float:
                return not set(rnd) & {"rz", "rm", "rp"}
            return src.bits <= 32 and not set(rnd) & {"rz", "rm", "rp", "rni", "rzi", "rmi", "rpi"}
        return True                                          # half -> float, int, pred
    return is_half(t) and op in HALF_OPS and mode in (None, "rn")


def to_f32(b, h):
    """<32 x i16> halves -> <32 x float>, exact (NaN payloads kept, shifted)."""
    u = b.zext(h, vec(I32))
    sign = b.shl(b.and_(u, splat(I32, 0x8000)), splat(I32, 16))
    exp = b.and_(b.lshr(u, splat(I32, 10)), splat(I32, 0x1F))
    man = b.and_(u, splat(I32, 0x3FF))
    normal = b.or_(b.shl(b.add(exp, splat(I32, 112)), splat(I32, 23)), b.shl(man, splat(I32, 13)))
    special = b.or_(splat(I32, 0x7F800000), b.shl(man, splat(I32, 13)))
    sub = b.bitcast(b.fmul(b.uitofp(man, vec(F32)), splat(F32, 2.0 ** -24)), vec(I32))   # exact
    mag = b.select(b.icmp_unsigned("==", exp, splat(I32, 0)), sub,
                   b.select(b.icmp_unsigned("==", exp, splat(I32, 31)), special, normal))
    return b.bitcast(b.or_(mag, sign), vec(F32))


def from_f32(b, f):
    """<32 x float> -> <32 x i16> halves, round to nearest even, subnormals kept, NaN -> 0x7FFF."""
    x = b.bitcast(f, vec(I32))
    sign = b.and_(x, splat(I32, 0x80000000))
    a = b.xor(x, sign)
    big = b.icmp_unsigned(">=", a, splat(I32, (127 + 16) << 23))          # >= 65536 (or inf/NaN): inf
    tiny = b.icmp_unsigned("<", a, splat(I32, 113 << 23))                 # below 2**-14: subnormal or zero
    magic = (127 - 15 + 23 - 10 + 1) << 23
    sub = b.sub(b.bitcast(b.fadd(b.bitcast(a, vec(F32)), splat(F32, 0.5)), vec(I32)), splat(I32, magic))
    odd = b.and_(b.lshr(a, splat(I32, 13)), splat(I32, 1))
    norm = b.lshr(b.add(b.add(a, splat(I32, ((15 - 127) << 23) + 0xFFF)), odd), splat(I32, 13))
    mag = b.select(big, splat(I32, 0x7C00), b.select(tiny, sub, norm))
    h = b.trunc(b.or_(mag, b.lshr(sign, splat(I32, 16))), vec(I16))
    isnan = b.fcmp_unordered("uno", f, f)
    return b.select(isnan, splat(I16, 0x7FFF), h)


def _odd_f32(b, d):
    """<32 x double> rounded to float with round-to-odd (an inexact result has its last bit set)."""
    r = b.fptrunc(d, vec(F32))
    bits = b.bitcast(r, vec(I32))
    inexact = b.fcmp_ordered("!=", b.fpext(r, vec(F64)), d)
    even = b.icmp_unsigned("==", b.and_(bits, splat(I32, 1)), splat(I32, 0))
    grow = b.fcmp_ordered(">", intr(b, "fabs", d), intr(b, "fabs", b.fpext(r, vec(F64))))
    moved = b.select(grow, b.add(bits, splat(I32, 1)), b.sub(bits, splat(I32, 1)))
    return b.bitcast(b.select(b.and_(inexact, even), moved, bits), vec(F32))


def from_f64(b, d):
    return from_f32(b, _odd_f32(b, d))


def _half_fma(b, x, y, z):
    """a*b + c of halves rounded once (arith._fma): the product is exact in double, the sum's error is
    TwoSum's, the sum is rounded to odd, then to half."""
    a, c = (b.fpext(to_f32(b, v), vec(F64)) for v in (x, z))
    p = b.fmul(a, b.fpext(to_f32(b, y), vec(F64)))
    s = b.fadd(p, c)
    bb = b.fsub(s, p)
    err = b.fadd(b.fsub(p, b.fsub(s, bb)), b.fsub(c, bb))
    bits = b.bitcast(s, vec(I64))
    fin = b.fcmp_ordered("<", intr(b, "fabs", s), splat(F64, float("inf")))
    even = b.icmp_unsigned("==", b.and_(bits, splat(I64, 1)), splat(I64, 0))
    fix = b.and_(b.and_(b.fcmp_unordered("!=", err, splat(F64, 0.0)), even), fin)
    same = b.icmp_unsigned("==", b.fcmp_ordered(">", err, splat(F64, 0.0)), b.fcmp_ordered(">", s, splat(F64, 0.0)))
    step = b.select(same, splat(I64, 1), splat(I64, -1))
    s = b.bitcast(b.select(fix, b.add(bits, step), bits), vec(F64))
    return from_f64(b, s)


def half_emit(b, op, t, args, src=None, mode=None):
    """The result of arith op `op` where t or src is f16 (see the module docstring)."""
    if op == "select":
        return b.select(args[0], args[1], args[2])
    if op in _FCMP:
        x, y = (to_f32(b, v) for v in args)
        kind, c = _FCMP[op]
        if c in ("ord", "uno"):
            return b.fcmp_ordered("ord", x, y) if c == "ord" else b.fcmp_unordered("uno", x, y)
        return (b.fcmp_ordered if kind == "o" else b.fcmp_unordered)(c, x, y)
    if op == "cvt":
        return _half_cvt(b, t, src, args[0], mode)
    if op == "fma":
        return _half_fma(b, *args)
    x = to_f32(b, args[0])
    if op in ("add", "sub", "mul", "div"):
        f = {"add": b.fadd, "sub": b.fsub, "mul": b.fmul, "div": b.fdiv}[op]
        return from_f32(b, f(x, to_f32(b, args[1])))
    if op == "neg":
        return from_f32(b, b.fneg(x))
    if op in ("abs", "fabs"):
        return from_f32(b, intr(b, "fabs", x))
    if op in ("min", "fmin", "max", "fmax"):
        return from_f32(b, fmin(b, x, to_f32(b, args[1]), is_max=op in ("max", "fmax")))
    if op == "sqrt":
        return from_f32(b, intr(b, "sqrt", x))
    if op == "rcp":
        return from_f32(b, b.fdiv(splat(F32, 1.0), x))
    if op in ("floor", "ceil", "trunc", "rint"):
        return from_f32(b, intr(b, op, x))
    raise NotImplementedError(op)


def _half_cvt(b, t, src, x, mode):
    rnd = next((p for p in (mode or "").split(".") if p), None)
    if is_half(t):
        if src.kind == "pred":
            return b.select(x, splat(I16, 0x3C00), splat(I16, 0))
        if is_half(src):
            f = to_f32(b, x)
            return from_f32(b, intr(b, _HALF_INTEGRAL[rnd], f) if rnd in _HALF_INTEGRAL else f)
        if src.is_float:
            if rnd in _HALF_INTEGRAL:
                x = intr(b, _HALF_INTEGRAL[rnd], x)
            return from_f32(b, x) if src.bits == 32 else from_f64(b, x)
        d = (b.sitofp if src.is_signed else b.uitofp)(x, vec(F64))    # exact from 32 bits
        return from_f64(b, d)
    f = to_f32(b, x)                                                  # from a half
    if t.kind == "pred":
        return b.fcmp_unordered("!=", f, splat(F32, 0.0))
    if t.is_float:
        if rnd in _HALF_INTEGRAL:
            f = intr(b, _HALF_INTEGRAL[rnd], f)
        return canon(b, f) if t.bits == 32 else canon(b, b.fpext(f, vec(F64)))
    f = intr(b, {"rn": "rint", "rm": "floor", "rp": "ceil"}.get(rnd) or _HALF_INTEGRAL.get(rnd, "trunc"), f)
    if t.bits >= 32:
        return float_to_int(b, t, F32_SCALAR, f)
    it = ir.IntType(t.bits)
    name = "fptosi.sat" if t.is_signed else "fptoui.sat"                # 8/16-bit targets saturate, NaN -> 0
    return _intrinsic(b, f"llvm.{name}.{_vsuffix(vec(it))}.{_vsuffix(f.type)}", [f], vec(it))
