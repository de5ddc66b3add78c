// Explicit instantiations: every member of stream compiles for a real socket and the mock.
#include <sse/asio/stream.hpp>

#include <doctest/doctest.h>

#include "support/mock_socket.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <malloc.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

template class sse::stream<asio::ip::tcp::socket>;
template class sse::stream<support::mock_socket>;

TEST_CASE("stream: memory of an idle stream")
{
    using tcp = asio::ip::tcp;
    using tcp_stream = sse::stream<tcp::socket>;
    constexpr std::size_t n = 1000;

    for (auto const threading : {sse::stream_threading::strand, sse::stream_threading::one_thread}) {
        bool const one_thread = threading == sse::stream_threading::one_thread;
        CAPTURE(one_thread);
        asio::io_context io;
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        std::vector<tcp::socket> clients;
        clients.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            clients.emplace_back(io);
            clients.back().connect(acceptor.local_endpoint());
        }
        sse::stream_options o;
        o.threading = threading;
        auto options = std::make_shared<sse::stream_options const>(std::move(o));   // shared by every stream
        std::vector<tcp::socket> accepted;
        accepted.reserve(n);
        std::vector<std::shared_ptr<tcp_stream>> streams;
        streams.reserve(n);

        auto const heap = [] { return mallinfo2().uordblks; };
        std::size_t const before_accept = heap();
        for (std::size_t i = 0; i < n; ++i)
            accepted.push_back(acceptor.accept());
        std::size_t const after_accept = heap();
        for (auto& s : accepted) {
            streams.push_back(std::make_shared<tcp_stream>(std::move(s), options));
            streams.back()->start();
        }
        io.run_for(std::chrono::milliseconds(100));   // heads written; every stream is now idle
        std::size_t const after_start = heap();

        std::size_t const socket_heap = (after_accept - before_accept) / n;
        std::size_t const stream_heap = (after_start - after_accept) / n;
        std::string const mode = one_thread ? "one_thread" : "strand";
        MESSAGE(mode << ": sizeof(sse::stream<tcp::socket>) = " << sizeof(tcp_stream)
                << " bytes; heap per accepted socket (reactor registration) = " << socket_heap
                << " bytes; heap per idle started stream (object, strand if any, peer watch, timer) = " << stream_heap
                << " bytes");
        CHECK(sizeof(tcp_stream) <= 640);
        if (after_start > before_accept)   // mallinfo2 reads 0 under sanitizers
            CHECK(socket_heap + stream_heap <= (one_thread ? 1280u : 2048u));

        for (auto& s : streams)
            s->close();
        streams.clear();
        io.run_for(std::chrono::milliseconds(100));
    }
}
