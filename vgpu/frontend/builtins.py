"""CUDA's built-in variables and functions that .vk programs may use: one table, `TABLE`.

In:  names looked up by `vgpu.frontend.check` when an identifier is not declared by the program.
Out: a `Builtin` per name saying how calls are typed (`kind`) and lowered (IR `op` and `attrs`),
     read by `vgpu.frontend.lower`.

Kinds (how the checker types a call):
  fixed   the parameters `params` (trailing ones may take `defaults`), result `ret`; the IR op
          gives `ir_ret` (default `ret`), converted to `ret` (e.g. vote.all gives pred, C int)
  math    float/double overloads as CUDA's C++ headers declare them: all-float arguments use the
          float version, anything else double
  minmax  integer or float min/max after the usual arithmetic conversions (CUDA's overloads)
  abs     abs of the promoted integer (or float) argument
  atomic  `op` on *ptr, overloaded on the pointee type (`types`); cas takes (ptr, compare, value)
  shfl    warp shuffle `attrs mode`, overloaded on the value type (`types`)
  make    a vector constructor make_float4(...) etc.; `ret` is the vector type
  printf  device printf
  var     a built-in variable: `sregs` (threadIdx...) or the constant `value` (warpSize)
  cg      cooperative_groups::this_grid() etc.: no arguments, the group object `ret` (its members are
          checked by `vgpu.frontend.check`); found by its unqualified name whatever the namespace
"""
from __future__ import annotations

from dataclasses import dataclass

from .ctypes import (BOOL, CHAR, COALESCED_GROUP, DOUBLE, DIM3, FLOAT, GRID_GROUP, HALF, INT, SHORT, LLONG, LONG, THREAD_BLOCK, UINT, UINT3,
                     ULLONG, ULONG, VECTORS, VOID, CType, Pointer, qualified, unqual)


@dataclass(frozen=True)
class Builtin:
    name: str
    kind: str
    params: tuple[CType, ...] = ()
    ret: CType = VOID
    op: str | None = None
    attrs: tuple[tuple[str, object], ...] = ()
    defaults: tuple[int, ...] = ()
    ir_ret: CType | None = None
    types: tuple[CType, ...] = ()
    sregs: tuple[str, ...] = ()
    value: int | None = None


TABLE: dict[str, Builtin] = {}


def _add(name: str, kind: str, **kw) -> None:
    if "attrs" in kw:
        kw["attrs"] = tuple(kw["attrs"].items())
    TABLE[name] = Builtin(name, kind, **kw)


# -- variables ---------------------------------------------------------------------------------
for _name, _reg, _ct in [("threadIdx", "tid", UINT3), ("blockIdx", "ctaid", UINT3),
                         ("blockDim", "ntid", DIM3), ("gridDim", "nctaid", DIM3)]:
    _add(_name, "var", ret=_ct, sregs=tuple(f"{_reg}.{c}" for c in "xyz"))
_add("warpSize", "var", ret=INT, value=32)

# -- math: float versions (tier 1), overloaded versions (tier 2: double, or float arguments) ------
_UNARY = ["sqrt", "rsqrt", "exp", "exp2", "exp10", "log", "log2", "log10", "sin", "cos", "tan", "tanh",
          "asin", "acos", "atan", "sinh", "cosh", "floor", "ceil", "round", "trunc", "fabs"]
_BINARY = ["pow", "fmin", "fmax", "fmod", "atan2"]
for _op in _UNARY + _BINARY + ["fma"]:
    _n = 1 if _op in _UNARY else 2 if _op in _BINARY else 3
    _add(_op + "f", "fixed", params=(FLOAT,) * _n, ret=FLOAT, op=_op)
    _add(_op, "math", params=(DOUBLE,) * _n, ret=DOUBLE, op=_op)
for _name in ("min", "max"):
    _add(_name, "minmax", op=_name)
