"""The same algorithm in .vk and in Python (vgpu.cuda) gives the same bytes.

Each pair is written as a CUDA programmer and a Numba programmer would write it; where Numba's typing
differs from C's (int64 arithmetic, fma contraction), the .vk side spells out what the Python side means.
"""
import math

import numpy as np

import vgpu
from vgpu import cuda

N = 256


@cuda.jit
def saxpy_py(a, x, y):
    i = cuda.grid(1)
    if i < x.size:
        y[i] = a * x[i] + y[i]          # float32 a: float32 arithmetic, contracted to fma as NVVM does


SAXPY_VK = """
__global__ void saxpy(float a, const float *x, float *y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaf(a, x[i], y[i]);
}"""


@cuda.jit
def hist_py(data, bins):
    i = cuda.grid(1)
    if i < data.size:
        cuda.atomic.add(bins, data[i] % 16, 1)


HIST_VK = """
__global__ void hist(const int *data, int *bins, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(&bins[data[i] % 16], 1);
}"""


@cuda.jit
def reduce_py(x, out):
    s = cuda.shared.array(128, np.float32)
    t = cuda.threadIdx.x
    i = cuda.blockIdx.x * 128 + t
    s[t] = x[i]
    cuda.syncthreads()
    k = 64
    while k > 0:
        if t < k:
            s[t] += s[t + k]
        cuda.syncthreads()
        k //= 2
    if t == 0:
        out[cuda.blockIdx.x] = s[0]


REDUCE_VK = """
__global__ void reduce(const float *x, float *out) {
    __shared__ float s[128];
    int t = threadIdx.x;
    s[t] = x[blockIdx.x * 128 + t];
    __syncthreads();
    for (int k = 64; k > 0; k /= 2) {
        if (t < k) s[t] += s[t + k];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = s[0];
}"""


@cuda.jit
def scan_py(x, out, ballots):
    i = cuda.grid(1)
    lane = cuda.laneid
    v = x[i]
    d = 1
    while d < 32:
        u = cuda.shfl_up_sync(0xFFFFFFFF, v, d)
        if lane >= d:
            v += u
        d *= 2
    out[i] = v
    b = cuda.ballot_sync(0xFFFFFFFF, x[i] > 50)
    ballots[i] = cuda.popc(b) + cuda.shfl_xor_sync(0xFFFFFFFF, lane, 5) * 100


SCAN_VK = """
__global__ void scan(const int *x, long long *out, int *ballots) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int lane = threadIdx.x % 32;
    long long v = x[i];
    for (int d = 1; d < 32; d *= 2) {
        long long u = __shfl_up_sync(0xffffffff, v, d);
        if (lane >= d) v += u;
    }
    out[i] = v;
    unsigned b = __ballot_sync(0xffffffff, x[i] > 50);
    ballots[i] = __popc(b) + __shfl_xor_sync(0xffffffff, lane, 5) * 100;
}"""


@cuda.jit
def matmul_py(a, b, c):
    row, col = cuda.grid(2)
    if row < c.shape[0] and col < c.shape[1]:
        acc = 0.0
        for k in range(a.shape[1]):
            acc += a[row, k] * b[k, col]
        c[row, col] = acc


MATMUL_VK = """
__global__ void matmul(const double *a, const double *b, double *c, int n) {
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    int col = blockIdx.y * blockDim.y + threadIdx.y;
    if (row < n && col < n) {
        double acc = 0.0;
        for (int k = 0; k < n; k++) acc = fma(a[row * n + k], b[k * n + col], acc);
        c[row * n + col] = acc;
    }
}"""


@cuda.jit
def collatz_py(start, steps):
    i = cuda.grid(1)
    n = start[i]
    s = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        s += 1
    steps[i] = s


COLLATZ_VK = """
__global__ void collatz(const long long *start, int *steps) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    long long n = start[i];
    int s = 0;
    while (n != 1) {
        if (n % 2 == 0) n = n / 2; else n = 3 * n + 1;
        s++;
    }
    steps[i] = s;
}"""


def _vk(src, name):
    return vgpu.compile(src, filename=f"{name}.vk").get_function(name)


def test_saxpy():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(N).astype(np.float32), rng.standard_normal(N).astype(np.float32)
    y_py = y.copy()
    saxpy_py[2, 128](np.float32(1.7), x, y_py)
    dx, dy = vgpu.to_device(x), vgpu.to_device(y)
    _vk(SAXPY_VK, "saxpy")(1.7, dx, dy, N, grid=2, block=128)
    assert y_py.tobytes() == dy.copy_to_host().tobytes()


