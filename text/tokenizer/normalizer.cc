#include "text/tokenizer/normalizer.h"

#include <algorithm>

#include "text/tokenizer/unicode.h"

namespace mammovl::text_internal {
namespace {

namespace mt = ::mammovl::text;
using ::mammovl::text::CombiningClass;
using ::mammovl::text::Decompose;
using ::mammovl::text::UnicodeClasses;

// An output character of a transformation: `inserted` ones take the
// alignment of the last input character consumed, the others consume the
// next input character and take its alignment (HF `transform`).
struct Change {
  char32_t c;
  bool inserted;
  int ccc;
};

void ApplyChanges(const std::vector<Change>& changes,
                  const NormalizedText& input, NormalizedText* output) {
  output->clear();
  output->reserve(changes.size());
  size_t consumed = 0;
  for (const Change& ch : changes) {
    NormalizedChar out{ch.c, 0, 0};
    if (ch.inserted) {
      if (consumed > 0) {
        out.begin = input[consumed - 1].begin;
        out.end = input[consumed - 1].end;
      }
    } else {
      out.begin = input[consumed].begin;
      out.end = input[consumed].end;
      ++consumed;
    }
    output->push_back(out);
  }
}

void CleanText(NormalizedText* text) {
  size_t kept = 0;
  for (const NormalizedChar& nc : *text) {
    const uint8_t cls = UnicodeClasses(nc.c);
    if (cls & mt::kClassBertControl) continue;
    NormalizedChar out = nc;
    if (cls & mt::kClassWhitespace) out.c = ' ';
    (*text)[kept++] = out;
  }
  text->resize(kept);
}

void SpaceChineseChars(NormalizedText* text, NormalizedText* scratch) {
  bool any = false;
  for (const NormalizedChar& nc : *text) {
    if (UnicodeClasses(nc.c) & mt::kClassChinese) {
      any = true;
      break;
    }
  }
  if (!any) return;
  scratch->clear();
  for (const NormalizedChar& nc : *text) {
    if (UnicodeClasses(nc.c) & mt::kClassChinese) {
      scratch->push_back({' ', nc.begin, nc.end});
      scratch->push_back(nc);
      scratch->push_back({' ', nc.begin, nc.end});
    } else {
      scratch->push_back(nc);
    }
  }
  text->swap(*scratch);
}

// NFD (with canonical reordering of combining marks), then drops
// non-spacing marks.
void StripAccents(NormalizedText* text, NormalizedText* scratch) {
  bool simple = true;
  for (const NormalizedChar& nc : *text) {
    if (nc.c >= 0xC0) {
      simple = false;
      break;
    }
  }
  if (simple) return;  // Latin-1 below U+00C0 neither decomposes nor is a mark.
  std::vector<Change> changes;
  changes.reserve(text->size() + 8);
  char32_t parts[4];
  for (const NormalizedChar& nc : *text) {
    const int n = Decompose(nc.c, parts);
    for (int k = 0; k < n; ++k)
      changes.push_back({parts[k], k > 0, CombiningClass(parts[k])});
  }
  // Canonical ordering: stable sort of each run of non-starters by class.
  for (size_t i = 0; i < changes.size();) {
    if (changes[i].ccc == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < changes.size() && changes[j].ccc != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(
          changes.begin() + i, changes.begin() + j,
          [](const Change& a, const Change& b) { return a.ccc < b.ccc; });
    }
    i = j;
  }
  ApplyChanges(changes, *text, scratch);
  size_t kept = 0;
  for (const NormalizedChar& nc : *scratch) {
    if (UnicodeClasses(nc.c) & mt::kClassNonspacingMark) continue;
    (*scratch)[kept++] = nc;
  }
  scratch->resize(kept);
  text->swap(*scratch);
}

void Lowercase(NormalizedText* text, NormalizedText* scratch) {
  char32_t lower[4];
  bool expands = false;
  for (NormalizedChar& nc : *text) {
    const int n = mt::ToLowercase(nc.c, lower);
    if (n == 1) {
      nc.c = lower[0];
    } else {
      expands = true;
    }
  }
  if (!expands) return;
  scratch->clear();
  for (const NormalizedChar& nc : *text) {
    const int n = mt::ToLowercase(nc.c, lower);
    for (int k = 0; k < n; ++k)
      scratch->push_back({lower[k], nc.begin, nc.end});
  }
  text->swap(*scratch);
}

inline bool IsWhitespace(char32_t c) {
  return (UnicodeClasses(c) & mt::kClassWhitespace) != 0;
}

}  // namespace

void DecodeAligned(absl::string_view text, int32_t base, NormalizedText* out) {
  out->clear();
  out->reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t begin = pos;
    const char32_t c = mt::DecodeUtf8(text, &pos);
    out->push_back({c, base + static_cast<int32_t>(begin),
                    base + static_cast<int32_t>(pos)});
  }
}

