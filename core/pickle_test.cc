#include "core/pickle.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = PickleValue::Kind;
using namespace std::string_literals;  // NOLINT: byte strings with NULs

// BINUNICODE of `s`.
std::string U(const std::string& s) {
  std::string out = "X";
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>(s.size() >> (8 * i)));
  return out + s;
}

std::string TestData(const std::string& name) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/mammovl/core/testdata/" +
         name;
}

absl::StatusOr<PickleTree> UnpickleBytes(const std::string& bytes) {
  return Unpickle(bytes, "test.pkl");
}

std::vector<std::string> Keys(const PickleValue& dict) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : dict.dict_items())
    keys.push_back(k->string_value());
  return keys;
}

class ProtocolTest : public ::testing::TestWithParam<int> {};

// The same Python object pickled with protocols 0-5 by the fixture script.
TEST_P(ProtocolTest, ReadsEveryProtocol) {
  const std::string path =
      TestData(absl::StrCat("protocol", GetParam(), ".pkl"));
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFileToString(path));
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree tree, Unpickle(bytes, path));
  const PickleValue& root = tree.root();
  ASSERT_TRUE(root.is_dict());
  EXPECT_EQ(Keys(root).size(), 25u);

  auto get = [&](const char* key) -> const PickleValue& {
    const PickleValue* v = root.Find(key);
    EXPECT_NE(v, nullptr) << key;
    return v != nullptr ? *v : tree.root();
  };
  EXPECT_EQ(get("int").int_value(), 1);
  EXPECT_EQ(get("neg").int_value(), -5);
  EXPECT_EQ(get("i32").int_value(), -70000);
  EXPECT_EQ(get("i64max").kind(), Kind::kInt);
  EXPECT_EQ(get("i64max").int_value(), INT64_MAX);
  EXPECT_EQ(get("i64min").kind(), Kind::kInt);
  EXPECT_EQ(get("i64min").int_value(), INT64_MIN);
  EXPECT_EQ(get("big").kind(), Kind::kBigInt);
  EXPECT_EQ(get("big").string_value(), "1180591620717411303424");
  EXPECT_EQ(get("negbig").string_value(), "-1180591620717411303424");
  EXPECT_EQ(get("float").float_value(), 1.5);
  EXPECT_EQ(get("tiny").float_value(), -1e-300);
  EXPECT_EQ(get("str").kind(), Kind::kString);
  EXPECT_EQ(get("str").string_value(), "h\xc3\xa9llo\n'\xe4\xb8\x96");
  EXPECT_EQ(get("bytes").kind(), Kind::kBytes);
  EXPECT_EQ(get("bytes").string_value(), std::string("\x00\xff", 2));
  EXPECT_EQ(get("bytearray").kind(), Kind::kBytes);
  EXPECT_EQ(get("bytearray").string_value(), "ab");
  ASSERT_EQ(get("list").kind(), Kind::kList);
  ASSERT_EQ(get("list").items().size(), 2u);
  EXPECT_EQ(get("list").items()[1]->items()[1]->int_value(), 3);
  EXPECT_EQ(get("tuple").kind(), Kind::kTuple);
  EXPECT_EQ(get("tuple").items().size(), 1u);
  EXPECT_EQ(get("empty_tuple").items().size(), 0u);
  EXPECT_TRUE(get("none").is_none());
  EXPECT_EQ(get("true").kind(), Kind::kBool);
  EXPECT_TRUE(get("true").bool_value());
  EXPECT_FALSE(get("false").bool_value());

  // Sets stay opaque objects, holding their elements.
  EXPECT_EQ(get("set").TypeName(), "builtins.set");
  EXPECT_EQ(get("frozenset").TypeName(), "builtins.frozenset");

  // OrderedDict becomes a dict, in order.
  ASSERT_TRUE(get("od").is_dict());
  EXPECT_THAT(Keys(get("od")), ElementsAre("a", "b"));

  // Instances of other classes are opaque, with their __dict__ as state.
  EXPECT_EQ(get("ns").kind(), Kind::kObject);
  EXPECT_EQ(get("ns").qualified_name(), "argparse.Namespace");
  ASSERT_NE(get("ns").state(), nullptr);
  EXPECT_EQ(get("ns").state()->Find("x")->int_value(), 1);
  EXPECT_EQ(get("config").qualified_name(), "__main__.TrainConfig");
  ASSERT_NE(get("config").state(), nullptr);
  EXPECT_EQ(get("config").state()->Find("epochs")->int_value(), 10);
  const PickleValue* model = get("config").state()->Find("model");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->Find("image_encoder")->Find("name")->string_value(),
            "tf_efficientnet_b2");
  EXPECT_EQ(get("list_config").qualified_name(),
            "omegaconf.listconfig.ListConfig");
  ASSERT_EQ(get("list_config").items().size(), 2u);
  EXPECT_EQ(get("list_config").items()[1]->string_value(), "MLO");

  // A value referenced twice is one node.
  ASSERT_EQ(get("shared").items().size(), 2u);
  EXPECT_EQ(get("shared").items()[0], get("shared").items()[1]);
}

