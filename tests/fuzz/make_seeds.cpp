// Writes the binary seeds of tests/fuzz/corpus (weights, image, load) from
// dusk's own writers, so every seed is a file the project made. Weights seeds
// are named .bin: they fit only the fuzz graph and are no model's weights.
//   make_seeds CORPUS_DIR
#include <stb/stb_image_write.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dusk/dusk.hpp"
#include "fuzz_graphs.hpp"

namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<char> as_chars(const std::vector<unsigned char>& bytes) { return {bytes.begin(), bytes.end()}; }

void append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<char>*>(context);
  out->insert(out->end(), static_cast<char*>(data), static_cast<char*>(data) + size);
}

// FuzzedDataProvider's string format: backslashes doubled, "\\" then any
// other byte ends the string; the rest are the weights.
std::vector<char> load_seed(const std::string& cfg, const std::vector<char>& weights) {
  std::vector<char> out;
  for (const char c : cfg) {
    out.push_back(c);
    if (c == '\\') out.push_back('\\');
  }
  out.push_back('\\');
  out.push_back('\n');
  out.insert(out.end(), weights.begin(), weights.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path corpus = argv[1];

  const dusk::Graph blocks = dusk::build_graph(dusk::parse_cfg(dusk::fuzz::kBlockCfg, "blocks.cfg"));
  dusk::Weights weights = dusk::random_weights(blocks, 1);
  const std::vector<char> full = dusk::serialize_weights(blocks, weights);
  write(corpus / "weights/random.bin", full);
  write(corpus / "weights/half.bin", std::vector<char>(full.begin(), full.begin() + full.size() / 2));
  std::vector<char> longer = full;
  longer.resize(full.size() + 24, 7);
  write(corpus / "weights/trailing.bin", longer);
  weights.header = dusk::WeightsHeader{0, 1, 0, 99};
  write(corpus / "weights/seen32.bin", dusk::serialize_weights(blocks, weights));
  weights.header = dusk::WeightsHeader{1000, 1001, 0, 5};
  write(corpus / "weights/transposed.bin", dusk::serialize_weights(blocks, weights));

  const std::vector<std::pair<std::string, std::string>> cfgs = {
      {"tiny_yolo", "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\n"
                    "batch_normalize=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n[convolutional]\nfilters=14\n"
                    "size=1\nactivation=linear\n[yolo]\nmask=0,1\nanchors=4,5,9,8\nclasses=2\nnum=2\n"},
      {"region", "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=8\nsize=3\nstride=4\npad=1\n"
                 "activation=leaky\n[reorg]\nstride=2\n[convolutional]\nfilters=16\nsize=1\nactivation=linear\n"
                 "[region]\nanchors=1,1,2,2\nclasses=3\ncoords=4\nnum=2\nsoftmax=1\n"},
      {"blocks", dusk::fuzz::kBlockCfg},
  };
  for (const auto& [name, text] : cfgs) {
    const dusk::Graph graph = dusk::build_graph(dusk::parse_cfg(text, name));
    write(corpus / ("load/" + name), load_seed(text, dusk::serialize_weights(graph, dusk::random_weights(graph, 2))));
  }

  dusk::Image image(7, 5, 3);
  for (std::size_t i = 0; i < image.data.size(); ++i) image.data[i] = static_cast<float>(i % 11) / 10.f;
  write(corpus / "image/rgb.png", as_chars(dusk::encode_image(image, dusk::ImageFormat::Png)));
  write(corpus / "image/rgb.jpg", as_chars(dusk::encode_image(image, dusk::ImageFormat::Jpeg)));
  std::vector<unsigned char> pixels(7 * 5 * 4);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>(i * 37);
  std::vector<char> out;
  stbi_write_png_to_func(append, &out, 7, 5, 4, pixels.data(), 7 * 4);
  write(corpus / "image/rgba.png", out);
  out.clear();
  stbi_write_png_to_func(append, &out, 7, 5, 1, pixels.data(), 7);
  write(corpus / "image/grey.png", out);
  out.clear();
  stbi_write_bmp_to_func(append, &out, 7, 5, 3, pixels.data());
  write(corpus / "image/rgb.bmp", out);
  out.clear();
  stbi_write_tga_to_func(append, &out, 7, 5, 3, pixels.data());
  write(corpus / "image/rgb.tga", out);
  const std::string ppm = "P6\n2 2\n255\n";
  std::vector<char> pnm(ppm.begin(), ppm.end());
  for (int i = 0; i < 12; ++i) pnm.push_back(static_cast<char>(i * 20));
  write(corpus / "image/rgb.ppm", pnm);
  const std::vector<unsigned char> gif = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80,
                                          0x00, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x21, 0xf9, 0x04,
                                          0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01,
                                          0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};
  write(corpus / "image/pixel.gif", as_chars(gif));
  return 0;
}
