"""The timing report of one launch: what `result.timing` holds and `vgpuc run --timing` prints.

In:  a `replay.Replay`, the recorder (kernel, geometry, per-pc thread counts), the per-pc Infos, the Preset
     and the occupancy.
Out: a `TimingReport`: cycles, seconds, stall reasons (Nsight Compute's names), achieved and theoretical
     occupancy, memory throughput against the preset's peak, the roofline position, per source line
     issue and stall cycles; `format()` for text and `_repr_html_()` for notebooks; `as_dict()`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

REASONS = {   # Nsight Compute's stall reasons (smsp__pcsamp_warps_issue_stalled_<name>) and what they mean here
    "selected": "issued an instruction",
    "not_selected": "ready, but another warp of its sub-partition issued",
    "long_scoreboard": "waiting for a global/local memory load or a global atomic (L1, L2, HBM)",
    "short_scoreboard": "waiting for shared memory, a shuffle or a special function (MIO)",
    "wait": "waiting for a fixed-latency result (ALU, FMA, FP64, constant)",
    "math_pipe_throttle": "its math pipe (FMA, ALU, FP64, SFU) is busy with other warps",
    "mio_throttle": "the shared-memory pipe is busy",
    "lg_throttle": "the load/store unit is busy",
    "barrier": "waiting at __syncthreads for the other warps of its block",
    "membar": "waiting for a memory fence",
    "branch_resolving": "waiting for a branch target",
    "dispatch_stall": "its block was just launched",
    "drain": "exited, waiting for its stores and reductions to reach memory",
}


@dataclass
class TimingReport:
    preset: str
    kernel: str
    grid: tuple
    block: tuple
    cycles: float
    clock_ghz: float
    launch_us: float
    instructions: float                  # warp instructions issued (whole launch)
    stalls: dict                         # reason -> warp-cycles (whole launch)
    occupancy_achieved: float
    occupancy_theoretical: float
    blocks_per_sm: int
    occupancy_limits: dict
    l1_hit_rate: float | None
    l2_hit_rate: float | None
    hbm_bytes: float
    l2_bytes: float
    peak_hbm_bytes_per_s: float
    flops: float
    peak_flops: float
    lines: list = field(default_factory=list)      # dicts: line, text, issued, stall_cycles, top reason
    sms_replayed: int = 0
    sms_active: int = 0
    transfers: list = field(default_factory=list)  # vgpu.runtime.links.Transfer records before the launch

    @property
    def seconds(self) -> float:
        """Modelled kernel time (without the launch latency)."""
        return self.cycles / (self.clock_ghz * 1e9)

    @property
    def hbm_throughput(self) -> float:
        return self.hbm_bytes / self.seconds if self.seconds else 0.0

    @property
    def arithmetic_intensity(self) -> float | None:
        return self.flops / self.hbm_bytes if self.hbm_bytes else None

    @property
    def bound(self) -> str:
        """Where the kernel sits on the roofline: 'memory' or 'compute' (by its arithmetic intensity)."""
        ai = self.arithmetic_intensity
        ridge = self.peak_flops / self.peak_hbm_bytes_per_s
        return "compute" if ai is None or ai >= ridge else "memory"

    @property
    def cycles_per_issue(self) -> float:
        """Warp cycles per issued instruction (Nsight: smsp__average_warp_latency_per_inst_issued)."""
        return sum(self.stalls.values()) / self.instructions if self.instructions else 0.0

    def stall_fractions(self) -> dict:
        total = sum(self.stalls.values()) or 1.0
        return {k: v / total for k, v in sorted(self.stalls.items(), key=lambda kv: -kv[1]) if v > 0}

    def as_dict(self) -> dict:
        return {"preset": self.preset, "kernel": self.kernel, "grid": list(self.grid), "block": list(self.block),
                "cycles": self.cycles, "seconds": self.seconds, "launch_us": self.launch_us,
                "instructions": self.instructions, "cycles_per_issue": self.cycles_per_issue,
                "stalls": dict(self.stalls), "stall_fractions": self.stall_fractions(),
                "occupancy": {"achieved": self.occupancy_achieved, "theoretical": self.occupancy_theoretical,
                              "blocks_per_sm": self.blocks_per_sm, "limits": self.occupancy_limits},
                "l1_hit_rate": self.l1_hit_rate, "l2_hit_rate": self.l2_hit_rate, "hbm_bytes": self.hbm_bytes,
                "l2_bytes": self.l2_bytes, "hbm_throughput": self.hbm_throughput,
                "hbm_peak": self.peak_hbm_bytes_per_s, "flops": self.flops, "peak_flops": self.peak_flops,
                "arithmetic_intensity": self.arithmetic_intensity, "bound": self.bound, "lines": self.lines,
                "sms_replayed": self.sms_replayed, "sms_active": self.sms_active}

    def _summary(self) -> list[tuple[str, str]]:
        us = self.seconds * 1e6
        rows = [("modelled time", f"{us:,.2f} us  ({self.cycles:,.0f} cycles at {self.clock_ghz} GHz; "
                                  f"+ ~{self.launch_us:g} us launch latency)"),
                ("warp instructions", f"{self.instructions:,.0f}  ({self.cycles_per_issue:.1f} warp cycles per issue)"),
                ("occupancy", f"achieved {self.occupancy_achieved:.0%}, theoretical {self.occupancy_theoretical:.0%} "
                              f"({self.blocks_per_sm} blocks/SM, limited by "
                              f"{', '.join(k for k, v in self.occupancy_limits.items() if v == self.blocks_per_sm)})"),
                ("memory", f"HBM {self.hbm_bytes / 1e6:,.3f} MB at {self.hbm_throughput / 1e9:,.1f} GB/s "
                           f"({self.hbm_throughput / self.peak_hbm_bytes_per_s:.0%} of {self.peak_hbm_bytes_per_s / 1e9:,.0f}); "
                           f"L1 hits {_pct(self.l1_hit_rate)}, L2 hits {_pct(self.l2_hit_rate)}")]
        ai = self.arithmetic_intensity
        rows.append(("roofline", f"{self.flops / self.seconds / 1e9 if self.seconds else 0:,.1f} GFLOP/s, "
                                 f"intensity {'inf' if ai is None else f'{ai:.2f}'} flop/byte "
                                 f"(ridge {self.peak_flops / self.peak_hbm_bytes_per_s:.1f}): {self.bound}-bound"))
        if self.sms_replayed < self.sms_active:
            rows.append(("sampled", f"{self.sms_replayed} of {self.sms_active} busy SMs replayed"))
        for t in self.transfers:
            rows.append(("transfer", f"{t.kind} {t.nbytes:,} B over {t.link}: {t.seconds * 1e6:,.2f} us"))
        return rows

    def format(self, lines: int = 12) -> str:
        out = [f"timing ({self.preset}): kernel {self.kernel} grid {tuple(self.grid)} block {tuple(self.block)}"]
        out += [f"  {k:18s} {v}" for k, v in self._summary()]
        out.append("  warp stall reasons (share of warp cycles):")
        for k, f in self.stall_fractions().items():
            out.append(f"    {k:20s} {f:6.1%}  {REASONS.get(k, '')}")
        if self.lines:
            out.append("  per source line (issued warp instructions, warp cycles, top stall):")
            for r in sorted(self.lines, key=lambda r: -r["cycles"])[:lines]:
                out.append(f"    {str(r['line']):>5}  {r['issued']:>10,.0f} {r['cycles']:>12,.0f}  {r['share']:6.1%}  "
                           f"{r['top']:18s} {r['text'][:60]}")
        return "\n".join(out)

    __str__ = format

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td style='text-align:left'>{e(v)}</td></tr>"
                       for k, v in self._summary())
        bars = "".join(f"<tr><td>{e(k)}</td><td><div style='background:#4a7;height:10px;width:{200 * f:.0f}px'></div>"
                       f"</td><td>{f:.1%}</td></tr>" for k, f in self.stall_fractions().items())
        lines = "".join(f"<tr><td>{r['line']}</td><td>{r['issued']:,.0f}</td><td>{r['cycles']:,.0f}</td>"
                        f"<td>{r['share']:.1%}</td><td>{e(r['top'])}</td><td><code>{e(r['text'])}</code></td></tr>"
                        for r in sorted(self.lines, key=lambda r: -r["cycles"])[:20])
        return (f"<div><b>timing ({e(self.preset)}): {e(self.kernel)}</b><table>{rows}</table>"
                f"<b>warp stall reasons</b><table>{bars}</table><b>per source line</b><table>"
                "<tr><th>line</th><th>issued</th><th>warp cycles</th><th>share</th><th>top stall</th><th>source</th></tr>"
                f"{lines}</table></div>")


def _pct(x) -> str:
    return "-" if x is None else f"{x:.0%}"
