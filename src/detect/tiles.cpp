// Tiled detection: cut, detect per tile, merge across the seams.
#include "dusk/tiles.hpp"

#include <algorithm>
#include <cmath>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

constexpr int kMaxTilesPerAxis = 64;

// Start positions of `count` tiles of `size` spread evenly over `length`.
std::vector<int> spread(int length, int size, int count) {
  std::vector<int> starts(static_cast<std::size_t>(count), 0);
  for (int i = 1; i < count; ++i) {
    starts[static_cast<std::size_t>(i)] =
        static_cast<int>(std::lround(static_cast<double>(i) * (length - size) / (count - 1)));
  }
  return starts;
}

struct Axis {
  int size = 0;
  std::vector<int> starts;
};

Axis automatic_axis(int length, int net, float overlap) {
  const int size = std::min(length, net);
  const int shared = static_cast<int>(std::lround(overlap * static_cast<float>(size)));
  const int count = length <= size ? 1 : static_cast<int>(std::ceil(static_cast<double>(length - shared) / (size - shared)));
  return {size, spread(length, size, count)};
}

Axis counted_axis(int length, int count, float overlap) {
  count = std::min(count, length);
  const double base = static_cast<double>(length) / count;
  const int size = count == 1 ? length : std::min(length, static_cast<int>(std::ceil(base * (1.0 + overlap) - 1e-6)));
  return {size, spread(length, size, count)};
}

struct Piece {
  Detection detection;
  float left = 0, top = 0, right = 0, bottom = 0;  // pixels of the whole image
  std::vector<int> tiles;                          // the tiles it was seen in
  float margin = 2;                                // how near a tile's edge counts as on it
  // Which edges lie on a seam inside the image: the tile cut the object there.
  bool cut_left = false, cut_right = false, cut_top = false, cut_bottom = false;
};

float area(float left, float top, float right, float bottom) {
  return std::max(0.f, right - left) * std::max(0.f, bottom - top);
}

float intersection(const Piece& a, const Piece& b) {
  return area(std::max(a.left, b.left), std::max(a.top, b.top), std::min(a.right, b.right), std::min(a.bottom, b.bottom));
}

bool shares_tile(const Piece& a, const Piece& b) {
  for (const int t : a.tiles) {
    if (std::find(b.tiles.begin(), b.tiles.end(), t) != b.tiles.end()) return true;
  }
  return false;
}

// Share of the shorter span that two 1-D spans have in common.
float span_overlap(float a0, float a1, float b0, float b1) {
  const float shorter = std::min(a1 - a0, b1 - b0);
  return shorter > 0 ? std::max(0.f, std::min(a1, b1) - std::max(a0, b0)) / shorter : 0.f;
}

// Two halves of one object cut by a seam: cut on facing sides, touching or
// overlapping across it, lined up along it.
bool halves(const Piece& a, const Piece& b) {
  const float margin = std::max(a.margin, b.margin);
  const auto across = [&](const Piece& l, const Piece& r) {
    return l.cut_right && r.cut_left && r.left <= l.right + margin && span_overlap(l.top, l.bottom, r.top, r.bottom) > 0.5f;
  };
  const auto down = [&](const Piece& t, const Piece& u) {
    return t.cut_bottom && u.cut_top && u.top <= t.bottom + margin && span_overlap(t.left, t.right, u.left, u.right) > 0.5f;
  };
  return across(a, b) || across(b, a) || down(a, b) || down(b, a);
}

enum class Merge { None, KeepStronger, KeepLarger, Union };

Merge how_to_merge(const Piece& a, const Piece& b, float iou_threshold) {
  if (a.detection.class_id != b.detection.class_id || shares_tile(a, b)) return Merge::None;
  const float inter = intersection(a, b);
  const float area_a = area(a.left, a.top, a.right, a.bottom);
  const float area_b = area(b.left, b.top, b.right, b.bottom);
  // A part cut off by a tile edge gives way to the whole seen by another tile.
  const Piece& smaller = area_a < area_b ? a : b;
  const bool smaller_cut = smaller.cut_left || smaller.cut_right || smaller.cut_top || smaller.cut_bottom;
  if (smaller_cut && inter > 0.7f * std::min(area_a, area_b)) return Merge::KeepLarger;
  if (inter > 0 && inter / (area_a + area_b - inter) > iou_threshold) return Merge::KeepStronger;
  if (halves(a, b)) return Merge::Union;
  return Merge::None;
}

// Folds `from` into `into` (the stronger of the two survives as `into`'s class and label).
void merge(Piece& into, const Piece& from, Merge how) {
  const float area_into = area(into.left, into.top, into.right, into.bottom);
  const float area_from = area(from.left, from.top, from.right, from.bottom);
  if (how == Merge::Union) {
    if (from.left < into.left) into.left = from.left, into.cut_left = from.cut_left;
    if (from.top < into.top) into.top = from.top, into.cut_top = from.cut_top;
    if (from.right > into.right) into.right = from.right, into.cut_right = from.cut_right;
    if (from.bottom > into.bottom) into.bottom = from.bottom, into.cut_bottom = from.cut_bottom;
  } else if ((how == Merge::KeepLarger && area_from > area_into) ||
             (how == Merge::KeepStronger && from.detection.confidence > into.detection.confidence)) {
    into.left = from.left, into.top = from.top, into.right = from.right, into.bottom = from.bottom;
    into.cut_left = from.cut_left, into.cut_right = from.cut_right, into.cut_top = from.cut_top,
    into.cut_bottom = from.cut_bottom;
  }
  into.detection.confidence = std::max(into.detection.confidence, from.detection.confidence);
  into.tiles.insert(into.tiles.end(), from.tiles.begin(), from.tiles.end());
}

