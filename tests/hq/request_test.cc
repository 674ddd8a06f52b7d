// The server's request handling, driven by raw bytes on a plain client StreamManager: request
// line forms, length limits, trailing bytes, unidirectional streams, client resets; and the
// local errors of Server and Client.
#include <gtest/gtest.h>

#include <map>

#include "tests/hq/lossy_pair.h"
#include "tests/hq/temp_dir.h"
#include "tools/hq/client.h"
#include "tools/hq/protocol.h"
#include "tools/hq/server.h"

namespace camp::hq {
namespace {

using test::Pair;
using test::TempDir;

constexpr uint64_t kConn = 1;

struct Response {
  std::string body;
  bool fin = false;
  bool reset = false;
  uint64_t code = 0;
  bool request_stopped = false;  // our request side was reset after the server's STOP_SENDING
  uint64_t stop_code = 0;
};

// Sends hand-made requests and collects what comes back.
class Raw {
 public:
  explicit Raw(Pair& p) : p_(p) {}

  uint64_t send(const std::string& bytes, bool fin, bool bidi = true) {
    auto id = p_.client.open_stream(bidi);
    EXPECT_TRUE(id.has_value());
    if (!id) return ~uint64_t{0};
    auto io = p_.client.write(*id, std::span(reinterpret_cast<const uint8_t*>(bytes.data()),
                                             bytes.size()), fin);
    EXPECT_EQ(io.bytes, bytes.size());
    if (bidi) resp_[*id];
    return *id;
  }

  void poll() {
    uint8_t buf[4096];
    for (auto& [id, r] : resp_) {
      if (!r.request_stopped) {
        const quic::SendStream* ss = p_.client.send_stream(id);
        if (ss && ss->is_reset()) {
          r.request_stopped = true;
          r.stop_code = ss->reset_error_code();
        }
      }
      while (!r.fin && !r.reset) {
        auto io = p_.client.read(id, buf);
        if (io.error == quic::StreamAppError::kReset) {
          r.reset = true;
          r.code = io.error_code;
          break;
        }
        if (io.error != quic::StreamAppError::kNone) break;
        r.body.append(reinterpret_cast<char*>(buf), io.bytes);
        r.fin = io.fin;
        if (io.bytes == 0) break;
      }
    }
  }

  const Response& operator[](uint64_t id) { return resp_[id]; }

