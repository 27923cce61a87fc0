#pragma once
// memcached's UDP transport (-U): each datagram carries an 8-byte frame header (request id,
// sequence number, datagram count, reserved) and a whole request; each response goes back as
// its own series of datagrams of at most 1400 bytes, numbered from 0. Requests spanning several
// datagrams are not supported (memcached drops them too). Owned by one worker thread.
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/byte_buffer.h"
#include "server/server_context.h"

struct sockaddr;

namespace cachet::net {

class UdpHandler {
 public:
  static constexpr size_t kHeaderSize = 8;
  static constexpr size_t kMaxDatagram = 1400;
  // The least a request may be answered with under -o udp_amplification: a stats reply, a
  // value of ~10 KB.
  static constexpr size_t kReplyFloor = 8 * kMaxDatagram;
  static constexpr size_t kMaxSeries = 0xFFFF;  // a series' datagram count is 16 bits

  UdpHandler(server::ServerContext& server, server::WorkerContext& worker)
      : server_(server), worker_(worker) {}

  // Reads and answers the datagrams waiting on `fd` (non-blocking).
  void OnReadable(int fd);

 private:
  void Answer(int fd, const sockaddr* peer, unsigned peer_len, uint16_t request_id,
              std::string_view payload);
  // False (nothing sent) when the series does not fit in *budget bytes; else takes its size.
  bool SendSeries(int fd, const sockaddr* peer, unsigned peer_len, uint16_t request_id,
                  std::string_view response, size_t* budget);

  server::ServerContext& server_;
  server::WorkerContext& worker_;
  common::ByteBuffer in_{2048};
  common::ByteBuffer out_{2048};
  std::vector<size_t> marks_;
};

}  // namespace cachet::net
