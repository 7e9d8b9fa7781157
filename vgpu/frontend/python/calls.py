"""Names a Python kernel can use: Python builtins, `math.*`, and numba-cuda's `cuda.*` kernel API.

In:  the Python object a global name refers to, attribute accesses and calls, with typed arguments.
Out: typed values built in IR.  Types and semantics are numba-cuda's (see cudadecl.py/intrinsics.py
     there): threadIdx.x is int32, cuda.grid(1) int64, ballot_sync int32, all_sync/any_sync bool,
     popc/clz keep the operand type, ffs gives uint32, syncthreads_count/_and/_or take and give int32,
     shfl_*_sync take and give int32/int64/float32/float64.
"""
from __future__ import annotations

import math
import types as pytypes

import numpy as np

from ... import types as T
from ...ir import nodes as ir
from . import memory, warp
from . import ntypes as N
from .args import args_of, const_eval, dtype_of, numbers  # noqa: F401 (re-exported)
from .source import PySource
from ..libdevice import rint as _rint
from .values import V, cast

_DIM3 = {"threadIdx": "tid", "blockIdx": "ctaid", "blockDim": "ntid", "gridDim": "nctaid"}
_MATH1 = {"sqrt": "sqrt", "fabs": "fabs"}
_MATH2 = {"fmod": "fmod"}
# np.* names computed as math.* (libdevice's functions)
_NUMPY_MATH = {"exp", "exp2", "log", "log2", "log10", "sin", "cos", "tan", "tanh", "sinh", "cosh", "expm1", "log1p"}
_MATH_INT = {"floor": "floor", "ceil": "ceil", "trunc": "trunc"}
_SPECIAL_PATHS = {"cuda", "cuda.atomic", "cuda.shared", "cuda.local", "cuda.const", "cuda.cg", "math", "numpy"}


def global_value(fl, value, node) -> V:
    """The compile-time meaning of a global / closure / builtin object."""
    path = getattr(value, "_vgpu_path", None)
    if isinstance(path, str):
        return V(N.Ref(path, value))
    if getattr(value, "_vgpu_dispatcher", False):
        return V(N.Ref("devfn", value))
    if isinstance(value, pytypes.ModuleType):
        name = value.__name__
        if name in ("numba.cuda", "vgpu.cuda"):
            return V(N.Ref("cuda", value))
        if name in ("math", "numpy", "numba"):
            return V(N.Ref(name, value))
        raise fl.err(node, f"module {name!r} cannot be used in a kernel")
    if isinstance(value, (bool, int, float, np.number, np.bool_, str)) or value is None:
        return fl.const_value(value, node)
    if isinstance(value, tuple):
        items = [global_value(fl, x, node) for x in value]
        return V(N.Tuple(tuple(i.type for i in items)), items, value)
    dt = dtype_of(value)
    if dt is not None:
        return V(N.Ref("dtype", dt))
    if value in (range, min, max, abs, len, int, float, bool, print, round):
        return V(N.Ref("builtins." + value.__name__, value))
    if getattr(value, "__module__", None) == "math" and callable(value):
        return V(N.Ref("math." + value.__name__, value))
    if isinstance(value, np.ndarray):
        raise fl.err(node, f"the global array {getattr(node, 'id', '')!r} cannot be used in a kernel: pass it "
                           f"as an argument or use cuda.const.array_like")
    if callable(value):
        name = getattr(value, "__name__", type(value).__name__)
        if getattr(value, "_vgpu_kernel", False):
            raise fl.err(node, f"{name!r} is a kernel: a kernel cannot call another kernel "
                               f"(use @cuda.jit(device=True))")
        raise fl.err(node, f"{name!r} is not a device function: only @cuda.jit(device=True) functions, "
                           f"math and cuda functions can be called in a kernel")
    raise fl.err(node, f"a {type(value).__name__} object cannot be used in a kernel")