_add("abs", "abs", op="abs")
_add("llabs", "fixed", params=(LLONG,), ret=LLONG, op="abs")
_add("labs", "fixed", params=(LONG,), ret=LONG, op="abs")
_add("llmin", "fixed", params=(LLONG, LLONG), ret=LLONG, op="min")
_add("llmax", "fixed", params=(LLONG, LLONG), ret=LLONG, op="max")
_add("umin", "fixed", params=(UINT, UINT), ret=UINT, op="min")
_add("umax", "fixed", params=(UINT, UINT), ret=UINT, op="max")
_add("ullmin", "fixed", params=(ULLONG, ULLONG), ret=ULLONG, op="min")
_add("ullmax", "fixed", params=(ULLONG, ULLONG), ret=ULLONG, op="max")

# -- bit functions ---------------------------------------------------------------------------------
_add("__popc", "fixed", params=(UINT,), ret=INT, op="popc")
_add("__popcll", "fixed", params=(ULLONG,), ret=INT, op="popc")
_add("__clz", "fixed", params=(INT,), ret=INT, op="clz")
_add("__clzll", "fixed", params=(LLONG,), ret=INT, op="clz")
_add("__ffs", "fixed", params=(INT,), ret=INT, op="ffs")
_add("__ffsll", "fixed", params=(LLONG,), ret=INT, op="ffs")
_add("__brev", "fixed", params=(UINT,), ret=UINT, op="brev")
_add("__brevll", "fixed", params=(ULLONG,), ret=ULLONG, op="brev")

# -- synchronisation, fences, clocks -----------------------------------------------------------------
_add("__syncthreads", "fixed", op="bar", attrs={"mode": "sync"})
_add("__syncthreads_count", "fixed", params=(BOOL,), ret=INT, op="bar", attrs={"mode": "popc"})
_add("__syncthreads_and", "fixed", params=(BOOL,), ret=INT, op="bar", attrs={"mode": "and"})
_add("__syncthreads_or", "fixed", params=(BOOL,), ret=INT, op="bar", attrs={"mode": "or"})
_add("__syncwarp", "fixed", params=(UINT,), defaults=(0xFFFFFFFF,), op="syncwarp")
_add("__threadfence_block", "fixed", op="membar", attrs={"level": "cta"})
_add("__threadfence", "fixed", op="membar", attrs={"level": "gl"})
_add("__threadfence_system", "fixed", op="membar", attrs={"level": "sys"})
# clock() reads the 32-bit %clock as an int and widens it to clock_t (long): sign extension
_add("clock", "fixed", ret=LONG, ir_ret=INT, op="clock")
_add("clock64", "fixed", ret=LLONG, ir_ret=LLONG, op="clock")
_add("__trap", "fixed", op="trap")

# -- warp functions ----------------------------------------------------------------------------------
_SHFL_TYPES = (INT, UINT, LONG, ULONG, LLONG, ULLONG, FLOAT, DOUBLE, HALF)   # __half: cuda_fp16.hpp's overloads
for _name, _mode, _lane in [("__shfl_sync", "idx", INT), ("__shfl_up_sync", "up", UINT),
                            ("__shfl_down_sync", "down", UINT), ("__shfl_xor_sync", "bfly", INT)]:
    _add(_name, "shfl", params=(UINT, VOID, _lane, INT), defaults=(32,), op="shfl",
         attrs={"mode": _mode}, types=_SHFL_TYPES)
_add("__ballot_sync", "fixed", params=(UINT, BOOL), ret=UINT, op="vote", attrs={"mode": "ballot"})
_add("__all_sync", "fixed", params=(UINT, BOOL), ret=INT, ir_ret=BOOL, op="vote", attrs={"mode": "all"})
_add("__any_sync", "fixed", params=(UINT, BOOL), ret=INT, ir_ret=BOOL, op="vote", attrs={"mode": "any"})
_add("__uni_sync", "fixed", params=(UINT, BOOL), ret=INT, ir_ret=BOOL, op="vote", attrs={"mode": "uni"})
_add("__activemask", "fixed", ret=UINT, op="activemask")
_add("__lane_id", "fixed", ret=UINT, op="sreg", attrs={"name": "laneid"})
_add("this_grid", "cg", ret=GRID_GROUP)
_add("this_thread_block", "cg", ret=THREAD_BLOCK)
_add("cooperative_groups::sync", "cgsync")
_add("coalesced_threads", "cg", ret=COALESCED_GROUP, op="coalesced")
# 24-bit multiplies: the low 32 bits of the product of the low 24 bits (sign-extended for __mul24)
_add("__umul24", "fixed", params=(UINT, UINT), ret=UINT, op="mul24", attrs={"signed": False})
_add("__mul24", "fixed", params=(INT, INT), ret=INT, op="mul24", attrs={"signed": True})

