#pragma once
// The HTTP side of `dusk serve`, on Boost.Beast: asynchronous sessions (a
// slow or idle client holds a socket and a timer, never a thread), limits
// on headers, bodies, connections and time, routes, auth and request logs.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "dusk/detector.hpp"
#include "metrics.hpp"
#include "stream_hub.hpp"
#include "work_pool.hpp"

namespace dusk::serve {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port
  std::string token;               // empty: no authentication
  std::size_t max_body_bytes = std::size_t{32} << 20;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_connections = 256;
  std::chrono::milliseconds request_timeout{10000};  // to receive a whole request
  std::int64_t max_image_pixels = kMaxImagePixels;
  bool json_logs = false;
  std::string cors_origin;         // empty: no CORS headers
};

class Server {
 public:
  // `detector` answers POST /v1/detect (its options are the defaults a
  // request's parameters change); `model` is GET /v1/models' answer.
  Server(ServerConfig config, const Detector& detector, WorkPool& pool, StreamHub& hub, Metrics& metrics,
         std::string model);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds; throws dusk::Error when the address cannot be had.
  int listen();
  // Serves until `stop` is set, then stops accepting, lets requests in
  // flight finish (at most `grace`) and returns.
  void run(const std::atomic<bool>& stop, std::chrono::milliseconds grace);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dusk::serve
