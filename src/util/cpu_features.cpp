#include "dusk/cpu.hpp"

#include <cpuid.h>

#include <cstdlib>
#include <fstream>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

bool bit(unsigned value, int index) { return ((value >> index) & 1u) != 0; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n')) text.remove_suffix(1);
  return text;
}

CpuFeatures read_cpuid() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return f;
  const unsigned leaf7_ecx = ecx, leaf7_edx = edx, max_subleaf = eax;
  // The OS must save the AVX-512 (XCR0 bits 5-7) and AMX tile (17-18) state.
  unsigned xcr0 = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && bit(ecx, 27)) {
    unsigned high = 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(high) : "c"(0));
  }
  const bool avx512_state = (xcr0 & 0xe6u) == 0xe6u;
  const bool amx_state = (xcr0 & 0x60000u) == 0x60000u;
  f.avx512_vnni = avx512_state && bit(leaf7_ecx, 11);
  f.amx_bf16 = amx_state && bit(leaf7_edx, 22) && bit(leaf7_edx, 24);
  f.amx_int8 = amx_state && bit(leaf7_edx, 25) && bit(leaf7_edx, 24);
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) != 0) {
    f.avx512_bf16 = avx512_state && bit(eax, 5);
    f.avx_vnni = (xcr0 & 0x6u) == 0x6u && bit(eax, 4);
  }
#endif
  return f;
}

}  // namespace

CpuFeatures cpu_features() {
  static const CpuFeatures hardware = read_cpuid();
  CpuFeatures f = hardware;
  const char* keep = std::getenv("DUSK_CPU_FEATURES");
  if (keep == nullptr) return f;
  bool bf16 = false, int8 = false;
  for (const std::string_view name : split(keep, ',')) {
    const std::string_view item = trim(name);
    if (item == "bf16") bf16 = true;
    else if (item == "int8") int8 = true;
    else if (item != "none" && !item.empty()) {
      throw Error(cat("DUSK_CPU_FEATURES=", printable(keep), ": '", printable(item),
                      "' is not a feature group; list bf16 and/or int8, or none"));
    }
  }
  if (!bf16) f.avx512_bf16 = f.amx_bf16 = false;
  if (!int8) f.avx512_vnni = f.avx_vnni = f.amx_int8 = false;
  return f;
}

std::string describe(const CpuFeatures& f) {
  std::string out;
  const auto add = [&](bool present, const char* name) {
    if (!present) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(f.amx_bf16, "amx_bf16");
  add(f.amx_int8, "amx_int8");
  add(f.avx512_bf16, "avx512_bf16");
  add(f.avx512_vnni, "avx512_vnni");
  add(f.avx_vnni, "avx_vnni");
  return out.empty() ? "none" : out;
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) return std::string(trim(std::string_view(line).substr(colon + 1)));
    }
  }
  return "unknown CPU";
}

}  // namespace dusk
