"""Acceptance of real CUDA kernels: how many files of tests/realworld/ vgpu compiles, of those nvcc accepts.

    python benchmarks/realworld.py [--no-nvcc] [-v] [DIR]

In:  tests/realworld/<source>/<kernel>.cu (one __global__ kernel per file, with what it needs) and
     tests/realworld/instances.json (explicit instantiations appended to a file whose kernel is a
     template, as the host code of the sample would instantiate it; the same text goes to nvcc).
Out: one line per file (nvcc: ok / rejected / absent; vgpu: ok / the first diagnostic), then the share
     vgpu accepts of the files nvcc accepts, per source and overall, and the blockers counted by message.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "tests" / "realworld"


def source(path: Path, instances: list[str]) -> str:
    return path.read_text() + "".join("\n" + line for line in instances) + ("\n" if instances else "")


def nvcc_accepts(path: Path, instances: list[str]) -> bool | None:
    """Whether nvcc -arch=sm_90 -ptx compiles the file (with its instantiations); None without nvcc."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return None
    text = source(path, instances)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "k.cu"
        src.write_text(text)
        r = subprocess.run([nvcc, "-arch=sm_90", "-ptx", "-x", "cu", str(src), "-o", str(Path(tmp) / "k.ptx")],
                           capture_output=True, text=True, timeout=300)
    return r.returncode == 0


def vgpu_compile(path: Path, instances: list[str]) -> str | None:
    """None when vgpu compiles the file (and builds each instantiation), else its first diagnostic."""
    from vgpu import pipeline
    from vgpu.diagnostics import CompileError
    try:
        module = pipeline.to_ir(source(path, instances), str(path.relative_to(ROOT)))
        pipeline.to_program(module, str(path))
    except CompileError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "error"
        return first
    return None


def blocker(msg: str) -> str:
    """A diagnostic without its position and names: what to count."""
    msg = re.sub(r"^\S+:\d+:\d+:\s*(error:\s*)?", "", msg)
    return re.sub(r"'[^']*'", "'…'", msg)[:90]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=str(ROOT))
    ap.add_argument("--no-nvcc", action="store_true", help="count every file as nvcc-accepted")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    root = Path(args.dir)
    instances = json.loads((ROOT / "instances.json").read_text())
    per: dict[str, list[int]] = {}
    blockers: Counter = Counter()
    for path in sorted(root.rglob("*.cu")):
        rel = str(path.relative_to(ROOT))
        inst = instances.get(rel, [])
        source = rel.split("/")[0]
        nv = True if args.no_nvcc else nvcc_accepts(path, inst)
        err = vgpu_compile(path, inst)
        if nv is False:
            print(f"{rel:50s} nvcc: rejected (not counted)")
            continue
        counts = per.setdefault(source, [0, 0])
        counts[1] += 1
        if err is None:
            counts[0] += 1
        else:
            blockers[blocker(err)] += 1
        print(f"{rel:50s} nvcc: {'ok' if nv else 'absent'}  vgpu: {'ok' if err is None else err}")
    total = [sum(c[0] for c in per.values()), sum(c[1] for c in per.values())]
    print()
    for source, (ok, n) in sorted(per.items()) + [("all", total)]:
        print(f"{source:14s} {ok:3d} / {n:3d} accepted  ({100 * ok / max(n, 1):.0f}%)")
    if blockers:
        print("\nwhat blocks the rest (first diagnostic per kernel):")
        for msg, n in blockers.most_common():
            print(f"  {n:3d}  {msg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
