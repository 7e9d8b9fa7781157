/* vgpu built-in <cuda_fp16.h>: CUDA's IEEE binary16 type __half and its functions.
   __half is vgpu's built-in 16-bit float (ISA type .f16 in a %rs register).  As in nvcc's
   cuda_fp16.hpp: __half converts implicitly to and from every arithmetic type; + - * / and the
   comparisons take two __half operands (mixing __half with float or int is ambiguous in nvcc, and an
   error here too); h op= x converts x to __half first; ++/-- add one.  Arithmetic rounds to nearest
   even with subnormals kept, NaN results are 0x7FFF, as on the GPU.  __half2 is not supported yet. */
#ifndef _VGPU_CUDA_FP16_H
#define _VGPU_CUDA_FP16_H

typedef __vgpu_half __half;
typedef __vgpu_half half;
typedef __vgpu_half __nv_half;
typedef __vgpu_half nv_half;

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

#endif
