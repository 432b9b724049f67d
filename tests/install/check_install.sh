#!/usr/bin/env bash
# Installs the built dusk into a temporary prefix, builds an outside project
# against it with find_package(dusk), and runs it on dog.jpg.
#   check_install.sh BUILD_DIR SOURCE_DIR SHARED_DIR
set -euo pipefail
build_dir="$1" source_dir="$2" shared_dir="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/tests/install/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
output="$("$work/build/consumer" "$shared_dir/models/yolo-fastest-1.1.cfg" "$shared_dir/models/yolo-fastest-1.1.weights" \
  "$shared_dir/models/coco.names" /usr/share/darknet/data/dog.jpg)"
echo "$output"
grep -q "^dog 0.649" <<<"$output" || { echo "consumer did not find the dog" >&2; exit 1; }
video="$("$work/build/video_consumer" "$shared_dir/models/yolo-fastest-1.1.cfg" \
  "$shared_dir/models/yolo-fastest-1.1.weights" /usr/share/doc/opencv-doc/examples/data/vtest.avi 5)"
echo "$video"
[ "$(grep -c '^frame [0-4] at [0-9]* ms: [0-9]* objects$' <<<"$video")" -eq 5 ] || { echo "video consumer did not report 5 frames" >&2; exit 1; }
test -f "$work/prefix/bin/dusk"
test -f "$work/prefix/include/dusk/dusk.hpp"
