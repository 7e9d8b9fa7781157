/* vgpu built-in <cuda_fp16.h>: CUDA's IEEE binary16 type __half and its functions.
   __half is vgpu's built-in 16-bit float (ISA type .f16 in a %rs register).  As in nvcc's
   cuda_fp16.hpp: __half converts implicitly to and from every arithmetic type; + - * / and the
   comparisons take two __half operands (mixing __half with float or int is ambiguous in nvcc, and an
   error here too); h op= x converts x to __half first; ++/-- add one.  Arithmetic rounds to nearest
   even with subnormals kept, NaN results are 0x7FFF, as on the GPU.  __half2 is the struct of two
   __half (members x, y; size and alignment 4); its h2 functions are two independent __half operations
   (the GPU's add.f16x2 ... give the same bits lane by lane).  The C++ operators on __half2 are the
   front end's (vgpu/frontend/check_half2.py): a + b is __hadd2(a, b), ... as in cuda_fp16.hpp. */
#ifndef _VGPU_CUDA_FP16_H
#define _VGPU_CUDA_FP16_H

typedef __vgpu_half __half;
typedef __vgpu_half half;
typedef __vgpu_half __nv_half;
typedef __vgpu_half nv_half;
typedef __vgpu_half2 __half2;
typedef __vgpu_half2 half2;
typedef __vgpu_half2 __nv_half2;
typedef __vgpu_half2 nv_half2;

/* conversions (cvt.rn.f16.f32, cvt.rz..., cvt.f32.f16, cvt.rn.f16.s32, cvt.rzi.s32.f16, ...) */
__device__ __half __float2half(const float a) { return __vgpu_float2half_rn(a); }
__device__ __half __float2half_rn(const float a) { return __vgpu_float2half_rn(a); }
__device__ __half __float2half_rz(const float a) { return __vgpu_float2half_rz(a); }
__device__ __half __float2half_rd(const float a) { return __vgpu_float2half_rm(a); }
__device__ __half __float2half_ru(const float a) { return __vgpu_float2half_rp(a); }
__device__ __half __double2half(const double a) { return (__half)a; }
__device__ float __half2float(const __half a) { return (float)a; }
__device__ __half __int2half_rn(const int i) { return (__half)i; }
__device__ __half __uint2half_rn(const unsigned int i) { return (__half)i; }
__device__ __half __short2half_rn(const short i) { return (__half)i; }
__device__ __half __ushort2half_rn(const unsigned short i) { return (__half)i; }
__device__ __half __ll2half_rn(const long long i) { return (__half)i; }
__device__ __half __ull2half_rn(const unsigned long long i) { return (__half)i; }
__device__ int __half2int_rz(const __half h) { return (int)h; }
__device__ unsigned int __half2uint_rz(const __half h) { return (unsigned int)h; }
__device__ short __half2short_rz(const __half h) { return (short)h; }
__device__ unsigned short __half2ushort_rz(const __half h) { return (unsigned short)h; }
__device__ long long __half2ll_rz(const __half h) { return (long long)h; }
__device__ unsigned long long __half2ull_rz(const __half h) { return (unsigned long long)h; }

/* reinterpreting the 16 bits */
__device__ short __half_as_short(const __half h) { return __vgpu_half_as_short(h); }
__device__ unsigned short __half_as_ushort(const __half h) { return (unsigned short)__vgpu_half_as_short(h); }
__device__ __half __short_as_half(const short i) { return __vgpu_short_as_half(i); }
__device__ __half __ushort_as_half(const unsigned short i) { return __vgpu_short_as_half((short)i); }

/* arithmetic (add.f16, sub.f16, mul.f16, fma.rn.f16, neg.f16, abs.f16, max.f16, min.f16) */
__device__ __half __hadd(const __half a, const __half b) { return a + b; }
/* CUDA's integer halving add of the same name (device_functions.h), so that __hadd(int, int) still picks it
   here: the one of vgpu/include/__vgpu_intrinsics.vkh, which this declaration hides */
__device__ int __hadd(int x, int y) { return (int)(((long long)x + y) >> 1); }
__device__ __half __hsub(const __half a, const __half b) { return a - b; }
__device__ __half __hmul(const __half a, const __half b) { return a * b; }
__device__ __half __hadd_rn(const __half a, const __half b) { return a + b; }
__device__ __half __hsub_rn(const __half a, const __half b) { return a - b; }
__device__ __half __hmul_rn(const __half a, const __half b) { return a * b; }
__device__ __half __hdiv(const __half a, const __half b) { return a / b; }
__device__ __half __hfma(const __half a, const __half b, const __half c) { return __vgpu_hfma(a, b, c); }
__device__ __half __hneg(const __half a) { return -a; }
__device__ __half __habs(const __half a) { return __vgpu_habs(a); }
__device__ __half __hmax(const __half a, const __half b) { return __vgpu_hmax(a, b); }
__device__ __half __hmin(const __half a, const __half b) { return __vgpu_hmin(a, b); }

