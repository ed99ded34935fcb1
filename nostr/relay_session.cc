#include "nostr/relay_session.h"

#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <utility>

namespace agent9::nostr {
namespace {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

std::string ConnectError(const error_code& ec) {
  if (ec == net::error::connection_refused) return "connection refused";
  if (ec == net::error::timed_out) return "connect timeout";
  if (ec == net::error::network_unreachable || ec == net::error::host_unreachable) {
    return "unreachable: " + ec.message();
  }
  return "connect failed: " + ec.message();
}

std::string ReadError(const error_code& ec, const websocket::close_reason& reason) {
  if (ec == websocket::error::closed) {
    std::string why = "closed by relay";
    if (!reason.reason.empty()) why += ": " + std::string(reason.reason.c_str());
    return why;
  }
  if (ec == websocket::error::message_too_big) return "frame too large";
  if (ec == beast::error::timeout) return "timeout: relay stopped answering pings";
  if (ec == net::error::eof || ec == net::error::connection_reset) return "connection lost";
  return "connection lost: " + ec.message();
}

bool IsIpLiteral(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

RelaySession::RelaySession(net::io_context& ioc, net::ssl::context& tls, RelayUrl url,
                           const RelayPoolOptions& opts, SessionEvents events)
    : url_(std::move(url)),
      opts_(opts),
      events_(std::move(events)),
      resolver_(ioc),
      deadline_(ioc) {
  if (url_.tls) {
    tls_ws_ = std::make_unique<TlsWs>(ioc, tls);
  } else {
    plain_ws_ = std::make_unique<PlainWs>(ioc);
  }
}

beast::tcp_stream& RelaySession::Lowest() {
  if (tls_ws_) return beast::get_lowest_layer(*tls_ws_);
  return beast::get_lowest_layer(*plain_ws_);
}

void RelaySession::Run() {
  deadline_.expires_after(std::chrono::milliseconds(opts_.connect_timeout_ms));
  deadline_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec && !self->open_) self->Fail("connect timeout");
  });
  resolver_.async_resolve(url_.host, std::to_string(url_.port),
                          beast::bind_front_handler(&RelaySession::OnResolve, shared_from_this()));
}

void RelaySession::OnResolve(error_code ec, net::ip::tcp::resolver::results_type results) {
  if (done_) return;
  if (ec) return Fail("resolve failed: " + ec.message());
  Lowest().async_connect(
      results, [self = shared_from_this()](error_code cec, const net::ip::tcp::endpoint&) {
        self->OnConnect(cec);
      });
}

void RelaySession::OnConnect(error_code ec) {
  if (done_) return;
  if (ec) return Fail(ConnectError(ec));
  Lowest().socket().set_option(net::ip::tcp::no_delay(true), ec);
  if (!tls_ws_) return StartWsHandshake();
  auto& stream = tls_ws_->next_layer();
  if (!IsIpLiteral(url_.host) &&
      !SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str())) {
    return Fail("tls handshake failed: cannot set SNI");
  }
  if (opts_.verify_tls) {
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(url_.host));
  } else {
    stream.set_verify_mode(ssl::verify_none);
  }
  stream.async_handshake(
      ssl::stream_base::client,
      beast::bind_front_handler(&RelaySession::OnTlsHandshake, shared_from_this()));
}

void RelaySession::OnTlsHandshake(error_code ec) {
  if (done_) return;
  if (ec) return Fail("tls handshake failed: " + ec.message());
  StartWsHandshake();
}

void RelaySession::StartWsHandshake() {
  WithWs([this](auto& ws) {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::milliseconds(opts_.connect_timeout_ms);
    timeouts.idle_timeout = opts_.idle_timeout_ms > 0
                                ? std::chrono::milliseconds(opts_.idle_timeout_ms)
                                : websocket::stream_base::none();
    timeouts.keep_alive_pings = opts_.idle_timeout_ms > 0;
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "agent9-nostr/" BOOST_BEAST_VERSION_STRING);
    }));
    ws.read_message_max(opts_.max_message_bytes);
    ws.async_handshake(url_.host_header, url_.target,
                       beast::bind_front_handler(&RelaySession::OnWsHandshake, shared_from_this()));
  });
}

void RelaySession::OnWsHandshake(error_code ec) {
  if (done_) return;
  if (ec) return Fail("handshake failed: " + ec.message());
  open_ = true;
  deadline_.cancel();
  if (events_.on_open) events_.on_open();
  if (done_) return;
  ReadNext();
  if (!outbox_.empty() && !writing_) WriteNext();
}

void RelaySession::ReadNext() {
  WithWs([this](auto& ws) {
    ws.async_read(buffer_,
                  [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  });
}

void RelaySession::OnRead(error_code ec) {
  if (done_) return;
  if (ec) {
    websocket::close_reason reason;
    WithWs([&reason](auto& ws) { reason = ws.reason(); });
    return Fail(ReadError(ec, reason));
  }
  bool text = true;
  WithWs([&text](auto& ws) { text = ws.got_text(); });
  std::string frame = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  if (text) {
    if (events_.on_text) events_.on_text(frame);
  } else if (events_.on_binary) {
    events_.on_binary();
  }
  if (!done_) ReadNext();
}

void RelaySession::Send(std::string frame) {
  if (done_) return;
  outbox_.push_back(std::move(frame));
  if (open_ && !writing_) WriteNext();
}

void RelaySession::WriteNext() {
  writing_ = true;
  WithWs([this](auto& ws) {
    ws.text(true);
    ws.async_write(net::buffer(outbox_.front()),
                   [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
  });
}

void RelaySession::OnWrite(error_code ec) {
  writing_ = false;
  if (done_) return;
  if (ec) return Fail("write failed: " + ec.message());
  outbox_.pop_front();
  if (!outbox_.empty()) WriteNext();
}

void RelaySession::Fail(std::string why) {
  if (done_) return;
  done_ = true;
  CloseSocket();
  if (events_.on_error) events_.on_error(std::move(why));
}

void RelaySession::CloseSocket() {
  error_code ignored;
  resolver_.cancel();
  deadline_.cancel();
  Lowest().socket().close(ignored);
}

void RelaySession::Abort() {
  if (done_) return;
  done_ = true;
  CloseSocket();
}

void RelaySession::Close() {
  if (done_) return;
  bool polite = open_ && !writing_;
  done_ = true;
  if (!polite) return CloseSocket();
  // The close handshake gets stop_grace_ms; then the socket goes regardless.
  deadline_.expires_after(std::chrono::milliseconds(opts_.stop_grace_ms));
  deadline_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->CloseSocket();
  });
  WithWs([this](auto& ws) {
    ws.async_close(websocket::close_code::normal,
                   [self = shared_from_this()](error_code) { self->CloseSocket(); });
  });
}

}  // namespace agent9::nostr
