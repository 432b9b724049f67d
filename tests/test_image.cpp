// Image loading and Darknet's resize and letterbox arithmetic.
#include <doctest/doctest.h>

#include <stb/stb_image_write.h>

#include "dusk/dusk.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

void append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<unsigned char>*>(context);
  out->insert(out->end(), static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + size);
}

}  // namespace

TEST_CASE("resize_image: corners aligned, bilinear, Darknet's last-row rule") {
  Image image(2, 2, 1);
  image.data = {0, 1, 2, 3};
  const Image big = resize_image(image, 3, 3);
  // Columns 0, 0.5, 1 and rows 0, 0.5, 1 of the 2x2 grid.
  CHECK(big.data == std::vector<float>{0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3});
  const Image same = resize_image(image, 2, 2);
  CHECK(same.data == image.data);
  // Targets one pixel wide or high take the first row or column, where
  // Darknet would divide by zero.
  const Image row = resize_image(image, 2, 1);
  CHECK(row.data == std::vector<float>{0, 1});
  const Image column = resize_image(image, 1, 2);
  CHECK(column.data == std::vector<float>{1, 3});  // Darknet's rule: the last column
}

TEST_CASE("letterbox_image keeps the aspect ratio and fills with 0.5") {
  Image image(4, 2, 1, 1.0f);
  const Image boxed = letterbox_image(image, 4, 4);
  // 4x2 into 4x4: rows 1 and 2 hold the image, rows 0 and 3 the grey fill.
  CHECK(boxed.at(0, 0, 0) == 0.5f);
  CHECK(boxed.at(3, 1, 0) == 1.0f);
  CHECK(boxed.at(0, 2, 0) == 1.0f);
  CHECK(boxed.at(2, 3, 0) == 0.5f);
  const Image sliver = letterbox_image(Image(1000, 1, 1, 1.0f), 16, 16);  // new height rounds to 0: kept at 1
  CHECK(sliver.at(5, 7, 0) == 1.0f);
  CHECK(sliver.at(5, 6, 0) == 0.5f);
}

TEST_CASE("decoding gives RGB floats in [0,1]: grey replicated, alpha dropped") {
  const unsigned char grey[4] = {0, 51, 102, 255};
  std::vector<unsigned char> png;
  stbi_write_png_to_func(append, &png, 2, 2, 1, grey, 2);
  Image image = decode_image(png, "grey.png");
  REQUIRE(image.c == 3);
  CHECK(image.at(1, 0, 0) == doctest::Approx(0.2));
  CHECK(image.at(1, 0, 2) == doctest::Approx(0.2));
  const unsigned char rgba[8] = {255, 0, 0, 0, 0, 0, 255, 128};
  png.clear();
  stbi_write_png_to_func(append, &png, 2, 1, 4, rgba, 8);
  image = decode_image(png, "rgba.png");
  CHECK(image.c == 3);
  CHECK(image.at(0, 0, 0) == 1.0f);
  CHECK(image.at(1, 0, 2) == 1.0f);
  const Image dog = load_image(test::darknet_data("dog.jpg"));
  CHECK(dog.w == 768);
  CHECK(dog.h == 576);
}
