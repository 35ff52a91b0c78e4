#include "tools/fuzz/fuzz_dictionary.h"

#include <cctype>
#include <string>

namespace mammovl::fuzz {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses one non-comment line; false if it is not a dictionary entry.
bool ParseLine(const std::string& line, std::string* word) {
  const size_t open = line.find('"');
  if (open == std::string::npos) return false;
  for (size_t i = 0; i < open; ++i) {
    const char c = line[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '=' ||
          c == ' ' || c == '\t')) {
      return false;
    }
  }
  word->clear();
  size_t i = open + 1;
  for (; i < line.size() && line[i] != '"'; ++i) {
    if (line[i] != '\\') {
      word->push_back(line[i]);
      continue;
    }
    if (++i == line.size()) return false;
    if (line[i] == '\\' || line[i] == '"') {
      word->push_back(line[i]);
    } else if (line[i] == 'x' && i + 2 < line.size() &&
               HexValue(line[i + 1]) >= 0 && HexValue(line[i + 2]) >= 0) {
      word->push_back(static_cast<char>(HexValue(line[i + 1]) * 16 +
                                        HexValue(line[i + 2])));
      i += 2;
    } else {
      return false;
    }
  }
  if (i == line.size()) return false;  // no closing quote
  for (++i; i < line.size(); ++i) {
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return false;
  }
  return true;
}

}  // namespace

bool ParseDictionary(const std::string& text, std::vector<std::string>* words,
                     std::string* error) {
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::string word;
    if (!ParseLine(line.substr(first), &word)) {
      *error = "line " + std::to_string(line_number) +
               " is not name=\"value\": " + line;
      return false;
    }
    words->push_back(word);
  }
  return true;
}

}  // namespace mammovl::fuzz
