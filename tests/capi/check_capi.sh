#!/usr/bin/env bash
# Installs dusk into a temporary prefix, compiles tests/capi/test_capi.c as C
# against it through pkg-config, runs it, and compares its detections with
# `dusk detect --json` (the C++ Detector) on Darknet's sample images.
#   check_capi.sh BUILD_DIR SOURCE_DIR SHARED_DIR
set -euo pipefail
build_dir="$1" source_dir="$2" shared_dir="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
cc -std=c99 -Wall -Wextra -pedantic -Werror $(pkg-config --cflags dusk) "$source_dir/tests/capi/test_capi.c" \
  $(pkg-config --libs dusk) -lpthread -o "$work/test_capi"
model="$shared_dir/models/yolo-fastest-1.1"
images=(/usr/share/darknet/data/{dog,horses,person,kite,eagle,giraffe}.jpg)
LD_LIBRARY_PATH="$work/prefix/lib" "$work/test_capi" "$model.cfg" "$model.weights" "$shared_dir/models/coco.names" \
  "$shared_dir/cfg/yolov3-tiny.cfg" "${images[@]}" >"$work/c.txt"
"$work/prefix/bin/dusk" detect "$model.cfg" "$model.weights" "${images[@]}" --names "$shared_dir/models/coco.names" \
  --json "$work/cpp.json" >/dev/null 2>&1
python3 - "$work/cpp.json" >"$work/cpp.txt" <<'PY'
import json, sys
for frame in json.load(open(sys.argv[1])):
    for o in frame["objects"]:
        r = o["relative_coordinates"]
        print("%s %d %.6f %.6f %.6f %.6f %.6f %s" % (frame["filename"], o["class_id"], o["confidence"], r["center_x"],
              r["center_y"], r["width"], r["height"], o["name"]))
PY
if ! diff "$work/cpp.txt" "$work/c.txt"; then
  echo "check_capi: the C API's detections differ from dusk detect's" >&2
  exit 1
fi
echo "check_capi: $(wc -l <"$work/c.txt") detections equal dusk detect's on ${#images[@]} images"
