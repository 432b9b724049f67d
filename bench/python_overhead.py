#!/usr/bin/env python3
"""Python dusk against C++ dusk and against Python OpenCV DNN on one model.

    bench/python_overhead.py [CALLS]      (needs a build and the package installed:
                                           python3 -m pip install --no-build-isolation --no-index ./python)

Per call, medians, one thread per call as an application loop has it:
  dusk (Python) detect(BGR array)      vs  C++ Detector::detect(8-bit BGR pixels)
  dusk (Python) detect(path)           vs  C++ Detector::detect(path)
  OpenCV DNN: blobFromImage + forward (no decoding of the heads, no NMS)
"""
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import dusk

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT.parent / "shared" / "models" / "yolo-fastest-1.1"
CFG, WEIGHTS = str(MODEL) + ".cfg", str(MODEL) + ".weights"
IMAGE = "/usr/share/darknet/data/dog.jpg"
calls = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def median_ms(fn):
    for _ in range(10):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cpp(mode):
    out = subprocess.run([str(ROOT / "build" / "bench" / "detector_threads"), CFG, WEIGHTS, IMAGE, "1", str(calls), mode],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["median_call_ms"]


detector = dusk.Detector(CFG, WEIGHTS)
bgr = cv2.imread(IMAGE)
py_array = median_ms(lambda: detector.detect(bgr))
py_path = median_ms(lambda: detector.detect(IMAGE))
cpp_pixels = cpp("pixels")
cpp_path = cpp("path")
net = cv2.dnn.readNetFromDarknet(CFG, WEIGHTS)
names = net.getUnconnectedOutLayersNames()
cv2.setNumThreads(detector.threads)


def opencv():
    net.setInput(cv2.dnn.blobFromImage(bgr, 1 / 255.0, (320, 320), swapRB=True, crop=False))
    net.forward(names)


cv_ms = median_ms(opencv)
print(f"python_overhead, {time.strftime('%Y-%m-%d')}, yolo-fastest-1.1 @ 320 on {Path(IMAGE).name}, "
      f"{detector.threads} threads, {calls} calls, OpenMP {dusk._openmp_runtime()}")
print()
print("| call | Python ms | C++ ms | Python / C++ |")
print("|---|---|---|---|")
print(f"| detect(BGR array) vs detect(pixels) | {py_array:.2f} | {cpp_pixels:.2f} | {py_array / cpp_pixels:.3f} |")
print(f"| detect(path) | {py_path:.2f} | {cpp_path:.2f} | {py_path / cpp_path:.3f} |")
print()
print(f"OpenCV DNN {cv2.__version__} (blobFromImage + forward, heads not decoded): {cv_ms:.2f} ms; "
      f"dusk detect(array) is {cv_ms / py_array:.2f}x faster")
