// The dusk command line: run Darknet models on the CPU.
#include <CLI/CLI.hpp>

#include <iostream>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli_common.hpp"
#include "commands.hpp"

namespace {

// Every image allocates and frees blocks of megabytes (pixels, the fitted
// input). glibc's defaults give blocks over 128 KiB back to the kernel and
// trim the heap, so the next image faults fresh pages in, and with worker
// threads every unmap costs a TLB shootdown on each core. Keeping freed
// blocks (up to 32 MiB each, 256 MiB in all) in the heap: `dusk detect`
// over coco128 with yolo-fastest, 1 thread, 105.6 -> 123.4 images/s.
void keep_freed_memory() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  CLI::App app{"dusk: run Darknet/YOLO models on the CPU"};
  app.require_subcommand(1);
  std::function<int()> action;
  dusk::cli::add_detect_command(app, action);
  dusk::cli::add_forward_command(app, action);
  dusk::cli::add_inspect_command(app, action);
  dusk::cli::add_fold_command(app, action);
  dusk::cli::add_diff_command(app, action);
  dusk::cli::add_partial_command(app, action);
  dusk::cli::add_bench_command(app, action);
  dusk::cli::add_map_command(app, action);
  dusk::cli::add_export_command(app, action);
  dusk::cli::add_calibrate_command(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  try {
    return action();
  } catch (const dusk::cli::UsageError& error) {
    std::cerr << "dusk: error: " << error.what() << "\n";
    return 2;
  } catch (const dusk::Error& error) {
    std::cerr << "dusk: error: " << dusk::cli::in_cli_terms(error.what()) << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "dusk: error: out of memory; try a smaller input size\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "dusk: error: " << error.what() << "\n";
    return 1;
  }
}
