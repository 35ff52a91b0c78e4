#include "text/tokenizer/tokenizer.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "text/tokenizer/tokenizer_impl.h"
#include "text/tokenizer/unicode.h"

namespace mammovl::text {
namespace {

using text_internal::CharRange;
using text_internal::ModelToken;
using text_internal::NormalizedText;
using text_internal::Segment;

void AppendToken(int32_t id, int32_t begin, int32_t end, int32_t word,
                 Encoding* e) {
  e->ids.push_back(id);
  e->type_ids.push_back(0);
  e->offsets.push_back({begin, end});
  e->word_ids.push_back(word);
  e->attention_mask.push_back(1);
  e->special_tokens_mask.push_back(0);
}

void Truncate(size_t n, Encoding* e) {
  e->ids.resize(n);
  e->type_ids.resize(n);
  e->offsets.resize(n);
  e->word_ids.resize(n);
  e->attention_mask.resize(n);
  e->special_tokens_mask.resize(n);
}

void Pad(size_t n, int32_t pad_id, int32_t pad_type_id, Encoding* e) {
  if (e->size() >= n) return;
  e->ids.resize(n, pad_id);
  e->type_ids.resize(n, pad_type_id);
  e->offsets.resize(n, TokenOffsets{});
  e->word_ids.resize(n, -1);
  e->attention_mask.resize(n, 0);
  e->special_tokens_mask.resize(n, 1);
}

// Offsets in the original text of normalised characters [begin, end).
inline TokenOffsets Span(const NormalizedText& text, int32_t begin,
                         int32_t end) {
  return {text[begin].begin, text[end - 1].end};
}

}  // namespace

void Tokenizer::Impl::RebuildMatchers() {
  for (text_internal::AddedTokenSpec& t : added) {
    t.pattern = t.normalized ? NormalizeForMatching(t.content)
                             : std::vector<char32_t>();
    if (!t.normalized) {
      size_t pos = 0;
      while (pos < t.content.size())
        t.pattern.push_back(DecodeUtf8(t.content, &pos));
    }
  }
  raw_matcher = std::make_shared<text_internal::AddedTokenMatcher>(
      added, /*normalized=*/false);
  normalized_matcher = std::make_shared<text_internal::AddedTokenMatcher>(
      added, /*normalized=*/true);
}

std::vector<char32_t> Tokenizer::Impl::NormalizeForMatching(
    const std::string& text) const {
  NormalizedText chars, scratch;
  text_internal::DecodeAligned(text, 0, &chars);
  if (normalizer.has_value())
    text_internal::BertNormalize(*normalizer, &chars, &scratch);
  std::vector<char32_t> out;
  out.reserve(chars.size());
  for (const auto& nc : chars) out.push_back(nc.c);
  return out;
}

absl::StatusOr<Encoding> Tokenizer::Encode(absl::string_view text,
                                           const EncodeOptions& options) const {
  const Impl& impl = *impl_;
  if (text.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "text of ", text.size(), " bytes is too long (limit 2 GiB)"));
  }
  MVL_RETURN_IF_ERROR(ValidateUtf8(text));
  const bool add_special = options.add_special_tokens();
  const int n_special =
      add_special ? static_cast<int>(impl.prefix.size() + impl.suffix.size())
                  : 0;
  const int max_length = options.max_length();
  if (max_length < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length must be >= 0, got ", max_length));
  }
  if (max_length > 0 && options.truncation() && max_length < n_special) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length ", max_length, " leaves no room for the ",
                     n_special, " special tokens"));
  }
  if (options.padding() == EncodeOptions::PAD_TO_MAX_LENGTH &&
      max_length <= 0) {
    return absl::InvalidArgumentError(
        "padding to max_length needs max_length > 0");
  }
  if ((options.padding() == EncodeOptions::PAD_TO_MAX_LENGTH ||
       options.padding() == EncodeOptions::PAD_TO_LONGEST) &&
      !impl.pad_id.has_value()) {
    return absl::InvalidArgumentError(
        "padding requested but the tokenizer has no pad token");
  }

  Encoding e;
  NormalizedText original, normalized, scratch;
  text_internal::DecodeAligned(text, 0, &original);
  std::vector<Segment> raw_segments, norm_segments;
  std::vector<CharRange> words;
  std::vector<ModelToken> tokens;
  std::string bytes;
  std::vector<int32_t> char_of_byte;
  int32_t word = 0;
  const CharRange whole{0, static_cast<int32_t>(original.size())};
  impl.raw_matcher->Split(original, whole, &raw_segments);
  for (const Segment& raw : raw_segments) {
    if (raw.added_id >= 0) {
      const TokenOffsets o = Span(original, raw.range.begin, raw.range.end);
      AppendToken(raw.added_id, o.begin, o.end, word++, &e);
      continue;
    }
    normalized.assign(original.begin() + raw.range.begin,
                      original.begin() + raw.range.end);
    if (impl.normalizer.has_value()) {
      text_internal::BertNormalize(*impl.normalizer, &normalized, &scratch);
    }
    norm_segments.clear();
    impl.normalized_matcher->Split(normalized,
                                   {0, static_cast<int32_t>(normalized.size())},
                                   &norm_segments);
    for (const Segment& seg : norm_segments) {
      if (seg.added_id >= 0) {
        const TokenOffsets o = Span(normalized, seg.range.begin, seg.range.end);
        AppendToken(seg.added_id, o.begin, o.end, word++, &e);
        continue;
      }
      words.clear();
      if (impl.kind == Kind::kWordPiece) {
        text_internal::BertPreTokenize(normalized, seg.range, &words);
      } else {
        text_internal::Gpt2PreTokenize(normalized, seg.range, &words);
      }
      for (const CharRange& w : words) {
        tokens.clear();
        if (impl.kind == Kind::kWordPiece) {
          impl.wordpiece->Tokenize(normalized, w, &tokens);
          for (const ModelToken& t : tokens) {
            const TokenOffsets o = Span(normalized, t.begin, t.end);
            AppendToken(t.id, o.begin, o.end, word, &e);
          }
        } else {
          bytes.clear();
          char_of_byte.clear();
          for (int32_t i = w.begin; i < w.end; ++i) {
            AppendUtf8(normalized[i].c, &bytes);
            char_of_byte.resize(bytes.size(), i);
          }
          impl.bpe->Tokenize(bytes, &tokens);
          for (const ModelToken& t : tokens) {
            const TokenOffsets o = Span(normalized, char_of_byte[t.begin],
                                        char_of_byte[t.end - 1] + 1);
            AppendToken(t.id, o.begin, o.end, word, &e);
          }
        }
        ++word;
      }
    }
  }

  if (max_length > 0 && options.truncation() &&
      e.size() > static_cast<size_t>(max_length - n_special)) {
    Truncate(max_length - n_special, &e);
  }
  if (add_special) {
    for (int32_t& t : e.type_ids) t = impl.sequence_type_id;
    if (!impl.prefix.empty() || !impl.suffix.empty()) {
      Encoding out;
      const size_t n = e.size() + impl.prefix.size() + impl.suffix.size();
      out.ids.reserve(n);
      auto special = [&](const Impl::SpecialPiece& p) {
        out.ids.push_back(p.id);
        out.type_ids.push_back(p.type_id);
        out.offsets.push_back({});
        out.word_ids.push_back(-1);
        out.attention_mask.push_back(1);
        out.special_tokens_mask.push_back(1);
      };
      for (const auto& p : impl.prefix) special(p);
      out.ids.insert(out.ids.end(), e.ids.begin(), e.ids.end());
      out.type_ids.insert(out.type_ids.end(), e.type_ids.begin(),
                          e.type_ids.end());
      out.offsets.insert(out.offsets.end(), e.offsets.begin(), e.offsets.end());
      out.word_ids.insert(out.word_ids.end(), e.word_ids.begin(),
                          e.word_ids.end());
      out.attention_mask.insert(out.attention_mask.end(),
                                e.attention_mask.begin(),
                                e.attention_mask.end());
      out.special_tokens_mask.insert(out.special_tokens_mask.end(),
                                     e.special_tokens_mask.begin(),
                                     e.special_tokens_mask.end());
      for (const auto& p : impl.suffix) special(p);
      e = std::move(out);
    }
  }
  if (options.padding() == EncodeOptions::PAD_TO_MAX_LENGTH) {
    Pad(max_length, *impl.pad_id, impl.pad_type_id, &e);
  }
  return e;
}

