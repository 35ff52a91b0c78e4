// Loading tokenizers from vocab.txt, vocab.json + merges.txt and
// tokenizer.json, adding tokens, and the config builder.
#include <algorithm>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "text/tokenizer/json.h"
#include "text/tokenizer/tokenizer.h"
#include "text/tokenizer/tokenizer_impl.h"
#include "text/tokenizer/unicode.h"

namespace mammovl::text {
namespace {

using text_internal::AddedTokenSpec;
using text_internal::BertNormalizerOptions;
using Vocab = absl::flat_hash_map<std::string, int32_t>;
using Merges = std::vector<std::pair<std::string, std::string>>;

// Splits `content` into lines like Rust's `lines()`: "\n" or "\r\n" end a
// line, and a final line terminator does not start another line. Each line
// must be valid UTF-8.
absl::StatusOr<std::vector<absl::string_view>> Lines(absl::string_view content,
                                                     absl::string_view name) {
  std::vector<absl::string_view> lines = absl::StrSplit(content, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (absl::EndsWith(lines[i], "\r")) lines[i].remove_suffix(1);
    if (absl::Status s = ValidateUtf8(lines[i]); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": line ", i + 1, ": ", s.message()));
    }
  }
  return lines;
}

// Rust `str::trim_end`: drops trailing White_Space characters.
absl::string_view TrimEnd(absl::string_view line) {
  size_t end = line.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 &&
           (static_cast<unsigned char>(line[start]) & 0xC0) == 0x80)
      --start;
    size_t pos = start;
    if (!(UnicodeClasses(DecodeUtf8(line, &pos)) & kClassWhitespace)) break;
    end = start;
  }
  return line.substr(0, end);
}

std::shared_ptr<const std::vector<std::string>> InvertVocab(
    const Vocab& vocab) {
  int32_t n = 0;
  for (const auto& [token, id] : vocab) n = std::max(n, id + 1);
  auto out = std::make_shared<std::vector<std::string>>(n);
  for (const auto& [token, id] : vocab) (*out)[id] = token;
  return out;
}

// Vocabulary from a JSON object {"token": id}. Ids must be distinct
// integers in [0, 2^31).
absl::StatusOr<Vocab> VocabFromJson(const JsonValue& json,
                                    absl::string_view where) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " must be an object of token: id, got ",
                     JsonValue::TypeName(json.type())));
  }
  Vocab vocab;
  vocab.reserve(json.members().size());
  absl::flat_hash_map<int32_t, const std::string*> by_id;
  by_id.reserve(json.members().size());
  for (const auto& [token, value] : json.members()) {
    int64_t id = -1;
    if (!value.AsInt64(&id) || id < 0 ||
        id >= std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": token \"", absl::CEscape(token),
                       "\" has an id that is not an integer in [0, 2^31)"));
    }
    auto [it, inserted] = vocab.try_emplace(token, static_cast<int32_t>(id));
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": token \"", absl::CEscape(token), "\" appears twice"));
    }
    auto [other, fresh] =
        by_id.try_emplace(static_cast<int32_t>(id), &it->first);
    if (!fresh) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": tokens \"", absl::CEscape(*other->second),
                       "\" and \"", absl::CEscape(token), "\" share id ", id));
    }
  }
  if (vocab.empty())
    return absl::InvalidArgumentError(absl::StrCat(where, " is empty"));
  return vocab;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseMerge(
    absl::string_view line, absl::string_view where) {
  std::vector<std::string> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": expected two tokens separated by one space, got \"",
        absl::CEscape(line), "\""));
  }
  return std::make_pair(std::move(parts[0]), std::move(parts[1]));
}

absl::StatusOr<Merges> MergesFromText(absl::string_view content,
                                      absl::string_view name) {
  MVL_ASSIGN_OR_RETURN(std::vector<absl::string_view> lines,
                       Lines(content, name));
  Merges merges;
  merges.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 0 && absl::StartsWith(lines[i], "#version")) continue;
    MVL_ASSIGN_OR_RETURN(
        auto merge, ParseMerge(lines[i], absl::StrCat(name, ": line ", i + 1)));
    merges.push_back(std::move(merge));
  }
  return merges;
}

