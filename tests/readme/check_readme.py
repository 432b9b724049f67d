"""Runs README.md's C++, C and shell examples against an installed dusk
(cmake --install into a temporary prefix): the C++ one through
find_package(dusk) with the compiler's default standard and without OpenCV,
Protobuf or ONNX to be found; the C one through pkg-config as C99; shell
blocks with the installed `dusk` first on PATH; synopses against --help.
(Python blocks run in tests/python/test_readme.py, where the package is
installed.)
    check_readme.py BUILD_DIR SOURCE_DIR SHARED_DIR"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import blocks, make_fixtures  # noqa: E402

build, source, shared = (Path(p).resolve() for p in sys.argv[1:4])
failures = []


def run(command, cwd, env=None, timeout=600):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


with tempfile.TemporaryDirectory() as work_dir:
    work = Path(work_dir)
    prefix = work / "prefix"
    code, out = run(["cmake", "--install", str(build), "--prefix", str(prefix)], work)
    if code:
        sys.exit(f"cmake --install failed:\n{out}")
    env = dict(os.environ, PATH=f"{prefix / 'bin'}:{os.environ['PATH']}",
               PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    fixtures = make_fixtures(work / "fixtures", shared)
    counts = {}
    for block in blocks(source / "README.md"):
        where = f"README.md:{block.line} ({block.language})"
        counts[(block.language, block.kind)] = counts.get((block.language, block.kind), 0) + 1
        if block.kind == "skip" or block.language == "python":
            continue
        if block.kind == "synopsis":
            for line in re.findall(r"^dusk (\w[\w-]*)(.*(?:\n {5,}.*)*)", block.code, re.M):
                command, rest = line
                code, helptext = run(["dusk", command, "--help"], fixtures, env)
                if code:
                    failures.append(f"{where}: `dusk {command}` is not a command")
                    continue
                for flag in sorted(set(re.findall(r"--[a-z][a-z0-9-]*", rest))):
                    if flag not in helptext:
                        failures.append(f"{where}: `dusk {command}` has no {flag}")
            continue
        if block.language == "sh":
            code, out = run(["bash", "-euo", "pipefail", "-c", block.code], fixtures, env)
            if code:
                failures.append(f"{where}: exit {code}\n{out[-2000:]}")
        elif block.language == "cpp":
            project = work / f"cpp_{block.line}"
            project.mkdir()
            (project / "app.cpp").write_text(block.code)
            (project / "CMakeLists.txt").write_text(
                "cmake_minimum_required(VERSION 3.22)\nproject(readme_app LANGUAGES CXX)\n"
                "find_package(dusk REQUIRED)\nadd_executable(app app.cpp)\n"
                "target_link_libraries(app PRIVATE dusk::dusk)\n")
            # No CMAKE_CXX_STANDARD: the target must bring C++20. OpenCV, Protobuf
            # and ONNX made unfindable: a detector app must not need them.
            code, out = run(["cmake", "-S", str(project), "-B", str(project / "build"), f"-DCMAKE_PREFIX_PATH={prefix}",
                             "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON",
                             "-DCMAKE_DISABLE_FIND_PACKAGE_Protobuf=ON", "-DCMAKE_DISABLE_FIND_PACKAGE_ONNX=ON"],
                            project, env)
            if not code:
                code, out = run(["cmake", "--build", str(project / "build")], project, env)
            if not code:
                code, out = run([str(project / "build" / "app"), "yolo.cfg", "yolo.weights", "coco.names", "dog.jpg"],
                                fixtures, env)
                if not code and "dog" not in out:
                    code, out = 1, f"no dog in the output:\n{out}"
            if code:
                failures.append(f"{where}: {out[-3000:]}")
        elif block.language == "c":
            program = work / f"c_{block.line}.c"
            program.write_text(block.code)
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "dusk"], env=env, capture_output=True,
                                   text=True).stdout.split()
            binary = work / f"c_{block.line}"
            code, out = run(["cc", "-std=c99", "-Wall", "-Werror", str(program), "-o", str(binary), *flags,
                             f"-Wl,-rpath,{prefix / 'lib'}"], work, env)
            if not code:
                code, out = run([str(binary)], fixtures, env)
                if not code and "dog" not in out:
                    code, out = 1, f"no dog in the output:\n{out}"
            if code:
                failures.append(f"{where}: {out[-3000:]}")
    summary = ", ".join(f"{n} {language} {kind}" for (language, kind), n in sorted(counts.items()))
    print(f"README.md blocks: {summary}")

for failure in failures:
    print(failure, file=sys.stderr)
print(f"README examples: {len(failures)} failed")
sys.exit(1 if failures else 0)