 private:
  Pair& p_;
  std::map<uint64_t, Response> resp_;
};

// Runs rounds until both stream layers have closed every stream or max_ticks pass.
void settle(Pair& p, Server& s, Raw& raw, int max_ticks = 5000,
            const std::function<void()>& extra = {}) {
  for (int t = 0; t < max_ticks; ++t) {
    p.tick([&] {
      s.on_progress(kConn, p.server);
      raw.poll();
      if (extra) extra();
    });
    ASSERT_EQ(p.error(), quic::TransportError::NO_ERROR);
    if (p.client.stream_count() == 0 && p.server.stream_count() == 0 && p.idle()) return;
  }
}

std::string file_text(size_t n, char seed) {
  std::string s(n, 'x');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (seed + i * 7) % 26);
  return s;
}

void put(const TempDir& d, const std::string& name, const std::string& text) {
  test::write_file(d / name, std::vector<uint8_t>(text.begin(), text.end()));
}

TEST(HqRequest, RequestLineForms) {
  TempDir www;
  const std::string body = file_text(3000, 1);
  put(www, "f", body);
  test::PairConfig cfg;
  cfg.server_tp.initial_max_streams_bidi = 32;  // every case at once
  Pair p(cfg);
  Server s(www.path());
  Raw raw(p);
  struct Case {
    std::string req;
    bool fin;
    bool ok;
  };
  const Case cases[] = {
      {"GET /f\r\n", true, true},
      {"GET /f\n", true, true},
      {"GET /f", true, true},             // FIN ends the line
      {"GET /f  \r\n", true, true},       // trailing spaces tolerated
      {"GET /f\r\n", false, true},        // answered before the FIN
      {"GET /f\r\nextra", true, true},    // bytes after the line are ignored
      {"POST /f\r\n", true, false},
      {"get /f\r\n", true, false},
      {"GET f\r\n", true, false},
      {"GET  /f\r\n", true, false},
      {"GET /f HTTP/1.0\r\n", true, false},
      {std::string("GET /f\0x\r\n", 10), true, false},
      {"GET /f\tx\r\n", true, false},
      {"GET /f\r\r\n", true, false},
      {"GET\r\n", true, false},
      {"GET /\r\n", true, false},         // a directory
      {"", true, false},
  };
  std::vector<uint64_t> ids;
  for (const Case& c : cases) ids.push_back(raw.send(c.req, c.fin));
  settle(p, s, raw, 3000, [&] {
    // The request sent without FIN gets its FIN once the answer is complete.
    if (raw[ids[4]].fin) p.client.write(ids[4], {}, true);
  });
  size_t good = 0, bad = 0;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Response& r = raw[ids[i]];
    if (cases[i].ok) {
      ++good;
      EXPECT_TRUE(r.fin) << i;
      EXPECT_EQ(r.body, body) << i;
    } else {
      ++bad;
      EXPECT_TRUE(r.reset) << i;
      EXPECT_EQ(r.code, kHqRequestError) << i;
      EXPECT_TRUE(r.body.empty()) << i;
    }
  }
  EXPECT_EQ(s.stats().served, good);
  EXPECT_EQ(s.stats().failed, bad);
  EXPECT_EQ(s.stats().bad_request, bad - 1);
  EXPECT_EQ(s.stats().not_found, 1u);
  EXPECT_EQ(p.client.stream_count(), 0u);
  EXPECT_EQ(p.server.stream_count(), 0u);
  EXPECT_EQ(s.active_requests(kConn), 0u);
}

TEST(HqRequest, LengthLimitIsExact) {
  TempDir www;
  ServerLimits lim;
  lim.max_request_bytes = 64;
  const std::string n57 = file_text(57, 2), n58 = file_text(58, 3), n59 = file_text(59, 4);
  put(www, n57, "57");
  put(www, n58, "58");
  put(www, n59, "59");
  Pair p;
  Server s(www.path(), lim);
  Raw raw(p);
  const uint64_t at_crlf = raw.send("GET /" + n57 + "\r\n", true);    // 64 bytes
  const uint64_t over_crlf = raw.send("GET /" + n58 + "\r\n", true);  // 65
  const uint64_t at_lf = raw.send("GET /" + n58 + "\n", true);        // 64
  const uint64_t at_fin = raw.send("GET /" + n59, true);              // 64, no line end
  const uint64_t over_fin = raw.send("GET /" + n59 + "z", true);      // 65
  settle(p, s, raw);
  EXPECT_EQ(raw[at_crlf].body, "57");
  EXPECT_TRUE(raw[over_crlf].reset);
  EXPECT_EQ(raw[at_lf].body, "58");
  EXPECT_EQ(raw[at_fin].body, "59");
  EXPECT_TRUE(raw[over_fin].reset);
  EXPECT_EQ(s.stats().bad_request, 2u);
  EXPECT_EQ(s.stats().served, 3u);
}

TEST(HqRequest, OverLongRequestWithoutEndIsRefusedAndStopped) {
  TempDir www;
  Pair p;
  Server s(www.path());
  Raw raw(p);
  // No line end and no FIN: the server must not wait for more, nor buffer it.
  const uint64_t id = raw.send("GET /" + std::string(5000, 'a'), false);
  settle(p, s, raw);
  EXPECT_TRUE(raw[id].reset);
  EXPECT_EQ(raw[id].code, kHqRequestError);
  EXPECT_TRUE(raw[id].request_stopped);  // STOP_SENDING made our side reset
  EXPECT_EQ(raw[id].stop_code, kHqRequestError);
  EXPECT_EQ(s.stats().bad_request, 1u);
  EXPECT_EQ(p.server.stream_count(), 0u);
  EXPECT_EQ(p.client.stream_count(), 0u);
}

