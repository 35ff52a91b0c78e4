#include "text/tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace mammovl::text {
namespace {

struct CodePointRange {
  char32_t first;
  char32_t last;
};
struct CodePointMapping {
  char32_t from;
  int size;
  char32_t to[4];
};
struct CombiningClass {
  char32_t c;
  int value;
};

#include "text/tokenizer/unicode_tables.inc"

constexpr CodePointRange kChinese[] = {
    {0x4E00, 0x9FFF},   {0x3400, 0x4DBF},   {0x20000, 0x2A6DF},
    {0x2A700, 0x2B73F}, {0x2B740, 0x2B81F}, {0x2B920, 0x2CEAF},
    {0xF900, 0xFAFF},   {0x2F800, 0x2FA1F},
};

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr int kBlockBits = 8;
constexpr int kBlockSize = 1 << kBlockBits;
constexpr int kNumBlocks = (kMaxCodePoint + 1) / kBlockSize;

// Two-stage table: block index per 256 code points, shared unique blocks.
struct ClassTable {
  std::vector<uint16_t> block_of;
  std::vector<std::array<uint8_t, kBlockSize>> blocks;
};

template <size_t N>
void Mark(const CodePointRange (&ranges)[N], uint8_t bit,
          std::vector<uint8_t>* flat) {
  for (const CodePointRange& r : ranges) {
    for (char32_t c = r.first; c <= r.last; ++c) (*flat)[c] |= bit;
  }
}

const ClassTable& Table() {
  static const ClassTable* const table = [] {
    std::vector<uint8_t> flat(kMaxCodePoint + 1, 0);
    Mark(kBertControl, kClassBertControl, &flat);
    Mark(kWhitespace, kClassWhitespace, &flat);
    Mark(kBertPunctuation, kClassBertPunctuation, &flat);
    Mark(kNonspacingMark, kClassNonspacingMark, &flat);
    Mark(kLetter, kClassLetter, &flat);
    Mark(kNumber, kClassNumber, &flat);
    Mark(kChinese, kClassChinese, &flat);
    auto* t = new ClassTable;
    t->block_of.resize(kNumBlocks);
    absl::flat_hash_map<std::string, uint16_t> index;
    for (int b = 0; b < kNumBlocks; ++b) {
      const auto* begin =
          reinterpret_cast<const char*>(flat.data()) + b * kBlockSize;
      auto [it, inserted] =
          index.try_emplace(std::string(begin, kBlockSize),
                            static_cast<uint16_t>(t->blocks.size()));
      if (inserted) {
        t->blocks.emplace_back();
        std::copy(begin, begin + kBlockSize, t->blocks.back().begin());
      }
      t->block_of[b] = it->second;
    }
    return t;
  }();
  return *table;
}

template <size_t N>
const CodePointMapping* FindMapping(const CodePointMapping (&table)[N],
                                    char32_t c) {
  const CodePointMapping* it = std::lower_bound(
      table, table + N, c,
      [](const CodePointMapping& m, char32_t v) { return m.from < v; });
  return it != table + N && it->from == c ? it : nullptr;
}

}  // namespace

absl::Status ValidateUtf8(absl::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // Allowed range of the second byte.
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;  // Overlong.
      if (b0 == 0xED) hi = 0x9F;  // Surrogates.
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;  // Overlong.
      if (b0 == 0xF4) hi = 0x8F;  // Above U+10FFFF.
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid UTF-8: byte 0x", absl::Hex(b0), " at offset ",
                       i, " cannot start a character"));
    }
    if (i + len > n) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid UTF-8: truncated character at offset ", i));
    }
    if (s[i + 1] < lo || s[i + 1] > hi) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid UTF-8: bad continuation byte at offset ", i + 1,
          " (overlong form, surrogate or code point above U+10FFFF)"));
    }
    for (int k = 2; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid UTF-8: bad continuation byte at offset ", i + k));
      }
    }
    i += len;
  }
  return absl::OkStatus();
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

uint8_t UnicodeClasses(char32_t c) {
  if (c > kMaxCodePoint) return 0;
  const ClassTable& t = Table();
  return t.blocks[t.block_of[c >> kBlockBits]][c & (kBlockSize - 1)];
}

int ToLowercase(char32_t c, char32_t out[4]) {
  if (c < 0x80) {
    out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return 1;
  }
  if (const CodePointMapping* m = FindMapping(kLowercase, c)) {
    std::copy(m->to, m->to + m->size, out);
    return m->size;
  }
  out[0] = c;
  return 1;
}

int Decompose(char32_t c, char32_t out[4]) {
  if (c < 0xC0) {
    out[0] = c;
    return 1;
  }
  // Hangul syllables (Unicode §3.12).
  constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161,
                     kTBase = 0x11A7;
  constexpr int kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                kSCount = 11172;
  if (c >= kSBase && c < kSBase + kSCount) {
    const int s = static_cast<int>(c - kSBase);
    out[0] = kLBase + s / kNCount;
    out[1] = kVBase + (s % kNCount) / kTCount;
    const int t = s % kTCount;
    if (t == 0) return 2;
    out[2] = kTBase + t;
    return 3;
  }
  if (const CodePointMapping* m = FindMapping(kDecomposition, c)) {
    std::copy(m->to, m->to + m->size, out);
    return m->size;
  }
  out[0] = c;
  return 1;
}

int CombiningClass(char32_t c) {
  if (c < 0x300) return 0;
  constexpr size_t n = sizeof(kCombiningClass) / sizeof(kCombiningClass[0]);
  const auto* it = std::lower_bound(
      kCombiningClass, kCombiningClass + n, c,
      [](const struct CombiningClass& e, char32_t v) { return e.c < v; });
  return it != kCombiningClass + n && it->c == c ? it->value : 0;
}

}  // namespace mammovl::text
