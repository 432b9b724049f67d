#include "cfg/section_reader.hpp"

#include <charconv>
#include <cmath>
#include <map>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

// Keys Darknet reads that only matter for training (or for features that
// have no effect on a forward pass); dusk accepts them without a word.
const std::set<std::string, std::less<>>& training_keys() {
  static const std::set<std::string, std::less<>> keys = {
      "B1", "B2", "absolute", "adam", "adversarial_lr", "alpha", "angle", "aspect",
      "assisted_excitation", "atoms", "attention", "augment_speed",
      "badlabels_rejection_percentage", "batch", "bias_match", "blur", "bottleneck",
      "burn_in", "burnin_update", "class_scale", "classfix", "clip", "cls_normalizer",
      "contrastive", "contrastive_color", "contrastive_jit_flip", "contrastive_neg_max",
      "coord_scale", "counters_per_class", "cutmix", "decay", "delta_normalizer",
      "dets_for_show", "dets_for_track", "dont_update", "dontload", "dontloadscales",
      "dot", "dropblock", "dropblock_size_abs", "dropblock_size_rel", "dynamic_minibatch",
      "ema_alpha", "embedding_layer", "eps", "equidistant_point", "exposure", "flip",
      "focal_loss", "forced", "gamma", "gaussian_noise", "grad_centr", "hue",
      "ignore_thresh", "iou_loss", "iou_normalizer", "iou_thresh", "iou_thresh_kind",
      "jitter", "label_smooth_eps", "learning_rate", "learning_rate_min", "letter_box",
      "log", "loss_scale", "mask_scale", "max", "max_batches", "max_chart_loss",
      "max_crop", "max_delta", "maxpool_zero_nonmax", "min_crop", "mixup", "momentum",
      "mosaic", "mosaic_bound", "noadjust", "noloss", "noobject_scale", "num_sigmas_reject_badlabels",
      "obj_normalizer", "object_scale", "objectness_smooth", "onlyforward",
      "optimized_memory", "policy", "power", "probability", "random", "ratio", "rescore",
      "resize", "resize_step", "reverse_training", "saturation", "scales", "seq_scales",
      "sequential_subdivisions", "sgdr_cycle", "sgdr_mult", "show_details",
      "show_receptive_field", "sim_thresh", "sqrt", "step", "steps", "stopbackward",
      "stream", "subdivisions", "thresh", "time_normalizer", "time_steps", "track",
      "track_ciou_norm", "track_history_size", "train_only_bn", "truth_thresh",
      "try_fix_nan", "type", "uc_normalizer", "unsupervised", "use_cuda_graph",
      "wait_stream", "weights_reject_freq", "workspace_size_limit_MB",
      "inputs", "coordconv", "spatial", "shift", "extra", "seen", "hidden", "side", "scale",
  };
  return keys;
}

}  // namespace

bool parse_int(std::string_view text, long long& value) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_float(std::string_view text, double& value) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty() && std::isfinite(value);
}

SectionReader::SectionReader(const std::string& source, const CfgSection& section)
    : source_(source), section_(section) {}

const CfgOption* SectionReader::find(std::string_view key) const {
  for (const CfgOption& option : section_.options) {
    if (option.key == key) return &option;  // the first one wins, as in Darknet
  }
  return nullptr;
}

bool SectionReader::has(std::string_view key) const { return find(key) != nullptr; }

std::string SectionReader::where() const { return cat(source_, ":", section_.line); }

std::string SectionReader::where(std::string_view key) const {
  const CfgOption* option = find(key);
  return cat(source_, ":", option ? option->line : section_.line);
}

void SectionReader::fail(const CfgOption& option, std::string_view expected) const {
  throw Error(cat(source_, ":", option.line, ": [", section_.type, "] ", option.key, "=",
                  printable(option.value), " is invalid; expected ", expected));
}

