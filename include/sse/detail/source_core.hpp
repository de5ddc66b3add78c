// sse/detail/source_core.hpp - moved to <sse/client/source_core.hpp> (the client's sans-I/O parts); kept so old includes work.
#include <sse/client/source_core.hpp>
