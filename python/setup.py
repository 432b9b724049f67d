"""Builds dusk._dusk against the dusk C++ library of this repository.

The library comes from a CMake build of the repository: the one named by the
DUSK_BUILD_DIR environment variable (scripts/test passes its own), or one this
script configures and builds under python/build/cmake (target dusk only).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def cmake_cache(build_dir: Path) -> dict:
    values = {}
    for line in (build_dir / "CMakeCache.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_]+):[A-Z]+=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def dusk_build() -> Path:
    given = os.environ.get("DUSK_BUILD_DIR")
    if given:
        build_dir = Path(given).resolve()
        if not (build_dir / "libdusk.a").exists():
            sys.exit(f"DUSK_BUILD_DIR={given} holds no libdusk.a; build the repository first (scripts/build)")
        return build_dir
    build_dir = HERE / "build" / "cmake"
    if not (build_dir / "CMakeCache.txt").exists():
        subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                               "-DDUSK_BUILD_TESTS=OFF"])
    subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "dusk", "--parallel", str(os.cpu_count() or 1)])
    return build_dir


build_dir = dusk_build()
cache = cmake_cache(build_dir)
libraries = [str(build_dir / "libdusk.a")]
# LLVM's OpenMP runtime ahead of oneDNN: it then serves oneDNN's threads too.
for key in ("DUSK_LIBOMP", "DNNL_LIBRARY", "STB_LIBRARY"):
    value = cache.get(key, "")
    if value and not value.endswith("NOTFOUND"):
        libraries.append(value)

extension = Pybind11Extension(
    "dusk._dusk",
    ["src/module.cpp", "src/model_io.cpp"],
    include_dirs=[str(ROOT / "include"), str(ROOT / "src")],
    extra_objects=libraries,
    libraries=["dl"],
    cxx_std=20,
)

setup(ext_modules=[extension], cmdclass={"build_ext": build_ext})
