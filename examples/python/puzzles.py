"""GPU-Puzzles-style exercises, called the way such notebooks call them: each puzzle is a factory that
receives the `cuda` module and returns the kernel body; `CudaProblem.check()` jits it, launches it with
host NumPy arrays and compares with a NumPy spec."""
from collections import namedtuple

import numpy as np

from vgpu import cuda

Coord = namedtuple("Coord", ["x", "y"])


class CudaProblem:
    def __init__(self, name, fn, inputs, out, extra_args=(), threadsperblock=Coord(1, 1),
                 blockspergrid=Coord(1, 1), spec=None):
        self.name, self.fn, self.inputs, self.out = name, fn, inputs, out
        self.extra_args, self.threadsperblock, self.blockspergrid, self.spec = extra_args, threadsperblock, \
            blockspergrid, spec

    def run_cuda(self):
        kernel = cuda.jit(self.fn(cuda))
        kernel[tuple(self.blockspergrid), tuple(self.threadsperblock)](self.out, *self.inputs, *self.extra_args)
        return self.out

    def check(self):
        got = self.run_cuda()
        want = self.spec(*self.inputs)
        assert np.array_equal(got, want), f"{self.name}: {got} != {want}"
        print(f"{self.name}: passed")
        return True


SIZE, TPB = 4, 8


def map_test(cuda):
    def call(out, a, size) -> None:
        local_i = cuda.threadIdx.x
        if local_i < size:
            out[local_i] = a[local_i] + 10
    return call


def zip_test(cuda):
    def call(out, a, b, size) -> None:
        local_i = cuda.threadIdx.x
        out[local_i] = a[local_i] + b[local_i]
    return call


def map_2d_test(cuda):          # "guard" in 2-D
    def call(out, a, size) -> None:
        local_i, local_j = cuda.threadIdx.x, cuda.threadIdx.y
        if local_i < size and local_j < size:
            out[local_i, local_j] = a[local_i, local_j] + 10
    return call


def broadcast_test(cuda):
    def call(out, a, b, size) -> None:
        local_i, local_j = cuda.threadIdx.x, cuda.threadIdx.y
        if local_i < size and local_j < size:
            out[local_i, local_j] = a[local_i, 0] + b[0, local_j]
    return call


def map_block_test(cuda):
    def call(out, a, size) -> None:
        i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if i < size:
            out[i] = a[i] + 10
    return call


def shared_test(cuda):
    def call(out, a, size) -> None:
        shared = cuda.shared.array(TPB, np.float32)
        i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        local_i = cuda.threadIdx.x
        if i < size:
            shared[local_i] = a[i]
        cuda.syncthreads()
        if i < size:
            out[i] = shared[local_i] + 10
    return call


def pool_test(cuda):
    def call(out, a, size) -> None:
        shared = cuda.shared.array(TPB, np.float32)
        i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        local_i = cuda.threadIdx.x
        shared[local_i] = a[i] if i < size else 0
        cuda.syncthreads()
        if i < size:
            acc = shared[local_i]
            if local_i >= 1:
                acc += shared[local_i - 1]
            if local_i >= 2:
                acc += shared[local_i - 2]
            out[i] = acc
    return call


def dot_test(cuda):
    def call(out, a, b, size) -> None:
        shared = cuda.shared.array(TPB, np.float32)
        local_i = cuda.threadIdx.x
        shared[local_i] = a[local_i] * b[local_i] if local_i < size else 0
        cuda.syncthreads()
        if local_i == 0:
            acc = 0.0
            for k in range(size):
                acc += shared[k]
            out[0] = acc
    return call


MAX_CONV = 4
TPB_MAX_CONV = TPB + MAX_CONV


def conv_test(cuda):
    def call(out, a, b, a_size, b_size) -> None:
        i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        local_i = cuda.threadIdx.x
        sa = cuda.shared.array(TPB_MAX_CONV, np.float32)
        sb = cuda.shared.array(MAX_CONV, np.float32)
        if local_i < b_size:
            sb[local_i] = b[local_i]
        sa[local_i] = a[i] if i < a_size else 0
        if local_i < b_size - 1:
            sa[TPB + local_i] = a[i + TPB] if i + TPB < a_size else 0
        cuda.syncthreads()
        if i < a_size:
            acc = 0.0
            for k in range(b_size):
                acc += sa[local_i + k] * sb[k]
            out[i] = acc
    return call


def prefix_sum_test(cuda):       # block sums of a, one per block (the "sum" puzzle)
    def call(out, a, size) -> None:
        cache = cuda.shared.array(TPB, np.float32)
        i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        local_i = cuda.threadIdx.x
        cache[local_i] = a[i] if i < size else 0
        cuda.syncthreads()
        step = 1
        while step < TPB:
            if local_i % (2 * step) == 0:
                cache[local_i] += cache[local_i + step]
            cuda.syncthreads()
            step *= 2
        if local_i == 0:
            out[cuda.blockIdx.x] = cache[0]
    return call


