#pragma once
// Detection on large images by tiles: the image is cut into overlapping
// tiles, each tile is detected on at the network's resolution, and the
// detections are merged so that an object seen by two tiles, or cut in two
// by a seam, is reported once. Small objects that a plain resize shrinks
// below what the network sees are found this way.
#include <vector>

#include "dusk/detector.hpp"

namespace dusk {

struct TileOptions {
  // columns x rows tiles; 0 x 0 with `automatic`: tiles of the network's
  // input size, as many as cover the image.
  int columns = 0;
  int rows = 0;
  bool automatic = false;
  float overlap = 0.1f;  // share of a tile's width (height) it shares with its neighbour, 0 to 0.5
};

struct TileRect {
  int left = 0;
  int top = 0;
  int width = 0;
  int height = 0;
};

// The tiles covering an image_w x image_h image, row by row. Throws on
// options out of range.
std::vector<TileRect> tile_layout(int image_w, int image_h, int net_w, int net_h, const TileOptions& options);

// Detections over the tiles, in pixels of the whole image, merged across
// tile edges: same-class boxes from different tiles that overlap by more
// than the detector's NMS threshold (IoU), that lie mostly inside one
// another, or that were both cut by the seam between their tiles become one
// box (their union, with the higher confidence).
std::vector<Detection> detect_tiled(const Detector& detector, const Image& image, const TileOptions& options);

}  // namespace dusk
