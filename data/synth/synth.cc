#include "data/synth/synth.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <mutex>
#include <vector>

#include <glog/logging.h>
#include <opencv2/imgcodecs.hpp>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/proto_config.h"
#include "core/status_macros.h"
#include "core/thread_pool.h"
#include "data/synth/cohort.h"
#include "data/synth/config.h"
#include "data/synth/dicom_writer.h"
#include "data/synth/phantom.h"
#include "data/synth/png_release.h"
#include "data/synth/report.h"
#include "data/synth/tables.h"
#include "data/transforms/rng.h"

namespace mammovl::data {
namespace {

// Writes `data` under a temporary name and renames it into place: readers
// never see a partial file. Unlike core::WriteFileAtomically there is no
// fsync: a corpus is regenerated from its seed, so durability is not worth
// two disk flushes per file.
absl::Status WriteFileReplacing(const std::string& path, absl::string_view data) {
  const std::string temp = absl::StrCat(path, ".tmp.", ::getpid());
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create '", temp, "': ", std::strerror(errno)));
  }
  const size_t written = std::fwrite(data.data(), 1, data.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (written != data.size() || !closed) {
    std::remove(temp.c_str());
    return absl::ResourceExhaustedError(absl::StrCat("cannot write '", path, "'"));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return absl::InternalError(absl::StrCat("cannot rename to '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

MammogramDicomInfo DicomInfo(const Patient& p, const ImageInfo& img, int index,
                             const StoredImage& stored, double pixel_mm, bool marker) {
  MammogramDicomInfo info;
  info.patient_name = p.patient_name;
  info.patient_id = p.patient_mrn;
  info.patient_birth_date = p.birth_date;
  info.patient_age_years = p.age;
  info.study_instance_uid = p.study_instance_uid;
  info.series_instance_uid = img.series_instance_uid;
  info.sop_instance_uid = img.sop_instance_uid;
  info.study_date = p.study_date;
  info.accession_number = p.accession_number;
  info.study_description = p.study_description;
  info.series_number = index + 1;
  info.instance_number = 1;
  info.manufacturer = p.manufacturer;
  info.model_name = p.model_name;
  info.laterality = SideLetter(img.side);
  info.view_position = ViewName(img.view);
  info.monochrome1 = img.monochrome1;
  info.bits_stored = img.bits_stored;
  info.pixel_spacing_mm = pixel_mm;
  info.window_center = stored.window_center;
  info.window_width = stored.window_width;
  info.burned_in_annotation = marker;
  info.transfer_syntax = img.transfer_syntax;
  return info;
}

}  // namespace

absl::StatusOr<SynthSummary> GenerateCorpus(const SynthConfig& user_config,
                                            absl::string_view out_dir) {
  const auto start = std::chrono::steady_clock::now();
  MVL_ASSIGN_OR_RETURN(const SynthConfig config, ResolveSynthConfig(user_config));
  MVL_ASSIGN_OR_RETURN(std::vector<Patient> patients, SampleCohort(config));
  const std::string root(out_dir);
  MVL_RETURN_IF_ERROR(core::MakeDirectories(root));
  MVL_RETURN_IF_ERROR(
      core::WriteFileAtomically(absl::StrCat(root, "/synth_config.pbtxt"), core::ToTextProto(config)));

  const Outputs& outputs = config.outputs();
  for (const Patient& p : patients) {
    if (outputs.write_dicom()) {
      MVL_RETURN_IF_ERROR(core::MakeDirectories(absl::StrCat(root, "/dicom/", p.key)));
    }
    if (outputs.write_png()) {
      MVL_RETURN_IF_ERROR(core::MakeDirectories(absl::StrCat(root, "/png/", p.key)));
    }
  }

  const int rows = config.rows();
  const int cols = config.columns();
  const double pixel_mm = config.detector_height_mm() / rows;
  const bool marker = config.appearance().burn_in_marker();
  const int num_images = static_cast<int>(patients.size()) * 4;
  std::vector<ImageRecord> records(num_images);
  std::vector<int64_t> dicom_bytes(num_images, 0), png_bytes(num_images, 0);
  std::mutex error_mu;
  absl::Status first_error;
  std::atomic<bool> failed{false};

  core::ProgressReporter progress("synth", num_images, {.unit = "img"});
  core::ThreadPool pool(config.num_threads() > 0 ? config.num_threads()
                                                 : core::ThreadPool::HardwareThreads());
  core::ParallelFor(&pool, num_images, [&](int64_t i) {
    if (failed.load()) return;
    const int pi = static_cast<int>(i / 4);
    const int ii = static_cast<int>(i % 4);
    const Patient& p = patients[pi];
    const ImageInfo& img = p.images[ii];
    const Breast& breast = p.breasts[static_cast<int>(img.side)];
    auto fail = [&](absl::Status s) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (first_error.ok()) first_error = std::move(s);
      failed = true;
    };

    RenderedView view =
        RenderView(breast, img.view, rows, cols, pixel_mm, config.appearance(), img.seed);
    if (marker) BurnInMarker(view.image, img.side, img.view);
    const StoredImage stored = QuantizeForDetector(view.image, view.breast_mask, img.bits_stored,
                                                   img.monochrome1, DeriveSeed(img.seed, {7}));
    ImageRecord& record = records[i];
    record.patient = pi;
    record.image = ii;
    record.rows = rows;
    record.columns = cols;
    record.pixel_mm = pixel_mm;
    record.boxes = view.boxes;

    const PngRelease png =
        MakeMammoClipPng(stored.pixels, img.monochrome1, outputs.png_width(), outputs.png_height());
    record.png_frame = png.frame;
    if (outputs.write_png()) {
      std::vector<uint8_t> encoded;
      if (!cv::imencode(".png", png.image, encoded)) {
        fail(absl::InternalError(absl::StrCat("PNG encoding failed for image ", img.image_key)));
        return;
      }
      const absl::Status s = WriteFileReplacing(
          absl::StrCat(root, "/png/", PngRelativePath(p, img)),
          absl::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
      if (!s.ok()) return fail(s);
      png_bytes[i] = static_cast<int64_t>(encoded.size());
    }
    if (outputs.write_dicom()) {
      absl::StatusOr<std::string> bytes =
          EncodeMammogramDicom(stored.pixels, DicomInfo(p, img, ii, stored, pixel_mm, marker));
      if (!bytes.ok()) {
        return fail(absl::Status(bytes.status().code(),
                                 absl::StrCat("image ", img.image_key, ": ", bytes.status().message())));
      }
      const absl::Status s =
          WriteFileReplacing(absl::StrCat(root, "/dicom/", DicomRelativePath(p, img)), *bytes);
      if (!s.ok()) return fail(s);
      dicom_bytes[i] = static_cast<int64_t>(bytes->size());
    }
    progress.Add();
  });
  progress.Finish();
  MVL_RETURN_IF_ERROR(first_error);

  SynthSummary summary;
  summary.patients = static_cast<int>(patients.size());
  summary.images = num_images;
  for (int i = 0; i < num_images; ++i) {
    summary.dicom_bytes += dicom_bytes[i];
    summary.png_bytes += png_bytes[i];
  }
  if (outputs.write_tables()) {
    std::vector<PatientReports> reports(patients.size());
    for (size_t pi = 0; pi < patients.size(); ++pi) {
      for (int s = 0; s < 2; ++s) {
        const Side side = static_cast<Side>(s);
        const double nipple_mm =
            patients[pi].breasts[s].shape.cc_depth * cols * pixel_mm;
        const uint64_t seed = DeriveSeed(config.seed(), {0x5EED, pi, static_cast<uint64_t>(s)});
        reports[pi].report[s] = WriteBreastReport(patients[pi], side, nipple_mm, seed);
        reports[pi].paraphrase[s] =
            WriteBreastReport(patients[pi], side, nipple_mm, DeriveSeed(seed, {1}));
      }
    }
    MVL_RETURN_IF_ERROR(WriteTables(config, patients, records, reports, root));
  }
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LOG(INFO) << "synthetic corpus: " << summary.patients << " patients, " << summary.images
            << " images in " << summary.seconds << " s under " << root;
  return summary;
}

}  // namespace mammovl::data
