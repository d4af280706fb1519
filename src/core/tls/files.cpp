#include "core/tls/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/tls/pem.h"

namespace meshctl::core::tls {

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(path.string() + ": cannot read file (it is a directory)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot read file (" + std::strerror(errno) + ")");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw Error(path.string() + ": cannot read file (" + std::strerror(errno) + ")");
  return std::move(buf).str();
}

}  // namespace

Certificate load_certificate_file(const std::filesystem::path& path) {
  return certificate_from_pem(read_file(path), path.string());
}

CertificateBundle load_bundle_file(const std::filesystem::path& path) {
  return bundle_from_pem(read_file(path), path.string());
}

PrivateKey load_private_key_file(const std::filesystem::path& path) {
  std::string text = read_file(path);
  try {
    PrivateKey key = private_key_from_pem(text, path.string());
    std::fill(text.begin(), text.end(), '\0');
    return key;
  } catch (...) {
    std::fill(text.begin(), text.end(), '\0');
    throw;
  }
}

CertificateRequest load_csr_file(const std::filesystem::path& path) {
  return csr_from_pem(read_file(path), path.string());
}

void write_pem_file(const std::filesystem::path& path, std::string_view contents, bool secret) {
  auto fail = [&](int err) { return Error(path.string() + ": cannot write file (" + std::strerror(err) + ")"); };
  // open(2) rather than ofstream: the mode must be set when the file is created, not after the
  // secret is already on disk with the umask's permissions.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
  if (fd < 0) throw fail(errno);
  if (secret && ::fchmod(fd, 0600) != 0) {
    const int err = errno;
    ::close(fd);
    throw fail(err);
  }
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw fail(err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw fail(errno);
}

}  // namespace meshctl::core::tls
