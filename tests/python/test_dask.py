"""dusk.dask on a real LocalCluster (two worker processes), and the job
scheduler route (`dusk detect --shard I/N --jsonl`)."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

import dusk
import dusk.dask as dd

from dusk_test_paths import SHARED, DUSK, CFG, WEIGHTS, NAMES
COCO = sorted(str(p) for p in (SHARED / "data" / "coco128" / "images" / "val2017").glob("*.jpg"))


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    with Client(cluster) as c:
        yield c
    cluster.close()


def cli_jsonl(paths, out, *extra, failures=0):
    run = subprocess.run([DUSK, "detect", CFG, WEIGHTS, *paths, "--names", NAMES, "--jsonl", str(out), *extra],
                         capture_output=True, text=True)
    assert run.returncode == (1 if failures else 0), run.stderr
    return [json.loads(line) for line in Path(out).read_text().splitlines()]


def comparable(records):
    return [(r["filename"], r.get("width"), r.get("height"), r.get("objects"), r.get("error")) for r in records]


def test_cluster_output_equals_one_process(client, tmp_path):
    paths = COCO * 20 + ["/nonexistent/missing.jpg"]  # 2561 paths, one unreadable
    summary = dd.detect_files(client, paths, CFG, WEIGHTS, names=NAMES, out=tmp_path / "run", batch=128)
    assert summary["images"] == 2561 and summary["partitions"] == 21 and summary["computed"] == 21
    assert summary["errors"] == 1
    merged = dd.merge(tmp_path / "run")
    assert [r["filename"] for r in merged] == paths
    single = cli_jsonl(COCO + ["/nonexistent/missing.jpg"], tmp_path / "single.jsonl", failures=1)
    by_name = {r["filename"]: r for r in single}
    assert comparable(merged) == comparable([by_name[p] for p in paths])
    assert "error" in merged[-1] and "missing.jpg" in merged[-1]["error"]
    assert (tmp_path / "run" / "results.jsonl").exists()


def test_bag_map_partitions(client, tmp_path):
    import dask.bag

    bag = dask.bag.from_sequence(COCO[:40], npartitions=4)
    records = bag.map_partitions(dd.detect_partition, CFG, WEIGHTS, names=NAMES).compute()
    single = {r["filename"]: r for r in cli_jsonl(COCO[:40], tmp_path / "single.jsonl")}
    assert comparable(records) == comparable([single[p] for p in COCO[:40]])


def test_a_killed_worker_loses_nothing(client, tmp_path):
    paths = COCO * 4
    out = tmp_path / "run"
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]

    def kill_soon(done, total):
        if done == 2:
            os.kill(victim, signal.SIGKILL)

    summary = dd.detect_files(client, paths, CFG, WEIGHTS, out=out, batch=16, progress=kill_soon)
    assert summary["computed"] + summary["skipped"] == 32
    merged = dd.merge(out)
    assert [r["filename"] for r in merged] == paths  # every image once, none twice
    assert victim not in client.run(os.getpid).values()
    for part in out.glob("part-*.jsonl"):
        assert len(part.read_text().splitlines()) == 16
    assert not list(out.glob("*.tmp"))


def test_resume_recomputes_only_missing_partitions(client, tmp_path):
    paths = COCO * 2
    out = tmp_path / "run"
    first = dd.detect_files(client, paths, CFG, WEIGHTS, out=out, batch=32)
    assert first["computed"] == 8
    done = sorted(out.glob("part-*.jsonl"))
    for part in done[3:]:  # as if the run had stopped after three partitions
        part.unlink()
    before = {p.name: p.stat().st_mtime_ns for p in done[:3]}
    second = dd.detect_files(client, paths, CFG, WEIGHTS, out=out, batch=32)
    assert second["skipped"] == 3 and second["computed"] == 5
    assert {p.name: p.stat().st_mtime_ns for p in sorted(out.glob("part-*.jsonl"))[:3]} == before
    assert [r["filename"] for r in dd.merge(out)] == paths
    with pytest.raises(dusk.Error, match="another run"):
        dd.detect_files(client, paths[:10], CFG, WEIGHTS, out=out, batch=32)


def test_a_bad_model_fails_on_the_client(client, tmp_path):
    with pytest.raises(dusk.CfgError, match="nonexistent.cfg"):
        dd.detect_files(client, COCO[:2], "/nonexistent.cfg", WEIGHTS, out=tmp_path / "a")
    with pytest.raises(dusk.WeightsError, match="short"):
        dd.detect_files(client, COCO[:2], str(SHARED / "cfg" / "yolov3-tiny.cfg"), WEIGHTS, out=tmp_path / "b")
    with pytest.raises(dusk.Error, match="match nothing"):
        dd.detect_files(client, [str(tmp_path / "*.jpg")], CFG, WEIGHTS, out=tmp_path / "c")


@pytest.mark.parametrize("shards", [1, 3, 7])
def test_shards_union_equals_the_unsharded_run(tmp_path, shards):
    whole = cli_jsonl(COCO, tmp_path / "whole.jsonl")
    files = []
    seen = set()
    for index in range(shards):
        part = cli_jsonl(COCO, tmp_path / f"shard{index}.jsonl", "--shard", f"{index}/{shards}")
        names = {r["filename"] for r in part}
        assert not names & seen  # no overlap
        seen |= names
        files.append(tmp_path / f"shard{index}.jsonl")
    merged = dd.merge_shards(files, inputs=COCO)
    assert comparable(merged) == comparable(whole)


def test_python_m_dusk_dask_detect_and_merge(tmp_path):
    import sys
    out = subprocess.run([sys.executable, "-m", "dusk.dask", "detect", "--scheduler", "local:2", "--cfg", CFG,
                          "--weights", WEIGHTS, "--out", str(tmp_path / "run"), "--batch", "32", *COCO[:64]],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "64 images in 2 partitions" in out.stderr and "images/s" in out.stderr
    assert len((tmp_path / "run" / "results.jsonl").read_text().splitlines()) == 64
