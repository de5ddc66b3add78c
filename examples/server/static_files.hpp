// static_files.hpp - the demo page, compiled into the program (see embed.cmake).
#ifndef SSE_SERVER_STATIC_FILES_HPP
#define SSE_SERVER_STATIC_FILES_HPP

#include <optional>
#include <string_view>

namespace app {

/// One file of examples/server/static/, as it was at build time.
struct static_file
{
    std::string_view path;           ///< "/index.html"
    std::string_view content_type;   ///< from the extension
    std::string_view body;
};

/// The file served at `path`; "/" and "/sse-demo" are "/index.html". Nothing for other paths.
std::optional<static_file> find_static_file(std::string_view path);

} // namespace app

#endif