TEST(HqRequest, EndlessBytesAfterTheLineAreStoppedButTheFileIsServed) {
  TempDir www;
  const std::string body = file_text(20000, 5);
  put(www, "f", body);
  Pair p;
  Server s(www.path());
  Raw raw(p);
  const uint64_t id = raw.send("GET /f\r\n" + std::string(3000, 'z'), false);
  settle(p, s, raw);
  EXPECT_TRUE(raw[id].fin);
  EXPECT_EQ(raw[id].body, body);
  EXPECT_TRUE(raw[id].request_stopped);
  EXPECT_EQ(s.stats().served, 1u);
  EXPECT_EQ(p.server.stream_count(), 0u);
  EXPECT_EQ(p.client.stream_count(), 0u);
}

TEST(HqRequest, UnidirectionalStreamsAreStopped) {
  TempDir www;
  Pair p;
  Server s(www.path());
  Raw raw(p);
  const uint64_t open_uni = raw.send("GET /f\r\n", false, false);
  settle(p, s, raw);
  const quic::SendStream* ss = p.client.send_stream(open_uni);
  // Reset in answer to STOP_SENDING, and closed once that reset was acknowledged.
  EXPECT_TRUE(ss == nullptr || ss->is_reset());
  raw.send("hello", true, false);  // complete before the server looks: drained instead
  settle(p, s, raw);
  EXPECT_EQ(s.stats().ignored_streams, 2u);
  EXPECT_EQ(s.stats().served + s.stats().failed, 0u);
  EXPECT_EQ(p.server.stream_count(), 0u);
  EXPECT_EQ(p.client.stream_count(), 0u);
}

TEST(HqRequest, ClientResetBeforeTheLineEndAbortsTheRequest) {
  TempDir www;
  put(www, "f", "body");
  Pair p;
  Server s(www.path());
  Raw raw(p);
  const uint64_t id = raw.send("GET /f", false);
  for (int t = 0; t < 30; ++t) p.tick([&] { s.on_progress(kConn, p.server); });
  EXPECT_EQ(s.active_requests(kConn), 1u);  // waiting for the rest of the line
  ASSERT_TRUE(p.client.reset_stream(id, 9));
  settle(p, s, raw);
  EXPECT_EQ(s.stats().aborted, 1u);
  EXPECT_EQ(s.stats().served, 0u);
  EXPECT_EQ(s.active_requests(kConn), 0u);
  EXPECT_EQ(p.server.stream_count(), 0u);
}

TEST(HqServer, RootMustBeADirectory) {
  TempDir d;
  put(d, "file", "x");
  Server missing(d / "nope");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("nope"), std::string::npos);
  Server file(d / "file");
  EXPECT_FALSE(file.ok());
  EXPECT_NE(file.error().find("not a directory"), std::string::npos);
  Server empty("");
  EXPECT_FALSE(empty.ok());
  // An unusable server refuses everything.
  int fd;
  uint64_t size;
  EXPECT_EQ(missing.open_path("/file", &fd, &size), Resolution::kBadRequest);
}

