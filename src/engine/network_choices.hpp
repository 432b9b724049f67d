#pragma once
// What a Network decides once at load: its backend, precision and thread
// budget, and whether a calibration belongs to its weights.
#include <cstdint>
#include <string>
#include <vector>

#include "dusk/calibration.hpp"
#include "dusk/network.hpp"

namespace dusk {

// The environment (DUSK_BACKEND) changes the default only: a program's explicit choice stands.
Backend choose_backend(Backend requested);
// The mode to run: the one asked for when the backend and the CPU have it,
// else fp32 with a notice added to `notices` (an error when strict).
Precision choose_precision(const NetworkOptions& options, Backend backend, std::vector<std::string>& notices);
int choose_threads(int requested);
// A calibration is only good for the weights and network it was made with.
void check_calibration(const Graph& graph, const Calibration& calibration, std::uint64_t weights_hash);

}  // namespace dusk
