// The dashboard's files as compiled into the binary. The definitions are generated
// at build time by server/http/embed_files.cmake (server/http/dashboard.cmake) from
// server/http/dashboard/; only dashboard.cc reads them.
//
// Thread-safety: constant data.
#ifndef TASKHUB_SERVER_HTTP_DASHBOARD_ASSETS_H_
#define TASKHUB_SERVER_HTTP_DASHBOARD_ASSETS_H_

#include <cstddef>

namespace taskhub::http::dashboard_internal {

struct EmbeddedFile {
  const char* path;  // relative to server/http/dashboard/, e.g. "app.js"
  const unsigned char* data;
  size_t size;  // data[size] is a terminating 0, not part of the file
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;

}  // namespace taskhub::http::dashboard_internal

#endif  // TASKHUB_SERVER_HTTP_DASHBOARD_ASSETS_H_
