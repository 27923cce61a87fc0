#include "net/udp_handler.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>

#include "server/session.h"

namespace cachet::net {
namespace {
uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void StoreBe16(uint16_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
}  // namespace

void UdpHandler::OnReadable(int fd) {
  uint8_t datagram[65536];
  // A bounded batch per readiness event keeps one busy UDP client from starving TCP ones.
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    const ssize_t n = ::recvfrom(fd, datagram, sizeof(datagram), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&peer), &peer_len);
    if (n < 0) return;
    worker_.stats.bytes_read.Add(static_cast<uint64_t>(n));
    if (static_cast<size_t>(n) <= kHeaderSize) continue;  // no request in it
    if (LoadBe16(datagram + 4) != 1) continue;            // multi-datagram requests: dropped
    Answer(fd, reinterpret_cast<sockaddr*>(&peer), peer_len, LoadBe16(datagram),
           std::string_view(reinterpret_cast<const char*>(datagram) + kHeaderSize,
                            static_cast<size_t>(n) - kHeaderSize));
  }
}

void UdpHandler::Answer(int fd, const sockaddr* peer, unsigned peer_len, uint16_t request_id,
                        std::string_view payload) {
  in_.Consume(in_.size());
  in_.Append(payload);
  // Each datagram stands alone: a fresh session, and whatever it leaves unfinished (a partial
  // line, a short data block) is dropped with the datagram.
  server::Session session(server_, worker_);
  session.set_client_fd(fd);
  session.set_response_marks(&marks_);
  // A forged source address turns a small request with a big reply into an attack on that
  // address (memcached's 2018 amplification attacks): the replies to one datagram are capped.
  const size_t factor = server_.settings().udp_amplification;
  size_t budget =
      factor == 0 ? SIZE_MAX : std::max(kReplyFloor, factor * (payload.size() + kHeaderSize));
  // At most 16 rounds of the session's 256 KiB output: a reply to one datagram stays bounded.
  for (int round = 0; round < 16; ++round) {
    out_.Consume(out_.size());
    marks_.clear();
    session.Process(in_, out_);
    marks_.push_back(out_.size());
    size_t start = 0;
    for (const size_t mark : marks_) {
      if (mark > start && !SendSeries(fd, peer, peer_len, request_id,
                                      out_.readable().substr(start, mark - start), &budget)) {
        // Over the cap: this reply and the later ones are dropped, but the datagram's
        // remaining requests still run in the next rounds (a set after a big get is not lost).
        budget = 0;
      }
      start = std::max(start, mark);
    }
    // Loop while a multiget paused at the output limit still has keys to answer, or -R made
    // the session yield with requests left.
    if ((out_.empty() && !session.yielded()) || in_.empty()) break;
  }
}

bool UdpHandler::SendSeries(int fd, const sockaddr* peer, unsigned peer_len, uint16_t request_id,
                            std::string_view response, size_t* budget) {
  constexpr size_t kPayload = kMaxDatagram - kHeaderSize;
  const size_t total = (response.size() + kPayload - 1) / kPayload;
  const size_t bytes = response.size() + total * kHeaderSize;
  // A series too long to number (over 91 MB) is dropped rather than wrapped.
  if (bytes > *budget || total > kMaxSeries) return false;
  *budget -= bytes;
  for (size_t seq = 0; seq < total; ++seq) {
    uint8_t header[kHeaderSize] = {};
    StoreBe16(request_id, header);
    StoreBe16(static_cast<uint16_t>(seq), header + 2);
    StoreBe16(static_cast<uint16_t>(total), header + 4);
    const std::string_view chunk = response.substr(seq * kPayload, kPayload);
    iovec iov[2] = {{header, kHeaderSize}, {const_cast<char*>(chunk.data()), chunk.size()}};
    msghdr msg{};
    msg.msg_name = const_cast<sockaddr*>(peer);
    msg.msg_namelen = peer_len;
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    const ssize_t sent = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent > 0) worker_.stats.bytes_written.Add(static_cast<uint64_t>(sent));
  }
  return true;
}

}  // namespace cachet::net
