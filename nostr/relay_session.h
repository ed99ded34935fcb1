// RelaySession: one attempt at one WebSocket connection to a relay (resolve, TCP, TLS, WebSocket
// handshake, then text frames both ways), on Boost.Beast. Private to nostr/: only relay_pool's
// .cc files include it. A session reports at most one error and nothing after Close()/Abort().
// Thread-safety: I/O thread only; handlers keep the session alive (shared_from_this).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "nostr/relay_pool.h"
#include "nostr/relay_url.h"

namespace agent9::nostr {

namespace net = boost::asio;

struct SessionEvents {
  std::function<void()> on_open;                       // handshake done; Send() goes out now
  std::function<void(std::string_view text)> on_text;  // one text frame
  std::function<void()> on_binary;                     // a binary frame (ignored by relays' peers)
  std::function<void(std::string why)> on_error;       // the attempt or connection ended
};

class RelaySession : public std::enable_shared_from_this<RelaySession> {
 public:
  // tls is used for wss:// URLs only and must outlive the session.
  RelaySession(net::io_context& ioc, net::ssl::context& tls, RelayUrl url,
               const RelayPoolOptions& opts, SessionEvents events);

  void Run();                    // starts connecting; connect_timeout_ms bounds the handshakes
  void Send(std::string frame);  // queued until open, then written in order
  void Close();                  // close handshake, bounded by stop_grace_ms; no more events
  void Abort();                  // drops the socket now; no more events

 private:
  using PlainWs = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using TlsWs = boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

  template <typename F>
  void WithWs(F&& f) {
    if (tls_ws_) {
      f(*tls_ws_);
    } else {
      f(*plain_ws_);
    }
  }
  boost::beast::tcp_stream& Lowest();

  void OnResolve(boost::system::error_code ec, net::ip::tcp::resolver::results_type results);
  void OnConnect(boost::system::error_code ec);
  void OnTlsHandshake(boost::system::error_code ec);
  void StartWsHandshake();
  void OnWsHandshake(boost::system::error_code ec);
  void ReadNext();
  void OnRead(boost::system::error_code ec);
  void WriteNext();
  void OnWrite(boost::system::error_code ec);
  void Fail(std::string why);
  void CloseSocket();

  RelayUrl url_;
  RelayPoolOptions opts_;
  SessionEvents events_;
  net::ip::tcp::resolver resolver_;
  net::steady_timer deadline_;
  std::unique_ptr<PlainWs> plain_ws_;
  std::unique_ptr<TlsWs> tls_ws_;
  boost::beast::flat_buffer buffer_;
  std::deque<std::string> outbox_;
  bool open_ = false;     // WebSocket handshake done
  bool writing_ = false;  // an async_write is in flight
  bool done_ = false;     // failed, closed or aborted: report nothing more
};

}  // namespace agent9::nostr
