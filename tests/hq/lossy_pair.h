// Two StreamManagers (client and server) joined by an in-test channel that drops, delays (so
// reorders) and duplicates packets and sometimes declares a delivered packet lost: the shape of
// tests/quic_stream/loopback_test.cc, with the applications run between delivery and sending.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <variant>
#include <vector>

#include "dataplane/quic/stream/stream_manager.h"

namespace camp::hq::test {

using quic::Frame;
using quic::StreamManager;
using quic::TransportError;

struct LinkConfig {
  unsigned drop_pct = 8;       // lost, reported lost a little later
  unsigned spurious_pct = 3;   // delivered but first reported lost
  unsigned dup_pct = 3;        // delivered twice
  size_t packet_bytes = 1200;  // payload budget per packet
  size_t max_frame_data = SIZE_MAX;  // most STREAM bytes per frame (1 splits into 1-byte frames)
  int packets_per_tick = 32;
};

struct Counts {
  uint64_t delivered[std::variant_size_v<Frame>] = {};
  uint64_t lost_reports = 0;
  template <class F>
  uint64_t seen() const {
    return delivered[Frame(F{}).index()];
  }
};

class Link {
 public:
  Link(std::mt19937_64& rng, StreamManager& from, StreamManager& to, LinkConfig cfg)
      : rng_(rng), from_(from), to_(to), cfg_(cfg) {}

  // Builds up to packets_per_tick packets from the sender's control frames and stream data.
  void send(uint64_t now) {
    for (int n = 0; n < cfg_.packets_per_tick; ++n) {
      Packet p;
      size_t room = cfg_.packet_bytes;
      Frame cf;
      while (room > 40 && from_.next_control_frame(cf)) {
        add(p, cf);
        room -= 20;
      }
      quic::StreamFrame sf;
      while (room > 40 && from_.next_stream_frame(std::min(room - 30, cfg_.max_frame_data), sf)) {
        add(p, sf);
        room -= std::min(room, sf.data.size + 30);
      }
      if (p.frames.empty()) return;
      route(std::move(p), now);
    }
  }

  // Delivers due packets to the receiver and runs due acknowledgement / loss reports.
  void deliver(uint64_t now) {
    std::vector<Packet> due;
    for (size_t i = 0; i < in_flight_.size();) {
      if (in_flight_[i].at <= now) {
        due.push_back(std::move(in_flight_[i]));
        in_flight_[i] = std::move(in_flight_.back());
        in_flight_.pop_back();
      } else {
        ++i;
      }
    }
    std::shuffle(due.begin(), due.end(), rng_);
    for (Packet& p : due) {
      for (size_t i = 0; i < p.frames.size(); ++i) {
        TransportError e = dispatch(p.frames[i], p.bytes[i]);
        if (e != TransportError::NO_ERROR && error == TransportError::NO_ERROR) error = e;
      }
      events_.push_back({now + 1 + rng_() % 3, [this, p] { report(p, true); }});
    }
    std::vector<std::function<void()>> run;
    for (size_t i = 0; i < events_.size();) {
      if (events_[i].at <= now) {
        run.push_back(std::move(events_[i].fn));
        events_[i] = std::move(events_.back());
        events_.pop_back();
      } else {
        ++i;
      }
    }
    for (auto& fn : run) fn();
  }

  bool idle() const { return in_flight_.empty() && events_.empty(); }

  Counts counts;
  TransportError error = TransportError::NO_ERROR;  // first error the receiver returned

 private:
  struct Packet {
    uint64_t at = 0;
    std::vector<Frame> frames;
    std::vector<std::vector<uint8_t>> bytes;  // STREAM data copies: the sender's views expire
  };
  struct Event {
    uint64_t at;
    std::function<void()> fn;
  };

  static void add(Packet& p, const Frame& f) {
    std::vector<uint8_t> b;
    if (auto* s = std::get_if<quic::StreamFrame>(&f)) b.assign(s->data.data, s->data.data + s->data.size);
    p.frames.push_back(f);
    p.bytes.push_back(std::move(b));
  }

  void route(Packet p, uint64_t now) {
    p.at = now + 1 + rng_() % 5;
    const unsigned roll = static_cast<unsigned>(rng_() % 100);
    if (roll < cfg_.drop_pct) {
      events_.push_back({p.at + 3, [this, p] { report(p, false); }});
      return;
    }
    if (roll < cfg_.drop_pct + cfg_.spurious_pct) {
      events_.push_back({p.at, [this, p] { report(p, false); }});
    }
    if (roll >= 100 - cfg_.dup_pct) in_flight_.push_back(p);
    in_flight_.push_back(std::move(p));
  }