/* rounding to integral (cvt.rzi/rpi/rmi/rni.f16.f16, exact) and hsqrt/hrcp (the GPU: sqrt/rcp.approx.f32 then
   cvt.rn.f16.f32; vgpu: the correctly rounded value, as its other .approx functions) */
__device__ __half htrunc(const __half h) { return __vgpu_htrunc(h); }
__device__ __half hceil(const __half h) { return __vgpu_hceil(h); }
__device__ __half hfloor(const __half h) { return __vgpu_hfloor(h); }
__device__ __half hrint(const __half h) { return __vgpu_hrint(h); }
__device__ __half hsqrt(const __half a) { return __vgpu_hsqrt(a); }
__device__ __half hrcp(const __half a) { return __vgpu_hrcp(a); }

/* comparisons: ordered (false when either is NaN) except the ...u forms and __hneu */
__device__ bool __heq(const __half a, const __half b) { return a == b; }
__device__ bool __hne(const __half a, const __half b) { return a < b || a > b; }
__device__ bool __hlt(const __half a, const __half b) { return a < b; }
__device__ bool __hle(const __half a, const __half b) { return a <= b; }
__device__ bool __hgt(const __half a, const __half b) { return a > b; }
__device__ bool __hge(const __half a, const __half b) { return a >= b; }
__device__ bool __hequ(const __half a, const __half b) { return !(a < b || a > b); }
__device__ bool __hneu(const __half a, const __half b) { return a != b; }
__device__ bool __hltu(const __half a, const __half b) { return !(a >= b); }
__device__ bool __hleu(const __half a, const __half b) { return !(a > b); }
__device__ bool __hgtu(const __half a, const __half b) { return !(a <= b); }
__device__ bool __hgeu(const __half a, const __half b) { return !(a < b); }
__device__ bool __hisnan(const __half a) { return a != a; }
__device__ int __hisinf(const __half a)
{
    unsigned short u = (unsigned short)__vgpu_half_as_short(a);
    return u == 0x7C00 ? 1 : u == 0xFC00 ? -1 : 0;
}

/* __half2: two halves (x low, y high) */
__device__ __half2 make_half2(const __half x, const __half y) { __half2 r; r.x = x; r.y = y; return r; }
__device__ __half2 __halves2half2(const __half a, const __half b) { return make_half2(a, b); }
__device__ __half2 __half2half2(const __half a) { return make_half2(a, a); }
__device__ __half2 __floats2half2_rn(const float a, const float b)
{ return make_half2(__float2half_rn(a), __float2half_rn(b)); }
__device__ __half2 __float2half2_rn(const float a) { return __half2half2(__float2half_rn(a)); }
__device__ __half2 __float22half2_rn(const float2 a) { return __floats2half2_rn(a.x, a.y); }
__device__ float2 __half22float2(const __half2 a) { return make_float2((float)a.x, (float)a.y); }
__device__ __half __low2half(const __half2 a) { return a.x; }
__device__ __half __high2half(const __half2 a) { return a.y; }
__device__ float __low2float(const __half2 a) { return (float)a.x; }
__device__ float __high2float(const __half2 a) { return (float)a.y; }
__device__ __half2 __lows2half2(const __half2 a, const __half2 b) { return make_half2(a.x, b.x); }
__device__ __half2 __highs2half2(const __half2 a, const __half2 b) { return make_half2(a.y, b.y); }
__device__ __half2 __low2half2(const __half2 a) { return make_half2(a.x, a.x); }
__device__ __half2 __high2half2(const __half2 a) { return make_half2(a.y, a.y); }
__device__ __half2 __lowhigh2highlow(const __half2 a) { return make_half2(a.y, a.x); }