def attribute(fl, base: V, attr: str, node) -> V:
    t = base.type
    b = fl.b
    if isinstance(t, N.Ref):
        p = t.path
        if p == "cuda":
            if attr in _DIM3:
                return V(N.Dim3(_DIM3[attr]))
            if attr == "laneid":
                return V(N.INT32, b.emit("bitcast", T.S32, [b.emit("sreg", T.U32, name="laneid")]))
            if attr == "warpsize":
                return V(N.INT32, ir.Const(T.S32, 32), 32)
            if attr in ("atomic", "shared", "local", "const", "cg"):
                return V(N.Ref("cuda." + attr))
            dt = dtype_of(attr)
            if dt is not None:
                return V(N.Ref("dtype", dt))
            return V(N.Ref("cuda." + attr))
        if p in ("math", "numpy", "numba"):
            if p == "math" and attr in ("pi", "e", "inf", "nan", "tau"):
                return fl.const_value(getattr(math, attr), node)
            if p == "numba" and attr == "cuda":
                return V(N.Ref("cuda"))
            dt = dtype_of(attr) if p != "math" else None
            if dt is not None:
                return V(N.Ref("dtype", dt))
            if p == "numpy" and attr in ("pi", "e", "inf", "nan"):
                return fl.const_value(float(getattr(np, attr)), node)
            return V(N.Ref(f"{p}.{attr}"))
        if p.startswith("cuda.") and p.count(".") == 1:
            return V(N.Ref(f"{p}.{attr}"))
        if p == "cuda.cg.grid" and attr == "sync":
            return V(N.Ref("cuda.cg.grid.sync"))
        raise fl.err(node, f"{p} has no attribute {attr!r} usable in a kernel")
    if isinstance(t, N.Dim3):
        if attr not in ("x", "y", "z"):
            raise fl.err(node, f"{t} has no attribute {attr!r}")
        return V(N.INT32, b.emit("bitcast", T.S32, [b.emit("sreg", T.U32, name=f"{t.sreg}.{attr}")]))
    if isinstance(t, N.Array):
        if attr == "shape":
            return V(N.Tuple((N.INT64,) * t.ndim), [V(N.INT64, s) for s in base.val.shape])
        if attr == "size":
            size = None
            for s in base.val.shape:
                size = s if size is None else b.emit("mul", T.S64, [size, s])
            return V(N.INT64, size if size is not None else ir.Const(T.S64, 1))
        if attr == "ndim":
            return V(N.INT64, ir.Const(T.S64, t.ndim), t.ndim)
        if attr in ("strides", "T"):
            from .views import strides_of, transpose
            if attr == "T":
                return transpose(fl, base)
            return V(N.Tuple((N.INT64,) * t.ndim), [V(N.INT64, s) for s in strides_of(fl, base)])
        raise fl.err(node, f"array attribute {attr!r} is not supported in a kernel")
    if isinstance(t, N.Number) and attr in ("real", "imag"):
        return base if attr == "real" else V(t, ir.Const(t.ir, 0))
    raise fl.err(node, f"{t} has no attribute {attr!r}")


def call(fl, fn: V, node) -> V:
    t = fn.type
    if not isinstance(t, N.Ref):
        raise fl.err(node.func, f"{t} is not callable")
    path = t.path
    if path == "devfn":
        return call_device(fl, t.obj, node)
    if path == "dtype":
        (a,) = args_of(fl, node, 1, 1)
        return fl.convert(a, t.obj, node) if isinstance(a.type, N.Number) else _bad(fl, node, a)
    if path.startswith("builtins."):
        return builtin(fl, path[9:], node)
    if path.startswith("math."):
        return math_call(fl, path[5:], node)
    if path.startswith("numpy."):
        return numpy_call(fl, path[6:], node)
    if path.startswith("cuda.atomic."):
        return memory.atomic(fl, path[12:], node)
    if path.startswith("cuda.fp16."):
        return fp16_call(fl, path[10:], node)
    if path in ("cuda.shared.array", "cuda.local.array", "cuda.const.array_like"):
        return memory.static_array(fl, path, node)
    if path.startswith("cuda."):
        return warp.cuda_call(fl, path[5:], node)
    raise fl.err(node.func, f"{path} cannot be called in a kernel")


def _bad_cast(fl, node, name, a: V):
    raise fl.err(node, f"{name}() of {a.type} is not supported (Numba: {name}() only supports numbers)")