INSTANTIATE_TEST_SUITE_P(AllProtocols, ProtocolTest, ::testing::Range(0, 6));

TEST(PickleTest, IntegerEncodings) {
  struct Case {
    std::string bytes;
    int64_t value;
  };
  const std::vector<Case> cases = {
      {"\x80\x02\x8a\x00."s, 0},
      {"\x80\x02\x8a\x01\xff.", -1},
      {"\x80\x02\x8a\x02\xff\x00."s, 255},
      {"\x80\x02\x8a\x09\xff\xff\xff\xff\xff\xff\xff\x7f\x00."s, INT64_MAX},
      {"\x80\x02\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80."s, INT64_MIN},
      {"\x80\x02\x8b\x01\x00\x00\x00\x80."s, -128},
      {"\x80\x02J\xfe\xff\xff\xff.", -2},
      {"\x80\x02M\xff\xff.", 65535},
      {"I-12\n.", -12},
      {"L77L\n.", 77},
  };
  for (const Case& c : cases) {
    MVL_ASSERT_OK_AND_ASSIGN(PickleTree tree, UnpickleBytes(c.bytes));
    EXPECT_EQ(tree.root().kind(), Kind::kInt);
    EXPECT_EQ(tree.root().int_value(), c.value);
  }
  MVL_ASSERT_OK_AND_ASSIGN(
      PickleTree big,
      UnpickleBytes("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00."s));
  EXPECT_EQ(big.root().kind(), Kind::kBigInt);
  EXPECT_EQ(big.root().string_value(), "9223372036854775808");
}

TEST(PickleTest, Protocol0Strings) {
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree s, UnpickleBytes("S'a\\'b\\x41\\n'\n."));
  EXPECT_EQ(s.root().string_value(), "a'bA\n");
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree v, UnpickleBytes("V\\u00e9x\\u005c\n."));
  EXPECT_EQ(v.root().string_value(), "\xc3\xa9x\\");
}

TEST(PickleTest, DuplicateDictKeysKeepFirstPositionAndLastValue) {
  MVL_ASSERT_OK_AND_ASSIGN(
      PickleTree tree, UnpickleBytes("\x80\x02}("s + U("a") + "K\x01" + U("b") +
                                     "K\x02" + U("a") + "K\x03u."));
  EXPECT_THAT(Keys(tree.root()), ElementsAre("a", "b"));
  EXPECT_EQ(tree.root().Find("a")->int_value(), 3);
  EXPECT_EQ(tree.root().Find("zz"), nullptr);
}

TEST(PickleTest, OrderedDictStateIsKept) {
  // What torch.save writes for a module's state_dict (with its _metadata).
  MVL_ASSERT_OK_AND_ASSIGN(
      PickleTree tree,
      UnpickleBytes("\x80\x02"
                    "ccollections\nOrderedDict\nq\x00)Rq\x01"s +
                    U("w") + "K\x05s}" + U("_metadata") + "K\x01sb."));
  ASSERT_TRUE(tree.root().is_dict());
  EXPECT_THAT(Keys(tree.root()), ElementsAre("w"));
  ASSERT_NE(tree.root().state(), nullptr);
  EXPECT_EQ(tree.root().state()->Find("_metadata")->int_value(), 1);
}

