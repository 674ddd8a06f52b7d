// libFuzzer target for the transport parameter codec. Input: one byte choosing the sender's role,
// then the extension body. Properties:
//  - decode -> encode succeeds, encode refuses one byte less room, and decoding the encoding
//    gives an equal struct;
//  - whatever decode accepts passes validate_transport_parameters, and what it refuses is
//    refused with TRANSPORT_PARAMETER_ERROR and leaves the defaults;
//  - a client's accepted parameters are also accepted from a server (roles only narrow).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "dataplane/quic/wire/transport_parameters.h"

using namespace camp::quic;

namespace {

uint8_t g_out[4096];

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_transport_params: property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Role role = (data[0] & 1) ? Role::kServer : Role::kClient;
  TransportParameters tp;
  const TransportError e = decode_transport_parameters(data + 1, size - 1, role, tp);
  if (e != TransportError::NO_ERROR) {
    check(e == TransportError::TRANSPORT_PARAMETER_ERROR, "unexpected error code");
    check(tp == TransportParameters{}, "refused parameters not left at defaults");
    return 0;
  }
  check(validate_transport_parameters(tp, role) == TransportError::NO_ERROR, "validate refuses");
  const size_t n = encode_transport_parameters(tp, role, g_out, sizeof g_out, data[0] >> 1);
  check(n > 0, "encode of decoded parameters failed");
  check(encode_transport_parameters(tp, role, g_out, n - 1, data[0] >> 1) == 0,
        "encode wrote into too little room");
  TransportParameters again;
  check(decode_transport_parameters(g_out, n, role, again) == TransportError::NO_ERROR,
        "re-decode failed");
  check(again == tp, "round trip differs");
  if (role == Role::kClient) {
    check(decode_transport_parameters(data + 1, size - 1, Role::kServer, again) ==
              TransportError::NO_ERROR,
          "client parameters refused from a server");
  }
  return 0;
}
