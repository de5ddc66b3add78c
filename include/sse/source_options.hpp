// sse/source_options.hpp - moved to <sse/client/source_options.hpp> (the client's sans-I/O parts); kept so old includes work.
#include <sse/client/source_options.hpp>
