// Fidelity against Darknet itself: yolo-fastest-1.1 with its real weights on
// dog.jpg must reproduce the yolo layer outputs Darknet wrote to ../shared/reference.
#include <doctest/doctest.h>

#include "dusk/dusk.hpp"
#include "support/compare.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

TEST_CASE("yolo-fastest-1.1 yolo outputs equal Darknet's on dog.jpg (stretch resize)") {
  const Network network = Network::load(test::shared("models/yolo-fastest-1.1.cfg"),
                                        test::shared("models/yolo-fastest-1.1.weights"));
  const Shape input_shape = network.input_shape();
  const Image image = resize_image(load_image(test::darknet_data("dog.jpg")), input_shape.w, input_shape.h);
  Tensor input(input_shape);
  input.data = image.data;

  const std::vector<int> heads = network.graph().head_layers();
  REQUIRE(heads == std::vector<int>{121, 130});
  const std::vector<Tensor> outputs = network.forward(input, heads);
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const std::string name = "reference/yolo-fastest-1.1_dog.jpg_lb0_layer" + std::to_string(heads[i]) + "_" +
                             to_string(outputs[i].shape) + ".f32";
    const std::vector<float> expected = test::read_floats(test::shared(name));
    const test::Difference d = test::compare(outputs[i].data, expected);
    MESSAGE(name << ": " << test::describe(d));
    CHECK(d.max_abs <= 1e-4);
  }
}

TEST_CASE("yolo-fastest-1.1 yolo outputs equal Darknet's on dog.jpg (letterbox)") {
  const Network network = Network::load(test::shared("models/yolo-fastest-1.1.cfg"),
                                        test::shared("models/yolo-fastest-1.1.weights"));
  const Shape input_shape = network.input_shape();
  const Image image = letterbox_image(load_image(test::darknet_data("dog.jpg")), input_shape.w, input_shape.h);
  Tensor input(input_shape);
  input.data = image.data;

  const std::vector<int> heads = network.graph().head_layers();
  const std::vector<Tensor> outputs = network.forward(input, heads);
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const std::string name = "reference/yolo-fastest-1.1_dog.jpg_lb1_layer" + std::to_string(heads[i]) + "_" +
                             to_string(outputs[i].shape) + ".f32";
    const test::Difference d = test::compare(outputs[i].data, test::read_floats(test::shared(name)));
    MESSAGE(name << ": " << test::describe(d));
    CHECK(d.max_abs <= 1e-4);
  }
}
