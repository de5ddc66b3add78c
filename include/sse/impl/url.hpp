// sse/impl/url.hpp - moved to <sse/client/impl/url.hpp> (the client's sans-I/O parts); kept so old includes work.
#include <sse/client/impl/url.hpp>
