#include "rpc/protobuf_log.h"

#include <glog/logging.h>
#include <google/protobuf/stubs/logging.h>

#include <mutex>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "net/log_limiter.h"

namespace mrpc {
namespace {

void ProtobufLogHandler(google::protobuf::LogLevel level, const char* filename,
                        int line, const std::string& message) {
  if (level >= google::protobuf::LOGLEVEL_FATAL) {
    // protobuf aborts right after this; glog's FATAL would abort first,
    // without protobuf's own message.
    google::LogMessage(filename, line, google::GLOG_ERROR).stream()
        << "protobuf: " << message;
    return;
  }
  const google::LogSeverity severity =
      level == google::protobuf::LOGLEVEL_INFO      ? google::GLOG_INFO
      : level == google::protobuf::LOGLEVEL_WARNING ? google::GLOG_WARNING
                                                    : google::GLOG_ERROR;
  // One reason per protobuf logging statement: its texts carry field names
  // and values, its source line does not change.
  LogLimiter* limiter =
      LogLimiter::Get(absl::StrCat("protobuf ", filename, ":", line));
  const LogPeer* peer = ScopedLogPeer::Current();
  const LogLimiter::Admission admission =
      limiter->Admit(peer != nullptr ? *peer : LogPeer());
  if (!admission.allowed) return;
  log_internal::PeerLogLine out(filename, line, severity, admission);
  // protobuf's UTF-8 error ends with a space (for a stack trace it omits).
  out.stream() << "protobuf: " << absl::StripTrailingAsciiWhitespace(message);
  if (peer != nullptr && !peer->empty())
    out.stream() << " (peer " << peer->ToString() << ")";
}

}  // namespace

void InstallProtobufLogHandler() {
  static std::once_flag once;
  std::call_once(once,
                 [] { google::protobuf::SetLogHandler(&ProtobufLogHandler); });
}

}  // namespace mrpc