TEST(PickleTest, PersistentIdsGoToTheCallback) {
  // ('storage', 'key') as a persistent id, inside a list.
  const std::string bytes = "\x80\x02](" + U("storage") + U("7") + "tQa.";
  UnpickleOptions options;
  std::vector<std::string> seen;
  options.persistent_load =
      [&](const PickleValue& pid,
          PickleTree* tree) -> absl::StatusOr<PickleValue*> {
    seen.push_back(pid.items()[1]->string_value());
    return tree->NewStorage(42);
  };
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree tree, Unpickle(bytes, "t", options));
  EXPECT_THAT(seen, ElementsAre("7"));
  ASSERT_EQ(tree.root().items().size(), 1u);
  EXPECT_EQ(tree.root().items()[0]->kind(), Kind::kStorage);
  EXPECT_EQ(tree.root().items()[0]->index(), 42);

  EXPECT_THAT(UnpickleBytes(bytes),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("test.pkl"), HasSubstr("0x51"),
                             HasSubstr("persistent"))));

  options.persistent_load = [](const PickleValue&,
                               PickleTree*) -> absl::StatusOr<PickleValue*> {
    return absl::DataLossError("no such storage");
  };
  EXPECT_THAT(
      Unpickle(bytes, "t", options),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr("offset 23"), HasSubstr("no such storage"))));
}

TEST(PickleTest, ReduceCallbackCanReplaceCalls) {
  const std::string bytes =
      "\x80\x02"
      "cmod\nfn\nK\x05\x85R.";
  UnpickleOptions options;
  options.reduce = [](const PickleValue& callable, const PickleValue& args,
                      PickleTree* tree) -> absl::StatusOr<PickleValue*> {
    if (callable.qualified_name() != "mod.fn") return nullptr;
    return tree->NewTensor(args.items()[0]->int_value());
  };
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree tree, Unpickle(bytes, "t", options));
  EXPECT_TRUE(tree.root().is_tensor());
  EXPECT_EQ(tree.root().index(), 5);

  // Without the callback the call stays an opaque object with its args.
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree opaque, UnpickleBytes(bytes));
  EXPECT_EQ(opaque.root().kind(), Kind::kObject);
  EXPECT_EQ(opaque.root().qualified_name(), "mod.fn");
  EXPECT_EQ(opaque.root().args()->items()[0]->int_value(), 5);
}

// The classic exploit pickles: GLOBAL os.system / builtins.eval and friends
// called through REDUCE, INST, OBJ or NEWOBJ. Nothing runs; the file is
// refused naming the callable.
TEST(PickleTest, CallsToTheShellOrEvalAreRefusedAndNothingRuns) {
  const std::string marker = std::string(std::getenv("TEST_TMPDIR")) + "/pwned";
  const std::string command = "touch " + marker;
  const std::vector<std::pair<std::string, std::string>> cases = {
      // protocol 0: c os\nsystem\n ( S'cmd' t R .
      {"cos\nsystem\n(S'" + command + "'\ntR.", "os.system"},
      {"cposix\nsystem\n(S'" + command + "'\ntR.", "posix.system"},
      {"csubprocess\ncheck_output\n((S'touch'\nS'" + marker + "'\nltR.",
       "subprocess.check_output"},
      {"c__builtin__\neval\n(S'__import__(\"os\").system(\"" + command + "\")'\ntR.",
       "builtins.eval"},
      {"cbuiltins\ngetattr\n(cbuiltins\nstr\nS'join'\ntR.", "builtins.getattr"},
      // INST and OBJ call their class too.
      {"(S'" + command + "'\nios\nsystem\n.", "os.system"},
      {"(cos\nsystem\nS'" + command + "'\no.", "os.system"},
      // protocol 2 STACK_GLOBAL + NEWOBJ
      {"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85\x81.", "os.system"},
  };
  for (const auto& [bytes, callable] : cases) {
    EXPECT_THAT(UnpickleBytes(bytes),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         AllOf(HasSubstr(callable), HasSubstr("refused"))))
        << callable;
  }
  EXPECT_FALSE(PathExists(marker));
  // Harmless library classes stay opaque objects, as before.
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree tree, UnpickleBytes("cargparse\nNamespace\n)R."));
  EXPECT_EQ(tree.root().qualified_name(), "argparse.Namespace");
}

