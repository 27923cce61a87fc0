#pragma once
// Socket addresses as memcached's `stats conns` prints them: "tcp:127.0.0.1:11211",
// "tcp6:[::1]:11211", "udp:...", "unix:/path".
#include <string>

namespace cachet::net {

// The local (peer = false) or remote address of `fd`; `unix_path` names Unix sockets, whose
// peers have no path of their own.
std::string SocketAddress(int fd, bool peer, bool udp, const std::string& unix_path);

}  // namespace cachet::net
