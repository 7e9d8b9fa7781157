"""Helpers for the simulator tests: assemble a kernel, move arrays, launch."""
from __future__ import annotations

import numpy as np

from vgpu.isa import assemble
from vgpu.sim import SimDevice
from vgpu.sim.launch import encode_params


def load(text: str, dev: SimDevice | None = None, filename: str = "t.vasm", **kw):
    dev = dev or SimDevice(echo_printf=False, **kw)
    return dev, dev.load(assemble(text, filename))


def put(dev: SimDevice, arr) -> int:
    arr = np.ascontiguousarray(arr)
    addr = dev.malloc(max(arr.nbytes, 1))
    dev.write(addr, arr)
    return addr


def get(dev: SimDevice, addr: int, dtype, n: int) -> np.ndarray:
    return np.frombuffer(dev.read(addr, np.dtype(dtype).itemsize * n), dtype).copy()


def params(mod, kernel: str, values) -> bytes:
    """The kernel's packed .param bytes for raw values (pointers as device addresses), as the
    runtime packs them; the errors of an unknown kernel or a wrong count are the launch's."""
    return encode_params(kernel, mod.kernel(kernel).code.params, list(values))


def run(text: str, kernel: str, args, grid=1, block=32, shared=0, dev=None, **kw):
    dev, mod = load(text, dev, **kw)
    return dev, dev.launch(mod, kernel, params(mod, kernel, args), grid=grid, block=block, shared=shared)


def entry(name: str, params: str, body: str, regs: str = "", decls: str = "") -> str:
    """An assembly kernel with generous register declarations."""
    return f"""{decls}
.visible .entry {name}({params})
{{
    .reg .pred %p<16>;
    .reg .b16 %rs<16>;
    .reg .b32 %r<32>;
    .reg .b64 %rd<32>;
    .reg .f32 %f<16>;
    .reg .f64 %fd<16>;
    {regs}
{body}
}}
"""


# out[tid.x + ntid.x * ctaid.x] = %r2 (u32), used at the end of many test kernels
STORE_R2 = """
    mov.u32 %r28, %tid.x;
    mov.u32 %r29, %ntid.x;
    mov.u32 %r30, %ctaid.x;
    mad.lo.u32 %r28, %r29, %r30, %r28;
    ld.param.u64 %rd30, [out];
    mul.wide.u32 %rd31, %r28, 4;
    add.u64 %rd30, %rd30, %rd31;
    st.global.u32 [%rd30], %r2;
"""


# A kernel whose threads each step a linear congruential generator `reps` times: work in proportion
# to reps, and a result numpy can check (x = x * 1664525 + 1013904223 mod 2^32, from the thread id).
SPIN_VK = r"""
__global__ void spin(unsigned *out, int reps) {
    unsigned x = blockIdx.x * blockDim.x + threadIdx.x;
    for (int r = 0; r < reps; r++) x = x * 1664525u + 1013904223u;
    out[blockIdx.x * blockDim.x + threadIdx.x] = x;
}"""
