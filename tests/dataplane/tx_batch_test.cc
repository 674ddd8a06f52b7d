// The TxBatch contract every driver relies on: fresh buffers on demand, replies in place lent once,
// nothing lost or lent twice when an endpoint acquires and then changes its mind.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/endpoint.h"
#include "dataplane/reflector.h"

namespace camp {
namespace {

struct Pool {
  std::vector<std::vector<uint8_t>> bufs;
  int calls = 0;
  int limit = 1000;
};

bool provide(void* ctx, TxSlot* s, uint16_t) {
  auto& p = *static_cast<Pool*>(ctx);
  if (p.calls >= p.limit) return false;
  ++p.calls;
  p.bufs.emplace_back(256);
  s->data = p.bufs.back().data();
  s->cap = 256;
  return true;
}

RxDatagram rx_at(uint8_t* data, uint16_t len, uint8_t id) {
  RxDatagram d;
  d.data = data;
  d.len = len;
  d.room = 512;
  d.buf_id = id;
  return d;
}

TEST(TxBatch, FreshBuffersComeOnlyWhenAsked) {
  TxSlot slots[4];
  Pool pool;
  TxBatch b(slots, 4, provide, &pool);
  EXPECT_EQ(pool.calls, 0);
  TxSlot* s = b.acquire();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(pool.calls, 1);
  b.commit();
  EXPECT_EQ(b.used(), 1);
}

TEST(TxBatch, CommitWithoutAcquireDoesNothing) {
  TxSlot slots[2];
  Pool pool;
  TxBatch b(slots, 2, provide, &pool);
  b.commit();
  EXPECT_EQ(b.used(), 0);
  ASSERT_NE(b.acquire(), nullptr);
  b.commit();
  b.commit();  // a second commit of the same acquire
  EXPECT_EQ(b.used(), 1);
}

TEST(TxBatch, InPlaceLendsTheDatagramsOwnBufferOnce) {
  TxSlot slots[4];
  Pool pool;
  uint8_t buf[64] = {1, 2, 3};
  TxBatch b(slots, 4, provide, &pool);
  const RxDatagram rx = rx_at(buf, 3, 5);
  TxSlot* s = b.acquire_in_place(rx);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->data, buf);
  EXPECT_EQ(s->rx_buf, 5);
  EXPECT_EQ(s->cap, 512);
  b.commit();
  // The same datagram again: its buffer is taken, so a fresh one comes instead.
  TxSlot* s2 = b.acquire_in_place(rx);
  ASSERT_NE(s2, nullptr);
  EXPECT_NE(s2->data, buf);
  EXPECT_EQ(s2->rx_buf, kNoRxBuf);
  EXPECT_EQ(pool.calls, 1);
}

TEST(TxBatch, AcquireAfterUncommittedInPlaceGivesAFreshBufferAndReturnsTheLoan) {
  TxSlot slots[4];
  Pool pool;
  uint8_t buf[64];
  TxBatch b(slots, 4, provide, &pool);
  const RxDatagram rx = rx_at(buf, 8, 2);
  ASSERT_NE(b.acquire_in_place(rx), nullptr);  // changes its mind, no commit
  TxSlot* s = b.acquire();
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->data, buf);
  EXPECT_EQ(s->rx_buf, kNoRxBuf);
  EXPECT_EQ(pool.calls, 1);
  b.commit();
  // The loan was returned: the datagram's buffer can be lent again.
  TxSlot* s2 = b.acquire_in_place(rx);
  ASSERT_NE(s2, nullptr);
  EXPECT_EQ(s2->data, buf);
}

TEST(TxBatch, InPlaceAfterUncommittedFreshKeepsTheFreshBuffer) {
  TxSlot slots[2];
  Pool pool;
  uint8_t buf[64];
  TxBatch b(slots, 2, provide, &pool);
  TxSlot* fresh = b.acquire();
  ASSERT_NE(fresh, nullptr);
  uint8_t* fresh_data = fresh->data;
  TxSlot* s = b.acquire_in_place(rx_at(buf, 8, 1));  // must not drop the fresh buffer on the floor
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->data, fresh_data);
  EXPECT_EQ(pool.calls, 1);
}

TEST(TxBatch, DriversWithoutLendingFallBackToCopies) {
  TxSlot slots[2];
  uint8_t storage[2][128];
  for (int i = 0; i < 2; ++i) {
    slots[i].data = storage[i];
    slots[i].cap = 128;
  }
  TxBatch b(slots, 2);
  uint8_t buf[16];
  RxDatagram rx = rx_at(buf, 4, kNoRxBuf);
  TxSlot* s = b.acquire_in_place(rx);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->data, storage[0]);
}

TEST(TxBatch, ExhaustionIsReportedAndTimersRequested) {
  TxSlot slots[4];
  Pool pool;
  pool.limit = 1;
  TxBatch b(slots, 4, provide, &pool);
  ASSERT_NE(b.acquire(), nullptr);
  b.commit();
  EXPECT_EQ(b.acquire(), nullptr);
  EXPECT_TRUE(b.out_of_buffers());
  EXPECT_EQ(b.requested_timer(), kNever);
  b.request_timer(500);
  b.request_timer(900);
  EXPECT_EQ(b.requested_timer(), 500u);
}

TEST(Reflector, RepliesInPlaceAndCountsWhatItCannotSend) {
  TxSlot slots[2];
  Pool pool;
  pool.limit = 0;  // no fresh buffers at all
  TxBatch b(slots, 2, provide, &pool);
  uint8_t a[32] = "first", c[32] = "second";
  RxDatagram rx[3] = {rx_at(a, 5, 0), rx_at(c, 6, 1), rx_at(c, 6, kNoRxBuf)};
  rx[0].tuple.remote_port = 1111;
  WorkerStats st;
  Reflector r;
  r.on_datagrams(rx, 3, 0, b, st);
  ASSERT_EQ(b.used(), 2);
  EXPECT_EQ(slots[0].data, a);  // no copy: the payload is already there
  EXPECT_EQ(slots[0].len, 5);
  EXPECT_EQ(slots[0].tuple.remote_port, 1111);
  EXPECT_EQ(slots[1].data, c);
  EXPECT_EQ(st.drops[static_cast<size_t>(DropReason::endpoint_no_tx_room)], 1u);  // batch full
}

}  // namespace
}  // namespace camp
