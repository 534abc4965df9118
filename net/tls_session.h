// TlsSession: one connection's TLS state machine, run over mrpc Buffers
// instead of a socket: ciphertext read from the socket goes in, plaintext
// comes out for the protocol above; plaintext to send goes in, records for
// the socket come out. No I/O of its own, so the connection keeps its one
// read and one write path (and a fuzzer can drive it with bytes alone).
//
// Internal (TcpConnection::StartTls). Not thread-safe: a session belongs
// to its connection's loop. Made by TlsContext::NewSession().
//
// Example (what TcpConnection does):
//   absl::Status s = session->Receive(&wire_in, &plain_in, &wire_out, &eof);
//   if (!s.ok()) close, logging s;
//   if (session->handshake_done()) s = session->Send(data, n, &wire_out);
#ifndef MRPC_NET_TLS_SESSION_H_
#define MRPC_NET_TLS_SESSION_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "net/buffer.h"
#include "net/tls_peer.h"

typedef struct ssl_st SSL;

namespace mrpc {

class TlsSession {
 public:
  // Takes ownership of `ssl` (set up by TlsContext, in its role).
  explicit TlsSession(SSL* ssl);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Consumes the ciphertext in *wire_in (a partial record stays there),
  // advances the handshake, appends decrypted application bytes to *plain
  // and any records this side must send (handshake replies, alerts, key
  // updates) to *wire_out. *closed is set when the peer sent close_notify.
  // An error (bad record, failed verification, alert from the peer, ...)
  // says why in words fit for a log line; the connection must then close
  // after sending *wire_out (which may hold an alert).
  absl::Status Receive(Buffer* wire_in, Buffer* plain, Buffer* wire_out,
                       bool* closed);

  // Encrypts `n` bytes into records appended to *wire_out. Only once
  // handshake_done().
  absl::Status Send(const char* data, size_t n, Buffer* wire_out);

  // Appends a close_notify alert to *wire_out (once; after the handshake).
  void SendCloseNotify(Buffer* wire_out);

  // A client starts the handshake with this (its ClientHello); a server
  // waits for the client's first bytes in Receive().
  absl::Status StartClient(Buffer* wire_out);

  bool handshake_done() const { return handshake_done_; }
  // Valid once handshake_done().
  const TlsPeer& peer() const { return peer_; }

 private:
  friend struct TlsBio;  // The BIO callbacks reach the buffers below.

  absl::Status Handshake();
  void CapturePeer();
  // Why the last OpenSSL call (returning `ret`) failed, for a log line;
  // clears OpenSSL's error queue.
  std::string ErrorString(int ret);

  SSL* const ssl_;
  bool handshake_done_ = false;
  bool close_sent_ = false;
  TlsPeer peer_;
  // The buffers of the call in progress, for the BIO callbacks.
  Buffer* bio_in_ = nullptr;
  Buffer* bio_out_ = nullptr;
};

}  // namespace mrpc

#endif  // MRPC_NET_TLS_SESSION_H_
