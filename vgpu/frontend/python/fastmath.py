"""`cuda.jit(fastmath=True)`: what numba-cuda's fastmath makes NVVM emit, on vgpu's IR.

In:  a Python kernel's IR function after the optimiser and fma contraction.
Out: the same function rewritten in place as NVVM compiles it with numba-cuda's fastmath options
     (ftz=1, prec_div=0, prec_sqrt=0, fma=1; read from the PTX numba-cuda 0.30 + libNVVM 13.0 emit,
     tests/test_python_fastmath.py):
- every float32 operation flushes subnormal inputs and results to a zero of their sign (.ftz):
  arithmetic, fma, min/max, comparisons, conversions from and to float32, math functions;
- float32 division is div.approx.ftz.f32 (vgpu's model of it: x * (1/y), 0 for 2^126 < |y| < 2^128,
  the same as .vk's __fdividef); sqrt is sqrt.approx.ftz.f32 (modelled correctly rounded);
- float64 operations are unchanged.
The fast float32 math functions (math.exp -> ex2.approx(x * log2 e), log, log2, log10, sin, cos, tan,
pow, tanh) are chosen by the front end (calls.py) when it lowers them.
Operations marked `nofuse` (libdevice's explicit .rn instructions) keep their precise division.
"""
from __future__ import annotations

from ... import types as T
from ...ir import nodes as ir

_FLUSH = {"add", "sub", "mul", "fma", "div", "min", "max", "neg", "abs", "eq", "ne", "lt", "le", "gt", "ge",
          "cvt", "sqrt", "rsqrt", "rcp", "exp", "exp2", "exp10", "log", "log2", "log10", "sin", "cos", "tan",
          "tanh", "asin", "acos", "atan", "sinh", "cosh", "floor", "ceil", "round", "trunc", "fabs", "pow",
          "fmin", "fmax", "fmod", "atan2"}


class _Emit:
    def __init__(self, block, span, out):
        self.block, self.span, self.out = block, span, out

    def __call__(self, op, t, args, **attrs):
        i = ir.Instr(op, t, list(args), dict(attrs, fastmath=True), self.span, self.block)
        self.out.append(i)
        return i


def _flush(e: _Emit, x):
    """x (f32) with a subnormal value replaced by a zero of its sign."""
    if isinstance(x, ir.Const):
        v = float(x.value)
        return ir.Const(T.F32, 0.0 * v if v == v and 0 < abs(v) < 2.0 ** -126 else v)
    bits = e("bitcast", T.U32, [x])
    den = e("eq", T.PRED, [e("and", T.U32, [bits, ir.Const(T.U32, 0x7F800000)]), ir.Const(T.U32, 0)])
    zero = e("bitcast", T.F32, [e("and", T.U32, [bits, ir.Const(T.U32, 0x80000000)])])
    return e("select", T.F32, [den, zero, x])


def _fdividef(e: _Emit, x, y):
    ay = e("fabs", T.F32, [y])
    big = e("and", T.PRED, [e("gt", T.PRED, [ay, ir.Const(T.F32, 2.0 ** 126)]),
                            e("le", T.PRED, [ay, ir.Const(T.F32, 3.4028234663852886e38)])])
    q = e("mul", T.F32, [x, e("div", T.F32, [ir.Const(T.F32, 1.0), y])], nofuse=True)
    return e("select", T.F32, [big, e("mul", T.F32, [x, ir.Const(T.F32, 0.0)], nofuse=True), q])


def apply(fn: ir.Function) -> int:
    """Rewrite fn for fastmath; returns how many float32 operations were changed."""
    replace: dict = {}
    changed = 0
    for block in fn.blocks:
        out: list = []
        for i in block.instrs:
            f32_in = [k for k, a in enumerate(i.args) if getattr(a, "type", None) == T.F32]
            if i.op not in _FLUSH or i.attrs.get("fastmath") or not (f32_in or i.type == T.F32):
                out.append(i)
                continue
            changed += 1
            e = _Emit(block, i.span, out)
            args = list(i.args)
            for k in f32_in:
                args[k] = _flush(e, replace.get(args[k], args[k]))
            if i.op == "div" and i.type == T.F32 and not i.attrs.get("nofuse"):
                r = _fdividef(e, args[0], args[1])
                replace[i] = _flush(e, r)
                continue
            i.args = args
            out.append(i)
            if i.type == T.F32:
                replace[i] = _flush(e, i)
        block.instrs = out
    if replace:         # users see the flushed copies (flushing is idempotent: the copies keep theirs)
        for block in fn.blocks:
            for i in block.instrs:
                if not i.attrs.get("fastmath"):
                    i.args = [replace.get(a, a) for a in i.args]
    return changed
