"""Reductions: one kernel (block sums + an atomic) and two kernels (block sums, then a sum of those)."""
import numpy as np

from vgpu import cuda

TPB = 128


@cuda.jit
def block_sums(x, partial):
    s = cuda.shared.array(TPB, np.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    s[t] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    k = TPB // 2
    while k > 0:
        if t < k:
            s[t] += s[t + k]
        cuda.syncthreads()
        k //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = s[0]


@cuda.jit
def one_kernel(x, total):
    s = cuda.shared.array(TPB, np.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    s[t] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    k = TPB // 2
    while k > 0:
        if t < k:
            s[t] += s[t + k]
        cuda.syncthreads()
        k //= 2
    if t == 0:
        cuda.atomic.add(total, 0, s[0])


def main(n=3000):
    x = np.random.default_rng(4).random(n)
    blocks = (n + TPB - 1) // TPB
    d_x = cuda.to_device(x)
    partial = cuda.device_array(blocks, np.float64)
    block_sums[blocks, TPB](d_x, partial)
    final = cuda.device_array(1, np.float64)
    block_sums[1, TPB](partial, final)                # the second kernel reduces the partial sums
    total = np.zeros(1)
    one_kernel[blocks, TPB](d_x, total)
    two = final.copy_to_host()[0]
    assert abs(two - x.sum()) < 1e-9 and abs(total[0] - x.sum()) < 1e-9
    print(two, total[0])
    return two


if __name__ == "__main__":
    main()