def _bad(fl, node, a: V):
    raise fl.err(node, f"cannot convert {a.type} to a number")


def builtin(fl, name: str, node) -> V:
    b = fl.b
    if name == "range":
        raise fl.err(node, "range() can only be used in a for loop")
    if name == "print":
        return print_call(fl, node)
    if name == "len":
        (a,) = args_of(fl, node, 1, 1)
        if isinstance(a.type, N.Array):
            return V(N.INT64, a.val.shape[0])
        if isinstance(a.type, N.Tuple):
            return V(N.INT64, ir.Const(T.S64, len(a.val)))
        raise fl.err(node, f"len() of {a.type}")
    if name in ("int", "float", "bool"):
        (a,) = args_of(fl, node, 1, 1)
        numbers(fl, node, [a])
        return fl.convert(a, N.builtin_cast_result(name, a.type) or _bad_cast(fl, node, name, a), node)
    if name == "abs":
        (a,) = args_of(fl, node, 1, 1)
        numbers(fl, node, [a])
        rt = N.abs_result(a.type)
        x = cast(b, a.val, a.type, rt)
        if rt.is_float:
            return V(rt, b.emit("fabs", rt.ir, [x]))
        return V(rt, x if not rt.signed else b.emit("abs", rt.ir, [x]))
    if name in ("min", "max"):
        vals = args_of(fl, node, 1, 99)
        if len(vals) == 1 and isinstance(vals[0].type, N.Tuple):
            vals = vals[0].val
        numbers(fl, node, vals)
        rt = N.minmax_result([v.type for v in vals])
        if rt is None:
            raise fl.err(node, f"{name}() of {', '.join(str(v.type) for v in vals)}: the types do not unify")
        acc = cast(b, vals[0].val, vals[0].type, rt)
        for v in vals[1:]:
            x = cast(b, v.val, v.type, rt)
            # Numba: min(a, b) = b if b < a else a (a NaN first operand is kept; a NaN later one is not)
            if rt == N.BOOL:
                acc = b.emit("and" if name == "min" else "or", T.PRED, [acc, x])
                continue
            better = b.emit("lt" if name == "min" else "gt", T.PRED, [x, acc])
            acc = b.emit("select", rt.ir, [better, x, acc])
        return V(rt, acc)
    if name == "round":
        vals = args_of(fl, node, 1, 2)
        numbers(fl, node, vals)
        a = vals[0]
        if len(vals) == 2:
            raise fl.err(node, "round() with a number of digits is not supported in a kernel")
        if not a.type.is_float:
            return fl.convert(a, N.INT64, node)
        r = _rint(b, a.val, a.type.ir)
        return V(N.INT64, b.emit("cvt", T.S64, [r]))
    raise fl.err(node, f"{name}() cannot be called in a kernel")


