"""vgpu.timing: how long a launch would take on a real GPU, by a conceptual timing model.

In:  a preset (`preset.NAMES`: h100 h200 a100 rtx3080 teaching, or a JSON file) and a launch to watch.
Out: a `TimingReport` (report.py): modelled cycles and time, stall reasons, occupancy, memory throughput,
     roofline position, per-line costs.

    t = Timing("h200")
    result = sim.launch(..., trace=combine(user_trace, t.recorder()))
    report = t.report(rec)

The functional run records each warp's instruction stream and memory footprint (record.Recorder, an
Observer); the timing pass replays them on the preset's SMs (replay.py).  docs/timing.md explains the
model, the presets and what it leaves out.
"""
from __future__ import annotations

import numpy as np

from ..sim.occupancy import registers_per_thread
from .classes import infos
from .preset import NAMES, Preset, load, occupancy
from .record import Recorder
from .replay import replay, sampled_sms
from .report import REASONS, TimingReport

__all__ = ["Timing", "TimingReport", "Preset", "load", "NAMES", "REASONS", "Recorder"]
SAMPLE_SMS = 4              # SMs replayed at most per launch (the others are taken to be like them)


class Timing:
    """A preset and the way to time launches with it: `recorder()` before, `report(recorder)` after."""

    def __init__(self, preset, sample_sms: int = SAMPLE_SMS):
        self.preset = load(preset)
        self.sample_sms = int(sample_sms)

    def recorder(self) -> Recorder:
        p, limit = self.preset, self.sample_sms

        def keep(nblocks: int) -> np.ndarray:
            sms = sampled_sms(nblocks, p.sms, limit)
            return np.isin(np.arange(nblocks) % p.sms, sms)
        return Recorder(keep)

    def report(self, rec: Recorder, transfers=()) -> TimingReport | None:
        """The timing of the launch `rec` watched (None if it recorded nothing: no block ran)."""
        if rec.kernel is None:
            return None
        p, k, cfg = self.preset, rec.kernel, rec.cfg
        regs = registers_per_thread(k.code.regs)
        shared = k.shared_static + cfg.shared_dynamic
        per_sm, limits = occupancy(p, regs, shared, cfg.threads_per_block)
        wpb = rec.wpb
        info = infos(k.ops, p)
        sample = sampled_sms(cfg.nblocks, p.sms, self.sample_sms)
        r = replay(rec, info, p, per_sm, sample)
        sc = r.scale
        flops = float(sum(int(n) * i.flops for n, i in zip(rec.threads, info)))
        lines: dict = {}
        total_cycles = sum(r.stalls.values()) or 1.0
        for (pc, why), c in r.pc_stall.items():
            d = _line(lines, k, pc)
            d["cycles"] += c * sc
            d["reasons"][why] = d["reasons"].get(why, 0.0) + c * sc
        for pc, n in r.pc_issue.items():
            d = _line(lines, k, pc)
            d["issued"] += n * sc
            d["cycles"] += n * sc
            d["reasons"]["selected"] = d["reasons"].get("selected", 0.0) + n * sc
        rows = []
        for d in lines.values():
            reasons = d.pop("reasons")
            d["top"] = max(reasons, key=reasons.get) if reasons else ""
            d["share"] = d["cycles"] / (total_cycles * sc)
            rows.append(d)
        l1 = r.l1[0] + r.l1[1]
        l2 = r.l2[0] + r.l2[1]
        warps_max = p.max_warps_per_sm
        return TimingReport(
            p.name, k.name, cfg.grid, cfg.block, r.cycles, p.clock_ghz, p.latency.get("launch_us", 0.0),
            sum(r.pc_issue.values()) * sc, {kk: v * sc for kk, v in r.stalls.items()},
            r.warp_cycles / (r.sm_cycles * warps_max) if r.sm_cycles else 0.0,
            per_sm * wpb / warps_max if per_sm * wpb <= warps_max else 1.0, per_sm, limits,
            r.l1[0] / l1 if l1 else None, r.l2[0] / l2 if l2 else None, r.hbm_bytes, r.l2_bytes,
            p.peak_bytes_per_s, flops, p.peak_fp32_flops, rows, r.sms, min(cfg.nblocks, p.sms), list(transfers))


def _line(lines: dict, k, pc: int) -> dict:
    op = k.ops[pc]
    key = op.line
    if key not in lines:
        text = (k.source_line(op.instr) or op.text).strip() if key is not None else op.text
        lines[key] = {"line": key, "text": text, "issued": 0.0, "cycles": 0.0, "reasons": {}}
    return lines[key]
