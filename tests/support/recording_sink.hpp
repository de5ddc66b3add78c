// tests/support/recording_sink.hpp - a delivery_sink that records what the hub tells it.
#ifndef SSE_TESTS_SUPPORT_RECORDING_SINK_HPP
#define SSE_TESTS_SUPPORT_RECORDING_SINK_HPP

#include <sse/delivery.hpp>

#include <vector>

namespace support {

struct recording_sink : sse::delivery_sink
{
    int wakes = 0;          // every wake, inline or not
    int inline_wakes = 0;   // those through wake_inline()
    std::vector<sse::close_reason> closes;
    void wake() noexcept override { ++wakes; }
    bool wake_inline() noexcept override
    {
        ++inline_wakes;
        wake();
        return true;
    }
    void closed(sse::close_reason why) noexcept override { closes.push_back(why); }
};

} // namespace support

#endif
