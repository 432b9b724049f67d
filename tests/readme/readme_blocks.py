"""The code blocks of README.md, each marked by the HTML comment on the line
before its fence:

    <!-- example: run -->        run it (in a directory holding yolo.cfg,
                                 yolo.weights, coco.names, dog.jpg, clip.mp4,
                                 street.mp4, images/ made from the real files)
    <!-- example: synopsis -->   a usage summary: every `dusk CMD` and --flag
                                 in it must exist (checked against --help)
    <!-- example: skip: WHY -->  shown only (it needs a camera, a cluster...)

Every cpp, c, python and sh block must carry one."""
import os
import re
from pathlib import Path
from typing import List, NamedTuple

LANGUAGES = ("cpp", "c", "python", "sh")


class Block(NamedTuple):
    line: int       # of the opening fence, 1-based
    language: str
    kind: str       # run, synopsis, skip
    code: str


def blocks(readme: Path) -> List[Block]:
    lines = readme.read_text().split("\n")
    found, unmarked = [], []
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        language = fence.group(1)
        if language in LANGUAGES:
            mark = re.match(r"^<!-- example: (run|synopsis|skip\b[^>]*) -->$", lines[i - 1].strip()) if i else None
            if mark:
                kind = re.match(r"\w+", mark.group(1)).group(0)
                found.append(Block(i + 1, language, kind, "\n".join(lines[i + 1:end]) + "\n"))
            else:
                unmarked.append(f"README.md:{i + 1}: a {language} block without an <!-- example: ... --> mark")
        i = end + 1
    if unmarked:
        raise SystemExit("\n".join(unmarked))
    return found


def make_fixtures(directory: Path, shared: Path) -> Path:
    """The files the README's examples name, made from real ones."""
    directory.mkdir(parents=True, exist_ok=True)
    model = shared / "models"
    links = {
        "yolo.cfg": model / "yolo-fastest-1.1.cfg",
        "yolo.weights": model / "yolo-fastest-1.1.weights",
        "coco.names": model / "coco.names",
        "dog.jpg": Path("/usr/share/darknet/data/dog.jpg"),
        "clip.mp4": Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi"),
        "street.mp4": Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi"),
    }
    for name, target in links.items():
        link = directory / name
        if not link.exists():
            os.symlink(target, link)
    images = directory / "images"
    images.mkdir(exist_ok=True)
    for name in ("dog", "horses", "person"):
        link = images / f"{name}.jpg"
        if not link.exists():
            os.symlink(f"/usr/share/darknet/data/{name}.jpg", link)
    return directory
