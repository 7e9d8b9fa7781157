"""Every conformance case (/work/shared/conformance) with a timing preset on: the outputs still match
the real GPU's and every launch has a timing report.  Prints, per case, the host seconds without and
with timing and their ratio (the model's overhead), then 'N passed, N failed'.

    python tests/timing/conformance.py [--preset h200] [CASE ...]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path("/work/shared/conformance")
sys.path.insert(0, str(ROOT))
from corpus import compare, load_cases, load_expected, load_inputs, run_steps  # noqa: E402
from run import VgpuBackend  # noqa: E402

import vgpu  # noqa: E402


class TimedBackend(VgpuBackend):
    def __init__(self, root, case, preset):
        self.vgpu = vgpu
        self.dev = vgpu.Device(timing=preset, workers=0)
        self.mod = vgpu.compile_file(str(root / "kernels" / case.kernel_file))
        self.bufs = {k: vgpu.to_device(v, device=self.dev) for k, v in load_inputs(root, case).items()}
        self.reports = []

    def launch(self, step):
        args = [self.bufs[a] if isinstance(a, str) else a for a in step.args]
        from corpus import dims
        r = self.mod.get_function(step.kernel)(*args, grid=dims(step.grid), block=dims(step.block),
                                               shared=step.shared, device=self.dev)
        self.reports.append(getattr(r, "timing", None))


def run(case, preset):
    be = TimedBackend(ROOT, case, preset)
    t0 = time.perf_counter()
    run_steps(be, case.steps)
    dt = time.perf_counter() - t0
    want = load_expected(ROOT, case)
    bad = [n for n, chk in case.outputs.items() if compare(be.get(n), want[n], chk) is not None]
    be.dev.close()
    return dt, be.reports, bad


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="h200")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    passed = failed = 0
    total = [0.0, 0.0]
    for case in load_cases(ROOT):
        if a.cases and case.name not in a.cases:
            continue
        try:
            plain, _, _ = run(case, None)
            timed, reports, bad = run(case, a.preset)
            ok = not bad and reports and all(r is not None and r.cycles > 0 for r in reports)
        except Exception as e:  # noqa: BLE001 - report and go on
            print(f"{case.name}: ERROR {type(e).__name__}: {e}")
            failed += 1
            continue
        total[0] += plain
        total[1] += timed
        us = ", ".join(f"{r.seconds * 1e6:.2f}" for r in reports[:4])
        print(f"{case.name:24s} {'ok  ' if ok else 'FAIL'} plain {plain:6.3f} s  timed {timed:6.3f} s  "
              f"x{timed / max(plain, 1e-9):4.1f}  modelled us: {us}{' ...' if len(reports) > 4 else ''}"
              f"{'  mismatch: ' + ', '.join(bad) if bad else ''}", flush=True)
        passed += ok
        failed += not ok
    print(f"overhead: {total[1]:.2f} s timed / {total[0]:.2f} s plain = x{total[1] / max(total[0], 1e-9):.2f}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