/* lane-wise arithmetic (add/sub/mul/fma.rn/neg/abs/max/min.f16x2: each lane rounds as the __half function) */
__device__ __half2 __hadd2(const __half2 a, const __half2 b) { return make_half2(a.x + b.x, a.y + b.y); }
__device__ __half2 __hsub2(const __half2 a, const __half2 b) { return make_half2(a.x - b.x, a.y - b.y); }
__device__ __half2 __hmul2(const __half2 a, const __half2 b) { return make_half2(a.x * b.x, a.y * b.y); }
__device__ __half2 __hadd2_rn(const __half2 a, const __half2 b) { return __hadd2(a, b); }
__device__ __half2 __hsub2_rn(const __half2 a, const __half2 b) { return __hsub2(a, b); }
__device__ __half2 __hmul2_rn(const __half2 a, const __half2 b) { return __hmul2(a, b); }
__device__ __half2 __h2div(const __half2 a, const __half2 b) { return make_half2(a.x / b.x, a.y / b.y); }
__device__ __half2 h2div(const __half2 a, const __half2 b) { return __h2div(a, b); }
__device__ __half2 __hfma2(const __half2 a, const __half2 b, const __half2 c)
{ return make_half2(__hfma(a.x, b.x, c.x), __hfma(a.y, b.y, c.y)); }
__device__ __half2 __hneg2(const __half2 a) { return make_half2(-a.x, -a.y); }
__device__ __half2 __habs2(const __half2 a) { return make_half2(__habs(a.x), __habs(a.y)); }
__device__ __half2 __hmax2(const __half2 a, const __half2 b) { return make_half2(__hmax(a.x, b.x), __hmax(a.y, b.y)); }
__device__ __half2 __hmin2(const __half2 a, const __half2 b) { return make_half2(__hmin(a.x, b.x), __hmin(a.y, b.y)); }
__device__ __half2 h2sqrt(const __half2 a) { return make_half2(hsqrt(a.x), hsqrt(a.y)); }
__device__ __half2 h2rcp(const __half2 a) { return make_half2(hrcp(a.x), hrcp(a.y)); }
__device__ __half2 h2trunc(const __half2 a) { return make_half2(htrunc(a.x), htrunc(a.y)); }
__device__ __half2 h2ceil(const __half2 a) { return make_half2(hceil(a.x), hceil(a.y)); }
__device__ __half2 h2floor(const __half2 a) { return make_half2(hfloor(a.x), hfloor(a.y)); }
__device__ __half2 h2rint(const __half2 a) { return make_half2(hrint(a.x), hrint(a.y)); }
__device__ __half2 __hisnan2(const __half2 a)
{ return make_half2(__ushort_as_half(a.x != a.x ? 0x3C00 : 0), __ushort_as_half(a.y != a.y ? 0x3C00 : 0)); }

/* lane-wise comparisons (set.f16x2): __hXX2 gives 1.0/0.0 per lane, __hbXX2 whether both lanes hold,
   __hXX2_mask 0xFFFF per true lane */
