#include "data/synth/tables.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "data/datasets/csv.h"
#include "data/datasets/py_literal.h"
#include "data/synth/dicom_writer.h"
#include "data/transforms/rng.h"

namespace mammovl::data {
namespace {

std::string Fmt2(double v) { return absl::StrFormat("%.2f", v); }
std::string Round2(double v) { return PyFloat(std::round(v * 100) / 100); }
std::string Split(const Patient& p) { return p.test_split ? "test" : "training"; }
std::string Birads(int b) { return absl::StrCat("BI-RADS ", b); }
std::string Density(int d) { return absl::StrCat("DENSITY ", DensityLetter(d)); }
std::string PngName(const ImageInfo& img) { return img.image_key + ".png"; }

// A deterministic per-key coin, for table-level details (missing values,
// pathology wording) that must not shift the cohort's random streams.
bool Coin(absl::string_view key, uint64_t salt, double p) {
  const uint64_t h = Mix64(HashString(key.data(), key.size()) ^ salt);
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0) < p;
}

// The VinDr categories of the boxes of one image, in box order, unique.
std::vector<std::string> ImageCategories(const ImageRecord& r) {
  std::vector<std::string> out;
  for (const FindingBox& b : r.boxes) {
    const std::string c = VindrCategory(b.type);
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  if (out.empty()) out.push_back("No Finding");
  return out;
}

std::string ColumnName(const std::string& category) {
  return absl::StrReplaceAll(category, {{" ", "_"}});
}

struct Context {
  const SynthConfig& config;
  const std::vector<Patient>& patients;
  const std::vector<ImageRecord>& records;
  const std::vector<PatientReports>& reports;
  std::string dir;

  const Patient& patient(const ImageRecord& r) const { return patients[r.patient]; }
  const ImageInfo& image(const ImageRecord& r) const { return patients[r.patient].images[r.image]; }
  const Breast& breast(const ImageRecord& r) const {
    return patients[r.patient].breasts[static_cast<int>(image(r).side)];
  }
  // Records of one breast: CC first, then MLO (records are in cohort order:
  // four per patient, RCC, RMLO, LCC, LMLO).
  std::pair<const ImageRecord*, const ImageRecord*> BreastRecords(int patient, Side side) const {
    const size_t base = static_cast<size_t>(patient) * 4 + static_cast<size_t>(side) * 2;
    if (base + 1 >= records.size()) return {nullptr, nullptr};
    const ImageRecord* cc = &records[base];
    const ImageRecord* mlo = &records[base + 1];
    if (cc->patient != patient || mlo->patient != patient || image(*cc).side != side ||
        image(*cc).view != View::kCC || image(*mlo).view != View::kMLO) {
      return {nullptr, nullptr};
    }
    return {cc, mlo};
  }
};

absl::Status Write(const Context& ctx, const std::string& sub, const std::string& name,
                   const CsvWriter& table) {
  const std::string folder = absl::StrCat(ctx.dir, "/", sub);
  MVL_RETURN_IF_ERROR(core::MakeDirectories(folder));
  return table.WriteTo(absl::StrCat(folder, "/", name));
}

std::string SeriesHash(const ImageInfo& img) {
  const uint64_t a = HashString(img.series_instance_uid.data(), img.series_instance_uid.size());
  return absl::StrFormat("%016x%016x", a, Mix64(a));
}

std::vector<std::string> VindrCommonFields(const Context& ctx, const ImageRecord& r) {
  const Patient& p = ctx.patient(r);
  const ImageInfo& img = ctx.image(r);
  const Breast& b = ctx.breast(r);
  return {p.key,
          SeriesHash(img),
          img.image_key,
          SideLetter(img.side),
          ViewName(img.view),
          absl::StrCat(r.rows),
          absl::StrCat(r.columns),
          Birads(b.birads),
          Density(b.density)};
}

absl::Status WriteVindr(const Context& ctx) {
  // breast-level_annotations.csv: one row per image.
  CsvWriter breast_level({"study_id", "series_id", "image_id", "laterality", "view_position",
                          "height", "width", "breast_birads", "breast_density", "split"});
  for (const ImageRecord& r : ctx.records) {
    std::vector<std::string> row = VindrCommonFields(ctx, r);
    row.push_back(Split(ctx.patient(r)));
    breast_level.AddRow(std::move(row));
  }
  MVL_RETURN_IF_ERROR(Write(ctx, "vindr", "breast-level_annotations.csv", breast_level));

  // finding_annotations.csv: one row per box, finding rows first, then one
  // "No Finding" row per image without boxes (the release's order).
  CsvWriter findings({"study_id", "series_id", "image_id", "laterality", "view_position", "height",
                      "width", "breast_birads", "breast_density", "finding_categories",
                      "finding_birads", "xmin", "ymin", "xmax", "ymax", "split"});
  // Mammo-CLIP's detector CSV: the same rows plus the PNG-frame boxes, fold,
  // one-hot columns and an integer density.
  const std::vector<std::string> onehot = {
      "Architectural Distortion", "Asymmetry", "Focal Asymmetry", "Global Asymmetry", "Mass",
      "Nipple Retraction", "No Finding", "Skin Retraction", "Skin Thickening",
      "Suspicious Calcification", "Suspicious Lymph Node"};
  std::vector<std::string> det_header = {
      "patient_id", "series_id", "image_id", "laterality", "view", "height", "width",
      "breast_birads", "breast_density", "finding_categories", "finding_birads", "xmin", "ymin",
      "xmax", "ymax", "split", "resized_xmin", "resized_ymin", "resized_xmax", "resized_ymax",
      "fold"};
  for (const std::string& c : onehot) det_header.push_back(ColumnName(c));
  det_header.push_back("density");
  CsvWriter detection(det_header);

  for (int pass = 0; pass < 2; ++pass) {
    for (const ImageRecord& r : ctx.records) {
      const bool has_boxes = !r.boxes.empty();
      if ((pass == 0) != has_boxes) continue;
      const Patient& p = ctx.patient(r);
      const Breast& b = ctx.breast(r);
      const std::vector<std::string> common = VindrCommonFields(ctx, r);
      auto add = [&](const std::string& category, const std::string& finding_birads,
                     const FindingBox* box) {
        std::vector<std::string> row = common;
        row.push_back(PyStringList({category}));
        row.push_back(finding_birads);
        for (int k = 0; k < 4; ++k) {
          const double v = box == nullptr ? 0
                           : k == 0      ? box->xmin
                           : k == 1      ? box->ymin
                           : k == 2      ? box->xmax
                                         : box->ymax;
          row.push_back(box == nullptr ? "" : Fmt2(v));
        }
        row.push_back(Split(p));
        findings.AddRow(row);

        std::vector<std::string> det = row;
        det[2] = common[2] + ".png";
        if (box != nullptr) {
          const cv::Point2d a = MapToPngFrame(r.png_frame, {box->xmin, box->ymin});
          const cv::Point2d c = MapToPngFrame(r.png_frame, {box->xmax, box->ymax});
          for (double v : {a.x, a.y, c.x, c.y}) det.push_back(Round2(v));
        } else {
          for (int k = 0; k < 4; ++k) det.push_back("");
        }
        det.push_back(absl::StrCat(p.fold));
        for (const std::string& c : onehot) det.push_back(c == category ? "1" : "0");
        det.push_back(absl::StrCat(b.density));
        detection.AddRow(std::move(det));
      };
      if (!has_boxes) {
        add("No Finding", "", nullptr);
        continue;
      }
      for (const FindingBox& box : r.boxes) {
        add(VindrCategory(box.type), Birads(b.findings[box.finding_index].birads), &box);
      }
    }
  }
  MVL_RETURN_IF_ERROR(Write(ctx, "vindr", "finding_annotations.csv", findings));
  MVL_RETURN_IF_ERROR(Write(ctx, "vindr", "vindr_detection_v1_folds.csv", detection));

  // clip_vindr_final.csv: one row per breast (image-label pretraining).
  CsvWriter clip({"patient_id", "laterality", "split", "image", "view", "CC", "MLO", "cc_findings",
                  "mlo_findings", "CC_FINDING", "MLO_FINDING", "fold", "patient_id_laterality"});
  for (size_t pi = 0; pi < ctx.patients.size(); ++pi) {
    const Patient& p = ctx.patients[pi];
    for (Side side : {Side::kRight, Side::kLeft}) {
      const auto [cc, mlo] = ctx.BreastRecords(static_cast<int>(pi), side);
      if (cc == nullptr || mlo == nullptr) continue;
      auto slots = [&](const ImageRecord* r) {
        const std::vector<std::string> pos = ImageCategories(*r);
        std::vector<std::string> neg;
        if (pos.front() != "No Finding") {
          for (const std::string& n : VindrFindingNames()) {
            if (std::find(pos.begin(), pos.end(), n) == pos.end()) neg.push_back(n);
          }
        }
        const bool right = side == Side::kRight;
        return absl::StrCat("[", PyStringList(right ? pos : std::vector<std::string>{}), ", ",
                            PyStringList(right ? std::vector<std::string>{} : pos), ", ",
                            PyStringList(right ? neg : std::vector<std::string>{}), ", ",
                            PyStringList(right ? std::vector<std::string>{} : neg), "]");
      };
      const std::string cc_png = PngName(ctx.image(*cc));
      const std::string mlo_png = PngName(ctx.image(*mlo));
      clip.AddRow({p.key, SideLetter(side), Split(p), PyStringList({cc_png, mlo_png}),
                   PyStringList({"CC", "MLO"}), PyStringList({cc_png}), PyStringList({mlo_png}),
                   PyStringList(ImageCategories(*cc)), PyStringList(ImageCategories(*mlo)),
                   slots(cc), slots(mlo), p.test_split ? "0" : "1",
                   absl::StrCat(p.key, "_", SideLetter(side))});
    }
  }
  MVL_RETURN_IF_ERROR(Write(ctx, "vindr", "clip_vindr_final.csv", clip));

  // vindrmammo_grouped_df.csv (FPN-MIL): one row per image; per-box lists.
  CsvWriter grouped({"image_id", "patient_id", "laterality", "view", "finding_categories",
                     "finding_birads", "breast_birads", "breast_density", "split", "fold", "Mass",
                     "Suspicious_Calcification", "resized_xmin", "resized_ymin", "resized_xmax",
                     "resized_ymax"});
  for (const ImageRecord& r : ctx.records) {
    const Patient& p = ctx.patient(r);
    const ImageInfo& img = ctx.image(r);
    const Breast& b = ctx.breast(r);
    std::vector<std::string> categories, birads;
    std::vector<double> x0, y0, x1, y1;
    bool mass = false, calc = false;
    for (const FindingBox& box : r.boxes) {
      categories.push_back(PyStringList({VindrCategory(box.type)}));
      birads.push_back(Birads(b.findings[box.finding_index].birads));
      const cv::Point2d a = MapToPngFrame(r.png_frame, {box.xmin, box.ymin});
      const cv::Point2d c = MapToPngFrame(r.png_frame, {box.xmax, box.ymax});
      x0.push_back(std::round(a.x * 10) / 10);
      y0.push_back(std::round(a.y * 10) / 10);
      x1.push_back(std::round(c.x * 10) / 10);
      y1.push_back(std::round(c.y * 10) / 10);
      mass = mass || box.type == FindingType::kMass;
      calc = calc || box.type == FindingType::kCalcification;
    }
    if (categories.empty()) {
      categories.push_back(PyStringList({"No Finding"}));
      x0 = y0 = x1 = y1 = {0.0};
    }
    grouped.AddRow({PngName(img), p.key, SideLetter(img.side), ViewName(img.view),
                    JsonStringList(categories), JsonStringList(birads), Birads(b.birads),
                    Density(b.density), Split(p), absl::StrCat(p.fold), mass ? "1" : "0",
                    calc ? "1" : "0", PyNumberList(x0), PyNumberList(y0), PyNumberList(x1),
                    PyNumberList(y1)});
  }
  return Write(ctx, "vindr", "vindrmammo_grouped_df.csv", grouped);
}

absl::Status WriteRsna(const Context& ctx) {
  const std::vector<std::string> header = {
      "site_id", "patient_id", "image_id", "laterality", "view",    "age",
      "cancer",  "biopsy",     "invasive", "BIRADS",     "implant", "density",
      "machine_id", "difficult_negative_case"};
  std::vector<std::string> folds_header = header;
  folds_header.push_back("fold");
  CsvWriter train(header), folds(folds_header);
  for (const ImageRecord& r : ctx.records) {
    const Patient& p = ctx.patient(r);
    const ImageInfo& img = ctx.image(r);
    const Breast& b = ctx.breast(r);
    const std::string breast_key = absl::StrCat(p.key, SideLetter(img.side));
    const bool biopsy = b.cancer || b.birads >= 4;
    const bool invasive = b.cancer && Coin(breast_key, 11, 0.7);
    std::string birads;
    if (!Coin(breast_key, 12, 0.15)) birads = b.birads <= 2 ? absl::StrCat(b.birads) : "0";
    const std::string density = Coin(breast_key, 13, 0.05) ? "" : DensityLetter(b.density);
    std::vector<std::string> row = {absl::StrCat(p.site_id), p.key, img.image_key,
                                    SideLetter(img.side), ViewName(img.view), absl::StrCat(p.age),
                                    b.cancer ? "1" : "0", biopsy ? "1" : "0",
                                    invasive ? "1" : "0", birads, "0", density,
                                    absl::StrCat(p.machine_id),
                                    biopsy && !b.cancer ? "True" : "False"};
    train.AddRow(row);
    row.push_back(absl::StrCat(p.fold));
    folds.AddRow(std::move(row));
  }
  MVL_RETURN_IF_ERROR(Write(ctx, "rsna", "train.csv", train));
  return Write(ctx, "rsna", "train_folds.csv", folds);
}

char AssessmentLetter(int birads) {
  static constexpr char kLetters[] = {'A', 'N', 'B', 'P', 'S', 'M', 'K'};
  return kLetters[std::clamp(birads, 0, 6)];
}

absl::Status WriteEmbed(const Context& ctx) {
  CsvWriter metadata({"empi_anon", "acc_anon", "anon_dicom_path", "StudyDescription",
                      "SeriesDescription", "ImageLateralityFinal", "ViewPosition",
                      "FinalImageType", "Manufacturer", "ManufacturerModelName", "Rows", "Columns",
                      "study_date_anon"});
  for (const ImageRecord& r : ctx.records) {
    const Patient& p = ctx.patient(r);
    const ImageInfo& img = ctx.image(r);
    metadata.AddRow({p.key, p.study_key,
                     absl::StrCat("/mnt/NAS2/mammo/anon_dicom/", DicomRelativePath(p, img)),
                     p.study_description,
                     absl::StrCat(SideLetter(img.side), " ", ViewName(img.view)),
                     SideLetter(img.side), ViewName(img.view), "2D", p.manufacturer, p.model_name,
                     absl::StrCat(r.rows), absl::StrCat(r.columns),
                     absl::StrCat(p.study_date.substr(0, 4), "-", p.study_date.substr(4, 2), "-",
                                  p.study_date.substr(6, 2))});
  }
  MVL_RETURN_IF_ERROR(Write(ctx, "embed", "EMBED_OpenData_metadata.csv", metadata));

  CsvWriter clinical({"empi_anon", "acc_anon", "desc", "side", "asses", "tissueden",
                      "age_at_study", "RACE_DESC", "ETHNIC_GROUP_DESC", "numfind", "massshape",
                      "massmargin", "massdens", "calcfind", "calcdistri", "path_severity"});
  CsvWriter reduced({"acc_anon", "side", "asses", "tissueden", "age_at_study", "RACE_DESC",
                     "ETHNIC_GROUP_DESC"});
  for (const Patient& p : ctx.patients) {
    auto add = [&](const std::string& side, int birads, int density, const Finding* f, int num) {
      std::string shape, margin, dens, calcfind, calcdistri, severity;
      if (f != nullptr && f->type == FindingType::kMass) {
        shape = f->shape == MassShape::kRound ? "R" : f->shape == MassShape::kOval ? "O" : "X";
        margin = f->margin == MassMargin::kCircumscribed ? "C"
                 : f->margin == MassMargin::kIndistinct  ? "I"
                                                         : "S";
        dens = f->contrast >= 0.15 ? "+" : "=";
      }
      if (f != nullptr && f->type == FindingType::kCalcification) {
        static constexpr const char* kFind[] = {"P", "A", "F", "L"};
        static constexpr const char* kDistri[] = {"G", "L", "S", "R"};
        calcfind = kFind[static_cast<int>(f->calc_morphology)];
        calcdistri = kDistri[static_cast<int>(f->calc_distribution)];
      }
      if (f != nullptr && f->malignant) {
        severity = Coin(absl::StrCat(p.key, side, num), 14, 0.7) ? "0" : "1";
      } else if (f != nullptr && birads >= 4) {
        severity = "4";
      }
      const std::string asses(1, AssessmentLetter(birads));
      const std::string tissue = absl::StrCat(density + 1);
      clinical.AddRow({p.key, p.study_key, p.study_description, side, asses, tissue,
                       absl::StrCat(p.age), p.race, p.ethnicity, absl::StrCat(num), shape, margin,
                       dens, calcfind, calcdistri, severity});
      reduced.AddRow({p.study_key, side, asses, tissue, absl::StrCat(p.age), p.race, p.ethnicity});
    };
    const Breast& right = p.breasts[0];
    const Breast& left = p.breasts[1];
    if (right.findings.empty() && left.findings.empty()) {
      add("B", std::max(right.birads, left.birads), std::max(right.density, left.density), nullptr,
          0);
      continue;
    }
    for (const Breast* b : {&right, &left}) {
      const std::string side = SideLetter(b->side);
      if (b->findings.empty()) {
        add(side, b->birads, b->density, nullptr, 0);
        continue;
      }
      for (size_t k = 0; k < b->findings.size(); ++k) {
        add(side, b->birads, b->density, &b->findings[k], static_cast<int>(k) + 1);
      }
    }
  }
  MVL_RETURN_IF_ERROR(Write(ctx, "embed", "EMBED_OpenData_clinical.csv", clinical));
  MVL_RETURN_IF_ERROR(Write(ctx, "embed", "EMBED_OpenData_clinical_reduced.csv", reduced));

  CsvWriter legend({"Header in export", "Code", "Meaning"});
  const std::vector<std::array<const char*, 3>> entries = {
      {"asses", "A", "Additional evaluation"}, {"asses", "N", "Negative"},
      {"asses", "B", "Benign"}, {"asses", "P", "Probably benign"},
      {"asses", "S", "Suspicious"}, {"asses", "M", "Highly suggestive of malignancy"},
      {"asses", "K", "Known biopsy proven malignancy"},
      {"tissueden", "1", "The breast tissue is almost entirely fatty"},
      {"tissueden", "2", "There are scattered fibroglandular densities"},
      {"tissueden", "3", "The breast tissue is heterogeneously dense"},
      {"tissueden", "4", "The breast tissue is extremely dense"},
      {"tissueden", "5", "Normal male dense"},
      {"massshape", "R", "round"}, {"massshape", "O", "oval"}, {"massshape", "X", "irregular"},
      {"massmargin", "C", "circumscribed"}, {"massmargin", "I", "indistinct"},
      {"massmargin", "S", "spiculated"},
      {"massdens", "+", "high density"}, {"massdens", "=", "equal density"},
      {"massdens", "-", "low density"},
      {"calcfind", "P", "punctate"}, {"calcfind", "A", "amorphous"},
      {"calcfind", "F", "fine pleomorphic"}, {"calcfind", "L", "fine linear branching"},
      {"calcdistri", "G", "grouped"}, {"calcdistri", "L", "linear"},
      {"calcdistri", "S", "segmental"}, {"calcdistri", "R", "regional"},
      {"path_severity", "0", "invasive cancer"}, {"path_severity", "1", "non-invasive cancer"},
      {"path_severity", "4", "benign"}};
  for (const auto& e : entries) legend.AddRow({e[0], e[1], e[2]});
  return Write(ctx, "embed", "AWS_Open_Data_Clinical_Legend.csv", legend);
}

// The `text` and `text_augment` cells of one breast: the cleaned findings
// and impression of the report (empty or repeated sections dropped) and, at
// the same positions, the lower-cased paraphrase (the report's own section
// where the paraphrase has none), so both lists always have the same length
// as Mammo-CLIP's table does.
struct SectionLists {
  std::vector<std::string> text;
  std::vector<std::string> augmented;
};

SectionLists CleanedSections(const BreastReport& report, const BreastReport& paraphrase) {
  auto sections = [](const BreastReport& r) {
    return std::array<std::string, 2>{
        CleanReportSection(r.findings),
        CleanReportSection(absl::StrReplaceAll(r.impression, {{"BI-RADS", "BIRADS"}}))};
  };
  const std::array<std::string, 2> original = sections(report);
  const std::array<std::string, 2> para = sections(paraphrase);
  SectionLists out;
  for (size_t i = 0; i < original.size(); ++i) {
    const std::string& v = original[i];
    if (v.empty() || std::find(out.text.begin(), out.text.end(), v) != out.text.end()) continue;
    out.text.push_back(v);
    out.augmented.push_back(absl::AsciiStrToLower(para[i].empty() ? v : para[i]));
  }
  return out;
}

absl::Status WriteMammoClip(const Context& ctx) {
  CsvWriter table({"patient_id", "laterality", "image", "view", "CC", "MLO", "text", "findings",
                   "impressions", "text_augment", "fold"});
  for (size_t pi = 0; pi < ctx.patients.size(); ++pi) {
    const Patient& p = ctx.patients[pi];
    for (Side side : {Side::kRight, Side::kLeft}) {
      const auto [cc, mlo] = ctx.BreastRecords(static_cast<int>(pi), side);
      if (cc == nullptr || mlo == nullptr) continue;
      const BreastReport& report = ctx.reports[pi].report[static_cast<int>(side)];
      const BreastReport& para = ctx.reports[pi].paraphrase[static_cast<int>(side)];
      const std::string cc_png = PngName(ctx.image(*cc));
      const std::string mlo_png = PngName(ctx.image(*mlo));
      const SectionLists sections = CleanedSections(report, para);
      table.AddRow({p.key, SideLetter(side), PyStringList({cc_png, mlo_png}),
                    PyStringList({"CC", "MLO"}), PyStringList({cc_png}), PyStringList({mlo_png}),
                    PyStringList(sections.text), report.findings, report.impression,
                    PyStringList(sections.augmented),
                    absl::StrCat(p.fold)});
    }
  }
  return Write(ctx, "mammoclip", "clip_pretrain.csv", table);
}

absl::Status WriteCbis(const Context& ctx) {
  const std::vector<std::string> mass_header = {
      "patient_id", "breast_density", "left or right breast", "image view", "abnormality id",
      "abnormality type", "mass shape", "mass margins", "assessment", "pathology", "subtlety",
      "image file path", "cropped image file path", "ROI mask file path"};
  const std::vector<std::string> calc_header = {
      "patient_id", "breast density", "left or right breast", "image view", "abnormality id",
      "abnormality type", "calc type", "calc distribution", "assessment", "pathology",
      "subtlety", "image file path", "cropped image file path", "ROI mask file path"};
  CsvWriter mass_train(mass_header), mass_test(mass_header);
  CsvWriter calc_train(calc_header), calc_test(calc_header);
  for (const ImageRecord& r : ctx.records) {
    const Patient& p = ctx.patient(r);
    const ImageInfo& img = ctx.image(r);
    const Breast& b = ctx.breast(r);
    const std::string image_path = DicomRelativePath(p, img);
    const std::string stem = absl::StrCat(p.key, "/", img.image_key);
    for (const FindingBox& box : r.boxes) {
      const Finding& f = b.findings[box.finding_index];
      const bool is_calc = f.type == FindingType::kCalcification;
      int abnormality = 0;
      for (int k = 0; k <= box.finding_index; ++k) {
        if ((b.findings[k].type == FindingType::kCalcification) == is_calc) ++abnormality;
      }
      std::string pathology = "MALIGNANT";
      if (!f.malignant) {
        pathology = f.birads >= 4 || !Coin(stem, 15 + abnormality, 0.5)
                        ? "BENIGN"
                        : "BENIGN_WITHOUT_CALLBACK";
      }
      const double lo = is_calc ? ctx.config.appearance().calc_contrast_min()
                                : ctx.config.appearance().mass_contrast_min();
      const double hi = is_calc ? ctx.config.appearance().calc_contrast_max()
                                : ctx.config.appearance().mass_contrast_max();
      const double rel = hi > lo ? std::clamp((f.contrast - lo) / (hi - lo), 0.0, 1.0) : 0.5;
      const std::string subtlety = absl::StrCat(2 + static_cast<int>(std::lround(3 * rel)));
      const std::string side = b.side == Side::kLeft ? "LEFT" : "RIGHT";
      const std::string density = absl::StrCat(b.density + 1);
      const std::string crop = absl::StrCat(stem, "_", abnormality, "_crop.dcm");
      const std::string mask = absl::StrCat(stem, "_", abnormality, "_mask.dcm");
      if (is_calc) {
        static constexpr const char* kType[] = {"PUNCTATE", "AMORPHOUS", "PLEOMORPHIC",
                                                "FINE_LINEAR_BRANCHING"};
        static constexpr const char* kDist[] = {"CLUSTERED", "LINEAR", "SEGMENTAL", "REGIONAL"};
        (p.test_split ? calc_test : calc_train)
            .AddRow({p.key, density, side, ViewName(img.view), absl::StrCat(abnormality),
                     "calcification", kType[static_cast<int>(f.calc_morphology)],
                     kDist[static_cast<int>(f.calc_distribution)], absl::StrCat(f.birads),
                     pathology, subtlety, image_path, crop, mask});
        continue;
      }
      std::string shape, margins;
      switch (f.type) {
        case FindingType::kMass:
          shape = f.shape == MassShape::kRound ? "ROUND"
                  : f.shape == MassShape::kOval ? "OVAL"
                                                : "IRREGULAR";
          margins = f.margin == MassMargin::kCircumscribed ? "CIRCUMSCRIBED"
                    : f.margin == MassMargin::kIndistinct  ? "ILL_DEFINED"
                                                           : "SPICULATED";
          break;
        case FindingType::kArchitecturalDistortion:
          shape = "ARCHITECTURAL_DISTORTION";
          margins = "SPICULATED";
          break;
        case FindingType::kFocalAsymmetry:
          shape = "FOCAL_ASYMMETRIC_DENSITY";
          margins = "ILL_DEFINED";
          break;
        default:
          shape = "ASYMMETRIC_BREAST_TISSUE";
          margins = "ILL_DEFINED";
          break;
      }
      (p.test_split ? mass_test : mass_train)
          .AddRow({p.key, density, side, ViewName(img.view), absl::StrCat(abnormality), "mass",
                   shape, margins, absl::StrCat(f.birads), pathology, subtlety, image_path, crop,
                   mask});
    }
  }
  MVL_RETURN_IF_ERROR(Write(ctx, "cbis", "mass_case_description_train_set.csv", mass_train));
  MVL_RETURN_IF_ERROR(Write(ctx, "cbis", "mass_case_description_test_set.csv", mass_test));
  MVL_RETURN_IF_ERROR(Write(ctx, "cbis", "calc_case_description_train_set.csv", calc_train));
  return Write(ctx, "cbis", "calc_case_description_test_set.csv", calc_test);
}

const char* FindingTypeName(FindingType t) {
  switch (t) {
    case FindingType::kMass: return "mass";
    case FindingType::kCalcification: return "calcification";
    case FindingType::kFocalAsymmetry: return "focal_asymmetry";
    case FindingType::kAsymmetry: return "asymmetry";
    case FindingType::kArchitecturalDistortion: return "architectural_distortion";
  }
  return "";
}

const char* SyntaxName(SynthConfig::TransferSyntax ts) {
  switch (ts) {
    case SynthConfig::IMPLICIT_VR_LITTLE_ENDIAN: return "implicit_vr_little_endian";
    case SynthConfig::JPEG_LS_LOSSLESS: return "jpeg_ls_lossless";
    case SynthConfig::JPEG_2000_LOSSLESS: return "jpeg2000_lossless";
    default: return "explicit_vr_little_endian";
  }
}

absl::Status WriteGroundTruth(const Context& ctx) {
  CsvWriter images({"patient_id", "study_id", "image_id", "laterality", "view", "rows", "columns",
                    "pixel_spacing_mm", "transfer_syntax", "photometric", "bits_stored", "density",
                    "breast_birads", "cancer", "mass", "calcification", "focal_asymmetry",
                    "asymmetry", "architectural_distortion", "split", "fold", "dicom_path",
                    "png_path", "png_crop_x", "png_crop_y", "png_crop_width", "png_crop_height"});
  CsvWriter findings({"patient_id", "image_id", "laterality", "view", "finding_index", "type",
                      "xmin", "ymin", "xmax", "ymax", "png_xmin", "png_ymin", "png_xmax",
                      "png_ymax", "size_mm", "contrast", "depth", "medial", "superior",
                      "malignant", "birads", "detail"});
  for (const ImageRecord& r : ctx.records) {
    const Patient& p = ctx.patient(r);
    const ImageInfo& img = ctx.image(r);
    const Breast& b = ctx.breast(r);
    auto in_view = [&](FindingType t) { return b.HasInView(t, img.view) ? "1" : "0"; };
    images.AddRow({p.key, p.study_key, img.image_key, SideLetter(img.side), ViewName(img.view),
                   absl::StrCat(r.rows), absl::StrCat(r.columns), absl::StrFormat("%.6f", r.pixel_mm),
                   SyntaxName(img.transfer_syntax), img.monochrome1 ? "MONOCHROME1" : "MONOCHROME2",
                   absl::StrCat(WrittenBitsStored(img.transfer_syntax, img.bits_stored)),
                   DensityLetter(b.density), absl::StrCat(b.birads),
                   b.cancer ? "1" : "0", in_view(FindingType::kMass),
                   in_view(FindingType::kCalcification), in_view(FindingType::kFocalAsymmetry),
                   in_view(FindingType::kAsymmetry),
                   in_view(FindingType::kArchitecturalDistortion), Split(p), absl::StrCat(p.fold),
                   DicomRelativePath(p, img), PngRelativePath(p, img),
                   absl::StrCat(r.png_frame.crop_x + r.png_frame.trim),
                   absl::StrCat(r.png_frame.crop_y + r.png_frame.trim),
                   absl::StrCat(r.png_frame.crop_width), absl::StrCat(r.png_frame.crop_height)});
    for (const FindingBox& box : r.boxes) {
      const Finding& f = b.findings[box.finding_index];
      const cv::Point2d a = MapToPngFrame(r.png_frame, {box.xmin, box.ymin});
      const cv::Point2d c = MapToPngFrame(r.png_frame, {box.xmax, box.ymax});
      std::string detail;
      if (f.type == FindingType::kMass) {
        static constexpr const char* kShape[] = {"round", "oval", "irregular"};
        static constexpr const char* kMargin[] = {"circumscribed", "indistinct", "spiculated"};
        detail = absl::StrCat(kShape[static_cast<int>(f.shape)], " ",
                              kMargin[static_cast<int>(f.margin)]);
      } else if (f.type == FindingType::kCalcification) {
        static constexpr const char* kMorph[] = {"punctate", "amorphous", "fine_pleomorphic",
                                                 "fine_linear_branching"};
        static constexpr const char* kDist[] = {"grouped", "linear", "segmental", "regional"};
        detail = absl::StrCat(kMorph[static_cast<int>(f.calc_morphology)], " ",
                              kDist[static_cast<int>(f.calc_distribution)], " n=", f.calc_count);
      }
      findings.AddRow({p.key, img.image_key, SideLetter(img.side), ViewName(img.view),
                       absl::StrCat(box.finding_index), FindingTypeName(f.type), Fmt2(box.xmin),
                       Fmt2(box.ymin), Fmt2(box.xmax), Fmt2(box.ymax), Fmt2(a.x), Fmt2(a.y),
                       Fmt2(c.x), Fmt2(c.y), Fmt2(f.size_mm), absl::StrFormat("%.3f", f.contrast),
                       absl::StrFormat("%.3f", f.depth), absl::StrFormat("%.3f", f.medial),
                       absl::StrFormat("%.3f", f.superior), f.malignant ? "1" : "0",
                       absl::StrCat(f.birads), detail});
    }
  }
  MVL_RETURN_IF_ERROR(Write(ctx, "synth", "images.csv", images));
  MVL_RETURN_IF_ERROR(Write(ctx, "synth", "findings.csv", findings));

  CsvWriter reports({"patient_id", "laterality", "history", "findings", "impression",
                     "recommendation", "birads", "paraphrase_findings", "paraphrase_impression"});
  for (size_t pi = 0; pi < ctx.patients.size(); ++pi) {
    for (Side side : {Side::kRight, Side::kLeft}) {
      const BreastReport& r = ctx.reports[pi].report[static_cast<int>(side)];
      const BreastReport& q = ctx.reports[pi].paraphrase[static_cast<int>(side)];
      reports.AddRow({ctx.patients[pi].key, SideLetter(side), r.history, r.findings, r.impression,
                      r.recommendation, r.birads, q.findings, q.impression});
    }
  }
  return Write(ctx, "synth", "reports.csv", reports);
}

}  // namespace

const std::vector<std::string>& VindrFindingNames() {
  static const std::vector<std::string>* names = new std::vector<std::string>{
      "Mass",          "Suspicious Calcification", "Architectural Distortion", "Global Asymmetry",
      "Focal Asymmetry", "Asymmetry",              "Suspicious Lymph Node",    "Nipple Retraction",
      "Skin Retraction", "Skin Thickening"};
  return *names;
}

std::string DicomRelativePath(const Patient& patient, const ImageInfo& image) {
  return absl::StrCat(patient.key, "/", image.image_key, ".dcm");
}

std::string PngRelativePath(const Patient& patient, const ImageInfo& image) {
  return absl::StrCat(patient.key, "/", image.image_key, ".png");
}

absl::Status WriteTables(const SynthConfig& config, const std::vector<Patient>& patients,
                         const std::vector<ImageRecord>& records,
                         const std::vector<PatientReports>& reports, absl::string_view out_dir) {
  if (reports.size() != patients.size()) {
    return absl::InternalError("WriteTables: one PatientReports per patient is required");
  }
  const Context ctx{config, patients, records, reports, absl::StrCat(out_dir, "/tables")};
  MVL_RETURN_IF_ERROR(WriteVindr(ctx));
  MVL_RETURN_IF_ERROR(WriteRsna(ctx));
  MVL_RETURN_IF_ERROR(WriteEmbed(ctx));
  MVL_RETURN_IF_ERROR(WriteMammoClip(ctx));
  MVL_RETURN_IF_ERROR(WriteCbis(ctx));
  return WriteGroundTruth(ctx);
}

}  // namespace mammovl::data
