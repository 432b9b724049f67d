// Sharing the machine: the default thread count follows the affinity mask
// and cgroup CPU quotas, and oneDNN's threads run on LLVM's OpenMP runtime
// (libgomp's long spinning made concurrent dusk processes 10-150x slower).
#include <doctest/doctest.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dusk/network.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"
#include "engine/cpu_share.hpp"
#include "util/cpus.hpp"
#include "dusk/cpu.hpp"

namespace fs = std::filesystem;

namespace {

// A made-up /proc/self/mountinfo line for a cgroup mount.
std::string mount_line(const std::string& root, const fs::path& mount_point, const std::string& type,
                       const std::string& options) {
  return "30 25 0:26 " + root + " " + mount_point.string() + " rw,nosuid - " + type + " cgroup " + options + "\n";
}

int json_int(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  REQUIRE(at != std::string::npos);
  return std::stoi(json.substr(at + key.size() + 3));
}

std::string bench_json(const std::string& prefix) {
  const auto result = dusk::test::run_command(prefix + " " + dusk::test::kDuskBinary + " bench " +
                                              dusk::test::shared("models/yolo-fastest-1.1.cfg") +
                                              " - --iters 1 --warmup 0 --json");
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  return result.out;
}

}  // namespace

TEST_CASE("cgroup v2 quotas: the tightest of the group and its parents, rounded up") {
  const dusk::test::TempDir dir;
  const fs::path root = dir.path() / "unified";
  fs::create_directories(root / "app" / "worker");
  dir.write("unified/cpu.max", "max 100000\n");
  dir.write("unified/app/cpu.max", "250000 100000\n");       // 2.5 CPUs -> 3
  dir.write("unified/app/worker/cpu.max", "max 100000\n");  // no limit of its own
  const std::string mountinfo = dir.write("mountinfo", mount_line("/", root, "cgroup2", "rw"));
  const std::string cgroup = dir.write("cgroup", "0::/app/worker\n");
  CHECK(dusk::cgroup_cpu_limit(cgroup, mountinfo) == 3);

  dir.write("unified/app/worker/cpu.max", "50000 100000\n");  // half a CPU -> 1
  CHECK(dusk::cgroup_cpu_limit(cgroup, mountinfo) == 1);

  dir.write("unified/app/worker/cpu.max", "max 100000\n");
  dir.write("unified/app/cpu.max", "max 100000\n");
  CHECK(dusk::cgroup_cpu_limit(cgroup, mountinfo) == 0);  // no quota anywhere
}

TEST_CASE("cgroup v1 quotas, and a container that sees its own group as /") {
  const dusk::test::TempDir dir;
  const fs::path cpu = dir.path() / "cpu";
  fs::create_directories(cpu / "job");
  dir.write("cpu/cpu.cfs_quota_us", "-1\n");
  dir.write("cpu/cpu.cfs_period_us", "100000\n");
  dir.write("cpu/job/cpu.cfs_quota_us", "100000\n");
  dir.write("cpu/job/cpu.cfs_period_us", "100000\n");
  const std::string mountinfo =
      dir.write("mountinfo", mount_line("/", dir.path() / "memory", "cgroup", "rw,memory") +
                                 mount_line("/docker/abc", cpu, "cgroup", "rw,cpu,cpuacct"));
  // The container's group is mounted at the mount point itself.
  const std::string cgroup = dir.write("cgroup", "4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc/job\n");
  CHECK(dusk::cgroup_cpu_limit(cgroup, mountinfo) == 1);
  dir.write("cpu/job/cpu.cfs_quota_us", "-1\n");
  CHECK(dusk::cgroup_cpu_limit(cgroup, mountinfo) == 0);
  CHECK(dusk::cgroup_cpu_limit(dir.file("missing"), dir.file("missing")) == 0);
}

TEST_CASE("the default thread count follows this thread's affinity mask") {
  cpu_set_t saved;
  REQUIRE(sched_getaffinity(0, sizeof(saved), &saved) == 0);
  const int cpus = CPU_COUNT(&saved);
  CHECK(dusk::affinity_cpu_count() == cpus);
  if (dusk::cgroup_cpu_limit() == 0) CHECK(dusk::default_threads() == cpus);
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0);
  CHECK(dusk::default_threads() == 1);
  REQUIRE(sched_setaffinity(0, sizeof(saved), &saved) == 0);
}

TEST_CASE("dusk under taskset -c 0 runs one thread by default") {
  CHECK(json_int(bench_json("taskset -c 0"), "threads") == 1);
}

TEST_CASE("dusk in a cgroup with a one-CPU quota runs one thread by default") {
  // Needs a writable cpu controller (root on cgroup v1 or v2); CI runs as root.
  const fs::path v1 = "/sys/fs/cgroup/cpu";
  const fs::path v2 = "/sys/fs/cgroup";
  fs::path group;
  std::string quota_file;
  std::string quota;
  std::error_code error;
  if (fs::exists(v1 / "cpu.cfs_quota_us")) {
    group = v1 / ("dusk-test-" + std::to_string(::getpid()));
    quota_file = "cpu.cfs_quota_us";
    quota = "100000";  // with the default 100000 us period: one CPU
  } else if (fs::exists(v2 / "cgroup.controllers")) {
    group = v2 / ("dusk-test-" + std::to_string(::getpid()));
    quota_file = "cpu.max";
    quota = "100000 100000";
  }
  if (group.empty() || !fs::create_directory(group, error) || !(std::ofstream(group / quota_file) << quota)) {
    MESSAGE("skipped: cannot create a cgroup with a CPU quota here (needs root and a writable cpu controller)");
    if (!group.empty()) fs::remove(group, error);
    return;
  }
  const std::string enter = "echo $$ > " + (group / "cgroup.procs").string() + " && exec";
  const int threads = json_int(bench_json("sh -c '" + enter + " \"$0\" \"$@\"'"), "threads");
  fs::remove(group, error);  // empty again once the command has exited
  CHECK(threads == 1);
}

TEST_CASE("oneDNN and dusk run on LLVM's OpenMP runtime, which gives the core away when idle") {
  CHECK(dusk::openmp_runtime_file() == "libomp.so.5");
  const std::string json = bench_json("");
  CHECK(json.find("\"openmp_runtime\":\"libomp.so.5\"") != std::string::npos);
}

TEST_CASE("the default budget halves after three starved calls, for a second") {
  dusk::CpuShare share;
  CHECK(share.threads_for(2) == 2);
  share.record(2, 10.0, 9.0);  // the calling thread was on a CPU all along
  share.record(2, 10.0, 3.0);
  share.record(2, 10.0, 3.0);
  share.record(2, 10.0, 9.5);  // a good call resets the count
  share.record(2, 10.0, 3.0);
  share.record(2, 10.0, 3.0);
  share.record(2, 0.1, 0.0);   // too short to say anything
  share.record(1, 10.0, 1.0);  // one thread waits on nobody
  CHECK(share.threads_for(2) == 2);
  share.record(2, 10.0, 3.0);  // the third starved call in a row
  CHECK(share.threads_for(2) == 1);
  CHECK(share.threads_for(16) == 8);
  CHECK(share.threads_for(1) == 1);
}
