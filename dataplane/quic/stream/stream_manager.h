// All streams of one connection (RFC 9000 2-4): opening local streams within the peer's
// MAX_STREAMS, accepting peer streams (opening lower-numbered ones implicitly, 3.2), connection
// and stream flow control in both directions, and the frames that come out of it. I/O free: the
// connection feeds in parsed frames and acknowledgement/loss events and pulls out frames to send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include <boost/circular_buffer.hpp>

#include "dataplane/quic/stream/recv_stream.h"
#include "dataplane/quic/stream/send_meta.h"
#include "dataplane/quic/stream/send_stream.h"
#include "dataplane/quic/stream/stream_id.h"
#include "dataplane/quic/wire/frames.h"
#include "dataplane/quic/wire/transport_error.h"
#include "dataplane/quic/wire/transport_parameters.h"

namespace camp::quic {

// Application-side outcome of a stream call (not a connection error).
enum class StreamAppError : uint8_t {
  kNone,
  kUnknownStream,   // never opened, or already closed and forgotten
  kWrongDirection,  // writing a receive-only or reading a send-only stream
  kFinished,        // write after FIN
  kReset,           // the peer reset the stream (read) or asked us to stop (write)
  kStopped,         // read after this side asked the peer to stop sending
};

struct StreamIo {
  size_t bytes = 0;
  bool fin = false;  // read: the last byte has been delivered
  StreamAppError error = StreamAppError::kNone;
  uint64_t error_code = 0;  // application error code with kReset
};

// A stream with data queued to send, as the scheduler sees it.
struct QueuedStream {
  uint64_t id = 0;
  SendMeta meta;
};

struct StreamManagerConfig {
  size_t send_buffer_size = 1 << 20;  // per stream, bytes written but not yet acknowledged
};

class StreamManager {
 public:
  // local: the transport parameters this endpoint sent; they size every receive window.
  StreamManager(Perspective self, const TransportParameters& local,
                const StreamManagerConfig& config = {});
  ~StreamManager();

  // The peer's transport parameters: limits for sending and for opening streams.
  void on_peer_transport_parameters(const TransportParameters& peer);

  // --- Application ---------------------------------------------------------------------------
  // Opens the next local stream; nullopt at the peer's limit (STREAMS_BLOCKED is queued).
  std::optional<uint64_t> open_stream(bool bidi);
  // Next stream the peer opened, in ID order per type.
  std::optional<uint64_t> accept_stream();
  StreamIo write(uint64_t id, std::span<const uint8_t> data, bool fin);
  StreamIo read(uint64_t id, std::span<uint8_t> out);
  // The SendMeta of a stream this side sends on. False for an unknown or receive-only stream,
  // or a pin that would make more than kMaxPinnedPaths paths pinned at once.
  static constexpr size_t kMaxPinnedPaths = 8;
  bool set_send_meta(uint64_t id, const SendMeta& meta);
  SendMeta send_meta(uint64_t id) const;  // the default for an unknown stream
  // Every stream pinned to path_id is free to go on any path from now on (the path closed).
  void unpin_path(uint32_t path_id);
  // RESET_STREAM (3.3) / STOP_SENDING (3.5) on request. False when not applicable.
  bool reset_stream(uint64_t id, uint64_t error_code);
  bool stop_sending(uint64_t id, uint64_t error_code);

  // --- Frames received -----------------------------------------------------------------------
  // Each returns NO_ERROR or the transport error to close the connection with.
  TransportError on_stream_frame(const StreamFrame& f);
  TransportError on_reset_stream(const ResetStreamFrame& f);
  TransportError on_stop_sending(const StopSendingFrame& f);
  TransportError on_max_data(const MaxDataFrame& f);
  TransportError on_max_stream_data(const MaxStreamDataFrame& f);
  TransportError on_max_streams(const MaxStreamsFrame& f);
  TransportError on_data_blocked(const DataBlockedFrame& f);
  TransportError on_stream_data_blocked(const StreamDataBlockedFrame& f);
  TransportError on_streams_blocked(const StreamsBlockedFrame& f);

  // --- Frames to send ------------------------------------------------------------------------
  // Next flow-control / stream-control frame to send (MAX_*, *_BLOCKED, RESET_STREAM,
  // STOP_SENDING); false when none is pending.
  bool next_control_frame(Frame& out);
  // Next STREAM frame with at most max_len data bytes, streams served round robin. out.data
  // points into the send buffer and stays valid until the next call into this manager.
  bool next_stream_frame(size_t max_len, StreamFrame& out);
  // Same, for a packet on path `path_id`: streams pinned to another path are passed over (they
  // keep their place in the round robin).
  bool next_stream_frame(size_t max_len, StreamFrame& out, uint32_t path_id);
  // Same, from one stream only.
  bool next_stream_frame_on(uint64_t id, size_t max_len, StreamFrame& out);
  // Whether the frame the last call gave carries data sent before and declared lost.
  bool last_frame_retransmission() const { return last_retransmission_; }
  // Where the data of that frame lies in its stream's send ring (StreamChunk::ring).
  RingLead last_frame_ring() const { return last_ring_; }

  // --- Delivery events (from loss recovery) --------------------------------------------------
  void on_stream_frame_acked(uint64_t id, uint64_t offset, uint64_t length, bool fin);
  void on_stream_frame_lost(uint64_t id, uint64_t offset, uint64_t length, bool fin);
  // For frames from next_control_frame: an acked RESET_STREAM completes the reset; a lost frame
  // is queued again when its content is still current (13.3).
  void on_control_frame_acked(const Frame& f);
  void on_control_frame_lost(const Frame& f);