TEST(HqServer, OpenPathResolvesOnlyInsideTheRoot) {
  TempDir top;
  const std::string root = top / "r";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/d").c_str(), 0755), 0);
  test::write_file(root + "/d/f", {1, 2, 3});
  test::write_file(top / "outside", {4});
  ASSERT_EQ(::symlink("../outside", (root + "/esc").c_str()), 0);
  ASSERT_EQ(::symlink("d/f", (root + "/ok").c_str()), 0);
  ASSERT_EQ(::mkfifo((root + "/fifo").c_str(), 0644), 0);
  // A root given through a relative path with a trailing slash, and "r" as a sibling prefix.
  ASSERT_EQ(::mkdir((top / "r2").c_str(), 0755), 0);
  test::write_file(top / "r2/x", {5});
  ASSERT_EQ(::symlink("../r2/x", (root + "/sib").c_str()), 0);
  Server s(root + "/./");
  ASSERT_TRUE(s.ok());
  char* real = ::realpath(root.c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  EXPECT_EQ(s.root(), std::string(real));  // canonical: no "/./", no trailing slash
  std::free(real);
  struct Case {
    const char* path;
    Resolution want;
  } cases[] = {
      {"/d/f", Resolution::kOk},          {"/ok", Resolution::kOk},
      {"//d//f", Resolution::kOk},        {"/./d/./f", Resolution::kOk},
      {"/d/../d/f", Resolution::kBadRequest}, {"/..", Resolution::kBadRequest},
      {"d/f", Resolution::kBadRequest},   {"", Resolution::kBadRequest},
      {"/d/f ", Resolution::kBadRequest}, {"/esc", Resolution::kForbidden},
      {"/sib", Resolution::kForbidden},   {"/d", Resolution::kNotFound},
      {"/fifo", Resolution::kNotFound},   {"/nope", Resolution::kNotFound},
      {"/d/f/", Resolution::kNotFound},
  };
  for (const Case& c : cases) {
    int fd = -1;
    uint64_t size = 0;
    EXPECT_EQ(s.open_path(c.path, &fd, &size), c.want) << c.path;
    if (c.want == Resolution::kOk) {
      EXPECT_GE(fd, 0);
      EXPECT_EQ(size, 3u);
      ::close(fd);
    } else {
      EXPECT_EQ(fd, -1);
    }
  }
  int fd;
  uint64_t size;
  EXPECT_EQ(s.open_path(std::string("/d/f\0", 5), &fd, &size), Resolution::kBadRequest);
}

TEST(HqClient, OutputDirectoryErrorsAreClear) {
  TempDir d;
  put(d, "file", "x");
  Client missing(d / "nope");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find(d / "nope"), std::string::npos);
  EXPECT_NE(missing.error().find("No such file"), std::string::npos);
  EXPECT_TRUE(missing.done());
  EXPECT_FALSE(missing.all_ok());
  Client file(d / "file");
  EXPECT_FALSE(file.ok());
  EXPECT_NE(file.error().find("not a directory"), std::string::npos);
  Client discard("");
  EXPECT_TRUE(discard.ok());
  // Nothing is sent by an unusable client.
  Pair p;
  missing.add_request("/x");
  missing.on_progress(p.client);
  EXPECT_EQ(p.client.stream_count(), 0u);
}

TEST(HqClient, BadPathsFailLocallyWithoutAStream) {
  TempDir out;
  ASSERT_EQ(::mkdir((out / "taken").c_str(), 0755), 0);
  Pair p;
  Client c(out.path());
  c.add_request("nope");
  c.add_request("/a b");
  c.add_request("/x\r\nGET /y");
  c.add_request("/dir/..");
  c.add_request("/x/taken");  // OUT/taken is a directory: cannot be written
  c.on_progress(p.client);
  EXPECT_EQ(p.client.stream_count(), 0u);
  EXPECT_TRUE(c.done());
  EXPECT_FALSE(c.all_ok());
  for (const auto& r : c.results()) {
    EXPECT_FALSE(r.error.empty()) << r.path;
    EXPECT_EQ(r.stream_id, ~uint64_t{0}) << r.path;
  }
  EXPECT_NE(c.results()[4].error.find("cannot write"), std::string::npos);
  EXPECT_NE(c.results()[0].error.find("'/'"), std::string::npos);
}

TEST(HqClient, ServerRefusalIsReportedThroughTheReset) {
  TempDir www, out;
  Pair p;
  ServerLimits lim;
  lim.max_request_bytes = 64;
  Server s(www.path(), lim);
  Client c(out.path());
  c.add_request("/" + std::string(200, 'q'));  // too long for this server
  for (int t = 0; t < 5000 && !c.done(); ++t) {
    p.tick([&] {
      c.on_progress(p.client);
      s.on_progress(kConn, p.server);
    });
  }
  ASSERT_TRUE(c.done());
  EXPECT_TRUE(c.results()[0].reset);
  EXPECT_EQ(c.results()[0].reset_code, kHqRequestError);
  EXPECT_FALSE(test::exists(out / std::string(200, 'q')));  // no partial file
  EXPECT_EQ(s.stats().bad_request, 1u);
}

}  // namespace
}  // namespace camp::hq
