// sse-server - a Server-Sent Events notification service with a demo page.
//
// Streams notifications, progress and data changes to browsers over one
// sse::hub, with JWT auth, CORS, limits, replay after reconnects, a polling
// fallback, stats, Prometheus metrics, and a page at / that shows it working.
//
//   sse-server                          http://127.0.0.1:8080/, anonymous demo mode
//   sse-server --help                   every option, its environment variable and default
//
//   curl -N 'http://127.0.0.1:8080/api/sse?channels=news'
//   curl -d '{"event":"notification","channels":["news"],
//             "data":{"notificationType":"info","title":"Hi","message":"hello"}}' http://127.0.0.1:8080/api/sse/publish
//
// SIGINT or SIGTERM shuts down gracefully. See docs/server.md.
#include "config.hpp"
#include "server.hpp"

#include <iostream>

int main(int argc, char** argv)
{
    app::config config;
    if (auto status = app::parse_command_line(argc, argv, config, std::cout, std::cerr))
        return *status;
    return app::run(config);
}
