#pragma once
// Ctrl-C and SIGTERM for long runs: the first one asks the run to stop
// cleanly (outputs finished, summary printed); a second one ends the
// process at once, as it would have without us.
#include <atomic>

namespace dusk::cli {

// Installs the handlers (once) and returns the flag the first signal sets.
const std::atomic<bool>& catch_interrupts();

}  // namespace dusk::cli
