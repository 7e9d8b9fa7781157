"""Tier 4 of the language (templates, functional casts, cooperative groups on a block, __mul24): the
run tests of tests/run/tier4_*.vk compile with nvcc too, instantiations are kernels by their C++ name,
mistakes are diagnosed, and the real-kernel collection stays accepted."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vgpu
from vgpu.diagnostics import CompileError

HERE = Path(__file__).parent
TIER4 = sorted((HERE / "run").glob("tier4_*.vk"))
sys.path.insert(0, str(HERE.parent / "benchmarks"))
import realworld  # noqa: E402


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize("path", TIER4, ids=lambda p: p.stem)
def test_tier4_run_files_compile_with_nvcc(path, tmp_path):
    src = tmp_path / "k.cu"
    src.write_text(path.read_text())
    r = subprocess.run(["nvcc", "-arch=sm_90", "-ptx", "-x", "cu", str(src), "-o", str(tmp_path / "k.ptx")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_instantiations_are_kernels_named_as_cpp_prints_them():
    mod = vgpu.compile("template <int N, bool B> __global__ void k(int *p) { p[threadIdx.x] = B ? N : -N; }\n"
                       "template __global__ void k<5, true>(int *);\n"
                       "template __global__ void k<7, false>(int *);\n")
    assert sorted(mod.kernel_names) == ["k<5, true>", "k<7, false>"]
    for name, want in (("k<5, true>", 5), ("k<7, false>", -7)):
        out = vgpu.to_device(np.zeros(4, np.int32))
        mod.get_function(name)(out, grid=1, block=4)
        assert (out.copy_to_host() == want).all()


def test_specialisation_replaces_the_primary_template():
    mod = vgpu.compile("template <typename T> __device__ int size_of(T x) { return 0; }\n"
                       "template <> __device__ int size_of<double>(double x) { return 8; }\n"
                       "__global__ void k(int *p) { p[0] = size_of(1.0) + 10 * size_of(1); }\n")
    out = vgpu.to_device(np.zeros(1, np.int32))
    mod.get_function("k")(out, grid=1, block=1)
    assert out.copy_to_host()[0] == 8


def test_reference_mistakes_are_diagnosed():
    cases = [("__device__ int &f(int *p) { return p[0]; }", "supported only as parameters and local variables"),
             ("__device__ void inc(int &x) { x++; }\n__global__ void g(int *p) { inc(3); }",
              "non-const lvalue reference to type 'int' cannot bind to a temporary"),
             ("__device__ void inc(int &x) { x++; }\n__global__ void g(float *p) { inc(p[0]); }",
              "cannot bind to a value of unrelated type of type 'float'"),
             ("__global__ void g(int &x) { x = 1; }", "cannot have a reference parameter"),
             ("__global__ void g(int *p) { int &r; }", "requires an initializer")]
    for src, msg in cases:
        with pytest.raises(CompileError, match=re.escape(msg)):
            vgpu.compile(src + ("\n__global__ void k() {}" if "__global__" not in src else ""))


def test_template_without_arguments_is_an_error():
    with pytest.raises(CompileError, match="unknown type name .P."):
        vgpu.compile("template <typename T> struct P { T a; };\n__global__ void k(int *p) { P q; p[0] = 0; }\n")


ACCEPTED = ["cuda-samples/matrixMul.cu", "cuda-samples/histogram64.cu", "cuda-samples/transposeCoalesced.cu",
            "cuda-samples/scanExclusiveShared.cu", "cuda-samples/convolutionRows.cu",
            "cuda-samples/fastWalshTransform.cu", "polybench/gemm.cu", "rodinia/hotspot.cu"]


@pytest.mark.parametrize("rel", ACCEPTED)
def test_real_kernels_stay_accepted(rel):
    import json
    instances = json.loads((realworld.ROOT / "instances.json").read_text())
    assert realworld.vgpu_compile(realworld.ROOT / rel, instances.get(rel, [])) is None