// Merges from tokenizer.json: ["a b", ...] or [["a", "b"], ...].
absl::StatusOr<Merges> MergesFromJson(const JsonValue& json,
                                      absl::string_view where) {
  if (!json.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " must be an array"));
  }
  Merges merges;
  merges.reserve(json.array().size());
  for (size_t i = 0; i < json.array().size(); ++i) {
    const JsonValue& m = json.array()[i];
    const std::string at = absl::StrCat(where, "[", i, "]");
    if (m.is_string()) {
      MVL_ASSIGN_OR_RETURN(auto merge, ParseMerge(m.string_value(), at));
      merges.push_back(std::move(merge));
    } else if (m.is_array() && m.array().size() == 2 &&
               m.array()[0].is_string() && m.array()[1].is_string() &&
               !m.array()[0].string_value().empty() &&
               !m.array()[1].string_value().empty()) {
      merges.emplace_back(m.array()[0].string_value(),
                          m.array()[1].string_value());
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(at, " must be \"left right\" or [\"left\", \"right\"]"));
    }
  }
  return merges;
}

// Typed member access for tokenizer.json objects.
class JsonObject {
 public:
  JsonObject(const JsonValue* value, std::string where)
      : value_(value), where_(std::move(where)) {}

  const std::string& where() const { return where_; }

  absl::StatusOr<std::string> String(
      absl::string_view key,
      std::optional<std::string> fallback = std::nullopt) const {
    const JsonValue* v = value_->Find(key);
    if (v == nullptr || v->is_null()) {
      if (fallback.has_value()) return *fallback;
      return Missing(key, "a string");
    }
    if (!v->is_string()) return Wrong(key, "a string", *v);
    return v->string_value();
  }
  absl::StatusOr<bool> Bool(absl::string_view key,
                            std::optional<bool> fallback) const {
    const JsonValue* v = value_->Find(key);
    if (v == nullptr || v->is_null()) {
      if (fallback.has_value()) return *fallback;
      return Missing(key, "a boolean");
    }
    if (!v->is_bool()) return Wrong(key, "a boolean", *v);
    return v->bool_value();
  }
  absl::StatusOr<std::optional<bool>> OptionalBool(
      absl::string_view key) const {
    const JsonValue* v = value_->Find(key);
    if (v == nullptr || v->is_null()) return std::optional<bool>();
    if (!v->is_bool()) return Wrong(key, "a boolean or null", *v);
    return std::optional<bool>(v->bool_value());
  }
  absl::StatusOr<int64_t> Int(absl::string_view key,
                              std::optional<int64_t> fallback) const {
    const JsonValue* v = value_->Find(key);
    if (v == nullptr || v->is_null()) {
      if (fallback.has_value()) return *fallback;
      return Missing(key, "an integer");
    }
    int64_t out = 0;
    if (!v->AsInt64(&out)) return Wrong(key, "an integer", *v);
    return out;
  }
  absl::StatusOr<const JsonValue*> Get(absl::string_view key) const {
    const JsonValue* v = value_->Find(key);
    if (v == nullptr) return Missing(key, "present");
    return v;
  }

 private:
  absl::Status Missing(absl::string_view key, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(where_, ".", key, " must be ", what));
  }
  absl::Status Wrong(absl::string_view key, absl::string_view what,
                     const JsonValue& v) const {
    return absl::InvalidArgumentError(
        absl::StrCat(where_, ".", key, " must be ", what, ", got ",
                     JsonValue::TypeName(v.type())));
  }

  const JsonValue* value_;
  std::string where_;
};

absl::StatusOr<std::string> TypeOf(const JsonValue& component,
                                   const std::string& where) {
  if (!component.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " must be an object or null"));
  }
  return JsonObject(&component, where).String("type");
}

