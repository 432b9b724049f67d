#pragma once
// How many CPUs this process may really use, and which OpenMP runtime
// serves its threads.
#include <string>

namespace dusk {

// CPUs in this process's affinity mask (taskset, cpusets); at least 1.
int affinity_cpu_count();

// The tightest cgroup CPU quota on this process and its parent groups,
// rounded up to whole CPUs (cgroup v2 cpu.max, v1 cpu.cfs_quota_us); 0 when
// there is none. Reads the given /proc files (tests pass made-up ones).
int cgroup_cpu_limit(const std::string& proc_cgroup = "/proc/self/cgroup",
                     const std::string& proc_mountinfo = "/proc/self/mountinfo");

// How long (ms) an idle OpenMP thread of dusk's keeps its core before it
// sleeps: long enough to bridge the gap between two layers, short enough that
// the gaps between images (decoding, other processes) are given away.
inline constexpr int kOpenMpBlocktimeMs = 1;

// Sets kOpenMpBlocktimeMs for the OpenMP teams the calling thread starts,
// once per thread, unless the user chose one (KMP_BLOCKTIME).
void limit_openmp_spinning();

// openmp_runtime_file() is public: dusk/cpu.hpp.

}  // namespace dusk
