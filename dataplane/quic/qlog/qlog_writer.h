// qlog for one QUIC connection: the main schema's JSON-SEQ file format (qlog_version "0.4",
// draft-ietf-quic-qlog-main-schema-07) with the QUIC events of draft-ietf-quic-qlog-quic-events.
// The connection holds a QlogWriter only when qlog output was asked for, so logging costs a null
// pointer check when it is off. Events are formatted into one bounded buffer allocated at
// construction; full chunks go to the sink, flush() hands over the rest. No I/O, no allocation
// per event: the caller's sink decides where bytes go (see README.md for a FILE* sink).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "dataplane/endpoint.h"
#include "dataplane/quic/qlog/json_seq_output.h"
#include "dataplane/quic/recovery/types.h"
#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/frame_types.h"
#include "dataplane/quic/wire/frames.h"
#include "dataplane/quic/wire/packet_header.h"
#include "dataplane/quic/wire/transport_parameters.h"

namespace camp::quic {

enum class QlogVantage : uint8_t { kClient, kServer };

// Event names. kCategory is what qlog_version "0.4" tooling reads (quic-events-06 and before:
// "transport:packet_sent", "recovery:metrics_updated", ...); kQuicNamespace is the single "quic:"
// namespace of the later drafts ("quic:packet_sent", "quic:recovery_metrics_updated", ...).
enum class QlogNaming : uint8_t { kCategory, kQuicNamespace };

// Who caused the event (parameters_set, connection_closed).
enum class QlogOwner : uint8_t { kLocal, kRemote };

// recovery:packet_lost triggers.
enum class QlogLossTrigger : uint8_t { kReorderingThreshold, kTimeThreshold, kPtoExpired };

// security:key_updated key types and triggers.
enum class QlogKeyType : uint8_t {
  kServerInitialSecret,
  kClientInitialSecret,
  kServerHandshakeSecret,
  kClientHandshakeSecret,
  kServer0RttSecret,
  kClient0RttSecret,
  kServer1RttSecret,
  kClient1RttSecret,
};
enum class QlogKeyTrigger : uint8_t { kTls, kRemoteUpdate, kLocalUpdate };

struct QlogConfig {
  QlogVantage vantage = QlogVantage::kServer;
  std::string_view title;  // copied into the header record at construction
  ByteView odcid;          // the Original Destination Connection ID: names the trace
  // Event times are relative to this instant of the caller's clock.
  TimeNs reference_time = 0;
  // The header's reference_time in ms; when unset, reference_time / 1e6 (the caller's clock).
  // Set it to the Unix epoch time of reference_time so tools can show wall-clock times.
  std::optional<uint64_t> reference_time_unix_ms;
  size_t buffer_size = 64 * 1024;  // bytes held before the sink is called
  QlogNaming naming = QlogNaming::kCategory;
  // ACK Delay scaling (RFC 9000 18.2 ack_delay_exponent) for ACKs this endpoint sends and for
  // ACKs the peer sends; set_peer_ack_delay_exponent() once its parameters are known.
  uint64_t local_ack_delay_exponent = 3;
  uint64_t peer_ack_delay_exponent = 3;
};

// recovery:metrics_updated; unset fields are left out. Durations in ns (written as ms).
struct QlogRecoveryMetrics {
  std::optional<DurationNs> min_rtt;
  std::optional<DurationNs> smoothed_rtt;
  std::optional<DurationNs> latest_rtt;
  std::optional<DurationNs> rtt_variance;
  std::optional<uint64_t> pto_count;
  std::optional<uint64_t> congestion_window;  // bytes
  std::optional<uint64_t> bytes_in_flight;
  std::optional<uint64_t> ssthresh;
  std::optional<uint64_t> packets_in_flight;
  std::optional<uint64_t> pacing_rate;  // bits per second, as qlog defines it
};

class QlogWriter {
 public:
  static constexpr std::string_view kQlogVersion = "0.4";
  static constexpr std::string_view kQlogFormat = "JSON-SEQ";

  // Writes the header record (it reaches the sink with the first full chunk or flush()).
  QlogWriter(const QlogConfig& config, QlogSink sink);
  // Flushes what is left to the sink.
  ~QlogWriter();
  QlogWriter(const QlogWriter&) = delete;
  QlogWriter& operator=(const QlogWriter&) = delete;

  void set_peer_ack_delay_exponent(uint64_t e) { peer_ack_delay_exponent_ = e; }

