// parse_url: camp-client's https://HOST[:PORT]/PATH, good and bad.
#include <gtest/gtest.h>

#include "tools/hq/url.h"

namespace camp::hq {
namespace {

struct Good {
  const char* text;
  const char* host;
  HostKind kind;
  uint16_t port;
  const char* path;
  const char* authority;
};

TEST(HqUrl, GoodInputs) {
  const Good cases[] = {
      {"https://example.com:4433/file", "example.com", HostKind::kName, 4433, "/file",
       "example.com:4433"},
      {"https://example.com/file", "example.com", HostKind::kName, 443, "/file", "example.com:443"},
      {"https://example.com", "example.com", HostKind::kName, 443, "/", "example.com:443"},
      {"https://example.com:8443", "example.com", HostKind::kName, 8443, "/", "example.com:8443"},
      {"HTTPS://Example.COM:1/A/B", "example.com", HostKind::kName, 1, "/A/B", "example.com:1"},
      {"https://localhost:65535/", "localhost", HostKind::kName, 65535, "/", "localhost:65535"},
      {"https://my-host_1.local./x", "my-host_1.local.", HostKind::kName, 443, "/x",
       "my-host_1.local.:443"},
      {"https://127.0.0.1:4433/10MB.bin", "127.0.0.1", HostKind::kIPv4, 4433, "/10MB.bin",
       "127.0.0.1:4433"},
      {"https://[::1]:4433/a", "::1", HostKind::kIPv6, 4433, "/a", "[::1]:4433"},
      {"https://[::1]/a", "::1", HostKind::kIPv6, 443, "/a", "[::1]:443"},
      {"https://[0:0::0001]", "::1", HostKind::kIPv6, 443, "/", "[::1]:443"},
      {"https://[2001:DB8::1]:443/x/y?z=1", "2001:db8::1", HostKind::kIPv6, 443, "/x/y?z=1",
       "[2001:db8::1]:443"},
      {"https://[::ffff:10.0.0.1]:9/", "::ffff:10.0.0.1", HostKind::kIPv6, 9, "/",
       "[::ffff:10.0.0.1]:9"},
      {"https://h:00080/p#frag", "h", HostKind::kName, 80, "/p", "h:80"},
      {"https://h/#only", "h", HostKind::kName, 443, "/", "h:443"},
      {"https://h//double//slash", "h", HostKind::kName, 443, "//double//slash", "h:443"},
      {"https://1e100.net/", "1e100.net", HostKind::kName, 443, "/", "1e100.net:443"},
  };
  for (const Good& g : cases) {
    Url u;
    std::string err;
    ASSERT_TRUE(parse_url(g.text, u, &err)) << g.text << ": " << err;
    EXPECT_EQ(u.host, g.host) << g.text;
    EXPECT_EQ(u.host_kind, g.kind) << g.text;
    EXPECT_EQ(u.port, g.port) << g.text;
    EXPECT_EQ(u.path, g.path) << g.text;
    EXPECT_EQ(u.authority(), g.authority) << g.text;
  }
}

struct Bad {
  const char* text;
  const char* says;  // part of the message
};

TEST(HqUrl, BadInputs) {
  const Bad cases[] = {
      {"", "not a URL"},
      {"example.com/file", "not a URL"},
      {"http://example.com/", "scheme 'http' is not supported"},
      {"ftp://example.com/", "scheme 'ftp'"},
      {"://example.com/", "scheme ''"},
      {"https://", "no host"},
      {"https:///path", "no host"},
      {"https://:443/", "no host"},
      {"https://host:/", "port ''"},
      {"https://host:0/", "port '0'"},
      {"https://host:65536/", "port '65536'"},
      {"https://host:123456/", "port"},
      {"https://host:-1/", "port"},
      {"https://host:44a/", "port"},
      {"https://host: 443/", "port"},
      {"https://user@host/", "user information"},
      {"https://host?x=1", "must start with '/'"},
      {"https://host#f", "must start with '/'"},
      {"https://::1/", "brackets"},
      {"https://[::1/", "without ']'"},
      {"https://[::1]x/", "after ']'"},
      {"https://[::1]:/", "port"},
      {"https://[]/", "not an IPv6 address"},
      {"https://[::g]/", "not an IPv6 address"},
      {"https://[1.2.3.4]/", "not an IPv6 address"},
      {"https://[fe80::1%eth0]/", "not an IPv6 address"},
      {"https://256.1.1.1/", "not an IPv4 address"},
      {"https://1.2.3/", "not an IPv4 address"},
      {"https://1.2.3.4.5/", "not an IPv4 address"},
      {"https://a..b/", "empty label"},
      {"https://.a/", "empty label"},
      {"https://a b/", "not allowed"},
      {"https://ex!ample.com/", "not allowed"},
      {"https://host/a b", "space or control"},
      {"https://host/a\r\nGET /b", "space or control"},
      {"https://host/a\tb", "space or control"},
  };
  for (const Bad& b : cases) {
    Url u;
    std::string err;
    EXPECT_FALSE(parse_url(b.text, u, &err)) << b.text;
    EXPECT_NE(err.find(b.says), std::string::npos) << b.text << " -> " << err;
  }
  // Labels and names past the DNS limits.
  Url u;
  std::string err;
  EXPECT_FALSE(parse_url("https://" + std::string(64, 'a') + ".com/", u, &err));
  EXPECT_NE(err.find("63"), std::string::npos);
  std::string long_name;
  for (int i = 0; i < 50; ++i) long_name += "abcd.";
  long_name += "abcd";
  EXPECT_FALSE(parse_url("https://" + long_name + "/", u, &err));
  EXPECT_NE(err.find("253"), std::string::npos);
  EXPECT_TRUE(parse_url("https://" + std::string(63, 'a') + ".com/", u, &err)) << err;
  // A NUL inside the text is not a string end.
  EXPECT_FALSE(parse_url(std::string_view("https://h/a\0b", 13), u, &err));
  EXPECT_FALSE(parse_url(std::string_view("https://h\0x/", 12), u, &err));
  // No message wanted: still rejected.
  EXPECT_FALSE(parse_url("http://h/", u, nullptr));
}

}  // namespace
}  // namespace camp::hq
