"""dusk: Darknet/YOLO detection on the CPU, with Darknet's own numbers.

    >>> import dusk
    >>> detector = dusk.Detector("yolo-fastest-1.1.cfg", "yolo-fastest-1.1.weights", names="coco.names")
    >>> detector.detect("dog.jpg")            # a path, an HxWx3 uint8 array (BGR) or a list of them
    [Detection(dog, 0.6495, box=(122, 222, 244, 295)), ...]

Errors are dusk.Error subclasses (CfgError, WeightsError, ImageError) whose
message is the same one line the dusk command prints. Detection releases the
GIL; one Detector may be used from many threads at once.
"""
from __future__ import annotations

import json
import os
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _dusk

__all__ = [
    "Detector", "Detection", "Box", "RelativeBox", "Tracker", "TrackedObject", "TrackFrame", "linear_assignment", "Error", "CfgError", "WeightsError", "ImageError", "inspect", "forward", "map",
    "adapt_bn", "annotate", "load_labels", "DETECTION_DTYPE", "__version__",
]
__version__ = "0.1.0"


class Error(Exception):
    """Anything dusk refuses or cannot do; the message says what, where and what to do."""


class CfgError(Error):
    """The .cfg cannot be read, or describes a network dusk does not run."""


class WeightsError(Error):
    """The .weights file cannot be read or does not fit the cfg."""


class ImageError(Error):
    """An image that cannot be read, or an array that is not HxWx3 uint8 pixels."""


_dusk._set_error_classes(Error, CfgError, WeightsError, ImageError)

Detection = _dusk.Detection
Box = _dusk.Box
RelativeBox = _dusk.RelativeBox
Detection.__doc__ = """One detected object of one class.

    label, class_id, confidence (objectness x class probability),
    box: (left, top, width, height) in pixels, relative: (center_x, center_y,
    width, height) relative to the image, as Darknet's -out JSON; to_dict()."""

#: The dtype of Detector.detect_array's rows.
DETECTION_DTYPE = np.dtype([("class_id", "<i4"), ("confidence", "<f4"), ("left", "<f4"), ("top", "<f4"),
                            ("width", "<f4"), ("height", "<f4"), ("center_x", "<f4"), ("center_y", "<f4"),
                            ("rel_width", "<f4"), ("rel_height", "<f4")])

Image = Union[str, os.PathLike, np.ndarray]


def load_labels(path: Union[str, os.PathLike]) -> List[str]:
    """The class names of a Darknet .names file, one per line."""
    return _dusk.load_labels(os.fspath(path))


