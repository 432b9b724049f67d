// The dusk command line: run Darknet models on the CPU.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli_common.hpp"
#include "dusk/options.hpp"
#include "commands.hpp"
#include "usage_errors.hpp"

int main(int argc, char** argv) {
  CLI::App app{"dusk: run Darknet/YOLO models on the CPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dusk " DUSK_VERSION);
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
  dusk::cli::add_adapt_bn_command(app, action);
  dusk::cli::add_serve_command(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    std::cerr << "dusk: error: " << dusk::cli::usage_error_line(app, error, argc, argv) << "\n";
    return 2;
  }
  try {
    return action();
  } catch (const dusk::cli::UsageError& error) {
    std::cerr << "dusk: error: " << error.what() << "\n";
    return 2;
  } catch (const dusk::OptionError& error) {  // a flag's value: said with the flag's name
    std::cerr << "dusk: error: " << error.message(dusk::Shell::Cli) << "\n";
    return 2;
  } catch (const dusk::Error& error) {  // options it names are spelled as flags
    std::cerr << "dusk: error: " << error.message(dusk::Shell::Cli) << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "dusk: error: out of memory; try a smaller input size\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "dusk: error: " << error.what() << "\n";
    return 1;
  }
}
