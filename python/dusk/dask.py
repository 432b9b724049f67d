"""Batch detection over a Dask cluster: dusk.dask.detect_files(client, paths, cfg, weights, out=DIR).

Each partition of input paths becomes one JSON Lines file under `out`
(part-NNNNN.jsonl: one line per image, Darknet's -out object plus the image's
width and height, or an "error" field), written whole under a temporary name
and then renamed. manifest.json records the inputs and the partitioning, so a
re-run with the same `out` skips the partitions already written (resume after
a crash) and merge() checks that every input appears exactly once. Each
worker process loads the model once (cached by the model files' content
hashes) and runs it with its share of the host's CPUs.

    python3 -m dusk.dask detect --scheduler local:2 --cfg C --weights W --out DIR PATHS_OR_GLOBS...
    python3 -m dusk.dask merge DIR
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import socket
from collections import Counter
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Union

import dusk

MANIFEST = "manifest.json"
FORMAT_VERSION = 1

# One model per worker process, keyed by content hashes and options.
_models: Dict[tuple, dusk.Detector] = {}
_models_lock = threading.Lock()


def file_hash(path: Union[str, os.PathLike]) -> str:
    """sha256 of a file's content (the model cache key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expand(paths_or_globs: Iterable[Union[str, os.PathLike]]) -> List[str]:
    """Globs and directories expand to their files (sorted); plain paths stay as given, in order."""
    out: List[str] = []
    for item in paths_or_globs:
        item = os.fspath(item)
        if any(c in item for c in "*?["):
            out.extend(sorted(glob.glob(item, recursive=True)))
        elif os.path.isdir(item):
            out.extend(sorted(str(p) for p in Path(item).iterdir() if p.is_file()))
        else:
            out.append(item)
    return out


_malloc_tuned = False


def _keep_image_buffers_on_the_heap() -> None:
    """Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, so glibc gives
    back every freed page at once; dusk allocates ~10 MB of temporaries per
    image (decoded image, resize passes), and each image then paid fresh page
    faults: 28 images/s per worker instead of 70 (measured with
    bench/dask_scaling.py). Serving blocks up to 64 MiB from the heap keeps
    them mapped between images. glibc only; elsewhere nothing is changed."""
    global _malloc_tuned
    if _malloc_tuned:
        return
    _malloc_tuned = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        M_MMAP_THRESHOLD = -3
        libc.mallopt(M_MMAP_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):
        pass


def _model(spec: dict) -> dusk.Detector:
    key = (spec["cfg_hash"], spec["weights_hash"], spec["names"], spec["thresh"], spec["nms"], spec["letterbox"],
           spec["threads"])
    with _models_lock:
        _keep_image_buffers_on_the_heap()
        if key not in _models:
            _models[key] = dusk.Detector(spec["cfg"], spec["weights"], names=spec["names"], thresh=spec["thresh"],
                                         nms=spec["nms"], letterbox=spec["letterbox"], threads=spec["threads"])
        return _models[key]


def image_record(detector: dusk.Detector, path: str) -> dict:
    """One JSON Lines record: Darknet's -out object for one image plus its size, or an error (Detector.record)."""
    return detector.record(path)


def detect_partition(paths: Iterable[str], cfg: str, weights: str, names: Optional[str] = None, thresh: float = 0.25,
                     nms: float = 0.45, letterbox: bool = False, threads: Optional[int] = None) -> List[dict]:
    """One record per path (see image_record), for dask.bag's map_partitions or
    dask.dataframe's: the model is loaded once per worker process and reused.

        bag = dask.bag.from_sequence(paths, npartitions=64)
        records = bag.map_partitions(dusk.dask.detect_partition, cfg, weights).compute()
    """
    cfg, weights = os.path.abspath(cfg), os.path.abspath(weights)
    spec = {"cfg": cfg, "weights": weights, "cfg_hash": file_hash(cfg), "weights_hash": file_hash(weights),
            "names": None if names is None else os.path.abspath(names), "thresh": float(thresh), "nms": float(nms),
            "letterbox": bool(letterbox), "threads": threads or 1}
    detector = _model(spec)
    return [image_record(detector, os.fspath(p)) for p in paths]


