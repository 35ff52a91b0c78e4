// Tokenisation throughput on the parity corpus's report sentences (BERT,
// Mammo-CLIP settings: truncation and padding to 256) and MaMA captions
// (GPT-2 + MaMA tokens, 144). Compared with Hugging Face's Rust tokenizers by
// tools/bench/text_bench.sh.
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "core/file_io.h"
#include "core/thread_pool.h"
#include "text/tokenizer/json.h"
#include "text/tokenizer/tokenizer.h"

namespace mammovl::text {
namespace {

constexpr char kDir[] = "text/tokenizer/testdata/";

// Corpus lines [begin, end): 90..990 are report sentences, 990..1050 MaMA
// captions (see tools/fixtures/make_tokenizer_fixtures.js).
std::vector<std::string> Corpus(size_t begin, size_t end) {
  std::vector<std::string> out;
  const std::string content =
      *core::ReadFileToString(std::string(kDir) + "corpus.jsonl");
  size_t i = 0;
  for (absl::string_view line :
       absl::StrSplit(content, '\n', absl::SkipEmpty())) {
    if (i >= begin && i < end)
      out.push_back(ParseJson(line, "corpus")->string_value());
    ++i;
  }
  return out;
}

void Run(benchmark::State& state, const Tokenizer& tok,
         const std::vector<std::string>& texts, const EncodeOptions& options) {
  const int threads = static_cast<int>(state.range(0));
  core::ThreadPool pool(threads);
  for (auto _ : state) {
    auto out = tok.EncodeBatch(texts, options, threads > 1 ? &pool : nullptr);
    benchmark::DoNotOptimize(out);
  }
  state.counters["sentences/s"] =
      benchmark::Counter(static_cast<double>(texts.size()) * state.iterations(),
                         benchmark::Counter::kIsRate);
}

void BM_BertEncode(benchmark::State& state) {
  static const std::vector<std::string> texts = Corpus(90, 990);
  WordPieceVocab vocab;
  vocab.set_vocab_path(std::string(kDir) + "bert_uncased_vocab.txt");
  static const Tokenizer tok = *Tokenizer::FromWordPieceVocab(vocab);
  EncodeOptions options;
  options.set_max_length(256);
  options.set_padding(EncodeOptions::PAD_TO_MAX_LENGTH);
  Run(state, tok, texts, options);
}
BENCHMARK(BM_BertEncode)->Arg(1)->Arg(2)->UseRealTime();

void BM_Gpt2MamaEncode(benchmark::State& state) {
  static const std::vector<std::string> texts = Corpus(990, 1050);
  static const Tokenizer tok = [] {
    Tokenizer t = *Tokenizer::FromTokenizerJsonFile(std::string(kDir) +
                                                    "gpt2_mama_tokenizer.json");
    (void)t.SetPadToken("<|padtext|>");
    return t;
  }();
  EncodeOptions options;
  options.set_max_length(144);
  options.set_padding(EncodeOptions::PAD_TO_MAX_LENGTH);
  Run(state, tok, texts, options);
}
BENCHMARK(BM_Gpt2MamaEncode)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
}  // namespace mammovl::text