void BertNormalize(const BertNormalizerOptions& options, NormalizedText* text,
                   NormalizedText* scratch) {
  if (options.clean_text) CleanText(text);
  if (options.handle_chinese_chars) SpaceChineseChars(text, scratch);
  if (options.strip_accents) StripAccents(text, scratch);
  if (options.lowercase) Lowercase(text, scratch);
}

void BertPreTokenize(const NormalizedText& text, CharRange range,
                     std::vector<CharRange>* words) {
  int32_t start = range.begin;
  for (int32_t i = range.begin; i < range.end; ++i) {
    const uint8_t cls = UnicodeClasses(text[i].c);
    if (cls & mt::kClassWhitespace) {
      if (start < i) words->push_back({start, i});
      start = i + 1;
    } else if (cls & mt::kClassBertPunctuation) {
      if (start < i) words->push_back({start, i});
      words->push_back({i, i + 1});
      start = i + 1;
    }
  }
  if (start < range.end) words->push_back({start, range.end});
}

void Gpt2PreTokenize(const NormalizedText& text, CharRange range,
                     std::vector<CharRange>* words) {
  constexpr uint8_t kLetter = mt::kClassLetter, kNumber = mt::kClassNumber,
                    kSpace = mt::kClassWhitespace;
  const int32_t end = range.end;
  auto cls = [&](int32_t i) { return UnicodeClasses(text[i].c); };
  auto is_other = [&](int32_t i) {
    return (cls(i) & (kLetter | kNumber | kSpace)) == 0;
  };
  auto run = [&](int32_t i, auto pred) {
    while (i < end && pred(i)) ++i;
    return i;
  };
  auto is_letter = [&](int32_t i) { return (cls(i) & kLetter) != 0; };
  auto is_number = [&](int32_t i) { return (cls(i) & kNumber) != 0; };
  int32_t i = range.begin;
  while (i < end) {
    const char32_t c = text[i].c;
    int32_t j = -1;
    // 's|'t|'re|'ve|'m|'ll|'d
    if (c == '\'' && i + 1 < end) {
      const char32_t n1 = text[i + 1].c;
      if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
        j = i + 2;
      } else if (i + 2 < end) {
        const char32_t n2 = text[i + 2].c;
        if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') ||
            (n1 == 'l' && n2 == 'l')) {
          j = i + 3;
        }
      }
    }
    if (j < 0) {
      const bool space = c == ' ' && i + 1 < end;
      if (space && is_letter(i + 1)) {
        j = run(i + 1, is_letter);
      } else if (is_letter(i)) {
        j = run(i, is_letter);
      } else if (space && is_number(i + 1)) {
        j = run(i + 1, is_number);
      } else if (is_number(i)) {
        j = run(i, is_number);
      } else if (space && is_other(i + 1)) {
        j = run(i + 1, is_other);
      } else if (is_other(i)) {
        j = run(i, is_other);
      } else {
        // \s+(?!\S) | \s+
        const int32_t k =
            run(i, [&](int32_t x) { return IsWhitespace(text[x].c); });
        j = (k == end || k - i < 2) ? k : k - 1;
      }
    }
    words->push_back({i, j});
    i = j;
  }
}

}  // namespace mammovl::text_internal
