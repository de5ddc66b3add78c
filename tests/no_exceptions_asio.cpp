// Compiled with -fno-exceptions: the transport, TLS included, is usable through
// its error_code overloads alone. Every member of each class template is
// instantiated, so a try, a catch or a throw anywhere in them breaks this build.
//
// Standalone Asio does not notice -fno-exceptions by itself: a program defines
// ASIO_NO_EXCEPTIONS (done for this target in CMakeLists.txt) and, as Asio
// requires then, asio::detail::throw_exception, which Asio calls where it would
// have thrown (out of memory, a timer or socket call that cannot fail).
#include <sse/asio/attach.hpp>
#include <sse/asio/body.hpp>
#include <sse/asio/event_source.hpp>
#include <sse/asio/listener.hpp>
#include <sse/asio/response.hpp>
#include <sse/asio/source_group.hpp>
#include <sse/asio/ssl.hpp>
#include <sse/asio/stream.hpp>
#include <sse/hub.hpp>

#include <asio/ip/tcp.hpp>

#include <cstdlib>
#include <memory>
#include <string>

template class sse::event_source<asio::ip::tcp::socket>;
template class sse::event_source<sse::tls_socket>;
template class sse::source_group<asio::ip::tcp::socket>;
template class sse::source_group<sse::tls_socket>;
template class sse::stream<asio::ip::tcp::socket>;
template class sse::stream<sse::tls_socket>;
template class sse::basic_listener<asio::ip::tcp::socket>;   // the TLS one below, as used

namespace asio::detail {

template<class Exception>
void throw_exception(Exception const&)
{
    std::abort();
}

} // namespace asio::detail

// What a program without exceptions writes: every failure arrives as an error code.
int sse_no_exceptions_transport(asio::any_io_executor ex, sse::hub& h)
{
    sse::error_code ec;

    sse::event_source<sse::tls_socket> source(ex, "https://127.0.0.1:8443/events", {}, ec);
    if (ec)
        return 1;
    source.on_event([](sse::event_view const&) {});
    source.start();

    sse::source_group<asio::ip::tcp::socket> group(ex);
    if (!group.add("eu", "http://127.0.0.1:8080/events", {}, ec))
        return 2;
    group.start();

    auto tls = sse::tls_server_context("cert.pem", "key.pem", ec);
    if (!tls)
        return 3;
    asio::ip::tcp::endpoint const endpoint(asio::ip::make_address("127.0.0.1", ec), 0);
    if (ec)
        return 4;
    auto listener = std::make_shared<sse::tls_listener>(ex, *tls, endpoint,
        [&h](sse::http::request_head head, sse::tls_socket socket, std::string_view rest) {
            if (head.method() == "POST") {
                auto conn = std::make_shared<sse::tls_socket>(std::move(socket));
                auto buffer = std::make_shared<std::string>(rest);
                sse::async_read_body(*conn, head, *buffer, {}, [conn, buffer](sse::error_code bec, std::string) {
                    sse::response r;
                    r.status = sse::http::status_for(bec);
                    sse::respond_and_close(std::move(*conn), r);
                });
                return;
            }
            auto s = std::make_shared<sse::stream<sse::tls_socket>>(std::move(socket));
            sse::error_code aec;
            auto sub = sse::attach(h, s, {}, {}, aec);
            if (aec)
                return s->close();
            s->start(head);
            sse::event e;
            e.data = "hello";
            s->send(e, aec);
            s->async_send(e, [](sse::error_code) {});
            s->notify();
        },
        sse::listener_options{}, ec);
    if (ec)
        return 5;
    listener->start();
    return 0;
}
