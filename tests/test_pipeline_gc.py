"""The pipeline pauses the cyclic garbage collector while compiling and then moves what the compile
made to the oldest generation (vgpu.pipeline._age): the collector ends enabled as it was, objects the
application froze stay frozen, and a full collection runs once enough objects were moved so."""
import gc

from vgpu import pipeline

SRC = "__global__ void k(int *o, int a)\n{\n    int s = 0;\n    if (a > 1) s += 2;\n    o[0] = s;\n}\n"


def test_collector_state_and_full_collections(monkeypatch):
    monkeypatch.setattr(pipeline, "_AGE_AT", 0)            # age after every compile, however small
    monkeypatch.setattr(pipeline, "_AGED_LIMIT", 10 ** 9)
    monkeypatch.setattr(pipeline, "_aged", 0)
    assert gc.isenabled()
    pipeline.compile_source(SRC, "k.vk")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert pipeline._aged > 0                             # counted the objects it moved
    monkeypatch.setattr(pipeline, "_AGED_LIMIT", 0)       # the next compile collects in full instead
    collected = []
    gc.callbacks.append(lambda phase, info: collected.append(info["generation"]) if phase == "stop" else None)
    try:
        pipeline.compile_source(SRC, "k.vk")
    finally:
        gc.callbacks.pop()
    assert 2 in collected and pipeline._aged == 0


def test_objects_the_application_froze_stay_frozen(monkeypatch):
    monkeypatch.setattr(pipeline, "_AGE_AT", 0)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        pipeline.compile_source(SRC, "k.vk")
        assert gc.get_freeze_count() > frozen // 2 and gc.isenabled()    # not unfrozen (a few may die)
    finally:
        gc.unfreeze()
