#include "server/binary_auth.h"

#include <string>

namespace cachet::server {

using protocol::BinaryStatus;
namespace op = protocol::binop;

void BinaryAuth::Execute(const protocol::BinaryHeader& h, std::string_view mechanism,
                         std::string_view data, common::ByteBuffer& out, ThreadStats& stats) {
  authenticated_ = false;
  if (exchange_ == nullptr) exchange_ = sasl_->NewExchange();
  std::string reply;
  if (h.opcode == op::kSaslListMechs) {
    if (exchange_ == nullptr || !exchange_->Mechanisms(&reply)) {
      protocol::AppendBinaryError(out, h, BinaryStatus::kAuthError);
    } else {
      protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {}, {}, reply);
    }
    return;
  }
  SaslExchange::Result result = SaslExchange::Result::kFail;
  if (exchange_ != nullptr && h.opcode == op::kSaslAuth) {
    result = exchange_->Start(mechanism, data, &reply);
    started_ = result != SaslExchange::Result::kFail;
  } else if (exchange_ != nullptr && started_) {  // SASL_STEP after a start
    result = exchange_->Step(data, &reply);
  }
  switch (result) {
    case SaslExchange::Result::kOk:
      authenticated_ = true;
      stats.auth_cmds.Add();
      protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {}, {}, "Authenticated");
      break;
    case SaslExchange::Result::kContinue:
      protocol::AppendBinaryResponse(out, h, BinaryStatus::kAuthContinue, 0, {}, {}, reply);
      break;
    case SaslExchange::Result::kFail:
      stats.auth_cmds.Add();
      stats.auth_errors.Add();
      protocol::AppendBinaryError(out, h, BinaryStatus::kAuthError);
      break;
  }
}

}  // namespace cachet::server
