// sse::compiled: the library's non-template bodies, compiled once (SSE_SEPARATE_COMPILATION).
#include <sse/src.hpp>
