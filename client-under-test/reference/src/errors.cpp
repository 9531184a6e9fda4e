#include <schsim/refclient/errors.hpp>

namespace schsim::refclient {

auto to_string(error_class c) -> std::string_view {
  switch (c) {
    case error_class::timeout:
      return "timeout";
    case error_class::connection:
      return "connection";
    case error_class::server:
      return "server";
    case error_class::handshake:
      return "handshake";
    case error_class::cancelled:
      return "cancelled";
    case error_class::other:
      return "other";
  }
  return "other";
}

auto operator<<(std::ostream& os, error_class c) -> std::ostream& { return os << to_string(c); }

}  // namespace schsim::refclient
