// Minimal XML text helpers for the Blob and Queue bodies.
#include "server/storage/azure/client/xml.h"

#include <cstdint>

#include "absl/strings/numbers.h"

namespace taskhub::azure {

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;  // kept verbatim (XML would normalize CR)
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string XmlUnescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string::npos) {
      out.push_back(s[i]);
      continue;
    }
    std::string name = s.substr(i + 1, semi - i - 1);
    uint32_t cp = 0;
    if (name == "lt")
      cp = '<';
    else if (name == "gt")
      cp = '>';
    else if (name == "amp")
      cp = '&';
    else if (name == "quot")
      cp = '"';
    else if (name == "apos")
      cp = '\'';
    else if (name.size() > 2 && name[0] == '#' && (name[1] == 'x' || name[1] == 'X')) {
      if (!absl::SimpleHexAtoi(name.substr(2), &cp)) cp = 0;
    } else if (name.size() > 1 && name[0] == '#') {
      if (!absl::SimpleAtoi(name.substr(1), &cp)) cp = 0;
    }
    if (cp == 0) {
      out.push_back(s[i]);
      continue;
    }
    // UTF-8 encode the code point.
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    } else if (cp < 0x10000) {
      out += {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
              static_cast<char>(0x80 | (cp & 0x3F))};
    } else {
      out += {static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
              static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
    }
    i = semi;
  }
  return out;
}

std::string XmlElement(const std::string& xml, const std::string& tag) {
  size_t b = xml.find("<" + tag + ">");
  if (b == std::string::npos) return "";
  b += tag.size() + 2;
  size_t e = xml.find("</" + tag + ">", b);
  return e == std::string::npos ? "" : xml.substr(b, e - b);
}

}  // namespace taskhub::azure
