// Every text recipe in text/configs parses against the schema and passes
// validation (which reads no files).
#include <string>

#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "gtest/gtest.h"
#include "text/text_config.pb.h"
#include "text/text_encoder.h"

namespace mammovl::text {
namespace {

TextEncoderConfig Load(const std::string& name) {
  TextEncoderConfig config;
  const absl::Status s = core::LoadConfig("text/configs/" + name, {}, &config);
  EXPECT_TRUE(s.ok()) << s;
  MVL_EXPECT_OK(ValidateTextEncoderConfig(config));
  return config;
}

TEST(TextConfigsTest, MammoClipLowercasesBioClinicalBert) {
  const TextEncoderConfig c = Load("mammoclip_text.pbtxt");
  EXPECT_TRUE(c.tokenizer().wordpiece().lowercase());
  EXPECT_FALSE(
      c.tokenizer().wordpiece().has_strip_accents());  // Follows lowercase.
  EXPECT_EQ(c.tokenizer().encode().max_length(), 256);
  EXPECT_EQ(c.pooling(), POOL_LAST_TOKEN);
  EXPECT_EQ(c.bert().num_hidden_layers(), 12);
}

TEST(TextConfigsTest, MamaUsesLoraOnBioMedLm) {
  const TextEncoderConfig c = Load("mama_text.pbtxt");
  EXPECT_EQ(c.tokenizer().added_tokens_size(), 6);
  EXPECT_EQ(c.gpt2().lora().rank(), 8);
  EXPECT_FLOAT_EQ(c.gpt2().lora().alpha(), 32);
  EXPECT_EQ(c.tokenizer().encode().max_length(), 144);
}

TEST(TextConfigsTest, MgcaKeepsItsQuirks) {
  const TextEncoderConfig c = Load("mgca_text.pbtxt");
  EXPECT_EQ(c.bert().num_hidden_layers(), 6);
  EXPECT_TRUE(c.bert().zero_position_ids());
  EXPECT_EQ(c.tokenizer().encode().max_length(), 112);
}

TEST(TextConfigsTest, OverridesApply) {
  TextEncoderConfig config;
  MVL_ASSERT_OK(core::LoadConfig("text/configs/mammoclip_text.pbtxt",
                                 {"tokenizer.encode.max_length: 128"},
                                 &config));
  EXPECT_EQ(config.tokenizer().encode().max_length(), 128);
}

}  // namespace
}  // namespace mammovl::text
