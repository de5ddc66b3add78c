// tests/support/run_until.hpp - drives an io_context until a condition holds.
#ifndef SSE_TESTS_SUPPORT_RUN_UNTIL_HPP
#define SSE_TESTS_SUPPORT_RUN_UNTIL_HPP

#include "net.hpp"

#include <chrono>

namespace support {

/// Runs `io` one handler at a time until `done()` is true; false if `limit` passes first.
template<class Predicate>
bool run_until(asio::io_context& io, Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(5))
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        io.restart();
        io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
}

} // namespace support

#endif
