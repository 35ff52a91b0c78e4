// libFuzzer target: Unpickle on arbitrary bytes (every protocol, persistent
// ids answered as torch.save's reader does), then formatting the tree.
// Nothing in a pickle may be executed: globals stay names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/pickle.h"
#include "tools/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mammovl::core::PickleTree;
  using mammovl::core::PickleValue;
  mammovl::core::UnpickleOptions options;
  options.max_nodes = size_t{1} << 20;
  int64_t storages = 0;
  options.persistent_load = [&storages](const PickleValue&, PickleTree* tree)
      -> absl::StatusOr<PickleValue*> { return tree->NewStorage(storages++); };
  const auto tree = mammovl::core::Unpickle(
      absl::string_view(reinterpret_cast<const char*>(data), size), "fuzz.pkl",
      options);
  if (!tree.ok()) {
    MVL_FUZZ_CHECK(!tree.status().message().empty());
    return 0;
  }
  MVL_FUZZ_CHECK(tree->size() <= options.max_nodes);
  MVL_FUZZ_CHECK(!mammovl::core::FormatPickleValue(tree->root()).empty());
  return 0;
}
