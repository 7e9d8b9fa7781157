"""The compiler's debug information on the fuzzer's random kernels (tests/cfuzz): at random statement
lines, every scalar variable in scope prints, in every lane stopping there, the value the kernel itself
computes (or `<optimised out>`, never another value).

The truth comes from a probed copy of the kernel: before the chosen line it stores each variable into a
`__device__` array, per thread and per visit; the fuzzer checks elsewhere that vgpu's results equal the C
model's, so these are the C semantics' values.  The debugger runs the unprobed kernel (the probe would
change the code it is meant to check) and stops at that line.
"""
from __future__ import annotations

import random
import re

import numpy as np
import pytest

import vgpu
from cfuzz.kernel import Kernel
from cfuzz.run import _from_words
from vgpu import pipeline
from vgpu.debug import Session
from vgpu.debug.expr import OPTIMISED_OUT
from vgpu.isa import debuginfo

SEEDS = tuple(int(x) for x in __import__("os").environ.get("DBG_SEEDS", "1 4 7").split())
VISITS = 8
C_TYPE = {"s8": "signed char", "u8": "unsigned char", "s16": "short", "u16": "unsigned short", "s32": "int",
          "u32": "unsigned int", "s64": "long long", "u64": "unsigned long long", "f32": "float", "f64": "double",
          "pred": "int"}
NP_TYPE = {"s8": np.int8, "u8": np.uint8, "s16": np.int16, "u16": np.uint16, "s32": np.int32, "u32": np.uint32,
           "s64": np.int64, "u64": np.uint64, "f32": np.float32, "f64": np.float64, "pred": np.int32}
_SIMPLE = re.compile(r"^\s*[A-Za-z_][\w\[\]\.]*\s*(\[[^;]*\])?\s*[-+*/%&|^<>]*=[^=].*;\s*$")


def _args(k: Kernel, dev):
    """The fuzzer's launch arguments (as tests/cfuzz/run.py passes them), on `dev`."""
    args = [vgpu.to_device(_from_words(*k.data[n]), device=dev) for n in ("in0", "in1", "in2", "in3")]
    args += [k.sp0, float(np.array([k.sp1], np.uint32).view(np.float32)[0])]
    outs = [vgpu.zeros(n, np.dtype(d), device=dev) for d, n in k.outs.values()]
    outs += [vgpu.to_device(_from_words(*k.data[n]), device=dev) for n in ("accu", "acci", "accl")]
    return args + outs


def _candidates(code, lines: list[str]) -> list[int]:
    """Kernel-body lines holding one whole simple assignment whose code is one run of pcs."""
    runs: dict[int, int] = {}
    prev = None
    targets = set(code.labels.values())
    for pc, ins in enumerate(code.instrs):             # where a breakpoint on the line stops (Session.break_at)
        if ins.file == code.source_file and ins.line is not None and (ins.line != prev or pc in targets):
            runs[ins.line] = runs.get(ins.line, 0) + 1
        prev = ins.line if ins.file == code.source_file else None
    out = []
    for ln, n in runs.items():
        text = lines[ln - 1]
        before = lines[ln - 2].rstrip() if ln >= 2 else ""
        if n == 1 and _SIMPLE.match(text) and before.endswith((";", "{", "}")) and "?" not in text:
            out.append(ln)
    return out


def _scalars_in_scope(code, line: int) -> dict[str, int]:
    """name -> debug variable of the scalars visible on `line` (innermost scope wins)."""
    best: dict[str, int] = {}
    for v, d in enumerate(code.debug_vars):
        if debuginfo.in_scope(code, v, code.source_file, line) and "[" not in d.ctype and \
                not d.ctype.endswith("*") and d.scalar in C_TYPE:
            if d.name not in best or (d.first, v) > (code.debug_vars[best[d.name]].first, best[d.name]):
                best[d.name] = v
    return best


