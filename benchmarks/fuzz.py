"""Differential fuzzing of vgpu against C, offline: `python benchmarks/fuzz.py --count N --seed S`.

Generates N random UB-free kernels (tests/cfuzz, seeds S .. S+N-1), runs each on vgpu and as C on the host
(gcc, UBSan where available), compares the output bytes, shrinks every failure to a minimal kernel (kept
under --out, one folder per failing seed) and prints a table of failures: seed, category, signature, the
minimal kernel's path.  Categories mismatch / vgpu-compile / vgpu-crash / vgpu-device are vgpu's faults;
c-compile / c-ub / c-fail are the fuzzer's own (a generator bug: please report them too).
Exit status: 0 when every kernel agreed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cfuzz.kernel import Kernel  # noqa: E402
from cfuzz.run import check, gcc, ubsan_available  # noqa: E402
from cfuzz.shrink import report, shrink  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="fuzz-failures", help="folder for the minimal failing kernels")
    ap.add_argument("--shrink-seconds", type=float, default=120.0, help="time budget per failure (0: no shrink)")
    ap.add_argument("--max-shrinks-per-signature", type=int, default=2,
                    help="shrink at most this many failures of one signature (the rest are only listed)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if not gcc():
        print("fuzz.py: no C compiler (gcc or cc) found", file=sys.stderr)
        return 2
    print(f"gcc: {gcc()}, UBSan: {'yes' if ubsan_available() else 'no'}", flush=True)
    out = Path(a.out)
    counts = collections.Counter()
    failures = []
    shrunk_per_sig = collections.Counter()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vgpu-fuzz-") as tmp:
        for seed in range(a.seed, a.seed + a.count):
            k = Kernel(seed)
            o = check(k, Path(tmp) / "k")
            counts[o.category] += 1
            if (seed - a.seed) % 100 == 99 and not a.quiet:
                print(f"  {seed - a.seed + 1} kernels, {time.monotonic() - t0:.0f} s, {dict(counts)}", flush=True)
            if o.ok:
                continue
            dest = out / f"seed{seed}"
            key = (o.category, o.signature)
            if a.shrink_seconds > 0 and shrunk_per_sig[key] < a.max_shrinks_per_signature:
                shrunk_per_sig[key] += 1
                o = shrink(k, Path(tmp) / "k", o, a.shrink_seconds)
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(Path(tmp) / "k", dest)
            (dest / "report.txt").write_text(report(k, o, dest))
            failures.append((seed, o.category, o.signature, dest))
            if not a.quiet:
                print(f"seed {seed}: {o.category}: {o.signature} -> {dest}", flush=True)
    n = sum(counts.values())
    print(f"\n{n} kernels in {time.monotonic() - t0:.0f} s: " + ", ".join(f"{c} {v}" for c, v in counts.most_common()))
    if failures:
        print(f"\n{'seed':>8}  {'category':<13} {'signature':<60} minimal kernel")
        for seed, cat, sig, dest in failures:
            print(f"{seed:>8}  {cat:<13} {sig[:60]:<60} {dest}")
        by = collections.Counter((c, s) for _, c, s, _ in failures)
        print(f"\n{len(by)} distinct failures:")
        for (c, s), v in by.most_common():
            print(f"  {v:>5} x {c}: {s}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
