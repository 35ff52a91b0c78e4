#include "data/datasets/pairing.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

PairingConfig Pairing(const std::string& text) {
  PairingConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c)) << text;
  return c;
}

Sample Breast() {
  Sample s;
  s.id = "p1_L";
  s.laterality = "L";
  s.images = {{"a.png", "a", "CC", "L"}, {"b.png", "b", "MLO", "L"}};
  s.texts = {"findings text", "impression text"};
  s.texts_augmented = {"findings paraphrase", "impression paraphrase"};
  return s;
}

TEST(MammoClipPairingTest, TwoViewsInRandomOrderAndTextsWithBackTranslation) {
  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer drawer, ExampleDrawer::Create(Pairing("mammoclip {}")));
  const Sample s = Breast();
  Rng rng(1);
  std::set<std::string> orders, texts;
  for (int i = 0; i < 200; ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(const Example ex, drawer.Draw(s, rng));
    ASSERT_EQ(ex.images.size(), 2u);
    ASSERT_NE(ex.images[0].view, ex.images[1].view);
    orders.insert(ex.images[0].view);
    ASSERT_EQ(ex.texts.size(), 2u);
    texts.insert(ex.texts.begin(), ex.texts.end());
  }
  EXPECT_EQ(orders.size(), 2u);  // both CC-first and MLO-first
  EXPECT_EQ(texts.size(), 4u);   // sections and back-translations all appear
  // Same seed, same example.
  Rng a(9), b(9);
  MVL_ASSERT_OK_AND_ASSIGN(const Example ea, drawer.Draw(s, a));
  MVL_ASSERT_OK_AND_ASSIGN(const Example eb, drawer.Draw(s, b));
  EXPECT_EQ(ea.images[0].path, eb.images[0].path);
  EXPECT_EQ(ea.texts, eb.texts);

  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer plain,
                           ExampleDrawer::Create(Pairing("mammoclip { augmented_text_probability: 0 }")));
  for (int i = 0; i < 50; ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(const Example ex, plain.Draw(s, rng));
    for (const std::string& t : ex.texts) EXPECT_THAT(t, HasSubstr("text"));
  }
  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer eval,
                           ExampleDrawer::Create(Pairing("mammoclip {} random: false")));
  MVL_ASSERT_OK_AND_ASSIGN(const Example e1, eval.Draw(s, rng));
  EXPECT_EQ(e1.texts, (std::vector<std::string>{"findings text", "impression text"}));
}

TEST(MammoClipPairingTest, OneImageIsAugmentedTwice) {
  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer drawer, ExampleDrawer::Create(Pairing("mammoclip {}")));
  Sample s = Breast();
  s.images.resize(1);
  s.texts = {"only section"};
  s.texts_augmented = {"only paraphrase"};
  Rng rng(3);
  std::set<std::string> firsts;
  for (int i = 0; i < 50; ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(const Example ex, drawer.Draw(s, rng));
    ASSERT_EQ(ex.images.size(), 2u);
    EXPECT_EQ(ex.images[0].path, ex.images[1].path);
    ASSERT_EQ(ex.texts.size(), 2u);
    EXPECT_NE(ex.texts[0], ex.texts[1]);  // the original and its back-translation
    firsts.insert(ex.texts[0]);
  }
  EXPECT_EQ(firsts.size(), 2u);
  s.images.clear();
  EXPECT_THAT(drawer.Draw(s, rng), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no image")));
}

TEST(MammoClipPairingTest, VindrLabelsBecomeReports) {
  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer drawer, ExampleDrawer::Create(Pairing("mammoclip {}")));
  Sample s = Breast();
  s.texts.clear();
  s.texts_augmented.clear();
  s.laterality = "R";
  s.image_findings = {{"Mass"}, {"No Finding"}};
  Rng rng(5);
  for (int i = 0; i < 30; ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(const Example ex, drawer.Draw(s, rng));
    ASSERT_EQ(ex.texts.size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
      const std::string& t = ex.texts[k];
      if (ex.images[k].view == "CC") {
        EXPECT_THAT(t, HasSubstr("mass in the"));
        EXPECT_THAT(t, HasSubstr("right breast"));
        EXPECT_THAT(t, HasSubstr("no suspicious calcification"));  // a negative
      } else {
        EXPECT_THAT(t, Not(HasSubstr("there is a")));
        EXPECT_THAT(t, Not(HasSubstr("there is no")));  // no negatives for No Finding
      }
    }
  }
}

