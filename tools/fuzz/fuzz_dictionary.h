// libFuzzer dictionaries (-dict=FILE) for the smoke driver: one word per
// line as `name="value"` or `"value"`, with \\, \" and \xNN escapes; blank
// lines and lines starting with '#' are ignored.
#ifndef MAMMOVL_TOOLS_FUZZ_FUZZ_DICTIONARY_H_
#define MAMMOVL_TOOLS_FUZZ_FUZZ_DICTIONARY_H_

#include <string>
#include <vector>

namespace mammovl::fuzz {

// Appends the words of `text` to `words`. On a malformed line returns false
// and sets `error` (naming the line number).
bool ParseDictionary(const std::string& text, std::vector<std::string>* words,
                     std::string* error);

}  // namespace mammovl::fuzz

#endif  // MAMMOVL_TOOLS_FUZZ_FUZZ_DICTIONARY_H_
