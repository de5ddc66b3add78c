// What a client's source file compiles to read one stream: an event source over TCP,
// started, with an event handler. compile_time.sh times it.
#include <sse/asio/event_source.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>

void listen(asio::io_context& io)
{
    auto source = std::make_shared<sse::event_source<asio::ip::tcp::socket>>(io.get_executor(),
        "http://127.0.0.1:8080/events");
    source->on_event([](sse::event_view const&) {});
    source->start();
}