  // connectivity:connection_started. src is this endpoint, dst the peer.
  void connection_started(TimeNs now, const Tuple& tuple, ByteView src_cid, ByteView dst_cid);

  // transport:parameters_set with every field of tp (defaults included, so a reader sees the
  // values in force).
  void parameters_set(TimeNs now, QlogOwner owner, const TransportParameters& tp);

  // transport:version_information. chosen_version 0 is left out.
  void version_information(TimeNs now, std::span<const uint32_t> server_versions,
                           std::span<const uint32_t> client_versions, uint32_t chosen_version);

  // transport:alpn_information; empty lists and an empty chosen_alpn are left out.
  void alpn_information(TimeNs now, std::span<const std::string_view> server_alpns,
                        std::span<const std::string_view> client_alpns,
                        std::string_view chosen_alpn);

  // transport:packet_sent. length is the whole packet on the wire (raw.length); frames as built.
  void packet_sent(TimeNs now, PacketType type, uint64_t pn, ByteView dcid, ByteView scid,
                   size_t length, std::span<const Frame> frames);
  // The same from the packet's plaintext payload, parsed here with FrameReader.
  void packet_sent(TimeNs now, PacketType type, uint64_t pn, ByteView dcid, ByteView scid,
                   size_t length, ByteView payload);

  // transport:packet_received, from built frames or from the decrypted payload.
  void packet_received(TimeNs now, PacketType type, uint64_t pn, ByteView dcid, ByteView scid,
                       size_t length, std::span<const Frame> frames);
  void packet_received(TimeNs now, PacketType type, uint64_t pn, ByteView dcid, ByteView scid,
                       size_t length, ByteView payload);

  // transport:packet_dropped. Without a header (nothing parsed), with the unprotected part of
  // one (packet number unknown), or with a decrypted packet number.
  void packet_dropped(TimeNs now, size_t raw_length, std::string_view trigger);
  void packet_dropped(TimeNs now, const PacketHeader& header, size_t raw_length,
                      std::string_view trigger);
  void packet_dropped(TimeNs now, PacketType type, uint64_t pn, size_t raw_length,
                      std::string_view trigger);

  // transport:packets_acked.
  void packets_acked(TimeNs now, PnSpace space, std::span<const uint64_t> packet_numbers);

  // recovery:packet_lost.
  void packet_lost(TimeNs now, PacketType type, uint64_t pn, QlogLossTrigger trigger);

  // recovery:metrics_updated.
  void metrics_updated(TimeNs now, const QlogRecoveryMetrics& m);

  // recovery:congestion_state_updated ("slow_start", "congestion_avoidance", "recovery",
  // "application_limited", or a controller's own state names). Empty old / trigger are left out.
  void congestion_state_updated(TimeNs now, std::string_view old_state,
                                std::string_view new_state, std::string_view trigger = {});

  // security:key_updated.
  void key_updated(TimeNs now, QlogKeyType key_type, uint64_t generation, QlogKeyTrigger trigger);

  // connectivity:connection_closed for a CONNECTION_CLOSE sent (kLocal) or received (kRemote):
  // connection_code or application_code, and the reason phrase (escaped: peer-controlled).
  void connection_closed(TimeNs now, QlogOwner owner, const ConnectionCloseFrame& close,
                         std::string_view trigger = {});
  // For closes without a frame ("idle_timeout", "stateless_reset", ...).
  void connection_closed(TimeNs now, QlogOwner owner, std::string_view trigger);

  // Hands everything buffered to the sink.
  void flush() { out_.flush(); }

  size_t buffer_size() const { return out_.capacity(); }
  size_t buffered() const { return out_.buffered(); }
  uint64_t bytes_written() const { return out_.total_bytes(); }  // header included

 private:
  enum class Event : uint8_t;

  void begin_event(TimeNs now, Event e);  // opens "data"
  void end_event();
  void packet_event(TimeNs now, Event e, PacketType type, uint64_t pn, ByteView dcid,
                    ByteView scid, size_t length);
  void header(PacketType type, const uint64_t* pn, ByteView dcid, ByteView scid);

  qlog::JsonSeqOutput out_;
  QlogNaming naming_;
  TimeNs reference_;
  uint64_t local_ack_delay_exponent_;
  uint64_t peer_ack_delay_exponent_;
};

}  // namespace camp::quic
