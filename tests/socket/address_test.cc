#include "drivers/socket/address.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

namespace camp::sockdrv {
namespace {

TEST(SocketAddress, ParsesIpv4) {
  SockAddr a;
  std::string err;
  ASSERT_TRUE(parse_address("192.0.2.7:4433", &a, &err)) << err;
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.len, sizeof(sockaddr_in));
  EXPECT_EQ(a.port(), 4433);
  const uint8_t want[4] = {192, 0, 2, 7};
  EXPECT_TRUE(a.ip() == IpAddr::v4(want));
  EXPECT_FALSE(a.is_wildcard());
  EXPECT_EQ(format_address(a), "192.0.2.7:4433");
}

TEST(SocketAddress, ParsesIpv6AndWildcards) {
  SockAddr a;
  std::string err;
  ASSERT_TRUE(parse_address("[2001:db8::1]:65535", &a, &err)) << err;
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.len, sizeof(sockaddr_in6));
  EXPECT_EQ(a.port(), 65535);
  EXPECT_EQ(a.ip().bytes[0], 0x20);
  EXPECT_EQ(a.ip().bytes[15], 0x01);
  EXPECT_EQ(format_address(a), "[2001:db8::1]:65535");

  ASSERT_TRUE(parse_address("0.0.0.0:0", &a, &err)) << err;
  EXPECT_TRUE(a.is_wildcard());
  EXPECT_EQ(a.port(), 0);
  ASSERT_TRUE(parse_address("[::]:9", &a, &err)) << err;
  EXPECT_TRUE(a.is_wildcard());
  EXPECT_EQ(format_address(a), "[::]:9");
  ASSERT_TRUE(parse_address("[::1]:00080", &a, &err)) << err;
  EXPECT_FALSE(a.is_wildcard());
  EXPECT_EQ(a.port(), 80);
}

TEST(SocketAddress, ParsesZone) {
  SockAddr a;
  std::string err;
  ASSERT_TRUE(parse_address("[fe80::1%1]:5", &a, &err)) << err;
  EXPECT_EQ(a.scope_id(), 1u);
  EXPECT_EQ(format_address(a), "[fe80::1%1]:5");
  ASSERT_TRUE(parse_address("[fe80::1%lo]:5", &a, &err)) << err;
  EXPECT_NE(a.scope_id(), 0u);
  EXPECT_FALSE(parse_address("[fe80::1%no-such-if0]:5", &a, &err));
  EXPECT_NE(err.find("zone"), std::string::npos) << err;
}

TEST(SocketAddress, RejectsMalformedWithTheTextInTheMessage) {
  const char* bad[] = {
      "",
      "127.0.0.1",
      "127.0.0.1:",
      ":80",
      "127.0.0.1:65536",
      "127.0.0.1:-1",
      "127.0.0.1:+80",
      "127.0.0.1:0x50",
      "127.0.0.1:80 ",
      " 127.0.0.1:80",
      "127.0.0.1:123456",
      "256.0.0.1:80",
      "1.2.3:80",
      "localhost:80",
      "::1:80",
      "[::1]80",
      "[::1]:",
      "[::1",
      "[]:80",
      "[127.0.0.1]:80",
      "[::1]:80x",
      "[fe80::1%]:80",
      "[gggg::1]:80",
  };
  for (const char* text : bad) {
    SockAddr a;
    std::string err;
    EXPECT_FALSE(parse_address(text, &a, &err)) << text;
    EXPECT_NE(err.find(std::string("\"") + text + "\""), std::string::npos)
        << "message does not quote the address: " << err;
  }
  SockAddr a;
  EXPECT_FALSE(parse_address("nope", &a, nullptr));  // no message wanted: still rejected
}

TEST(SocketAddress, ToSockaddrRoundTrips) {
  SockAddr a;
  const uint8_t v4[4] = {10, 1, 2, 3};
  ASSERT_TRUE(to_sockaddr(IpAddr::v4(v4), 7, 0, &a));
  EXPECT_EQ(format_address(a), "10.1.2.3:7");
  uint8_t v6[16] = {};
  v6[15] = 1;
  ASSERT_TRUE(to_sockaddr(IpAddr::v6(v6), 443, 0, &a));
  EXPECT_EQ(format_address(a), "[::1]:443");
  EXPECT_FALSE(to_sockaddr(IpAddr{}, 1, 0, &a));
}

}  // namespace
}  // namespace camp::sockdrv