absl::StatusOr<std::vector<Encoding>> Tokenizer::EncodeBatch(
    absl::Span<const std::string> texts, const EncodeOptions& options,
    core::ThreadPool* pool) const {
  std::vector<Encoding> out(texts.size());
  std::vector<absl::Status> status(texts.size());
  core::ParallelFor(pool, static_cast<int64_t>(texts.size()), [&](int64_t i) {
    absl::StatusOr<Encoding> e = Encode(texts[i], options);
    if (e.ok()) {
      out[i] = *std::move(e);
    } else {
      status[i] = e.status();
    }
  });
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!status[i].ok()) {
      return absl::Status(
          status[i].code(),
          absl::StrCat("text ", i, " of the batch: ", status[i].message()));
    }
  }
  if (options.padding() == EncodeOptions::PAD_TO_LONGEST) {
    size_t longest = 0;
    for (const Encoding& e : out) longest = std::max(longest, e.size());
    for (Encoding& e : out)
      Pad(longest, *impl_->pad_id, impl_->pad_type_id, &e);
  }
  return out;
}

std::optional<int32_t> Tokenizer::TokenToId(absl::string_view token) const {
  for (const auto& t : impl_->added) {
    if (t.content == token) return t.id;
  }
  auto it = impl_->vocab->find(token);
  if (it == impl_->vocab->end()) return std::nullopt;
  return it->second;
}

std::string Tokenizer::IdToToken(int32_t id) const {
  for (const auto& t : impl_->added) {
    if (t.id == id) return t.content;
  }
  if (id < 0 || id >= static_cast<int32_t>(impl_->id_to_token->size()))
    return "";
  return (*impl_->id_to_token)[id];
}

int32_t Tokenizer::vocab_size() const {
  int32_t n = static_cast<int32_t>(impl_->id_to_token->size());
  for (const auto& t : impl_->added) n = std::max(n, t.id + 1);
  return n;
}

std::optional<int32_t> Tokenizer::pad_id() const { return impl_->pad_id; }

Tokenizer::Kind Tokenizer::kind() const { return impl_->kind; }

int Tokenizer::num_special_tokens() const {
  return static_cast<int>(impl_->prefix.size() + impl_->suffix.size());
}

}  // namespace mammovl::text
