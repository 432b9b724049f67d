// Beast chosen over cpp-httplib (Debian's 0.11 gives every connection a
// pool thread while it sends its headers, so 64 silent clients starve the
// rest) and civetweb (the same thread-per-connection model): one I/O
// thread here serves any number of slow clients, each with its own timer.
#include "http_server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/vector_body.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "../detect_args.hpp"
#include "web_page.hpp"
#include "dusk/options.hpp"
#include "dusk/text.hpp"

namespace dusk::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::vector_body<unsigned char>>;
using Response = http::response<http::string_body>;

namespace {

std::string json_error(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }

bool same_token(const std::string& given, const std::string& expected) {
  // Constant time: every byte of the longer string is looked at whatever matches.
  const std::size_t n = std::max(given.size(), expected.size());
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char a = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    const unsigned char b = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    difference = static_cast<unsigned char>(difference | (a ^ b));
  }
  return difference == 0;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> query_of(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      params[percent_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return params;
}

// A request's detection options: the server's, changed by ?thresh=&nms=&...
// Throws Error with the message for a 400.
DetectorOptions request_options(const DetectorOptions& base, const std::map<std::string, std::string>& params) {
  DetectorOptions options = base;
  // Each value through dusk's option table (options.hpp): the checks every
  // shell makes, the option named as the query (Python's keywords) spells it.
  const auto number = [](const std::string& key, const std::string& text) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
      throw Error(cat(key, "='", printable(text), "' is not a number"));
    }
    return value;
  };
  try {
    for (const auto& [key, value] : params) {
      if (key == "thresh") {
        options.threshold = unit_option(Option::Threshold, number(key, value));
      } else if (key == "nms") {
        options.nms = unit_option(Option::Nms, number(key, value));
      } else if (key == "letterbox") {
        if (value == "1" || value == "true" || value.empty()) {
          options.letterbox = true;
        } else if (value == "0" || value == "false") {
          options.letterbox = false;
        } else {
          throw Error(cat("letterbox='", printable(value), "' is neither 1/true nor 0/false"));
        }
      } else if (key == "nms_kind") {
        options.nms_kind = nms_kind_option(value);
      } else if (key == "resize") {
        options.resize = resize_option(value);
      } else {
        throw Error(cat("unknown parameter '", printable(key), "'; use thresh, nms, nms_kind, letterbox or resize"));
      }
    }
  } catch (const OptionError& error) {  // query parameters take Python's keyword names
    throw Error(error.message(Shell::Python));
  }
  return options;
}

}  // namespace

class Session;

struct Server::Impl {
  ServerConfig config;
  const Detector& detector;
  WorkPool& pool;
  StreamHub& hub;
  Metrics& metrics;
  std::string model;
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions;
  std::atomic<int> in_flight{0};  // requests received and not yet answered

  Impl(ServerConfig c, const Detector& d, WorkPool& p, StreamHub& h, Metrics& m, std::string model_json)
      : config(std::move(c)), detector(d), pool(p), hub(h), metrics(m), model(std::move(model_json)) {}

  void accept();
  void log(const std::string& peer, const std::string& method, const std::string& target, int status, double ms,
           std::size_t bytes) const {
    std::string line;
    if (config.json_logs) {
      line = nlohmann::json{{"peer", peer},     {"method", method},   {"target", target},
                            {"status", status}, {"ms", std::round(ms * 10) / 10}, {"bytes", bytes}}
                 .dump();
    } else {
      char text[64];
      std::snprintf(text, sizeof text, " %d %.1f ms %zu B", status, ms, bytes);
      line = cat("dusk serve: ", peer, " ", method, " ", printable(target, 200), text);
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server) : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "?" : endpoint.address().to_string();
    ++server_.metrics.connections;
  }
  ~Session() {
    --server_.metrics.connections;
    if (watching_) server_.hub.unwatch(watched_, watch_id_);
  }

  void start() { read(); }

