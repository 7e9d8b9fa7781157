"""Several virtual GPUs in one program: `vgpu.devices(n)`, here or on a Dask cluster.

In:  how many devices, and where they live: this process (default), a process each
     (`process=True`, vgpu.runtime.remote), or a Dask cluster (`cluster=Client or "tcp://..."`,
     vgpu.cluster; `pip install 'vgpu[cluster]'`).
Out: a list of new `Device`s (ids continue the process's numbering), each with its own memory,
     constant bank, workers, counters and logs.

    devs = vgpu.devices(4)                   # vgpu.device_count() counts the live ones
    with devs[1]:
        x = vgpu.to_device(a)                # on devs[1]
    y = x.copy_to(devs[2])                   # a peer copy, logged with its link and modelled time
"""
from __future__ import annotations

from .runtime.device import Device


def devices(n: int, cluster=None, process: bool = False, topology=None, **config) -> list[Device]:
    """`n` new devices configured alike (`config`: Device's keywords: num_sms, workers, global_bytes, ...)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"devices(n): n must be a positive integer, not {n!r}")
    if cluster is not None:
        if process:
            raise ValueError("devices(): give cluster= or process=True, not both")
        from .cluster import cluster_devices
        return cluster_devices(n, cluster, topology=topology, **config)
    out: list[Device] = []
    try:
        for _ in range(n):
            out.append(Device(process=process, topology=topology, **config))
    except BaseException:
        for d in out:
            d.close()
        raise
    return out