# -- atomics: overloads by pointee type, as CUDA declares them ------------------------------------------
_I, _IU, _IUL = (INT,), (INT, UINT), (INT, UINT, ULLONG)
for _name, _op, _types in [
        ("atomicAdd", "add", (INT, UINT, ULLONG, FLOAT, DOUBLE, HALF)), ("atomicSub", "sub", _IU),
        ("atomicExch", "exch", (INT, UINT, ULLONG, FLOAT)), ("atomicMin", "min", (INT, UINT, LLONG, ULLONG)),
        ("atomicMax", "max", (INT, UINT, LLONG, ULLONG)), ("atomicInc", "inc", (UINT,)),
        ("atomicDec", "dec", (UINT,)), ("atomicCAS", "cas", _IUL), ("atomicAnd", "and", _IUL),
        ("atomicOr", "or", _IUL), ("atomicXor", "xor", _IUL)]:
    # the _block and _system scopes order the same operation for fewer or more observers (the block; the
    # host and peer devices): on one simulated device, whose memory nothing else writes during a launch,
    # each gives what the device-scope atomic gives
    for _scope in ("", "_block", "_system"):
        _add(_name + _scope, "atomic", op="atom", attrs={"op": _op}, types=_types)

# -- printf and the vector constructors ------------------------------------------------------------------
_add("printf", "printf", params=(Pointer(qualified(CHAR, const=True)),), ret=INT,
     op="printf")
for _vname, _vt in VECTORS.items():
    _add("make_" + _vname, "make", params=tuple(f.ctype for f in _vt.info.fields), ret=_vt)

# reinterpreting bits
for _name, _src, _dst in [("__int_as_float", INT, FLOAT), ("__float_as_int", FLOAT, INT),
                          ("__uint_as_float", UINT, FLOAT), ("__float_as_uint", FLOAT, UINT),
                          ("__longlong_as_double", LLONG, DOUBLE), ("__double_as_longlong", DOUBLE, LLONG)]:
    _add(_name, "fixed", params=(_src,), ret=_dst, op="bitcast")

# binary16 primitives under reserved names: vgpu/include/cuda_fp16.h builds CUDA's __h* functions on them
_add("__vgpu_hfma", "fixed", params=(HALF,) * 3, ret=HALF, op="fma")
_add("__vgpu_hmax", "fixed", params=(HALF, HALF), ret=HALF, op="fmax")
_add("__vgpu_hmin", "fixed", params=(HALF, HALF), ret=HALF, op="fmin")
_add("__vgpu_habs", "fixed", params=(HALF,), ret=HALF, op="fabs")
for _op in ("sqrt", "rcp", "floor", "ceil", "trunc"):
    _add(f"__vgpu_h{_op}", "fixed", params=(HALF,), ret=HALF, op=_op)
_add("__vgpu_hrint", "fixed", params=(HALF,), ret=HALF, op="cvt", attrs={"mode": "rni"})
_add("__vgpu_half_as_short", "fixed", params=(HALF,), ret=SHORT, op="bitcast")
_add("__vgpu_short_as_half", "fixed", params=(SHORT,), ret=HALF, op="bitcast")
for _mode in ("rn", "rz", "rm", "rp"):      # float -> __half with a rounding mode (cvt.MODE.f16.f32)
    _add(f"__vgpu_float2half_{_mode}", "fixed", params=(FLOAT,), ret=HALF, op="cvt", attrs={"mode": _mode})

