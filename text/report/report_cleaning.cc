#include "text/report/report_cleaning.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "text/tokenizer/unicode.h"

namespace mammovl::text {
namespace {

struct PyRange {
  char32_t first;
  char32_t last;
};

#include "text/report/python_classes.inc"

template <size_t N>
bool InRanges(const PyRange (&ranges)[N], char32_t c) {
  const PyRange* it = std::upper_bound(
      ranges, ranges + N, c,
      [](char32_t v, const PyRange& r) { return v < r.first; });
  return it != ranges && c <= (it - 1)->last;
}

bool IsPyWord(char32_t c) {
  if (c < 0x80)
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  return InRanges(kPythonWord, c);
}

bool IsPySpace(char32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  return InRanges(kPythonSpace, c);
}

std::u32string Decode(absl::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) out.push_back(DecodeUtf8(text, &pos));
  return out;
}

std::string Encode(const std::u32string& text, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) AppendUtf8(text[i], &out);
  return out;
}

// Python's str.lower() as far as the cleaned (ASCII) output can tell: the
// per-character full lower-case mapping. (Final sigma only picks between two
// non-ASCII letters, which are dropped either way.)
std::u32string PyLower(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  char32_t lower[4];
  for (char32_t c : text) {
    const int n = ToLowercase(c, lower);
    out.append(lower, lower + n);
  }
  return out;
}

// `re.findall(r"\w+|[^\w\s]+")` (punct = true) or `r"\w+"` (punct = false).
std::vector<std::string> Tokenize(const std::u32string& text, bool punct) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    if (IsPyWord(text[i])) {
      size_t j = i;
      while (j < text.size() && IsPyWord(text[j])) ++j;
      tokens.push_back(Encode(text, i, j));
      i = j;
    } else if (punct && !IsPySpace(text[i])) {
      size_t j = i;
      while (j < text.size() && !IsPyWord(text[j]) && !IsPySpace(text[j])) ++j;
      tokens.push_back(Encode(text, i, j));
      i = j;
    } else {
      ++i;
    }
  }
  return tokens;
}

// `t.encode("ascii", "ignore").decode("ascii")` for every token; drops the
// tokens that become empty.
std::vector<std::string> AsciiOnly(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  for (const std::string& t : tokens) {
    std::string ascii;
    for (char c : t) {
      if (static_cast<unsigned char>(c) < 0x80) ascii.push_back(c);
    }
    if (!ascii.empty()) out.push_back(std::move(ascii));
  }
  return out;
}

constexpr char kDoubleReplacement[] =
    "\xEF\xBF\xBD\xEF\xBF\xBD";  // "\ufffd\ufffd"

// Splits like Python's `re.split("[0-9]+\.", text)`.
std::vector<std::string> SplitNumberedList(absl::string_view text) {
  std::vector<std::string> pieces;
  size_t start = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      size_t j = i;
      while (j < text.size() &&
             absl::ascii_isdigit(static_cast<unsigned char>(text[j])))
        ++j;
      if (j < text.size() && text[j] == '.') {
        pieces.emplace_back(text.substr(start, i - start));
        start = j + 1;
        i = j + 1;
        continue;
      }
      i = j;
      continue;
    }
    ++i;
  }
  pieces.emplace_back(text.substr(start));
  return pieces;
}

}  // namespace

