#include "loadgen/load_run.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "common/value_pattern.h"
#include "loadgen/keys.h"
#include "loadgen/reply_parser.h"

namespace cachet::bench {
namespace {

constexpr int64_t kDrainNs = 5'000'000'000;  // replies still missing after this are errors
constexpr uint32_t kTimerTag = ~uint32_t{0};

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Pending {
  ReplyKind kind;
  bool completes_request;  // false for all but the last mg of a meta multiget
  bool lookaside_measured;
  uint64_t key_id;  // the first key (lookaside sets it on a miss)
  int64_t start_ns;
  std::string keys;  // key_size bytes per key
};

struct Conn {
  explicit Conn(uint64_t seed) : rng(seed) {}
  uint32_t index = 0;  // its epoll tag
  int fd = -1;
  SSL* ssl = nullptr;  // --tls
  bool dead = false;
  bool want_out = false;
  std::deque<Pending> pending;
  uint32_t open_requests = 0;
  std::string out;
  size_t out_off = 0;
  std::vector<char> in = std::vector<char>(64 * 1024);
  size_t in_len = 0;
  Rng rng;
  int64_t next_due = 0;
  std::vector<uint64_t> to_set;  // lookaside: keys that missed, set with the next batch
};

class Runner {
 public:
  Runner(const LoadConfig& c, LoadResult* r) : c_(c), r_(*r), value_(c.value_size, '\0') {
    if (c.dist == KeyDist::kZipf) zipf_.emplace(c.keys, c.zipf_theta);
  }
  ~Runner() {
    for (Conn& conn : conns_) {
      SSL_free(conn.ssl);
      if (conn.fd >= 0) close(conn.fd);
    }
    SSL_CTX_free(tls_);
    if (ep_ >= 0) close(ep_);
    if (timer_ >= 0) close(timer_);
  }

  bool Run();

 private:
  bool Connect();
  bool Budget() const;
  uint64_t NextKey(Conn& conn);
  void AddGet(Conn& conn, int64_t start);
  void AddSet(Conn& conn, uint64_t id, int64_t start);
  void AddRequest(Conn& conn, int64_t start);
  void Issue(Conn& conn, int64_t now);
  void ArmTimer();
  void OnReadable(Conn& conn, int64_t now);
  void Account(Conn& conn, const Pending& p, const ReplyOutcome& o, int64_t now);
  void Flush(Conn& conn);
  void Drop(Conn& conn, const std::string& why);
  bool Idle() const;
  ssize_t Send(Conn& conn, const char* data, size_t len);  // >= 0, or -1 with errno
  ssize_t Recv(Conn& conn, char* dst, size_t len);         // > 0, 0 at EOF, -1 with errno

