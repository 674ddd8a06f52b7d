// Counters one connection keeps (campctl conns / conn, qlog, tests). Plain integers: only the
// owning worker writes them.
#pragma once

#include <cstdint>

namespace camp::quic {

struct ConnStats {
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;   // datagrams, in fact
  uint64_t packets_decrypted = 0;  // packets that decrypted and were processed
  uint64_t bytes_sent = 0;       // UDP payload bytes
  uint64_t bytes_received = 0;
  uint64_t packets_lost = 0;
  uint64_t packets_acked = 0;
  uint64_t stream_bytes_sent = 0;      // STREAM frame data, retransmissions included
  uint64_t stream_bytes_retransmitted = 0;
  uint64_t data_only_packets = 0;  // sent when nothing but application data could go (fast path)
  uint64_t sealed_from_send_buffer = 0;  // packets whose STREAM data was sealed from its ring
  uint64_t datagrams_sent = 0;
  uint64_t datagrams_received = 0;
  uint64_t datagrams_dropped = 0;  // received while the application queue was full
  uint64_t key_updates = 0;
  uint64_t pto_count = 0;
  // Migration (RFC 9000 9) and path validation (8.2).
  uint64_t migrations = 0;               // the active path moved to a new 4-tuple
  uint64_t path_validations = 0;         // succeeded
  uint64_t path_validation_failures = 0; // timed out (9.3.2: back to the last validated tuple)
  uint64_t previous_path_validations = 0; // the 4-tuple a peer left answered our challenge (9.3.3)
  uint64_t path_challenges_answered = 0;
  uint64_t path_challenges_sent = 0;
  uint64_t path_responses_unmatched = 0;  // PATH_RESPONSE with data of no outstanding challenge
  uint64_t drop_early_migration = 0;     // from a new address before the handshake was confirmed
  uint64_t drop_unknown_server_address = 0;  // client: from a server address no path has
  // Multipath (draft-ietf-quic-multipath-21).
  uint64_t paths_opened = 0;       // path IDs other than 0 that came into use
  uint64_t paths_abandoned = 0;    // PATH_ABANDON exchanged (sent first or in answer)
  uint64_t failovers = 0;          // a path went silent: its data went again on the others
  uint64_t redundant_packets = 0;  // copies the redundant scheduler sent on other paths
  uint64_t path_status_stale = 0;  // PATH_STATUS_* with an old sequence number, ignored
  uint64_t drop_unknown_path = 0;  // a packet for a path ID we may not open (limit, closed ID)
  // Packets dropped without closing the connection, by reason.
  uint64_t drop_decrypt = 0;       // AEAD or header protection failed (or keys not yet there)
  uint64_t drop_duplicate = 0;
  uint64_t drop_header = 0;        // unparsable header inside the datagram
  uint64_t drop_no_keys = 0;       // keys for that level discarded or not yet installed
  uint64_t drop_wrong_cid = 0;     // coalesced packet with another DCID (RFC 9000 12.2)
};

}  // namespace camp::quic
