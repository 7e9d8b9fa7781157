/* vgpu built-in <assert.h>: a device assert as CUDA's: a false condition prints
   "FILE:LINE: block: [x,y,z], thread: [x,y,z] Assertion `COND` failed." and aborts the kernel (trap: a
   device fault naming the line).  With NDEBUG defined, assert(e) does nothing. */
#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) do { if (!(e)) { printf("%s:%d: block: [%u,%u,%u], thread: [%u,%u,%u] Assertion `%s` failed.\n", __FILE__, __LINE__, blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z, #e); __trap(); } } while (0)
#endif
