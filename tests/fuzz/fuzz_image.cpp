// Image bytes -> decode -> resize, letterbox, draw, encode. Any outcome but
// success or a dusk::Error is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dusk/dusk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  try {
    // 1 Mpx: larger images only repeat the same paths, and under the
    // sanitizers a 3-Mpx one (a 13-byte PPM header) took 8-10 s, enough for
    // libFuzzer to report it as a slow unit.
    dusk::Image image = dusk::decode_image(bytes, "fuzz.img", std::int64_t{1} << 20);
    (void)dusk::resize_image(image, 17, 13);
    (void)dusk::letterbox_image(image, 16, 16);
    dusk::draw_rectangle(image, -5, 2, image.w + 3, image.h / 2, dusk::Color{1, 0, 0}, 2);
    dusk::draw_label(image, 1, 1, "fuzz 99%", dusk::Color{0, 1, 0}, 1);
    (void)dusk::encode_image(image, size % 2 == 0 ? dusk::ImageFormat::Png : dusk::ImageFormat::Jpeg);
  } catch (const dusk::Error&) {
  }
  return 0;
}
