"""Timing presets: a GPU described by numbers (clock, SMs, latencies, pipe rates, caches, bandwidths).

In:  a preset name ('h100', 'h200', 'a100', 'rtx3080', 'teaching': vgpu/timing/presets/NAME.json, each
     saying where its numbers come from), a path to such a JSON file, a dict, or a `Preset`.
Out: a `Preset` (attribute access to the JSON fields, `latency[...]`, `interval[...]`, derived rates) and
     `occupancy(preset, regs, shared, threads)`: resident blocks per SM, computed as CUDA's occupancy
     calculator does, with the preset's limits.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..sim.occupancy import SM, theoretical

HERE = Path(__file__).resolve().parent / "presets"
NAMES = tuple(sorted(p.stem for p in HERE.glob("*.json")))
REQUIRED = ("name", "clock_ghz", "sms", "subpartitions", "max_warps_per_sm", "max_blocks_per_sm", "registers_per_sm",
            "shared_per_sm", "latency", "interval", "l1_kib", "l1_ways", "l2_mib", "l2_ways", "l2_bytes_per_cycle",
            "hbm_gb_per_s", "hbm_efficiency", "lsu_sectors_per_cycle", "atomic_same_address_per_cycle",
            "atomic_lanes_per_cycle", "host_link")


class Preset:
    """A GPU's timing numbers (the fields of its JSON file as attributes)."""

    def __init__(self, data: dict):
        missing = [k for k in REQUIRED if k not in data]
        if missing:
            raise ValueError(f"timing preset {data.get('name', '?')!r} lacks {', '.join(missing)}")
        self.data = data
        for k, v in data.items():
            setattr(self, k, v)

    @property
    def hbm_bytes_per_cycle(self) -> float:
        """Sustained DRAM bytes per SM clock cycle (nominal bandwidth x measured efficiency)."""
        return self.hbm_gb_per_s * 1e9 * self.hbm_efficiency / (self.clock_ghz * 1e9)

    @property
    def peak_fp32_flops(self) -> float:
        """FP32 flop/s with every FMA pipe busy: SMs x sub-partitions x 32 lanes x 2 flops x clock / interval."""
        return self.sms * self.subpartitions * 32 * 2 * self.clock_ghz * 1e9 / self.interval["fp32"]

    @property
    def peak_bytes_per_s(self) -> float:
        return self.hbm_gb_per_s * 1e9

    def link(self) -> tuple[str, float, float]:
        """The host link: (name, bytes per second, latency in seconds), for a vgpu.runtime.links.Link."""
        h = self.data["host_link"]
        return h["name"], h["gb_per_s"] * 1e9, h["latency_us"] * 1e-6

    def __repr__(self) -> str:
        return f"<timing preset {self.name}: {self.data.get('title', '')}>"


def load(preset) -> Preset:
    """A Preset from a name, a JSON path, a dict or a Preset (ValueError naming the known presets)."""
    if isinstance(preset, Preset):
        return preset
    if isinstance(preset, dict):
        return Preset(preset)
    if not isinstance(preset, (str, Path)):
        raise TypeError(f"timing must be a preset name ({', '.join(NAMES)}), a JSON path or a dict, not "
                        f"{type(preset).__name__}")
    path = HERE / f"{preset}.json" if str(preset) in NAMES else Path(preset)
    if not path.suffix == ".json" or not path.is_file():
        raise ValueError(f"unknown timing preset {str(preset)!r}: use one of {', '.join(NAMES)} or a .json file")
    try:
        return Preset(json.loads(path.read_text()))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None


def occupancy(p: Preset, regs_per_thread: int, shared_bytes: int, threads: int) -> tuple[int, dict]:
    """(resident blocks per SM, at least 1, the limit of each resource) for blocks of `threads` threads using
    `regs_per_thread` registers and `shared_bytes` of shared memory: vgpu.sim.occupancy.theoretical (as
    cudaOccupancy computes it) with the preset's SM."""
    sm = SM(p.registers_per_sm, p.subpartitions, p.shared_per_sm, p.max_warps_per_sm, p.max_blocks_per_sm)
    o = theoretical(regs_per_thread, shared_bytes, threads, sm)
    return max(1, o.blocks_per_sm), o.limits
