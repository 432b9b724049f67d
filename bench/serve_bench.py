"""dusk serve measured (bench/serve runs this): REST throughput with 16
clients against `dusk detect` over a directory of the same images at the
same threads, latency percentiles, resident memory over many requests, four
streams sharing the workers, and what an idle server and a reconnecting
stream cost. Loopback only.
    serve_bench.py DUSK SHARED_DIR [THREADS] [REQUESTS]"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


dusk, shared = sys.argv[1], Path(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
requests = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
model = shared / "models" / "yolo-fastest-1.1"
cfg, weights, names = f"{model}.cfg", f"{model}.weights", str(shared / "models" / "coco.names")
images = sorted((shared / "data" / "coco128" / "images" / "val2017").glob("*.jpg"))
bodies = [p.read_bytes() for p in images]


def start(*extra):
    process = subprocess.Popen([dusk, "serve", cfg, weights, "--names", names, "--port", "0", "--threads",
                                str(threads), "--log-format", "json", *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    said = []
    for line in process.stderr:
        said.append(line)
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
            return process, f"http://127.0.0.1:{match.group(1)}"
    raise SystemExit("dusk serve did not start: " + "".join(said))


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)


def post(base, body):
    start_time = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(base + "/v1/detect", data=body), timeout=60) as r:
        r.read()
        status = r.status
    return status, time.perf_counter() - start_time


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def json_get(base, path):
    import json
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"dusk serve, {time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores, {threads} threads, yolo-fastest-1.1, "
      f"coco128 ({len(images)} images)")

# dusk detect over the directory: the baseline.
with tempfile.TemporaryDirectory() as tmp:
    line = subprocess.run([dusk, "detect", cfg, weights, str(images[0].parent), "--names", names, "--threads",
                           str(threads), "--jsonl", f"{tmp}/x.jsonl"], capture_output=True, text=True).stderr
    directory_rate = float(re.search(r"([0-9.]+) images/s", line).group(1))

# REST, 16 clients, 4 rounds over coco128; then the memory run.
process, base = start()
for body in bodies[:8]:
    post(base, body)  # warm up
latencies, statuses = [], []
begin = time.perf_counter()
with ThreadPoolExecutor(16) as pool:
    for status, seconds in pool.map(lambda i: post(base, bodies[i % len(bodies)]), range(4 * len(bodies))):
        statuses.append(status)
        latencies.append(seconds)
rest_rate = len(latencies) / (time.perf_counter() - begin)
latencies.sort()
p50, p99 = latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000
print()
print("| measure | value |")
print("|---|---|")
print(f"| `dusk detect` over the directory | {directory_rate:.1f} images/s |")
print(f"| REST, 16 clients ({len(latencies)} requests, all 200: {statuses.count(200) == len(statuses)}) | "
      f"{rest_rate:.1f} images/s = {rest_rate / directory_rate:.2f} of the directory's |")
print(f"| latency p50 / p99 with 16 clients | {p50:.1f} / {p99:.1f} ms |")

# With wrk (Debian's, if installed: a C client that takes little of the two
# cores): one image posted by 16 connections against dusk detect over a
# directory of copies of it, measured before and after.
if shutil.which("wrk"):
    with tempfile.TemporaryDirectory() as tmp:
        sample = str(images[0].resolve())  # symlinks resolve from their own directory
        for i in range(200):
            os.symlink(sample, f"{tmp}/copy{i}.jpg")
        (Path(tmp) / "post.lua").write_text(
            'local f = io.open(os.getenv("IMAGE"), "rb")\nwrk.method = "POST"\nwrk.body = f:read("*all")\nf:close()\n')

        def directory():
            line = subprocess.run([dusk, "detect", cfg, weights, tmp, "--names", names, "--threads", str(threads),
                                   "--jsonl", f"{tmp}/x.jsonl"], capture_output=True, text=True).stderr
            match = re.search(r"([0-9.]+) images/s", line)
            if not match:
                raise SystemExit(f"dusk detect over {tmp} said: {line[-500:]}")
            return float(match.group(1))
        before = directory()
        out = subprocess.run(["wrk", "-t2", "-c16", "-d20s", "-s", f"{tmp}/post.lua", "--latency", base + "/v1/detect"],
                             capture_output=True, text=True, env=dict(os.environ, IMAGE=sample)).stdout
        after = directory()
        wrk_rate = float(re.search(r"Requests/sec:\s*([0-9.]+)", out).group(1))
        print(f"| REST with wrk, 16 connections, one image | {wrk_rate:.1f} images/s against {before:.1f} and "
              f"{after:.1f} for dusk detect (before and after) = {wrk_rate / ((before + after) / 2):.2f} |")

# Resident memory over `requests` requests: after the first tenth against the end.
marks = []
done = 0
with ThreadPoolExecutor(16) as pool:
    for start_index in range(0, requests, 1000):
        list(pool.map(lambda i: post(base, bodies[i % len(bodies)]), range(start_index, start_index + 1000)))
        done += 1000
        marks.append((done, rss_mb(process.pid)))
early = next(rss for n, rss in marks if n >= requests // 10)
late = marks[-1][1]
print(f"| resident memory after {requests // 10} / {requests} requests | {early:.1f} / {late:.1f} MB "
      f"({(late - early) / early * 100:+.1f}%) |")
stop(process)

# An idle server, and one with a stream that keeps failing to connect: CPU over 10 s.
for label, extra in [("idle server, no streams", []),
                     ("a stream reconnecting with backoff", ["--stream", "gone=rtsp://127.0.0.1:9/none"])]:
    process, base = start(*extra)
    time.sleep(2)
    before = cpu_seconds(process.pid)
    time.sleep(10)
    share = (cpu_seconds(process.pid) - before) / 10 * 100
    print(f"| {label}: CPU | {share:.2f}% of a core |")
    stop(process)

# Streams sharing the workers: a network slower than its source (yolov4 at
# 416, seeded random weights, threshold 0.9 so no box reaches NMS) on
# vtest.avi (10 frames/s), alone and four at once; each stream keeps only
# its newest frame, so four should each get a quarter.
vtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
rates = {}
for count in (1, 4):
    extra = [a for k in range(count) for a in ("--stream", f"s{k}={vtest}")]
    process = subprocess.Popen([dusk, "serve", str(shared / "cfg" / "yolov4.cfg"), "-", "--size", "416x416", "--port", "0",
                                "--threads", str(threads), "--thresh", "0.9", *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = None
    for line in process.stderr:
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if match:
            base = f"http://127.0.0.1:{match.group(1)}"
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
            break
    time.sleep(5)
    first = {s["name"]: s["frames_processed"] for s in json_get(base, "/v1/streams")}
    time.sleep(30)
    last = {s["name"]: s["frames_processed"] for s in json_get(base, "/v1/streams")}
    rates[count] = [(last[n] - first[n]) / 30 for n in sorted(last)]
    stop(process)
alone = rates[1][0]
shares = ", ".join(f"{r:.2f}" for r in rates[4])
spread = max(abs(r / (alone / 4) - 1) for r in rates[4]) * 100
print(f"| one stream alone (yolov4 @ 416 on vtest.avi) | {alone:.2f} frames/s |")
print(f"| four such streams at once | {shares} frames/s; each within {spread:.0f}% of a quarter of one |")
