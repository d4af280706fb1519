#pragma once
// OpenSSL reports failures on a thread-local queue. Anything left there is blamed on whatever
// fails next, so every failure we report drains the queue into its message, and code that
// expects OpenSSL to push "errors" on success (end of a PEM stream) clears them.

#include <string>
#include <string_view>

namespace meshctl::core::tls {

// Every queued OpenSSL error as one line ("reason; reason"), oldest first; empties the queue.
// Empty when the queue was empty.
std::string take_openssl_errors();

// Empties the queue without reading it.
void clear_openssl_errors();

// Throws core::Error "<what>: <queued OpenSSL errors>" (or just "<what>" when the queue is
// empty), emptying the queue.
[[noreturn]] void throw_openssl_error(std::string_view what);

}  // namespace meshctl::core::tls
