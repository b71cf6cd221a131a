// Minimal XML text helpers for the Blob and Queue REST bodies (flat documents; no
// namespaces, attributes or CDATA are needed by the calls we make).
//
// Thread-safety: pure functions.
#ifndef TASKHUB_SERVER_STORAGE_AZURE_CLIENT_XML_H_
#define TASKHUB_SERVER_STORAGE_AZURE_CLIENT_XML_H_

#include <string>

namespace taskhub::azure {

// Escapes < > & " ' and CR (as &#13;, so it survives XML line-end normalization).
std::string XmlEscape(const std::string& s);
// Decodes the five named entities and &#N; / &#xN; (as UTF-8); unknown ones stay.
std::string XmlUnescape(const std::string& s);
// The raw text between the first <tag> and its </tag>, or "".
std::string XmlElement(const std::string& xml, const std::string& tag);

}  // namespace taskhub::azure

#endif  // TASKHUB_SERVER_STORAGE_AZURE_CLIENT_XML_H_
