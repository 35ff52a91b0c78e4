#include "data/preprocess/box_mapping.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "data/preprocess/csv.h"
#include "glog/logging.h"

namespace mammovl::data {

Box MapBox(const Box& box, const ManifestRow& row) {
  const FrameGeometry& g = row.geometry;
  const double width = std::max(0, row.columns - 2 * g.trim);
  const double height = std::max(0, row.rows - 2 * g.trim);
  auto map_x = [&](double x) {
    const double trimmed = std::clamp(x - g.trim, 0.0, width);
    return (trimmed - g.crop_x) * g.scale_x + g.padding.left;
  };
  auto map_y = [&](double y) {
    const double trimmed = std::clamp(y - g.trim, 0.0, height);
    return (trimmed - g.crop_y) * g.scale_y + g.padding.top;
  };
  Box out{map_x(box.xmin), map_y(box.ymin), map_x(box.xmax), map_y(box.ymax)};
  if (g.flipped) {
    const double xmin = g.out_width - out.xmax;
    const double xmax = g.out_width - out.xmin;
    out.xmin = xmin;
    out.xmax = xmax;
  }
  return out;
}

absl::Status MapBoxesCsv(const BoxMappingConfig& config,
                         absl::string_view default_manifest) {
  const std::string manifest_path = config.manifest_csv().empty()
                                        ? std::string(default_manifest)
                                        : config.manifest_csv();
  MVL_ASSIGN_OR_RETURN(const std::vector<ManifestRow> manifest,
                       ReadManifest(manifest_path));
  MVL_ASSIGN_OR_RETURN(const CsvTable table,
                       ReadCsvFile(config.annotations_csv()));
  const int image_col = table.Column(config.image_id_column());
  if (image_col < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.annotations_csv(), ": no column \"",
                     config.image_id_column(), "\""));
  }
  const int study_col = config.study_id_column().empty()
                            ? -1
                            : table.Column(config.study_id_column());
  int box_cols[4];
  const std::string* names[4] = {&config.xmin_column(), &config.ymin_column(),
                                 &config.xmax_column(), &config.ymax_column()};
  for (int i = 0; i < 4; ++i) {
    box_cols[i] = table.Column(*names[i]);
    if (box_cols[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          config.annotations_csv(), ": no column \"", *names[i], "\""));
    }
  }
  // Frame 0 of each image; keyed by image id and by (study, image).
  std::map<std::string, const ManifestRow*> by_image;
  std::map<std::pair<std::string, std::string>, const ManifestRow*>
      by_study_image;
  for (const ManifestRow& r : manifest) {
    if (r.frame != 0) continue;
    by_image.emplace(r.image_id, &r);
    by_study_image.emplace(std::make_pair(r.study_id, r.image_id), &r);
  }
  std::vector<std::string> header = table.header;
  const char* suffixes[4] = {"xmin", "ymin", "xmax", "ymax"};
  int out_cols[4];
  for (int i = 0; i < 4; ++i) {
    const std::string name = config.output_prefix() + suffixes[i];
    out_cols[i] = table.Column(name);
    if (out_cols[i] < 0) {
      out_cols[i] = static_cast<int>(header.size());
      header.push_back(name);
    }
  }
  std::string out = CsvLine(header);
  int64_t unmatched = 0, without_box = 0, mapped = 0;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    std::vector<std::string> fields = table.rows[i];
    fields.resize(header.size());
    for (int k = 0; k < 4; ++k) fields[out_cols[k]].clear();
    const ManifestRow* row = nullptr;
    if (study_col >= 0) {
      auto it = by_study_image.find({fields[study_col], fields[image_col]});
      if (it != by_study_image.end()) row = it->second;
    }
    if (row == nullptr) {
      auto it = by_image.find(fields[image_col]);
      if (it != by_image.end()) row = it->second;
    }
    double v[4];
    bool has_box = true;
    for (int k = 0; k < 4; ++k) {
      has_box = has_box && absl::SimpleAtod(fields[box_cols[k]], &v[k]) &&
                std::isfinite(v[k]);
    }
    if (!has_box) {
      ++without_box;
    } else if (row == nullptr) {
      ++unmatched;
    } else {
      const Box b = MapBox({v[0], v[1], v[2], v[3]}, *row);
      const double m[4] = {b.xmin, b.ymin, b.xmax, b.ymax};
      for (int k = 0; k < 4; ++k)
        fields[out_cols[k]] = absl::StrFormat("%.6f", m[k]);
      ++mapped;
    }
    out += CsvLine(fields);
  }
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(config.output_csv(), out));
  LOG(INFO) << "map_boxes: " << mapped << " boxes mapped, " << without_box
            << " rows without a box, " << unmatched
            << " rows whose image is not in " << manifest_path << "; wrote "
            << config.output_csv();
  return absl::OkStatus();
}

}  // namespace mammovl::data