Image crop(const Image& image, const TileRect& r) {
  Image part(r.width, r.height, image.c);
  for (int k = 0; k < image.c; ++k) {
    for (int y = 0; y < r.height; ++y) {
      const float* from = &image.data[(static_cast<std::size_t>(k) * image.h + static_cast<std::size_t>(r.top + y)) * image.w +
                                      static_cast<std::size_t>(r.left)];
      std::copy(from, from + r.width, &part.at(0, y, k));
    }
  }
  return part;
}

}  // namespace

std::vector<TileRect> tile_layout(int image_w, int image_h, int net_w, int net_h, const TileOptions& options) {
  if (!(options.overlap >= 0 && options.overlap <= 0.5f)) {
    throw Error(cat("tile overlap ", options.overlap, " is out of range; use a share from 0 to 0.5"));
  }
  if (image_w < 1 || image_h < 1 || net_w < 1 || net_h < 1) {
    throw Error(cat("cannot tile a ", image_w, "x", image_h, " image for a ", net_w, "x", net_h, " network"));
  }
  Axis x;
  Axis y;
  if (options.automatic) {
    x = automatic_axis(image_w, net_w, options.overlap);
    y = automatic_axis(image_h, net_h, options.overlap);
  } else {
    if (options.columns < 1 || options.rows < 1 || options.columns > kMaxTilesPerAxis || options.rows > kMaxTilesPerAxis) {
      throw Error(cat(options.columns, "x", options.rows, " tiles: use 1 to ", kMaxTilesPerAxis,
                      " columns and rows, or automatic tiles"));
    }
    x = counted_axis(image_w, options.columns, options.overlap);
    y = counted_axis(image_h, options.rows, options.overlap);
  }
  std::vector<TileRect> tiles;
  for (const int top : y.starts) {
    for (const int left : x.starts) tiles.push_back({left, top, x.size, y.size});
  }
  return tiles;
}

std::vector<Detection> merge_tiles(const std::vector<TileDetections>& tiles, int image_w, int image_h,
                                   float iou_threshold) {
  std::vector<Piece> pieces;
  for (std::size_t t = 0; t < tiles.size(); ++t) {
    const TileRect& r = tiles[t].tile;
    const float margin_x = std::max(2.f, 0.02f * static_cast<float>(r.width));
    const float margin_y = std::max(2.f, 0.02f * static_cast<float>(r.height));
    for (const Detection& d : tiles[t].detections) {
      Piece p;
      p.left = d.box.left + static_cast<float>(r.left);
      p.top = d.box.top + static_cast<float>(r.top);
      p.right = p.left + d.box.width;
      p.bottom = p.top + d.box.height;
      p.tiles = {static_cast<int>(t)};
      p.margin = std::max(margin_x, margin_y);
      p.cut_left = r.left > 0 && p.left <= static_cast<float>(r.left) + margin_x;
      p.cut_top = r.top > 0 && p.top <= static_cast<float>(r.top) + margin_y;
      p.cut_right = r.left + r.width < image_w && p.right >= static_cast<float>(r.left + r.width) - margin_x;
      p.cut_bottom = r.top + r.height < image_h && p.bottom >= static_cast<float>(r.top + r.height) - margin_y;
      p.detection = d;
      pieces.push_back(std::move(p));
    }
  }
  std::stable_sort(pieces.begin(), pieces.end(),
                   [](const Piece& a, const Piece& b) { return a.detection.confidence > b.detection.confidence; });
  // Merging can make a box that now meets another, so repeat until stable.
  for (bool merged = true; merged;) {
    merged = false;
    for (std::size_t i = 0; i < pieces.size() && !merged; ++i) {
      for (std::size_t j = i + 1; j < pieces.size(); ++j) {
        const Merge how = how_to_merge(pieces[i], pieces[j], iou_threshold);
        if (how == Merge::None) continue;
        merge(pieces[i], pieces[j], how);
        pieces.erase(pieces.begin() + static_cast<std::ptrdiff_t>(j));
        merged = true;
        break;
      }
    }
  }
  std::vector<Detection> detections;
  const float w = static_cast<float>(image_w);
  const float h = static_cast<float>(image_h);
  for (Piece& p : pieces) {
    Detection d = std::move(p.detection);
    d.box = PixelBox{p.left, p.top, p.right - p.left, p.bottom - p.top};
    d.relative = RelativeBox{(p.left + p.right) / 2 / w, (p.top + p.bottom) / 2 / h, (p.right - p.left) / w,
                             (p.bottom - p.top) / h};
    detections.push_back(std::move(d));
  }
  std::stable_sort(detections.begin(), detections.end(),
                   [](const Detection& a, const Detection& b) { return a.box.left < b.box.left; });
  return detections;
}

std::vector<Detection> detect_tiled(const Detector& detector, const Image& image, const TileOptions& options) {
  const Shape net = detector.network().graph().input;
  std::vector<TileDetections> tiles;
  for (const TileRect& r : tile_layout(image.w, image.h, net.w, net.h, options)) {
    tiles.push_back({r, detector.detect(crop(image, r))});
  }
  const float iou_threshold = detector.options().nms > 0 ? detector.options().nms : 0.45f;
  return merge_tiles(tiles, image.w, image.h, iou_threshold);
}

}  // namespace dusk
