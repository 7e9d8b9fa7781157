"""Front-end fixes found by benchmarks/realworld_public.py, each on a small kernel of our own:
`using namespace std;` is accepted, isnan/isinf/isfinite of float and double (CUDA's <cmath>
overloads) give the GPU's answers."""
import numpy as np

import vgpu

SRC = """
using namespace std;
__global__ void k(const float *a, const double *d, const int *n, int *o) {
  int i = threadIdx.x;
  o[i] = isnan(a[i]) + 2 * isinf(a[i]) + 4 * isfinite(a[i])
       + 8 * isnan(d[i]) + 16 * isinf(d[i]) + 32 * isfinite(d[i]);
}
"""


def _model(a, d, n):
    bits = [np.isnan(a), np.isinf(a), np.isfinite(a), np.isnan(d), np.isinf(d), np.isfinite(d)]
    return sum(b.astype(np.int32) << k for k, b in enumerate(bits))


def test_isnan_isinf_isfinite_match_numpy(tmp_path):
    path = tmp_path / "k.cu"
    path.write_text(SRC)
    mod = vgpu.compile_file(str(path))
    a = np.array([0.0, -1.5, np.inf, -np.inf, np.nan, 3.4e38, 1e-45, -0.0], np.float32)
    d = np.array([np.nan, 1e308, -np.inf, 0.0, 2.0, np.inf, -np.nan, 5e-324], np.float64)
    n = np.array([0, 1, -1, 7, 2**31 - 1, -2**31, 3, 4], np.int32)
    o = vgpu.to_device(np.zeros(8, np.int32))
    mod.get_function("k")(vgpu.to_device(a), vgpu.to_device(d), vgpu.to_device(n), o, grid=1, block=8)
    assert (o.copy_to_host() == _model(a, d, n)).all()


TAGS = """
struct Node { int start; int count; };
enum Colour { RED, GREEN = 5 };
__global__ void k(Node *g, int *o) {
  Node n = g[threadIdx.x];
  Colour c = GREEN;
  o[threadIdx.x] = n.start * 10 + n.count + c;
}
"""


def test_struct_and_enum_tags_name_their_types(tmp_path):
    path = tmp_path / "k.cu"
    path.write_text(TAGS)
    mod = vgpu.compile_file(str(path))
    g = np.array([[1, 2], [3, 4], [5, 6]], np.int32)
    o = vgpu.to_device(np.zeros(3, np.int32))
    mod.get_function("k")(vgpu.to_device(g), o, grid=1, block=3)
    assert (o.copy_to_host() == g[:, 0] * 10 + g[:, 1] + 5).all()


LINKAGE = """
extern "C" {
struct Pair { int a; int b; };
__device__ int twice(int x) { return 2 * x; }
}
extern "C" __global__ void k(const Pair *p, int *o) {
  if (threadIdx.x < 2) { o[threadIdx.x] = twice(p[threadIdx.x].a) + p[threadIdx.x].b; }
}
"""


def test_extern_c_linkage_and_blocks(tmp_path):
    path = tmp_path / "k.cu"
    path.write_text(LINKAGE)
    mod = vgpu.compile_file(str(path))
    p = np.array([[3, 1], [10, 7]], np.int32)
    o = vgpu.to_device(np.zeros(2, np.int32))
    mod.get_function("k")(vgpu.to_device(p), o, grid=1, block=4)
    assert list(o.copy_to_host()) == [7, 27]


TYPEDEF_TAG = """
typedef struct latLong { float lat; float lng; } LatLong;
__global__ void k(LatLong *d, float *o) {
  LatLong *latLong = d + threadIdx.x;
  o[threadIdx.x] = latLong->lat - latLong->lng;
}
"""


def test_variable_named_like_a_typedefd_tag(tmp_path):
    path = tmp_path / "k.cu"
    path.write_text(TYPEDEF_TAG)
    mod = vgpu.compile_file(str(path))
    d = np.array([[1.5, 0.25], [4.0, 8.0]], np.float32)
    o = vgpu.to_device(np.zeros(2, np.float32))
    mod.get_function("k")(vgpu.to_device(d), o, grid=1, block=2)
    assert list(o.copy_to_host()) == [1.25, -4.0]