// Registers the model tokens named in `names` as non-normalised special
// added tokens (what Hugging Face's BertTokenizerFast does).
void AddVocabSpecials(const Vocab& vocab, const std::vector<std::string>& names,
                      std::vector<AddedTokenSpec>* added) {
  for (const std::string& name : names) {
    auto it = vocab.find(name);
    if (it == vocab.end()) continue;
    bool present = false;
    for (const auto& a : *added) present |= a.content == name;
    if (present) continue;
    AddedTokenSpec spec;
    spec.content = name;
    spec.id = it->second;
    added->push_back(std::move(spec));
  }
}

absl::Status ParsePostProcessor(const JsonValue& json, const std::string& where,
                                Tokenizer::Impl* impl) {
  if (json.is_null()) return absl::OkStatus();
  MVL_ASSIGN_OR_RETURN(const std::string type, TypeOf(json, where));
  JsonObject obj(&json, where);
  if (type == "ByteLevel") {
    MVL_ASSIGN_OR_RETURN(const bool trim, obj.Bool("trim_offsets", true));
    if (trim) {
      return absl::UnimplementedError(
          absl::StrCat(where,
                       ": ByteLevel post-processing with trim_offsets=true is "
                       "not supported"));
    }
    return absl::OkStatus();
  }
  if (type == "BertProcessing") {
    for (const char* key : {"cls", "sep"}) {
      MVL_ASSIGN_OR_RETURN(const JsonValue* pair, obj.Get(key));
      int64_t id = 0;
      if (!pair->is_array() || pair->array().size() != 2 ||
          !pair->array()[0].is_string() || !pair->array()[1].AsInt64(&id)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".", key, " must be [token, id]"));
      }
      (key[0] == 'c' ? impl->prefix : impl->suffix)
          .push_back({static_cast<int32_t>(id), 0});
    }
    return absl::OkStatus();
  }
  if (type != "TemplateProcessing") {
    return absl::UnimplementedError(absl::StrCat(
        where, ": post-processor type \"", type, "\" is not supported"));
  }
  MVL_ASSIGN_OR_RETURN(const JsonValue* single, obj.Get("single"));
  MVL_ASSIGN_OR_RETURN(const JsonValue* specials, obj.Get("special_tokens"));
  if (!single->is_array() || !specials->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": single must be an array and special_tokens an object"));
  }
  bool seen_sequence = false;
  for (size_t i = 0; i < single->array().size(); ++i) {
    const JsonValue& piece = single->array()[i];
    const std::string at = absl::StrCat(where, ".single[", i, "]");
    const JsonValue* special = piece.Find("SpecialToken");
    const JsonValue* sequence = piece.Find("Sequence");
    if (sequence != nullptr) {
      JsonObject seq(sequence, at + ".Sequence");
      MVL_ASSIGN_OR_RETURN(const std::string id, seq.String("id"));
      MVL_ASSIGN_OR_RETURN(const int64_t type_id, seq.Int("type_id", 0));
      if (id != "A" || seen_sequence) {
        return absl::UnimplementedError(
            absl::StrCat(at, ": only one sequence \"A\" is supported"));
      }
      seen_sequence = true;
      impl->sequence_type_id = static_cast<int32_t>(type_id);
    } else if (special != nullptr) {
      JsonObject sp(special, at + ".SpecialToken");
      MVL_ASSIGN_OR_RETURN(const std::string id, sp.String("id"));
      MVL_ASSIGN_OR_RETURN(const int64_t type_id, sp.Int("type_id", 0));
      const JsonValue* entry = specials->Find(id);
      const JsonValue* ids = entry == nullptr ? nullptr : entry->Find("ids");
      if (ids == nullptr || !ids->is_array()) {
        return absl::InvalidArgumentError(absl::StrCat(
            at, ": special token \"", id, "\" has no ids in special_tokens"));
      }
      for (const JsonValue& v : ids->array()) {
        int64_t token_id = 0;
        if (!v.AsInt64(&token_id) || token_id < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(at, ": bad id for \"", id, "\""));
        }
        (seen_sequence ? impl->suffix : impl->prefix)
            .push_back({static_cast<int32_t>(token_id),
                        static_cast<int32_t>(type_id)});
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          at, " must be {\"SpecialToken\": ...} or {\"Sequence\": ...}"));
    }
  }
  if (!seen_sequence) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".single has no sequence"));
  }
  return absl::OkStatus();
}

