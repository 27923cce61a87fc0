#pragma once
// One connection's text-protocol conversation, without sockets: bytes in, replies out. net/ owns
// the buffers and the socket; this class parses, executes against the store and writes replies.
//
// Memory stays bounded whatever the client does: the caller stops reading while the output is
// above kOutputHighWater, a multiget pauses between keys at that mark and resumes on the next
// call, and data for an item that is too large is discarded as it arrives, never buffered.
// (kOutputHighWater: session_action.h.)
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/byte_buffer.h"
#include "protocol/text_request.h"
#include "server/ascii_auth.h"
#include "server/buffer_charge.h"
#include "server/meta_commands.h"
#include "server/operator_commands.h"
#include "server/server_context.h"
#include "server/session_action.h"

namespace cachet::server {

class TextSession {
 public:
  using Action = SessionAction;

  TextSession(ServerContext& server, WorkerContext& worker)
      : server_(server),
        worker_(worker),
        meta_(server, worker),
        ops_(server, worker),
        auth_(server.settings().auth_file.empty() ? nullptr : &server.auth_file()) {}

  // Handles every complete request at the front of `in` (consuming it) until the input runs
  // out or `out` passes the high-water mark.
  Action Process(common::ByteBuffer& in, common::ByteBuffer& out);

  // UDP: where each response ends in the output (each goes out as its own datagram series).
  // Also marks the session as UDP's: listings and watch are refused there (a forged source
  // address would turn them into an amplifier), as -X and -W refuse them.
  void set_response_marks(std::vector<size_t>* marks) {
    marks_ = marks;
    ops_.set_udp(marks != nullptr);
    meta_.set_udp(marks != nullptr);
  }
  void set_client_fd(int fd) {
    client_fd_ = fd;
    meta_.set_client_fd(fd);
  }
  void set_buffer_charge(BufferCharge* charge) {
    charge_ = charge;
    meta_.set_buffer_charge(charge);
  }
  // After Process() returned kWatch: what the client asked to watch.
  uint32_t watch_kinds() const { return ops_.watch_kinds(); }
  // The last Process() stopped at -R's requests-per-event limit with input left: call it again
  // once other connections had their turn (no socket event will come for buffered input).
  bool yielded() const { return yielded_; }
  // The last Process() stopped at a line that waits for another thread (`snapshot`): call it
  // again once the worker's waker fired.
  bool waiting() const { return waiting_; }

  // How many input bytes the next step needs in total (to size the read buffer); 0 = any.
  size_t input_wanted() const { return input_wanted_; }

 private:
  using Step = CommandStep;

  Step ExecuteLine(const protocol::TextRequest& req, common::ByteBuffer& out);
  // Returns kPaused when the output filled up before the last key.
  Step ExecuteGet(const protocol::TextRequest& req, common::ByteBuffer& out);
  void ExecuteStorage(const protocol::TextRequest& req, common::ByteBuffer& out);
  void ExecuteArith(const protocol::TextRequest& req, common::ByteBuffer& out);
  common::Outcome CasWithoutCas(std::string_view key);
  void LogRequestLine(std::string_view input) const;
  void LogReplies(std::string_view replies) const;
  // Starts discarding the data block of a storage command that is refused before its data.
  void RefuseTooLarge(const protocol::TextRequest& req);
  bool TooLarge(const protocol::TextRequest& req) const;
  // Store::Prefetch for the keys of the next requests in `input`; returns how many requests
  // that covered.
  size_t PrefetchAhead(std::string_view input) const;

  ServerContext& server_;
  WorkerContext& worker_;
  MetaCommands meta_;
  OperatorCommands ops_;
  AsciiAuth auth_;
  uint64_t swallow_ = 0;            // data bytes still to discard
  std::string_view swallow_reply_;  // sent when the discarding ends (a static string)
  size_t get_resume_ = 0;           // bytes of a paused multiget's key list already answered
  size_t input_wanted_ = 0;
  // Leading input bytes known to hold no newline (the line is still arriving); only this
  // session consumes its input, so they stay at the front until it does.
  size_t newline_scanned_ = 0;
  int client_fd_ = 0;
  // Commands taken from the input in the current Process() call: like memcached, metadump and
  // watch must come first in what a client sent at once.
  size_t batch_commands_ = 0;
  size_t prefetched_until_ = 0;  // batch_commands_ value up to which keys were prefetched
  std::vector<size_t>* marks_ = nullptr;
  BufferCharge* charge_ = nullptr;  // the connection's (none in unit tests)
  bool yielded_ = false;
  bool waiting_ = false;
};

}  // namespace cachet::server
