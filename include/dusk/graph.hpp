#pragma once
// The typed network graph built from a Cfg: one Layer per section after
// [net], with resolved inputs, inferred shapes and Darknet's cost figures.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dusk/cfg.hpp"

namespace dusk {

struct Shape {
  int c = 0;
  int h = 0;
  int w = 0;
  std::int64_t size() const { return std::int64_t{c} * h * w; }
  bool operator==(const Shape&) const = default;
};
std::string to_string(const Shape& shape);  // "CxHxW"

enum class Activation {
  Linear, Leaky, Relu, Relu6, Logistic, Tanh, Elu, Selu, Gelu, Swish, Mish,
  HardMish, Relie, Ramp, Plse, Stair, Hardtan, Lhtan, Loggy, Revleaky,
  NormalizeChannels, NormalizeChannelsSoftmax, NormalizeChannelsSoftmaxMaxval,
#ifdef DUSK_TEST_EXTRA_ACTIVATION  // tests/compile: an activation no switch handles must not compile
  DUSK_TEST_EXTRA_ACTIVATION,
#endif
  Count
};
std::string_view activation_name(Activation activation);
std::optional<Activation> activation_from_name(std::string_view name);
// True for the activations that mix channels (normalize_channels*).
bool activation_mixes_channels(Activation activation);

enum class LayerKind {
  Convolutional, Connected, Maxpool, LocalAvgpool, Avgpool, Route, Shortcut,
  Upsample, Reorg, Reorg3d, Yolo, GaussianYolo, Region, Dropout, Cost, Sam,
  ScaleChannels, Softmax, Batchnorm, Activation, Empty, Crop,
#ifdef DUSK_TEST_EXTRA_LAYER_KIND  // tests/compile: a kind no switch handles must not compile
  DUSK_TEST_EXTRA_LAYER_KIND,
#endif
  Count
};
// The canonical cfg section name: "convolutional", "Gaussian_yolo", ...
std::string_view layer_kind_name(LayerKind kind);
bool is_detection_head(LayerKind kind);
struct Layer;
// The class count of a [yolo], [Gaussian_yolo] or [region] layer.
int head_classes(const Layer& head);

enum class NmsKind { Default, Greedy, Diou, Corners };
// Darknet's nms_kind names: default, greedynms, diounms, cornersnms.
std::string_view nms_kind_name(NmsKind kind);
std::optional<NmsKind> parse_nms_kind(std::string_view name);  // nullopt: not a name
inline constexpr std::string_view kNmsKindNames = "default, greedynms, diounms or cornersnms";
// Which point of the box a [Gaussian_yolo] head predicts.
enum class YoloPoint { Center, LeftTop, RightBottom };

struct ConvSpec {
  int filters = 1;
  int size = 1;
  int stride_x = 1;
  int stride_y = 1;
  int pad = 0;  // pixels of zero padding on each side
  int groups = 1;
  int dilation = 1;
  bool batch_normalize = false;
  bool flipped = false;  // weights stored transposed (Darknet's flipped=1)
  Activation activation = Activation::Logistic;
};

struct ConnectedSpec {
  int outputs = 1;
  bool batch_normalize = false;
  Activation activation = Activation::Logistic;
};

// [maxpool] and [local_avgpool].
struct PoolSpec {
  int size = 1;
  int stride_x = 1;
  int stride_y = 1;
  int padding = 0;  // total padding; Darknet puts padding/2 before
  bool maxpool_depth = false;
  int out_channels = 1;
};

struct RouteSpec {
  std::vector<int> layers;  // resolved, absolute
  int groups = 1;
  int group_id = 0;
};

enum class ShortcutWeights { None, PerFeature, PerChannel };
enum class ShortcutNormalization { None, Relu, Softmax };

struct ShortcutSpec {
  std::vector<int> from;  // resolved, absolute
  Activation activation = Activation::Linear;
  ShortcutWeights weights_type = ShortcutWeights::None;
  ShortcutNormalization normalization = ShortcutNormalization::None;
};

struct UpsampleSpec {
  int stride = 2;  // always positive
  bool downsample = false;  // the cfg's stride was negative
  float scale = 1.0f;
};

// [reorg] (old Darknet semantics) and [reorg3d].
struct ReorgSpec {
  int stride = 1;
  bool reverse = false;
};

// [yolo] and [Gaussian_yolo].
struct YoloSpec {
  int classes = 20;
  int total = 1;             // anchors in the cfg (num=)
  std::vector<int> mask;     // anchors this head uses
  std::vector<float> anchors;  // 2*total values, pixels of the network input
  float scale_x_y = 1.0f;
  bool new_coords = false;
  NmsKind nms_kind = NmsKind::Default;
  float beta_nms = 0.6f;
  YoloPoint point = YoloPoint::Center;  // [Gaussian_yolo] only
};

struct RegionSpec {
  int classes = 20;
  int coords = 4;
  int num = 1;
  std::vector<float> anchors;  // 2*num values, grid cells
  bool softmax = false;
};

// [sam] and [scale_channels]: input multiplied by layer `from`.
struct ScaleSpec {
  int from = 0;  // resolved, absolute
  bool scale_wh = false;
  Activation activation = Activation::Linear;
};

struct SoftmaxSpec {
  int groups = 1;
  float temperature = 1.0f;
};

struct ActivationSpec {
  Activation activation = Activation::Linear;
};

// [crop] at inference: Darknet's test mode takes the centred height x width
// window and maps each value v to v * scale + shift (2v - 1 unless noadjust=1).
struct CropSpec {
  int width = 1;
  int height = 1;
  float scale = 2.0f;
  float shift = -1.0f;
};

// How a [shortcut] adds a source of another spatial size, as Darknet's
// shortcut_cpu does: out(y*step, x*step) += from(y*stride, x*stride) over
// the smaller of the two grids. Equal sizes: stride = step = 1.
struct ShortcutSampling {
  int stride = 1;  // from is `stride` times larger
  int step = 1;    // from is `step` times smaller
  int h = 0;       // rows and columns added
  int w = 0;
  bool valid = true;  // Darknet asserts both directions share one factor
};
ShortcutSampling shortcut_sampling(const Shape& from, const Shape& out);

struct NoSpec {};

using LayerSpec = std::variant<NoSpec, ConvSpec, ConnectedSpec, PoolSpec, RouteSpec, ShortcutSpec,
                               UpsampleSpec, ReorgSpec, YoloSpec, RegionSpec, ScaleSpec,
                               SoftmaxSpec, ActivationSpec, CropSpec>;

struct Layer {
  int index = 0;  // Darknet's 0-based layer index (sections after [net])
  LayerKind kind = LayerKind::Empty;
  int line = 0;   // cfg line of the section header
  // Producers of this layer's inputs; -1 is the network input. inputs[0] is
  // the main input (the previous layer unless a route says otherwise).
  std::vector<int> inputs;
  Shape in;
  Shape out;
  LayerSpec spec;
  std::int64_t param_count = 0;  // floats this layer reads from a weights file
  double bflops = 0.0;           // as Darknet counts them