def test_histogram_atomics():
    data = np.random.default_rng(1).integers(0, 1000, N).astype(np.int32)
    bins = np.zeros(16, np.int32)
    hist_py[2, 128](data, bins)
    db = vgpu.zeros(16, np.int32)
    _vk(HIST_VK, "hist")(vgpu.to_device(data), db, N, grid=2, block=128)
    assert bins.tobytes() == db.copy_to_host().tobytes()


def test_shared_memory_reduction():
    x = np.random.default_rng(2).random(N).astype(np.float32)
    out = np.zeros(2, np.float32)
    reduce_py[2, 128](x, out)
    d = vgpu.zeros(2, np.float32)
    _vk(REDUCE_VK, "reduce")(vgpu.to_device(x), d, grid=2, block=128)
    assert out.tobytes() == d.copy_to_host().tobytes()


def test_warp_scan_ballot_shuffle():
    x = np.random.default_rng(3).integers(0, 100, N).astype(np.int32)
    out, bal = np.zeros(N, np.int64), np.zeros(N, np.int32)
    scan_py[2, 128](x, out, bal)
    do, db = vgpu.zeros(N, np.int64), vgpu.zeros(N, np.int32)
    _vk(SCAN_VK, "scan")(vgpu.to_device(x), do, db, grid=2, block=128)
    assert out.tobytes() == do.copy_to_host().tobytes()
    assert bal.tobytes() == db.copy_to_host().tobytes()


def test_matmul_fused_accumulation():
    n = 12
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    c = np.zeros((n, n))
    matmul_py[(2, 2), (8, 8)](a, b, c)
    dc = vgpu.zeros((n, n), np.float64)
    _vk(MATMUL_VK, "matmul")(vgpu.to_device(a), vgpu.to_device(b), dc, n, grid=(2, 2), block=(8, 8))
    assert c.tobytes() == dc.copy_to_host().tobytes()


def test_collatz_loops():
    start = np.arange(1, 65, dtype=np.int64)
    steps = np.zeros(64, np.int32)
    collatz_py[1, 64](start, steps)
    ds = vgpu.zeros(64, np.int32)
    _vk(COLLATZ_VK, "collatz")(vgpu.to_device(start), ds, grid=1, block=64)
    assert steps.tobytes() == ds.copy_to_host().tobytes()
    assert steps[26] == 111


@cuda.jit
def colsum_py(a, out):
    j = cuda.grid(1)
    if j < a.shape[1]:
        col = a[:, j]                   # a strided view
        s = np.float32(0)
        for i in range(col.size):
            s += col[i]
        out[j] = s


COLSUM_VK = """
__global__ void colsum(const float *a, float *out, int rows, int cols) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j < cols) {
        const float *col = a + j;       /* stride: cols elements */
        float s = 0.0f;
        for (int i = 0; i < rows; i++) s += col[i * cols];
        out[j] = s;
    }
}"""


def test_strided_column_view():
    a = np.random.default_rng(6).standard_normal((37, 70)).astype(np.float32)
    out = np.zeros(70, np.float32)
    colsum_py[1, 96](a, out)
    d = vgpu.zeros(70, np.float32)
    _vk(COLSUM_VK, "colsum")(vgpu.to_device(a), d, 37, 70, grid=1, block=96)
    assert out.tobytes() == d.copy_to_host().tobytes()


@cuda.jit
def libm_py(x, y, o, xd, yd, od):
    i = cuda.grid(1)
    if i < x.size:
        o[i] = math.hypot(x[i], y[i])
        o[x.size + i] = math.nextafter(x[i], y[i])
        od[i] = math.hypot(xd[i], yd[i])
        od[x.size + i] = math.remainder(xd[i], yd[i])


LIBM_VK = """
__global__ void libm(const float *x, const float *y, float *o, const double *xd, const double *yd, double *od,
                     int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        o[i] = hypotf(x[i], y[i]);
        o[n + i] = nextafterf(x[i], y[i]);
        od[i] = hypot(xd[i], yd[i]);
        od[n + i] = remainder(xd[i], yd[i]);
    }
}"""


def test_libdevice_functions():
    rng = np.random.default_rng(7)
    x, y = (rng.standard_normal((2, N)) * 50).astype(np.float32)
    xd, yd = rng.standard_normal((2, N)) * 1e3
    o, od = np.zeros(2 * N, np.float32), np.zeros(2 * N)
    libm_py[2, 128](x, y, o, xd, yd, od)
    do, dod = vgpu.zeros(2 * N, np.float32), vgpu.zeros(2 * N, np.float64)
    _vk(LIBM_VK, "libm")(*(vgpu.to_device(v) for v in (x, y)), do, *(vgpu.to_device(v) for v in (xd, yd)), dod, N,
                         grid=2, block=128)
    assert o.tobytes() == do.copy_to_host().tobytes()
    assert od.tobytes() == dod.copy_to_host().tobytes()