def axis_sum_test(cuda):
    def call(out, a, size) -> None:
        cache = cuda.shared.array(TPB, np.float32)
        local_i = cuda.threadIdx.x
        batch = cuda.blockIdx.y
        cache[local_i] = a[batch, local_i] if local_i < size else 0
        cuda.syncthreads()
        step = TPB // 2
        while step > 0:
            if local_i < step:
                cache[local_i] += cache[local_i + step]
            cuda.syncthreads()
            step //= 2
        if local_i == 0:
            out[batch, 0] = cache[0]
    return call


def mm_oneblock_test(cuda):
    def call(out, a, b, size) -> None:
        a_shared = cuda.shared.array((TPB, TPB), np.float32)
        b_shared = cuda.shared.array((TPB, TPB), np.float32)
        i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        j = cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        local_i, local_j = cuda.threadIdx.x, cuda.threadIdx.y
        acc = 0.0
        for t in range(0, size, TPB):
            a_shared[local_i, local_j] = a[i, t + local_j] if i < size and t + local_j < size else 0
            b_shared[local_i, local_j] = b[t + local_i, j] if t + local_i < size and j < size else 0
            cuda.syncthreads()
            for k in range(TPB):
                acc += a_shared[local_i, k] * b_shared[k, local_j]
            cuda.syncthreads()
        if i < size and j < size:
            out[i, j] = acc
    return call


def problems():
    a = np.arange(SIZE, dtype=np.float32)
    a8 = np.arange(8, dtype=np.float32)
    big = np.arange(15, dtype=np.float32)
    m = np.arange(SIZE * SIZE, dtype=np.float32).reshape(SIZE, SIZE)
    conv_b = np.arange(3, dtype=np.float32)
    batch = np.arange(4 * 6, dtype=np.float32).reshape(4, 6)
    mm_a = np.arange(10 * 10, dtype=np.float32).reshape(10, 10) % 7
    mm_b = (np.arange(10 * 10, dtype=np.float32).reshape(10, 10).T % 5).copy()

    def conv_spec(a, b):
        return np.array([sum(a[i + k] * b[k] for k in range(len(b)) if i + k < len(a)) for i in range(len(a))],
                        np.float32)

    return [
        CudaProblem("Map", map_test, [a], np.zeros(SIZE, np.float32), [SIZE], Coord(SIZE + 4, 1),
                    spec=lambda a: a + 10),
        CudaProblem("Zip", zip_test, [a, a], np.zeros(SIZE, np.float32), [SIZE], Coord(SIZE, 1),
                    spec=lambda a, b: a + b),
        CudaProblem("Guard 2D", map_2d_test, [m], np.zeros((SIZE, SIZE), np.float32), [SIZE], Coord(5, 5),
                    spec=lambda a: a + 10),
        CudaProblem("Broadcast", broadcast_test, [a.reshape(SIZE, 1), a.reshape(1, SIZE)],
                    np.zeros((SIZE, SIZE), np.float32), [SIZE], Coord(SIZE + 1, SIZE + 1),
                    spec=lambda a, b: a + b),
        CudaProblem("Blocks", map_block_test, [a8 * 2], np.zeros(8, np.float32), [8], Coord(3, 1), Coord(3, 1),
                    spec=lambda a: a + 10),
        CudaProblem("Shared", shared_test, [a8], np.zeros(8, np.float32), [8], Coord(4, 1), Coord(2, 1),
                    spec=lambda a: a + 10),
        CudaProblem("Pooling", pool_test, [a8], np.zeros(8, np.float32), [8], Coord(8, 1), Coord(1, 1),
                    spec=lambda a: np.array([a[max(i - 2, 0):i + 1].sum() for i in range(8)], np.float32)),
        CudaProblem("Dot", dot_test, [a8, a8], np.zeros(1, np.float32), [8], Coord(8, 1),
                    spec=lambda a, b: np.array([a @ b], np.float32)),
        CudaProblem("1D Conv", conv_test, [big, conv_b], np.zeros(15, np.float32), [15, 3], Coord(TPB, 1),
                    Coord(2, 1), spec=conv_spec),
        CudaProblem("Sum", prefix_sum_test, [big], np.zeros(2, np.float32), [15], Coord(TPB, 1), Coord(2, 1),
                    spec=lambda a: np.array([a[:8].sum(), a[8:].sum()], np.float32)),
        CudaProblem("Axis Sum", axis_sum_test, [batch], np.zeros((4, 1), np.float32), [6], Coord(TPB, 1),
                    Coord(1, 4), spec=lambda a: a.sum(1, keepdims=True)),
        CudaProblem("Matmul", mm_oneblock_test, [mm_a, mm_b], np.zeros((10, 10), np.float32), [10],
                    Coord(TPB, TPB), Coord(2, 2), spec=lambda a, b: a @ b),
    ]


def main():
    return [p.check() for p in problems()]


if __name__ == "__main__":
    main()
