// A program outside MammoVL that uses a few of its libraries: it squares
// numbers on MammoVL's thread pool, writes them as .npy atomically, reads
// them back and checks them. Exits 0 on success.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/npy.h"
#include "core/status_macros.h"
#include "core/thread_pool.h"

namespace {

absl::Status Run(const std::string& path) {
  std::vector<int64_t> squares(100);
  mammovl::core::ThreadPool pool(2);
  mammovl::core::ParallelFor(&pool, squares.size(), [&](int64_t i) { squares[i] = i * i; });
  MVL_RETURN_IF_ERROR(mammovl::core::WriteNpy(path, mammovl::core::MakeNpyArray(squares, {10, 10})));
  MVL_ASSIGN_OR_RETURN(mammovl::core::NpyArray back, mammovl::core::ReadNpy(path));
  MVL_ASSIGN_OR_RETURN(std::vector<int64_t> values, mammovl::core::NpyValues<int64_t>(back));
  if (values != squares) return absl::InternalError("values changed on the way through .npy");
  std::printf("consumer: wrote and re-read %zu squares via %s (last %lld)\n", values.size(),
              path.c_str(), static_cast<long long>(values.back()));
  return absl::OkStatus();
}

}  // namespace

int main() {
  const char* tmp = std::getenv("TMPDIR");
  const absl::Status status = Run(std::string(tmp ? tmp : "/tmp") + "/mammovl_consumer.npy");
  if (!status.ok()) {
    std::fprintf(stderr, "consumer: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
