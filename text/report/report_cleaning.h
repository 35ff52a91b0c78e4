// Radiology report text processing: section extraction and the two reference
// cleanings whose output the text towers were trained on. Both follow the
// Python references exactly, including their quirks (see README.md). No
// LibTorch.
//
//  - Mammo-CLIP (`augment_text.py`, mammoclip.md §4.3): sentences split at
//    every ".", lower-cased, `nltk.wordpunct_tokenize`d, non-ASCII dropped,
//    short sentences dropped, tokens re-joined with single spaces.
//  - MGCA (mgca_slip.md A2): impression + findings, split at numbered-list
//    markers and ".", `\w+` tokens, non-ASCII dropped.
#ifndef MAMMOVL_TEXT_REPORT_REPORT_CLEANING_H_
#define MAMMOVL_TEXT_REPORT_REPORT_CLEANING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::text {

// The sections of a free-text report. A section header is one of HISTORY,
// CLINICAL HISTORY, INDICATION(S), FINDING(S), IMPRESSION(S) (any case) at
// the start of a line, followed by ':'. Repeated sections are joined with a
// space; text before the first header goes to `preamble`. All fields are
// trimmed.
struct ReportSections {
  std::string preamble;
  std::string history;
  std::string findings;
  std::string impression;
};
// InvalidArgument for invalid UTF-8.
absl::StatusOr<ReportSections> ExtractReportSections(absl::string_view report);

// Python `re.findall(r"\w+|[^\w\s]+", text)` (nltk.wordpunct_tokenize) and
// `re.findall(r"\w+", text)` (nltk RegexpTokenizer(r"\w+")) with Python 3's
// Unicode classes. `text` must be valid UTF-8.
std::vector<std::string> WordPunctTokenize(absl::string_view text);
std::vector<std::string> WordTokenize(absl::string_view text);

// Mammo-CLIP's `_split_report_into_segment_concat` for one section: returns
// the kept sentences joined with single spaces ("" if none survive).
// InvalidArgument for invalid UTF-8.
absl::StatusOr<std::string> CleanMammoClipSection(absl::string_view section);

// Mammo-CLIP's impression handling: "BI-RADS" → "BIRADS", then
// `CleanMammoClipSection`.
absl::StatusOr<std::string> CleanMammoClipImpression(
    absl::string_view impression);

// MGCA's report cleaning: the kept sentences of impression + " " + findings.
// Returns an empty list when the study has fewer than 3 tokens in total (the
// reference drops such studies). InvalidArgument for invalid UTF-8.
absl::StatusOr<std::vector<std::string>> CleanMgcaReport(
    absl::string_view impression, absl::string_view findings);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_REPORT_REPORT_CLEANING_H_