  void close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.config.max_header_bytes));
    parser_->body_limit(server_.config.max_body_bytes);
    buffer_.clear();
    stream_.expires_after(server_.config.request_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    started_ = Clock::now();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return;  // the client left, or sent too slowly: nothing to answer
    }
    method_ = "?";
    target_ = "?";
    if (parser_->is_header_done()) {  // a refused body: the request line is known
      method_ = std::string(parser_->get().method_string());
      target_ = std::string(parser_->get().target());
    }
    if (ec == http::error::body_limit) {
      return respond(413, json_error(cat("the body is larger than the server's limit of ", server_.config.max_body_bytes,
                                         " bytes (dusk serve --max-body-mb)")),
                     "application/json", true);
    }
    if (ec == http::error::header_limit) {
      return respond(431, json_error(cat("the request's headers exceed ", server_.config.max_header_bytes, " bytes")),
                     "application/json", true);
    }
    if (ec) return respond(400, json_error(cat("malformed request: ", ec.message())), "application/json", true);
    request_ = parser_->release();
    method_ = std::string(request_.method_string());
    target_ = std::string(request_.target());
    ++server_.in_flight;
    answered_ = false;
    route();
  }

  void route() {
    const std::size_t question = target_.find('?');
    const std::string path = target_.substr(0, question);
    const std::string query = question == std::string::npos ? "" : target_.substr(question + 1);
    const http::verb verb = request_.method();
    const auto allow = [&](http::verb wanted, const char* allowed) {
      if (verb == wanted || (wanted == http::verb::get && verb == http::verb::head)) return true;
      respond(405, json_error(cat(method_, " is not allowed on ", path, "; use ", allowed)), "application/json",
              false, {{"Allow", allowed}});
      return false;
    };
    if (path != "/healthz" && !server_.config.token.empty()) {
      const auto header = request_.find(http::field::authorization);
      std::string given = header == request_.end() ? "" : std::string(header->value());
      // A browser cannot set headers on <img> or EventSource: GETs may carry ?token=.
      if (given.empty() && verb == http::verb::get) {
        const auto params = query_of(query);
        if (const auto it = params.find("token"); it != params.end()) given = "Bearer " + it->second;
      }
      if (given.rfind("Bearer ", 0) != 0 || !same_token(given.substr(7), server_.config.token)) {
        return respond(401, json_error("missing or wrong token: send Authorization: Bearer TOKEN"), "application/json",
                       false, {{"WWW-Authenticate", "Bearer"}});
      }
    }
    if (path == "/healthz") {
      if (allow(http::verb::get, "GET")) respond(200, R"({"status":"ok"})", "application/json");
    } else if (path == "/readyz") {
      if (allow(http::verb::get, "GET")) respond(200, R"({"ready":true})", "application/json");
    } else if (path == "/metrics") {
      if (allow(http::verb::get, "GET")) {
        respond(200, server_.metrics.text(server_.hub.metrics()), "text/plain; version=0.0.4; charset=utf-8");
      }
    } else if (path == "/" || path == "/index.html") {
      if (allow(http::verb::get, "GET")) respond(200, std::string(kWebPage), "text/html; charset=utf-8");
    } else if (path == "/v1/models") {
      if (allow(http::verb::get, "GET")) respond(200, server_.model, "application/json");
    } else if (path == "/v1/detect") {
      if (allow(http::verb::post, "POST")) detect(query);
    } else if (path == "/v1/streams") {
      if (allow(http::verb::get, "GET")) respond(200, server_.hub.describe().dump(), "application/json");
    } else if (path.rfind("/v1/streams/", 0) == 0) {
      const std::string rest = path.substr(12);
      const std::size_t slash = rest.find('/');
      const std::string name = rest.substr(0, slash);
      const std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (!server_.hub.has(name)) {
        respond(404, json_error(cat("no stream named '", printable(name), "'; GET /v1/streams lists them")),
                "application/json");
      } else if (what != "mjpeg" && what != "events" && what != "snapshot.jpg") {
        respond(404, json_error(cat("use /v1/streams/", name, "/mjpeg, /events or /snapshot.jpg")), "application/json");
      } else if (allow(http::verb::get, "GET")) {
        if (what == "snapshot.jpg") {
          const auto latest = server_.hub.latest(name);
          if (!latest) return respond(503, json_error("no frame processed yet; retry"), "application/json", false,
                                      {{"Retry-After", "1"}});
          respond(200, std::string(latest->jpeg.begin(), latest->jpeg.end()), "image/jpeg");
        } else {
          start_streaming(name, what == "mjpeg");
        }
      }
    } else {
      respond(404, json_error(cat("no route ", printable(path), "; see GET / for the page, /v1/models, /v1/detect, "
                                                               "/v1/streams, /healthz, /readyz, /metrics")),
              "application/json");
    }
  }

  void detect(const std::string& query) {
    DetectorOptions options;
    try {
      options = request_options(server_.detector.options(), query_of(query));
    } catch (const Error& error) {
      return respond(400, json_error(error.what()), "application/json");
    }
    if (request_.body().empty()) {
      return respond(400, json_error("empty body: post the image file's bytes (JPEG, PNG, BMP...)"), "application/json");
    }
    auto body = std::make_shared<std::vector<unsigned char>>(std::move(request_.body()));
    auto self = shared_from_this();
    const bool queued = server_.pool.submit([self, body, options] {
      const auto start = Clock::now();
      int status = 200;
      std::string answer;
      try {
        const Image image = decode_image(*body, "the posted image", self->server_.config.max_image_pixels);
        const Detector detector(self->server_.detector.network(), options);
        const std::vector<Detection> found = detector.detect(image);
        nlohmann::ordered_json out = {{"width", image.w}, {"height", image.h}, {"objects", cli::objects_value(found)}};
        answer = out.dump();
      } catch (const LimitError& error) {
        status = 413;
        answer = json_error(cat(error.message(Shell::Cli), " (a flag of dusk serve)"));
      } catch (const Error& error) {
        status = 400;
        answer = json_error(error.message(Shell::Python));
      } catch (const std::bad_alloc&) {
        status = 413;
        answer = json_error("out of memory for this image; send a smaller one");
      }
      self->server_.metrics.inference.observe(std::chrono::duration<double>(Clock::now() - start).count());
      --self->server_.metrics.queue_depth;
      net::post(self->stream_.get_executor(),
                [self, status, answer = std::move(answer)] { self->respond(status, answer, "application/json"); });
    });
    if (queued) {
      ++server_.metrics.queue_depth;
    } else {
      respond(503, json_error("busy: the queue of posted images is full; retry shortly"), "application/json", false,
              {{"Retry-After", "1"}});
    }
  }

  void respond(int status, std::string body, const char* type, bool close = false,
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto response = std::make_shared<Response>(static_cast<http::status>(status), 11);
    response->set(http::field::server, "dusk");
    response->set(http::field::content_type, type);
    response->set(http::field::cache_control, "no-store");
    if (!server_.config.cors_origin.empty()) response->set(http::field::access_control_allow_origin, server_.config.cors_origin);
    for (const auto& [name, value] : headers) response->set(name, value);
    const bool head = request_.method() == http::verb::head;
    const std::size_t bytes = body.size();
    response->body() = head ? std::string() : std::move(body);
    response->prepare_payload();
    if (head) response->content_length(bytes);
    close = close || server_.stopping || !request_.keep_alive();
    response->keep_alive(!close);
    stream_.expires_after(std::chrono::seconds(30));  // a client that does not read its answer is dropped
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response, close, status, bytes](beast::error_code ec, std::size_t) {
                        self->finish(status, bytes);
                        if (ec || close) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  void finish(int status, std::size_t bytes) {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    const std::size_t question = target_.find('?');
    std::string route = target_.substr(0, question);
    if (route.rfind("/v1/streams/", 0) == 0) route = "/v1/streams/*";
    if (status == 404) route = "(unknown)";
    server_.metrics.request(route, status, ms / 1000);
    const std::size_t token_at = target_.find("token=");
    server_.log(peer_, method_, token_at == std::string::npos ? target_ : target_.substr(0, token_at) + "token=(redacted)",
                status, ms, bytes);
    if (!answered_ && method_ != "?") {
      answered_ = true;
      --server_.in_flight;
    }
  }

  // multipart/x-mixed-replace JPEGs or server-sent events, until the client
  // leaves or the server stops. A client slower than the stream gets only
  // the newest frame when it is ready for one.
  void start_streaming(const std::string& name, bool mjpeg) {
    mjpeg_ = mjpeg;
    auto header = std::make_shared<http::response<http::empty_body>>(http::status::ok, 11);
    header->set(http::field::server, "dusk");
    header->set(http::field::content_type,
                mjpeg ? "multipart/x-mixed-replace; boundary=duskframe" : "text/event-stream");
    header->set(http::field::cache_control, "no-store");
    if (!server_.config.cors_origin.empty()) header->set(http::field::access_control_allow_origin, server_.config.cors_origin);
    header->keep_alive(false);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    finish(200, 0);  // logged when it starts; it lasts as long as the client stays
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write_header(stream_, *serializer,
                             [self = shared_from_this(), header, serializer, name](beast::error_code ec, std::size_t) {
                               if (ec) return;
                               self->watched_ = name;
                               std::weak_ptr<Session> weak = self;
                               self->watch_id_ = self->server_.hub.watch(name, [weak](std::shared_ptr<const Published> p) {
                                 if (auto session = weak.lock()) {
                                   net::post(session->stream_.get_executor(), [session, p] { session->push(p); });
                                 }
                               });
                               self->watching_ = true;
                               if (auto latest = self->server_.hub.latest(name)) self->push(latest);
                               self->await_close();
                             });
  }

  // A read that waits for the client to leave (it sends nothing more); its
  // handler holds the session for as long as the connection is open.
  void await_close() {
    stream_.socket().async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) return self->await_close();
      if (self->watching_) self->server_.hub.unwatch(self->watched_, self->watch_id_);
      self->watching_ = false;
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
    });
  }

  void push(std::shared_ptr<const Published> frame) {
    pending_ = std::move(frame);
    if (!writing_) write_pending();
  }

  void write_pending() {
    if (!pending_ || server_.stopping) return;
    std::shared_ptr<const Published> frame = std::move(pending_);
    pending_.reset();
    writing_ = true;
    if (mjpeg_) {
      part_ = cat("--duskframe\r\nContent-Type: image/jpeg\r\nContent-Length: ", frame->jpeg.size(), "\r\n\r\n");
      buffers_ = {net::buffer(part_), net::buffer(frame->jpeg), net::buffer("\r\n", 2)};
    } else {
      part_ = cat("data: ", frame->json, "\n\n");
      buffers_ = {net::buffer(part_)};
    }
    stream_.expires_after(std::chrono::seconds(30));
    net::async_write(stream_, buffers_, [self = shared_from_this(), frame](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) {
        if (self->watching_) self->server_.hub.unwatch(self->watched_, self->watch_id_);
        self->watching_ = false;
        return;
      }
      self->write_pending();
    });
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::vector_body<unsigned char>>> parser_;
  Request request_;
  std::string peer_, method_ = "?", target_ = "?";
  Clock::time_point started_ = Clock::now();
  bool answered_ = true;
  // Streaming.
  bool mjpeg_ = false;
  bool writing_ = false;
  bool watching_ = false;
  std::string watched_;
  std::uint64_t watch_id_ = 0;
  std::shared_ptr<const Published> pending_;
  std::string part_;
  std::vector<net::const_buffer> buffers_;
  std::array<char, 256> discard_{};
};

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!stopping && acceptor.is_open()) accept();
      return;
    }
    if (metrics.connections.load() >= static_cast<std::int64_t>(config.max_connections)) {
      beast::error_code ignored;
      socket.close(ignored);  // over the connection limit: refused at once
    } else {
      auto session = std::make_shared<Session>(std::move(socket), *this);
      {
        std::lock_guard<std::mutex> lock(sessions_mutex);
        for (auto it = sessions.begin(); it != sessions.end();) it = it->expired() ? sessions.erase(it) : std::next(it);
        sessions.insert(session);
      }
      session->start();
    }
    if (!stopping) accept();
  });
}

Server::Server(ServerConfig config, const Detector& detector, WorkPool& pool, StreamHub& hub, Metrics& metrics,
               std::string model)
    : impl_(std::make_unique<Impl>(std::move(config), detector, pool, hub, metrics, std::move(model))) {}

Server::~Server() = default;

int Server::listen() {
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(impl_->config.host, ec);
  if (ec) throw Error(cat("--host ", impl_->config.host, " is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)"));
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->config.port));
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(cat("cannot listen on ", impl_->config.host, ":", impl_->config.port, ": ", ec.message(),
                    "; choose another --port"));
  }
  return impl_->acceptor.local_endpoint().port();
}

void Server::run(const std::atomic<bool>& stop, std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  s.accept();
  std::thread io([&] { s.io.run(); });
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Stop accepting; requests already read are answered (their detection
  // finishes), streaming responses end, idle connections close.
  s.stopping = true;
  net::post(s.io, [&] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
  });
  const auto deadline = Clock::now() + grace;
  while (s.in_flight.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard<std::mutex> lock(s.sessions_mutex);
    for (const auto& weak : s.sessions) {
      if (auto session = weak.lock()) session->close();
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the closes and last writes go out
  s.io.stop();
  io.join();
}

}  // namespace dusk::serve
