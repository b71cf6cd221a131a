#include "tools/taskhub/output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace taskhub::cli {
namespace {

// Display width of UTF-8 text: one column per code point (good enough for ids,
// names and times).
size_t Width(absl::string_view s) {
  size_t w = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++w;
  }
  return w;
}

const char* Code(Style style) {
  switch (style) {
    case Style::kBold:
      return "\033[1m";
    case Style::kDim:
      return "\033[2m";
    case Style::kGreen:
      return "\033[32m";
    case Style::kRed:
      return "\033[31m";
    case Style::kYellow:
      return "\033[33m";
    case Style::kCyan:
      return "\033[36m";
    case Style::kMagenta:
      return "\033[35m";
    case Style::kPlain:
      break;
  }
  return "";
}

}  // namespace

Output::Output(std::ostream& out, std::ostream& err, bool json, bool color)
    : out_(out), err_(err), json_(json), color_(color && !json) {}

void Output::Json(const nlohmann::json& value) {
  out_ << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void Output::Line(absl::string_view text) { out_ << text << "\n"; }

void Output::Note(absl::string_view text) { err_ << text << "\n"; }

std::string Output::Paint(absl::string_view text, Style style) const {
  if (!color_ || style == Style::kPlain || text.empty()) return std::string(text);
  return absl::StrCat(Code(style), text, "\033[0m");
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::AddRow(std::vector<Cell> row) {
  row.resize(headers_.size(), Cell(""));
  rows_.push_back(std::move(row));
}

void Table::Print(Output& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = Width(headers_[c]);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], Width(row[c].text));
  }
  auto print_row = [&](const std::vector<Cell>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool last = c + 1 == row.size();
      absl::StrAppend(&line, out.Paint(row[c].text, row[c].style));
      if (!last) line.append(widths[c] - Width(row[c].text) + 2, ' ');
    }
    out.Line(line);
  };
  std::vector<Cell> header;
  for (const auto& h : headers_) header.emplace_back(h, Style::kBold);
  print_row(header);
  for (const auto& row : rows_) print_row(row);
}

void PrintKeyValues(Output& out, const std::vector<std::pair<std::string, Cell>>& rows) {
  size_t width = 0;
  for (const auto& [key, value] : rows) width = std::max(width, Width(key));
  for (const auto& [key, value] : rows) {
    std::string line = out.Paint(key, Style::kBold);
    line.append(width - Width(key) + 2, ' ');
    absl::StrAppend(&line, out.Paint(value.text, value.style));
    out.Line(line);
  }
}

Style StatusStyle(OrchestrationStatus status) {
  switch (status) {
    case ORCHESTRATION_STATUS_COMPLETED:
      return Style::kGreen;
    case ORCHESTRATION_STATUS_FAILED:
      return Style::kRed;
    case ORCHESTRATION_STATUS_TERMINATED:
    case ORCHESTRATION_STATUS_CANCELED:
      return Style::kMagenta;
    case ORCHESTRATION_STATUS_RUNNING:
      return Style::kCyan;
    case ORCHESTRATION_STATUS_PENDING:
    case ORCHESTRATION_STATUS_SUSPENDED:
      return Style::kYellow;
    default:
      return Style::kPlain;
  }
}

std::string Abbreviate(absl::string_view text, size_t max_width) {
  std::string flat;
  flat.reserve(text.size());
  for (char c : text) flat.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  if (Width(flat) <= max_width) return flat;
  // Cut at a code point boundary after max_width - 1 code points.
  size_t points = 0, i = 0;
  for (; i < flat.size(); ++i) {
    if ((static_cast<unsigned char>(flat[i]) & 0xC0) != 0x80 && ++points == max_width) break;
  }
  flat.resize(i);
  return flat + "…";
}

bool ColorWanted() {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr) return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string(term) == "dumb") return false;
  return isatty(STDOUT_FILENO) == 1;
}

}  // namespace taskhub::cli
