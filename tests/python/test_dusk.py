"""The dusk Python package, as installed by pip (run_pytest.sh installs it
into a fresh venv and runs this from outside the checkout)."""
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import dusk

from dusk_test_paths import SHARED, SOURCE, DUSK, CFG, WEIGHTS, NAMES, SAMPLES


@pytest.fixture(scope="module")
def detector():
    return dusk.Detector(CFG, WEIGHTS, names=NAMES)


def key(d):
    """Everything a detection says, exactly."""
    return (d.class_id, d.label, d.confidence, d.box, d.relative)


def cpp_detections(paths):
    """The C++ Detector's results through `dusk detect --json` (six decimals)."""
    out = Path(os.environ["TMPDIR"] if "TMPDIR" in os.environ else "/tmp") / f"dusk-py-{os.getpid()}.json"
    subprocess.run([DUSK, "detect", CFG, WEIGHTS, *paths, "--names", NAMES, "--json", str(out)], check=True,
                   capture_output=True)
    frames = json.loads(out.read_text())
    out.unlink()
    return {f["filename"]: [(o["class_id"], o["name"], o["confidence"],
                             tuple(o["relative_coordinates"][k] for k in ("center_x", "center_y", "width", "height")))
                            for o in f["objects"]] for f in frames}


def rounded(found):
    return [(d.class_id, d.label, round(d.confidence, 6), tuple(round(v, 6) for v in d.relative)) for d in found]


def test_installed_outside_the_checkout():
    assert not Path(dusk.__file__).resolve().is_relative_to(SOURCE / "python")
    assert Path.cwd().resolve() != SOURCE.resolve()
    assert dusk._openmp_runtime() == "libomp.so.5"


def test_paths_equal_the_cpp_detector(detector):
    expected = cpp_detections(SAMPLES)
    for path in SAMPLES:
        assert rounded(detector.detect(path)) == expected[path]
    assert sum(len(v) for v in expected.values()) > 20


def test_arrays_bgr_rgb_strided_and_batches_equal_paths(detector, tmp_path):
    for sample in SAMPLES[:3]:
        bgr = cv2.imread(sample)
        png = tmp_path / (Path(sample).stem + ".png")  # lossless: stb reads back exactly these pixels
        cv2.imwrite(str(png), bgr)
        by_path = [key(d) for d in detector.detect(str(png))]
        assert by_path == [key(d) for d in detector.detect(bgr)]
        assert by_path == [key(d) for d in detector.detect(np.ascontiguousarray(bgr[:, :, ::-1]), rgb=True)]
        assert by_path == [key(d) for d in detector.detect(bgr[:, :, ::-1], rgb=True)]  # negative stride
        wide = np.zeros((bgr.shape[0], bgr.shape[1], 4), np.uint8)
        wide[:, :, :3] = bgr
        assert by_path == [key(d) for d in detector.detect(wide[:, :, :3])]  # pixel stride 4
        padded = np.zeros((bgr.shape[0], bgr.shape[1] + 7, 3), np.uint8)
        padded[:, :bgr.shape[1]] = bgr
        assert by_path == [key(d) for d in detector.detect(padded[:, :bgr.shape[1]])]  # row padding
        batch = detector.detect([str(png), bgr, bgr[:, :, ::-1].copy()], rgb=False)
        assert [key(d) for d in batch[0]] == by_path
        assert [key(d) for d in batch[1]] == by_path
        assert rounded(detector.detect(str(png))) == cpp_detections([str(png)])[str(png)]


def test_detection_objects_and_structured_arrays(detector):
    found = detector.detect(SAMPLES[0])
    dog = [d for d in found if d.label == "dog"][0]
    assert dog.to_dict()["name"] == "dog"  # Darknet's -out key
    assert dog.to_dict()["relative_coordinates"]["center_x"] == round(dog.relative.center_x, 6)
    assert len(dog.box) == 4 and len(dog.relative) == 4
    rows = detector.detect_array(SAMPLES[0])
    assert rows.dtype == dusk.DETECTION_DTYPE and len(rows) == len(found)
    assert list(rows["class_id"]) == [d.class_id for d in found]
    assert np.allclose(rows["left"], [d.box[0] for d in found])
    assert detector.classes == 80 and detector.input_size == (320, 320) and len(detector.names) == 80