def _write_atomic(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _part_name(index: int) -> str:
    return f"part-{index:05d}.jsonl"


def run_partition(spec: dict, index: int, paths: Sequence[str], out: str) -> dict:
    """Detects on one partition and writes its file whole; a file already there is kept (resume)."""
    target = Path(out) / _part_name(index)
    if target.exists():
        return {"partition": index, "images": len(paths), "skipped": True, "errors": None}
    detector = _model(spec)
    lines = []
    errors = 0
    for path in paths:
        record = image_record(detector, path)
        errors += "error" in record
        lines.append(json.dumps(record, separators=(",", ":")))
    _write_atomic(target, "\n".join(lines) + ("\n" if lines else ""))
    return {"partition": index, "images": len(paths), "skipped": False, "errors": errors, "host": socket.gethostname()}


def _worker_cpus() -> int:
    """The CPUs a worker process may use (affinity mask, cgroup quota)."""
    return dusk._dusk.default_threads()


def _threads_per_worker(client) -> Dict[str, int]:
    """Worker address -> threads for its Detector: the host's CPUs shared by the
    worker processes on that host and their task threads, at least 1."""
    workers = client.scheduler_info()["workers"]
    by_host: Dict[str, List[str]] = {}
    for address, info in workers.items():
        by_host.setdefault(info.get("host", address), []).append(address)
    cpus = client.run(_worker_cpus)
    threads = {}
    for addresses in by_host.values():
        host_cpus = max(cpus.get(a, 1) for a in addresses)
        task_threads = sum(workers[a].get("nthreads", 1) for a in addresses)
        for a in addresses:
            threads[a] = max(1, host_cpus // max(1, task_threads))
    return threads


def detect_files(client, paths_or_globs: Iterable[Union[str, os.PathLike]], cfg: Union[str, os.PathLike],
                 weights: Union[str, os.PathLike], *, out: Union[str, os.PathLike], names: Optional[str] = None,
                 batch: int = 64, thresh: float = 0.25, nms: float = 0.45, letterbox: bool = False,
                 progress=None) -> dict:
    """Runs dusk over every image on the cluster of `client`, `batch` images per partition.

    The model is checked on the client first (a bad path or a weights file
    that does not fit fails here, with dusk's message). Returns a summary:
    images, partitions, computed, skipped, errors, seconds, images_per_s.
    `progress(done, total)` is called as partitions finish.
    """
    from distributed import as_completed

    cfg, weights = os.path.abspath(os.fspath(cfg)), os.path.abspath(os.fspath(weights))
    report = dusk.inspect(cfg, weights)  # raises CfgError / WeightsError on the client
    if not report["fits"]:
        raise dusk.WeightsError(report["verdict"])
    if names is not None:
        dusk.load_labels(os.path.abspath(names))
        names = os.path.abspath(names)
    if batch < 1:
        raise dusk.Error(f"batch={batch}: give at least one image per partition")
    paths = expand(paths_or_globs)
    if not paths:
        raise dusk.Error("no input images: the paths and globs given match nothing")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    partitions = [paths[i:i + batch] for i in range(0, len(paths), batch)]
    spec = {"cfg": cfg, "weights": weights, "cfg_hash": file_hash(cfg), "weights_hash": file_hash(weights),
            "names": names, "thresh": float(thresh), "nms": float(nms), "letterbox": bool(letterbox), "threads": 1}
    manifest = {"format": FORMAT_VERSION, "cfg_hash": spec["cfg_hash"], "weights_hash": spec["weights_hash"],
                "options": {k: spec[k] for k in ("names", "thresh", "nms", "letterbox")}, "batch": batch,
                "inputs": hashlib.sha256("\n".join(paths).encode()).hexdigest(), "images": len(paths),
                "partitions": [{"file": _part_name(i), "images": len(p)} for i, p in enumerate(partitions)]}
    manifest_path = out_dir / MANIFEST
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text())
        if previous != manifest:
            raise dusk.Error(f"{out_dir} holds the results of another run (other inputs, model, options or batch); "
                             "choose another --out or remove it")
    else:
        _write_atomic(manifest_path, json.dumps(manifest, indent=1) + "\n")
    if not (out_dir / "inputs.txt").exists():
        _write_atomic(out_dir / "inputs.txt", "\n".join(paths) + "\n")

    threads = _threads_per_worker(client)
    run_token = os.urandom(6).hex()  # fresh task keys: a resumed run must not reuse an old run's results
    start = time.perf_counter()
    futures = []
    for index, part in enumerate(partitions):
        task_spec = dict(spec)
        futures.append(client.submit(_run_on_worker, task_spec, threads, index, part, str(out_dir),
                                     key=f"dusk-part-{run_token}-{index}", pure=False, retries=2))
    summary = {"images": len(paths), "partitions": len(partitions), "computed": 0, "skipped": 0, "errors": 0}
    done = 0
    for future in as_completed(futures):
        result = future.result()
        done += 1
        summary["skipped" if result["skipped"] else "computed"] += 1
        summary["errors"] += result["errors"] or 0
        if progress:
            progress(done, len(partitions))
    summary["seconds"] = time.perf_counter() - start
    summary["images_per_s"] = len(paths) / max(summary["seconds"], 1e-9)
    if summary["skipped"]:  # errors of skipped partitions come from their files
        summary["errors"] = sum("error" in r for r in merge(out_dir, write=False))
    return summary


def _run_on_worker(spec: dict, threads: Dict[str, int], index: int, paths: Sequence[str], out: str) -> dict:
    from distributed import get_worker

    spec = dict(spec, threads=threads.get(get_worker().address, 1))
    return run_partition(spec, index, paths, out)


def merge(out: Union[str, os.PathLike], write: bool = True) -> List[dict]:
    """Joins the partition files in input order, checking that every input is
    there exactly once; writes results.jsonl (whole) when `write`."""
    out_dir = Path(out)
    manifest = json.loads((out_dir / MANIFEST).read_text())
    inputs = (out_dir / "inputs.txt").read_text().splitlines()
    records: List[dict] = []
    missing = []
    for part in manifest["partitions"]:
        path = out_dir / part["file"]
        if not path.exists():
            missing.append(part["file"])
            continue
        lines = path.read_text().splitlines()
        if len(lines) != part["images"]:
            raise dusk.Error(f"{path} has {len(lines)} lines but its partition has {part['images']} images; remove it "
                             "and run again")
        records.extend(json.loads(line) for line in lines)
    if missing:
        raise dusk.Error(f"{len(missing)} of {len(manifest['partitions'])} partitions are not written yet "
                         f"({missing[0]}, ...); run detect again with the same --out to finish")
    got = [r["filename"] for r in records]
    if got != inputs:
        raise dusk.Error(f"{out_dir}: the partitions do not hold every input exactly once in order")
    if write:
        _write_atomic(out_dir / "results.jsonl", "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    return records


def merge_shards(files: Sequence[Union[str, os.PathLike]], inputs: Optional[Sequence[str]] = None) -> List[dict]:
    """Joins `dusk detect --shard I/N --jsonl` outputs; with `inputs` (the
    unsharded list) checks that each appears exactly once."""
    records: List[dict] = []
    for f in files:
        records.extend(json.loads(line) for line in Path(f).read_text().splitlines() if line.strip())
    names = [r["filename"] for r in records]
    duplicates = sorted(n for n, k in Counter(names).items() if k > 1)
    if duplicates:
        raise dusk.Error(f"{len(duplicates)} images appear in more than one shard, e.g. {duplicates[0]}")
    if inputs is not None:
        lost = sorted(set(inputs) - set(names))
        if lost:
            raise dusk.Error(f"{len(lost)} inputs are in no shard, e.g. {lost[0]}; run the missing shards")
        order = {n: i for i, n in enumerate(inputs)}
        records.sort(key=lambda r: order.get(r["filename"], len(order)))
    return records


def _connect(scheduler: str):
    from distributed import Client, LocalCluster

    if scheduler.startswith("local:"):
        workers = int(scheduler.split(":", 1)[1])
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        return Client(cluster), cluster
    return Client(scheduler), None


def main(argv=None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python3 -m dusk.dask", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    detect = commands.add_parser("detect", help="detect on many images over a Dask cluster")
    detect.add_argument("paths", nargs="+", help="image files, directories or globs")
    detect.add_argument("--scheduler", required=True, help="scheduler address, or local:N for N local worker processes")
    detect.add_argument("--cfg", required=True)
    detect.add_argument("--weights", required=True)
    detect.add_argument("--names")
    detect.add_argument("--out", required=True, help="directory for the partition files and the manifest")
    detect.add_argument("--batch", type=int, default=64, help="images per partition")
    detect.add_argument("--thresh", type=float, default=0.25)
    detect.add_argument("--nms", type=float, default=0.45)
    detect.add_argument("--letterbox", action="store_true")
    merged = commands.add_parser("merge", help="join a run's partitions into results.jsonl, checking completeness")
    merged.add_argument("out")
    args = parser.parse_args(argv)
    try:
        if args.command == "merge":
            records = merge(args.out)
            print(f"dusk.dask: {len(records)} images merged into {Path(args.out) / 'results.jsonl'}", file=sys.stderr)
            return 0
        terminal = sys.stderr.isatty()
        start = time.perf_counter()

        def show(done, total):
            if terminal:
                elapsed = time.perf_counter() - start
                eta = elapsed / done * (total - done)
                print(f"\r[{done}/{total} partitions] {done / elapsed:.1f}/s, ETA {eta:.0f} s\033[K", end="",
                      file=sys.stderr, flush=True)

        client, cluster = _connect(args.scheduler)
        try:
            summary = detect_files(client, args.paths, args.cfg, args.weights, out=args.out, names=args.names,
                                   batch=args.batch, thresh=args.thresh, nms=args.nms, letterbox=args.letterbox,
                                   progress=show)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        if terminal:
            print("\r\033[K", end="", file=sys.stderr)
        merge(args.out)
        print(f"dusk.dask: {summary['images']} images in {summary['partitions']} partitions "
              f"({summary['computed']} computed, {summary['skipped']} already done), {summary['errors']} failed, "
              f"{summary['seconds']:.1f} s, {summary['images_per_s']:.1f} images/s; results in "
              f"{Path(args.out) / 'results.jsonl'}", file=sys.stderr)
        return 1 if summary["errors"] else 0
    except dusk.Error as error:
        print(f"dusk: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Run the imported dusk.dask, not this __main__ copy: task functions must
    # pickle by reference to a module the workers can import.
    from dusk.dask import main as _main

    raise SystemExit(_main())
