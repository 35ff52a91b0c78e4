// libFuzzer target: the dataset adapters on tables of arbitrary content.
// First byte: bits 0-2 pick the adapter (Mammo-CLIP image-text, Mammo-CLIP
// image-label, VinDr, RSNA, CBIS-DDSM, FPN-MIL, EMBED; 7 wraps to the first),
// bit 3 the row policy (FAIL instead of SKIP_AND_COUNT), bit 4 the adapter's
// variant (per breast, per row, no text augmentation). The rest is the CSV;
// EMBED's metadata, clinical and legend tables are split at "\n=====\n".
// Image files are not checked (no image exists), splits are ALL.
#include <glog/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "data/datasets/dataset_config.pb.h"
#include "data/datasets/datasets.h"
#include "tools/fuzz/fuzz_check.h"
#include "tools/fuzz/fuzz_files.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FLAGS_minloglevel = google::GLOG_ERROR;  // no line per skipped row
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mammovl::data::DatasetConfig;
  using mammovl::fuzz::WriteFuzzFile;
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const std::string content(reinterpret_cast<const char*>(data) + 1, size - 1);
  DatasetConfig config;
  config.set_image_root(mammovl::fuzz::FuzzFolder());
  config.set_check_images(false);
  config.set_max_skipped_fraction(1.0);
  config.mutable_split()->set_part(mammovl::data::SplitConfig::ALL);
  config.set_row_policy((selector & 8) ? DatasetConfig::FAIL
                                       : DatasetConfig::SKIP_AND_COUNT);
  const bool variant = (selector & 16) != 0;
  switch (selector & 7) {
    case 1:
      config.mutable_mammoclip_image_label()->set_csv(
          WriteFuzzFile("table.csv", content));
      break;
    case 2:
      config.mutable_vindr()->set_csv(WriteFuzzFile("table.csv", content));
      config.mutable_vindr()->set_per_row(variant);
      break;
    case 3:
      config.mutable_rsna()->set_csv(WriteFuzzFile("table.csv", content));
      config.mutable_rsna()->set_per_breast(variant);
      break;
    case 4:
      config.mutable_cbis_ddsm()->add_csv(WriteFuzzFile("table.csv", content));
      break;
    case 5:
      config.mutable_fpn_mil()->set_csv(WriteFuzzFile("table.csv", content));
      break;
    case 6: {
      std::vector<std::string> parts = absl::StrSplit(content, "\n=====\n");
      parts.resize(3);
      auto* embed = config.mutable_embed();
      embed->set_metadata_csv(WriteFuzzFile("metadata.csv", parts[0]));
      embed->set_clinical_csv(WriteFuzzFile("clinical.csv", parts[1]));
      embed->set_legend_csv(WriteFuzzFile("legend.csv", parts[2]));
      embed->set_partners_same_breast_only(variant);
      break;
    }
    default:
      config.mutable_mammoclip_image_text()->set_csv(
          WriteFuzzFile("table.csv", content));
      config.mutable_mammoclip_image_text()->set_use_text_augment(!variant);
      break;
  }
  const auto dataset = mammovl::data::BuildDataset(config);
  if (!dataset.ok()) {
    MVL_FUZZ_CHECK(!dataset.status().message().empty());
    return 0;
  }
  return 0;
}