def math_call(fl, name: str, node) -> V:
    b = fl.b
    if name in _MATH1 or name in _MATH_INT:
        (a,) = args_of(fl, node, 1, 1)
        numbers(fl, node, [a])
        rt = N.math_result([a.type])
        if rt == N.FLOAT16 and name not in ("sqrt", "fabs", "floor", "ceil", "trunc"):
            raise fl.err(node, f"math.{name} of a float16 is not supported yet (numba-cuda's h{name} is a "
                               f"hardware approximation vgpu does not reproduce): convert to float32 first")
        x = cast(b, a.val, a.type, rt)
        return V(rt, b.emit(_MATH1.get(name) or _MATH_INT[name], rt.ir, [x]))
    if name in _MATH2 or name == "copysign":
        vals = args_of(fl, node, 2, 2)
        numbers(fl, node, vals)
        rt = N.FLOAT32 if all(N.safe_to_float32(v.type) or v.type == N.FLOAT32 for v in vals) else N.FLOAT64
        x, y = (cast(b, v.val, v.type, rt) for v in vals)
        if name == "copysign":
            it = T.U32 if rt.bits == 32 else T.U64
            sign = ir.Const(it, 1 << (rt.bits - 1))
            mag = b.emit("and", it, [b.emit("bitcast", it, [x]), ir.Const(it, (1 << (rt.bits - 1)) - 1)])
            sg = b.emit("and", it, [b.emit("bitcast", it, [y]), sign])
            return V(rt, b.emit("bitcast", rt.ir, [b.emit("or", it, [mag, sg])]))
        return V(rt, b.emit(_MATH2[name], rt.ir, [x, y]))
    if name in ("isnan", "isinf", "isfinite"):
        (a,) = args_of(fl, node, 1, 1)
        numbers(fl, node, [a])
        if not a.type.is_float:
            return V(N.BOOL, ir.Const(T.PRED, name == "isfinite"))
        s = a.type.ir
        if name == "isnan":
            return V(N.BOOL, b.emit("ne", T.PRED, [a.val, a.val]))
        ab = b.emit("fabs", s, [a.val])
        inf = b.emit("eq", T.PRED, [ab, ir.Const(s, math.inf)])
        if name == "isinf":
            return V(N.BOOL, inf)
        return V(N.BOOL, b.emit("lt", T.PRED, [ab, ir.Const(s, math.inf)]))
    if name in _LIBDEVICE1 or name in _LIBDEVICE2:
        return _libdevice_call(fl, name, node)
    if name in ("radians", "degrees"):      # numba-cuda: one multiply by pi/180 (180/pi) of the type
        (a,) = args_of(fl, node, 1, 1)
        numbers(fl, node, [a])
        rt = N.math_result([a.type])
        k = math.pi / 180.0 if name == "radians" else 180.0 / math.pi
        return V(rt, b.emit("mul", rt.ir, [cast(b, a.val, a.type, rt), ir.Const(rt.ir, float(np.array(k, rt.dtype)))]))
    if name == "fma":
        raise fl.err(node, "math.fma is not supported by Numba's CUDA target: use cuda.fma")
    if name in ("frexp", "modf", "ldexp"):
        return _frexp_modf_ldexp(fl, name, node)
    raise fl.err(node, f"math.{name} is not supported in a kernel")


_FP16 = {"hadd": "add", "hsub": "sub", "hmul": "mul", "hdiv": "div", "hfma": "fma", "hneg": "neg",
         "habs": "fabs", "hmax": "fmax", "hmin": "fmin", "hsqrt": "sqrt", "hfloor": "floor", "hceil": "ceil",
         "htrunc": "trunc", "heq": "eq", "hne": "ne", "hgt": "gt", "hge": "ge", "hlt": "lt", "hle": "le"}
_FP16_ARGS = {"hfma": 3, "hneg": 1, "habs": 1, "hsqrt": 1, "hfloor": 1, "hceil": 1, "htrunc": 1}


def fp16_call(fl, name: str, node) -> V:
    """cuda.fp16.h*: numba-cuda's bindings of cuda_fp16.h's __h* functions: float16 arguments (others
    convert as Numba casts them), float16 results (bool for the comparisons; hne is ordered: False when
    either is NaN, as __hne)."""
    if name not in _FP16:
        raise fl.err(node, f"cuda.fp16.{name} is not supported in a kernel (supported: {', '.join(_FP16)})")
    n = _FP16_ARGS.get(name, 2)
    vals = args_of(fl, node, n, n)
    numbers(fl, node, vals)
    b, h = fl.b, N.FLOAT16
    xs = [cast(b, v.val, v.type, h) for v in vals]
    op = _FP16[name]
    if op in ("eq", "gt", "ge", "lt", "le"):
        return V(N.BOOL, b.emit(op, T.PRED, xs))
    if op == "ne":                       # ordered: x < y or x > y
        return V(N.BOOL, b.emit("or", T.PRED, [b.emit("lt", T.PRED, xs), b.emit("gt", T.PRED, xs)]))
    return V(h, b.emit(op, T.F16, xs))


# fastmath: numba-cuda's float32 math with fastmath=True is libdevice's __nv_fast_* (and tanh.approx.f32),
# which NVVM emits as these approximate instructions (vgpu's models of them; fastmath.py adds the .ftz)
_FAST = {"exp", "log", "log2", "log10", "sin", "cos", "tan", "tanh"}