TEST(FindingPromptsTest, JsonFileAndDeterministicReports) {
  const std::string path = std::string(::testing::TempDir()) + "/prompts.json";
  MVL_ASSERT_OK(core::WriteFileAtomically(
      path,
      R"({"Mass": {"pos_left": ["there is a  mass in the left breast", "a second"],
                   "neg_left": ["there is no suspicious mass seen"]},
          "No Finding": {"pos_left": ["no mammographic evidence of malignancy"], "neg_left": []}})"));
  MVL_ASSERT_OK_AND_ASSIGN(const FindingPrompts p, FindingPrompts::FromJsonFile(path));
  ASSERT_EQ(p.Candidates("Mass", "pos_left").size(), 2u);
  // Double spaces are kept verbatim (tokenizer parity with the reference).
  EXPECT_EQ(p.Report({"Mass"}, "L", nullptr), "there is a  mass in the left breast");
  EXPECT_EQ(p.Report({"No Finding"}, "L", nullptr), "no mammographic evidence of malignancy");
  EXPECT_EQ(p.Report({"Suspicious Calcification"}, "L", nullptr), "there is no suspicious mass seen");

  MVL_ASSERT_OK(core::WriteFileAtomically(path, R"({"Mass": ["not", "an", "object"]})"));
  EXPECT_THAT(FindingPrompts::FromJsonFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'Mass' is not an object")));
  MVL_ASSERT_OK(core::WriteFileAtomically(path, "{ not json"));
  EXPECT_THAT(FindingPrompts::FromJsonFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prompts.json")));

  const FindingPrompts builtin = FindingPrompts::BuiltIn();
  for (const char* f : {"Mass", "Suspicious Calcification", "Architectural Distortion", "Asymmetry",
                        "Focal Asymmetry", "Global Asymmetry", "Suspicious Lymph Node",
                        "Nipple Retraction", "Skin Retraction", "Skin Thickening"}) {
    for (const char* slot : {"pos_right", "pos_left", "neg_right", "neg_left"}) {
      EXPECT_FALSE(builtin.Candidates(f, slot).empty()) << f << " " << slot;
    }
  }
  EXPECT_GT(builtin.Candidates("Mass", "pos_left").size(), 100u);
  for (const std::string& s : builtin.Candidates("Mass", "pos_left")) {
    EXPECT_THAT(s, HasSubstr("left breast"));
    EXPECT_THAT(s, Not(HasSubstr("  ")));
  }
}

TEST(MamaPairingTest, PartnerWithProbability) {
  Sample s = Breast();
  s.partners = {{"p.png", "p", "MLO", "L"}};
  Rng rng(2);
  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer always,
                           ExampleDrawer::Create(Pairing("mama { partner_probability: 1 }")));
  MVL_ASSERT_OK_AND_ASSIGN(const Example a, always.Draw(s, rng));
  EXPECT_EQ(a.images[1].path, "p.png");
  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer half, ExampleDrawer::Create(Pairing("mama {}")));
  int partner = 0;
  for (int i = 0; i < 400; ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(const Example ex, half.Draw(s, rng));
    EXPECT_EQ(ex.images[0].path, "a.png");
    partner += ex.images[1].path == "p.png";
  }
  EXPECT_NEAR(partner, 200, 40);
  s.partners.clear();
  MVL_ASSERT_OK_AND_ASSIGN(const Example alone, always.Draw(s, rng));
  EXPECT_EQ(alone.images[1].path, "a.png");
  EXPECT_THAT(ExampleDrawer::Create(Pairing("mama { partner_probability: 2 }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partner_probability")));
}

TEST(PairingTest, SingleAndTwoAugmentations) {
  const Sample s = Breast();
  Rng rng(1);
  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer single, ExampleDrawer::Create(Pairing("single {}")));
  MVL_ASSERT_OK_AND_ASSIGN(const Example one, single.Draw(s, rng));
  ASSERT_EQ(one.images.size(), 1u);
  EXPECT_EQ(one.texts, std::vector<std::string>{"findings text"});
  MVL_ASSERT_OK_AND_ASSIGN(const ExampleDrawer two, ExampleDrawer::Create(Pairing("two_augmentations {}")));
  MVL_ASSERT_OK_AND_ASSIGN(const Example pair, two.Draw(s, rng));
  ASSERT_EQ(pair.images.size(), 2u);
  EXPECT_EQ(pair.images[0].path, pair.images[1].path);
}

}  // namespace
}  // namespace mammovl::data
