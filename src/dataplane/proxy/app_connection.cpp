#include "dataplane/proxy/app_connection.h"

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace meshctl::dataplane::proxy {
namespace {

// The kernel's struct tcp_info (a stable interface) continues glibc's shorter one with these
// fields; <linux/tcp.h>, which has them, cannot be included beside <netinet/tcp.h>.
struct TcpInfoWithBytes {
  tcp_info base;
  std::uint64_t pacing_rate;
  std::uint64_t max_pacing_rate;
  std::uint64_t bytes_acked;
  std::uint64_t bytes_received;
};

}  // namespace

void add_kernel_byte_counts(const boost::asio::ip::tcp::socket& s, TcpSeriesGuard& count) {
  TcpInfoWithBytes info{};
  socklen_t len = sizeof info;
  if (::getsockopt(const_cast<boost::asio::ip::tcp::socket&>(s).native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) !=
      0) {
    return;
  }
  // Kernels before 4.2 fill a shorter structure without the byte totals.
  if (len < sizeof info) return;
  count.add_read(info.bytes_received);
  count.add_written(info.bytes_acked);
}

}  // namespace meshctl::dataplane::proxy
