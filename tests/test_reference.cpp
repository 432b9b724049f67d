// Fidelity against Darknet itself: yolo-fastest-1.1 with its real weights on
// dog.jpg must reproduce the yolo layer outputs Darknet wrote to ../shared/reference.
#include <doctest/doctest.h>

#include "dusk/dusk.hpp"
#include "support/compare.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

// `fit` is resize_image or letterbox_image; `tag` is lb0 or lb1 accordingly.
void check_against_darknet(Image (*fit)(const Image&, int, int), const std::string& tag) {
  const Network network = Network::load(test::shared("models/yolo-fastest-1.1.cfg"),
                                        test::shared("models/yolo-fastest-1.1.weights"));
  const Shape input_shape = network.input_shape();
  Tensor input(input_shape);
  input.data = fit(load_image(test::darknet_data("dog.jpg")), input_shape.w, input_shape.h).data;

  const std::vector<int> heads = network.graph().head_layers();
  REQUIRE(heads == std::vector<int>{121, 130});
  const std::vector<Tensor> outputs = network.forward(input, heads);
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const std::string name = "reference/yolo-fastest-1.1_dog.jpg_" + tag + "_layer" + std::to_string(heads[i]) + "_" +
                             to_string(outputs[i].shape) + ".f32";
    const test::Difference d = test::compare(outputs[i].data, test::read_floats(test::shared(name)));
    MESSAGE(name << ": " << test::describe(d));
    CHECK(d.max_abs <= 1e-4);
  }
}

}  // namespace

TEST_CASE("yolo-fastest-1.1 yolo outputs equal Darknet's on dog.jpg (stretch resize)") {
  check_against_darknet(resize_image, "lb0");
}

TEST_CASE("yolo-fastest-1.1 yolo outputs equal Darknet's on dog.jpg (letterbox)") {
  check_against_darknet(letterbox_image, "lb1");
}
