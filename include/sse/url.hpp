// sse/url.hpp - moved to <sse/client/url.hpp> (the client's sans-I/O parts); kept so old includes work.
#include <sse/client/url.hpp>
