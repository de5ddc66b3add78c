// sse/detail/poll_exchange.hpp - moved to <sse/client/poll_exchange.hpp> (the client's sans-I/O parts); kept so old includes work.
#include <sse/client/poll_exchange.hpp>
