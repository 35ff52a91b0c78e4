// libFuzzer target: Unpickle on arbitrary bytes (every protocol, persistent
// ids answered as torch.save's reader does), then formatting the tree.
// Nothing in a pickle may be executed: globals stay names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/pickle.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mammovl::core::PickleTree;
  using mammovl::core::PickleValue;
  mammovl::core::UnpickleOptions options;
  options.max_nodes = size_t{1} << 20;
  int64_t storages = 0;
  options.persistent_load = [&storages](const PickleValue&,
                                        PickleTree* tree) -> absl::StatusOr<PickleValue*> {
    return tree->NewStorage(storages++);
  };
  const auto tree = mammovl::core::Unpickle(
      absl::string_view(reinterpret_cast<const char*>(data), size), "fuzz.pkl", options);
  if (!tree.ok()) {
    Check(!tree.status().message().empty());
    return 0;
  }
  Check(tree->size() <= options.max_nodes);
  Check(!mammovl::core::FormatPickleValue(tree->root()).empty());
  return 0;
}