def _fast(b, name: str, xs: list):
    f = T.F32
    if name == "exp":          # ex2.approx(x * log2 e)
        return b.emit("exp2", f, [b.emit("mul", f, [xs[0], ir.Const(f, 1.4426950216293335)], nofuse=True)])
    if name in ("log", "log10"):   # lg2.approx(x) * ln 2 (log10 2)
        k = 0.6931471824645996 if name == "log" else 0.30102999317646027
        return b.emit("mul", f, [b.emit("log2", f, xs), ir.Const(f, k)], nofuse=True)
    if name == "tan":          # sin.approx / cos.approx as div.approx (fastmath.py)
        return b.emit("div", f, [b.emit("sin", f, xs), b.emit("cos", f, xs)])
    if name == "pow":          # ex2.approx(y * lg2.approx(x))
        return b.emit("exp2", f, [b.emit("mul", f, [xs[1], b.emit("log2", f, [xs[0]])], nofuse=True)])
    if name == "tanh":         # tanh.approx.f32: no .ftz (fastmath.py leaves it alone)
        return b.emit("tanh", f, xs, fastmath=True)
    return b.emit(name, f, xs)


# math.* computed by libdevice in numba-cuda (numba-cuda's mathimpl.py: math.sin -> __nv_sin/__nv_sinf, ...),
# inlined from libdevice's own instructions (libdevice.py)
_LIBDEVICE1 = {"erf": "erf", "erfc": "erfc", "gamma": "tgamma", "lgamma": "lgamma", "expm1": "expm1",
               "log1p": "log1p", "acosh": "acosh", "asinh": "asinh", "atanh": "atanh",
               **{n: n for n in ("exp", "exp2", "log", "log2", "log10", "sin", "cos", "tan", "tanh", "asin",
                                 "acos", "atan", "sinh", "cosh")}}
_LIBDEVICE2 = {"hypot": "hypot", "remainder": "remainder", "nextafter": "nextafter", "pow": "pow", "atan2": "atan2"}


def _frexp_modf_ldexp(fl, name: str, node) -> V:
    """math.ldexp(x, n) -> float, math.frexp(x) -> (float, int32), math.modf(x) -> (fraction, whole),
    as numba-cuda: libdevice's __nv_ldexp(f)/frexp(f)/modf(f) (n converted to int32)."""
    from .. import libdevice
    b = fl.b
    vals = args_of(fl, node, 2 if name == "ldexp" else 1, 2 if name == "ldexp" else 1)
    numbers(fl, node, vals)
    rt = N.math_result([vals[0].type])
    x = cast(b, vals[0].val, vals[0].type, rt)
    fn = "__nv_" + name + ("f" if rt == N.FLOAT32 else "")
    if name == "ldexp":
        return V(rt, libdevice.emit(b, fn, [x, cast(b, vals[1].val, vals[1].type, N.INT32)]))
    r, (other,) = libdevice.emit(b, fn, [x])
    if name == "frexp":
        return V(N.Tuple((rt, N.INT32)), [V(rt, r), V(N.INT32, other)])
    return V(N.Tuple((rt, rt)), [V(rt, r), V(rt, other)])


def _libdevice_call(fl, name: str, node) -> V:
    from .. import libdevice
    b = fl.b
    n = 1 if name in _LIBDEVICE1 else 2
    vals = args_of(fl, node, n, n)
    numbers(fl, node, vals)
    if name == "pow" and vals[0].type in (N.FLOAT32, N.FLOAT64) and vals[1].type == N.INT32:
        rt = vals[0].type                   # numba-cuda: math.pow(float, int32) is __nv_powif/__nv_powi
        fn = "__nv_powi" + ("f" if rt == N.FLOAT32 else "")
        return V(rt, libdevice.emit(b, fn, [vals[0].val, vals[1].val]))
    rt = N.math_result([v.type for v in vals])
    if rt == N.FLOAT16:
        raise fl.err(node, f"math.{name} of a float16 is not supported yet (numba-cuda's h{name} is a "
                           f"hardware approximation vgpu does not reproduce): convert to float32 first")
    if fl.ctx.fastmath and rt == N.FLOAT32 and name in _FAST | {"pow"}:
        return V(rt, _fast(b, name, [cast(b, v.val, v.type, rt) for v in vals]))
    fn = "__nv_" + (_LIBDEVICE1.get(name) or _LIBDEVICE2[name]) + ("f" if rt == N.FLOAT32 else "")
    if not libdevice.has(fn):
        raise fl.err(node, f"math.{name} on {rt} is not supported by vgpu yet (libdevice's {fn} is not ported)")
    try:
        return V(rt, libdevice.emit(b, fn, [cast(b, v.val, v.type, rt) for v in vals]))
    except libdevice.NotPortable as e:
        raise fl.err(node, f"math.{name} on {rt} is not supported by vgpu yet ({fn} uses {e})") from None


