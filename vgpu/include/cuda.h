/* vgpu built-in <cuda.h>: the driver API header as device code sees it: it includes <stdint.h> (so
   uint8_t ... uint64_t are declared, as with CUDA's cuda.h) and the runtime's version macros, and names
   the driver's texture- and surface-object handles (CUtexObject, CUsurfObject: the same 64-bit
   handles as cudaTextureObject_t, cudaSurfaceObject_t). */
#ifndef _VGPU_CUDA_H
#define _VGPU_CUDA_H
#include <stdint.h>
#include <cuda_runtime.h>
#define CUDA_VERSION 13000
typedef unsigned long long CUtexObject;
typedef unsigned long long CUsurfObject;
#endif
