"""The seed's inspection routes over this process's live devices (`vgpu.live_devices()`).

In:  a device id (`Device.id`), an SM index, memory offsets, sizes and dtypes.
Out: JSON-ready dicts: `gpu_summary`, `gpu_state` (config, memory in use, SMs, allocations, transfers),
     `gpu_metrics` (launches, instructions, transfers), `sm_detail` (the blocks of the device's last
     launch that ran on the SM: blocks go to SMs round-robin, block b on SM b % num_sms, as in the
     simulator), `kernel_log`, `allocations`, `memory` (hex and typed values of global or constant
     memory), and `EventFeed`: kernel launches, transfers and the service's own compiles and runs as
     one feed with increasing ids (`since`, `limit`).
Errors: `NotFound` (unknown GPU or SM: 404), `BadRequest` (a read outside the memory, a bad dtype: 400).
"""
from __future__ import annotations

import threading
import time

import numpy as np

from ..runtime.device import live_devices
from ..sim import CONST_BASE, GLOBAL_BASE

MEM_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float16", "float32",
              "float64")


class NotFound(Exception):
    pass


class BadRequest(Exception):
    pass


def device(gid: int):
    for d in live_devices():
        if d.id == gid:
            return d
    have = ", ".join(str(d.id) for d in live_devices()) or "none"
    raise NotFound(f"no GPU with id {gid} (live GPUs: {have})")


def _global(d):
    return getattr(d.sim, "glob", None)


def allocations(d) -> list[dict]:
    """Live allocations of global memory and __constant__ symbols, lowest address first."""
    out = []
    for space, mem, base in (("global", _global(d), GLOBAL_BASE), ("constant", getattr(d.sim, "const", None),
                                                                   CONST_BASE)):
        table = getattr(mem, "table", None)
        for start, (size, name) in sorted(getattr(table, "live", {}).items()):
            out.append({"space": space, "address": int(start), "offset": int(start - base), "size": int(size),
                        "label": name})
    return out


def _memory_sizes(d) -> tuple[int, int]:
    g = _global(d)
    size = int(getattr(getattr(g, "arena", None), "size", 0) or d.config.get("global_bytes", 0))
    used = sum(a["size"] for a in allocations(d) if a["space"] == "global")
    return size, used


def gpu_summary(d) -> dict:
    size, used = _memory_sizes(d)
    return {"id": d.id, "name": d.name, "num_sms": d.num_sms, "global_mem_size": size, "global_mem_used": used,
            "shared_mem_size": int(getattr(d.sim, "max_shared_per_block", 48 * 1024)),
            "launches": len(d.kernel_log), "transfers": len(d.transfer_log), "workers": d.workers}


def _record(r) -> dict:
    return {"kernel": r.kernel, "file": r.file, "grid": list(r.grid), "block": list(r.block), "shared": r.shared,
            "instructions": r.instructions, "seconds": r.seconds, "ran_on": getattr(r, "ran_on", "")}


def _transfer(t) -> dict:
    return {"kind": t.kind, "src": t.src, "dst": t.dst, "bytes": t.nbytes, "link": t.link,
            "modelled_seconds": t.seconds, "label": t.label}


