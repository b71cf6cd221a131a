// QueueClient: queues and messages (XML bodies; message text XML-escaped, not base64).
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/storage/azure/client/client_core.h"

namespace taskhub::azure {
namespace {

Call QueueCall(TxKind kind, std::string op, const std::string& queue, std::string method,
               std::string path_suffix = "") {
  Call c;
  c.service = Service::kQueue;
  c.kind = kind;
  c.op = std::move(op);
  c.resource = "queue " + queue;
  c.method = std::move(method);
  c.path = "/" + queue + path_suffix;
  return c;
}

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

std::string Element(const std::string& x, const std::string& tag) {
  size_t b = x.find("<" + tag + ">");
  if (b == std::string::npos) return "";
  b += tag.size() + 2;
  size_t e = x.find("</" + tag + ">", b);
  return e == std::string::npos ? "" : x.substr(b, e - b);
}

std::vector<QueueMessage> ParseMessages(const std::string& x) {
  std::vector<QueueMessage> out;
  const std::string open = "<QueueMessage>", close = "</QueueMessage>";
  for (size_t b = x.find(open); b != std::string::npos; b = x.find(open, b + 1)) {
    size_t e = x.find(close, b);
    if (e == std::string::npos) break;
    std::string m = x.substr(b, e - b);
    QueueMessage q;
    q.id = XmlUnescape(Element(m, "MessageId"));
    q.pop_receipt = XmlUnescape(Element(m, "PopReceipt"));
    q.text = XmlUnescape(Element(m, "MessageText"));
    if (!absl::SimpleAtoi(Element(m, "DequeueCount"), &q.dequeue_count)) q.dequeue_count = 0;
    q.next_visible = ParseRfc1123(Element(m, "TimeNextVisible")).value_or(absl::InfinitePast());
    out.push_back(std::move(q));
  }
  return out;
}

std::string MessageBody(const std::string& text) {
  return absl::StrCat("<QueueMessage><MessageText>", XmlEscape(text),
                      "</MessageText></QueueMessage>");
}

std::string Seconds(absl::Duration d) { return std::to_string(absl::ToInt64Seconds(d)); }

}  // namespace

absl::Status QueueClient::CreateQueueIfNotExists(const std::string& queue) {
  Call c = QueueCall(TxKind::kQueuePut, "Create queue", queue, "PUT");
  c.also_ok = {409};
  return core_->Do(c).status();
}

absl::Status QueueClient::DeleteQueue(const std::string& queue) {
  return core_->Do(QueueCall(TxKind::kQueuePut, "Delete queue", queue, "DELETE")).status();
}

absl::StatusOr<QueueMessage> QueueClient::Put(const std::string& queue, const std::string& text,
                                              absl::Duration visibility_timeout,
                                              absl::Duration ttl) {
  Call c = QueueCall(TxKind::kQueuePut, "Put message", queue, "POST", "/messages");
  c.query = {{"visibilitytimeout", Seconds(visibility_timeout)},
             {"messagettl", ttl < absl::ZeroDuration() ? "-1" : Seconds(ttl)}};
  c.headers.emplace_back("Content-Type", "application/xml");
  c.body = MessageBody(text);
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  std::vector<QueueMessage> ms = ParseMessages(r->body);
  if (ms.size() != 1) return absl::InternalError("Put message " + queue + ": malformed answer");
  ms[0].text = text;
  return ms[0];
}

absl::StatusOr<std::vector<QueueMessage>> QueueClient::Get(const std::string& queue, int max,
                                                           absl::Duration visibility_timeout) {
  Call c = QueueCall(TxKind::kQueueGet, "Get messages", queue, "GET", "/messages");
  c.query = {{"numofmessages", std::to_string(max)},
             {"visibilitytimeout", Seconds(visibility_timeout)}};
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  return ParseMessages(r->body);
}

absl::StatusOr<std::vector<QueueMessage>> QueueClient::Peek(const std::string& queue, int max) {
  Call c = QueueCall(TxKind::kQueueGet, "Peek messages", queue, "GET", "/messages");
  c.query = {{"peekonly", "true"}, {"numofmessages", std::to_string(max)}};
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  return ParseMessages(r->body);
}

absl::Status QueueClient::Delete(const std::string& queue, const QueueMessage& m) {
  Call c = QueueCall(TxKind::kQueueDelete, "Delete message", queue, "DELETE",
                     "/messages/" + PercentEncode(m.id));
  c.query = {{"popreceipt", m.pop_receipt}};
  return core_->Do(c).status();
}

absl::Status QueueClient::Update(const std::string& queue, QueueMessage* m,
                                 absl::Duration visibility_timeout,
                                 const std::optional<std::string>& new_text) {
  Call c = QueueCall(TxKind::kQueueUpdate, "Update message", queue, "PUT",
                     "/messages/" + PercentEncode(m->id));
  c.query = {{"popreceipt", m->pop_receipt}, {"visibilitytimeout", Seconds(visibility_timeout)}};
  if (new_text) {
    c.headers.emplace_back("Content-Type", "application/xml");
    c.body = MessageBody(*new_text);
  }
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  if (auto it = r->headers.find("x-ms-popreceipt"); it != r->headers.end()) {
    m->pop_receipt = it->second;
  }
  if (auto it = r->headers.find("x-ms-time-next-visible"); it != r->headers.end()) {
    m->next_visible = ParseRfc1123(it->second).value_or(m->next_visible);
  }
  if (new_text) m->text = *new_text;
  return absl::OkStatus();
}

absl::Status QueueClient::Clear(const std::string& queue) {
  return core_->Do(QueueCall(TxKind::kQueueDelete, "Clear messages", queue, "DELETE", "/messages"))
      .status();
}

}  // namespace taskhub::azure
