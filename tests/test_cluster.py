"""Devices on a Dask LocalCluster (2 worker processes, 1 thread each): the SGD example gives the same
weights as in-process devices, peer copies go actor to actor, and a killed worker is `DeviceLost`."""
from __future__ import annotations

import importlib.util
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import vgpu
from vgpu.runtime.device import DeviceLost

distributed = pytest.importorskip("distributed")      # the vgpu[cluster] extra (also in vgpu[test])

spec = importlib.util.spec_from_file_location("multi_sgd", Path(__file__).resolve().parents[1] / "examples/multi/sgd.py")
sgd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sgd)


@pytest.fixture(scope="module")
def cluster():
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                 silence_logs=50)
    yield c
    c.close()


@pytest.fixture(scope="module")
def client(cluster):
    c = distributed.Client(cluster)
    yield c
    c.close()


def test_devices_by_scheduler_address_and_bad_configuration(cluster, client):
    (dev,) = vgpu.devices(1, cluster=cluster.scheduler_address, name="remote")
    try:
        assert dev.name == "remote0" and "dask worker tcp://" in repr(dev)
        x = vgpu.to_device(np.arange(6, dtype=np.int64), device=dev)
        np.testing.assert_array_equal(x.copy_to_host(), np.arange(6))
    finally:
        dev.close()
        dev.sim.client.close()
    with pytest.raises(ValueError, match="daemonic"):
        vgpu.devices(1, cluster=client, workers=2)
    with pytest.raises(TypeError, match="unknown keyword"):
        vgpu.devices(1, cluster=client, colour="blue")


def test_sgd_on_a_dask_cluster_equals_in_process(client):
    X, y, _ = sgd.make_data(64, 4)
    local = vgpu.devices(2, workers=0, global_bytes=1 << 20)
    expected, _ = sgd.train(local, X, y, steps=4)
    devs = vgpu.devices(2, cluster=client, global_bytes=1 << 20)
    try:
        assert len({d.sim.worker for d in devs}) == 2          # one device per worker
        assert len({d.sim.pid for d in devs} | {os.getpid()}) == 3
        w, _ = sgd.train(devs, X, y, steps=4)
        assert w.tobytes() == expected.tobytes()
        assert any(m.op == "push" for m in devs[0].message_log)   # peer copies went actor to actor
        assert devs[1].kernel_log[-1].kernel == "update"
    finally:
        for d in (*local, *devs):
            d.close()


def test_a_lost_worker_is_device_lost_not_a_hang(client):
    devs = vgpu.devices(2, cluster=client, global_bytes=1 << 20)
    x = vgpu.to_device(np.arange(4, dtype=np.float32), device=devs[0])
    y = x.copy_to(devs[1])
    os.kill(devs[1].sim.pid, signal.SIGKILL)
    t = time.monotonic()
    with pytest.raises(DeviceLost, match=f"device {devs[1].name} on Dask worker"):
        for _ in range(3):
            y.copy_to_host()
    assert time.monotonic() - t < 30
    np.testing.assert_array_equal(x.copy_to_host(), np.arange(4))   # the other device still answers
    for d in devs:
        d.close()
