#include "dataplane/quic/wire/transport_parameters.h"

#include "dataplane/quic/wire/frames.h"
#include "dataplane/quic/wire/reader.h"

namespace camp::quic {

using wire_detail::Reader;
using wire_detail::Writer;
namespace id = transport_parameter_id;

namespace {

constexpr auto kError = TransportError::TRANSPORT_PARAMETER_ERROR;

// A bit per known parameter, to find duplicates without remembering unknown ones.
int seen_bit(uint64_t pid) {
  if (pid <= id::retry_source_connection_id) return static_cast<int>(pid);
  if (pid == id::max_datagram_frame_size) return 17;
  if (pid == id::initial_max_path_id) return 18;
  if (pid == id::min_ack_delay) return 19;
  return -1;
}

// An integer parameter's value must be exactly one varint (18.2).
bool read_int(ByteView v, uint64_t& out) {
  return v.size > 0 && varint::decode(v.data, v.size, &out) == v.size;
}

bool read_cid(ByteView v, std::optional<ConnectionId>& out) {
  if (v.size > kMaxCidLength) return false;
  out = ConnectionId(v);
  return true;
}

bool read_preferred_address(ByteView v, PreferredAddress& pa) {
  Reader r{v.data, v.size};
  ByteView b;
  if (!r.bytes(4, b)) return false;
  __builtin_memcpy(pa.ipv4_address.data(), b.data, 4);
  if (!r.u16(pa.ipv4_port) || !r.bytes(16, b)) return false;
  __builtin_memcpy(pa.ipv6_address.data(), b.data, 16);
  uint8_t cid_len;
  ByteView cid, token;
  if (!r.u16(pa.ipv6_port) || !r.u8(cid_len) || !r.bytes(cid_len, cid) ||
      !r.bytes(kStatelessResetTokenLength, token) || r.left() != 0) {
    return false;
  }
  // 18.2: the server must not send a zero-length connection ID here.
  if (cid_len == 0 || cid_len > kMaxCidLength) return false;
  pa.connection_id = ConnectionId(cid);
  __builtin_memcpy(pa.stateless_reset_token.data(), token.data, kStatelessResetTokenLength);
  return true;
}

TransportError decode_into(const uint8_t* data, size_t size, Role sender,
                           TransportParameters& tp) {
  Reader r{data, size};
  uint32_t seen = 0;
  while (r.left() > 0) {
    uint64_t pid, len;
    ByteView v;
    if (!r.varint(pid) || !r.varint(len) || !r.bytes(len, v)) return kError;
    const int bit = seen_bit(pid);
    if (bit < 0) continue;  // unknown or reserved: ignored (18.1)
    if (seen & (1u << bit)) return kError;
    seen |= 1u << bit;
    bool ok = true;
    switch (pid) {
      case id::original_destination_connection_id:
        ok = read_cid(v, tp.original_destination_connection_id);
        break;
      case id::max_idle_timeout: ok = read_int(v, tp.max_idle_timeout); break;
      case id::stateless_reset_token:
        ok = v.size == kStatelessResetTokenLength;
        if (ok) {
          tp.stateless_reset_token.emplace();
          __builtin_memcpy(tp.stateless_reset_token->data(), v.data, v.size);
        }
        break;
      case id::max_udp_payload_size: ok = read_int(v, tp.max_udp_payload_size); break;
      case id::initial_max_data: ok = read_int(v, tp.initial_max_data); break;
      case id::initial_max_stream_data_bidi_local:
        ok = read_int(v, tp.initial_max_stream_data_bidi_local);
        break;
      case id::initial_max_stream_data_bidi_remote:
        ok = read_int(v, tp.initial_max_stream_data_bidi_remote);
        break;
      case id::initial_max_stream_data_uni:
        ok = read_int(v, tp.initial_max_stream_data_uni);
        break;
      case id::initial_max_streams_bidi: ok = read_int(v, tp.initial_max_streams_bidi); break;
      case id::initial_max_streams_uni: ok = read_int(v, tp.initial_max_streams_uni); break;
      case id::ack_delay_exponent: ok = read_int(v, tp.ack_delay_exponent); break;
      case id::max_ack_delay: ok = read_int(v, tp.max_ack_delay); break;
      case id::disable_active_migration:
        ok = v.size == 0;  // a zero-length value
        tp.disable_active_migration = true;
        break;
      case id::preferred_address:
        tp.preferred_address.emplace();
        ok = read_preferred_address(v, *tp.preferred_address);
        break;
      case id::active_connection_id_limit:
        ok = read_int(v, tp.active_connection_id_limit);
        break;
      case id::initial_source_connection_id:
        ok = read_cid(v, tp.initial_source_connection_id);
        break;
      case id::retry_source_connection_id:
        ok = read_cid(v, tp.retry_source_connection_id);
        break;
      case id::max_datagram_frame_size: {
        uint64_t x;
        ok = read_int(v, x);
        tp.max_datagram_frame_size = x;
        break;
      }
      case id::initial_max_path_id: {
        uint64_t x;
        ok = read_int(v, x);
        tp.initial_max_path_id = x;
        break;
      }
      case id::min_ack_delay: {
        uint64_t x;
        ok = read_int(v, x);
        tp.min_ack_delay = x;
        break;
      }
    }
    if (!ok) return kError;
  }
  return validate_transport_parameters(tp, sender);
}

}  // namespace

TransportError validate_transport_parameters(const TransportParameters& tp, Role sender) {
  // 18.2: server-only parameters from a client.
  if (sender == Role::kClient &&
      (tp.original_destination_connection_id || tp.stateless_reset_token ||
       tp.preferred_address || tp.retry_source_connection_id)) {
    return kError;
  }
  if (tp.max_udp_payload_size < 1200 || tp.max_udp_payload_size > varint::kMax) return kError;
  if (tp.ack_delay_exponent > 20) return kError;
  if (tp.max_ack_delay >= (uint64_t{1} << 14)) return kError;
  if (tp.active_connection_id_limit < 2 || tp.active_connection_id_limit > varint::kMax) {
    return kError;
  }
  // 4.6: more than 2^60 streams is a TRANSPORT_PARAMETER_ERROR when it comes from a parameter.
  if (tp.initial_max_streams_bidi > kMaxStreamsLimit ||
      tp.initial_max_streams_uni > kMaxStreamsLimit) {
    return kError;
  }
  for (uint64_t v : {tp.max_idle_timeout, tp.initial_max_data,
                     tp.initial_max_stream_data_bidi_local, tp.initial_max_stream_data_bidi_remote,
                     tp.initial_max_stream_data_uni}) {
    if (v > varint::kMax) return kError;
  }
  if (tp.max_datagram_frame_size && *tp.max_datagram_frame_size > varint::kMax) return kError;
  if (tp.initial_max_path_id && *tp.initial_max_path_id > kMaxPathId) return kError;
  // ack-frequency 3: min_ack_delay (us) may not exceed max_ack_delay (ms).
  if (tp.min_ack_delay && *tp.min_ack_delay > tp.max_ack_delay * 1000) return kError;
  if (tp.preferred_address && (tp.preferred_address->connection_id.length == 0 ||
                               tp.preferred_address->connection_id.length > kMaxCidLength)) {
    return kError;
  }
  for (const auto* cid : {&tp.original_destination_connection_id,
                          &tp.initial_source_connection_id, &tp.retry_source_connection_id}) {
    if (*cid && (*cid)->length > kMaxCidLength) return kError;
  }
  return TransportError::NO_ERROR;
}

TransportError decode_transport_parameters(const uint8_t* data, size_t size, Role sender,
                                           TransportParameters& out) {
  TransportParameters tp;
  const TransportError e = decode_into(data, size, sender, tp);
  out = e == TransportError::NO_ERROR ? tp : TransportParameters{};
  return e;
}

size_t encode_transport_parameters(const TransportParameters& tp, Role sender, uint8_t* buf,
                                   size_t cap, std::optional<uint64_t> grease_n) {
  if (buf == nullptr || validate_transport_parameters(tp, sender) != TransportError::NO_ERROR) {
    return 0;
  }
  const TransportParameters defaults;
  Writer w{buf, cap};
  auto put_int = [&w](uint64_t pid, uint64_t v) {
    w.varint(pid);
    w.varint(varint::size(v));
    w.varint(v);
  };
  auto put_int_if = [&](uint64_t pid, uint64_t v, uint64_t def) {
    if (v != def) put_int(pid, v);
  };
  auto put_bytes = [&w](uint64_t pid, ByteView b) {
    w.varint(pid);
    w.varint(b.size);
    w.bytes(b);
  };
  if (tp.original_destination_connection_id) {
    put_bytes(id::original_destination_connection_id,
              tp.original_destination_connection_id->view());
  }
  put_int_if(id::max_idle_timeout, tp.max_idle_timeout, defaults.max_idle_timeout);
  if (tp.stateless_reset_token) {
    put_bytes(id::stateless_reset_token,
              ByteView(tp.stateless_reset_token->data(), kStatelessResetTokenLength));
  }
  put_int_if(id::max_udp_payload_size, tp.max_udp_payload_size, defaults.max_udp_payload_size);
  put_int_if(id::initial_max_data, tp.initial_max_data, 0);
  put_int_if(id::initial_max_stream_data_bidi_local, tp.initial_max_stream_data_bidi_local, 0);
  put_int_if(id::initial_max_stream_data_bidi_remote, tp.initial_max_stream_data_bidi_remote, 0);
  put_int_if(id::initial_max_stream_data_uni, tp.initial_max_stream_data_uni, 0);
  put_int_if(id::initial_max_streams_bidi, tp.initial_max_streams_bidi, 0);
  put_int_if(id::initial_max_streams_uni, tp.initial_max_streams_uni, 0);
  put_int_if(id::ack_delay_exponent, tp.ack_delay_exponent, defaults.ack_delay_exponent);
  put_int_if(id::max_ack_delay, tp.max_ack_delay, defaults.max_ack_delay);
  if (tp.disable_active_migration) put_bytes(id::disable_active_migration, {});
  if (tp.preferred_address) {
    const PreferredAddress& pa = *tp.preferred_address;
    w.varint(id::preferred_address);
    w.varint(4 + 2 + 16 + 2 + 1 + pa.connection_id.length + kStatelessResetTokenLength);
    w.bytes(ByteView(pa.ipv4_address.data(), 4));
    w.uint(pa.ipv4_port, 2);
    w.bytes(ByteView(pa.ipv6_address.data(), 16));
    w.uint(pa.ipv6_port, 2);
    w.u8(pa.connection_id.length);
    w.bytes(pa.connection_id.view());
    w.bytes(ByteView(pa.stateless_reset_token.data(), kStatelessResetTokenLength));
  }
  put_int_if(id::active_connection_id_limit, tp.active_connection_id_limit,
             defaults.active_connection_id_limit);
  if (tp.initial_source_connection_id) {
    put_bytes(id::initial_source_connection_id, tp.initial_source_connection_id->view());
  }
  if (tp.retry_source_connection_id) {
    put_bytes(id::retry_source_connection_id, tp.retry_source_connection_id->view());
  }
  if (tp.max_datagram_frame_size) put_int(id::max_datagram_frame_size, *tp.max_datagram_frame_size);
  if (tp.initial_max_path_id) put_int(id::initial_max_path_id, *tp.initial_max_path_id);
  if (tp.min_ack_delay) put_int(id::min_ack_delay, *tp.min_ack_delay);
  if (grease_n) {
    // 31 * N + 27 must stay a varint.
    if (*grease_n > (varint::kMax - 27) / 31) return 0;
    put_bytes(31 * *grease_n + 27, {});
  }
  return w.result();
}

}  // namespace camp::quic