@pytest.mark.parametrize("bad, error, words", [
    (np.zeros((0, 0, 3), np.uint8), dusk.ImageError, "no pixels"),
    (np.zeros((8, 8, 3), np.float32), dusk.ImageError, "dtype float32"),
    (np.zeros((8, 8), np.uint8), dusk.ImageError, "shape 8x8"),
    (np.zeros((8, 8, 4), np.uint8), dusk.ImageError, "shape 8x8x4"),
    (np.zeros((8, 8, 3), np.int16), dusk.ImageError, "dtype int16"),
    ("/nonexistent.jpg", dusk.ImageError, "nonexistent.jpg"),
    (NAMES, dusk.ImageError, "coco.names"),
    (42, dusk.ImageError, "int"),
    ([SAMPLES[0], 7], dusk.ImageError, "int"),
])
def test_bad_images_raise_image_errors(detector, bad, error, words):
    with pytest.raises(error, match=words):
        detector.detect(bad)


def test_records_are_the_cli_jsonl_lines(detector, tmp_path):
    """Detector.record and Detection.to_dict write what `dusk detect --jsonl` writes: one record writer."""
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    paths = [SAMPLES[0], SAMPLES[1], str(broken)]
    cli = subprocess.run([DUSK, "detect", CFG, WEIGHTS, *paths, "--names", NAMES, "--jsonl", "-", "--threads", "1"],
                         capture_output=True, text=True)
    lines = [json.loads(line) for line in cli.stdout.splitlines()]
    assert len(lines) == 3
    for frame_id, (path, line) in enumerate(zip(paths, lines), start=1):
        assert detector.record(path, frame_id=frame_id) == line
    assert "error" in lines[2] and "objects" not in lines[2]
    assert [d.to_dict() for d in detector.detect(SAMPLES[0])] == lines[0]["objects"]
    no_size = detector.record(cv2.imread(SAMPLES[0]), size=False)
    assert no_size["filename"] == "image" and set(no_size) == {"filename", "objects"}