TEST(PickleTest, SelfContainingListIsAllowedAndFormatsBounded) {
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree tree, UnpickleBytes("\x80\x02]q\x00h\x00"
                                                          "a."s));
  ASSERT_EQ(tree.root().items().size(), 1u);
  EXPECT_EQ(tree.root().items()[0], &tree.root());
  EXPECT_EQ(FormatPickleValue(tree.root()), "[[[[...]]]]");
}

TEST(PickleTest, FormatsFloatsAsPythonRepr) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {1.5, "1.5"},
      {5e-4, "0.0005"},
      {1e-5, "1e-05"},
      {-1.25e-7, "-1.25e-07"},
      {100000.0, "100000.0"},
      {1e16, "1e+16"},
      {123456789012345.6, "123456789012345.6"},
      {0.1, "0.1"},
      {2.5e-300, "2.5e-300"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
  };
  for (const auto& [value, text] : cases) {
    std::string bytes = "G";
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    for (int i = 7; i >= 0; --i)
      bytes.push_back(static_cast<char>(bits >> (8 * i)));
    MVL_ASSERT_OK_AND_ASSIGN(PickleTree tree, UnpickleBytes(bytes + "."));
    EXPECT_EQ(FormatPickleValue(tree.root()), text);
  }
}

TEST(PickleTest, FormatsLikePython) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes,
                           ReadFileToString(TestData("protocol2.pkl")));
  MVL_ASSERT_OK_AND_ASSIGN(PickleTree tree, Unpickle(bytes, "p2"));
  PickleFormatOptions options;
  options.max_items = 100;
  const std::string text = FormatPickleValue(tree.root(), options);
  EXPECT_THAT(text, HasSubstr("'int': 1, 'neg': -5"));
  EXPECT_THAT(text, HasSubstr("'float': 1.5, 'tiny': -1e-300"));
  EXPECT_THAT(text, HasSubstr("'bytes': b'\\x00\\xff'"));
  EXPECT_THAT(
      text, HasSubstr("'list': [1, [2, 3]], 'tuple': (1,), 'empty_tuple': ()"));
  EXPECT_THAT(text, HasSubstr("'none': None, 'true': True"));
  EXPECT_THAT(text, HasSubstr("'ns': <opaque argparse.Namespace>"));
  EXPECT_THAT(text, HasSubstr("'od': {'a': 1, 'b': 2}"));
  EXPECT_THAT(text, HasSubstr("'str': 'h\xc3\xa9llo\\n\\'"));
  options.max_items = 2;
  EXPECT_EQ(FormatPickleValue(tree.root(), options),
            "{'int': 1, 'neg': -5, ... (25 items)}");
}

// --- Errors -----------------------------------------------------------------

TEST(PickleTest, UnsupportedOpcodeNamesByteAndOffset) {
  EXPECT_THAT(UnpickleBytes("\x80\x02\x82\x01."),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("test.pkl"), HasSubstr("0x82"),
                             HasSubstr("EXT1"), HasSubstr("offset 2"))));
  EXPECT_THAT(
      UnpickleBytes("\x80\x02\xff."),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("0xff"), HasSubstr("unsupported opcode"))));
  EXPECT_THAT(
      UnpickleBytes("\x80\x07N."),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("protocol 7")));
}

TEST(PickleTest, StackUnderflowIsDataLoss) {
  EXPECT_THAT(
      UnpickleBytes("\x80\x02Na."),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr("stack underflow"), HasSubstr("offset 3"))));
  EXPECT_THAT(UnpickleBytes("."), StatusIs(absl::StatusCode::kDataLoss,
                                           HasSubstr("stack underflow")));
  // Values below a MARK are out of reach.
  EXPECT_THAT(
      UnpickleBytes("]K\x01(a."),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("stack underflow")));
  EXPECT_THAT(UnpickleBytes("Ne."),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no MARK")));
}

