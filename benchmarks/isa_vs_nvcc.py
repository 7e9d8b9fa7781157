"""Static code size of vgpu's instruction selection against nvcc's PTX.

In:  the kernels of examples/ and of the conformance corpus (/work/shared/conformance/kernels, or
     the directory given with --corpus) when present.
Out: per kernel the number of real instructions (no directives, labels or comments) vgpu emits
     and nvcc emits (`nvcc -x cu -ptx -fmad=false`, the source wrapped in `extern "C" { }`), their
     ratio, and the median ratio over the tier-1 conformance kernels (the goal: <= 1.5).

    python benchmarks/isa_vs_nvcc.py [--corpus DIR] [--all]
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"


def ptx_counts(ptx: str) -> dict[str, int]:
    """Instructions per .entry in PTX text."""
    counts: dict[str, int] = {}
    name, depth = None, 0
    for raw in ptx.splitlines():
        line = raw.split("//")[0].strip()
        m = re.match(r"\.visible\s+\.entry\s+(\w+)", line) or re.match(r"\.entry\s+(\w+)", line)
        if m:
            name, depth = m.group(1), 0
            counts[name] = 0
            continue
        if name is None:
            continue
        depth += line.count("{") - line.count("}")
        if line.endswith("}") and depth <= 0 and "{" not in line:
            name = None
            continue
        if line.endswith(";") and not line.startswith(".") and not re.match(r"^[\w$]+:", line):
            counts[name] += 1
    return counts


def nvcc_counts(path: Path, nvcc: str) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        cu = Path(tmp) / "k.cu"
        cu.write_text('extern "C" {\n#line 1\n' + path.read_text() + "\n}\n")
        out = Path(tmp) / "k.ptx"
        subprocess.run([nvcc, "-x", "cu", "-ptx", "-fmad=false", "-arch=sm_90", "-std=c++17",
                        f"-I{path.parent}", "-o", str(out), str(cu)], check=True, capture_output=True)
        return ptx_counts(out.read_text())


def vgpu_counts(path: Path) -> dict[str, int]:
    from vgpu import pipeline
    prog = pipeline.compile_path(path)
    return {name: len(k.instrs) for name, k in prog.kernels.items()}


def tier1(corpus: Path) -> set[str]:
    """Kernel files of the tier-1 cases, from the corpus README's table."""
    out = set()
    readme = corpus / "README.md"
    if readme.exists():
        for line in readme.read_text().splitlines():
            m = re.match(r"\|\s*(\w+)\s*\|\s*1\s*\|", line)
            if m:
                out.add(m.group(1) + ".vk")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    args = ap.parse_args(argv)
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        print("nvcc not found", file=sys.stderr)
        return 2
    files = sorted((ROOT / "examples").glob("*.vk")) + sorted((args.corpus / "kernels").glob("*.vk"))
    t1 = tier1(args.corpus)
    ratios_t1 = []
    print(f"{'file':28} {'kernel':24} {'vgpu':>6} {'nvcc':>6} {'ratio':>6}")
    for f in files:
        try:
            ours = vgpu_counts(f)
            theirs = nvcc_counts(f, nvcc)
        except Exception as e:  # noqa: BLE001 - a report line per kernel that does not compile
            print(f"{f.name:28} {'(failed: ' + type(e).__name__ + ')':24}")
            continue
        for name, n in ours.items():
            m = theirs.get(name)
            ratio = n / m if m else float("nan")
            tier = " *" if f.parent.parent == args.corpus and f.name in t1 else ""
            if tier and m:
                ratios_t1.append(ratio)
            print(f"{f.name:28} {name:24} {n:6} {m if m is not None else '-':>6} {ratio:6.2f}{tier}")
    if ratios_t1:
        print(f"\nmedian ratio over {len(ratios_t1)} tier-1 conformance kernels (*): "
              f"{statistics.median(ratios_t1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