  template <class T>
  const T& as() const { return std::get<T>(spec); }
};

struct Graph {
  std::string source;  // cfg file name, for messages
  Shape input;
  std::vector<Layer> layers;
  std::vector<std::string> warnings;  // unknown keys and the like, file:line each
  int stride = 1;  // total downsampling; input sizes must be multiples of it
  bool letter_box = false;  // [net] letter_box: Darknet's map and demo letterbox the input

  std::vector<int> head_layers() const;  // yolo, Gaussian_yolo and region layers
  int classes() const;  // the class count of the last detection head; 0 without one
  // Per layer: the last layer that reads its output (-1: none), and how many
  // input slots read it. What every runner needs to free buffers early.
  std::vector<int> last_readers() const;
  std::vector<int> reader_counts() const;
  // Bytes of layer outputs alive at once at the worst point of a forward
  // pass, each output freed after its last reader.
  std::int64_t peak_activation_bytes() const;
  std::int64_t total_params() const;
  double total_bflops() const;
  // "layer 12 [convolutional] (yolov4.cfg:140)" for messages.
  std::string describe(int layer_index) const;
};

struct GraphOptions {
  int width = 0;   // 0: the cfg's [net] width
  int height = 0;  // 0: the cfg's [net] height
};

Graph build_graph(const Cfg& cfg, const GraphOptions& options = {});
// The same layers for another input size (shapes and costs recomputed).
Graph with_input_size(const Graph& graph, int width, int height);
Graph load_graph(const std::string& cfg_path, const GraphOptions& options = {});

// The parameter blocks a layer reads from a .weights file, in file order,
// and how many floats each holds (empty for layers without parameters).
enum class ParamBlock { Biases, Scales, Mean, Variance, Weights };
struct BlockSize {
  ParamBlock block;
  std::int64_t floats;
};
std::vector<BlockSize> param_layout(const Layer& layer);

// Limits checked while building, before anything is allocated.
inline constexpr int kMaxLayers = 4096;
inline constexpr int kMaxInputSide = 16384;
inline constexpr int kMaxChannels = 65536;
inline constexpr int kMaxKernelSize = 64;
inline constexpr std::int64_t kMaxLayerElements = std::int64_t{1} << 31;

}  // namespace dusk