def test_a_broken_image_in_a_list_fails_alone(detector, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    items = [SAMPLES[0], str(broken), SAMPLES[1], "/nonexistent.jpg", cv2.imread(SAMPLES[2])]
    with pytest.raises(dusk.ImageError, match="2 of 5 images failed") as raised:
        detector.detect(items)
    results, failures = raised.value.results, raised.value.failures
    assert [index for index, _ in failures] == [1, 3]
    assert "broken.jpg" in failures[0][1] and "nonexistent.jpg" in failures[1][1]
    assert results[1] is None and results[3] is None
    # The good ones are what they are alone, in input order (to float noise:
    # a list's images share the threads, and a plan for fewer threads may
    # pick other kernels).
    for position in (0, 2, 4):
        alone = detector.detect(items[position])
        assert [d.label for d in results[position]] == [d.label for d in alone]
        for ours, theirs in zip(results[position], alone):
            assert ours.confidence == pytest.approx(theirs.confidence, abs=2e-3)
            assert tuple(ours.relative) == pytest.approx(tuple(theirs.relative), abs=2e-3)


def test_bad_models_raise_their_errors(tmp_path):
    with pytest.raises(dusk.CfgError, match="nonexistent.cfg"):
        dusk.Detector("/nonexistent.cfg", WEIGHTS)
    with pytest.raises(dusk.WeightsError, match="nonexistent.weights"):
        dusk.Detector(CFG, "/nonexistent.weights")
    with pytest.raises(dusk.WeightsError, match="short"):
        dusk.Detector(str(SHARED / "cfg" / "yolov3-tiny.cfg"), WEIGHTS)
    bad_cfg = tmp_path / "bad.cfg"
    bad_cfg.write_text("[net]\nwidth=abc\n")
    with pytest.raises(dusk.CfgError, match="bad.cfg:2"):
        dusk.Detector(str(bad_cfg), WEIGHTS)
    with pytest.raises(dusk.Error, match="nonexistent.names"):
        dusk.Detector(CFG, WEIGHTS, names="/nonexistent.names")
    with pytest.raises(dusk.Error, match="thresh"):
        dusk.Detector(CFG, WEIGHTS, thresh=3)
    assert issubclass(dusk.CfgError, dusk.Error) and issubclass(dusk.ImageError, dusk.Error)


def test_library_messages_name_python_keywords():
    # A library limit is said with the keyword that raises it (no NetworkOptions:: names).
    with pytest.raises(dusk.Error, match=r"raise the limit \(max_memory\)$"):
        dusk.Detector(CFG, WEIGHTS, size=(4096, 4096), max_memory=1)
    with pytest.raises(dusk.Error, match="max_memory 0 is out of range"):
        dusk.Detector(CFG, WEIGHTS, max_memory=0)


def test_precision_option_fallback_and_strict(monkeypatch):
    with pytest.raises(dusk.Error, match="precision 'fp8' is unknown"):
        dusk.Detector(CFG, WEIGHTS, precision="fp8")
    monkeypatch.setenv("DUSK_CPU_FEATURES", "none")  # as on a CPU without a bf16 unit
    fell_back = dusk.Detector(CFG, WEIGHTS, precision="bf16")
    assert fell_back.precision == "fp32"
    assert len(fell_back.notices) == 1 and "precision bf16 is not available" in fell_back.notices[0]
    with pytest.raises(dusk.Error, match="or drop strict$"):  # the keyword, as Python spells the option
        dusk.Detector(CFG, WEIGHTS, precision="bf16", strict=True)
    assert dusk.Detector(CFG, WEIGHTS).precision == "fp32"


def test_int8_with_a_calibration_file(tmp_path):
    calib = tmp_path / "yolo-fastest.calib"
    subprocess.run([DUSK, "calibrate", CFG, WEIGHTS, *SAMPLES[:3], "-o", str(calib)], check=True, capture_output=True)
    detector = dusk.Detector(CFG, WEIGHTS, names=NAMES, precision="int8", calib=calib)
    if not detector.notices:  # this CPU has an int8 unit
        assert detector.precision == "int8"
        assert [d.label for d in detector.detect(SAMPLES[0])].count("dog") == 1
    with pytest.raises(dusk.Error, match="not a dusk calibration file"):
        dusk.Detector(CFG, WEIGHTS, precision="int8", calib=__file__)


def test_eight_threads_equal_sequential_results(detector):
    images = [cv2.imread(p) for p in SAMPLES]
    expected = [[key(d) for d in detector.detect(i)] for i in images]
    mismatches = []

    def work(t):
        for n in range(50):
            which = (t * 7 + n) % len(images)
            if [key(d) for d in detector.detect(images[which])] != expected[which]:
                mismatches.append((t, n))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mismatches == []


def test_the_gil_is_released_during_detection(detector):
    images = sorted(str(p) for p in (SHARED / "data" / "coco128" / "images" / "val2017").glob("*.jpg"))[:64]
    counter = [0]
    done = threading.Event()

    def count():
        while not done.is_set():
            counter[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.05)
    before = counter[0]
    start = time.perf_counter()
    detector.detect(images)  # one call into C++, several hundred ms
    elapsed = time.perf_counter() - start
    during = counter[0] - before
    done.set()
    thread.join()
    assert elapsed > 0.1
    # With the GIL held for the whole call the counter would stand still.
    assert during > 10000, f"the Python thread counted only {during} times in {elapsed:.2f} s"


def test_inspect_forward_map_and_annotate(tmp_path):
    report = dusk.inspect(CFG, WEIGHTS)
    assert report["fits"] and report["status"] == "fits" and report["total_params"] > 0
    short = dusk.inspect(str(SHARED / "cfg" / "yolov3-tiny.cfg"), WEIGHTS)
    assert not short["fits"] and "short" in short["verdict"]

    heads = dusk.forward(CFG, WEIGHTS, SAMPLES[0])
    assert sorted(heads) == ["yolo_121", "yolo_130"]
    for layer, shape in (("121", "255x10x10"), ("130", "255x20x20")):  # Darknet's own head outputs
        darknet = np.fromfile(SHARED / "reference" / f"yolo-fastest-1.1_dog.jpg_lb0_layer{layer}_{shape}.f32", np.float32)
        assert np.abs(heads[f"yolo_{layer}"].ravel() - darknet).max() < 1e-4

    images = sorted(str(p) for p in (SHARED / "data" / "coco128" / "images" / "val2017").glob("*.jpg"))
    (tmp_path / "list.txt").write_text("\n".join(images) + "\n")
    (tmp_path / "coco.data").write_text(f"classes=80\nvalid={tmp_path / 'list.txt'}\nnames={NAMES}\n")
    result = dusk.map(str(tmp_path / "coco.data"), CFG, WEIGHTS, points=11)
    darknet = (SHARED / "reference" / "map" / "yolo-fastest-1.1_coco128-val_p11.txt").read_text()
    assert f"(mAP@0.50) = {result['map']:f}" in darknet
    assert result["detections_count"] == 22535 and result["images"] == 128

    bgr = cv2.imread(SAMPLES[0])
    drawn = dusk.annotate(bgr, dusk.Detector(CFG, WEIGHTS).detect(bgr))
    assert drawn.shape == bgr.shape and drawn.dtype == np.uint8 and (drawn != bgr).any()
    assert (cv2.imread(SAMPLES[0]) == bgr).all()  # the input is not modified


def test_python_m_dusk_mirrors_the_cli(tmp_path):
    import sys
    out = subprocess.run([sys.executable, "-m", "dusk", "detect", CFG, WEIGHTS, SAMPLES[0], "--names", NAMES,
                          "--json", str(tmp_path / "o.json")], capture_output=True, text=True, check=True)
    assert "dog: 65%" in out.stdout
    cli = cpp_detections([SAMPLES[0]])[SAMPLES[0]]
    ours = json.loads((tmp_path / "o.json").read_text())[0]["objects"]
    assert [(o["class_id"], o["confidence"]) for o in ours] == [(c[0], c[2]) for c in cli]
    bad = subprocess.run([sys.executable, "-m", "dusk", "detect", "/nonexistent.cfg", WEIGHTS, SAMPLES[0]],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("dusk: error: ") and bad.stderr.count("\n") == 1


def test_help_is_useful():
    assert "names" in dusk.Detector.__doc__ and "rgb=True" in dusk.Detector.detect.__doc__
    assert "GIL" in dusk.__doc__
    assert (Path(dusk.__file__).parent / "_dusk.pyi").exists() and (Path(dusk.__file__).parent / "py.typed").exists()


def test_public_face():
    """dir(dusk) is the API; Detector.annotate needs no class count."""
    assert "np" not in dir(dusk) and "os" not in dir(dusk) and "Detector" in dir(dusk)
    detector = dusk.Detector(CFG, WEIGHTS, names=NAMES)
    image = cv2.imread(SAMPLES[0])
    found = detector.detect(image)
    assert np.array_equal(detector.annotate(image, found), dusk.annotate(image, found, classes=80))
    assert not np.array_equal(detector.annotate(image, found), image)


def test_boxes_are_named_tuples():
    detector = dusk.Detector(CFG, WEIGHTS, names=NAMES)
    dog = [d for d in detector.detect(SAMPLES[0]) if d.label == "dog"][0]
    left, top, width, height = dog.box
    assert (dog.box.left, dog.box.top, dog.box.width, dog.box.height) == (left, top, width, height)
    assert isinstance(dog.box, dusk.Box) and isinstance(dog.box, tuple)
    assert dog.relative.center_x == dog.relative[0] and isinstance(dog.relative, dusk.RelativeBox)

