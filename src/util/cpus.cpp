// CPU budget of this process: affinity mask and cgroup quotas.
#include "util/cpus.hpp"
#include "dusk/cpu.hpp"

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "dusk/text.hpp"

// LLVM's OpenMP runtime (libomp) API; dusk links it (CMakeLists.txt).
extern "C" void kmp_set_blocktime(int milliseconds);
// The entry GCC's -fopenmp code (dusk's and oneDNN's) calls for a parallel region.
extern "C" void GOMP_parallel(void (*body)(void*), void* data, unsigned threads, unsigned flags);

namespace dusk {

namespace {

namespace fs = std::filesystem;

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whole CPUs allowed by one group directory, 0 when it sets no limit.
int limit_in(const fs::path& dir, bool v2) {
  double quota = -1;
  double period = 0;
  if (v2) {
    std::istringstream in(read_small_file((dir / "cpu.max").string()));
    std::string first;
    if (!(in >> first >> period) || first == "max") return 0;
    quota = std::atof(first.c_str());
  } else {
    quota = std::atof(read_small_file((dir / "cpu.cfs_quota_us").string()).c_str());
    period = std::atof(read_small_file((dir / "cpu.cfs_period_us").string()).c_str());
  }
  if (quota <= 0 || period <= 0) return 0;
  return std::max(1, static_cast<int>((quota + period - 1) / period));
}

struct CgroupMount {
  fs::path mount_point;
  std::string root;  // the group mounted there (a container sees its own as /)
  bool v2 = false;
};

// cgroup mounts that hold the cpu controller (v1) or the unified tree (v2).
std::vector<CgroupMount> cpu_mounts(const std::string& mountinfo) {
  std::vector<CgroupMount> mounts;
  std::istringstream lines(read_small_file(mountinfo));
  for (std::string line; std::getline(lines, line);) {
    const std::size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream before(line.substr(0, dash));
    std::istringstream after(line.substr(dash + 3));
    std::string id, parent, device, root, mount_point, fs_type, source, options;
    before >> id >> parent >> device >> root >> mount_point;
    after >> fs_type >> source >> options;
    if (fs_type == "cgroup2") {
      mounts.push_back({mount_point, root, true});
    } else if (fs_type == "cgroup") {
      for (const std::string_view option : split(options, ',')) {
        if (option == "cpu") mounts.push_back({mount_point, root, false});
      }
    }
  }
  return mounts;
}

}  // namespace

int affinity_cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

int cgroup_cpu_limit(const std::string& proc_cgroup, const std::string& proc_mountinfo) {
  const std::vector<CgroupMount> mounts = cpu_mounts(proc_mountinfo);
  int tightest = 0;
  std::istringstream lines(read_small_file(proc_cgroup));
  for (std::string line; std::getline(lines, line);) {
    // "hierarchy-id:controllers:path"; v2 is "0::path".
    const std::size_t first = line.find(':');
    const std::size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    const bool v2 = line.compare(0, first, "0") == 0 && controllers.empty();
    bool has_cpu = v2;
    for (const std::string_view c : split(controllers, ',')) has_cpu = has_cpu || c == "cpu";
    if (!has_cpu) continue;
    for (const CgroupMount& mount : mounts) {
      if (mount.v2 != v2) continue;
      std::string relative = path;
      if (mount.root != "/" && relative.rfind(mount.root, 0) == 0) relative = relative.substr(mount.root.size());
      // The group and each parent up to the mount: a parent's quota binds too.
      fs::path dir = mount.mount_point / fs::path(relative).relative_path();
      while (true) {
        const int limit = limit_in(dir, v2);
        if (limit > 0) tightest = tightest == 0 ? limit : std::min(tightest, limit);
        if (dir == mount.mount_point || !dir.has_relative_path() || dir.parent_path() == dir) break;
        dir = dir.parent_path();
      }
    }
  }
  return tightest;
}

void limit_openmp_spinning() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  static const bool user_chose = std::getenv("KMP_BLOCKTIME") != nullptr;
  if (!user_chose) kmp_set_blocktime(kOpenMpBlocktimeMs);
}

std::string openmp_runtime_file() {
  // Resolved in dusk's own lookup scope, which oneDNN shares also when dusk
  // is inside a module loaded with RTLD_LOCAL (Python).
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&GOMP_parallel), &info) == 0 || info.dli_fname == nullptr) return "none";
  return fs::path(info.dli_fname).filename().string();
}

}  // namespace dusk
