// sse/impl/source_core.hpp - moved to <sse/client/impl/source_core.hpp> (the client's sans-I/O parts); kept so old includes work.
#include <sse/client/impl/source_core.hpp>
