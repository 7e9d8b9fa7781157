"""Run one generated kernel on vgpu and as C on the host, and compare the output bytes.

In: a `Kernel` and a scratch directory.  Out: an `Outcome`: `ok`, or a category (`mismatch`, `vgpu-compile`,
`vgpu-crash`, `vgpu-device`: vgpu at fault; `c-compile`, `c-ub`, `c-fail`: the generator or harness at
fault) with a one-line signature (used by the shrinker to keep the same failure) and a detail text.
The C program is built with `gcc -std=gnu11 -O0 -ffp-contract=off` (x86-64 SSE: no excess precision, no
fused multiply-add; `.vk` has `-fmad=false` semantics) and, where available, UBSan with
float-cast-overflow, every report fatal.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cprog import c_program
from .kernel import Kernel

BASE_FLAGS = ["-std=gnu11", "-O0", "-ffp-contract=off", "-fno-strict-aliasing", "-w"]
UBSAN = ["-fsanitize=undefined,float-cast-overflow", "-fno-sanitize-recover=all"]
_ubsan_ok: bool | None = None


def gcc() -> str | None:
    return shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")


def ubsan_available() -> bool:
    global _ubsan_ok
    if _ubsan_ok is None:
        cc = gcc()
        _ubsan_ok = False
        if cc:
            import tempfile
            with tempfile.TemporaryDirectory() as d:
                src = Path(d, "t.c")
                src.write_text("int main(void) { return 0; }\n")
                r = subprocess.run([cc, *UBSAN, str(src), "-o", str(Path(d, "t"))], capture_output=True)
                _ubsan_ok = r.returncode == 0 and subprocess.run([str(Path(d, "t"))]).returncode == 0
    return _ubsan_ok


@dataclass
class Outcome:
    category: str                 # "ok" or a failure category
    signature: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.category == "ok"

    @property
    def vgpu_fault(self) -> bool:
        return self.category in ("mismatch", "vgpu-compile", "vgpu-crash", "vgpu-device")


def write(k: Kernel, d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "fz.vkh").write_text(k.header())
    (d / "fz.vk").write_text(k.vk())
    (d / "fz.c").write_text(c_program(k))
    return d / "fz.vk"


def run_c(d: Path, timeout: float = 60) -> tuple[bytes | None, Outcome | None]:
    cc = gcc()
    flags = BASE_FLAGS + (UBSAN if ubsan_available() else [])
    r = subprocess.run([cc, *flags, "fz.c", "-o", "fz", "-lm"], cwd=d, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode:
        return None, Outcome("c-compile", "gcc error", r.stderr[-3000:])
    try:
        r = subprocess.run(["./fz"], cwd=d, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, Outcome("c-fail", "timeout", "the C program ran past the time limit")
    err = r.stderr.decode(errors="replace")
    if r.returncode or "runtime error" in err:
        cat = "c-ub" if "runtime error" in err else "c-fail"
        m = re.search(r"runtime error: (.*)", err)
        return None, Outcome(cat, m.group(1)[:80] if m else f"exit {r.returncode}", err[-3000:])
    return r.stdout, None


def _normalise(msg: str) -> str:
    first = msg.strip().splitlines()[0] if msg.strip() else ""
    first = re.sub(r"^\S*?:(\d+:)*\s*", "", first)           # the file:line:col of the message
    return re.sub(r"\b[vhKSTaqiwl]\d+\b|\d+", "N", first)[:120]


def run_vgpu(k: Kernel, path: Path) -> tuple[bytes | None, Outcome | None]:
    import vgpu
    try:
        mod = vgpu.compile_file(path)
    except vgpu.CompileError as e:
        return None, Outcome("vgpu-compile", _normalise(str(e)), str(e))
    except Exception as e:            # an internal error of the compiler is a finding, not a crash of ours
        return None, Outcome("vgpu-crash", f"compile {type(e).__name__}: {_normalise(str(e))}", repr(e))
    args = []
    for name in ("in0", "in1", "in2", "in3"):
        dtype, words = k.data[name]
        args.append(vgpu.to_device(_from_words(dtype, words)))
    args += [k.sp0, float(np.array([k.sp1], np.uint32).view(np.float32)[0])]
    outs = []
    for name, (dtype, n) in k.outs.items():
        outs.append(vgpu.zeros(n, np.dtype(dtype)))
    for name in ("accu", "acci", "accl"):
        dtype, words = k.data[name]
        outs.append(vgpu.to_device(_from_words(dtype, words)))
    try:
        mod.get_function("fz")(*args, *outs, grid=k.grid, block=(k.bx, k.by) if k.by > 1 else k.block,
                                    shared=k.dynamic_shared)
        data = b"".join(o.copy_to_host().tobytes() for o in outs)
    except vgpu.DeviceError as e:
        return None, Outcome("vgpu-device", _normalise(str(e)), str(e))
    except Exception as e:
        return None, Outcome("vgpu-crash", f"run {type(e).__name__}: {_normalise(str(e))}", repr(e))
    return data, None


def _from_words(dtype: str, words: list) -> np.ndarray:
    raw = np.array(words, np.uint64 if dtype in ("float64", "uint64") else np.uint32)
    if dtype == "int32":
        return raw.astype(np.uint32).view(np.int32)
    return raw.view(np.dtype(dtype))


def layout(k: Kernel) -> list:
    """(name, dtype, count) of the compared buffers, in byte order."""
    out = [(n, d, c) for n, (d, c) in k.outs.items()]
    return out + [(n, k.data[n][0], len(k.data[n][1])) for n in ("accu", "acci", "accl")]


def diff(k: Kernel, want: bytes, got: bytes, limit: int = 6) -> str:
    lines, off = [], 0
    for name, dtype, n in layout(k):
        size = np.dtype(dtype).itemsize * n
        a = np.frombuffer(want[off:off + size], dtype)
        b = np.frombuffer(got[off:off + size], dtype)
        off += size
        ua, ub = a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}")
        for i in np.nonzero(ua != ub)[0][:limit]:
            per = n // (k.block * k.grid) if name.startswith("out") else 0
            who = f" (thread {i // per}, slot {i % per})" if per else ""
            lines.append(f"  {name}[{i}]{who}: C {a[i].item()!r} (0x{int(ua[i]):x}), vgpu {b[i].item()!r} (0x{int(ub[i]):x})")
    return "\n".join(lines)


def check(k: Kernel, d: Path) -> Outcome:
    path = write(k, d)
    want, bad = run_c(d)
    if bad:
        return bad
    got, bad = run_vgpu(k, path)
    if bad:
        return bad
    if want != got:
        return Outcome("mismatch", "mismatch", diff(k, want, got))
    return Outcome("ok")