absl::Status FinishImpl(Tokenizer::Impl* impl) {
  impl->RebuildMatchers();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Tokenizer> Tokenizer::FromWordPieceVocab(
    const WordPieceVocab& config) {
  const std::string& path = config.vocab_path();
  if (path.empty())
    return absl::InvalidArgumentError("wordpiece.vocab_path is empty");
  MVL_ASSIGN_OR_RETURN(const std::string content, core::ReadFileToString(path));
  MVL_ASSIGN_OR_RETURN(std::vector<absl::string_view> lines,
                       Lines(content, path));
  if (lines.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, ": empty vocabulary"));
  Vocab vocab;
  vocab.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const absl::string_view token = TrimEnd(lines[i]);
    auto [it, inserted] = vocab.try_emplace(token, static_cast<int32_t>(i));
    if (!inserted && !token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": line ", i + 1, ": token \"", absl::CEscape(token),
          "\" repeats line ", it->second + 1));
    }
  }
  auto impl = std::make_shared<Impl>();
  impl->kind = Kind::kWordPiece;
  BertNormalizerOptions norm;
  norm.clean_text = config.clean_text();
  norm.handle_chinese_chars = config.handle_chinese_chars();
  norm.lowercase = config.lowercase();
  norm.strip_accents =
      config.has_strip_accents() ? config.strip_accents() : config.lowercase();
  impl->normalizer = norm;
  for (const std::string* name :
       {&config.unk_token(), &config.cls_token(), &config.sep_token()}) {
    if (!vocab.contains(*name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": special token \"", *name, "\" is not in the vocabulary"));
    }
  }
  impl->prefix.push_back({vocab.at(config.cls_token()), 0});
  impl->suffix.push_back({vocab.at(config.sep_token()), 0});
  if (auto it = vocab.find(config.pad_token()); it != vocab.end())
    impl->pad_id = it->second;
  AddVocabSpecials(vocab,
                   {config.pad_token(), config.unk_token(), config.cls_token(),
                    config.sep_token(), config.mask_token()},
                   &impl->added);
  MVL_ASSIGN_OR_RETURN(auto model, text_internal::WordPieceModel::Create(
                                       vocab, config.unk_token(), "##",
                                       config.max_input_chars_per_word()));
  impl->wordpiece = std::move(model);
  impl->id_to_token = InvertVocab(vocab);
  impl->vocab = std::make_shared<const Vocab>(std::move(vocab));
  MVL_RETURN_IF_ERROR(FinishImpl(impl.get()));
  return Tokenizer(std::move(impl));
}