__device__ __half2 __heq2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__heq(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__heq(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbeq2(const __half2 a, const __half2 b) { return __heq(a.x, b.x) && __heq(a.y, b.y); }
__device__ unsigned __heq2_mask(const __half2 a, const __half2 b)
{ return (__heq(a.x, b.x) ? 0xFFFFu : 0u) | (__heq(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hne2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hne(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hne(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbne2(const __half2 a, const __half2 b) { return __hne(a.x, b.x) && __hne(a.y, b.y); }
__device__ unsigned __hne2_mask(const __half2 a, const __half2 b)
{ return (__hne(a.x, b.x) ? 0xFFFFu : 0u) | (__hne(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hlt2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hlt(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hlt(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hblt2(const __half2 a, const __half2 b) { return __hlt(a.x, b.x) && __hlt(a.y, b.y); }
__device__ unsigned __hlt2_mask(const __half2 a, const __half2 b)
{ return (__hlt(a.x, b.x) ? 0xFFFFu : 0u) | (__hlt(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hle2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hle(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hle(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hble2(const __half2 a, const __half2 b) { return __hle(a.x, b.x) && __hle(a.y, b.y); }
__device__ unsigned __hle2_mask(const __half2 a, const __half2 b)
{ return (__hle(a.x, b.x) ? 0xFFFFu : 0u) | (__hle(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hgt2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hgt(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hgt(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbgt2(const __half2 a, const __half2 b) { return __hgt(a.x, b.x) && __hgt(a.y, b.y); }
__device__ unsigned __hgt2_mask(const __half2 a, const __half2 b)
{ return (__hgt(a.x, b.x) ? 0xFFFFu : 0u) | (__hgt(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hge2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hge(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hge(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbge2(const __half2 a, const __half2 b) { return __hge(a.x, b.x) && __hge(a.y, b.y); }
__device__ unsigned __hge2_mask(const __half2 a, const __half2 b)
{ return (__hge(a.x, b.x) ? 0xFFFFu : 0u) | (__hge(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hequ2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hequ(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hequ(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbequ2(const __half2 a, const __half2 b) { return __hequ(a.x, b.x) && __hequ(a.y, b.y); }
__device__ unsigned __hequ2_mask(const __half2 a, const __half2 b)
{ return (__hequ(a.x, b.x) ? 0xFFFFu : 0u) | (__hequ(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hneu2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hneu(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hneu(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbneu2(const __half2 a, const __half2 b) { return __hneu(a.x, b.x) && __hneu(a.y, b.y); }
__device__ unsigned __hneu2_mask(const __half2 a, const __half2 b)
{ return (__hneu(a.x, b.x) ? 0xFFFFu : 0u) | (__hneu(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hltu2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hltu(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hltu(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbltu2(const __half2 a, const __half2 b) { return __hltu(a.x, b.x) && __hltu(a.y, b.y); }
__device__ unsigned __hltu2_mask(const __half2 a, const __half2 b)
{ return (__hltu(a.x, b.x) ? 0xFFFFu : 0u) | (__hltu(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hleu2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hleu(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hleu(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbleu2(const __half2 a, const __half2 b) { return __hleu(a.x, b.x) && __hleu(a.y, b.y); }
__device__ unsigned __hleu2_mask(const __half2 a, const __half2 b)
{ return (__hleu(a.x, b.x) ? 0xFFFFu : 0u) | (__hleu(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hgtu2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hgtu(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hgtu(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbgtu2(const __half2 a, const __half2 b) { return __hgtu(a.x, b.x) && __hgtu(a.y, b.y); }
__device__ unsigned __hgtu2_mask(const __half2 a, const __half2 b)
{ return (__hgtu(a.x, b.x) ? 0xFFFFu : 0u) | (__hgtu(a.y, b.y) ? 0xFFFF0000u : 0u); }
__device__ __half2 __hgeu2(const __half2 a, const __half2 b)
{ return make_half2(__ushort_as_half(__hgeu(a.x, b.x) ? 0x3C00 : 0), __ushort_as_half(__hgeu(a.y, b.y) ? 0x3C00 : 0)); }
__device__ bool __hbgeu2(const __half2 a, const __half2 b) { return __hgeu(a.x, b.x) && __hgeu(a.y, b.y); }
__device__ unsigned __hgeu2_mask(const __half2 a, const __half2 b)
{ return (__hgeu(a.x, b.x) ? 0xFFFFu : 0u) | (__hgeu(a.y, b.y) ? 0xFFFF0000u : 0u); }

/* __half2 across the warp and in atomics: its 32 bits (cuda_fp16.hpp's overloads of __shfl_*_sync and
   atomicAdd call these; atomicAdd(__half2 *, __half2) is a compare-and-swap loop, atomic on all 32 bits) */
__device__ unsigned __vgpu_h22u(const __half2 a)
{ return (unsigned)__half_as_ushort(a.x) | ((unsigned)__half_as_ushort(a.y) << 16); }
__device__ __half2 __vgpu_u2h2(const unsigned u)
{ return make_half2(__ushort_as_half((unsigned short)u), __ushort_as_half((unsigned short)(u >> 16))); }
__device__ __half2 __vgpu_shfl_sync_half2(const unsigned m, const __half2 v, const int l, const int w)
{ return __vgpu_u2h2(__shfl_sync(m, __vgpu_h22u(v), l, w)); }
__device__ __half2 __vgpu_shfl_up_sync_half2(const unsigned m, const __half2 v, const unsigned d, const int w)
{ return __vgpu_u2h2(__shfl_up_sync(m, __vgpu_h22u(v), d, w)); }
__device__ __half2 __vgpu_shfl_down_sync_half2(const unsigned m, const __half2 v, const unsigned d, const int w)
{ return __vgpu_u2h2(__shfl_down_sync(m, __vgpu_h22u(v), d, w)); }
__device__ __half2 __vgpu_shfl_xor_sync_half2(const unsigned m, const __half2 v, const int l, const int w)
{ return __vgpu_u2h2(__shfl_xor_sync(m, __vgpu_h22u(v), l, w)); }
__device__ __half2 __vgpu_atomicAdd_half2(__half2 *a, const __half2 v)
{
    unsigned *p = (unsigned *)a;
    unsigned old = *p, seen;
    do {
        seen = old;
        old = atomicCAS(p, seen, __vgpu_h22u(__hadd2(__vgpu_u2h2(seen), v)));
    } while (old != seen);
    return __vgpu_u2h2(old);
}

#endif
