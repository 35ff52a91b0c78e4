// FPN-MIL's validation split (fpn_mil.md §1.2): scikit-learn's
// StratifiedGroupKFold(n_splits, shuffle=False) on the development rows, with
// labels = the target column and groups = patient ids; the first fold is the
// validation set. Ported exactly (same tie-breaking, same floating-point
// evaluation order) and checked against Debian's scikit-learn 1.2.1, so the
// patient sets equal the reference's. No LibTorch.
#ifndef MAMMOVL_MIL_SPLITS_H_
#define MAMMOVL_MIL_SPLITS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mammovl::mil {

// Returns the test fold (0 .. n_splits - 1) of every sample. Groups are
// ordered as strings (np.unique), classes by value. InvalidArgument for
// mismatched lengths, n_splits < 2, or more splits than groups.
absl::StatusOr<std::vector<int>> StratifiedGroupKFold(
    absl::Span<const int> labels, absl::Span<const std::string> groups,
    int n_splits);

}  // namespace mammovl::mil

#endif  // MAMMOVL_MIL_SPLITS_H_