def numpy_call(fl, name: str, node) -> V:
    if name in ("zeros", "ones", "empty", "array", "arange", "zeros_like", "empty_like", "full"):
        raise fl.err(node, f"np.{name} allocates an array: not supported in a kernel "
                           f"(use cuda.local.array or cuda.shared.array)")
    if name in _MATH1 or name in _NUMPY_MATH or name in ("floor", "ceil", "trunc", "isnan", "isinf", "isfinite"):
        if name in ("floor", "ceil", "trunc"):
            (a,) = args_of(fl, node, 1, 1)
            numbers(fl, node, [a])
            rt = N.math_result([a.type])
            return V(rt, fl.b.emit(name, rt.ir, [cast(fl.b, a.val, a.type, rt)]))
        return math_call(fl, name, node)
    if name in ("abs", "min", "max", "round"):
        return builtin(fl, name, node)
    raise fl.err(node, f"np.{name} is not supported in a kernel")


def print_call(fl, node) -> V:
    """print(...) as device printf, as numba-cuda formats it: ints %lld/%llu, floats %f, strings as
    given, separated by spaces, then a newline."""
    b = fl.b
    if node.keywords:
        raise fl.err(node, "print() keyword arguments are not supported in a kernel")
    fmt, args = [], []

    def item(v: V, a) -> str:
        if isinstance(v.type, N.Ref) and v.type.path == "str":
            return v.const.replace("%", "%%")
        if v.type == N.BOOL:                       # numba-cuda prints True / False
            t, f = (b.emit("addr", T.U64, sym=memory.string(fl, x)) for x in ("True", "False"))
            args.append(b.emit("select", T.U64, [v.val, t, f]))
            return "%s"
        if isinstance(v.type, N.Number):
            if v.type.is_float:
                args.append(cast(b, v.val, v.type, N.FLOAT64))
                return "%f"
            if v.type.signed:
                args.append(cast(b, v.val, v.type, N.INT64))
                return "%lld"
            args.append(cast(b, v.val, v.type, N.UINT64))
            return "%llu"
        if isinstance(v.type, N.Tuple):
            parts = [item(x, a) for x in v.val]
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        if isinstance(v.type, N.Dim3):
            parts = [item(attribute(fl, v, c, a), a) for c in "xyz"]
            return "(" + ", ".join(p.replace("lld", "d") for p in parts) + ")"
        raise fl.err(a, f"print() of {v.type} is not supported in a kernel")

    for a in node.args:
        fmt.append(item(fl.expr(a), a))
    text = " ".join(fmt) + "\n"
    b.emit("printf", None, args, fmt=text, sym=memory.string(fl, text))
    return V(N.NONE)


def call_device(fl, disp, node) -> V:
    if node.keywords:
        raise fl.err(node, "keyword arguments to device functions are not supported")
    pyfunc = disp.py_func
    if any(f is pyfunc for f in fl.ctx.inlining):
        raise fl.err(node, f"recursive call of {pyfunc.__name__!r}: recursion is not supported in a kernel")
    args = [fl.expr(a) for a in node.args]
    for v, a in zip(args, node.args):
        if not isinstance(v.type, (N.Number, N.Array, N.Tuple)):
            raise fl.err(a, f"{v.type} cannot be passed to a device function")
    src = disp._source() if hasattr(disp, "_source") else PySource(pyfunc)
    callee = type(fl)(fl.ctx, src, fl.b)
    fl.ctx.inlining.append(pyfunc)
    try:
        return callee.inline(src.tree, args, node)
    finally:
        fl.ctx.inlining.pop()