# libdevice functions, computed from libdevice's own instructions (vgpu/frontend/libdevice.py): the
# float names, and the double ones as overloads (float arguments call the float version, as CUDA C++).
# A signature is written for double: its float version has float (float *) where it has double (double *).
_D, _PD, _PI = DOUBLE, Pointer(DOUBLE), Pointer(INT)
_LIBDEVICE = {   # name: (parameters, result, libdevice name if not the same)
    **{_n: ((_D,), _D, None) for _n in (
        "erf", "erfc", "tgamma", "lgamma", "expm1", "log1p", "acosh", "asinh", "atanh", "cbrt", "rcbrt", "logb",
        "normcdf", "normcdfinv", "erfinv", "erfcinv", "erfcx", "j0", "j1", "y0", "y1", "cyl_bessel_i0",
        "cyl_bessel_i1")},
    **{_n: ((_D, _D), _D, None) for _n in ("hypot", "rhypot", "nextafter", "fdim", "copysign")},
    "norm3d": ((_D,) * 3, _D, None), "rnorm3d": ((_D,) * 3, _D, None),
    "norm4d": ((_D,) * 4, _D, None), "rnorm4d": ((_D,) * 4, _D, None),
    "frexp": ((_D, _PI), _D, None), "ldexp": ((_D, INT), _D, None), "scalbn": ((_D, INT), _D, None),
    "modf": ((_D, _PD), _D, None), "remquo": ((_D, _D, _PI), _D, None), "ilogb": ((_D,), INT, None),
    "jn": ((INT, _D), _D, None), "yn": ((INT, _D), _D, None),
    "sincospi": ((_D, _PD, _PD), VOID, None),
    "norm": ((INT, Pointer(qualified(_D, const=True))), _D, None),      # normf(dim, a): the array is read
    "rnorm": ((INT, Pointer(qualified(_D, const=True))), _D, None),
    "llround": ((_D,), LLONG, None), "lround": ((_D,), LONG, "llround"),   # long is 64 bits: __nv_llround
    "signbit": ((_D,), BOOL, "signbitd"),   # libstdc++'s std::signbit (bool); __nv_signbitf/__nv_signbitd
}


def _single(t: CType) -> CType:
    """double -> float, double * -> float * (keeping const)."""
    if isinstance(t, Pointer) and unqual(t.to) == DOUBLE:
        return Pointer(qualified(FLOAT, const=t.to.const))
    return FLOAT if t == DOUBLE else t


for _name, (_ps, _ret, _ld) in _LIBDEVICE.items():
    _ld = _ld or _name
    _fname = _ld[:-1] + "f" if _ld == "signbitd" else _ld + "f"
    if _name != "signbit":
        _add(_name + "f", "fixed", params=tuple(map(_single, _ps)), ret=_single(_ret), op="libdevice." + _fname,
             ir_ret=INT if _ret == BOOL else None)
    _add(_name, "math", params=_ps, ret=_ret, op="libdevice." + _ld, attrs={"float": "libdevice." + _fname},
         ir_ret=INT if _ret == BOOL else None)
# the standard math functions too (they replace the table above's sinf, expf, ... : the GPU's bits)
for _name in ["exp", "exp2", "exp10", "log", "log2", "log10", "sin", "cos", "tan", "tanh", "asin", "acos", "atan",
              "sinh", "cosh", "sinpi", "cospi", "pow", "atan2"]:
    _n = 2 if _name in _BINARY else 1
    _add(_name + "f", "fixed", params=(FLOAT,) * _n, ret=FLOAT, op="libdevice." + _name + "f")
    _add(_name, "math", params=(DOUBLE,) * _n, ret=DOUBLE, op="libdevice." + _name,
         attrs={"float": "libdevice." + _name + "f"})
# the hardware approximations as vgpu models them (the fast-math intrinsics __expf, __sinf, ... in
# __vgpu_intrinsics.vkh): the correctly rounded value
for _name, _op in [("__vgpu_ex2_approx", "exp2"), ("__vgpu_lg2_approx", "log2"), ("__vgpu_sin_approx", "sin"),
                   ("__vgpu_cos_approx", "cos")]:
    _add(_name, "fixed", params=(FLOAT,), ret=FLOAT, op=_op)
