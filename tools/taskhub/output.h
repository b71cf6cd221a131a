// Output of the taskhub CLI: aligned tables and key/value blocks for people
// (coloured only when stdout is a terminal and NO_COLOR is unset) and JSON for
// scripts (-o json). Every command writes results through one Output.
#ifndef TASKHUB_TOOLS_TASKHUB_OUTPUT_H_
#define TASKHUB_TOOLS_TASKHUB_OUTPUT_H_

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "orchestrator_service.pb.h"

namespace taskhub::cli {

enum class Style { kPlain, kBold, kDim, kGreen, kRed, kYellow, kCyan, kMagenta };

// A table cell: text plus how to colour it.
struct Cell {
  Cell(std::string t) : text(std::move(t)) {}  // NOLINT: implicit by design
  Cell(const char* t) : text(t) {}             // NOLINT: implicit by design
  Cell(std::string t, Style s) : text(std::move(t)), style(s) {}
  std::string text;
  Style style = Style::kPlain;
};

class Output {
 public:
  // `json`: machine output; `color`: ANSI colours in human output.
  Output(std::ostream& out, std::ostream& err, bool json, bool color);

  bool json() const { return json_; }
  // Writes `value` as indented JSON followed by a newline (invalid UTF-8 replaced).
  void Json(const nlohmann::json& value);
  // Writes one line of human output.
  void Line(absl::string_view text);
  // Writes a note for people to stderr (kept out of stdout so it stays parseable).
  void Note(absl::string_view text);
  // `text` wrapped in the escape codes of `style` when colour is on.
  std::string Paint(absl::string_view text, Style style) const;
  std::ostream& out() { return out_; }

 private:
  std::ostream& out_;
  std::ostream& err_;
  bool json_;
  bool color_;
};

// Columns aligned to the widest cell; a bold header row; two spaces between columns.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void AddRow(std::vector<Cell> row);
  bool empty() const { return rows_.empty(); }
  void Print(Output& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<Cell>> rows_;
};

// Prints "Key   value" lines with the keys aligned.
void PrintKeyValues(Output& out, const std::vector<std::pair<std::string, Cell>>& rows);

// The colour used for a runtime status.
Style StatusStyle(OrchestrationStatus status);

// `text` on one line (newlines and tabs as spaces), cut to `max_width` characters with "…".
std::string Abbreviate(absl::string_view text, size_t max_width);

// Whether colour should be used for stdout: a terminal, NO_COLOR unset,
// TERM not "dumb".
bool ColorWanted();

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_OUTPUT_H_