  const LoadConfig& c_;
  SSL_CTX* tls_ = nullptr;
  LoadResult& r_;
  std::optional<Zipf> zipf_;
  std::deque<Conn> conns_;
  std::string value_;
  int ep_ = -1;
  int timer_ = -1;
  uint64_t issued_ = 0;  // requests started (lookaside sets excluded)
  uint64_t lookaside_gets_ = 0;
  uint64_t seq_next_ = 0;
  int64_t start_ns_ = 0;
  int64_t deadline_ = 0;
  bool stopping_ = false;
};

bool Runner::Connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(c_.port);
  if (getaddrinfo(c_.host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    r_.fatal = "cannot resolve " + c_.host;
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < c_.connections; ++i) {
    Conn& conn = conns_.emplace_back(c_.seed * 1000003 + static_cast<uint64_t>(i));
    conn.index = static_cast<uint32_t>(i);
    conn.fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn.fd < 0 || connect(conn.fd, res->ai_addr, res->ai_addrlen) != 0) {
      r_.fatal = std::string("connect: ") + std::strerror(errno);
      return false;
    }
    const int one = 1;
    setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (c_.tls) {
      // The handshake runs blocking here, before the measured part of the run.
      if (tls_ == nullptr) tls_ = NewClientTlsContext();
      conn.ssl = SSL_new(tls_);
      SSL_set_fd(conn.ssl, conn.fd);
      if (SSL_connect(conn.ssl) != 1) {
        char err[256] = "TLS handshake failed";
        if (const unsigned long e = ERR_get_error(); e != 0)
          ERR_error_string_n(e, err, sizeof(err));
        r_.fatal = err;
        return false;
      }
    }
    fcntl(conn.fd, F_SETFL, fcntl(conn.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{EPOLLIN, {.u32 = static_cast<uint32_t>(i)}};
    epoll_ctl(ep_, EPOLL_CTL_ADD, conn.fd, &ev);
  }
  timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event tev{EPOLLIN, {.u32 = kTimerTag}};
  epoll_ctl(ep_, EPOLL_CTL_ADD, timer_, &tev);
  return true;
}

bool Runner::Budget() const {
  if (stopping_) return false;
  if (c_.dist == KeyDist::kSequential) return seq_next_ < c_.keys;
  return c_.requests == 0 || issued_ < c_.requests;
}

uint64_t Runner::NextKey(Conn& conn) {
  switch (c_.dist) {
    case KeyDist::kUniform:
      return c_.key_start + conn.rng.Next() % c_.keys;
    case KeyDist::kZipf:
      return c_.key_start + zipf_->Draw(conn.rng);
    case KeyDist::kSequential:
      break;
  }
  return c_.key_start + seq_next_++;
}

void Runner::AddGet(Conn& conn, int64_t start) {
  int width = c_.multiget;
  if (c_.dist == KeyDist::kSequential) {
    width = static_cast<int>(std::min<uint64_t>(width, c_.keys - seq_next_));
  }
  const bool measured = c_.lookaside && lookaside_gets_++ >= c_.warmup;
  char key[256];
  if (c_.protocol == Protocol::kText) {
    Pending p{ReplyKind::kTextGet, true, measured, 0, start, {}};
    p.keys.resize(static_cast<size_t>(width) * c_.key_size);
    conn.out.append("get", 3);
    for (int i = 0; i < width; ++i) {
      const uint64_t id = NextKey(conn);
      if (i == 0) p.key_id = id;
      char* k = p.keys.data() + static_cast<size_t>(i) * c_.key_size;
      FormatKey(id, c_.key_size, k);
      conn.out.push_back(' ');
      conn.out.append(k, c_.key_size);
    }
    conn.out.append("\r\n", 2);
    conn.pending.push_back(std::move(p));
  } else {
    for (int i = 0; i < width; ++i) {
      const uint64_t id = NextKey(conn);
      FormatKey(id, c_.key_size, key);
      conn.out.append("mg ", 3);
      conn.out.append(key, c_.key_size);
      conn.out.append(" v\r\n", 4);
      conn.pending.push_back(Pending{ReplyKind::kMetaGet, i + 1 == width, measured, id, start,
                                     std::string(key, c_.key_size)});
    }
  }
}

void Runner::AddSet(Conn& conn, uint64_t id, int64_t start) {
  char key[256];
  FormatKey(id, c_.key_size, key);
  const std::string_view k(key, c_.key_size);
  char len[24];
  char* len_end = std::to_chars(len, len + sizeof(len), c_.value_size).ptr;
  if (c_.protocol == Protocol::kText) {
    conn.out.append("set ", 4);
    conn.out.append(k);
    conn.out.append(" 0 0 ", 5);
  } else {
    conn.out.append("ms ", 3);
    conn.out.append(k);
    conn.out.push_back(' ');
  }
  conn.out.append(len, static_cast<size_t>(len_end - len));
  conn.out.append("\r\n", 2);
  FillValue(k, value_.data(), value_.size());
  conn.out.append(value_);
  conn.out.append("\r\n", 2);
  conn.pending.push_back(
      Pending{c_.protocol == Protocol::kText ? ReplyKind::kTextSet : ReplyKind::kMetaSet, true,
              false, id, start, std::string(k)});
}

void Runner::AddRequest(Conn& conn, int64_t start) {
  ++issued_;
  ++conn.open_requests;
  if (c_.set_fraction > 0 && (c_.set_fraction >= 1 || conn.rng.Uniform() < c_.set_fraction)) {
    AddSet(conn, NextKey(conn), start);
  } else {
    AddGet(conn, start);
  }
}

void Runner::Issue(Conn& conn, int64_t now) {
  if (conn.dead) return;
  if (c_.rate > 0) {
    const auto interval = static_cast<int64_t>(1e9 * c_.connections / c_.rate);
    bool added = false;
    while (Budget() && conn.open_requests < static_cast<uint32_t>(c_.pipeline) &&
           now >= conn.next_due) {
      AddRequest(conn, conn.next_due);  // latency counts from when it was due
      conn.next_due += interval;
      added = true;
    }
    if (added) Flush(conn);
    return;
  }
  if (!conn.pending.empty() || stopping_) return;
  // Closed loop: the next batch once the whole previous one is answered.
  for (uint64_t id : conn.to_set) {
    ++conn.open_requests;
    AddSet(conn, id, now);
  }
  conn.to_set.clear();
  for (int i = 0; i < c_.pipeline && Budget(); ++i) AddRequest(conn, now);
  if (!conn.pending.empty()) Flush(conn);
}

void Runner::ArmTimer() {
  int64_t due = 0;
  for (const Conn& conn : conns_) {
    if (conn.dead || conn.open_requests >= static_cast<uint32_t>(c_.pipeline)) continue;
    if (due == 0 || conn.next_due < due) due = conn.next_due;
  }
  itimerspec its{};
  if (due != 0 && Budget()) {
    its.it_value.tv_sec = due / 1'000'000'000;
    its.it_value.tv_nsec = due % 1'000'000'000;
  }
  timerfd_settime(timer_, TFD_TIMER_ABSTIME, &its, nullptr);
}

ssize_t Runner::Send(Conn& conn, const char* data, size_t len) {
  if (conn.ssl == nullptr) return send(conn.fd, data, len, MSG_NOSIGNAL);
  const int n = SSL_write(conn.ssl, data, static_cast<int>(len));
  if (n > 0) return n;
  const int err = SSL_get_error(conn.ssl, n);
  errno = err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
  ERR_clear_error();
  return -1;
}

ssize_t Runner::Recv(Conn& conn, char* dst, size_t len) {
  if (conn.ssl == nullptr) return recv(conn.fd, dst, len, 0);
  // Read until OpenSSL would block: records it buffered would raise no epoll event.
  size_t got = 0;
  while (got < len) {
    const int n = SSL_read(conn.ssl, dst + got, static_cast<int>(len - got));
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    const int err = SSL_get_error(conn.ssl, n);
    ERR_clear_error();
    if (got > 0) break;
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      errno = EAGAIN;
      return -1;
    }
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    errno = ECONNRESET;
    return -1;
  }
  return static_cast<ssize_t>(got);
}

void Runner::Flush(Conn& conn) {
  while (conn.out_off < conn.out.size()) {
    const ssize_t w = Send(conn, conn.out.data() + conn.out_off, conn.out.size() - conn.out_off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return Drop(conn, std::string("send: ") + std::strerror(errno));
      if (!conn.want_out) {
        epoll_event ev{EPOLLIN | EPOLLOUT, {.u32 = conn.index}};
        epoll_ctl(ep_, EPOLL_CTL_MOD, conn.fd, &ev);
        conn.want_out = true;
      }
      return;
    }
    conn.out_off += static_cast<size_t>(w);
  }
  conn.out.clear();
  conn.out_off = 0;
  if (conn.want_out) {
    epoll_event ev{EPOLLIN, {.u32 = conn.index}};
    epoll_ctl(ep_, EPOLL_CTL_MOD, conn.fd, &ev);
    conn.want_out = false;
  }
}

void Runner::Drop(Conn& conn, const std::string& why) {
  if (conn.dead) return;
  for (const Pending& p : conn.pending) r_.errors += p.completes_request ? 1 : 0;
  conn.pending.clear();
  conn.open_requests = 0;
  conn.dead = true;
  epoll_ctl(ep_, EPOLL_CTL_DEL, conn.fd, nullptr);
  SSL_free(conn.ssl);
  conn.ssl = nullptr;
  close(conn.fd);
  conn.fd = -1;
  if (r_.fatal.empty()) r_.fatal = why;
}

void Runner::Account(Conn& conn, const Pending& p, const ReplyOutcome& o, int64_t now) {
  const bool get = p.kind == ReplyKind::kTextGet || p.kind == ReplyKind::kMetaGet;
  if (get) {
    r_.get_keys += p.keys.size() / c_.key_size;
    r_.hits += o.hits;
    r_.misses += o.misses;
    if (c_.lookaside) {
      if (p.lookaside_measured) {
        ++r_.lookaside_gets;
        r_.lookaside_hits += o.hits;
      }
      if (o.misses != 0 && !o.error) conn.to_set.push_back(p.key_id);
    }
  } else {
    ++r_.sets;
  }
  if (o.error) ++r_.errors;
  if (p.completes_request) {
    ++r_.requests;
    --conn.open_requests;
    r_.latency.Record(static_cast<uint64_t>(std::max<int64_t>(0, now - p.start_ns)));
  }
}

void Runner::OnReadable(Conn& conn, int64_t now) {
  if (conn.in.size() - conn.in_len < 16 * 1024) conn.in.resize(conn.in.size() * 2);
  const ssize_t got = Recv(conn, conn.in.data() + conn.in_len, conn.in.size() - conn.in_len);
  if (got == 0) return Drop(conn, "server closed the connection");
  if (got < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    return Drop(conn, std::string("recv: ") + std::strerror(errno));
  }
  conn.in_len += static_cast<size_t>(got);
  const std::string_view in(conn.in.data(), conn.in_len);
  size_t pos = 0;
  while (!conn.pending.empty()) {
    const Pending& p = conn.pending.front();
    ReplyOutcome o;
    const ReplyParse res =
        ParseReply(in.substr(pos), p.kind, p.keys, c_.key_size, c_.value_size, &o);
    if (res == ReplyParse::kNeedMore) break;
    if (res == ReplyParse::kMalformed) {
      const size_t show = std::min<size_t>(in.size() - pos, 60);
      std::string text(in.substr(pos, show));
      for (char& ch : text) {
        if (static_cast<unsigned char>(ch) < 0x20) ch = '.';
      }
      return Drop(conn, "malformed reply: " + text);
    }
    Account(conn, p, o, now);
    pos += o.consumed;
    conn.pending.pop_front();
  }
  if (conn.pending.empty() && pos < in.size()) return Drop(conn, "reply to no request");
  std::memmove(conn.in.data(), conn.in.data() + pos, conn.in_len - pos);
  conn.in_len -= pos;
}

bool Runner::Idle() const {
  for (const Conn& conn : conns_) {
    if (!conn.dead && !conn.pending.empty()) return false;
  }
  return true;
}

bool Runner::Run() {
  if (!Connect()) return false;
  start_ns_ = NowNs();
  deadline_ = c_.duration_s > 0 ? start_ns_ + static_cast<int64_t>(c_.duration_s * 1e9) : 0;
  const int64_t interval = c_.rate > 0 ? static_cast<int64_t>(1e9 * c_.connections / c_.rate) : 0;
  for (size_t i = 0; i < conns_.size(); ++i) {
    conns_[i].next_due = start_ns_ + interval * static_cast<int64_t>(i) / c_.connections;
  }
  int64_t now = start_ns_, last_reply = start_ns_, stop_at = 0;
  for (Conn& conn : conns_) Issue(conn, now);
  epoll_event events[64];
  for (;;) {
    if (c_.rate > 0) ArmTimer();
    const int n = epoll_wait(ep_, events, 64, 50);
    now = NowNs();
    for (int i = 0; i < n; ++i) {
      const uint32_t tag = events[i].data.u32;
      if (tag == kTimerTag) {
        uint64_t expirations;
        [[maybe_unused]] ssize_t ignored = read(timer_, &expirations, sizeof(expirations));
        continue;
      }
      Conn& conn = conns_[tag];
      if (conn.dead) continue;
      if (events[i].events & EPOLLOUT) Flush(conn);
      if (!conn.dead && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        OnReadable(conn, now);
        // TLS: records OpenSSL already holds raise no event.
        while (!conn.dead && conn.ssl != nullptr && SSL_pending(conn.ssl) > 0) {
          OnReadable(conn, now);
        }
        last_reply = now;
      }
      if (c_.rate == 0) Issue(conn, now);
    }
    if (c_.rate > 0) {
      for (Conn& conn : conns_) Issue(conn, now);
    }
    if (!stopping_ && (deadline_ != 0 && now >= deadline_)) stopping_ = true;
    if (!stopping_ && !Budget()) stopping_ = true;
    if (stopping_ && stop_at == 0) stop_at = now;
    if (stopping_ && Idle()) break;
    if (stop_at != 0 && now - stop_at > kDrainNs) {
      for (Conn& conn : conns_) Drop(conn, "timed out waiting for replies");
      break;
    }
    bool all_dead = true;
    for (const Conn& conn : conns_) all_dead &= conn.dead;
    if (all_dead) break;
  }
  r_.seconds = static_cast<double>(last_reply - start_ns_) / 1e9;
  return true;
}

}  // namespace

SSL_CTX* NewClientTlsContext() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // a bench, not a client to trust
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // every handshake a full one
  return ctx;
}

bool RunLoad(const LoadConfig& config, LoadResult* result) {
  Runner runner(config, result);
  return runner.Run();
}

}  // namespace cachet::bench
