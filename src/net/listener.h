#pragma once
// Listening sockets from the settings: TCP on each -l address (or all interfaces) and port, or a
// Unix socket (-s with -a mask), exactly as memcached binds them. With -Z every TCP listener
// speaks TLS except those given as "-l notls:<addr>"; UDP and Unix sockets stay plaintext.
#include <string>
#include <vector>

#include "server/settings.h"

namespace cachet::net {

struct ListenSocket {
  int fd = -1;
  std::string description;  // for the port file: "TCP INET: 11211"
  std::string address;      // for `stats conns`: "tcp:127.0.0.1:11211", "unix:/path"
  bool udp = false;         // a UDP socket (-U): read by the workers, never accepted on
  bool tls = false;         // -Z TCP listener (not one given as "-l notls:..."): clients speak TLS
};

// Opens every listening socket; on failure prints memcached-style errors and returns false.
bool OpenListeners(const server::Settings& settings, std::vector<ListenSocket>* out);

// Writes memcached's MEMCACHED_PORT_FILENAME file ("TCP INET: <port>" lines), atomically.
// `metrics_port` non-zero adds "METRICS INET: <port>" (cachet's Prometheus endpoint).
bool WritePortFile(const std::string& path, const std::vector<ListenSocket>& listeners,
                   int metrics_port = 0);

}  // namespace cachet::net