def _probed(text: str, line: int, names: dict[str, int], code, nthreads: int) -> str:
    lines = text.splitlines()
    decls = [f"__device__ {C_TYPE[code.debug_vars[v].scalar]} __pr{j}[{VISITS * nthreads}];"
             for j, v in enumerate(names.values())]
    gid = "(blockIdx.x * (blockDim.x * blockDim.y) + threadIdx.y * blockDim.x + threadIdx.x)"
    stores = " ".join(f"__pr{j}[__pc * {nthreads} + {gid}] = ({C_TYPE[code.debug_vars[v].scalar]})({n});"
                      for j, (n, v) in enumerate(names.items()))
    probe = f"if (__pc < {VISITS}) {{ {stores} }} __pc++;"
    body = next(k for k, t in enumerate(lines) if t.startswith("__global__ void fz("))
    opening = next(k for k in range(body, len(lines)) if lines[k].strip().endswith("{"))
    out = lines[:line - 1] + [probe] + lines[line - 1:]
    out = out[:opening + 1] + ["int __pc = 0;"] + out[opening + 1:]
    inc = next(k for k, t in enumerate(out) if t.startswith("#include"))
    return "\n".join(out[:inc + 1] + decls + out[inc + 1:]) + "\n"


@pytest.mark.parametrize("seed", SEEDS)
def test_random_breakpoints_agree_with_the_kernel(tmp_path, seed):
    k = Kernel(seed)
    (tmp_path / "fz.vkh").write_text(k.header())
    src = k.vk()
    (tmp_path / "fz.vk").write_text(src)
    prog = pipeline.compile_path(str(tmp_path / "fz.vk"))
    code = prog.kernels["fz"]
    block = (k.bx, k.by) if k.by > 1 else k.block
    nthreads = k.grid * k.bx * k.by
    rng = random.Random(seed)
    lines = src.splitlines()
    cands = _candidates(code, lines)
    assert cands, "no simple statement lines in the kernel"
    compared, lines_hit = 0, 0
    rng.shuffle(cands)
    for line in cands[:8]:
        if lines_hit == 2:
            break
        names = _scalars_in_scope(code, line)
        (tmp_path / "probe.vk").write_text(_probed(src, line, names, code, nthreads))
        probed = vgpu.Module(pipeline.compile_path(str(tmp_path / "probe.vk")))
        dev = vgpu.Device(workers=0)
        try:
            probed.get_function("fz")(*_args(k, dev), grid=k.grid, block=block, shared=k.dynamic_shared, device=dev)
            truth = {n: probed.get_global(f"__pr{j}", dev, NP_TYPE[code.debug_vars[v].scalar]).copy_to_host()
                     for j, (n, v) in enumerate(names.items())}
            s = Session(vgpu.Module(prog).get_function("fz"), *_args(k, dev), grid=k.grid, block=block,
                        shared=k.dynamic_shared, device=dev)
            s.break_at(line)
            visits = np.zeros(nthreads, np.int64)
            stop = s.run()
            lines_hit += stop.reason != "exited"
            while stop.reason != "exited":
                assert stop.reason == "breakpoint", stop
                for blk, warp, mask in stop.issuing:
                    s.focus(block=blk)
                    s.focus_warp(warp)
                    lanes = [ln for ln in s.info_lanes() if mask >> ln.lane & 1]
                    tids = {ln.lane: blk[0] * k.bx * k.by + ln.thread[1] * k.bx + ln.thread[0] for ln in lanes}
                    for name in names:
                        got = s.print(name, all_lanes=True)
                        if isinstance(got, str):
                            assert got == OPTIMISED_OUT
                            continue
                        for lane, tid in tids.items():
                            if visits[tid] >= VISITS:
                                continue
                            want = truth[name][visits[tid] * nthreads + tid]
                            g = np.asarray(got[lane]).astype(want.dtype)
                            assert g.tobytes() == want.tobytes() or (np.isnan(g) and np.isnan(want)), \
                                f"seed {seed} line {line} ({lines[line - 1].strip()}), thread {tid}, visit " \
                                f"{visits[tid]}: {name} = {got[lane]}, kernel computes {want}"
                            compared += 1
                    for tid in tids.values():
                        visits[tid] += 1
                stop = s.cont()
            s.close() if hasattr(s, "close") else None
        finally:
            dev.close()
    print(f"seed {seed}: {compared} values compared at {lines_hit} lines")
    assert compared > 0 or lines_hit == 0, f"seed {seed}: no variable value was available at {cands}"
