// camp-client's command line: every option, the help text, and errors that name the culprit.
#include <gtest/gtest.h>

#include <initializer_list>

#include "tools/hq/client_options.h"

namespace camp::hq {
namespace {

ClientParse parse(std::initializer_list<const char*> args, ClientOptions* o, std::string* err) {
  std::vector<const char*> argv{"camp-client"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_client_options(static_cast<int>(argv.size()), argv.data(), o, err);
}

TEST(HqClientOptions, Defaults) {
  ClientOptions o;
  std::string err;
  ASSERT_EQ(parse({"https://h:4433/a"}, &o, &err), ClientParse::kOk) << err;
  EXPECT_TRUE(o.ca_file.empty());
  EXPECT_FALSE(o.insecure);
  EXPECT_TRUE(o.out_dir.empty());
  EXPECT_TRUE(o.paths.empty());
  EXPECT_TRUE(o.qlog_dir.empty());
  EXPECT_EQ(o.timeout_s, 30);
  EXPECT_TRUE(o.session_file.empty());
  EXPECT_FALSE(o.key_update);
  EXPECT_EQ(o.datagram, 0u);
  EXPECT_EQ(o.scheduler, quic::SchedulerKind::kMinRtt);
  EXPECT_FALSE(o.multipath());
  EXPECT_EQ(o.verbose, 0);
  ASSERT_EQ(o.urls.size(), 1u);
  EXPECT_EQ(o.urls[0].host, "h");
  EXPECT_EQ(o.urls[0].port, 4433);
  EXPECT_EQ(o.urls[0].path, "/a");
}

TEST(HqClientOptions, EveryOption) {
  ClientOptions o;
  std::string err;
  ASSERT_EQ(parse({"--ca", "ca.pem", "--out", "/tmp/o", "--path", "10.0.0.1", "--path",
                   "10.0.1.1:5000", "--path=[fe80::1]:6000", "--path", "2001:db8::7",
                   "--qlog", "q", "--timeout", "2.5", "--session", "s.bin", "--key-update",
                   "--datagram", "1200", "--scheduler", "redundant", "-v", "--verbose",
                   "https://[::1]:4433/x",
                   "https://[::1]:4433/y/z"},
                  &o, &err),
            ClientParse::kOk)
      << err;
  EXPECT_EQ(o.ca_file, "ca.pem");
  EXPECT_EQ(o.out_dir, "/tmp/o");
  ASSERT_EQ(o.paths.size(), 4u);
  EXPECT_EQ(o.paths[0].addr, "10.0.0.1");
  EXPECT_FALSE(o.paths[0].ipv6);
  EXPECT_EQ(o.paths[0].port, 0);
  EXPECT_EQ(o.paths[1].addr, "10.0.1.1");
  EXPECT_EQ(o.paths[1].port, 5000);
  EXPECT_EQ(o.paths[2].addr, "fe80::1");
  EXPECT_TRUE(o.paths[2].ipv6);
  EXPECT_EQ(o.paths[2].port, 6000);
  EXPECT_EQ(o.paths[3].addr, "2001:db8::7");
  EXPECT_EQ(o.paths[3].port, 0);
  EXPECT_EQ(o.qlog_dir, "q");
  EXPECT_DOUBLE_EQ(o.timeout_s, 2.5);
  EXPECT_EQ(o.session_file, "s.bin");
  EXPECT_TRUE(o.key_update);
  EXPECT_EQ(o.datagram, 1200u);
  EXPECT_EQ(o.scheduler, quic::SchedulerKind::kRedundant);
  EXPECT_TRUE(o.multipath());  // four --path, no --migrate
  EXPECT_EQ(o.verbose, 2);
  ASSERT_EQ(o.urls.size(), 2u);
  EXPECT_EQ(o.urls[1].path, "/y/z");
}

TEST(HqClientOptions, InsecureAndEndOfOptions) {
  ClientOptions o;
  std::string err;
  ASSERT_EQ(parse({"--insecure", "--timeout=7", "--", "https://h/a"}, &o, &err), ClientParse::kOk)
      << err;
  EXPECT_TRUE(o.insecure);
  EXPECT_EQ(o.timeout_s, 7);
  // After "--" a dash is a URL, and a bad one.
  EXPECT_EQ(parse({"--", "-v"}, &o, &err), ClientParse::kError);
  EXPECT_NE(err.find("'-v'"), std::string::npos) << err;
}

TEST(HqClientOptions, Help) {
  ClientOptions o;
  std::string err;
  EXPECT_EQ(parse({"--help"}, &o, &err), ClientParse::kHelp);
  EXPECT_EQ(parse({"https://h/", "-h"}, &o, &err), ClientParse::kHelp);
  const std::string u = client_usage("camp-client");
  for (const char* opt : {"--ca", "--insecure", "--out", "--path", "--qlog", "--timeout",
                          "--session", "--key-update", "--datagram", "-v", "URL", "usage:"}) {
    EXPECT_NE(u.find(opt), std::string::npos) << opt;
  }
  EXPECT_EQ(u.rfind("usage: camp-client ", 0), 0u);
}

struct BadCase {
  std::vector<const char*> args;
  const char* says;
};

TEST(HqClientOptions, ErrorsNameTheCulprit) {
  const BadCase cases[] = {
      {{}, "no URL"},
      {{"--out", "o"}, "no URL"},
      {{"--ca", "c.pem", "--insecure", "https://h/"}, "--ca and --insecure"},
      {{"--insecure", "--ca", "c.pem", "https://h/"}, "--ca and --insecure"},
      {{"--bogus", "https://h/"}, "unknown option '--bogus'"},
      {{"--scheduler", "fastest", "https://h/"}, "--scheduler: 'fastest' is not minrtt"},
      {{"-x", "https://h/"}, "unknown option '-x'"},
      {{"--insecure=yes", "https://h/"}, "unknown option '--insecure=yes'"},
      {{"https://h/", "--out"}, "--out: missing value"},
      {{"--ca=", "https://h/"}, "--ca: empty value"},
      {{"--timeout", "0", "https://h/"}, "--timeout: '0'"},
      {{"--timeout", "-1", "https://h/"}, "--timeout"},
      {{"--timeout", "abc", "https://h/"}, "--timeout: 'abc'"},
      {{"--timeout", "nan", "https://h/"}, "--timeout"},
      {{"--timeout", "inf", "https://h/"}, "--timeout"},
      {{"--timeout", "86401", "https://h/"}, "--timeout"},
      {{"--timeout", "5s", "https://h/"}, "--timeout: '5s'"},
      {{"--datagram", "65536", "https://h/"}, "--datagram: '65536'"},
      {{"--datagram", "-5", "https://h/"}, "--datagram"},
      {{"--datagram", "12x", "https://h/"}, "--datagram"},
      {{"--datagram", "99999999999999999999999", "https://h/"}, "--datagram"},
      {{"--path", "nothere", "https://h/"}, "--path: 'nothere' is not an IPv4 or IPv6"},
      {{"--path", "10.0.0.1:70000", "https://h/"}, "--path: port '70000'"},
      {{"--path", "10.0.0.1:", "https://h/"}, "--path: empty port"},
      {{"--path", "[::1", "https://h/"}, "--path: '[' without ']'"},
      {{"--path", "[::1]x", "https://h/"}, "--path"},
      {{"--path", "10.0.0.1", "--path", "10.0.0.1", "https://h/"}, "given twice"},
      {{"http://h/"}, "URL 'http://h/'"},
      {{"https://h:1/a", "https://h:2/b"}, "same server"},
      {{"https://h/a", "https://g/b"}, "same server"},
      {{"https://[::1]/a", "https://127.0.0.1/b"}, "same server"},
  };
  for (const BadCase& c : cases) {
    std::vector<const char*> argv{"camp-client"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ClientOptions o;
    std::string err;
    EXPECT_EQ(parse_client_options(static_cast<int>(argv.size()), argv.data(), &o, &err),
              ClientParse::kError)
        << c.says;
    EXPECT_NE(err.find(c.says), std::string::npos) << "want '" << c.says << "', got: " << err;
  }
}

TEST(HqClientOptions, SameServerSpelledDifferently) {
  ClientOptions o;
  std::string err;
  // Names compare without case; 443 is the default port; IPv6 compares in canonical form.
  EXPECT_EQ(parse({"https://Host/a", "https://host:443/b"}, &o, &err), ClientParse::kOk) << err;
  EXPECT_EQ(parse({"https://[::1]/a", "https://[0::1]:443/b"}, &o, &err), ClientParse::kOk) << err;
}

TEST(HqClientOptions, PathLimit) {
  std::vector<std::string> addrs;
  std::vector<const char*> argv{"camp-client"};
  for (size_t i = 0; i <= kMaxPaths; ++i) addrs.push_back("10.0.0." + std::to_string(i + 1));
  for (auto& a : addrs) {
    argv.push_back("--path");
    argv.push_back(a.c_str());
  }
  argv.push_back("https://h/");
  ClientOptions o;
  std::string err;
  EXPECT_EQ(parse_client_options(static_cast<int>(argv.size()), argv.data(), &o, &err),
            ClientParse::kError);
  EXPECT_NE(err.find("at most 16"), std::string::npos) << err;
  argv.erase(argv.end() - 3, argv.end() - 1);
  EXPECT_EQ(parse_client_options(static_cast<int>(argv.size()), argv.data(), &o, &err),
            ClientParse::kOk)
      << err;
  EXPECT_EQ(o.paths.size(), kMaxPaths);
}

}  // namespace
}  // namespace camp::hq