class Detector:
    """A Darknet model loaded once, detecting on any number of images.

    cfg, weights: the Darknet .cfg and .weights files.
    names: a .names file path or a list of class names (default: class ids as labels).
    thresh: minimum objectness x class probability; nms: overlap above which a
    weaker box of the same class is dropped (0 disables NMS).
    letterbox: keep the aspect ratio (Darknet's -letter_box).
    threads: threads for the network (default: the CPUs this process may use).
    size: (width, height) network input instead of the cfg's.
    backend: "auto", "fast" (oneDNN) or "ref" (reference kernels).
    precision: "auto", "fp32", "bf16" or "int8" (the convolutions' arithmetic;
    heads stay fp32). A mode this CPU lacks runs fp32 and says so in
    `notices`, or raises with strict=True. int8 needs `calib`, a file from
    `dusk calibrate` made with these weights; accept: the least accurate mode
    precision="auto" may pick.
    nms_kind: "default" (Darknet's detector test), "greedynms", "diounms",
    "cornersnms", or "cfg" (the cfg's own). resize: "darknet", "linear" or
    "nearest" (how images are scaled to the network).
    tiles: "CxR", (columns, rows) or "auto": each image cut into overlapping
    tiles (tile_overlap, 0 to 0.5), detected and merged. batch: images per
    forward pass when detecting on a list (not with tiles).
    max_image_pixels: refuse larger images (default 67 Mpx). max_memory:
    refuse networks whose layer outputs need more MiB (default 8192).
    These are the command line's options, with its names and checks.
    """

    def __init__(self, cfg: Union[str, os.PathLike], weights: Union[str, os.PathLike],
                 names: Union[None, str, os.PathLike, Sequence[str]] = None, thresh: float = 0.25, nms: float = 0.45,
                 letterbox: bool = False, threads: Optional[int] = None, size: Optional[Tuple[int, int]] = None,
                 backend: str = "auto", precision: str = "auto", strict: bool = False,
                 calib: Union[None, str, os.PathLike] = None, nms_kind: str = "default", resize: str = "darknet",
                 tiles: Union[None, str, Tuple[int, int]] = None, tile_overlap: float = 0.1, batch: int = 1,
                 accept: str = "fp32", max_image_pixels: Optional[int] = None,
                 max_memory: Optional[int] = None) -> None:
        if names is None:
            labels: List[str] = []
        elif isinstance(names, (str, os.PathLike)):
            labels = load_labels(names)
        else:
            labels = [str(n) for n in names]
        if threads is not None and threads < 1:
            raise Error(f"threads={threads}: give a positive count, or None for the CPUs this process may use")
        # Every option is checked in C++ through dusk's option table, as the CLI's and the C API's are.
        options = {"thresh": float(thresh), "nms": float(nms), "letterbox": bool(letterbox), "backend": backend,
                   "precision": precision, "accept": accept, "strict": bool(strict), "nms_kind": nms_kind,
                   "resize": resize, "tile_overlap": float(tile_overlap), "batch": int(batch)}
        if threads is not None:
            options["threads"] = int(threads)
        if size is not None:
            options["size"] = (int(size[0]), int(size[1]))
        if calib is not None:
            options["calib"] = os.fspath(calib)
        if tiles is not None:
            options["tiles"] = tiles if isinstance(tiles, str) else f"{int(tiles[0])}x{int(tiles[1])}"
        if max_image_pixels is not None:
            options["max_image_pixels"] = int(max_image_pixels)
        if max_memory is not None:
            options["max_memory"] = int(max_memory)
        self._impl = _dusk.Detector(os.fspath(cfg), os.fspath(weights), labels, options)

    @property
    def classes(self) -> int:
        """How many classes the model detects."""
        return self._impl.classes

    @property
    def precision(self) -> str:
        """The arithmetic the network runs in: "fp32", "bf16" or "int8"."""
        return self._impl.precision

    @property
    def notices(self) -> List[str]:
        """Notices from loading, as a precision that fell back to fp32."""
        return list(self._impl.notices)

    @property
    def input_size(self) -> Tuple[int, int]:
        """The network input (width, height)."""
        return self._impl.input_size

    @property
    def threads(self) -> int:
        """The thread budget; concurrent calls share it."""
        return self._impl.threads

    @property
    def names(self) -> List[str]:
        """The class names given (empty when none were)."""
        return list(self._impl.labels)

    def detect(self, image: Union[Image, Sequence[Image]], rgb: bool = False) -> Union[List[Detection], List[List[Detection]]]:
        """Detections on one image, or one list per image for a list (a batch, run in parallel).

        image: a file path, or an HxWx3 uint8 array, BGR as OpenCV gives it
        (rgb=True for RGB); views and strided arrays are fine.

        In a list, an image that fails (unreadable, too large) fails alone:
        every other one is still detected, then ImageError is raised naming
        each failure; its .results holds every image's detections in input
        order (None where it failed) and .failures the (index, message) pairs.
        """
        if isinstance(image, (list, tuple)):
            results, failures = self._impl.detect_batch(
                [os.fspath(i) if isinstance(i, os.PathLike) else i for i in image], rgb)
            if failures:
                error = ImageError(f"{len(failures)} of {len(results)} images failed: "
                                   + "; ".join(message for _, message in failures))
                error.results, error.failures = results, failures
                raise error
            return results
        if isinstance(image, (str, os.PathLike)):
            return self._impl.detect_path(os.fspath(image))
        if isinstance(image, np.ndarray):
            return self._impl.detect_array(image, rgb)
        raise ImageError(f"cannot detect on a {type(image).__name__}; give a path, an HxWx3 uint8 array or a list of them")

    def record(self, image: Image, frame_id: Optional[int] = None, size: bool = True, rgb: bool = False) -> Dict:
        """Darknet's -out record of one image, as `dusk detect --jsonl` writes it.

        {"frame_id": frame_id (when given), "filename": the path (or "image"
        for an array), "objects": [Detection.to_dict(), ...], "width",
        "height" (with size=True)}. An image that cannot be read gives a
        record with "error" (the message) in place of the objects and size,
        not an exception.
        """
        if isinstance(image, os.PathLike):
            image = os.fspath(image)
        if not isinstance(image, (str, np.ndarray)):
            raise ImageError(f"cannot detect on a {type(image).__name__}; give a path or an HxWx3 uint8 array")
        return json.loads(self._impl.record(image, rgb, frame_id, size))

    def detect_array(self, image: Image, rgb: bool = False) -> np.ndarray:
        """Detections on one image as one structured array (dtype DETECTION_DTYPE), for bulk processing."""
        found = self.detect(image, rgb)
        rows = np.empty(len(found), dtype=DETECTION_DTYPE)
        _dusk.fill_structured(found, rows)
        return rows

    def annotate(self, image: np.ndarray, detections: Sequence[Detection], rgb: bool = False) -> np.ndarray:
        """A copy of an HxWx3 uint8 image with this model's boxes drawn in Darknet's class colours."""
        return annotate(image, detections, classes=self.classes, rgb=rgb)

    def track(self, source: Union[str, os.PathLike, Iterable[np.ndarray]], high: float = 0.5, low: float = 0.1,
              match: float = 0.8, buffer: int = 30, fps: Optional[float] = None,
              rgb: bool = False) -> Iterator["TrackFrame"]:
        """Tracks objects through a video, frame by frame (a generator of TrackFrame).

        source: a video file path (read with OpenCV's Python package, cv2), or
        any iterable of HxWx3 uint8 frames (BGR, or RGB with rgb=True).
        Each frame is detected at threshold `low` (this detector's other
        options unchanged) and fed to a Tracker(high, low, match, buffer,
        fps); fps defaults to the file's rate, else 30. timestamp_ms is the
        frame's index / fps.
        """
        frames: Iterable[np.ndarray]
        if isinstance(source, (str, os.PathLike)):
            try:
                import cv2  # only for reading video files
            except ImportError as missing:
                raise Error("Detector.track on a video file needs OpenCV's Python package (Debian: python3-opencv); "
                            "or pass the frames as arrays") from missing
            capture = cv2.VideoCapture(os.fspath(source))
            if not capture.isOpened():
                raise ImageError(f"cannot open video {os.fspath(source)}")
            if fps is None:
                rate = capture.get(cv2.CAP_PROP_FPS)
                fps = rate if 0 < rate < 1000 else 30.0

            def read() -> Iterator[np.ndarray]:
                try:
                    while True:
                        ok, frame = capture.read()
                        if not ok:
                            return
                        yield frame
                finally:
                    capture.release()
            frames = read()
        else:
            frames = source
        rate = float(fps) if fps is not None else 30.0
        tracker = Tracker(high=high, low=low, match=match, buffer=buffer, fps=rate)
        for index, frame in enumerate(frames):
            detections = self._impl.detect_array_at(frame, rgb, float(low))
            yield TrackFrame(index, index * 1000.0 / rate, tracker.update(detections), frame)

    def __repr__(self) -> str:
        width, height = self.input_size
        return f"Detector({self.classes} classes, input {width}x{height}, {self.threads} threads)"


