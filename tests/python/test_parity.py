"""One pipeline under every shell: the same six Darknet sample images with the
same non-default options (nms_kind diounms, resize linear, letterbox, thresh
0.3, precision bf16 where the CPU has it, tiles 2x2, one thread) through the
command line, the C++ Detector, the C API compiled as C, and Python give
identical records (Darknet's six decimals)."""
import json
import math
import subprocess

import dusk

from dusk_test_paths import SOURCE, BUILD, DUSK, CFG, WEIGHTS, NAMES, SAMPLES as IMAGES


def six(value: float) -> float:
    """Darknet's six decimals, half away from zero, as dusk's record writer rounds."""
    return math.copysign(math.floor(abs(value) * 1e6 + 0.5), value) / 1e6


def from_lines(text: str):
    records = []
    for line in text.splitlines():
        path, class_id, *values, name = line.split(" ", 7)  # the name last: it may hold spaces
        records.append((path, int(class_id), name, *(six(float(v)) for v in values)))
    return records


def test_every_shell_gives_the_same_records(tmp_path):
    cli = subprocess.run([DUSK, "detect", CFG, WEIGHTS, *IMAGES, "--names", NAMES, "--thresh", "0.3", "--nms-kind",
                          "diounms", "--resize", "linear", "--letterbox", "--precision", "bf16", "--tiles", "2x2",
                          "--threads", "1", "--jsonl", "-"], capture_output=True, text=True, check=True)
    by_cli = []
    for line in cli.stdout.splitlines():
        record = json.loads(line)
        for o in record["objects"]:
            r = o["relative_coordinates"]
            by_cli.append((record["filename"], o["class_id"], o["name"], r["center_x"], r["center_y"], r["width"],
                           r["height"], o["confidence"]))

    cpp = subprocess.run([str(BUILD / "tests" / "parity_cpp"), CFG, WEIGHTS, NAMES, *IMAGES], capture_output=True,
                         text=True, check=True)
    by_cpp = from_lines(cpp.stdout)

    program = tmp_path / "parity_c"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", f"-I{SOURCE / 'include'}",
                    str(SOURCE / "tests" / "parity" / "parity_c.c"), f"-L{BUILD}", "-ldusk", f"-Wl,-rpath,{BUILD}",
                    "-o", str(program)], check=True)
    by_c = from_lines(subprocess.run([str(program), CFG, WEIGHTS, NAMES, *IMAGES], capture_output=True, text=True,
                                     check=True).stdout)

    detector = dusk.Detector(CFG, WEIGHTS, names=NAMES, thresh=0.3, nms_kind="diounms", resize="linear",
                             letterbox=True, precision="bf16", tiles="2x2", threads=1)
    by_python = [(path, d.class_id, d.label, *(six(v) for v in d.relative), six(d.confidence))
                 for path, found in zip(IMAGES, detector.detect(IMAGES)) for d in found]
    by_record = [(path, o["class_id"], o["name"], *o["relative_coordinates"].values(), o["confidence"])
                 for path in IMAGES for o in detector.record(path)["objects"]]

    assert len(by_cli) >= 20  # dogs, horses, people, a kite, an eagle, giraffes
    assert by_cpp == by_cli
    assert by_c == by_cli
    assert by_python == by_cli
    assert by_record == by_cli
