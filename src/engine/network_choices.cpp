// Backend, precision and thread choices, calibration checks, and the names
// of backends and precisions (network_choices.hpp, network.hpp).
#include "engine/network_choices.hpp"

#include <cstdio>
#include <cstdlib>

#include "dusk/cpu.hpp"
#include "dusk/error.hpp"
#include "dusk/text.hpp"
#include "engine/dnnl/fast_plan.hpp"

namespace dusk {

Backend choose_backend(Backend requested) {
  if (const char* from_environment = std::getenv("DUSK_BACKEND"); requested == Backend::Auto && from_environment) {
    const std::optional<Backend> named = parse_backend(from_environment);
    if (!named) {
      throw Error(cat("DUSK_BACKEND=", printable(from_environment), " is not a backend; use auto, fast or ref, or unset it"));
    }
    requested = *named;
  }
  if (requested == Backend::Reference) return Backend::Reference;
  if (!fast_backend_compiled()) {
    if (requested == Backend::Fast) {
      throw Error("the fast backend was asked for, but this dusk was built without oneDNN; install libdnnl-dev "
                  "and rebuild, or use the reference backend");
    }
    return Backend::Reference;
  }
  return Backend::Fast;
}

Precision choose_precision(const NetworkOptions& options, Backend backend, std::vector<std::string>& notices) {
  const CpuFeatures cpu = cpu_features();
  const bool fast = backend == Backend::Fast;
  const auto available = [&](Precision p) {
    return p == Precision::Fp32 || (fast && p == Precision::Bf16 && cpu.bf16()) ||
           (fast && p == Precision::Int8 && cpu.int8() && options.calibration);
  };
  if (options.precision == Precision::Auto) {
    for (const Precision p : {Precision::Int8, Precision::Bf16}) {  // fastest first
      if (static_cast<int>(p) <= static_cast<int>(options.lowest_accepted) && available(p)) return p;
    }
    return Precision::Fp32;
  }
  if (available(options.precision)) return options.precision;
  std::string why;
  if (!fast) why = "the reference backend computes in fp32 only";
  else if (options.precision == Precision::Bf16) why = cat("this CPU has no bf16 unit (found: ", describe(cpu), ")");
  else if (!cpu.int8()) why = cat("this CPU has no int8 dot-product unit (VNNI or AMX; found: ", describe(cpu), ")");
  else why = "int8 needs a calibration (dusk calibrate)";
  const std::string notice = cat("precision ", precision_name(options.precision), " is not available: ", why);
  if (options.strict_precision) {
    throw Error({cat(notice, "; ask for fp32 or auto, or drop "), Option::Strict});
  }
  notices.push_back(notice + "; running fp32");
  return Precision::Fp32;
}

void check_calibration(const Graph& graph, const Calibration& calibration, std::uint64_t weights_hash) {
  if (calibration.weights_hash != weights_hash) {
    char made[17], these[17];
    std::snprintf(made, sizeof made, "%016llx", static_cast<unsigned long long>(calibration.weights_hash));
    std::snprintf(these, sizeof these, "%016llx", static_cast<unsigned long long>(weights_hash));
    throw Error({cat(graph.source, ": the calibration was made with other weights (fnv1a64:", made,
                     "; these are fnv1a64:", these, "); run dusk calibrate with these weights ("),
                 Option::Calibration, ")"});
  }
  for (const int layer : calibrated_layers(graph)) {
    if (calibration.ranges.count(layer) == 0) {
      throw Error({cat(graph.source, ": the calibration has no range for layer ", layer,
                       ", so it was made for another network; run dusk calibrate for this cfg ("),
                   Option::Calibration, ")"});
    }
  }
}

int choose_threads(int requested) { return requested > 0 ? requested : default_threads(); }

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::Auto: return "auto";
    case Precision::Fp32: return "fp32";
    case Precision::Bf16: return "bf16";
    case Precision::Int8: return "int8";
  }
  return "auto";
}

std::optional<Precision> parse_precision(std::string_view name) {
  for (const Precision p : {Precision::Auto, Precision::Fp32, Precision::Bf16, Precision::Int8}) {
    if (name == precision_name(p)) return p;
  }
  return std::nullopt;
}

std::string_view backend_name(Backend backend) {
  switch (backend) {
    case Backend::Auto: return "auto";
    case Backend::Reference: return "reference";
    case Backend::Fast: return "fast";
  }
  return "auto";
}

std::optional<Backend> parse_backend(std::string_view name) {
  if (name == "ref") return Backend::Reference;
  for (const Backend backend : {Backend::Auto, Backend::Reference, Backend::Fast}) {
    if (name == backend_name(backend)) return backend;
  }
  return std::nullopt;
}

}  // namespace dusk
