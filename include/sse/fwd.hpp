// sse/fwd.hpp - forward declarations, for headers that only name the types.
#ifndef SSE_FWD_HPP
#define SSE_FWD_HPP

#include <sse/config.hpp>

SSE_NAMESPACE_BEGIN

struct event;
struct event_view;
struct parser_limits;
class parser;

SSE_NAMESPACE_END

#endif