TEST(PickleTest, MemoMissIsDataLoss) {
  EXPECT_THAT(
      UnpickleBytes("\x80\x02h\x05."),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr("memo entry 5"), HasSubstr("offset 2"))));
  EXPECT_THAT(
      UnpickleBytes("\x80\x02j\x00\x01\x00\x00."s),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("memo entry 256")));
}

TEST(PickleTest, TruncatedDataIsDataLoss) {
  EXPECT_THAT(UnpickleBytes(""),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no STOP")));
  EXPECT_THAT(UnpickleBytes("\x80\x02N"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no STOP")));
  EXPECT_THAT(UnpickleBytes("\x80\x02X\x10\x00\x00\x00"s + "abc"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("truncated"), HasSubstr("offset 2"))));
  EXPECT_THAT(UnpickleBytes("\x80\x02\x8e\xff\xff\xff\xff\xff\xff\xff\xff."),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_THAT(UnpickleBytes("cmodule_without_newline"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("end of line")));
  // Every prefix of a real pickle fails cleanly.
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes,
                           ReadFileToString(TestData("protocol2.pkl")));
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(UnpickleBytes(bytes.substr(0, n)).ok()) << n;
  }
}

TEST(PickleTest, WrongTypesAreDataLoss) {
  EXPECT_THAT(UnpickleBytes("K\x01K\x02"
                            "a."),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("cannot add items to a int")));
  EXPECT_THAT(UnpickleBytes(")K\x01K\x02s."),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("cannot set items on a tuple")));
  EXPECT_THAT(
      UnpickleBytes("K\x01)R."),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cannot call a int")));
  EXPECT_THAT(UnpickleBytes("cm\nf\nK\x01R."),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a tuple")));
  EXPECT_THAT(UnpickleBytes("K\x01}b."), StatusIs(absl::StatusCode::kDataLoss,
                                                  HasSubstr("state of a int")));
  EXPECT_THAT(UnpickleBytes("(K\x01"
                            "d."),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("odd number")));
}

TEST(PickleTest, LimitsAreResourceExhausted) {
  // 2000 nested lists.
  std::string nested = "\x80\x02";
  for (int i = 0; i < 2000; ++i) nested += "]";
  for (int i = 0; i < 1999; ++i) nested += "a";
  nested += ".";
  EXPECT_THAT(
      UnpickleBytes(nested),
      StatusIs(absl::StatusCode::kResourceExhausted,
               AllOf(HasSubstr("test.pkl"), HasSubstr("limit of 1000"))));
  UnpickleOptions deep;
  deep.max_depth = 3000;
  MVL_EXPECT_OK(Unpickle(nested, "t", deep));

  UnpickleOptions small;
  small.max_stack_size = 50;
  EXPECT_THAT(
      Unpickle(std::string(100, 'N'), "t", small),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("stack")));
  small.max_memo_size = 2;
  EXPECT_THAT(
      Unpickle("Nq\x00q\x01q\x02."s, "t", small),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("memo")));
  small.max_nodes = 10;
  std::string many = "]";
  for (int i = 0; i < 20; ++i) many += "Na";
  EXPECT_THAT(
      Unpickle(many + ".", "t", small),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("values")));
  // A huge integer is refused rather than converted.
  std::string huge =
      "\x80\x02\x8b\x00\x10\x00\x00"s + std::string(4096, '\x01') + ".";
  EXPECT_THAT(
      UnpickleBytes(huge),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("4096 bytes")));
}

TEST(PickleTest, RandomCorruptionNeverCrashes) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string good,
                           ReadFileToString(TestData("protocol2.pkl")));
  uint32_t seed = 7;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = good;
    for (int k = 0; k < 3; ++k) {
      seed = seed * 1103515245u + 12345u;
      bytes[(seed >> 8) % bytes.size()] = static_cast<char>(seed >> 24);
    }
    auto tree = UnpickleBytes(bytes);
    if (tree.ok()) (void)FormatPickleValue(tree->root());
  }
}

}  // namespace
}  // namespace mammovl::core