class TrackedObject(NamedTuple):
    """A confirmed track matched in a frame: its ID and the detection it matched."""
    track_id: int
    detection: Detection

    def to_dict(self) -> Dict:
        record = self.detection.to_dict()
        record["track_id"] = self.track_id
        return record


class TrackFrame(NamedTuple):
    """One frame of Detector.track: its index, time, tracked objects and pixels."""
    index: int
    timestamp_ms: float
    objects: List[TrackedObject]
    image: np.ndarray


class Tracker:
    """ByteTrack (Zhang et al., ECCV 2022) as its reference code runs it, one tracker per class.

    Feed update() each frame's detections (from any detector: dusk's at
    threshold `low`, or Detection(class_id, confidence, box) of your own) in
    frame order; it returns the confirmed tracks matched in that frame. IDs
    start at 1 and are unique across classes. high: detections above it are
    matched first, new tracks need high + 0.1; low: weaker ones down to it
    rescue tracked objects; match: the largest 1 - IoU x score accepted;
    buffer: frames (at 30 frames/s, scaled by fps / 30) a lost track is kept.
    """

    def __init__(self, high: float = 0.5, low: float = 0.1, match: float = 0.8, buffer: int = 30,
                 fps: float = 30.0) -> None:
        self._impl = _dusk.Tracker(float(high), float(low), float(match), int(buffer), float(fps))

    def update(self, detections: Sequence[Detection]) -> List[TrackedObject]:
        """One frame's detections in; the tracked objects of that frame out."""
        found = list(detections)
        return [TrackedObject(track_id, found[index]) for track_id, index in self._impl.update(found)]

    @property
    def removed(self) -> List[int]:
        """Track IDs dropped for good during the last update."""
        return list(self._impl.removed)

    @property
    def frames(self) -> int:
        """Frames seen so far."""
        return self._impl.frames

    @property
    def buffer_frames(self) -> int:
        """The buffer in frames at this tracker's fps."""
        return self._impl.buffer_frames


def linear_assignment(cost: np.ndarray, limit: float) -> Tuple[List[Tuple[int, int]], List[int], List[int]]:
    """The minimum-cost matching of rows to columns with no pair costing more than limit
    (what ByteTrack gets from LAPJV with cost_limit): (matches, unmatched rows, unmatched columns)."""
    matches, rows, cols = _dusk.linear_assignment(np.asarray(cost, dtype=np.float64), float(limit))
    return [tuple(m) for m in matches], list(rows), list(cols)


