"""Devices on a Dask distributed cluster (`pip install 'vgpu[cluster]'`): each device is a Dask actor
holding its simulator, on one of the cluster's workers.

In:  `vgpu.devices(n, cluster=c)` with c a `distributed.Client`, a `LocalCluster`, or a scheduler
     address ("tcp://host:8786"); the devices' configuration.
Out: ordinary `vgpu.Device`s whose backend (`DaskSim`) turns every memory call and launch into an
     actor call; a peer copy between two of them goes actor to actor (the source's actor sends the
     bytes to the destination's); collectives are peer copies and launches, so they do too.
     A worker that dies or disconnects gives `vgpu.DeviceLost` naming the device and the worker,
     within about `POLL` seconds, never a hang.

Device i goes on worker i mod (number of workers), workers sorted by address.  SM worker processes
are not used inside Dask workers (workers=0).
"""
from __future__ import annotations

import collections
import os
import pickle

from ..runtime.device import Device
from ..runtime.remote import LOG_LIMIT, CallSim, DeviceLost, Message

POLL = 1.0


class DeviceActor:
    """Lives on a Dask worker: one SimDevice and its loaded programs."""

    def __init__(self, config: dict):
        from ..sim import SimDevice
        self.sim = SimDevice(**config)
        self.loaded: dict[int, object] = {}

    def info(self) -> dict:
        return {"pid": os.getpid(), "workers": self.sim.workers}

    def malloc(self, nbytes):
        return self.sim.malloc(nbytes)

    def free(self, addr):
        return self.sim.free(addr)

    def read(self, addr, nbytes):
        return self.sim.read(addr, nbytes)

    def write(self, addr, data):
        return self.sim.write(addr, data)

    def memset(self, addr, value, nbytes):
        return self.sim.memset(addr, value, nbytes)

    def load(self, key, program):
        mod = self.sim.load(program)
        self.loaded[key] = mod
        return mod.addresses, mod.sizes

    def launch(self, key, kernel, args, kw):
        return self.sim.launch(self.loaded[key], kernel, args, **kw)

    def push(self, addr, nbytes, dst, dst_addr):
        """Send `nbytes` at `addr` straight to the actor `dst` (a peer copy, actor to actor)."""
        dst.write(dst_addr, self.sim.read(addr, nbytes)).result()
        return True

    def close(self):
        self.sim.close()


def _client(cluster):
    from distributed import Client
    if isinstance(cluster, Client):
        return cluster
    if isinstance(cluster, str):
        return Client(cluster)
    address = getattr(cluster, "scheduler_address", None)
    if address is not None:
        return Client(cluster)
    raise TypeError(f"cluster must be a distributed.Client, a cluster or a scheduler address, "
                    f"not {type(cluster).__name__}")


class DaskSim(CallSim):
    """The SimDevice API, served by a DeviceActor on a Dask worker."""

    lives = "lives on a Dask worker"

    def __init__(self, client, actor, worker: str, name: str, info: dict):
        self.client, self.actor, self.worker, self.name = client, actor, worker, name
        self.where = f"dask worker {worker}"
        self.workers = info["workers"]
        self.pid = info["pid"]
        self.message_log: collections.deque = collections.deque(maxlen=LOG_LIMIT)
        self._keys = 0
        self._closed = False

    def _lost(self, why: str) -> DeviceLost:
        return DeviceLost(f"device {self.name} on Dask worker {self.worker} is lost ({why})")

    def _alive(self) -> bool:
        try:
            return self.worker in self.client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:
            return self.worker in self.client.scheduler_info()["workers"]
        except Exception:  # noqa: BLE001 - no answer from the scheduler: the worker cannot be reached
            return False

    def _call(self, op: str, *args, nbytes: int | None = None):
        """The actor's `op(*args)`; nbytes (what the message log shows) defaults to the pickled program of a load."""
        if nbytes is None:
            nbytes = len(pickle.dumps(args)) if op == "load" else 0
        if self._closed:
            raise RuntimeError(f"device {self.name} is closed")
        self.message_log.append(Message("->", op, nbytes))
        try:
            fut = getattr(self.actor, op)(*args)
            while True:
                try:
                    out = fut.result(timeout=POLL)
                    break
                except TimeoutError:
                    if not self._alive():
                        raise self._lost("its worker left the cluster") from None
        except DeviceLost:
            raise
        except (OSError, RuntimeError) as e:
            if "lost" in str(e).lower() or isinstance(e, OSError) or not self._alive():
                raise self._lost(str(e)) from None
            raise
        self.message_log.append(Message("<-", op, len(out) if isinstance(out, bytes) else 0))
        return out

    def push_to(self, dst, addr, nbytes, dst_addr) -> bool:
        """Actor to actor when `dst` is a device of the same cluster; False otherwise."""
        if not isinstance(dst, DaskSim) or dst.client is not self.client:
            return False
        self._call("push", int(addr), int(nbytes), dst.actor, int(dst_addr), nbytes=int(nbytes))
        return True

    def close(self):
        if not self._closed:
            try:
                self._call("close")
            except Exception:  # noqa: BLE001 - closing a lost device is not an error
                pass
            self._closed = True


def cluster_devices(n: int, cluster, topology=None, **config) -> list[Device]:
    """`n` Devices, each a DeviceActor on a worker of `cluster` (round-robin over the workers)."""
    client = _client(cluster)
    workers = sorted(client.scheduler_info(**({"n_workers": -1} if _takes_n_workers(client) else {}))["workers"])
    if not workers:
        raise RuntimeError("the Dask cluster has no workers")
    name = config.pop("name", None)
    if config.get("workers") is None:
        config["workers"] = 0
    sim_config = dict(num_sms=config.pop("num_sms", 4), workers=config.pop("workers"),
                      global_bytes=config.pop("global_bytes", 1 << 28),
                      max_instructions=config.pop("max_instructions", None),
                      max_steps=config.pop("max_steps", None), schedule=config.pop("schedule", "fixed"),
                      seed=config.pop("seed", 0), check=config.pop("check", None),
                      counters=config.pop("counters", False))
    if config:
        raise TypeError(f"devices(cluster=...): unknown keyword(s) {', '.join(config)}")
    if sim_config["workers"]:
        import dask
        if dask.config.get("distributed.worker.daemon", True):
            raise ValueError("devices(cluster=...): SM worker processes cannot start inside a Dask worker, which is a "
                             "daemonic process: use workers=0 (the default here), or run the cluster with "
                             "distributed.worker.daemon: False")
    out = []
    for i in range(n):
        worker = workers[i % len(workers)]
        actor = client.submit(DeviceActor, sim_config, actor=True, workers=[worker], pure=False).result()
        dev_name = f"{name}{i}" if name else None
        info = actor.info().result()
        sim = DaskSim(client, actor, worker, "device", info)
        dev = Device(topology=topology, name=dev_name, num_sms=sim_config["num_sms"], backend=sim)
        sim.name = dev.name
        out.append(dev)
    return out


def _takes_n_workers(client) -> bool:
    import inspect
    return "n_workers" in inspect.signature(client.scheduler_info).parameters
