// The C++ Detector with the options of tests/python/test_parity.py, one line
// per detection: path class_id center_x center_y width height confidence name
// (%.9g, unrounded; the test rounds every shell's values the same way).
//   parity_cpp CFG WEIGHTS NAMES IMAGE...
#include <cstdio>
#include <exception>

#include "dusk/dusk.hpp"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: parity_cpp CFG WEIGHTS NAMES IMAGE...\n");
    return 2;
  }
  try {
    dusk::DetectorOptions options;
    options.threshold = 0.3f;
    options.nms_kind = dusk::NmsKind::Diou;
    options.resize = dusk::ResizeMethod::Linear;
    options.letterbox = true;
    options.network.precision = dusk::Precision::Bf16;  // fp32 with a notice where the CPU has no bf16, in every shell
    options.network.threads = 1;
    options.labels = dusk::load_labels(argv[3]);
    const dusk::Detector detector(argv[1], argv[2], options);
    const dusk::TileOptions tiles{2, 2, false, 0.1f};
    for (int i = 4; i < argc; ++i) {
      for (const dusk::Detection& d : dusk::detect_tiled(detector, dusk::load_image(argv[i]), tiles)) {
        std::printf("%s %d %.9g %.9g %.9g %.9g %.9g %s\n", argv[i], d.class_id, d.relative.x, d.relative.y,
                    d.relative.w, d.relative.h, d.confidence, d.label.c_str());
      }
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "parity_cpp: %s\n", error.what());
    return 1;
  }
  return 0;
}
