"""python3 -m dusk detect|inspect|map ...: the dusk command's main subcommands from Python."""
from __future__ import annotations

import argparse
import json
import sys

import dusk


def _size(text):
    if text is None:
        return None
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def _detect(args) -> int:
    detector = dusk.Detector(args.cfg, args.weights, names=args.names, thresh=args.thresh, nms=args.nms,
                             letterbox=args.letterbox, threads=args.threads, size=_size(args.size))
    failures = 0
    frames = []
    for index, path in enumerate(args.images, start=1):
        try:
            found = detector.detect(path)
        except dusk.Error as error:
            print(f"dusk: error: {error}", file=sys.stderr)
            failures += 1
            continue
        print(f"{path}: {len(found)} objects")
        for d in found:
            left, top, width, height = d.box
            print(f"{d.label}: {d.confidence * 100:.0f}%\t(left_x: {left:4.0f}   top_y: {top:4.0f}   "
                  f"width: {width:4.0f}   height: {height:4.0f})")
        frames.append({"frame_id": index, "filename": path, "objects": [d.to_dict() for d in found]})
    if args.json:
        with open(args.json, "w") as out:
            json.dump(frames, out, indent=1)
    return 1 if failures else 0


def _inspect(args) -> int:
    report = dusk.inspect(args.cfg, args.weights)
    print(json.dumps(report, indent=1) if args.json else report["verdict"])
    return 0 if report["fits"] else 1


def _map(args) -> int:
    result = dusk.map(args.data, args.cfg, args.weights, points=args.points, iou_thresh=args.iou_thresh,
                      thresh=args.thresh, threads=args.threads, list=args.list, coco=args.coco)
    for c in result["classes"]:
        print(f"class_id = {c['class_id']}, name = {c['name']}, ap = {c['ap'] * 100:.2f}%   \t "
              f"(TP = {c['tp']}, FP = {c['fp']}) ")
    print(f" mean average precision (mAP@{args.iou_thresh:.2f}) = {result['map']:f}, or {result['map'] * 100:.2f} % ")
    for failure in result["failures"]:
        print(f"dusk: error: {failure}", file=sys.stderr)
    return 1 if result["failures"] else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m dusk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    detect = commands.add_parser("detect", help="detect objects in images")
    detect.add_argument("cfg")
    detect.add_argument("weights")
    detect.add_argument("images", nargs="+")
    detect.add_argument("--names")
    detect.add_argument("--thresh", type=float, default=0.25)
    detect.add_argument("--nms", type=float, default=0.45)
    detect.add_argument("--letterbox", action="store_true")
    detect.add_argument("--threads", type=int)
    detect.add_argument("--size")
    detect.add_argument("--json", help="write Darknet's -out JSON here")
    detect.set_defaults(run=_detect)
    inspect = commands.add_parser("inspect", help="does a weights file fit its cfg?")
    inspect.add_argument("cfg")
    inspect.add_argument("weights")
    inspect.add_argument("--json", action="store_true")
    inspect.set_defaults(run=_inspect)
    evaluate = commands.add_parser("map", help="accuracy on labeled images, as darknet detector map")
    evaluate.add_argument("data")
    evaluate.add_argument("cfg")
    evaluate.add_argument("weights")
    evaluate.add_argument("--points", type=int, default=0)
    evaluate.add_argument("--iou-thresh", type=float, default=0.5)
    evaluate.add_argument("--thresh", type=float, default=0.25)
    evaluate.add_argument("--threads", type=int)
    evaluate.add_argument("--list")
    evaluate.add_argument("--coco", action="store_true")
    evaluate.set_defaults(run=_map)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except dusk.Error as error:
        print(f"dusk: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
