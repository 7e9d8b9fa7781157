"""The links between devices and to the host, and the log of what crossed them.

In:  a `Topology` (which `Link` joins two devices, or a device and the host) and copies
     (source, destination, bytes).
Out: `Transfer` records with the link's name and the modelled time `latency + bytes / bandwidth`.

Defaults (docs/multi-gpu.md cites the sources): GPU to GPU over NVLink 4 through NVSwitch,
450 GB/s per direction per GPU (H100/H200 SXM: 18 links, 900 GB/s both directions together);
GPU to host over PCIe Gen5 x16, 64 GB/s per direction nominal, 50 GB/s effective; a copy inside
one device reads and writes HBM3e (4.8 TB/s on an H200, so 2.4 TB/s of copy). Latencies are a
few microseconds per transfer (a copy's launch and completion), not a cable's flight time.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    """One kind of connection: `bandwidth` in bytes/s per direction, `latency` in seconds."""
    name: str
    bandwidth: float
    latency: float

    def time(self, nbytes: int) -> float:
        """Modelled seconds to move `nbytes` over this link: latency + bytes / bandwidth."""
        return self.latency + nbytes / self.bandwidth


NVLINK4 = Link("NVLink 4", 450e9, 2e-6)
PCIE5 = Link("PCIe Gen5 x16", 50e9, 5e-6)
PCIE5_NOMINAL = Link("PCIe Gen5 x16 (nominal)", 64e9, 5e-6)
HBM3E_COPY = Link("HBM3e", 2.4e12, 1e-6)


@dataclass
class Topology:
    """Which link joins what.  `peer` between any two GPUs unless `pairs` names the pair (by device
    id, either order); `host` between a GPU and the host; `local` for a copy inside one device.
    `hbm_bandwidth` (bytes/s) models a memory-bound kernel's time (the collectives' reductions).

        topo = Topology(peer=PCIE5)                 # GPUs without NVLink: peer copies over PCIe
        topo.set_link(0, 1, Link("NVLink 4 x2", 900e9, 2e-6))
        vgpu.devices(4, topology=topo)
    """
    peer: Link = NVLINK4
    host: Link = PCIE5
    local: Link = HBM3E_COPY
    hbm_bandwidth: float = 4.8e12
    pairs: dict = field(default_factory=dict)

    def set_link(self, a: int, b: int, link: Link) -> None:
        self.pairs[frozenset((int(a), int(b)))] = link

    def link(self, src_id: int | None, dst_id: int | None) -> Link:
        """The link a copy from `src_id` to `dst_id` uses (None: the host)."""
        if src_id is None or dst_id is None:
            return self.host
        if src_id == dst_id:
            return self.local
        return self.pairs.get(frozenset((src_id, dst_id)), self.peer)

    def kernel_time(self, nbytes: int) -> float:
        """Modelled seconds of a memory-bound kernel that reads and writes `nbytes` in total."""
        return nbytes / self.hbm_bandwidth


_topology = Topology()


def default_topology() -> Topology:
    return _topology


def set_topology(topology: Topology) -> None:
    """Make `topology` the one devices created from now on use (each Device keeps its own)."""
    global _topology
    if not isinstance(topology, Topology):
        raise TypeError(f"set_topology takes a vgpu.Topology, not {type(topology).__name__}")
    _topology = topology


@dataclass(frozen=True)
class Transfer:
    """One copy: kind HtoD, DtoH, DtoD (inside a device) or PtoP (between devices); src and dst
    name the ends ('host', 'gpu0', ...); seconds is the modelled time on `link`."""
    kind: str
    src: str
    dst: str
    nbytes: int
    link: str
    seconds: float
    label: str = ""

    def __str__(self) -> str:
        return (f"{self.kind:4} {self.src:>6} -> {self.dst:<6} {self.nbytes:>12} B  {self.link:<16} "
                f"{self.seconds * 1e6:10.2f} us{('  ' + self.label) if self.label else ''}")


def transfer_stats(log) -> dict:
    """Totals of a transfer log per kind: count, bytes, modelled seconds."""
    out: dict[str, dict] = {}
    for t in log:
        s = out.setdefault(t.kind, {"count": 0, "bytes": 0, "seconds": 0.0})
        s["count"] += 1
        s["bytes"] += t.nbytes
        s["seconds"] += t.seconds
    return out