absl::StatusOr<Tokenizer> Tokenizer::FromBytePairFiles(
    const BytePairVocab& config) {
  if (config.vocab_path().empty() || config.merges_path().empty()) {
    return absl::InvalidArgumentError(
        "byte_level_bpe: vocab_path and merges_path are required");
  }
  MVL_ASSIGN_OR_RETURN(const JsonValue json, ReadJsonFile(config.vocab_path()));
  MVL_ASSIGN_OR_RETURN(Vocab vocab, VocabFromJson(json, config.vocab_path()));
  MVL_ASSIGN_OR_RETURN(const std::string merges_text,
                       core::ReadFileToString(config.merges_path()));
  MVL_ASSIGN_OR_RETURN(const Merges merges,
                       MergesFromText(merges_text, config.merges_path()));
  absl::StatusOr<std::unique_ptr<text_internal::BytePairModel>> model =
      text_internal::BytePairModel::Create(vocab, merges);
  if (!model.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.merges_path(), ": ", model.status().message()));
  }
  auto impl = std::make_shared<Impl>();
  impl->kind = Kind::kBytePair;
  impl->bpe = *std::move(model);
  // GPT2TokenizerFast's default bos/eos/unk token.
  if (auto it = vocab.find("<|endoftext|>"); it != vocab.end()) {
    AddedTokenSpec spec;
    spec.content = it->first;
    spec.id = it->second;
    spec.normalized = true;
    impl->added.push_back(std::move(spec));
  }
  impl->id_to_token = InvertVocab(vocab);
  impl->vocab = std::make_shared<const Vocab>(std::move(vocab));
  MVL_RETURN_IF_ERROR(FinishImpl(impl.get()));
  return Tokenizer(std::move(impl));
}

absl::StatusOr<Tokenizer> Tokenizer::FromTokenizerJsonFile(
    absl::string_view path) {
  MVL_ASSIGN_OR_RETURN(const std::string content, core::ReadFileToString(path));
  return FromTokenizerJson(content, path);
}