def inspect(cfg: Union[str, os.PathLike], weights: Union[str, os.PathLike]) -> Dict:
    """Does a weights file fit a cfg? The verdict of `dusk inspect` as a dict:
    fits, status (fits/short/trailing), verdict (one line), totals, layers."""
    return _dusk.inspect(os.fspath(cfg), os.fspath(weights))


def forward(cfg: Union[str, os.PathLike], weights: Union[str, os.PathLike], image: Optional[Image] = None,
            layers: Optional[Sequence[int]] = None, size: Optional[Tuple[int, int]] = None,
            threads: Optional[int] = None, letterbox: bool = False, rgb: bool = False) -> Dict[str, np.ndarray]:
    """Raw outputs of chosen layers (default: the detection heads) as CxHxW float32
    arrays named like "yolo_30". image: path or array, resized as detect does;
    None feeds a uniform 0.5 input."""
    width, height = (0, 0) if size is None else (int(size[0]), int(size[1]))
    if isinstance(image, os.PathLike):
        image = os.fspath(image)
    return _dusk.forward(os.fspath(cfg), os.fspath(weights), image, None if layers is None else list(layers), width,
                         height, int(threads or 0), bool(letterbox), bool(rgb))


def map(data: Union[str, os.PathLike], cfg: Union[str, os.PathLike], weights: Union[str, os.PathLike],
        points: int = 0, iou_thresh: float = 0.5, thresh: float = 0.25, letterbox: Optional[bool] = None,
        threads: Optional[int] = None, list: Union[None, str, os.PathLike] = None, coco: bool = False,
        size: Optional[Tuple[int, int]] = None, names: Union[None, str, os.PathLike] = None) -> Dict:
    """Accuracy on labeled images as `darknet detector map` computes it (see `dusk map`).

    Returns map, per-class ap/tp/fp/truths, totals at thresh, and with
    coco=True COCO-style AP@[.50:.95]; letterbox None follows the cfg.
    list and names replace the .data file's valid= and names=."""
    if points != 0 and points < 2:
        raise Error(f"points={points}: use 0 (area under the curve), or 2 and more (11, 101)")
    width, height = (0, 0) if size is None else (int(size[0]), int(size[1]))
    return _dusk.map(os.fspath(data), os.fspath(cfg), os.fspath(weights), int(points), float(iou_thresh),
                     float(thresh), letterbox, int(threads or 0), "" if list is None else os.fspath(list), bool(coco),
                     width, height, "" if names is None else os.fspath(names))


def adapt_bn(cfg: Union[str, os.PathLike], weights: Union[str, os.PathLike], images: Sequence[Union[str, os.PathLike]],
             out: Union[str, os.PathLike], batch: int = 8, momentum: Optional[float] = None, letterbox: bool = False,
             threads: Optional[int] = None) -> Dict:
    """BatchNorm statistics re-estimated on unlabeled images of a new domain (`dusk adapt-bn`).

    Runs the images (paths, fitted as detect fits them) in batches with every
    BatchNorm in training mode: each batch normalized by its own mean and
    biased variance, the running mean and unbiased variance averaged over all
    batches (momentum None, PyTorch's momentum=None) or exponentially
    (running = (1 - momentum) * running + momentum * batch, from the file's).
    Writes out: the weights file with only the BatchNorm means and variances
    and the header's seen count changed. Images that do not decode are skipped.
    Returns images, batches, layers (the adapted ones), skipped [(path, why)], seen."""
    paths = [os.fspath(p) for p in ([images] if isinstance(images, (str, os.PathLike)) else images)]
    for path in paths:
        if os.path.isdir(path):
            raise Error(f"{path} is a directory; give image paths, e.g. sorted(glob.glob('{path}/*.jpg'))")
    return _dusk.adapt_bn(os.fspath(cfg), os.fspath(weights), paths, os.fspath(out), int(batch),
                          None if momentum is None else float(momentum), bool(letterbox), int(threads or 0))


def annotate(image: np.ndarray, detections: Sequence[Detection], classes: Optional[int] = None,
             rgb: bool = False) -> np.ndarray:
    """A copy of an HxWx3 uint8 image with Darknet-style boxes and labels drawn (same channel order).

    classes: the model's class count, which sets Darknet's colour of each class;
    None: 80 (COCO's). Detector.annotate passes its own."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"annotate takes an HxWx3 uint8 array, not a {type(image).__name__}")
    return _dusk.annotate(image, list(detections), 80 if classes is None else int(classes), bool(rgb))


def _openmp_runtime() -> str:
    """The OpenMP runtime file serving dusk's threads (libomp.so.5 expected)."""
    return _dusk.openmp_runtime()


def __dir__() -> List[str]:
    """The public API only (not the modules this one imports)."""
    return sorted(__all__)
