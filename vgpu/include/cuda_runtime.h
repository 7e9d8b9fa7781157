/* vgpu built-in <cuda_runtime.h>: the version macros of the CUDA runtime vgpu follows (CUDA 13.0). */
#ifndef _VGPU_CUDA_RUNTIME_H
#define _VGPU_CUDA_RUNTIME_H
#define CUDART_VERSION 13000
#define __CUDART_API_VERSION 13000
#endif