absl::StatusOr<Tokenizer> Tokenizer::FromTokenizerJson(
    absl::string_view json_text, absl::string_view name) {
  MVL_ASSIGN_OR_RETURN(const JsonValue json, ParseJson(json_text, name));
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": top level must be an object"));
  }
  const std::string root(name);
  JsonObject top(&json, root);
  auto impl = std::make_shared<Impl>();

  // Model.
  MVL_ASSIGN_OR_RETURN(const JsonValue* model_json, top.Get("model"));
  const std::string model_where = root + ".model";
  MVL_ASSIGN_OR_RETURN(const std::string model_type,
                       TypeOf(*model_json, model_where));
  JsonObject model(model_json, model_where);
  MVL_ASSIGN_OR_RETURN(const JsonValue* vocab_json, model.Get("vocab"));
  MVL_ASSIGN_OR_RETURN(Vocab vocab,
                       VocabFromJson(*vocab_json, model_where + ".vocab"));
  if (model_type == "WordPiece") {
    impl->kind = Kind::kWordPiece;
    MVL_ASSIGN_OR_RETURN(const std::string unk,
                         model.String("unk_token", "[UNK]"));
    MVL_ASSIGN_OR_RETURN(const std::string prefix,
                         model.String("continuing_subword_prefix", "##"));
    MVL_ASSIGN_OR_RETURN(const int64_t max_chars,
                         model.Int("max_input_chars_per_word", 100));
    absl::StatusOr<std::unique_ptr<text_internal::WordPieceModel>> wp =
        text_internal::WordPieceModel::Create(vocab, unk, prefix,
                                              static_cast<int>(max_chars));
    if (!wp.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(model_where, ": ", wp.status().message()));
    }
    impl->wordpiece = *std::move(wp);
  } else if (model_type == "BPE") {
    impl->kind = Kind::kBytePair;
    MVL_ASSIGN_OR_RETURN(const std::string prefix,
                         model.String("continuing_subword_prefix", ""));
    MVL_ASSIGN_OR_RETURN(const std::string suffix,
                         model.String("end_of_word_suffix", ""));
    MVL_ASSIGN_OR_RETURN(const bool byte_fallback,
                         model.Bool("byte_fallback", false));
    MVL_ASSIGN_OR_RETURN(const bool ignore_merges,
                         model.Bool("ignore_merges", false));
    const JsonValue* dropout = model_json->Find("dropout");
    if (!prefix.empty() || !suffix.empty() || byte_fallback || ignore_merges ||
        (dropout != nullptr && !dropout->is_null())) {
      return absl::UnimplementedError(
          absl::StrCat(model_where,
                       ": only plain byte-level BPE (no subword prefix/suffix, "
                       "byte fallback, "
                       "ignore_merges or dropout) is supported"));
    }
    MVL_ASSIGN_OR_RETURN(const JsonValue* merges_json, model.Get("merges"));
    MVL_ASSIGN_OR_RETURN(const Merges merges,
                         MergesFromJson(*merges_json, model_where + ".merges"));
    absl::StatusOr<std::unique_ptr<text_internal::BytePairModel>> bpe =
        text_internal::BytePairModel::Create(vocab, merges);
    if (!bpe.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(model_where, ": ", bpe.status().message()));
    }
    impl->bpe = *std::move(bpe);
  } else {
    return absl::UnimplementedError(absl::StrCat(
        model_where, ": model type \"", model_type, "\" is not supported"));
  }

  // Normalizer.
  MVL_ASSIGN_OR_RETURN(const JsonValue* norm_json, top.Get("normalizer"));
  if (!norm_json->is_null()) {
    const std::string where = root + ".normalizer";
    MVL_ASSIGN_OR_RETURN(const std::string type, TypeOf(*norm_json, where));
    if (type != "BertNormalizer" || impl->kind != Kind::kWordPiece) {
      return absl::UnimplementedError(
          absl::StrCat(where, ": normalizer \"", type,
                       "\" is not supported with this model"));
    }
    JsonObject n(norm_json, where);
    BertNormalizerOptions options;
    MVL_ASSIGN_OR_RETURN(options.clean_text, n.Bool("clean_text", true));
    MVL_ASSIGN_OR_RETURN(options.handle_chinese_chars,
                         n.Bool("handle_chinese_chars", true));
    MVL_ASSIGN_OR_RETURN(options.lowercase, n.Bool("lowercase", true));
    MVL_ASSIGN_OR_RETURN(const std::optional<bool> strip,
                         n.OptionalBool("strip_accents"));
    options.strip_accents = strip.value_or(options.lowercase);
    impl->normalizer = options;
  }

  // Pre-tokenizer: it must be the one that goes with the model.
  MVL_ASSIGN_OR_RETURN(const JsonValue* pre_json, top.Get("pre_tokenizer"));
  {
    const std::string where = root + ".pre_tokenizer";
    if (pre_json->is_null()) {
      return absl::UnimplementedError(
          absl::StrCat(where, ": a pre-tokenizer is required"));
    }
    MVL_ASSIGN_OR_RETURN(const std::string type, TypeOf(*pre_json, where));
    if (impl->kind == Kind::kWordPiece && type != "BertPreTokenizer") {
      return absl::UnimplementedError(absl::StrCat(
          where, ": WordPiece needs BertPreTokenizer, got \"", type, "\""));
    }
    if (impl->kind == Kind::kBytePair) {
      if (type != "ByteLevel") {
        return absl::UnimplementedError(absl::StrCat(
            where, ": BPE needs the ByteLevel pre-tokenizer, got \"", type,
            "\""));
      }
      JsonObject p(pre_json, where);
      MVL_ASSIGN_OR_RETURN(const bool prefix_space,
                           p.Bool("add_prefix_space", false));
      MVL_ASSIGN_OR_RETURN(const bool use_regex, p.Bool("use_regex", true));
      if (prefix_space || !use_regex) {
        return absl::UnimplementedError(
            absl::StrCat(where,
                         ": only add_prefix_space=false with use_regex=true "
                         "(GPT-2) is supported"));
      }
    }
  }

  // Post-processor.
  MVL_ASSIGN_OR_RETURN(const JsonValue* post_json, top.Get("post_processor"));
  MVL_RETURN_IF_ERROR(
      ParsePostProcessor(*post_json, root + ".post_processor", impl.get()));

  // Added tokens: their ids must agree with the model vocabulary.
  const std::shared_ptr<const std::vector<std::string>> id_to_token =
      InvertVocab(vocab);
  if (const JsonValue* added = json.Find("added_tokens");
      added != nullptr && !added->is_null()) {
    if (!added->is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(root, ".added_tokens must be an array"));
    }
    for (size_t i = 0; i < added->array().size(); ++i) {
      const std::string where = absl::StrCat(root, ".added_tokens[", i, "]");
      if (!added->array()[i].is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " must be an object"));
      }
      JsonObject a(&added->array()[i], where);
      AddedTokenSpec spec;
      MVL_ASSIGN_OR_RETURN(spec.content, a.String("content"));
      MVL_ASSIGN_OR_RETURN(const int64_t id, a.Int("id", std::nullopt));
      if (id < 0 || id >= std::numeric_limits<int32_t>::max() ||
          spec.content.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": bad id or empty content"));
      }
      spec.id = static_cast<int32_t>(id);
      MVL_ASSIGN_OR_RETURN(spec.special, a.Bool("special", false));
      MVL_ASSIGN_OR_RETURN(spec.lstrip, a.Bool("lstrip", false));
      MVL_ASSIGN_OR_RETURN(spec.rstrip, a.Bool("rstrip", false));
      MVL_ASSIGN_OR_RETURN(spec.normalized,
                           a.Bool("normalized", !spec.special));
      MVL_ASSIGN_OR_RETURN(const bool single_word,
                           a.Bool("single_word", false));
      if (single_word) {
        return absl::UnimplementedError(
            absl::StrCat(where, ": single_word tokens are not supported"));
      }
      if (auto it = vocab.find(spec.content);
          it != vocab.end() && it->second != spec.id) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": \"", spec.content, "\" has id ", spec.id,
                         " but ", it->second, " in the model vocabulary"));
      }
      if (!vocab.contains(spec.content) &&
          spec.id < static_cast<int64_t>(id_to_token->size()) &&
          !(*id_to_token)[spec.id].empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": id ", spec.id, " of \"", spec.content,
                         "\" belongs to \"", (*id_to_token)[spec.id], "\""));
      }
      impl->added.push_back(std::move(spec));
    }
  }

  // Padding token named in the file, if any.
  if (const JsonValue* padding = json.Find("padding");
      padding != nullptr && padding->is_object()) {
    JsonObject p(padding, root + ".padding");
    MVL_ASSIGN_OR_RETURN(const int64_t pad_id, p.Int("pad_id", 0));
    MVL_ASSIGN_OR_RETURN(const int64_t pad_type_id, p.Int("pad_type_id", 0));
    impl->pad_id = static_cast<int32_t>(pad_id);
    impl->pad_type_id = static_cast<int32_t>(pad_type_id);
  } else if (impl->kind == Kind::kWordPiece) {
    // BertTokenizerFast pads with [PAD] when the vocabulary has it.
    if (auto it = vocab.find("[PAD]"); it != vocab.end())
      impl->pad_id = it->second;
  }

  impl->id_to_token = id_to_token;
  impl->vocab = std::make_shared<const Vocab>(std::move(vocab));
  MVL_RETURN_IF_ERROR(FinishImpl(impl.get()));
  return Tokenizer(std::move(impl));
}

