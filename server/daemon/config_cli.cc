#include "server/daemon/config_cli.h"

#include <algorithm>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace taskhub::daemon {
namespace {

bool IsKey(const CLI::Option* o) { return o->get_configurable() && !o->get_lnames().empty(); }
const std::string& KeyOf(const CLI::Option* o) { return o->get_lnames().front(); }

bool OnCommandLine(const CLI::Option* o, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    for (const std::string& name : o->get_lnames()) {
      const std::string flag = absl::StrCat("--", name);
      if (arg == flag || absl::StartsWith(arg, flag + "=")) return true;
    }
  }
  return false;
}

// A YAML scalar that reads back as `v`: plain for numbers and booleans, else a
// double-quoted string (JSON escapes, which YAML shares).
std::string Scalar(const std::string& v) {
  double d;
  if (!v.empty() && (absl::SimpleAtod(v, &d) || v == "true" || v == "false") &&
      v.find_first_of(" #:") == std::string::npos) {
    return v;
  }
  std::string out = "\"";
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      absl::StrAppend(&out, "\\u", absl::Hex(c, absl::kZeroPad4));
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// A --notification-webhook SPEC with the values of its inline secret and headers (which
// may carry credentials) masked; url, events and secret-file stay readable.
std::string MaskWebhookSpec(const std::string& spec) {
  std::vector<std::string> parts = absl::StrSplit(spec, ',');
  for (std::string& p : parts) {
    const absl::string_view key = absl::StripAsciiWhitespace(absl::string_view(p).substr(
        0, std::min(p.find('='), p.size())));
    if (key == "secret") p = "secret=********";
    if (key == "header") {
      const size_t colon = p.find(':');
      p = colon == std::string::npos ? "header=********" : p.substr(0, colon + 1) + "********";
    }
  }
  return absl::StrJoin(parts, ",");
}

}  // namespace

absl::Status ParseArgsEnvAndFile(CLI::App& app, int argc, char** argv,
                                 const CLI::Option* config_option, ParsedArgs* out,
                                 int* exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream o, err;
    // --help and --version exit 0; every usage error exits 2, as a --config error does
    // (CLI11's own codes, 105 for a bad value and so on, are not documented anywhere).
    *exit_code = app.exit(e, o, err) == 0 ? 0 : 2;
    return absl::InvalidArgumentError(o.str() + err.str());
  }
  for (const CLI::Option* o : app.get_options()) {
    if (!IsKey(o) || o->count() == 0) continue;
    out->origins[KeyOf(o)] =
        OnCommandLine(o, argc, argv) ? "flag" : absl::StrCat("environment $", o->get_envname());
  }
  if (config_option->count() == 0) return absl::OkStatus();
  const std::string path = config_option->results().back();
  auto fail = [&](absl::string_view message) {
    *exit_code = 2;
    return absl::InvalidArgumentError(absl::StrCat("cannot start: --config ", message, "\n"));
  };
  absl::StatusOr<ConfigFile> file = LoadConfigFile(path, [&app](absl::string_view key) {
    const CLI::Option* o = app.get_option_no_throw(absl::StrCat("--", key));
    return o != nullptr && IsKey(o);
  });
  if (!file.ok()) return fail(file.status().message());
  out->notes = file->notes;
  const char* what = file->host_json ? "host.json" : "config file";
  for (const FileSetting& s : file->settings) {
    CLI::Option* o = app.get_option_no_throw(absl::StrCat("--", s.key));
    if (o == nullptr || !IsKey(o)) continue;  // warned about while reading
    if (o->count() > 0) {                     // set by a flag or the environment: those win
      out->notes.push_back(
          {FileNote::kInfo, absl::StrCat(what, " ", s.path, " (", s.key, ") is overridden by the ",
                                         out->origins[s.key])});
      continue;
    }
    try {
      o->add_result(s.values);
      o->run_callback();  // converts and checks the value, and stores it
    } catch (const CLI::Error& e) {
      return fail(absl::StrCat(path, ": key '", s.path, "' (--", s.key, "): ", e.what()));
    }
    out->origins[s.key] = absl::StrCat(what, " ", s.path);
  }
  return absl::OkStatus();
}

std::vector<std::string> ConfigKeys(const CLI::App& app) {
  std::vector<std::string> keys;
  for (const CLI::Option* o : app.get_options()) {
    if (IsKey(o)) keys.push_back(KeyOf(o));
  }
  return keys;
}

std::string PrintConfig(const CLI::App& app, const Origins& origins,
                        const std::map<std::string, std::string>& resolved) {
  std::string out =
      "# taskhubd effective configuration; precedence: flags > environment > config file > "
      "defaults.\n# Readable back with --config FILE (secrets are masked: set them again).\n";
  for (const CLI::Option* o : app.get_options()) {
    if (!IsKey(o)) continue;
    const std::string& key = KeyOf(o);
    std::vector<std::string> values;
    if (auto r = resolved.find(key); r != resolved.end()) {
      values = {r->second};
    } else if (o->count() > 0) {
      values = o->results();
    } else if (o->get_items_expected_max() > 1) {
      values = {};  // a list flag left empty: "[]" (an empty list reads back as unset)
    } else {
      values = {o->get_default_str()};
    }
    if (IsSecretKey(key)) {
      for (std::string& v : values) {
        if (!v.empty()) v = "********";
      }
    } else if (key == "notification-webhook") {
      for (std::string& v : values) v = MaskWebhookSpec(v);
    }
    std::string value;
    if (values.size() == 1 && o->get_items_expected_max() <= 1) {
      value = Scalar(values[0]);
    } else {
      std::vector<std::string> items;
      for (const std::string& v : values) items.push_back(Scalar(v));
      value = absl::StrCat("[", absl::StrJoin(items, ", "), "]");
    }
    auto origin = origins.find(key);
    absl::StrAppend(&out, key, ": ", value, "  # ",
                    origin == origins.end() ? "default" : origin->second, "\n");
  }
  return out;
}

}  // namespace taskhub::daemon
