"""Differential fuzzing of vgpu against C, offline: `python benchmarks/fuzz.py --count N --seed S`.

Generates N random UB-free kernels (tests/cfuzz, seeds S .. S+N-1), runs each on vgpu and as C on the host
(gcc, UBSan where available), compares the output bytes, shrinks every failure to a minimal kernel (kept
under --out, one folder per failing seed) and prints a table of failures: seed, category, signature, the
minimal kernel's path.  Categories mismatch / vgpu-compile / vgpu-crash / vgpu-device are vgpu's faults;
c-compile / c-ub / c-fail are the fuzzer's own (a generator bug: please report them too).
Kernels run in fresh worker processes of --chunk kernels; a failure is re-run in a fresh process, and one
that passes there is counted `transient` (vgpu's files changed during the run), not as a vgpu failure.
Exit status: 0 when every kernel agreed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cfuzz.kernel import Kernel  # noqa: E402
from cfuzz.run import check, gcc, ubsan_available  # noqa: E402
from cfuzz.shrink import report, shrink  # noqa: E402


def run_chunk(a, seed0: int, count: int, tmp: Path):
    """Check kernels seed0 .. seed0+count-1 in this process; yield (seed, category, signature, dest).
    Stops after a failure that passes in a fresh process (the checkout changed under this run)."""
    shrunk = collections.Counter()
    for seed in range(seed0, seed0 + count):
        k = Kernel(seed)
        o = check(k, tmp / "k")
        if o.ok:
            yield seed, "ok", "", None
            continue
        if a.recheck:
            fresh = subprocess.run([sys.executable, __file__, "--worker", "--no-recheck", "--count", "1", "--seed",
                                    str(seed), "--shrink-seconds", "0", "--out", str(tmp / "recheck")],
                                   capture_output=True, text=True)
            if "RESULT\t%d\tok\t" % seed in fresh.stdout:
                yield seed, "transient", o.signature, None
                return
        dest = Path(a.out) / f"seed{seed}"
        key = (o.category, o.signature)
        if a.shrink_seconds > 0 and shrunk[key] < a.max_shrinks_per_signature:
            shrunk[key] += 1
            o = shrink(k, tmp / "k", o, a.shrink_seconds)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(tmp / "k", dest)
        (dest / "report.txt").write_text(report(k, o, dest))
        yield seed, o.category, o.signature, dest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="fuzz-failures", help="folder for the minimal failing kernels")
    ap.add_argument("--shrink-seconds", type=float, default=120.0, help="time budget per failure (0: no shrink)")
    ap.add_argument("--max-shrinks-per-signature", type=int, default=2,
                    help="shrink at most this many failures of one signature per chunk (the rest are listed)")
    ap.add_argument("--chunk", type=int, default=50, help="kernels per fresh worker process")
    ap.add_argument("--no-recheck", dest="recheck", action="store_false",
                    help="do not re-run a failure in a fresh process (to tell a vgpu edited mid-run)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if not gcc():
        print("fuzz.py: no C compiler (gcc or cc) found", file=sys.stderr)
        return 2
    if a.worker:
        with tempfile.TemporaryDirectory(prefix="vgpu-fuzz-") as tmp:
            for row in run_chunk(a, a.seed, a.count, Path(tmp)):
                print("RESULT\t%d\t%s\t%s\t%s" % row, flush=True)
        return 0
    print(f"gcc: {gcc()}, UBSan: {'yes' if ubsan_available() else 'no'}", flush=True)
    counts = collections.Counter()
    failures = []
    t0 = time.monotonic()
    seed, end = a.seed, a.seed + a.count
    while seed < end:
        n = min(a.chunk, end - seed)
        cmd = [sys.executable, __file__, "--worker", "--count", str(n), "--seed", str(seed), "--out", a.out,
               "--shrink-seconds", str(a.shrink_seconds),
               "--max-shrinks-per-signature", str(a.max_shrinks_per_signature)] + ([] if a.recheck else ["--no-recheck"])
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        last = seed - 1
        for line in proc.stdout:
            if not line.startswith("RESULT\t"):
                continue
            _, s_, cat, sig, dest = line.rstrip("\n").split("\t")
            last = int(s_)
            counts[cat] += 1
            done = sum(counts.values())
            if cat not in ("ok", "transient"):
                failures.append((last, cat, sig, dest))
            if cat != "ok" and not a.quiet:
                print(f"seed {last}: {cat}: {sig} -> {dest}", flush=True)
            if done % 100 == 0 and not a.quiet:
                print(f"  {done} kernels, {time.monotonic() - t0:.0f} s, {dict(counts)}", flush=True)
        proc.wait()
        if proc.returncode and last < seed:
            print(f"fuzz.py: worker for seed {seed} failed (exit {proc.returncode}); skipping it", flush=True)
            counts["worker-error"] += 1
            last = seed
        seed = last + 1
    total = sum(counts.values())
    print(f"\n{total} kernels in {time.monotonic() - t0:.0f} s: " +
          ", ".join(f"{c} {v}" for c, v in counts.most_common()))
    if failures:
        print(f"\n{'seed':>8}  {'category':<13} {'signature':<60} minimal kernel")
        for s_, cat, sig, dest in failures:
            print(f"{s_:>8}  {cat:<13} {sig[:60]:<60} {dest}")
        by = collections.Counter((c, s_) for _, c, s_, _ in failures)
        print(f"\n{len(by)} distinct failures:")
        for (c, s_), v in by.most_common():
            print(f"  {v:>5} x {c}: {s_}")
        for (c, s_), _ in by.most_common():        # the minimal kernel of each, as shrunk
            dest = next(d for _, c2, s2, d in failures if (c2, s2) == (c, s_))
            print(f"\n===== {c}: {s_}\n" + Path(dest, "report.txt").read_text())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
