#pragma once
// Registration of each subcommand; one file per subcommand implements one.
#include <functional>

namespace CLI {
class App;
}

namespace dusk::cli {

// Each adds its subcommand to `app`; when the subcommand is chosen, parsing
// stores the work to run in `action`.
void add_forward_command(CLI::App& app, std::function<int()>& action);
void add_detect_command(CLI::App& app, std::function<int()>& action);
void add_inspect_command(CLI::App& app, std::function<int()>& action);
void add_fold_command(CLI::App& app, std::function<int()>& action);
void add_diff_command(CLI::App& app, std::function<int()>& action);
void add_partial_command(CLI::App& app, std::function<int()>& action);
void add_bench_command(CLI::App& app, std::function<int()>& action);
void add_map_command(CLI::App& app, std::function<int()>& action);
void add_export_command(CLI::App& app, std::function<int()>& action);
void add_calibrate_command(CLI::App& app, std::function<int()>& action);
void add_serve_command(CLI::App& app, std::function<int()>& action);
void add_adapt_bn_command(CLI::App& app, std::function<int()>& action);

}  // namespace dusk::cli
