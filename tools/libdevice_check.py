"""Checks vgpu's libdevice port bit for bit: runs libdevice's own LLVM code on the CPU (llvmlite's JIT;
NVVM intrinsics replaced by CPU functions computing what vgpu's models compute: exact operations
exactly, ex2/lg2/rsqrt/rcp.approx as vgpu/frontend/libdevice.py models them) and compares every result
with the same function called from a .vk kernel on vgpu (.vk: no fma contraction, as the CPU code).

Usage: python tools/libdevice_check.py [N [function ...]]
       python tools/libdevice_check.py N --sensitivity [function ...]   (CPU only: which results change
       when the hardware approximations are one unit off in their last bit)
(needs llvm-dis, CUDA's libdevice.10.bc and llvmlite)
Prints one line per function: the number of inputs and of results whose bits differ.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import libdevice_port as port  # noqa: E402

UNARY = ["erff", "erf", "erfcf", "erfc", "expm1f", "expm1", "log1pf", "log1p", "lgammaf", "lgamma", "tgammaf",
         "tgamma", "acoshf", "acosh", "asinhf", "asinh", "atanhf", "atanh", "cbrtf", "cbrt",
         "sinf", "sin", "cosf", "cos", "tanf", "tan", "sinpif", "sinpi", "cospif", "cospi", "logf", "log",
         "log2f", "log2", "log10f", "log10", "expf", "exp", "exp2f", "exp2", "exp10f", "exp10", "tanhf", "tanh",
         "sinhf", "sinh", "coshf", "cosh", "asinf", "asin", "acosf", "acos", "atanf", "atan"]
BINARY = ["hypotf", "hypot", "nextafterf", "nextafter", "remainderf", "remainder", "powf", "pow", "atan2f", "atan2"]
SINCOS = ["sincosf", "sincos"]     # (x, &sin, &cos): both results compared
# the rest of the CUDA Math API nvcc implements through libdevice: name -> (parameters, result), parameters
# x y z w of the function's float type, n an int, i an int * and p a pointer to the float type (results
# stored there, compared too); result f the float type, i int, l long long, v none
MORE = {**{n: ("x", "f") for n in (
    "rcbrtf", "rcbrt", "logbf", "logb", "normcdff", "normcdf", "normcdfinvf", "normcdfinv", "erfinvf", "erfinv",
    "erfcinvf", "erfcinv", "erfcxf", "erfcx", "j0f", "j0", "j1f", "j1", "y0f", "y0", "y1f", "y1",
    "cyl_bessel_i0f", "cyl_bessel_i0", "cyl_bessel_i1f", "cyl_bessel_i1")},
        **{n: ("xy", "f") for n in ("fdimf", "fdim", "rhypotf", "rhypot", "copysignf", "copysign")},
        **{n: ("xyz", "f") for n in ("norm3df", "norm3d", "rnorm3df", "rnorm3d")},
        **{n: ("xyzw", "f") for n in ("norm4df", "norm4d", "rnorm4df", "rnorm4d")},
        **{n: ("xn", "f") for n in ("ldexpf", "ldexp", "scalbnf", "scalbn")},
        **{n: ("nx", "f") for n in ("jnf", "jn", "ynf", "yn")},
        "ilogbf": ("x", "i"), "ilogb": ("x", "i"), "llroundf": ("x", "l"), "llround": ("x", "l"),
        "frexpf": ("xi", "f"), "frexp": ("xi", "f"), "modff": ("xp", "f"), "modf": ("xp", "f"),
        "remquof": ("xyi", "f"), "remquo": ("xyi", "f"), "sincospif": ("xpp", "v"), "sincospi": ("xpp", "v"),
        "frsqrt_rn": ("x", "f")}
_DOUBLE_ENDING_IN_F = {"erf", "modf", "normcdf"}


def signature(name: str) -> tuple[str, str]:
    if name in MORE:
        return MORE[name]
    return ("xpp", "v") if name in SINCOS else ("xy", "f") if name in BINARY else ("x", "f")


def single(name: str) -> bool:
    return name.endswith("f") and name not in _DOUBLE_ENDING_IN_F or name == "frsqrt_rn"


def int_args(name: str, y: np.ndarray) -> np.ndarray:
    """The int argument of a (x, n) or (n, x) function: exponents for ldexp/scalbn, orders for jn/yn."""
    y = np.nan_to_num(y, nan=0.0, posinf=1e9, neginf=-1e9)
    if signature(name)[0] == "nx":
        return np.clip(np.abs(np.round(y)), 0, 40).astype(np.int32) * np.where(y < -15, -1, 1).astype(np.int32)
    return np.clip(np.round(y * 40), -2200, 2200).astype(np.int32)

HELPERS = """
@cpu.delta = global i32 0
define float @cpu.pf(float %r) {
  %d = load i32, ptr @cpu.delta
  %b = bitcast float %r to i32
  %e = and i32 %b, 2139095040
  %fin = icmp ne i32 %e, 2139095040
  %nz = fcmp one float %r, 0.0
  %ok = and i1 %fin, %nz
  %s = add i32 %b, %d
  %p = bitcast i32 %s to float
  %o = select i1 %ok, float %p, float %r
  ret float %o
}
define double @cpu.pd(double %r) {
  %d = load i32, ptr @cpu.delta
  %d64 = sext i32 %d to i64
  %dd = shl i64 %d64, 32
  %b = bitcast double %r to i64
  %e = and i64 %b, 9218868437227405312
  %fin = icmp ne i64 %e, 9218868437227405312
  %nz = fcmp one double %r, 0.0
  %ok = and i1 %fin, %nz
  %s = add i64 %b, %dd
  %p = bitcast i64 %s to double
  %o = select i1 %ok, double %p, double %r
  ret double %o
}
declare double @llvm.fma.f64(double, double, double)
declare float @llvm.fma.f32(float, float, float)
declare double @llvm.sqrt.f64(double)
declare float @llvm.sqrt.f32(float)
declare double @llvm.fabs.f64(double)
declare float @llvm.fabs.f32(float)
declare double @llvm.floor.f64(double)
declare float @llvm.floor.f32(float)
declare double @llvm.trunc.f64(double)
declare float @llvm.trunc.f32(float)
declare double @llvm.rint.f64(double)
declare float @llvm.rint.f32(float)
declare double @llvm.exp2.f64(double)
declare double @llvm.log2.f64(double)
declare double @llvm.minnum.f64(double, double)
declare double @llvm.maxnum.f64(double, double)
declare float @llvm.copysign.f32(float, float)
declare i64 @llvm.ctlz.i64(i64, i1)
; fma.rm: glibc's fmaf under fesetround(FE_DOWNWARD = 0x400, then FE_TONEAREST = 0: x86-64's values)
declare float @fmaf(float, float, float)
declare i32 @fesetround(i32)
define float @cpu.fmarm(float %a, float %b, float %c) {
  %x = call i32 @fesetround(i32 1024)
  %r = call float @fmaf(float %a, float %b, float %c)
  %y = call i32 @fesetround(i32 0)
  ret float %r
}
define float @cpu.sat(float %x) {
  %lt = fcmp olt float %x, 1.0
  %a = select i1 %lt, float %x, float 1.0
  %ge = fcmp oge float %x, 0.0
  %r = select i1 %ge, float %a, float 0.0
  ret float %r
}
declare i32 @llvm.fptosi.sat.i32.f64(double)
define i32 @cpu.d2i.rn(double %x) {
  %t = call double @llvm.rint.f64(double %x)
  %r = call i32 @llvm.fptosi.sat.i32.f64(double %t)
  ret i32 %r
}
define float @cpu.divrn(float %a, float %b) {
  %r = fdiv float %a, %b
  ret float %r
}
define {i32, i32} @cpu.mad32(i32 %a, i32 %b, i32 %c) {
  %x = zext i32 %a to i64
  %y = zext i32 %b to i64
  %z = zext i32 %c to i64
  %p = mul i64 %x, %y
  %s = add i64 %p, %z
  %lo = trunc i64 %s to i32
  %h = lshr i64 %s, 32
  %hi = trunc i64 %h to i32
  %r0 = insertvalue {i32, i32} undef, i32 %lo, 0
  %r1 = insertvalue {i32, i32} %r0, i32 %hi, 1
  ret {i32, i32} %r1
}
define {i64, i64} @cpu.split(i128 %s) {
  %lo = trunc i128 %s to i64
  %h = lshr i128 %s, 64
  %hi = trunc i128 %h to i64
  %r0 = insertvalue {i64, i64} undef, i64 %lo, 0
  %r1 = insertvalue {i64, i64} %r0, i64 %hi, 1
  ret {i64, i64} %r1
}
define i128 @cpu.join(i64 %lo, i64 %hi) {
  %l = zext i64 %lo to i128
  %h = zext i64 %hi to i128
  %s = shl i128 %h, 64
  %r = or i128 %s, %l
  ret i128 %r
}
define {i64, i64} @cpu.mad64(i64 %a, i64 %b, i64 %c) {
  %x = zext i64 %a to i128
  %y = zext i64 %b to i128
  %z = zext i64 %c to i128
  %p = mul i128 %x, %y
  %s = add i128 %p, %z
  %r = call {i64, i64} @cpu.split(i128 %s)
  ret {i64, i64} %r
}
define {i64, i64} @cpu.mul64(i64 %a, i64 %b) {
  %x = zext i64 %a to i128
  %y = zext i64 %b to i128
  %p = mul i128 %x, %y
  %r = call {i64, i64} @cpu.split(i128 %p)
  ret {i64, i64} %r
}
define {i64, i64} @cpu.add128(i64 %a0, i64 %a1, i64 %b0, i64 %b1) {
  %x = call i128 @cpu.join(i64 %a0, i64 %a1)
  %y = call i128 @cpu.join(i64 %b0, i64 %b1)
  %s = add i128 %x, %y
  %r = call {i64, i64} @cpu.split(i128 %s)
  ret {i64, i64} %r
}
define {i64, i64} @cpu.sub128(i64 %a0, i64 %a1, i64 %b0, i64 %b1) {
  %x = call i128 @cpu.join(i64 %a0, i64 %a1)
  %y = call i128 @cpu.join(i64 %b0, i64 %b1)
  %s = sub i128 %x, %y
  %r = call {i64, i64} @cpu.split(i128 %s)
  ret {i64, i64} %r
}
declare double @llvm.copysign.f64(double, double)
define float @cpu.ftz(float %x) {
  %b = bitcast float %x to i32
  %e = and i32 %b, 2139095040
  %d = icmp eq i32 %e, 0
  %s = and i32 %b, -2147483648
  %z = bitcast i32 %s to float
  %r = select i1 %d, float %z, float %x
  ret float %r
}
define double @cpu.hiword(double %x) {
  %b = bitcast double %x to i64
  %h = and i64 %b, -4294967296
  %r = bitcast i64 %h to double
  ret double %r
}
define float @cpu.ex2(float %x) {
  %f = call float @cpu.ftz(float %x)
  %d = fpext float %f to double
  %e = call double @llvm.exp2.f64(double %d)
  %t = fptrunc double %e to float
  %r = call float @cpu.ftz(float %t)
  %rp = call float @cpu.pf(float %r)
  ret float %rp
}
define float @cpu.lg2(float %x) {
  %f = call float @cpu.ftz(float %x)
  %d = fpext float %f to double
  %e = call double @llvm.log2.f64(double %d)
  %t = fptrunc double %e to float
  %r = call float @cpu.ftz(float %t)
  %rp = call float @cpu.pf(float %r)
  ret float %rp
}
define float @cpu.ex2nf(float %x) {
  %d = fpext float %x to double
  %e = call double @llvm.exp2.f64(double %d)
  %t = fptrunc double %e to float
  %rp = call float @cpu.pf(float %t)
  ret float %rp
}
define float @cpu.lg2nf(float %x) {
  %d = fpext float %x to double
  %e = call double @llvm.log2.f64(double %d)
  %t = fptrunc double %e to float
  %rp = call float @cpu.pf(float %t)
  ret float %rp
}
define float @cpu.rsqrtf(float %x) {
  %f = call float @cpu.ftz(float %x)
  %d = fpext float %f to double
  %s = call double @llvm.sqrt.f64(double %d)
  %q = fdiv double 1.0, %s
  %t = fptrunc double %q to float
  %r = call float @cpu.ftz(float %t)
  %rp = call float @cpu.pf(float %r)
  ret float %rp
}
define float @cpu.rcpf(float %x) {
  %f = call float @cpu.ftz(float %x)
  %q = fdiv float 1.0, %f
  %r = call float @cpu.ftz(float %q)
  %rp = call float @cpu.pf(float %r)
  ret float %rp
}
define double @cpu.rcpd(double %x) {
  %h = call double @cpu.hiword(double %x)
  %q = fdiv double 1.0, %h
  %r = call double @cpu.hiword(double %q)
  %rp = call double @cpu.pd(double %r)
  ret double %rp
}
define double @cpu.rsqrtd(double %x) {
  %h = call double @cpu.hiword(double %x)
  %s = call double @llvm.sqrt.f64(double %h)
  %q = fdiv double 1.0, %s
  %r = call double @cpu.hiword(double %q)
  %rp = call double @cpu.pd(double %r)
  ret double %rp
}
define i32 @cpu.d2i.hi(double %x) {
  %b = bitcast double %x to i64
  %h = lshr i64 %b, 32
  %r = trunc i64 %h to i32
  ret i32 %r
}
define i32 @cpu.d2i.lo(double %x) {
  %b = bitcast double %x to i64
  %r = trunc i64 %b to i32
  ret i32 %r
}
define double @cpu.lohi(i32 %lo, i32 %hi) {
  %l = zext i32 %lo to i64
  %h = zext i32 %hi to i64
  %s = shl i64 %h, 32
  %o = or i64 %s, %l
  %r = bitcast i64 %o to double
  ret double %r
}
define float @cpu.addrz(float %a, float %b) {
  %x = fpext float %a to double
  %y = fpext float %b to double
  %s = fadd double %x, %y
  %t = fptrunc double %s to float
  %u = fpext float %t to double
  %big = fcmp ogt double %u, %s
  %pos = fcmp ogt double %s, 0.0
  %small = fcmp olt double %u, %s
  %neg = fcmp olt double %s, 0.0
  %dn = and i1 %big, %pos
  %up = and i1 %small, %neg
  %fix = or i1 %dn, %up
  %tb = bitcast float %t to i32
  %tm = sub i32 %tb, 1
  %tf = bitcast i32 %tm to float
  %r = select i1 %fix, float %tf, float %t
  ret float %r
}
define float @cpu.fmarz(float %a, float %b, float %c) {
  %x = fpext float %a to double
  %y = fpext float %b to double
  %z = fpext float %c to double
  %p = fmul double %x, %y
  %s = fadd double %p, %z
  %w = fsub double %s, %p
  %e1 = fsub double %s, %w
  %e2 = fsub double %p, %e1
  %e3 = fsub double %z, %w
  %e = fadd double %e2, %e3
  %t = fptrunc double %s to float
  %tb = bitcast float %t to i32
  %tm = sub i32 %tb, 1
  %td = bitcast i32 %tm to float
  %t64 = fpext float %t to double
  %at = call double @llvm.fabs.f64(double %t64)
  %as = call double @llvm.fabs.f64(double %s)
  %out = fcmp ogt double %at, %as
  %t1 = select i1 %out, float %td, float %t
  %t1b = bitcast float %t1 to i32
  %t1m = sub i32 %t1b, 1
  %t1d = bitcast i32 %t1m to float
  %t164 = fpext float %t1 to double
  %ex = fcmp oeq double %t164, %s
  %sp = fcmp ogt double %s, 0.0
  %en = fcmp olt double %e, 0.0
  %sn = fcmp olt double %s, 0.0
  %ep = fcmp ogt double %e, 0.0
  %i1 = and i1 %sp, %en
  %i2 = and i1 %sn, %ep
  %in = or i1 %i1, %i2
  %fix = and i1 %ex, %in
  %r = select i1 %fix, float %t1d, float %t1
  ret float %r
}
define float @cpu.mulrz(float %a, float %b) {
  %x = fpext float %a to double
  %y = fpext float %b to double
  %p = fmul double %x, %y
  %t = fptrunc double %p to float
  %u = fpext float %t to double
  %au = call double @llvm.fabs.f64(double %u)
  %ap = call double @llvm.fabs.f64(double %p)
  %out = fcmp ogt double %au, %ap
  %tb = bitcast float %t to i32
  %tm = sub i32 %tb, 1
  %tf = bitcast i32 %tm to float
  %r = select i1 %out, float %tf, float %t
  ret float %r
}
define double @cpu.addrzd(double %a, double %b) {
  %s = fadd double %a, %b
  %w = fsub double %s, %a
  %e1 = fsub double %s, %w
  %e2 = fsub double %a, %e1
  %e3 = fsub double %b, %w
  %e = fadd double %e2, %e3
  %sp = fcmp ogt double %s, 0.0
  %en = fcmp olt double %e, 0.0
  %sn = fcmp olt double %s, 0.0
  %ep = fcmp ogt double %e, 0.0
  %i1 = and i1 %sp, %en
  %i2 = and i1 %sn, %ep
  %in = or i1 %i1, %i2
  %as = call double @llvm.fabs.f64(double %s)
  %inf = fcmp oeq double %as, 0x7FF0000000000000
  %aa = call double @llvm.fabs.f64(double %a)
  %ab = call double @llvm.fabs.f64(double %b)
  %fa = fcmp olt double %aa, 0x7FF0000000000000
  %fb = fcmp olt double %ab, 0x7FF0000000000000
  %fin = and i1 %fa, %fb
  %over = and i1 %inf, %fin
  %fix = or i1 %in, %over
  %sb = bitcast double %s to i64
  %sm = sub i64 %sb, 1
  %sd = bitcast i64 %sm to double
  %r = select i1 %fix, double %sd, double %s
  ret double %r
}
define double @cpu.rsqrtdfull(double %x) {
  %s = call double @llvm.sqrt.f64(double %x)
  %q = fdiv double 1.0, %s
  %rp = call double @cpu.pd(double %q)
  ret double %rp
}
define float @cpu.divapproxftz(float %x, float %y) {
  %a = call float @cpu.ftz(float %x)
  %b = call float @cpu.ftz(float %y)
  %q = call float @cpu.divapprox(float %a, float %b)
  %r = call float @cpu.ftz(float %q)
  ret float %r
}
declare i32 @llvm.fptoui.sat.i32.f32(float)
define i32 @cpu.d2i(double %x) {
  %s = call i32 @llvm.fptosi.sat.i32.f64(double %x)
  %n = fcmp uno double %x, %x
  %r = select i1 %n, i32 -2147483648, i32 %s
  ret i32 %r
}
declare i64 @llvm.fptosi.sat.i64.f64(double)
define i64 @cpu.d2ll(double %x) {
  %s = call i64 @llvm.fptosi.sat.i64.f64(double %x)
  %n = fcmp uno double %x, %x
  %r = select i1 %n, i64 -9223372036854775808, i64 %s
  ret i64 %r
}
declare float @llvm.minnum.f32(float, float)
declare float @llvm.maxnum.f32(float, float)
define double @cpu.equsel(double %a, double %b, double %c, double %d) {
  %e = fcmp ueq double %a, %b
  %r = select i1 %e, double %c, double %d
  ret double %r
}
declare i32 @llvm.fptosi.sat.i32.f32(float)
define i32 @cpu.f2i.rz(float %x) {
  %r = call i32 @llvm.fptosi.sat.i32.f32(float %x)
  ret i32 %r
}
define i32 @cpu.f2i.rn(float %x) {
  %t = call float @llvm.rint.f32(float %x)
  %r = call i32 @llvm.fptosi.sat.i32.f32(float %t)
  ret i32 %r
}
define float @cpu.divapprox(float %x, float %y) {
  %ay = call float @llvm.fabs.f32(float %y)
  %g = fcmp ogt float %ay, 0x47D0000000000000
  %l = fcmp ole float %ay, 0x47EFFFFFE0000000
  %big = and i1 %g, %l
  %q = fdiv float 1.0, %y
  %m = fmul float %x, %q
  %z = fmul float %x, 0.0
  %r = select i1 %big, float %z, float %m
  %rp = call float @cpu.pf(float %r)
  ret float %rp
}
"""

# nvvm intrinsic (after the name) -> replacement callee; a None means "same name for llvm.*"
CALLS = {
    "llvm.nvvm.fabs.f": "llvm.fabs.f32", "llvm.nvvm.fabs.d": "llvm.fabs.f64",
    "llvm.nvvm.fma.rn.f": "llvm.fma.f32", "llvm.nvvm.fma.rn.d": "llvm.fma.f64",
    "llvm.nvvm.sqrt.rn.f": "llvm.sqrt.f32", "llvm.nvvm.sqrt.rn.d": "llvm.sqrt.f64",
    "llvm.nvvm.floor.f": "llvm.floor.f32", "llvm.nvvm.floor.d": "llvm.floor.f64",
    "llvm.nvvm.trunc.f": "llvm.trunc.f32", "llvm.nvvm.trunc.d": "llvm.trunc.f64",
    "llvm.nvvm.round.f": "llvm.rint.f32", "llvm.nvvm.round.d": "llvm.rint.f64",
    "llvm.nvvm.fmin.d": "llvm.minnum.f64", "llvm.nvvm.fmax.d": "llvm.maxnum.f64",
    "llvm.nvvm.ex2.approx.ftz.f": "cpu.ex2", "llvm.nvvm.lg2.approx.ftz.f": "cpu.lg2",
    "llvm.nvvm.rsqrt.approx.ftz.f": "cpu.rsqrtf", "llvm.nvvm.rcp.approx.ftz.d": "cpu.rcpd",
    "llvm.nvvm.d2i.hi": "cpu.d2i.hi", "llvm.nvvm.d2i.lo": "cpu.d2i.lo", "llvm.nvvm.lohi.i2d": "cpu.lohi",
    "llvm.nvvm.add.rz.f": "cpu.addrz", "llvm.nvvm.fma.rz.f": "cpu.fmarz",
}
BINOPS = {"llvm.nvvm.mul.rn.f": "fmul float", "llvm.nvvm.mul.rn.d": "fmul double",
          "llvm.nvvm.add.rn.f": "fadd float", "llvm.nvvm.add.rn.d": "fadd double"}
ASM = {"madc.hi.u32 $1, $2, $3, 0": "cpu.mad32", "mad.lo.cc.u32 r0, alo, blo, clo": "cpu.mad64",
       "sub.cc.u32 r0, a0, b0": "cpu.sub128", "mul.lo.u32 r0, alo, blo": "cpu.mul64",
       "add.cc.u32 r0, a0, b0": "cpu.add128", "rcp.approx.ftz.f32": "cpu.rcpf",
       "rsqrt.approx.ftz.f64": "cpu.rsqrtd", "sub.rn.f32": None, "sub.rn.f64": None,
       "sub.rn.ftz.f32": None, "setp.equ.f64": "cpu.equsel"}
CALLS.update({"llvm.nvvm.sqrt.approx.f": "llvm.sqrt.f32", "llvm.nvvm.div.approx.f": "cpu.divapprox",
              "llvm.nvvm.f2i.rz": "cpu.f2i.rz", "llvm.nvvm.f2i.rn": "cpu.f2i.rn", "llvm.nvvm.ex2.approx.d": None,
              "llvm.nvvm.fma.rm.f": "cpu.fmarm", "llvm.nvvm.saturate.f": "cpu.sat", "llvm.nvvm.d2i.rn": "cpu.d2i.rn",
              "llvm.nvvm.div.rn.f": "cpu.divrn", "llvm.nvvm.lg2.approx.f": "cpu.lg2nf",
              "llvm.nvvm.mul.rz.f": "cpu.mulrz", "llvm.nvvm.add.rz.d": "cpu.addrzd",
              "llvm.nvvm.rsqrt.approx.d": "cpu.rsqrtdfull", "llvm.nvvm.fmin.f": "llvm.minnum.f32",
              "llvm.nvvm.fmax.f": "llvm.maxnum.f32"})


def _typed_to_opaque(text: str) -> str:
    text = re.sub(r"(?:i\d+|double|float|%struct\.\w+|\[\d+ x [\w.%]+\])(?: addrspace\(\d\))?\*", "ptr", text)
    return text.replace(" addrspace(1)", "")


def cpu_module(text: str, names: list[str]) -> str:
    fns = port.functions(text)
    strs = port.strings(text)
    todo, done, out = ["__nv_" + n for n in names], set(), []
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        fname, ret, params, lines = fns[name]
        body = []
        for line in lines:
            line = re.sub(r"\s*#\d+(?=\s*$|,)", "", line)
            line = re.sub(r", !(?:srcloc|llvm\.loop) !\d+", "", line)
            m = re.search(r"call i32 @__nvvm_reflect\(.*?(@\.str[\.\d]*).*\)", line)
            if m:
                line = line[:m.start()] + f"add i32 0, {port.REFLECT[strs[m.group(1)]]}"
            m = re.search(r'call (\{[^}]*\}|\w+) asm (?:sideeffect )?"([^"]*)", "[^"]*"\((.*)\)\s*$', line)
            if m:
                asm = re.sub(r"(\\0A|\\09|\s)+", " ", m.group(2))
                key = next(k for k in ASM if asm.startswith(k) or k in asm)
                if ASM[key] is None:
                    a, b = port.split_args(m.group(3))
                    line = line[:m.start()] + f"fsub {a.split()[0]} {a.split()[1]}, {b.split()[1]}"
                else:
                    line = line[:m.start()] + f"call {m.group(1)} @{ASM[key]}({m.group(3)})"
            # PTX's cvt.rzi.s64.f64 saturates (NaN: the sign bit alone); LLVM's fptosi is poison there
            line = re.sub(r"fptosi double (\S+) to i64", r"call i64 @cpu.d2ll(double \1)", line)
            line = re.sub(r"fptosi double (\S+) to i32", r"call i32 @cpu.d2i(double \1)", line)
            line = re.sub(r"fpto([su])i float (\S+) to i32", r"call i32 @llvm.fpto\1i.sat.i32.f32(float \2)", line)
            line = line.replace("@llvm.nvvm.div.approx.ftz.f(", "@cpu.divapproxftz(")
            line = line.replace("@llvm.nvvm.lg2.approx.f(", "@cpu.lg2nf(").replace("@llvm.nvvm.ex2.approx.f(", "@cpu.ex2nf(")
            line = re.sub(r"@(llvm\.nvvm\.[\w.]+)\(", lambda mm: "@" + mm.group(1).replace(".ftz", "") + "(", line)
            for k, v in BINOPS.items():
                m = re.search(r"call \w+ @" + re.escape(k) + r"\((.*)\)\s*$", line)
                if m:
                    a, b = port.split_args(m.group(1))
                    line = line[:m.start()] + f"{v} {a.split()[1]}, {b.split()[1]}"
            for k, v in CALLS.items():
                k = k.replace(".ftz", "")
                if v is not None:
                    line = line.replace("@" + k + "(", "@" + v + "(")
            left = re.findall(r"@(llvm\.nvvm\.[\w.]+)\(", line)
            if left:
                raise SystemExit(f"{name}: no CPU version of {left[0]}")
            for callee in re.findall(r"@(__(?:nv|internal)_\w+)\(", line):
                todo.append(callee)
            body.append(line)
        out.append(f"define {ret} @{fname}({params}) {{\n" + "\n".join(body) + "\n}\n")
    globs = [ln for ln in text.splitlines() if ln.startswith(("@__cudart", "%struct."))]
    return _typed_to_opaque("\n".join(globs) + "\n" + HELPERS + "\n".join(out))


def vk_results(names: list[str], x: np.ndarray, y: np.ndarray) -> dict:
    """{name: its results on vgpu, called from a .vk kernel: the returned values, then each pointer's}."""
    import vgpu
    out = {}
    for name in names:
        params, res = signature(name)
        t = "float" if single(name) else "double"
        dt = np.float32 if t == "float" else np.float64
        rt = {"f": t, "i": "int", "l": "long long", "v": t}[res]
        vals = {"x": "x[i]", "y": "y[i]", "z": "y[n - 1 - i]", "w": "x[n - 1 - i]", "n": "k[i]"}
        args, outs = [], []
        for c in params:
            if c in "ip":
                outs.append(("int" if c == "i" else t, len(outs)))
                args.append(f"&p{len(outs) - 1}")
            else:
                args.append(vals[c])
        decls = "".join(f"{ty} p{j}; " for ty, j in outs)
        call = f"{'__' if name == 'frsqrt_rn' else ''}{name}({', '.join(args)})"
        body = decls + (f"{call}; " if res == "v" else f"o[i] = {call}; ") + \
            "".join(f"q{j}[i] = p{j}; " for _, j in outs)
        qs = "".join(f", {ty} *q{j}" for ty, j in outs)
        src = f"__global__ void k(const {t} *x, const {t} *y, const int *k, {rt} *o{qs}, int n) {{\n" \
              f"  int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) {{ {body}}} }}"
        o = vgpu.zeros(x.size, {"f": dt, "i": np.int32, "l": np.int64, "v": dt}[res])
        qarrs = [vgpu.zeros(x.size, np.int32 if ty == "int" else dt) for ty, _ in outs]
        vgpu.compile(src, filename=f"{name}.vk").get_function("k")(
            vgpu.to_device(x.astype(dt)), vgpu.to_device(y.astype(dt)), vgpu.to_device(int_args(name, y)), o,
            *qarrs, x.size, grid=(x.size + 127) // 128, block=128)
        parts = ([] if res == "v" else [o.copy_to_host()]) + [q.copy_to_host() for q in qarrs]
        out[name] = parts
    return out


def inputs(n: int):
    """~n first arguments and as many second ones: normal and uniform values, logarithmically spread
    magnitudes from subnormal to huge (sin/cos's Payne-Hanek reduction), multiples of pi/2 and their
    neighbours, integers and halves (sinpi, pow), and the special values."""
    rng = np.random.default_rng(1)
    k = n // 8
    specials = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 0.5, 2.0, 171.7, -3.5, 105615.0, 105614.99,
                1e-45, -1e-45, 1.2e-38, 1e-310, -1e-320, 3.4028234663852886e38, 1.7976931348623157e308, 1e22, 2.0 ** 60]
    x = np.concatenate([rng.standard_normal(k * 2) * 4, rng.uniform(-40, 40, k), rng.uniform(-1, 1, k),
                        10.0 ** rng.uniform(-45, 38.5, k) * rng.choice([-1, 1], k),
                        10.0 ** rng.uniform(-320, 308, k) * rng.choice([-1, 1], k),
                        np.round(rng.uniform(-1e6, 1e6, k // 2)) * (np.pi / 2),
                        np.round(rng.uniform(-200, 200, k // 2)) / 2, specials])
    y = np.concatenate([rng.standard_normal(x.size - len(specials) - k) * 10, np.round(rng.uniform(-20, 20, k)),
                        specials])
    return x, y


def check(n: int = 4000, verbose: bool = False, names: list | None = None) -> dict:
    """{function: number of the ~n inputs whose result bits differ between vgpu and libdevice on the CPU}."""
    with np.errstate(over="ignore"):             # the f64 inputs beyond float's range become inf
        return _check(n, verbose, names)


def _engine(names):
    import llvmlite.binding as llvm
    text = subprocess.run(["llvm-dis", "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc", "-o", "-"],
                          capture_output=True, text=True, check=True).stdout
    ir_text = cpu_module(text, names)
    llvm.load_library_permanently(ctypes.util.find_library("m"))   # glibc's fmaf: exact in every rounding mode
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    mod = llvm.parse_assembly(ir_text)
    mod.verify()
    tm = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    return engine


def _cpu(engine, name, x, y):
    """(inputs, [results]) of libdevice's `name` on the CPU: the returned values, then each pointer's."""
    params, res = signature(name)
    ct = ctypes.c_float if single(name) else ctypes.c_double
    dt = np.float32 if single(name) else np.float64
    xs, ys, ks = x.astype(dt), y.astype(dt), int_args(name, y)
    n = x.size
    cargs = {"x": ct, "y": ct, "z": ct, "w": ct, "n": ctypes.c_int32,
             "i": ctypes.POINTER(ctypes.c_int32), "p": ctypes.POINTER(ct)}
    crets = {"f": ct, "i": ctypes.c_int32, "l": ctypes.c_int64, "v": None}
    fn = ctypes.CFUNCTYPE(crets[res], *[cargs[c] for c in params])(engine.get_function_address("__nv_" + name))
    outs = [[] for c in params if c in "ip"]
    rets = []
    for i in range(n):
        vals = {"x": xs[i], "y": ys[i], "z": ys[n - 1 - i], "w": xs[n - 1 - i], "n": int(ks[i])}
        cells = [(ctypes.c_int32 if c == "i" else ct)() for c in params if c in "ip"]
        it = iter(cells)
        r = fn(*[ctypes.byref(next(it)) if c in "ip" else vals[c] for c in params])
        rets.append(r)
        for lst, cell in zip(outs, cells):
            lst.append(cell.value)
    parts = [] if res == "v" else [np.array(rets, {"f": dt, "i": np.int32, "l": np.int64}[res])]
    parts += [np.array(v, np.int32 if c == "i" else dt) for v, c in zip(outs, [c for c in params if c in "ip"])]
    return xs, parts


def _differ(a, b):
    """Where the bits of a and b differ (any NaN equals any NaN); a and b: lists of result arrays."""
    bad = np.zeros(a[0].size, bool)
    for p, q in zip(a, b):
        if p.dtype.kind != "f":
            bad |= p != q
            continue
        u = np.uint32 if p.dtype == np.float32 else np.uint64
        bad |= ~((p.view(u) == q.view(u)) | (np.isnan(p) & np.isnan(q)))
    return bad


def _check(n, verbose, names):
    names = names or UNARY + BINARY + SINCOS + list(MORE)
    engine = _engine(names)
    x, y = inputs(n)
    vk = vk_results(names, x, y)
    result = {}
    for name in names:
        xs, ref = _cpu(engine, name, x, y)
        got = vk[name]
        bad = _differ(ref, got)
        result[name] = int(bad.sum())
        if verbose:
            example = "" if not bad.any() else \
                f"  e.g. x={xs[bad][0]!r}: cpu {[r[bad][0] for r in ref]} vgpu {[g[bad][0] for g in got]}"
            print(f"{name:12s} {xs.size} results, {int(bad.sum())} differ{example}")
    return result


def sensitivity(n: int = 4000, names: list | None = None, verbose: bool = False) -> dict:
    """{function: how many of its results change when every hardware approximation it uses (ex2, lg2,
    rcp, rsqrt, div.approx) is one unit off in its last bit, up or down (the larger count)}: 0 means
    libdevice's refinement hides the approximation's last bit on these inputs."""
    names = names or UNARY + BINARY + SINCOS + list(MORE)
    engine = _engine(names)
    delta = ctypes.c_int32.from_address(engine.get_global_value_address("cpu.delta"))
    x, y = inputs(n)
    out = {}
    with np.errstate(over="ignore"):
        for name in names:
            delta.value = 0
            xs, ref = _cpu(engine, name, x, y)
            changed = []
            for d in (1, -1):
                delta.value = d
                changed.append(int(_differ(ref, _cpu(engine, name, x, y)[1]).sum()))
            delta.value = 0
            out[name] = max(changed)
            if verbose:
                print(f"{name:12s} {xs.size} results, {out[name]} change with the approximations 1 unit off")
    return out


def main(n: int = 4000, *names: str):
    if names[:1] == ("--sensitivity",):
        print(f"total changed: {sum(sensitivity(n, list(names[1:]) or None, verbose=True).values())}")
        return
    print(f"total differing: {sum(check(n, verbose=True, names=list(names) or None).values())}")


if __name__ == "__main__":
    main(*([int(sys.argv[1])] if len(sys.argv) > 1 else []), *sys.argv[2:])