absl::Status Tokenizer::AddTokens(const std::vector<AddedTokenConfig>& tokens) {
  auto impl = std::make_shared<Impl>(*impl_);
  int32_t next = static_cast<int32_t>(impl->id_to_token->size());
  for (const auto& t : impl->added) next = std::max(next, t.id + 1);
  for (const AddedTokenConfig& config : tokens) {
    if (config.content().empty())
      return absl::InvalidArgumentError("added token with empty content");
    if (absl::Status s = ValidateUtf8(config.content()); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("added token: ", s.message()));
    }
    bool present = false;
    for (const auto& a : impl->added) present |= a.content == config.content();
    if (present) continue;
    AddedTokenSpec spec;
    spec.content = config.content();
    spec.special = config.special();
    spec.lstrip = config.lstrip();
    spec.rstrip = config.rstrip();
    spec.normalized = config.normalized();
    auto it = impl->vocab->find(spec.content);
    spec.id = it != impl->vocab->end() ? it->second : next++;
    impl->added.push_back(std::move(spec));
  }
  impl->RebuildMatchers();
  impl_ = std::move(impl);
  return absl::OkStatus();
}

absl::Status Tokenizer::SetPadToken(absl::string_view token) {
  const std::optional<int32_t> id = TokenToId(token);
  if (!id.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pad token \"", token, "\" is not in the vocabulary"));
  }
  auto impl = std::make_shared<Impl>(*impl_);
  impl->pad_id = *id;
  impl_ = std::move(impl);
  return absl::OkStatus();
}