  TransportError dispatch(Frame f, const std::vector<uint8_t>& bytes) {
    ++counts.delivered[f.index()];
    StreamManager& m = to_;
    if (auto* s = std::get_if<quic::StreamFrame>(&f)) {
      s->data = quic::ByteView(bytes.data(), bytes.size());
      return m.on_stream_frame(*s);
    }
    if (auto* x = std::get_if<quic::ResetStreamFrame>(&f)) return m.on_reset_stream(*x);
    if (auto* x = std::get_if<quic::StopSendingFrame>(&f)) return m.on_stop_sending(*x);
    if (auto* x = std::get_if<quic::MaxDataFrame>(&f)) return m.on_max_data(*x);
    if (auto* x = std::get_if<quic::MaxStreamDataFrame>(&f)) return m.on_max_stream_data(*x);
    if (auto* x = std::get_if<quic::MaxStreamsFrame>(&f)) return m.on_max_streams(*x);
    if (auto* x = std::get_if<quic::DataBlockedFrame>(&f)) return m.on_data_blocked(*x);
    if (auto* x = std::get_if<quic::StreamDataBlockedFrame>(&f)) return m.on_stream_data_blocked(*x);
    if (auto* x = std::get_if<quic::StreamsBlockedFrame>(&f)) return m.on_streams_blocked(*x);
    return TransportError::PROTOCOL_VIOLATION;
  }

  void report(const Packet& p, bool acked) {
    if (!acked) ++counts.lost_reports;
    for (size_t i = 0; i < p.frames.size(); ++i) {
      if (auto* s = std::get_if<quic::StreamFrame>(&p.frames[i])) {
        if (acked) {
          from_.on_stream_frame_acked(s->stream_id, s->offset, p.bytes[i].size(), s->fin);
        } else {
          from_.on_stream_frame_lost(s->stream_id, s->offset, p.bytes[i].size(), s->fin);
        }
      } else if (acked) {
        from_.on_control_frame_acked(p.frames[i]);
      } else {
        from_.on_control_frame_lost(p.frames[i]);
      }
    }
  }

  std::mt19937_64& rng_;
  StreamManager& from_;
  StreamManager& to_;
  LinkConfig cfg_;
  std::vector<Packet> in_flight_;
  std::vector<Event> events_;
};

struct PairConfig {
  uint64_t seed = 1;
  quic::TransportParameters client_tp;
  quic::TransportParameters server_tp;
  size_t client_send_buffer = 64 * 1024;
  size_t server_send_buffer = 64 * 1024;
  LinkConfig up;    // client -> server
  LinkConfig down;  // server -> client

  PairConfig() {
    client_tp.initial_max_data = 1 << 20;
    client_tp.initial_max_stream_data_bidi_local = 256 * 1024;  // response windows
    client_tp.initial_max_stream_data_bidi_remote = 64 * 1024;
    client_tp.initial_max_stream_data_uni = 64 * 1024;
    server_tp.initial_max_data = 256 * 1024;
    server_tp.initial_max_stream_data_bidi_remote = 16 * 1024;  // request windows
    server_tp.initial_max_stream_data_bidi_local = 16 * 1024;
    server_tp.initial_max_stream_data_uni = 16 * 1024;
    server_tp.initial_max_streams_bidi = 8;
    server_tp.initial_max_streams_uni = 2;
  }
};

class Pair {
 public:
  explicit Pair(const PairConfig& cfg = {})
      : rng_(cfg.seed),
        client(quic::Perspective::kClient, cfg.client_tp, {.send_buffer_size = cfg.client_send_buffer}),
        server(quic::Perspective::kServer, cfg.server_tp, {.send_buffer_size = cfg.server_send_buffer}),
        up_(rng_, client, server, cfg.up),
        down_(rng_, server, client, cfg.down) {
    client.on_peer_transport_parameters(cfg.server_tp);
    server.on_peer_transport_parameters(cfg.client_tp);
  }

  // One round: deliver what is due both ways, run the applications, send what they produced.
  void tick(const std::function<void()>& apps) {
    up_.deliver(now);
    down_.deliver(now);
    apps();
    up_.send(now);
    down_.send(now);
    ++now;
  }

  bool idle() const { return up_.idle() && down_.idle(); }
  TransportError error() const {
    return up_.error != TransportError::NO_ERROR ? up_.error : down_.error;
  }
  const Counts& up_counts() const { return up_.counts; }
  const Counts& down_counts() const { return down_.counts; }

  uint64_t now = 0;

 private:
  std::mt19937_64 rng_;

 public:
  StreamManager client;
  StreamManager server;

 private:
  Link up_;
  Link down_;
};

}  // namespace camp::hq::test
