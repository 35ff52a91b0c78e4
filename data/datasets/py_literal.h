// Python-literal cells inside CSV tables: the Mammo-CLIP and VinDr derived
// tables store lists as `str(list)` (`['CC', 'MLO']`, `[[], ['Mass']]`), the
// FPN-MIL table stores JSON lists of such strings and bracketed float lists
// (`[360.3, 411.5]`). This parses that subset of Python/JSON literals
// (lists, tuples, strings, numbers, None/True/False/nan) and formats lists
// the way Python's `repr` does. No LibTorch.
#ifndef MAMMOVL_DATA_DATASETS_PY_LITERAL_H_
#define MAMMOVL_DATA_DATASETS_PY_LITERAL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::data {

// A parsed literal. `kind` says which member is meaningful.
struct PyValue {
  enum class Kind { kNone, kBool, kNumber, kString, kList };
  Kind kind = Kind::kNone;
  bool boolean = false;
  double number = 0;
  std::string str;
  std::vector<PyValue> items;  // kList (also used for tuples)
};

// Parses one literal; InvalidArgument with the offset of the first bad
// character otherwise. Surrounding whitespace is allowed.
absl::StatusOr<PyValue> ParsePyLiteral(absl::string_view text);

// Parses a flat list of strings (`['a', "b"]`, `[]`). With
// `allow_bare_value`, a cell that is not a list literal is returned as a
// one-element list (the reference's fallback for single values); an empty
// cell gives an empty list.
absl::StatusOr<std::vector<std::string>> ParsePyStringList(absl::string_view text,
                                                           bool allow_bare_value = false);

// Parses a flat list of numbers (`[1.5, 2]`); a bare number is a 1-list.
absl::StatusOr<std::vector<double>> ParsePyNumberList(absl::string_view text);

// Formats like Python's `repr(str)`: single quotes unless the text holds a
// single quote and no double quote.
std::string PyRepr(absl::string_view s);
// Formats like `repr(list_of_str)`: `['a', 'b']`.
std::string PyStringList(const std::vector<std::string>& items);
// Formats a JSON list of strings: `["a", "b"]`.
std::string JsonStringList(const std::vector<std::string>& items);
// Formats numbers like Python's `repr(float)` for a list: `[360.3, 411.5]`.
std::string PyNumberList(const std::vector<double>& values);
// Shortest decimal text that reads back to exactly `value` (repr(float)).
std::string PyFloat(double value);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DATASETS_PY_LITERAL_H_