# sincosf(x, &s, &c): libdevice's __nv_sincosf; the results are stored through the pointers
_add("sincosf", "fixed", params=(FLOAT, Pointer(FLOAT), Pointer(FLOAT)), op="libdevice.sincosf")
_add("sincos", "fixed", params=(DOUBLE, Pointer(DOUBLE), Pointer(DOUBLE)), op="libdevice.sincos")
_add("remainderf", "fixed", params=(FLOAT, FLOAT), ret=FLOAT, op="libdevice.remainderf")
_add("remainder", "math", params=(DOUBLE, DOUBLE), ret=DOUBLE, op="libdevice.remainder",
     attrs={"float": "libdevice.remainderf"})

# 1/sqrt(x) correctly rounded: libdevice's refinement of rsqrt.approx
_add("__frsqrt_rn", "fixed", params=(FLOAT,), ret=FLOAT, op="libdevice.frsqrt_rn")

# round to integral, ties to even, as nvcc compiles them: cvt.rni.f32.f32 (rintf, nearbyintf; the
# current rounding mode of C is always to nearest on the GPU), cvt.rni.s64.f32 (lrintf, llrintf)
for _name, _ret in [("rint", DOUBLE), ("nearbyint", DOUBLE), ("lrint", LONG), ("llrint", LLONG)]:
    _add(_name + "f", "fixed", params=(FLOAT,), ret=_single(_ret), op="cvt", attrs={"mode": "rni"})
    _add(_name, "math", params=(DOUBLE,), ret=_ret, op="cvt", attrs={"mode": "rni"})

# IEEE arithmetic with an explicit rounding mode (CUDA's _rn _rz _rd _ru; PTX .rn .rz .rm .rp): one
# instruction each, add.rm.f32 for __fadd_rd
_MODES = {"rn": "rn", "rz": "rz", "rd": "rm", "ru": "rp"}
for _cuda, _mode in _MODES.items():
    for _t, _p in ((FLOAT, "f"), (DOUBLE, "d")):
        for _op, _n in (("add", 2), ("sub", 2), ("mul", 2), ("div", 2), ("rcp", 1), ("sqrt", 1)):
            _add(f"__{_p}{_op}_{_cuda}", "fixed", params=(_t,) * _n, ret=_t, op=_op, attrs={"mode": _mode})
    _add(f"__fmaf_{_cuda}", "fixed", params=(FLOAT,) * 3, ret=FLOAT, op="fma", attrs={"mode": _mode})
    _add(f"__fmaf_ieee_{_cuda}", "fixed", params=(FLOAT,) * 3, ret=FLOAT, op="fma", attrs={"mode": _mode})
    _add(f"__fma_{_cuda}", "fixed", params=(DOUBLE,) * 3, ret=DOUBLE, op="fma", attrs={"mode": _mode})
    # conversions: to an integer rounding to integral (cvt.rni/rzi/rmi/rpi), to a float rounding (cvt.rn...)
    for _src, _s in ((FLOAT, "float"), (DOUBLE, "double")):
        for _dst, _d in ((INT, "int"), (UINT, "uint"), (LLONG, "ll"), (ULLONG, "ull")):
            _add(f"__{_s}2{_d}_{_cuda}", "fixed", params=(_src,), ret=_dst, op="cvt", attrs={"mode": _mode + "i"})
    for _src, _s in ((INT, "int"), (UINT, "uint"), (LLONG, "ll"), (ULLONG, "ull")):
        _add(f"__{_s}2float_{_cuda}", "fixed", params=(_src,), ret=FLOAT, op="cvt", attrs={"mode": _mode})
        if _src.size == 8 or _cuda == "rn":     # int and unsigned convert to double exactly: _rn only
            _add(f"__{_s}2double_{_cuda}", "fixed", params=(_src,), ret=DOUBLE, op="cvt", attrs={"mode": _mode})
    _add(f"__double2float_{_cuda}", "fixed", params=(DOUBLE,), ret=FLOAT, op="cvt", attrs={"mode": _mode})

# CUDA functions that vgpu knows about but does not implement: a clear diagnostic, not "undeclared"
NOT_YET = {"__shfl", "__shfl_up", "__shfl_down", "__shfl_xor", "__ballot", "__any", "__all",
           "malloc", "free", "memcpy", "memset", "assert"}