  // --- Inspection ----------------------------------------------------------------------------
  bool stream_exists(uint64_t id) const { return streams_.count(id) != 0; }
  size_t stream_count() const { return streams_.size(); }
  const SendStream* send_stream(uint64_t id) const;
  const RecvStream* recv_stream(uint64_t id) const;
  bool has_pending_stream_data() const { return !send_queue_.empty(); }
  // Whether a queued stream may go on `path_id` (unpinned, or pinned to it); O(pinned paths).
  bool has_pending_stream_data_for(uint32_t path_id) const;
  // Whether some queued stream is free to go on any path.
  bool has_unpinned_stream_data() const { return unpinned_queued_ != 0; }
  // The queued streams in round-robin order with their SendMeta, up to out.size(); returns how
  // many were written. For schedulers that weigh deadlines and synchronisation indices.
  size_t queued_streams(std::span<QueuedStream> out) const;
  // Whether next_control_frame() may have a frame (a queued stream may turn out to have none).
  bool has_pending_control() const {
    return need_max_data_ || need_data_blocked_ || need_max_streams_[0] || need_max_streams_[1] ||
           need_streams_blocked_[0] || need_streams_blocked_[1] || !control_queue_.empty();
  }
  uint64_t conn_send_limit() const { return send_max_data_; }
  uint64_t conn_sent() const { return send_data_; }
  uint64_t conn_recv_limit() const { return recv_max_data_; }
  uint64_t conn_received() const { return recv_data_; }
  uint64_t conn_consumed() const { return recv_consumed_; }
  uint64_t local_stream_limit(bool bidi) const { return open_limit_[bidi ? 0 : 1]; }
  uint64_t peer_stream_limit(bool bidi) const { return accept_limit_[bidi ? 0 : 1]; }

 private:
  struct Stream;

  TransportError find_for_peer(uint64_t id, bool about_our_receiving, Stream*& out);
  Stream* find(uint64_t id);
  Stream& create(uint64_t id);
  void queue_send(Stream& s);
  // Bookkeeping of the send queue's pins (queued streams per pinned path, and unpinned ones).
  void count_queued(uint32_t path_id, int delta);
  void pop_send_front();
  void queue_control(Stream& s);
  void release_credit(uint64_t bytes);
  void maybe_close(Stream& s);
  bool stream_control_frame(Stream& s, Frame& out);

  Perspective self_;
  TransportParameters local_;
  StreamManagerConfig config_;
  TransportParameters peer_;
  std::unordered_map<uint64_t, std::unique_ptr<Stream>> streams_;
  Stream* last_found_ = nullptr;  // find()'s last answer (cleared when that stream goes)

  // Index 0: bidirectional, 1: unidirectional.
  uint64_t next_local_[2] = {0, 0};    // index of the next stream we open
  uint64_t open_limit_[2] = {0, 0};    // peer's MAX_STREAMS for our streams
  uint64_t next_peer_[2] = {0, 0};     // index above every peer stream seen
  uint64_t accept_limit_[2] = {0, 0};  // our MAX_STREAMS for the peer's streams
  uint64_t peer_closed_[2] = {0, 0};   // peer streams fully closed (for MAX_STREAMS credit)
  bool need_max_streams_[2] = {false, false};
  bool need_streams_blocked_[2] = {false, false};

  // Connection flow control (4.1). Send: sum of sent offsets against the peer's MAX_DATA.
  uint64_t send_max_data_ = 0;
  uint64_t send_data_ = 0;
  uint64_t data_blocked_at_ = ~uint64_t{0};  // limit a DATA_BLOCKED was queued for
  bool need_data_blocked_ = false;
  bool last_retransmission_ = false;  // of the frame next_stream_frame_on gave last
  RingLead last_ring_;
  // Receive: sum of highest offsets against our MAX_DATA; consumed = read or released.
  uint64_t recv_max_data_ = 0;
  uint64_t recv_data_ = 0;
  uint64_t recv_consumed_ = 0;
  bool need_max_data_ = false;

  // FIFOs that keep their storage: each grows (doubling) only past its largest size so far, so
  // streams queued and dequeued packet after packet allocate nothing (a std::deque frees and
  // allocates blocks as it moves along). Streams are bounded by the stream limits, and so are
  // these.
  template <class T>
  static void push(boost::circular_buffer<T>& q, const T& v) {
    if (q.full()) q.set_capacity(q.capacity() < 8 ? 8 : 2 * q.capacity());
    q.push_back(v);
  }
  boost::circular_buffer<uint64_t> accept_queue_;
  struct SendEntry {
    uint64_t id;
    uint32_t path_id;  // the stream's pin when queued (kept in step by set_send_meta)
  };
  boost::circular_buffer<SendEntry> send_queue_;
  size_t unpinned_queued_ = 0;
  struct PinCount {
    uint32_t path_id = kAnyPath;
    uint32_t queued = 0;  // streams in send_queue_ pinned to path_id
    uint32_t streams = 0;  // live streams pinned to path_id (bounds the table)
  };
  PinCount pins_[kMaxPinnedPaths];
  boost::circular_buffer<uint64_t> control_queue_;
};

}  // namespace camp::quic
