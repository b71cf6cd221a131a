// QueueClient: queues and messages (XML bodies; message text XML-escaped, not base64).
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/storage/azure/client/client_core.h"
#include "server/storage/azure/client/xml.h"

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

std::vector<QueueMessage> ParseMessages(const std::string& x) {
  std::vector<QueueMessage> out;
  const std::string open = "<QueueMessage>", close = "</QueueMessage>";
  for (size_t b = x.find(open); b != std::string::npos; b = x.find(open, b + 1)) {
    size_t e = x.find(close, b);
    if (e == std::string::npos) break;
    std::string m = x.substr(b, e - b);
    QueueMessage q;
    q.id = XmlUnescape(XmlElement(m, "MessageId"));
    q.pop_receipt = XmlUnescape(XmlElement(m, "PopReceipt"));
    q.text = XmlUnescape(XmlElement(m, "MessageText"));
    if (!absl::SimpleAtoi(XmlElement(m, "DequeueCount"), &q.dequeue_count)) q.dequeue_count = 0;
    q.next_visible = ParseRfc1123(XmlElement(m, "TimeNextVisible")).value_or(absl::InfinitePast());
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
  return IgnoreAlreadyExists(core_->Do(c).status());
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
