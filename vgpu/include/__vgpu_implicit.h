/* What nvcc gives a .cu file that includes nothing: its implicit "cuda_runtime.h" pulls in glibc's
   <limits.h>, <stddef.h>, <stdlib.h>, <math.h> and CUDA's assert; not <float.h> or <stdint.h>
   (checked with nvcc 13.0: FLT_MAX, uint8_t, INT64_MAX are undefined there).  vgpu defines these
   macros before line 1 of every file (vgpu/frontend/preprocess.py); the types come from
   <sys/types.h> (uint, ushort, ulong, int8_t ... int64_t: vgpu/frontend/ctypes.py). */
#include <limits.h>
#include <cuda_runtime.h>
#include <assert.h>
#define NULL 0L
#define offsetof(TYPE, MEMBER) __builtin_offsetof(TYPE, MEMBER)
/* enum cudaSurfaceBoundaryMode (surface_types.h) */
#define cudaBoundaryModeZero 0
#define cudaBoundaryModeClamp 1
#define cudaBoundaryModeTrap 2
#define RAND_MAX 2147483647
#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#define M_E 2.7182818284590452354
#define M_LOG2E 1.4426950408889634074
#define M_LOG10E 0.43429448190325182765
#define M_LN2 0.69314718055994530942
#define M_LN10 2.30258509299404568402
#define M_PI 3.14159265358979323846
#define M_PI_2 1.57079632679489661923
#define M_PI_4 0.78539816339744830962
#define M_1_PI 0.31830988618379067154
#define M_2_PI 0.63661977236758134308
#define M_2_SQRTPI 1.12837916709551257390
#define M_SQRT2 1.41421356237309504880
#define M_SQRT1_2 0.70710678118654752440
