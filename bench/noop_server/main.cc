// The no-op server: `noop_server -p <port> -t <threads> [-l addr] [-v value_bytes]`.
// Each thread runs one epoll loop; all share the listening socket (EPOLLEXCLUSIVE wakes one) and
// keep the connections they accept. Per readable connection: one recv, every complete request
// answered in place (noop_session.h), one send for the whole batch. `-p 0` or `-p -1` picks a
// free port; like memcached, MEMCACHED_PORT_FILENAME receives "TCP INET: <port>".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "noop_server/noop_session.h"

namespace cachet::bench {
namespace {

constexpr size_t kInputSize = 64 * 1024;  // a line longer than this closes the connection

struct Conn {
  Conn(int f, size_t value_size, NoopCounters& mine, std::span<const NoopCounters> all)
      : fd(f), session(value_size, mine, all) {}
  int fd;
  size_t in_len = 0;
  size_t out_off = 0;
  bool closing = false;
  bool want_out = false;
  std::string out;
  NoopSession session;
  char in[kInputSize];
};

void Close(int ep, Conn* c, NoopCounters& mine) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  mine.connections.fetch_sub(1, std::memory_order_relaxed);
  delete c;
}

// Sends what is pending; returns false when the connection is gone.
bool Flush(int ep, Conn* c) {
  while (c->out_off < c->out.size()) {
    ssize_t w = send(c->fd, c->out.data() + c->out_off, c->out.size() - c->out_off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return false;
      if (!c->want_out) {  // stop reading until the client drains its replies
        epoll_event ev{EPOLLOUT, {.ptr = c}};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = true;
      }
      return true;
    }
    c->out_off += static_cast<size_t>(w);
  }
  c->out.clear();
  c->out_off = 0;
  if (c->want_out) {
    epoll_event ev{EPOLLIN, {.ptr = c}};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = false;
  }
  return !c->closing;
}

// Returns false when the connection is gone.
bool OnReadable(int ep, Conn* c) {
  const ssize_t r = recv(c->fd, c->in + c->in_len, kInputSize - c->in_len, 0);
  if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return false;
  if (r < 0) return true;
  c->in_len += static_cast<size_t>(r);
  const size_t used = c->session.Process({c->in, c->in_len}, &c->out, &c->closing);
  if (used < c->in_len) std::memmove(c->in, c->in + used, c->in_len - used);
  c->in_len -= used;
  if (c->in_len == kInputSize) c->closing = true;  // no newline in a full buffer
  return Flush(ep, c);
}

void Serve(int listen_fd, size_t value_size, NoopCounters& mine,
           std::span<const NoopCounters> all) {
  const int ep = epoll_create1(0);
  epoll_event lev{EPOLLIN | EPOLLEXCLUSIVE, {.ptr = nullptr}};
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &lev);
  epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (c == nullptr) {
        const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) continue;  // another thread took it
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        auto* conn = new Conn(fd, value_size, mine, all);
        mine.connections.fetch_add(1, std::memory_order_relaxed);
        epoll_event ev{EPOLLIN, {.ptr = conn}};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        continue;
      }
      const bool alive = (events[i].events & EPOLLOUT) ? Flush(ep, c) : OnReadable(ep, c);
      if (!alive || (events[i].events & (EPOLLERR | EPOLLHUP))) Close(ep, c, mine);
    }
  }
}

[[noreturn]] void Usage() {
  std::fprintf(stderr, "usage: noop_server [-p port] [-t threads] [-l addr] [-v value_bytes]\n");
  std::exit(2);
}

int Run(int argc, char** argv) {
  int port = 11211, threads = 4;
  size_t value_size = 100;
  std::string addr = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Usage();
    if (a == "-p") {
      port = std::atoi(argv[++i]);
    } else if (a == "-t") {
      threads = std::atoi(argv[++i]);
    } else if (a == "-l") {
      addr = argv[++i];
    } else if (a == "-v") {
      value_size = std::strtoull(argv[++i], nullptr, 10);
    } else {
      Usage();
    }
  }
  if (threads < 1) Usage();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port > 0 ? port : 0));
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) Usage();
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
    std::perror("noop_server: bind/listen");
    return 1;
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  if (const char* f = std::getenv("MEMCACHED_PORT_FILENAME")) {
    const std::string tmp = std::string(f) + ".tmp";  // renamed so readers never see half of it
    if (FILE* out = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(out, "TCP INET: %d\n", ntohs(sa.sin_port));
      std::fclose(out);
      std::rename(tmp.c_str(), f);
    }
  }
  auto counters = std::make_unique<NoopCounters[]>(static_cast<size_t>(threads));
  std::span<const NoopCounters> all(counters.get(), static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back(Serve, fd, value_size, std::ref(counters[t]), all);
  }
  Serve(fd, value_size, counters[0], all);
  return 0;
}

}  // namespace
}  // namespace cachet::bench

int main(int argc, char** argv) { return cachet::bench::Run(argc, argv); }
