"""The command line as a person sees it: one progress line on a terminal
(count, rate, ETA) and none on a pipe, for every long command; summaries
that read right when everything failed."""
import errno
import os
import select
import subprocess

import pytest

from dusk_test_paths import SHARED, DUSK, CFG, WEIGHTS, NAMES, SAMPLES
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
COCO128 = SHARED / "data" / "coco128" / "images" / "val2017"  # 128 images: long enough for a rate and an ETA


def on_terminal(args):
    """Runs dusk with stderr on a pseudo-terminal; returns (exit code, what the terminal got)."""
    master, slave = os.openpty()
    process = subprocess.Popen([DUSK, *args], stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    received = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            process.kill()
            pytest.fail("dusk wrote nothing to the terminal for 120 s")
        try:
            chunk = os.read(master, 65536)
        except OSError as error:  # EIO: the child closed its end
            if error.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    return process.wait(), received.decode()


def visible(stream):
    """What a terminal shows after `stream`: carriage returns, erase-to-end and newlines applied."""
    lines, line, column = [], "", 0
    i = 0
    while i < len(stream):
        if stream.startswith("\x1b[K", i):
            line = line[:column]
            i += 3
            continue
        c = stream[i]
        if c == "\r":
            column = 0
        elif c == "\n":
            lines.append(line)
            line, column = "", 0
        else:
            line = line[:column] + c + line[column + 1:]
            column += 1
        i += 1
    if line:
        lines.append(line)
    return lines


def on_pipe(args):
    result = subprocess.run([DUSK, *args], capture_output=True, text=True)
    return result.returncode, result.stderr


def data_file(tmp_path):
    images = sorted(COCO128.glob("*.jpg"))
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{p}\n" for p in images))
    data = tmp_path / "coco.data"
    data.write_text(f"classes=80\nvalid={listing}\nnames={NAMES}\n")
    return str(data)


def long_commands(tmp_path):
    return {
        "detect images": ["detect", CFG, WEIGHTS, str(COCO128), "--names", NAMES, "--threads", "1"],
        "detect video": ["detect", CFG, WEIGHTS, VTEST, "--max-frames", "200", "--threads", "1", "--jsonl",
                         str(tmp_path / "v.jsonl")],
        "map": ["map", data_file(tmp_path), CFG, WEIGHTS, "--threads", "1"],
        "calibrate": ["calibrate", CFG, WEIGHTS, *sorted(str(p) for p in COCO128.glob("*.jpg"))[:40], "-o",
                      str(tmp_path / "x.calib")],
    }


@pytest.mark.parametrize("command", ["detect images", "detect video", "map", "calibrate"])
def test_progress_on_a_terminal_and_none_on_a_pipe(tmp_path, command):
    args = long_commands(tmp_path)[command]
    code, screen = on_terminal(args)
    assert code == 0, screen
    unit = "frames/s" if command == "detect video" else "images/s"
    drawn = [part.split("\x1b")[0] for part in screen.split("\r") if part.startswith("[")]
    assert drawn, f"no progress line in {screen!r}"
    for line in drawn:
        count = line.split("]")[0]
        assert count.count("/") == 1, line  # [done/total]
        if " " in line:  # after the first fifth of a second: rate and ETA
            assert unit in line, line
    assert any("ETA" in line for line in drawn), drawn
    # Once done, nothing of the progress line is left on the screen.
    shown = visible(screen)
    assert shown and shown[-1].startswith("dusk"), shown[-3:]
    assert not any(line.startswith("[") for line in shown), shown
    (tmp_path / "x.calib").unlink(missing_ok=True)
    (tmp_path / "v.jsonl").unlink(missing_ok=True)
    code, piped = on_pipe(args)
    assert code == 0, piped
    assert "\r" not in piped and "\x1b" not in piped and "ETA" not in piped


def test_summaries_when_everything_failed(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    code, err = on_pipe(["detect", CFG, WEIGHTS, str(broken)])
    assert code == 1
    assert err.strip().split("\n")[-1] == "dusk: 1 image, which failed"
    code, err = on_pipe(["detect", CFG, WEIGHTS, str(broken), str(broken)])
    assert err.strip().split("\n")[-1] == "dusk: 2 images, all failed"
    code, err = on_pipe(["detect", CFG, WEIGHTS, SAMPLES[0], str(broken)])
    assert "dusk: 2 images, 7 detections, 1 failed, " in err
