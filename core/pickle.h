// A minimal, bounded unpickler for the Python pickles inside checkpoints
// (`torch.save` writes protocol 2; opcodes of protocols 0-5 that build plain
// data are accepted). It builds a tree of `PickleValue`s and never executes
// anything: instances of classes it does not know (OmegaConf configs,
// argparse namespaces, ...) are kept as opaque objects. No LibTorch.
#ifndef MAMMOVL_CORE_PICKLE_H_
#define MAMMOVL_CORE_PICKLE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::core {

class PickleTree;

// One node of an unpickled value. Nodes are owned by their `PickleTree`;
// containers hold pointers to their elements, so a value referenced twice in
// the pickle (through the memo) is one shared node, and a container can even
// (rarely) contain itself. Walk trees with a depth bound.
class PickleValue {
 public:
  enum class Kind {
    kNone,
    kBool,
    kInt,     // fits in int64
    kBigInt,  // larger integers: `string_value()` is the decimal text
    kFloat,
    kString,  // Python str: UTF-8 bytes
    kBytes,
    kList,
    kTuple,
    kDict,     // dict and collections.OrderedDict; keeps insertion order
    kGlobal,   // a reference to a class or function: `module()`, `name()`
    kObject,   // an instance of a class this unpickler does not interpret
    kStorage,  // made by a persistent-load callback: index into its storages
    kTensor,   // made by a reduce callback: index into its tensors
  };

  PickleValue(const PickleValue&) = delete;
  PickleValue& operator=(const PickleValue&) = delete;

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_tensor() const { return kind_ == Kind::kTensor; }
  // True for lists and tuples.
  bool is_sequence() const {
    return kind_ == Kind::kList || kind_ == Kind::kTuple;
  }

  // kBool.
  bool bool_value() const { return int_ != 0; }
  // kInt (kBool reads as 0 or 1, as in Python).
  int64_t int_value() const { return int_; }
  // kFloat.
  double float_value() const { return float_; }
  // kString, kBytes, kBigInt.
  const std::string& string_value() const { return text_; }
  // kGlobal and kObject: where the class or function lives.
  const std::string& module() const { return text_; }
  const std::string& name() const { return name_; }
  // "module.name" for kGlobal and kObject.
  std::string qualified_name() const { return text_ + "." + name_; }
  // kStorage and kTensor: the index the callback gave.
  int64_t index() const { return int_; }

  // Elements of a kList or kTuple; for a kObject, items appended to it.
  const std::vector<const PickleValue*>& items() const { return items_; }
  // Entries of a kDict; for a kObject, items set on it.
  const std::vector<std::pair<const PickleValue*, const PickleValue*>>&
  dict_items() const {
    return dict_items_;
  }
  // kObject: the constructor arguments (a tuple), or nullptr.
  const PickleValue* args() const { return args_; }
  // kObject, kDict, kList, kTensor: the state given to BUILD (an instance's
  // `__dict__` or `__setstate__` argument), or nullptr.
  const PickleValue* state() const { return state_; }

  // Returns the value stored under the string key `key` of a kDict, or
  // nullptr (also when this is not a dict).
  const PickleValue* Find(absl::string_view key) const;

  // Returns a short name of the kind: "None", "int", "str", "dict", ...;
  // "module.name" for objects and globals.
  std::string TypeName() const;

 private:
  friend class PickleTree;
  friend class Unpickler;
  explicit PickleValue(Kind kind) : kind_(kind) {}

  // Sets `dict[key] = value`, replacing an equal key's value in place (keys
  // compare equal as in Python for None, bool, int, str and bytes).
  void SetItem(const PickleValue* key, const PickleValue* value);

  Kind kind_;
  int64_t int_ = 0;
  double float_ = 0;
  std::string text_;
  std::string name_;
  std::vector<const PickleValue*> items_;
  std::vector<std::pair<const PickleValue*, const PickleValue*>> dict_items_;
  // Position in `dict_items_` of each hashable key (see SetItem).
  std::unique_ptr<absl::flat_hash_map<std::string, size_t>> key_index_;
  const PickleValue* args_ = nullptr;
  const PickleValue* state_ = nullptr;
};

// Owns the nodes of one unpickled value. Movable; node addresses are stable.
class PickleTree {
 public:
  PickleTree() = default;
  PickleTree(PickleTree&&) = default;
  PickleTree& operator=(PickleTree&&) = default;

  // The unpickled value (a None node for a default-constructed tree).
  const PickleValue& root() const;
  // Number of nodes.
  size_t size() const { return nodes_.size(); }

  // Node factories, for unpickling callbacks.
  PickleValue* NewNone() { return New(PickleValue::Kind::kNone); }
  PickleValue* NewBool(bool value);
  PickleValue* NewInt(int64_t value);
  PickleValue* NewString(std::string value);
  PickleValue* NewStorage(int64_t index);
  PickleValue* NewTensor(int64_t index);

 private:
  friend class Unpickler;
  PickleValue* New(PickleValue::Kind kind);

  std::vector<std::unique_ptr<PickleValue>> nodes_;
  const PickleValue* root_ = nullptr;
};

struct UnpickleOptions {
  // Called for each persistent id (BINPERSID/PERSID) with the id's value;
  // returns the node that stands for it. Without a callback persistent ids
  // are InvalidArgument.
  std::function<absl::StatusOr<PickleValue*>(const PickleValue& pid,
                                             PickleTree* tree)>
      persistent_load;
  // Called when a global (`callable`, a kGlobal) is applied to `args` by
  // REDUCE or NEWOBJ; returns the result, or nullptr for the default
  // handling (known builtins, otherwise an opaque kObject).
  std::function<absl::StatusOr<PickleValue*>(
      const PickleValue& callable, const PickleValue& args, PickleTree* tree)>
      reduce;

  // Limits against hostile input (ResourceExhausted when exceeded).
  size_t max_stack_size = size_t{1} << 20;  // values and marks on the stack
  size_t max_memo_size = size_t{1} << 24;
  size_t max_nodes = size_t{1} << 26;
  // Deepest nesting of containers in the result; recursive walkers over a
  // returned tree may rely on it (apart from self-containing containers).
  int max_depth = 1000;
};

// Unpickles `data`. `source` names the data in errors (e.g. "x.pt:archive/
// data.pkl"). Errors: InvalidArgument naming the opcode byte (hex) and its
// offset for unsupported opcodes and for persistent ids without a callback;
// DataLoss with the offset for truncated data, stack underflow, missing memo
// entries, missing STOP and operations on values of the wrong type;
// ResourceExhausted when a limit in `options` is exceeded; any error a
// callback returns.
absl::StatusOr<PickleTree> Unpickle(absl::string_view data,
                                    absl::string_view source,
                                    const UnpickleOptions& options);
absl::StatusOr<PickleTree> Unpickle(absl::string_view data,
                                    absl::string_view source);

struct PickleFormatOptions {
  // Containers nested deeper are shown as "...".
  int max_depth = 3;
  // Elements shown per container before ", ...".
  size_t max_items = 8;
  // Characters shown per string.
  size_t max_string = 80;
  // Renders kTensor and kStorage nodes; default "<tensor #i>", "<storage #i>".
  std::function<std::string(const PickleValue&)> format_external;
};

// Returns a one-line, Python-like rendering of `value`: opaque objects are
// shown as `<opaque module.Name>`, globals as `<global module.name>`.
std::string FormatPickleValue(const PickleValue& value,
                              const PickleFormatOptions& options);
std::string FormatPickleValue(const PickleValue& value);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_PICKLE_H_
