#include "ops/http/http_get.h"

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <sstream>

namespace couponflow::ops {

std::string HttpAnswer::header(std::string_view name) const {
  std::string_view rest(headers);
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    const size_t colon = line.find(':');
    if (colon == name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 2);
  }
  return "";
}

HttpAnswer http_call(const std::string& method, const std::string& host_port, const std::string& path,
                     const std::string& body, int timeout_ms) {
  namespace asio = boost::asio;
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return {};
  try {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    asio::ip::tcp::resolver resolver(io);
    std::string response;
    std::string request = method + " " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\n";
    if (!body.empty() || method == "POST") {
      request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    request += "\r\n";
    request += body;
    bool failed = false;
    // Asynchronous only to bound the whole exchange by timeout_ms.
    asio::async_connect(socket, resolver.resolve(host_port.substr(0, colon), host_port.substr(colon + 1)),
                        [&](const boost::system::error_code& ec, const asio::ip::tcp::endpoint&) {
                          if (ec) {
                            failed = true;
                            return;
                          }
                          asio::async_write(socket, asio::buffer(request), [&](const boost::system::error_code& wec, size_t) {
                            if (wec) {
                              failed = true;
                              return;
                            }
                            // Until the server closes (HTTP/1.0): eof ends the read.
                            asio::async_read(socket, asio::dynamic_buffer(response),
                                             [](const boost::system::error_code&, size_t) {});
                          });
                        });
    io.run_for(std::chrono::milliseconds(timeout_ms));
    if (failed) return {};
    HttpAnswer answer;
    const auto space = response.find(' ');
    if (response.rfind("HTTP/", 0) != 0 || space == std::string::npos || response.size() < space + 4) return {};
    answer.status = std::stoi(response.substr(space + 1, 3));
    const auto status_end = response.find("\r\n");
    const auto body_start = response.find("\r\n\r\n");
    if (body_start != std::string::npos) {
      answer.body = response.substr(body_start + 4);
      if (status_end < body_start) answer.headers = response.substr(status_end + 2, body_start - status_end - 2);
    }
    return answer;
  } catch (const std::exception&) {
    return {};
  }
}

double metric_sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

double metric_sum(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;  // another metric whose name starts the same
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace couponflow::ops
