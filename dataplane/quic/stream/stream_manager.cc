#include "dataplane/quic/stream/stream_manager.h"

#include <algorithm>

namespace camp::quic {

namespace {
int type_of(uint64_t id) { return stream_is_bidi(id) ? 0 : 1; }
}  // namespace

struct StreamManager::Stream {
  uint64_t id = 0;
  std::optional<SendStream> send;
  std::optional<RecvStream> recv;
  bool in_send_queue = false;
  bool in_control_queue = false;
  bool need_max_stream_data = false;
  bool need_stream_data_blocked = false;
  bool need_reset = false;
  bool need_stop_sending = false;
  uint64_t stop_code = 0;
  uint64_t blocked_at = ~uint64_t{0};  // limit a STREAM_DATA_BLOCKED was queued for
  SendMeta meta;
};

StreamManager::StreamManager(Perspective self, const TransportParameters& local,
                             const StreamManagerConfig& config)
    : self_(self), local_(local), config_(config) {
  accept_limit_[0] = local.initial_max_streams_bidi;
  accept_limit_[1] = local.initial_max_streams_uni;
  recv_max_data_ = local.initial_max_data;
}

StreamManager::~StreamManager() = default;

void StreamManager::on_peer_transport_parameters(const TransportParameters& peer) {
  peer_ = peer;
  open_limit_[0] = std::max(open_limit_[0], peer.initial_max_streams_bidi);
  open_limit_[1] = std::max(open_limit_[1], peer.initial_max_streams_uni);
  send_max_data_ = std::max(send_max_data_, peer.initial_max_data);
}

// --- stream table ------------------------------------------------------------------------------

StreamManager::Stream* StreamManager::find(uint64_t id) {
  // Consecutive packets and ACKs mostly concern the same stream: one remembered lookup saves
  // the hash table walk on the per-packet path.
  if (last_found_ && last_found_->id == id) return last_found_;
  auto it = streams_.find(id);
  if (it == streams_.end()) return nullptr;
  last_found_ = it->second.get();
  return last_found_;
}

const SendStream* StreamManager::send_stream(uint64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() || !it->second->send ? nullptr : &*it->second->send;
}

const RecvStream* StreamManager::recv_stream(uint64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() || !it->second->recv ? nullptr : &*it->second->recv;
}

StreamManager::Stream& StreamManager::create(uint64_t id) {
  auto s = std::make_unique<Stream>();
  s->id = id;
  const bool local = stream_is_local(id, self_);
  // Windows (18.2): "bidi_local" covers streams this endpoint opened, "bidi_remote" the peer's;
  // the peer's values bound what we send, ours what we receive.
  if (stream_can_send(id, self_)) {
    uint64_t limit = stream_is_uni(id) ? peer_.initial_max_stream_data_uni
                     : local          ? peer_.initial_max_stream_data_bidi_remote
                                      : peer_.initial_max_stream_data_bidi_local;
    s->send.emplace(config_.send_buffer_size, limit);
  }
  if (stream_can_receive(id, self_)) {
    uint64_t window = stream_is_uni(id) ? local_.initial_max_stream_data_uni
                      : local          ? local_.initial_max_stream_data_bidi_local
                                       : local_.initial_max_stream_data_bidi_remote;
    s->recv.emplace(window);
  }
  Stream& ref = *s;
  streams_.emplace(id, std::move(s));
  return ref;
}

// Resolves a stream named in a peer's frame. about_our_receiving: the frame concerns data the
// peer sends (STREAM, RESET_STREAM, STREAM_DATA_BLOCKED); otherwise data we send (STOP_SENDING,
// MAX_STREAM_DATA). out is null for a stream that is closed: such frames are ignored.
TransportError StreamManager::find_for_peer(uint64_t id, bool about_our_receiving,
                                            Stream*& out) {
  out = nullptr;
  if (id > varint::kMax) return TransportError::FRAME_ENCODING_ERROR;
  const bool local = stream_is_local(id, self_);
  // 19.4-19.13: frames for the missing direction of a unidirectional stream.
  if (about_our_receiving ? !stream_can_receive(id, self_) : !stream_can_send(id, self_)) {
    return TransportError::STREAM_STATE_ERROR;
  }
  const int t = type_of(id);
  const uint64_t index = stream_index(id);
  if (local) {
    // A locally initiated stream we have not opened yet (19.5, 19.8, 19.10).
    if (index >= next_local_[t]) return TransportError::STREAM_STATE_ERROR;
    out = find(id);
    return TransportError::NO_ERROR;
  }
  if (index >= accept_limit_[t]) return TransportError::STREAM_LIMIT_ERROR;
  if (index < next_peer_[t]) {
    out = find(id);
    return TransportError::NO_ERROR;
  }
  // 3.2: a stream of a type opens every lower-numbered stream of that type.
  for (uint64_t i = next_peer_[t]; i <= index; ++i) {
    uint64_t sid = make_stream_id(i, self_ == Perspective::kClient ? Perspective::kServer
                                                                    : Perspective::kClient,
                                  t == 0);
    create(sid);
    push(accept_queue_, sid);
  }
  next_peer_[t] = index + 1;
  out = find(id);
  return TransportError::NO_ERROR;
}

void StreamManager::queue_send(Stream& s) {
  if (!s.in_send_queue && s.send && s.send->has_pending()) {
    s.in_send_queue = true;
    push(send_queue_, SendEntry{s.id, s.meta.path_id});
    count_queued(s.meta.path_id, +1);
  }
}

void StreamManager::count_queued(uint32_t path_id, int delta) {
  // delta is +1 or -1; a pin missing from pins_ cannot happen (set_send_meta refuses it).
  if (path_id == kAnyPath) {
    unpinned_queued_ = delta > 0 ? unpinned_queued_ + 1 : unpinned_queued_ - 1;
    return;
  }
  for (PinCount& p : pins_) {
    if (p.path_id == path_id) {
      p.queued = delta > 0 ? p.queued + 1 : p.queued - 1;
      return;
    }
  }
}

void StreamManager::pop_send_front() {
  count_queued(send_queue_.front().path_id, -1);
  send_queue_.pop_front();
}

bool StreamManager::set_send_meta(uint64_t id, const SendMeta& meta) {
  Stream* s = find(id);
  if (!s || !s->send) return false;
  const uint32_t old_path = s->meta.path_id;
  if (meta.path_id != old_path) {
    PinCount* to = nullptr;
    for (PinCount& p : pins_) {
      if (p.path_id == meta.path_id) to = &p;
    }
    for (PinCount& p : pins_) {
      if (!to && meta.path_id != kAnyPath && p.streams == 0 && p.queued == 0) {
        p = PinCount{meta.path_id, 0, 0};
        to = &p;
      }
    }
    if (meta.path_id != kAnyPath && !to) return false;  // kMaxPinnedPaths in use
    for (PinCount& p : pins_) {
      if (p.path_id == old_path && p.streams) --p.streams;
    }
    if (to) ++to->streams;
    if (s->in_send_queue) {
      for (SendEntry& e : send_queue_) {
        if (e.id != id) continue;
        count_queued(e.path_id, -1);
        e.path_id = meta.path_id;
        count_queued(e.path_id, +1);
      }
    }
  }
  s->meta = meta;
  return true;
}

void StreamManager::unpin_path(uint32_t path_id) {
  if (path_id == kAnyPath) return;
  PinCount* pin = nullptr;
  for (PinCount& p : pins_) {
    if (p.path_id == path_id) pin = &p;
  }
  if (!pin || (pin->streams == 0 && pin->queued == 0)) return;
  for (auto& [id, st] : streams_) {
    if (st->meta.path_id == path_id) st->meta.path_id = kAnyPath;
  }
  for (SendEntry& e : send_queue_) {
    if (e.path_id == path_id) {
      e.path_id = kAnyPath;
      ++unpinned_queued_;
    }
  }
  *pin = PinCount{};
}

SendMeta StreamManager::send_meta(uint64_t id) const {
  const auto it = streams_.find(id);
  return it == streams_.end() ? SendMeta{} : it->second->meta;
}

bool StreamManager::has_pending_stream_data_for(uint32_t path_id) const {
  if (unpinned_queued_) return true;
  for (const PinCount& p : pins_) {
    if (p.path_id == path_id) return p.queued != 0;
  }
  return false;
}

size_t StreamManager::queued_streams(std::span<QueuedStream> out) const {
  size_t n = 0;
  for (const SendEntry& e : send_queue_) {
    if (n == out.size()) break;
    const auto it = streams_.find(e.id);
    if (it == streams_.end()) continue;
    out[n++] = QueuedStream{e.id, it->second->meta};
  }
  return n;
}

void StreamManager::queue_control(Stream& s) {
  if (!s.in_control_queue) {
    s.in_control_queue = true;
    push(control_queue_, s.id);
  }
}

// Returns connection credit for bytes that were read or dropped (4.1: MAX_DATA once half the
// window has been used since the last one).
void StreamManager::release_credit(uint64_t bytes) {
  recv_consumed_ += bytes;
  const uint64_t window = local_.initial_max_data;
  if (recv_max_data_ - recv_consumed_ < window - window / 2) {
    recv_max_data_ = recv_consumed_ + window;
    need_max_data_ = true;
  }
}

void StreamManager::maybe_close(Stream& s) {
  if ((s.send && !s.send->terminal()) || (s.recv && !s.recv->terminal())) return;
  if (s.need_reset || s.need_stop_sending) return;  // still owes the peer a frame
  const uint64_t id = s.id;
  if (!stream_is_local(id, self_)) {
    // 4.6: a closed peer stream lets the peer open another; refresh MAX_STREAMS once half of
    // the initial allowance has been used up.
    const int t = type_of(id);
    ++peer_closed_[t];
    const uint64_t initial = t == 0 ? local_.initial_max_streams_bidi
                                    : local_.initial_max_streams_uni;
    const uint64_t target = std::min(peer_closed_[t] + initial, kMaxStreamsLimit);
    if (target > accept_limit_[t] && target - accept_limit_[t] >= std::max<uint64_t>(1, initial / 2)) {
      accept_limit_[t] = target;
      need_max_streams_[t] = true;
    }
  }
  if (last_found_ && last_found_->id == id) last_found_ = nullptr;
  if (s.meta.path_id != kAnyPath) {
    for (PinCount& p : pins_) {
      if (p.path_id == s.meta.path_id && p.streams) --p.streams;
    }
  }
  streams_.erase(id);
}

// --- application -------------------------------------------------------------------------------

std::optional<uint64_t> StreamManager::open_stream(bool bidi) {
  const int t = bidi ? 0 : 1;
  if (next_local_[t] >= open_limit_[t]) {
    need_streams_blocked_[t] = true;  // 4.6: tell the peer we want more
    return std::nullopt;
  }
  uint64_t id = make_stream_id(next_local_[t]++, self_, bidi);
  create(id);
  return id;
}

std::optional<uint64_t> StreamManager::accept_stream() {
  while (!accept_queue_.empty()) {
    uint64_t id = accept_queue_.front();
    accept_queue_.pop_front();
    if (find(id)) return id;  // a stream reset and closed before it was accepted is skipped
  }
  return std::nullopt;
}

StreamIo StreamManager::write(uint64_t id, std::span<const uint8_t> data, bool fin) {
  StreamIo io;
  Stream* s = find(id);
  if (!s) {
    io.error = StreamAppError::kUnknownStream;
    return io;
  }
  if (!s->send) {
    io.error = StreamAppError::kWrongDirection;
    return io;
  }
  if (s->send->is_reset()) {
    io.error = StreamAppError::kReset;
    io.error_code = s->send->reset_error_code();
    return io;
  }
  if (s->send->state() == SendState::kDataSent || s->send->state() == SendState::kDataRecvd) {
    io.error = StreamAppError::kFinished;
    return io;
  }
  io.bytes = s->send->write(data, fin);
  io.fin = fin && io.bytes == data.size();
  queue_send(*s);
  return io;
}

StreamIo StreamManager::read(uint64_t id, std::span<uint8_t> out) {
  StreamIo io;
  Stream* s = find(id);
  if (!s) {
    io.error = StreamAppError::kUnknownStream;
    return io;
  }
  if (!s->recv) {
    io.error = StreamAppError::kWrongDirection;
    return io;
  }
  RecvStream& r = *s->recv;
  if (r.stopped()) {
    io.error = StreamAppError::kStopped;
    return io;
  }
  if (r.state() == RecvState::kResetRecvd || r.state() == RecvState::kResetRead) {
    io.error = StreamAppError::kReset;
    io.error_code = r.reset_error_code();
    r.acknowledge_reset();
    maybe_close(*s);
    return io;
  }
  io.bytes = r.read(out, io.fin);
  if (io.bytes) release_credit(io.bytes);
  if (r.wants_max_stream_data()) {
    r.advance_max_stream_data();
    s->need_max_stream_data = true;
    queue_control(*s);
  }
  if (io.fin) maybe_close(*s);
  return io;
}

bool StreamManager::reset_stream(uint64_t id, uint64_t error_code) {
  Stream* s = find(id);
  if (!s || !s->send || !s->send->reset(error_code)) return false;
  s->need_reset = true;
  queue_control(*s);
  return true;
}

bool StreamManager::stop_sending(uint64_t id, uint64_t error_code) {
  Stream* s = find(id);
  if (!s || !s->recv || s->recv->stopped()) return false;
  RecvState st = s->recv->state();
  if (st != RecvState::kRecv && st != RecvState::kSizeKnown) return false;  // 3.5: nothing to stop
  release_credit(s->recv->discard());
  s->stop_code = error_code;
  s->need_stop_sending = true;
  queue_control(*s);
  return true;
}

// --- frames received ---------------------------------------------------------------------------

TransportError StreamManager::on_stream_frame(const StreamFrame& f) {
  Stream* s;
  if (auto e = find_for_peer(f.stream_id, true, s); e != TransportError::NO_ERROR) return e;
  if (!s) return TransportError::NO_ERROR;  // closed stream: a late retransmission
  RecvStream::FcDelta fc;
  const uint64_t before = s->recv->highest_received();
  // 4.1: check the connection limit before the stream takes the bytes.
  const uint64_t end = f.offset + f.data.size;
  if (f.offset <= varint::kMax && f.data.size <= varint::kMax - f.offset && end > before &&
      end - before > recv_max_data_ - recv_data_) {
    return TransportError::FLOW_CONTROL_ERROR;
  }
  if (auto e = s->recv->on_stream_frame(f.offset, f.data, f.fin, fc); e != TransportError::NO_ERROR) {
    return e;
  }
  recv_data_ += fc.new_bytes;
  if (fc.released) release_credit(fc.released);
  maybe_close(*s);
  return TransportError::NO_ERROR;
}

TransportError StreamManager::on_reset_stream(const ResetStreamFrame& f) {
  Stream* s;
  if (auto e = find_for_peer(f.stream_id, true, s); e != TransportError::NO_ERROR) return e;
  if (!s) return TransportError::NO_ERROR;
  const uint64_t before = s->recv->highest_received();
  if (f.final_size > before && f.final_size - before > recv_max_data_ - recv_data_) {
    return TransportError::FLOW_CONTROL_ERROR;
  }
  RecvStream::FcDelta fc;
  if (auto e = s->recv->on_reset_stream(f.final_size, f.application_error_code, fc);
      e != TransportError::NO_ERROR) {
    return e;
  }
  recv_data_ += fc.new_bytes;
  if (fc.released) release_credit(fc.released);
  s->need_max_stream_data = false;
  maybe_close(*s);
  return TransportError::NO_ERROR;
}

TransportError StreamManager::on_stop_sending(const StopSendingFrame& f) {
  Stream* s;
  if (auto e = find_for_peer(f.stream_id, false, s); e != TransportError::NO_ERROR) return e;
  if (!s) return TransportError::NO_ERROR;
  // 3.5: answer with RESET_STREAM carrying the peer's error code.
  if (s->send->reset(f.application_error_code)) {
    s->need_reset = true;
    s->need_stream_data_blocked = false;
    queue_control(*s);
  }
  return TransportError::NO_ERROR;
}

TransportError StreamManager::on_max_data(const MaxDataFrame& f) {
  if (f.maximum_data <= send_max_data_) return TransportError::NO_ERROR;  // 19.9: never lowers
  send_max_data_ = f.maximum_data;
  need_data_blocked_ = false;
  // Streams that stopped on connection credit can go again.
  for (auto& [id, s] : streams_) queue_send(*s);
  return TransportError::NO_ERROR;
}

TransportError StreamManager::on_max_stream_data(const MaxStreamDataFrame& f) {
  Stream* s;
  if (auto e = find_for_peer(f.stream_id, false, s); e != TransportError::NO_ERROR) return e;
  if (!s) return TransportError::NO_ERROR;
  if (s->send->on_max_stream_data(f.maximum_stream_data)) {
    s->need_stream_data_blocked = false;
    queue_send(*s);
  }
  return TransportError::NO_ERROR;
}

TransportError StreamManager::on_max_streams(const MaxStreamsFrame& f) {
  if (f.maximum_streams > kMaxStreamsLimit) return TransportError::FRAME_ENCODING_ERROR;
  const int t = f.bidirectional ? 0 : 1;
  if (f.maximum_streams > open_limit_[t]) {
    open_limit_[t] = f.maximum_streams;
    need_streams_blocked_[t] = false;
  }
  return TransportError::NO_ERROR;
}

TransportError StreamManager::on_data_blocked(const DataBlockedFrame& f) {
  // The peer is stuck at a limit we have already raised: the raise may have been lost.
  if (f.maximum_data < recv_max_data_) need_max_data_ = true;
  return TransportError::NO_ERROR;
}

TransportError StreamManager::on_stream_data_blocked(const StreamDataBlockedFrame& f) {
  Stream* s;
  if (auto e = find_for_peer(f.stream_id, true, s); e != TransportError::NO_ERROR) return e;
  if (!s) return TransportError::NO_ERROR;
  if (s->recv->state() == RecvState::kRecv && !s->recv->stopped() &&
      f.maximum_stream_data < s->recv->max_stream_data()) {
    s->need_max_stream_data = true;
    queue_control(*s);
  }
  return TransportError::NO_ERROR;
}

TransportError StreamManager::on_streams_blocked(const StreamsBlockedFrame& f) {
  if (f.maximum_streams > kMaxStreamsLimit) return TransportError::FRAME_ENCODING_ERROR;
  const int t = f.bidirectional ? 0 : 1;
  if (f.maximum_streams < accept_limit_[t]) need_max_streams_[t] = true;
  return TransportError::NO_ERROR;
}

// --- frames to send ----------------------------------------------------------------------------

bool StreamManager::stream_control_frame(Stream& s, Frame& out) {
  if (s.need_reset) {
    s.need_reset = false;
    out = ResetStreamFrame{s.id, s.send->reset_error_code(), s.send->final_size()};
    return true;
  }
  if (s.need_stop_sending) {
    s.need_stop_sending = false;
    out = StopSendingFrame{s.id, s.stop_code};
    maybe_close(s);  // may free s
    return true;
  }
  if (s.need_max_stream_data) {
    s.need_max_stream_data = false;
    if (s.recv && s.recv->state() == RecvState::kRecv && !s.recv->stopped()) {
      out = MaxStreamDataFrame{s.id, s.recv->max_stream_data()};
      return true;
    }
  }
  if (s.need_stream_data_blocked) {
    s.need_stream_data_blocked = false;
    if (s.send && !s.send->is_reset()) {
      out = StreamDataBlockedFrame{s.id, s.send->max_stream_data()};
      return true;
    }
  }
  return false;
}

bool StreamManager::next_control_frame(Frame& out) {
  if (need_max_data_) {
    need_max_data_ = false;
    out = MaxDataFrame{recv_max_data_};
    return true;
  }
  if (need_data_blocked_) {
    need_data_blocked_ = false;
    out = DataBlockedFrame{send_max_data_};
    return true;
  }
  for (int t = 0; t < 2; ++t) {
    if (need_max_streams_[t]) {
      need_max_streams_[t] = false;
      out = MaxStreamsFrame{t == 0, accept_limit_[t]};
      return true;
    }
    if (need_streams_blocked_[t]) {
      need_streams_blocked_[t] = false;
      out = StreamsBlockedFrame{t == 0, open_limit_[t]};
      return true;
    }
  }
  while (!control_queue_.empty()) {
    uint64_t id = control_queue_.front();
    Stream* s = find(id);
    if (!s) {
      control_queue_.pop_front();
      continue;
    }
    bool more_after = false;
    if (stream_control_frame(*s, out)) {
      s = find(id);  // a sent STOP_SENDING may have closed it
      more_after = s && (s->need_reset || s->need_stop_sending || s->need_max_stream_data ||
                         s->need_stream_data_blocked);
      if (!more_after) {
        if (s) s->in_control_queue = false;
        control_queue_.pop_front();
      }
      return true;
    }
    s->in_control_queue = false;
    control_queue_.pop_front();
  }
  return false;
}

bool StreamManager::next_stream_frame_on(uint64_t id, size_t max_len, StreamFrame& out) {
  Stream* s = find(id);
  if (!s || !s->send) return false;
  StreamChunk chunk;
  uint64_t new_bytes = 0;
  SendStream::Blocked blocked;
  const bool got =
      s->send->next_chunk(max_len, send_max_data_ - send_data_, chunk, new_bytes, blocked);
  send_data_ += new_bytes;
  // 4.1: say so once per limit when data waits on MAX_STREAM_DATA or MAX_DATA, checked after
  // a chunk too so a sender that just hit the limit reports it without another try.
  const SendStream& ss = *s->send;
  if (ss.wants_new_data()) {
    if (ss.sent_offset() == ss.max_stream_data()) {
      if (s->blocked_at != ss.max_stream_data()) {
        s->blocked_at = ss.max_stream_data();
        s->need_stream_data_blocked = true;
        queue_control(*s);
      }
    } else if (send_data_ == send_max_data_ && data_blocked_at_ != send_max_data_) {
      data_blocked_at_ = send_max_data_;
      need_data_blocked_ = true;
    }
  }
  if (!got) return false;
  out = StreamFrame{};
  out.stream_id = id;
  out.offset = chunk.offset;
  out.data = chunk.data;
  out.has_offset = chunk.offset != 0;
  out.has_length = true;
  out.fin = chunk.fin;
  last_retransmission_ = chunk.retransmission;
  last_ring_ = chunk.ring;
  return true;
}

bool StreamManager::next_stream_frame(size_t max_len, StreamFrame& out) {
  return next_stream_frame(max_len, out, kAnyPath);
}

bool StreamManager::next_stream_frame(size_t max_len, StreamFrame& out, uint32_t path_id) {
  for (size_t tries = send_queue_.size(); tries > 0 && !send_queue_.empty(); --tries) {
    const SendEntry front = send_queue_.front();
    Stream* s = find(front.id);
    if (!s) {
      pop_send_front();
      continue;
    }
    if (path_id != kAnyPath && front.path_id != kAnyPath && front.path_id != path_id) {
      // Pinned to another path: it keeps its turn for a packet on that path.
      send_queue_.pop_front();
      send_queue_.push_back(front);  // room: front was just popped
      continue;
    }
    bool got = next_stream_frame_on(front.id, max_len, out);
    if (got && send_queue_.size() == 1 && s->send->has_pending()) {
      return true;  // the only sender stays at the front: no queue churn (and no deque blocks)
    }
    pop_send_front();
    s->in_send_queue = false;
    // Round robin: a stream with more to send goes to the back. A blocked one waits for the
    // MAX_STREAM_DATA / MAX_DATA (or a loss) that puts it back.
    if (got) queue_send(*s);
    if (got) return true;
  }
  return false;
}

// --- delivery events ---------------------------------------------------------------------------

void StreamManager::on_stream_frame_acked(uint64_t id, uint64_t offset, uint64_t length, bool fin) {
  Stream* s = find(id);
  if (!s || !s->send) return;
  s->send->on_acked(offset, length, fin);
  maybe_close(*s);
}

void StreamManager::on_stream_frame_lost(uint64_t id, uint64_t offset, uint64_t length, bool fin) {
  Stream* s = find(id);
  if (!s || !s->send) return;
  s->send->on_lost(offset, length, fin);
  queue_send(*s);
}

void StreamManager::on_control_frame_acked(const Frame& f) {
  if (auto* r = std::get_if<ResetStreamFrame>(&f)) {
    if (Stream* s = find(r->stream_id); s && s->send) {
      s->send->on_reset_acked();
      maybe_close(*s);
    }
  }
}

void StreamManager::on_control_frame_lost(const Frame& f) {
  if (auto* m = std::get_if<MaxDataFrame>(&f)) {
    if (m->maximum_data == recv_max_data_) need_max_data_ = true;
  } else if (auto* m = std::get_if<MaxStreamsFrame>(&f)) {
    const int t = m->bidirectional ? 0 : 1;
    if (m->maximum_streams == accept_limit_[t]) need_max_streams_[t] = true;
  } else if (auto* m = std::get_if<StreamsBlockedFrame>(&f)) {
    const int t = m->bidirectional ? 0 : 1;
    if (m->maximum_streams == open_limit_[t] && next_local_[t] >= open_limit_[t]) {
      need_streams_blocked_[t] = true;
    }
  } else if (auto* m = std::get_if<DataBlockedFrame>(&f)) {
    if (m->maximum_data == send_max_data_ && send_data_ == send_max_data_) need_data_blocked_ = true;
  } else if (auto* m = std::get_if<MaxStreamDataFrame>(&f)) {
    Stream* s = find(m->stream_id);
    if (s && s->recv && s->recv->state() == RecvState::kRecv && !s->recv->stopped() &&
        m->maximum_stream_data == s->recv->max_stream_data()) {
      s->need_max_stream_data = true;
      queue_control(*s);
    }
  } else if (auto* m = std::get_if<StreamDataBlockedFrame>(&f)) {
    Stream* s = find(m->stream_id);
    if (s && s->send && !s->send->is_reset() && m->maximum_stream_data == s->send->max_stream_data() &&
        s->send->sent_offset() == s->send->max_stream_data()) {
      s->need_stream_data_blocked = true;
      queue_control(*s);
    }
  } else if (auto* m = std::get_if<ResetStreamFrame>(&f)) {
    Stream* s = find(m->stream_id);
    if (s && s->send && s->send->state() == SendState::kResetSent) {
      s->need_reset = true;
      queue_control(*s);
    }
  } else if (auto* m = std::get_if<StopSendingFrame>(&f)) {
    // Resent until the peer's RESET_STREAM arrives (the stream is then closed and gone).
    Stream* s = find(m->stream_id);
    if (s && s->recv && s->recv->stopped() && s->recv->state() != RecvState::kResetRead) {
      s->need_stop_sending = true;
      queue_control(*s);
    }
  }
}

}  // namespace camp::quic