def _blocks_on(d, sm: int) -> list[list[int]]:
    if not d.kernel_log:
        return []
    last = d.kernel_log[-1]
    gx, gy, gz = (tuple(last.grid) + (1, 1, 1))[:3]
    n = gx * gy * gz
    return [[b % gx, b // gx % gy, b // (gx * gy)] for b in range(sm, n, d.num_sms)][:1024]


def sm_state(d, sm: int) -> dict:
    blocks = _blocks_on(d, sm)
    return {"id": sm, "status": "idle", "blocks_last_launch": len(blocks)}


def gpu_state(d) -> dict:
    size, used = _memory_sizes(d)
    return {**gpu_summary(d), "config": {k: v for k, v in d.config.items() if k != "check"},
            "checks": sorted(getattr(d.sim, "check", ()) or ()),
            "global_memory": {"size": size, "used": used},
            "sms": [sm_state(d, s) for s in range(d.num_sms)], "allocations": allocations(d),
            "transfer_log": [_transfer(t) for t in list(d.transfer_log)[-100:]],
            "kernel_log": [_record(r) for r in list(d.kernel_log)[-100:]]}


def gpu_metrics(d) -> dict:
    log = list(d.kernel_log)
    return {"id": d.id, "name": d.name, "launches": len(log), "instructions": sum(r.instructions for r in log),
            "kernel_seconds": sum(r.seconds for r in log), "transfers": d.get_transfer_stats(),
            "transfer_bytes": sum(t.nbytes for t in d.transfer_log),
            "last_launch": _record(log[-1]) if log else None}


def sm_detail(d, sm: int) -> dict:
    if not 0 <= sm < d.num_sms:
        raise NotFound(f"GPU {d.id} ({d.name}) has SMs 0..{d.num_sms - 1}, not SM {sm}")
    blocks = _blocks_on(d, sm)
    last = _record(d.kernel_log[-1]) if d.kernel_log else None
    return {"id": sm, "gpu": d.id, "status": "idle", "last_launch": last,
            "blocks": [{"block_idx": b, "status": "finished"} for b in blocks],
            "assignment": "block b runs on SM b % num_sms"}


def kernel_log(d) -> list[dict]:
    return [_record(r) for r in d.kernel_log]


def memory(d, space: str, offset: int, size: int, dtype: str, limit: int) -> dict:
    """`size` bytes at byte `offset` of global memory (from its base) or of the constant bank, as hex
    and as `dtype` values; the range must lie inside one allocation (or symbol)."""
    if dtype not in MEM_DTYPES:
        raise BadRequest(f"dtype must be one of {', '.join(MEM_DTYPES)}, not {dtype!r}")
    if offset < 0 or size < 0:
        raise BadRequest(f"offset and size must be >= 0, not offset={offset} size={size}")
    if size > limit:
        raise BadRequest(f"size {size} is over the limit of {limit} bytes per read")
    base = GLOBAL_BASE if space == "global" else CONST_BASE
    try:
        raw = bytes(d.sim.read(base + offset, size)) if size else b""
    except Exception as e:  # noqa: BLE001 - a DeviceError naming the nearest allocation
        have = [f"{a['label'] or 'allocation'} at offset {a['offset']} ({a['size']} bytes)"
                for a in allocations(d) if a["space"] == space]
        raise BadRequest(f"{space} memory of GPU {d.id} at offset {offset}, {size} bytes: {e} "
                         f"(allocations: {'; '.join(have) or 'none'})") from None
    dt = np.dtype(dtype)
    vals = np.frombuffer(raw[:len(raw) - len(raw) % dt.itemsize], dt)
    return {"gpu": d.id, "space": space, "offset": offset, "address": base + offset, "size": len(raw),
            "dtype": dtype, "data": raw.hex(), "values": [v.item() for v in vals]}


class EventFeed:
    """Kernel launches and transfers of every live device, and what the service did, as one feed."""

    def __init__(self, cap: int = 100_000):
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.seen: dict = {}                 # (device id, log) -> the last record seen, and how many
        self.cap = cap
        self.next_id = 0

    def add(self, kind: str, **data) -> None:
        with self.lock:
            self._append(kind, data)

    def _append(self, kind: str, data: dict) -> None:
        self.events.append({"id": self.next_id, "time": time.time(), "kind": kind, **data})
        self.next_id += 1
        if len(self.events) > self.cap:
            del self.events[:len(self.events) - self.cap]

    def _scan(self) -> None:
        for d in live_devices():
            for name, log, fmt in (("launch", d.kernel_log, _record), ("transfer", d.transfer_log, _transfer)):
                items = list(log)
                last = self.seen.get((d.id, name))
                start = 0
                if last is not None:
                    start = next((i + 1 for i in range(len(items) - 1, -1, -1) if items[i] is last), 0)
                for r in items[start:]:
                    self._append(name, {"gpu": d.id, "gpu_name": d.name, **fmt(r)})
                if items:
                    self.seen[(d.id, name)] = items[-1]

    def since(self, since: int, limit: int) -> dict:
        with self.lock:
            self._scan()
            out = [e for e in self.events if e["id"] >= since][:limit]
            return {"events": out, "next": out[-1]["id"] + 1 if out else max(since, 0),
                    "latest": self.next_id - 1}
