// A qlog writer whose records go to a file. The dataplane does no I/O of its own: programs (campd,
// camp-client) hand its QlogWriter a sink; this is that sink for a file, closed with the writer.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "dataplane/quic/qlog/qlog_writer.h"

namespace camp {

// nullptr when the file cannot be created (the connection then runs without qlog).
inline std::unique_ptr<quic::QlogWriter> open_qlog_file(const std::string& path, quic::Role role,
                                                        std::string_view title,
                                                        quic::ByteView odcid) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return nullptr;
  std::shared_ptr<FILE> file(f, std::fclose);
  quic::QlogConfig qc;
  qc.vantage = role == quic::Role::kServer ? quic::QlogVantage::kServer : quic::QlogVantage::kClient;
  qc.title = title;
  qc.odcid = odcid;
  return std::make_unique<quic::QlogWriter>(
      qc, [file](std::span<const char> b) { std::fwrite(b.data(), 1, b.size(), file.get()); });
}

}  // namespace camp
