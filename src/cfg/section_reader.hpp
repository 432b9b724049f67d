#pragma once
// Typed access to one cfg section's options. Every failure names file:line
// and says what value was expected.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dusk/cfg.hpp"

namespace dusk {

class SectionReader {
 public:
  SectionReader(const std::string& source, const CfgSection& section);

  bool has(std::string_view key) const;
  int get_int(std::string_view key, int fallback, int min, int max);
  float get_float(std::string_view key, float fallback, float min, float max);
  bool get_flag(std::string_view key, bool fallback);  // 0 or 1
  std::string get_string(std::string_view key, std::string_view fallback);
  std::vector<int> get_int_list(std::string_view key, int min, int max);  // empty when absent
  std::vector<float> get_float_list(std::string_view key);

  // Marks keys as known but without effect at inference.
  void ignore(std::string_view key);
  // Throws if `key` is present with a value other than `neutral`.
  void reject_unless(std::string_view key, std::string_view neutral, std::string_view why);

  std::string where() const;                     // "file:line" of the header
  std::string where(std::string_view key) const;  // of the option, or the header
  const std::string& type() const { return section_.type; }

  // A warning of the layer's own (a value dusk chose), reported with the rest.
  void warn(const std::string& message);

  // One warning per option that no getter read and that is not a known
  // training-only key, plus one per duplicated key, plus those given to warn().
  // Throws for an unknown key that looks like a misspelt key this section
  // reads (activaton= for activation=).
  void collect_warnings(std::vector<std::string>& warnings) const;

 private:
  const CfgOption* find(std::string_view key) const;
  [[noreturn]] void fail(const CfgOption& option, std::string_view expected) const;

  const std::string& source_;
  const CfgSection& section_;
  std::set<std::string, std::less<>> used_;
  std::vector<std::string> warnings_;
};

// Parses a whole string as a number; false on any junk or non-finite value.
bool parse_int(std::string_view text, long long& value);
bool parse_float(std::string_view text, double& value);

}  // namespace dusk
