#include "train/name_pattern.h"

#include <fnmatch.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mammovl::train {

absl::StatusOr<NamePattern> NamePattern::Parse(absl::string_view pattern,
                                               absl::string_view field) {
  if (pattern.empty() || pattern == "re:") {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": empty name pattern"));
  }
  if (!absl::StartsWith(pattern, "re:"))
    return NamePattern(std::string(pattern), nullptr);
  try {
    auto regex = std::make_shared<const std::regex>(
        std::string(pattern.substr(3)), std::regex::ECMAScript);
    return NamePattern(std::string(pattern), std::move(regex));
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": bad regular expression '", pattern.substr(3),
                     "': ", e.what()));
  }
}

bool NamePattern::Matches(absl::string_view name) const {
  const std::string subject(name);
  if (regex_ != nullptr) return std::regex_match(subject, *regex_);
  return ::fnmatch(text_.c_str(), subject.c_str(), 0) == 0;
}

absl::StatusOr<std::vector<NamePattern>> ParseNamePatterns(
    const std::vector<std::string>& patterns, absl::string_view field) {
  std::vector<NamePattern> parsed;
  parsed.reserve(patterns.size());
  for (size_t i = 0; i < patterns.size(); ++i) {
    auto pattern =
        NamePattern::Parse(patterns[i], absl::StrCat(field, "[", i, "]"));
    if (!pattern.ok()) return pattern.status();
    parsed.push_back(*std::move(pattern));
  }
  return parsed;
}

bool MatchesAny(const std::vector<NamePattern>& patterns,
                absl::string_view name) {
  for (const NamePattern& pattern : patterns) {
    if (pattern.Matches(name)) return true;
  }
  return false;
}

}  // namespace mammovl::train
