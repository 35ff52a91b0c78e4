// Selecting parameters by name, for freezing and weight-decay groups.
//
// A pattern is a shell glob matched against the whole dotted parameter name
// (`*` and `?` also match dots; `[abc]` classes as fnmatch), e.g.
// "text_encoder.*", "*.bias", "vision.blocks.[0-5].*". A pattern that starts
// with "re:" is an ECMAScript regular expression that must match the whole
// name, e.g. "re:vision\\.blocks\\.([0-9]|1[01])\\..*". No LibTorch.
#ifndef MAMMOVL_TRAIN_NAME_PATTERN_H_
#define MAMMOVL_TRAIN_NAME_PATTERN_H_

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::train {

class NamePattern {
 public:
  // Parses `pattern`; InvalidArgument (naming `field` and the pattern) for an
  // empty pattern or a malformed regular expression.
  static absl::StatusOr<NamePattern> Parse(absl::string_view pattern,
                                           absl::string_view field);

  bool Matches(absl::string_view name) const;
  const std::string& text() const { return text_; }

 private:
  NamePattern(std::string text, std::shared_ptr<const std::regex> regex)
      : text_(std::move(text)), regex_(std::move(regex)) {}

  std::string text_;
  std::shared_ptr<const std::regex> regex_;  // null for globs
};

// Parses every pattern; errors name `field[i]`.
absl::StatusOr<std::vector<NamePattern>> ParseNamePatterns(
    const std::vector<std::string>& patterns, absl::string_view field);

// True if any pattern matches `name`.
bool MatchesAny(const std::vector<NamePattern>& patterns,
                absl::string_view name);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_NAME_PATTERN_H_
