#!/usr/bin/env python3
"""dusk.dask throughput with 1 and 2 local workers against one `dusk detect`
process, the scheduler's per-task overhead, and the numbers for a K-machine
estimate (README "Beyond one machine").

    bench/dask_scaling.py [REPEATS]   (coco128 repeated REPEATS times, default 4;
                                       needs a build and the package installed)
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

import dusk
import dusk.dask as dd

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MODEL = SHARED / "models" / "yolo-fastest-1.1"
CFG, WEIGHTS = str(MODEL) + ".cfg", str(MODEL) + ".weights"
batch = 64


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    paths = sorted(str(p) for p in (SHARED / "data" / "coco128" / "images" / "val2017").glob("*.jpg")) * repeats
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        subprocess.run([str(ROOT / "build" / "dusk"), "detect", CFG, WEIGHTS, *paths, "--jsonl", f"{work}/one.jsonl"],
                       check=True, capture_output=True)
        single = len(paths) / (time.perf_counter() - start)
        rows = [("one `dusk detect` process (all CPUs)", single)]
        overhead_ms = None
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                    Client(cluster) as client:
                dd.detect_files(client, paths[:batch], CFG, WEIGHTS, out=f"{work}/warm{workers}", batch=batch)  # model load
                summary = dd.detect_files(client, paths, CFG, WEIGHTS, out=f"{work}/run{workers}", batch=batch)
                rows.append((f"dusk.dask, {workers} worker process(es)", summary["images_per_s"]))
                if workers == 2:
                    tasks = 500
                    start = time.perf_counter()
                    client.gather(client.map(lambda x: x, range(tasks), pure=False))
                    overhead_ms = (time.perf_counter() - start) * 1000 / tasks

    cores = dusk._dusk.default_threads()
    print(f"dask_scaling, {time.strftime('%Y-%m-%d')}, yolo-fastest-1.1 on coco128 x {repeats} ({len(paths)} images), "
          f"{cores} CPUs, batch {batch}")
    print()
    print("| run | images/s | vs one process |")
    print("|---|---|---|")
    for name, rate in rows:
        print(f"| {name} | {rate:.1f} | {rate / single:.2f}x |")
    print()
    print(f"per core: {single / cores:.1f} images/s; scheduler overhead: {overhead_ms:.2f} ms per task "
          f"({overhead_ms / batch:.3f} ms per image at batch {batch})")


# Worker processes start by importing this file: only the parent measures.
if __name__ == "__main__":
    main()