int SectionReader::get_int(std::string_view key, int fallback, int min, int max) {
  used_.emplace(key);
  const CfgOption* option = find(key);
  if (!option) return fallback;
  long long value = 0;
  if (!parse_int(option->value, value)) fail(*option, "an integer");
  if (value < min || value > max) fail(*option, cat("an integer from ", min, " to ", max));
  return static_cast<int>(value);
}

float SectionReader::get_float(std::string_view key, float fallback, float min, float max) {
  used_.emplace(key);
  const CfgOption* option = find(key);
  if (!option) return fallback;
  double value = 0;
  if (!parse_float(option->value, value)) fail(*option, "a number");
  if (value < min || value > max) fail(*option, cat("a number from ", min, " to ", max));
  return static_cast<float>(value);
}

bool SectionReader::get_flag(std::string_view key, bool fallback) {
  return get_int(key, fallback ? 1 : 0, 0, 1) == 1;
}

std::string SectionReader::get_string(std::string_view key, std::string_view fallback) {
  used_.emplace(key);
  const CfgOption* option = find(key);
  return option ? option->value : std::string(fallback);
}

std::vector<int> SectionReader::get_int_list(std::string_view key, int min, int max) {
  used_.emplace(key);
  std::vector<int> values;
  const CfgOption* option = find(key);
  if (!option) return values;
  for (const std::string_view item : split(option->value, ',')) {
    if (item.empty()) continue;  // a trailing comma, as some cfgs have
    long long value = 0;
    if (!parse_int(item, value)) fail(*option, "a comma-separated list of integers");
    if (value < min || value > max) fail(*option, cat("integers from ", min, " to ", max));
    values.push_back(static_cast<int>(value));
  }
  if (values.empty()) fail(*option, "a comma-separated list of integers");
  return values;
}

std::vector<float> SectionReader::get_float_list(std::string_view key) {
  used_.emplace(key);
  std::vector<float> values;
  const CfgOption* option = find(key);
  if (!option) return values;
  for (const std::string_view item : split(option->value, ',')) {
    if (item.empty()) continue;
    double value = 0;
    if (!parse_float(item, value)) fail(*option, "a comma-separated list of numbers");
    values.push_back(static_cast<float>(value));
  }
  if (values.empty()) fail(*option, "a comma-separated list of numbers");
  return values;
}

void SectionReader::ignore(std::string_view key) { used_.emplace(key); }

void SectionReader::reject_unless(std::string_view key, std::string_view neutral, std::string_view why) {
  used_.emplace(key);
  const CfgOption* option = find(key);
  if (option && option->value != neutral) {
    throw Error(cat(source_, ":", option->line, ": [", section_.type, "] ", key, "=", printable(option->value),
                    " is not supported: ", why));
  }
}

void SectionReader::warn(const std::string& message) { warnings_.push_back(where() + ": " + message); }

void SectionReader::collect_warnings(std::vector<std::string>& warnings) const {
  for (const std::string& warning : warnings_) warnings.push_back(warning);
  std::map<std::string, int, std::less<>> first_line;
  for (const CfgOption& option : section_.options) {
    const auto [it, inserted] = first_line.emplace(option.key, option.line);
    if (!inserted) {
      warnings.push_back(cat(source_, ":", option.line, ": [", section_.type, "] ", option.key,
                             " is set again (first at line ", it->second, "); the first value is used"));
      continue;
    }
    if (used_.count(option.key) == 0 && training_keys().count(option.key) == 0) {
      // A misspelling of a key this section reads would silently leave that
      // key at its default (a layer running linear for activaton=leaky).
      const std::string guess = closest(option.key, std::vector<std::string>(used_.begin(), used_.end()));
      if (!guess.empty()) {
        throw Error(cat(source_, ":", option.line, ": [", section_.type, "] unknown key '", printable(option.key),
                        "'; did you mean ", guess, "=? (Darknet would ignore it and use the default ", guess, ")"));
      }
      warnings.push_back(cat(source_, ":", option.line, ": [", section_.type, "] unknown key '",
                             printable(option.key), "' ignored"));
    }
  }
}

}  // namespace dusk
