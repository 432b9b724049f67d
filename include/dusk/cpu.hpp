#pragma once
// The low-precision units of this CPU, read from CPUID (and the OS's
// XSAVE state for AMX), so that a mode the CPU lacks is never run on
// oneDNN's slow emulation.
#include <string>

namespace dusk {

struct CpuFeatures {
  bool avx512_bf16 = false;  // AVX512-BF16: Cooper Lake, Zen 4 and later
  bool amx_bf16 = false;     // AMX tiles: Sapphire Rapids and later
  bool avx512_vnni = false;  // AVX512-VNNI: Cascade Lake, Zen 4 and later
  bool avx_vnni = false;     // AVX-VNNI (256-bit): Alder Lake and later
  bool amx_int8 = false;

  bool bf16() const { return avx512_bf16 || amx_bf16; }
  bool int8() const { return avx512_vnni || avx_vnni || amx_int8; }
};

// This CPU's features, less those the environment hides:
// DUSK_CPU_FEATURES=bf16,int8 (or none) keeps only the listed groups, so
// tests and users can see how dusk behaves on a CPU without them. It never
// adds a feature the CPU lacks. Throws dusk::Error on an unknown name.
CpuFeatures cpu_features();

// "avx512_bf16 avx512_vnni", or "none".
std::string describe(const CpuFeatures& features);

// The CPU's model name (/proc/cpuinfo), or "unknown CPU".
std::string cpu_model_name();

// The file of the OpenMP runtime that GOMP_parallel resolves to in this
// process ("libomp.so.5" when dusk's link order took effect).
std::string openmp_runtime_file();

}  // namespace dusk
