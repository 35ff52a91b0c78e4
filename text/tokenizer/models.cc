#include "text/tokenizer/models.h"

#include <algorithm>
#include <queue>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "text/tokenizer/unicode.h"

namespace mammovl::text_internal {
namespace {

namespace mt = ::mammovl::text;

}  // namespace

absl::StatusOr<std::unique_ptr<WordPieceModel>> WordPieceModel::Create(
    absl::flat_hash_map<std::string, int32_t> vocab,
    const std::string& unk_token, const std::string& continuing_subword_prefix,
    int max_input_chars_per_word) {
  auto unk = vocab.find(unk_token);
  if (unk == vocab.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WordPiece: unknown token '", unk_token, "' is not in the vocabulary"));
  }
  if (max_input_chars_per_word <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("WordPiece: max_input_chars_per_word must be > 0, got ",
                     max_input_chars_per_word));
  }
  std::unique_ptr<WordPieceModel> model(new WordPieceModel);
  model->unk_id_ = unk->second;
  model->max_chars_ = max_input_chars_per_word;
  for (const auto& [token, id] : vocab) {
    if (!continuing_subword_prefix.empty() &&
        absl::string_view(token).substr(0, continuing_subword_prefix.size()) ==
            continuing_subword_prefix) {
      model->continuations_.emplace(
          token.substr(continuing_subword_prefix.size()), id);
    }
  }
  if (continuing_subword_prefix.empty()) model->continuations_ = vocab;
  model->vocab_ = std::move(vocab);
  return model;
}

void WordPieceModel::Tokenize(const NormalizedText& text, CharRange word,
                              std::vector<ModelToken>* out) const {
  const int32_t n = word.end - word.begin;
  if (n > max_chars_) {
    out->push_back({unk_id_, word.begin, word.end});
    return;
  }
  std::string utf8;
  utf8.reserve(n);
  // Byte offset of each character (and of the end).
  absl::InlinedVector<int32_t, 32> byte_at(n + 1);
  for (int32_t i = 0; i < n; ++i) {
    byte_at[i] = static_cast<int32_t>(utf8.size());
    mt::AppendUtf8(text[word.begin + i].c, &utf8);
  }
  byte_at[n] = static_cast<int32_t>(utf8.size());
  const size_t first = out->size();
  int32_t start = 0;
  while (start < n) {
    int32_t end = n;
    int32_t found = -1;
    const auto& map = start == 0 ? vocab_ : continuations_;
    while (start < end) {
      const absl::string_view piece(utf8.data() + byte_at[start],
                                    byte_at[end] - byte_at[start]);
      auto it = map.find(piece);
      if (it != map.end()) {
        found = it->second;
        break;
      }
      --end;
    }
    if (found < 0) {
      out->resize(first);
      out->push_back({unk_id_, word.begin, word.end});
      return;
    }
    out->push_back({found, word.begin + start, word.begin + end});
    start = end;
  }
}

const std::vector<char32_t>& ByteToUnicode() {
  static const std::vector<char32_t>* const table = [] {
    auto* t = new std::vector<char32_t>(256, 0);
    std::vector<bool> direct(256, false);
    for (int b = '!'; b <= '~'; ++b) direct[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
    int n = 0;
    for (int b = 0; b < 256; ++b) (*t)[b] = direct[b] ? b : 256 + n++;
    return t;
  }();
  return *table;
}

absl::StatusOr<std::unique_ptr<BytePairModel>> BytePairModel::Create(
    const absl::flat_hash_map<std::string, int32_t>& vocab,
    const std::vector<std::pair<std::string, std::string>>& merges) {
  std::unique_ptr<BytePairModel> model(new BytePairModel);
  const std::vector<char32_t>& b2u = ByteToUnicode();
  for (int b = 0; b < 256; ++b) {
    std::string key;
    mt::AppendUtf8(b2u[b], &key);
    auto it = vocab.find(key);
    model->byte_ids_[b] = it == vocab.end() ? -1 : it->second;
  }
  model->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    auto l = vocab.find(left);
    auto r = vocab.find(right);
    auto merged = vocab.find(left + right);
    for (const auto& [it, what] :
         {std::make_pair(l, &left), std::make_pair(r, &right)}) {
      if (it == vocab.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "merge ", rank + 1, " (\"", left, " ", right, "\"): token \"",
            *what, "\" is not in the vocabulary"));
      }
    }
    if (merged == vocab.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "merge ", rank + 1, " (\"", left, " ", right, "\"): merged token \"",
          left, right, "\" is not in the vocabulary"));
    }
    auto [it, inserted] = model->merges_.try_emplace(
        PairKey(l->second, r->second),
        MergeResult{static_cast<int32_t>(rank), merged->second});
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", rank + 1, " (\"", left, " ", right,
                       "\") repeats merge ", it->second.rank + 1));
    }
  }
  return model;
}

