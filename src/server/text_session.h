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

#include "common/byte_buffer.h"
#include "protocol/text_request.h"
#include "server/meta_commands.h"
#include "server/server_context.h"
#include "server/session_action.h"

namespace cachet::server {

class TextSession {
 public:
  using Action = SessionAction;

  TextSession(ServerContext& server, WorkerContext& worker)
      : server_(server), worker_(worker), meta_(server, worker) {}

  // Handles every complete request at the front of `in` (consuming it) until the input runs
  // out or `out` passes the high-water mark.
  Action Process(common::ByteBuffer& in, common::ByteBuffer& out);

  // How many input bytes the next step needs in total (to size the read buffer); 0 = any.
  size_t input_wanted() const { return input_wanted_; }

 private:
  enum class Step : uint8_t { kDone, kPaused, kClose };

  Step ExecuteLine(const protocol::TextRequest& req, common::ByteBuffer& out);
  // Returns kPaused when the output filled up before the last key.
  Step ExecuteGet(const protocol::TextRequest& req, common::ByteBuffer& out);
  void ExecuteStorage(const protocol::TextRequest& req, common::ByteBuffer& out);
  void ExecuteArith(const protocol::TextRequest& req, common::ByteBuffer& out);
  void ExecuteStats(const protocol::TextRequest& req, common::ByteBuffer& out);
  // Starts discarding the data block of a storage command that is refused before its data.
  void RefuseTooLarge(const protocol::TextRequest& req);
  bool TooLarge(const protocol::TextRequest& req) const;

  ServerContext& server_;
  WorkerContext& worker_;
  MetaCommands meta_;
  uint64_t swallow_ = 0;            // data bytes still to discard
  std::string_view swallow_reply_;  // sent when the discarding ends (a static string)
  size_t get_resume_ = 0;           // bytes of a paused multiget's key list already answered
  size_t input_wanted_ = 0;
};

}  // namespace cachet::server
