// The text session in process (session_fixture.h): the real store, no sockets, a manual clock.
#include "server/text_session.h"

#include <gtest/gtest.h>

#include <string>

#include "session_fixture.h"

namespace cachet::server {
namespace {

using SessionTest = SessionFixture<TextSession>;

TEST_F(SessionTest, StorageAndRetrieval) {
  EXPECT_EQ(Run("set a 5 0 3\r\nabc\r\n"), "STORED\r\n");
  EXPECT_EQ(Run("get a b\r\n"), "VALUE a 5 3\r\nabc\r\nEND\r\n");
  EXPECT_EQ(Run("add a 0 0 1\r\nx\r\n"), "NOT_STORED\r\n");
  EXPECT_EQ(Run("append a 0 0 2\r\nde\r\n"), "STORED\r\n");
  EXPECT_EQ(Run("prepend a 0 0 1\r\nz\r\n"), "STORED\r\n");
  EXPECT_EQ(Run("get a\r\n"), "VALUE a 5 6\r\nzabcde\r\nEND\r\n");
  EXPECT_EQ(Run("delete a\r\ndelete a\r\n"), "DELETED\r\nNOT_FOUND\r\n");
}

TEST_F(SessionTest, GetsAndCas) {
  Run("set k 0 0 1\r\n1\r\n");
  const std::string reply = Run("gets k\r\n");
  ASSERT_EQ(reply.rfind("VALUE k 0 1 ", 0), 0u);
  const std::string cas = reply.substr(12, reply.find("\r\n") - 12);
  EXPECT_EQ(Run("cas k 0 0 1 " + cas + "\r\n2\r\n"), "STORED\r\n");
  EXPECT_EQ(Run("cas k 0 0 1 " + cas + "\r\n3\r\n"), "EXISTS\r\n");
  EXPECT_EQ(Run("cas nope 0 0 1 1\r\n3\r\n"), "NOT_FOUND\r\n");
}

TEST_F(SessionTest, ExpiryFollowsTheInjectedClock) {
  EXPECT_EQ(Run("set t 0 2 1\r\nx\r\n"), "STORED\r\n");
  clock_.Advance(1);
  EXPECT_EQ(Run("get t\r\n"), "VALUE t 0 1\r\nx\r\nEND\r\n");
  clock_.Advance(1);
  EXPECT_EQ(Run("get t\r\n"), "END\r\n");
  // Negative and 4294967295 (int32 -1) are already expired; absolute past times too.
  EXPECT_EQ(Run("set n 0 -1 1\r\nx\r\nget n\r\n"), "STORED\r\nEND\r\n");
  EXPECT_EQ(Run("set n 0 4294967295 1\r\nx\r\nget n\r\n"), "STORED\r\nEND\r\n");
  EXPECT_EQ(Run("set n 0 2592001 1\r\nx\r\nget n\r\n"), "STORED\r\nEND\r\n");
  // An absolute time in the future.
  const std::string abs = std::to_string(1'700'000'000 + 2 + 100);
  EXPECT_EQ(Run("set f 0 " + abs + " 1\r\nx\r\n"), "STORED\r\n");
  clock_.Advance(99);
  EXPECT_EQ(Run("get f\r\n"), "VALUE f 0 1\r\nx\r\nEND\r\n");
  clock_.Advance(1);
  EXPECT_EQ(Run("get f\r\n"), "END\r\n");
}

TEST_F(SessionTest, DebugtimeMovesTheClock) {
  Run("set t 0 5 1\r\nx\r\n");
  EXPECT_EQ(Run("debugtime 5\r\n"), "OK\r\n");
  EXPECT_EQ(Run("get t\r\n"), "END\r\n");
}

TEST_F(SessionTest, DelayedFlush) {
  Run("set a 0 0 1\r\nx\r\n");
  EXPECT_EQ(Run("flush_all 10\r\n"), "OK\r\n");
  EXPECT_EQ(Run("get a\r\n"), "VALUE a 0 1\r\nx\r\nEND\r\n");
  clock_.Advance(10);
  EXPECT_EQ(Run("get a\r\n"), "END\r\n");
  EXPECT_EQ(Run("set a 0 0 1\r\ny\r\nflush_all noreply\r\nget a\r\n"), "STORED\r\nEND\r\n");
  // A flush time in the past flushes nothing and cancels a pending one.
  Run("set a 0 0 1\r\nz\r\n");
  EXPECT_EQ(Run("flush_all 5\r\nflush_all 2592001\r\n"), "OK\r\nOK\r\n");
  clock_.Advance(10);
  EXPECT_EQ(Run("get a\r\n"), "VALUE a 0 1\r\nz\r\nEND\r\n");
}

TEST_F(SessionTest, IncrDecr) {
  Run("set n 0 0 2\r\n10\r\n");
  EXPECT_EQ(Run("incr n 5\r\n"), "15\r\n");
  EXPECT_EQ(Run("decr n 100\r\n"), "0\r\n");
  EXPECT_EQ(Run("get n\r\n"), "VALUE n 0 2\r\n0 \r\nEND\r\n");
  EXPECT_EQ(Run("incr nope 1\r\n"), "NOT_FOUND\r\n");
  Run("set s 0 0 1\r\nx\r\n");
  EXPECT_EQ(Run("incr s 1\r\n"),
            "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
  EXPECT_EQ(Run("incr n x\r\n"), "CLIENT_ERROR invalid numeric delta argument\r\n");
}

TEST_F(SessionTest, NoreplyIsSilent) {
  EXPECT_EQ(Run("set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\n"
                "delete zz noreply\r\nincr a 1 noreply\r\ntouch a 10 noreply\r\nget a\r\n"),
            "VALUE a 0 1\r\nx\r\nEND\r\n");
}

TEST_F(SessionTest, ErrorsKeepTheConnection) {
  EXPECT_EQ(Run("bogus\r\n"), "ERROR\r\n");
  EXPECT_EQ(Run("set a 0 0 1\r\nabc\r\n"), "CLIENT_ERROR bad data chunk\r\nERROR\r\n");
  EXPECT_EQ(Run("set " + std::string(251, 'k') + " 0 0 1\r\n"),
            "CLIENT_ERROR bad command line format\r\n");
  EXPECT_EQ(Run("delete a 5\r\n"),
            "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
  EXPECT_EQ(Run("version\r\n"), "VERSION 1.6.18\r\n");
}

TEST_F(SessionTest, TooLargeIsSwallowedAndDeletesOldValue) {
  Run("set big 0 0 1\r\nx\r\n");
  const size_t n = (size_t{1} << 20);
  std::string cmd = "set big 0 0 " + std::to_string(n) + "\r\n" + std::string(n, 'v') + "\r\n";
  EXPECT_EQ(Run(cmd + "get big\r\n"), "SERVER_ERROR object too large for cache\r\nEND\r\n");
  // The largest value memcached accepts for a 1-byte key with -I 1m is 1048576 - 60 bytes.
  const size_t max = n - 60;
  EXPECT_EQ(Run("set b 0 0 " + std::to_string(max) + "\r\n" + std::string(max, 'v') + "\r\n"),
            "STORED\r\n");
  EXPECT_EQ(
      Run("set b 0 0 " + std::to_string(max + 1) + "\r\n" + std::string(max + 1, 'v') + "\r\n"),
      "SERVER_ERROR object too large for cache\r\n");
}

TEST_F(SessionTest, LongLinesCloseUnlessMultiget) {
  bool closed = false;
  bool on_error = false;
  Run(std::string(3000, 'x'), &closed, &on_error);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(on_error);
}

// A protocol error closes "on error" (watch connevents: reason=error); quit closes normally.
TEST_F(SessionTest, HttpClosesOnError) {
  bool closed = false;
  bool on_error = false;
  EXPECT_EQ(Run("GET / HTTP/1.1\r\n", &closed, &on_error), "");
  EXPECT_TRUE(closed);
  EXPECT_TRUE(on_error);
}

TEST_F(SessionTest, QuitClosesNormally) {
  bool closed = false;
  bool on_error = true;
  Run("quit\r\n", &closed, &on_error);
  EXPECT_TRUE(closed);
  EXPECT_FALSE(on_error);
}

TEST_F(SessionTest, LargeMultigetPausesAtTheHighWaterMark) {
  const std::string value(100000, 'v');
  for (int i = 0; i < 10; ++i)
    Run("set k" + std::to_string(i) + " 0 0 100000\r\n" + value + "\r\n");
  std::string line = "get";
  for (int i = 0; i < 10; ++i) line += " k" + std::to_string(i);
  in_.Append(line + "\r\n");
  session_.Process(in_, out_);
  // Output stopped near the mark instead of holding all ten values.
  EXPECT_LT(out_.size(), kOutputHighWater + 2 * value.size());
  EXPECT_FALSE(in_.empty());
  std::string all(out_.readable());
  out_.Consume(out_.size());
  all += Run("");
  EXPECT_EQ(all.size(), 10 * (value.size() + 2 + std::string("VALUE k0 0 100000\r\n").size()) + 5);
  EXPECT_TRUE(in_.empty());
}

TEST_F(SessionTest, MetaGetSetAndQuietPipelines) {
  EXPECT_EQ(Run("ms k 3 F5 T0\r\nabc\r\n"), "HD\r\n");
  EXPECT_EQ(Run("mg k v f s t k O9\r\n"), "VA 3 f5 s3 t-1 kk O9\r\nabc\r\n");
  EXPECT_EQ(Run("mg nope v q\r\nmg k q\r\nmn\r\n"), "HD\r\nMN\r\n");
  EXPECT_EQ(Run("mg nope v k O1\r\n"), "EN knope O1\r\n");
  EXPECT_EQ(Run("md nope q\r\nmn\r\n"), "NF\r\nMN\r\n");  // q hides only HD
  EXPECT_EQ(Run("ms k 1 ME\r\nx\r\n"), "NS\r\n");
  EXPECT_EQ(Run("ms k 1 MA q\r\nx\r\nmg k v\r\n"), "VA 4\r\nabcx\r\n");
  EXPECT_EQ(Run("ms k 1 MZ\r\nx\r\n"), "CLIENT_ERROR invalid mode for ms M token\r\n");
  // A bad flag discards the data block too.
  EXPECT_EQ(Run("ms k 2 !\r\nab\r\nmn\r\n"), "CLIENT_ERROR invalid flag\r\nMN\r\n");
}

TEST_F(SessionTest, MetaStampedeProtection) {
  // Vivify on miss: the first client wins (W) an empty item, the next sees Z.
  EXPECT_EQ(Run("mg v N30 v\r\n"), "VA 0 W\r\n\r\n");
  EXPECT_EQ(Run("mg v N30 v\r\n"), "VA 0 Z\r\n\r\n");
  // A past TTL still answers with the new item, which is then already gone (found by the
  // session fuzzer: the index slot of the expired item was used after its removal).
  EXPECT_EQ(Run("mg gone N-1 v\r\nmg gone v\r\n"), "VA 0 W\r\n\r\nEN\r\n");
  // Recache: win once when the TTL left is below the token.
  Run("ms r 2 T10\r\nhi\r\n");
  EXPECT_EQ(Run("mg r R30 v\r\n"), "VA 2 W\r\nhi\r\n");
  EXPECT_EQ(Run("mg r R30 v\r\n"), "VA 2 Z\r\nhi\r\n");
  // Invalidation: stale (X) and a new winner, with a new CAS.
  Run("ms s 2\r\nhi\r\n");
  const std::string before = Run("mg s c\r\n");
  EXPECT_EQ(Run("md s I T30\r\n"), "HD\r\n");
  const std::string after = Run("mg s c v\r\n");
  EXPECT_NE(after.find(" X W\r\nhi\r\n"), std::string::npos) << after;
  EXPECT_NE(before.substr(0, before.find('\r')), after.substr(0, after.find(" X")));
  EXPECT_EQ(Run("mg s v\r\n"), "VA 2 Z X\r\nhi\r\n");
}

TEST_F(SessionTest, MetaArithmetic) {
  EXPECT_EQ(Run("ma n\r\n"), "NF\r\n");
  EXPECT_EQ(Run("ma n N0 J10 v\r\n"), "VA 2\r\n10\r\n");
  EXPECT_EQ(Run("ma n D5 v\r\n"), "VA 2\r\n15\r\n");
  EXPECT_EQ(Run("ma n MD D100 v\r\n"), "VA 1\r\n0\r\n");
  EXPECT_EQ(Run("ma n q\r\nmn\r\n"), "MN\r\n");
  Run("ms t 1\r\nx\r\n");
  EXPECT_EQ(Run("ma t\r\n"), "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
  EXPECT_EQ(Run("ma n MX\r\n"), "CLIENT_ERROR invalid mode for ma M token\r\n");
}

TEST_F(SessionTest, StatsCountAndReset) {
  Run("set a 0 0 1\r\nx\r\nget a\r\nget b\r\n");
  const std::string stats = Run("stats\r\n");
  EXPECT_NE(stats.find("STAT get_hits 1\r\n"), std::string::npos);
  EXPECT_NE(stats.find("STAT get_misses 1\r\n"), std::string::npos);
  EXPECT_NE(stats.find("STAT cmd_set 1\r\n"), std::string::npos);
  EXPECT_NE(stats.find("STAT curr_items 1\r\n"), std::string::npos);
  EXPECT_EQ(stats.substr(stats.size() - 5), "END\r\n");
  EXPECT_EQ(Run("stats reset\r\n"), "RESET\r\n");
  EXPECT_NE(Run("stats\r\n").find("STAT get_hits 0\r\n"), std::string::npos);
}

}  // namespace
}  // namespace cachet::server

namespace cachet::server {
namespace {

// A worker's waker, as net/ provides it: here it records that it was woken.
class TestWaker : public Waker {
 public:
  void Wake() override {
    common::MutexLock lock(mu_);
    woken_ = true;
    cv_.NotifyAll();
  }
  void WaitWoken() {
    common::MutexLock lock(mu_);
    while (!woken_) cv_.Wait(mu_);
  }

 private:
  common::Mutex mu_;
  common::CondVar cv_;
  bool woken_ CACHET_GUARDED_BY(mu_) = false;
};

Settings SnapshotSettings() {
  Settings s = TestSettings();
  s.shutdown_enabled = true;
  s.memory_file = ::testing::TempDir() + "/text_session_test.snapshot";
  return s;
}

class SnapshotSessionTest : public SessionFixture<TextSession> {
 protected:
  SnapshotSessionTest() : SessionFixture(SnapshotSettings()) {
    worker_.waker = &waker_;
    context_.memory_file()->StartOnline();
  }
  ~SnapshotSessionTest() override {
    context_.memory_file()->StopOnline();
    std::remove(context_.settings().memory_file.c_str());
  }
  TestWaker waker_;
};

// `snapshot` waits (no reply, no busy yield) until the snapshot thread wakes the worker, and
// what the client sent after it waits with it.
TEST_F(SnapshotSessionTest, SnapshotWaitsUntilWokenThenAnswers) {
  EXPECT_EQ(Run("set k 0 0 1\r\nv\r\n"), "STORED\r\n");
  std::string out = Run("snapshot\r\nget k\r\n");
  if (out.empty()) {
    EXPECT_TRUE(session_.waiting());
    EXPECT_FALSE(session_.yielded());
    waker_.WaitWoken();
    out = Run("");
  }
  EXPECT_EQ(out, "OK\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
  EXPECT_FALSE(session_.waiting());
}

}  // namespace
}  // namespace cachet::server
