// SHA-256 (FIPS 180-4) for output checksums and salted pseudonyms of patient
// identifiers. Small and dependency-free; not constant-time (nothing here is
// a secret key). No LibTorch.
#ifndef MAMMOVL_DATA_DICOM_SHA256_H_
#define MAMMOVL_DATA_DICOM_SHA256_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace mammovl::data {

// Incremental SHA-256. `Update` any number of times, then `Finish` once.
class Sha256 {
 public:
  Sha256();
  void Update(absl::string_view data);
  void Update(const void* data, size_t size);
  // Returns the 32-byte digest. The object must not be used afterwards.
  std::array<uint8_t, 32> Finish();

 private:
  void Compress(const uint8_t* block);

  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Returns the lowercase hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(absl::string_view data);

// Returns lowercase hex of `digest`.
std::string DigestToHex(const std::array<uint8_t, 32>& digest);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DICOM_SHA256_H_
