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

struct TileDetections {
  TileRect tile;
  std::vector<Detection> detections;  // in the tile's own pixels
};

// The merge detect_tiled() does, on detections already made: boxes move to
// the whole image's pixels; same-class boxes from different tiles that
// overlap by more than `iou_threshold` (IoU) keep the stronger one; a box
// cut by a tile edge that lies mostly (70%) inside a larger one gives way to
// it; two boxes cut on facing sides of a seam, touching across it and lined
// up along it, become their union. Merged boxes keep the higher confidence.
std::vector<Detection> merge_tiles(const std::vector<TileDetections>& tiles, int image_w, int image_h,
                                   float iou_threshold);

// Detections over the tiles, in pixels of the whole image, merged across
// tile edges by merge_tiles() with the detector's NMS threshold.
std::vector<Detection> detect_tiled(const Detector& detector, const Image& image, const TileOptions& options);

}  // namespace dusk
