// action_sender.hpp - what the notification center does with an action the user picked.
//
// A notification may carry actions (docs/server.md, "Typed events"): a URL to open, or an
// event to send back to the server, which publishes it to the user's streams
// (POST /api/sse/actions). Building the request is pure; post_action() sends it.
#ifndef NOTIFICATION_CENTER_ACTION_SENDER_HPP
#define NOTIFICATION_CENTER_ACTION_SENDER_HPP

#include "notification_store.hpp"

#include <asio/any_io_executor.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <system_error>

namespace nc {

/// `s` escaped for a URL's query (RFC 3986 3.4): unreserved characters and those in `also_keep` stay.
std::string query_escape(std::string_view s, std::string_view also_keep = {});

/** The URL an event action is posted to: the stream URL's scheme and authority,
    the path `/api/sse/actions`, and `?userId=` when `user` is given (the server's
    anonymous mode needs it; with a token the server knows the user). Empty if
    `stream_url` is not an absolute http or https URL.
*/
std::string actions_url(std::string_view stream_url, std::string_view user);

/** The URL a url action opens: as given when absolute, else a path on the stream's
    server. Empty for anything else (a scheme other than http and https, say), which
    is then not opened.
*/
std::string action_link(std::string_view stream_url, std::string_view url);

/// The POST body: `{"event", "notificationId", "label", "data"?}` (docs/server.md).
std::string action_body(notification const& n, notification_action const& a);

/// One POST of an action.
struct action_request
{
    std::string url;           ///< from actions_url()
    std::string token;         ///< sent as `Authorization: Bearer TOKEN` when not empty
    std::string body;          ///< from action_body()
    bool verify_peer = true;   ///< https: verify the certificate chain and the host name
    std::string ca_file;       ///< https: trust these PEM certificates instead of the system's
};

/// How it went: a network error, or the server's status and body.
struct action_result
{
    std::error_code ec;
    int status = 0;
    std::string body;
};

/** Sends `request` (HTTP/1.1, `Connection: close`) and calls `done` on `ex` with the
    result: within 10 seconds, or with `std::errc::timed_out`.
*/
void post_action(asio::any_io_executor ex, action_request request, std::function<void(action_result)> done);

} // namespace nc

#endif
