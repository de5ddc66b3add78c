// sse/impl/poll_exchange.hpp - moved to <sse/client/impl/poll_exchange.hpp> (the client's sans-I/O parts); kept so old includes work.
#include <sse/client/impl/poll_exchange.hpp>
