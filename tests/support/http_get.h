#pragma once
// A minimal HTTP/1.0 GET for tests of the instance's endpoints.

#include <boost/asio.hpp>
#include <string>

namespace couponflow::testing {

struct HttpAnswer {
  int status = 0;  // 0: no connection
  std::string body;
};

inline HttpAnswer http_get(uint16_t port, const std::string& path) {
  namespace asio = boost::asio;
  try {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    asio::write(socket, asio::buffer(request));
    std::string response;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(response), ec);  // until the server closes
    HttpAnswer answer;
    const auto space = response.find(' ');
    if (space == std::string::npos) return answer;
    answer.status = std::stoi(response.substr(space + 1, 3));
    const auto body = response.find("\r\n\r\n");
    if (body != std::string::npos) answer.body = response.substr(body + 4);
    return answer;
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace couponflow::testing
