// libFuzzer target: vocabulary files of arbitrary content. The first byte
// picks the loader (mod 3): 0 WordPiece vocab.txt; 1 byte-level BPE
// vocab.json and merges.txt, split at the first "\n=====\n"; 2 a
// tokenizer.json. A tokenizer that loads must then encode a few texts and
// accept added tokens.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "text/tokenizer/tokenizer.h"
#include "text/tokenizer/tokenizer_fuzz_util.h"
#include "tools/fuzz/fuzz_check.h"
#include "tools/fuzz/fuzz_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mammovl::text::Tokenizer;
  if (size == 0) return 0;
  const std::string content(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::StatusOr<Tokenizer> tokenizer = absl::UnknownError("unset");
  switch (data[0] % 3) {
    case 0: {
      mammovl::text::WordPieceVocab config;
      config.set_vocab_path(mammovl::fuzz::WriteFuzzFile("vocab.txt", content));
      config.set_lowercase((data[0] & 8) == 0);
      tokenizer = Tokenizer::FromWordPieceVocab(config);
      break;
    }
    case 1: {
      const std::string separator = "\n=====\n";
      const size_t cut = content.find(separator);
      const std::string vocab = content.substr(0, cut);
      const std::string merges = cut == std::string::npos
                                     ? std::string()
                                     : content.substr(cut + separator.size());
      mammovl::text::BytePairVocab config;
      config.set_vocab_path(mammovl::fuzz::WriteFuzzFile("vocab.json", vocab));
      config.set_merges_path(
          mammovl::fuzz::WriteFuzzFile("merges.txt", merges));
      tokenizer = Tokenizer::FromBytePairFiles(config);
      break;
    }
    default:
      tokenizer = Tokenizer::FromTokenizerJson(content, "tokenizer.json");
      break;
  }
  if (!tokenizer.ok()) {
    MVL_FUZZ_CHECK(!tokenizer.status().message().empty());
    return 0;
  }
  MVL_FUZZ_CHECK(tokenizer->vocab_size() >= 0);
  for (const char* text :
       {"", "No suspicious mass.", "Héllo wörld [SEP] x <|endoftext|>",
        "BI-RADS 4: 1.2 x 0.8 cm irregular MASS at 10 o'clock"}) {
    for (uint8_t b : {0x00, 0x05, 0x17, 0x22}) {
      mammovl::text::fuzz::EncodeAndCheck(
          *tokenizer, text, mammovl::text::fuzz::OptionsFromByte(b));
    }
  }
  mammovl::text::AddedTokenConfig added;
  added.set_content("<|separatetext|>");
  if (tokenizer->AddTokens({added}).ok()) {
    MVL_FUZZ_CHECK(tokenizer->TokenToId("<|separatetext|>").has_value());
    mammovl::text::fuzz::EncodeAndCheck(
        *tokenizer, "a <|separatetext|> b",
        mammovl::text::fuzz::OptionsFromByte(0));
  }
  return 0;
}