absl::Status ValidateTokenizerConfig(const TokenizerConfig& config) {
  switch (config.source_case()) {
    case TokenizerConfig::kWordpiece:
      if (config.wordpiece().vocab_path().empty()) {
        return absl::InvalidArgumentError(
            "tokenizer.wordpiece.vocab_path is empty");
      }
      if (config.wordpiece().max_input_chars_per_word() <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tokenizer.wordpiece.max_input_chars_per_word must be > 0, got ",
            config.wordpiece().max_input_chars_per_word()));
      }
      break;
    case TokenizerConfig::kByteLevelBpe:
      if (config.byte_level_bpe().vocab_path().empty() ||
          config.byte_level_bpe().merges_path().empty()) {
        return absl::InvalidArgumentError(
            "tokenizer.byte_level_bpe needs vocab_path and merges_path");
      }
      break;
    case TokenizerConfig::kTokenizerJson:
      if (config.tokenizer_json().empty()) {
        return absl::InvalidArgumentError("tokenizer.tokenizer_json is empty");
      }
      break;
    case TokenizerConfig::SOURCE_NOT_SET:
      return absl::InvalidArgumentError(
          "tokenizer: no source (wordpiece, byte_level_bpe or tokenizer_json) "
          "set");
  }
  for (int i = 0; i < config.added_tokens_size(); ++i) {
    if (config.added_tokens(i).content().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.added_tokens[", i, "].content is empty"));
    }
  }
  const EncodeOptions& e = config.encode();
  if (e.max_length() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer.encode.max_length must be >= 0, got ", e.max_length()));
  }
  if (e.padding() == EncodeOptions::PADDING_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "tokenizer.encode.padding is PADDING_UNSPECIFIED");
  }
  if (e.padding() == EncodeOptions::PAD_TO_MAX_LENGTH && e.max_length() == 0) {
    return absl::InvalidArgumentError(
        "tokenizer.encode.padding is PAD_TO_MAX_LENGTH but max_length is 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<Tokenizer> BuildTokenizer(const TokenizerConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateTokenizerConfig(config));
  absl::StatusOr<Tokenizer> tokenizer = absl::InternalError("unset");
  switch (config.source_case()) {
    case TokenizerConfig::kWordpiece:
      tokenizer = Tokenizer::FromWordPieceVocab(config.wordpiece());
      break;
    case TokenizerConfig::kByteLevelBpe:
      tokenizer = Tokenizer::FromBytePairFiles(config.byte_level_bpe());
      break;
    case TokenizerConfig::kTokenizerJson:
      tokenizer = Tokenizer::FromTokenizerJsonFile(config.tokenizer_json());
      break;
    case TokenizerConfig::SOURCE_NOT_SET:
      break;
  }
  if (!tokenizer.ok()) return tokenizer.status();
  std::vector<AddedTokenConfig> added(config.added_tokens().begin(),
                                      config.added_tokens().end());
  if (!added.empty()) MVL_RETURN_IF_ERROR(tokenizer->AddTokens(added));
  if (config.has_pad_token())
    MVL_RETURN_IF_ERROR(tokenizer->SetPadToken(config.pad_token()));
  return tokenizer;
}

}  // namespace mammovl::text
