// The one source file of a separately compiled build.
#include <sse/src.hpp>