absl::StatusOr<ReportSections> ExtractReportSections(absl::string_view report) {
  MVL_RETURN_IF_ERROR(ValidateUtf8(report));
  struct Header {
    const char* name;
    std::string ReportSections::*field;
  };
  static const Header kHeaders[] = {
      {"CLINICAL HISTORY", &ReportSections::history},
      {"HISTORY", &ReportSections::history},
      {"INDICATIONS", &ReportSections::history},
      {"INDICATION", &ReportSections::history},
      {"FINDINGS", &ReportSections::findings},
      {"FINDING", &ReportSections::findings},
      {"IMPRESSIONS", &ReportSections::impression},
      {"IMPRESSION", &ReportSections::impression},
  };
  ReportSections sections;
  std::string* current = &sections.preamble;
  auto append = [](std::string* field, absl::string_view text) {
    text = absl::StripAsciiWhitespace(text);
    if (text.empty()) return;
    if (!field->empty()) field->push_back(' ');
    field->append(text.data(), text.size());
  };
  for (absl::string_view line : absl::StrSplit(report, '\n')) {
    const absl::string_view stripped = absl::StripLeadingAsciiWhitespace(line);
    bool matched = false;
    for (const Header& h : kHeaders) {
      const size_t n = std::char_traits<char>::length(h.name);
      if (stripped.size() < n ||
          !absl::EqualsIgnoreCase(stripped.substr(0, n), h.name))
        continue;
      const absl::string_view rest =
          absl::StripLeadingAsciiWhitespace(stripped.substr(n));
      if (rest.empty() || rest[0] != ':') continue;
      current = &(sections.*(h.field));
      append(current, rest.substr(1));
      matched = true;
      break;
    }
    if (!matched) append(current, line);
  }
  return sections;
}

std::vector<std::string> WordPunctTokenize(absl::string_view text) {
  return Tokenize(Decode(text), /*punct=*/true);
}

std::vector<std::string> WordTokenize(absl::string_view text) {
  return Tokenize(Decode(text), /*punct=*/false);
}

absl::StatusOr<std::string> CleanMammoClipSection(absl::string_view section) {
  MVL_RETURN_IF_ERROR(ValidateUtf8(section));
  std::string text = absl::StrReplaceAll(section, {{"\n", " "}});
  text = absl::StrReplaceAll(text, {{".", ". "}});
  std::vector<std::string> kept;
  for (absl::string_view sentence : absl::StrSplit(text, ". ")) {
    if (sentence.empty()) continue;
    const std::string replaced =
        absl::StrReplaceAll(sentence, {{kDoubleReplacement, " "}});
    const std::vector<std::string> tokens =
        Tokenize(PyLower(Decode(replaced)), /*punct=*/true);
    if (tokens.size() <= 1) continue;
    const std::vector<std::string> ascii = AsciiOnly(tokens);
    if (ascii.size() > 2) kept.push_back(absl::StrJoin(ascii, " "));
  }
  return absl::StrJoin(kept, " ");
}

absl::StatusOr<std::string> CleanMammoClipImpression(
    absl::string_view impression) {
  return CleanMammoClipSection(
      absl::StrReplaceAll(impression, {{"BI-RADS", "BIRADS"}}));
}

absl::StatusOr<std::vector<std::string>> CleanMgcaReport(
    absl::string_view impression, absl::string_view findings) {
  MVL_RETURN_IF_ERROR(ValidateUtf8(impression));
  MVL_RETURN_IF_ERROR(ValidateUtf8(findings));
  const std::string caption = absl::StrReplaceAll(
      absl::StrCat(impression, " ", findings), {{"\n", " "}});
  std::vector<std::string> sentences;
  size_t count = 0;
  for (const std::string& point : SplitNumberedList(caption)) {
    for (absl::string_view sentence : absl::StrSplit(point, '.')) {
      if (sentence.empty()) continue;
      const std::string replaced =
          absl::StrReplaceAll(sentence, {{kDoubleReplacement, " "}});
      const std::vector<std::string> tokens =
          Tokenize(PyLower(Decode(replaced)), /*punct=*/false);
      if (tokens.size() <= 1) continue;
      const std::vector<std::string> ascii = AsciiOnly(tokens);
      if (!ascii.empty()) sentences.push_back(absl::StrJoin(ascii, " "));
      count += ascii.size();
    }
  }
  if (count < 3) sentences.clear();
  return sentences;
}

}  // namespace mammovl::text