void BytePairModel::Tokenize(absl::string_view bytes,
                             std::vector<ModelToken>* out) const {
  if (bytes.size() <= kMaxCachedWordBytes) {
    absl::MutexLock lock(&cache_mutex_);
    auto it = cache_.find(bytes);
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out->size();
  Merge(bytes, out);
  if (bytes.size() <= kMaxCachedWordBytes) {
    absl::MutexLock lock(&cache_mutex_);
    if (cache_.size() < kCacheCapacity) {
      cache_.try_emplace(bytes, out->begin() + first, out->end());
    }
  }
}

void BytePairModel::Merge(absl::string_view bytes,
                          std::vector<ModelToken>* out) const {
  struct Symbol {
    int32_t id;
    int32_t begin;
    int32_t end;
    int32_t prev;
    int32_t next;
  };
  absl::InlinedVector<Symbol, 32> symbols;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int32_t id = byte_ids_[static_cast<unsigned char>(bytes[i])];
    if (id < 0)
      continue;  // Not in the vocabulary: dropped, as HF does without an unk
                 // token.
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, static_cast<int32_t>(i), static_cast<int32_t>(i + 1),
                       index - 1, index + 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t id;
  };
  // Lowest rank first, then leftmost (HF `Merge` ordering).
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(
      later);
  auto push = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0) return;
    auto it = merges_.find(PairKey(symbols[pos].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i)
    push(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.end == left.begin || left.next < 0) continue;  // Removed, or last.
    Symbol& right = symbols[left.next];
    auto it = merges_.find(PairKey(left.id, right.id));
    if (it == merges_.end() || it->second.id != top.id)
      continue;  // Stale entry.
    left.id = top.id;
    left.end = right.end;
    left.next = right.next;
    right.begin = right.end;  // Mark removed.
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev);
    push(top.pos);
  }
  for (const Symbol& s : symbols) {
    if (s.end != s.begin) out->push_back({s.id, s.begin, s.end});
  }
}

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedTokenSpec>& tokens,
                                     bool normalized) {
  for (const AddedTokenSpec& t : tokens) {
    if (t.normalized != normalized || t.pattern.empty()) continue;
    by_first_[t.pattern[0]].push_back({t.pattern, t.id, t.lstrip, t.rstrip});
  }
  for (auto& [c, patterns] : by_first_) {
    std::stable_sort(patterns.begin(), patterns.end(),
                     [](const Pattern& a, const Pattern& b) {
                       return a.chars.size() > b.chars.size();
                     });
  }
}

void AddedTokenMatcher::Split(const NormalizedText& text, CharRange range,
                              std::vector<Segment>* out) const {
  if (by_first_.empty()) {
    if (range.begin < range.end) out->push_back({range, -1});
    return;
  }
  auto is_space = [&](int32_t i) {
    return (mt::UnicodeClasses(text[i].c) & mt::kClassWhitespace) != 0;
  };
  int32_t done = range.begin;
  int32_t i = range.begin;
  while (i < range.end) {
    auto it = by_first_.find(text[i].c);
    const Pattern* match = nullptr;
    if (it != by_first_.end()) {
      for (const Pattern& p : it->second) {
        const int32_t len = static_cast<int32_t>(p.chars.size());
        if (i + len > range.end) continue;
        bool equal = true;
        for (int32_t k = 1; k < len && equal; ++k)
          equal = text[i + k].c == p.chars[k];
        if (equal) {
          match = &p;
          break;
        }
      }
    }
    if (match == nullptr) {
      ++i;
      continue;
    }
    int32_t start = i;
    int32_t stop = i + static_cast<int32_t>(match->chars.size());
    if (match->lstrip) {
      while (start > done && is_space(start - 1)) --start;
    }
    if (match->rstrip) {
      while (stop < range.end && is_space(stop)) ++stop;
    }
    if (done < start) out->push_back({{done, start}, -1});
    out->push_back({{start, stop}, match->id});
    done = stop;
    i = stop;
  }
  if (done < range.end) out->push_back({{done, range.end}, -1});
}

}  // namespace mammovl::text_internal
