#include "core/tls/handles.h"

namespace meshctl::core::tls {

void X509StackDeleter::operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }

void X509BorrowedStackDeleter::operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }

}  // namespace meshctl::core::tls
