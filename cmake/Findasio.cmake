# Findasio.cmake - locates standalone Asio and defines asio::asio.
#
# Debian's libasio-dev and many other distributions ship no CMake config for
# standalone Asio, so the config package is tried first and the header second.
if(TARGET asio::asio)
    set(asio_FOUND TRUE)
    return()
endif()

find_package(asio CONFIG QUIET NO_MODULE)
if(TARGET asio::asio)
    set(asio_FOUND TRUE)
    return()
endif()

find_path(ASIO_INCLUDE_DIR NAMES asio.hpp PATH_SUFFIXES include)
if(ASIO_INCLUDE_DIR AND EXISTS "${ASIO_INCLUDE_DIR}/asio/version.hpp")
    file(STRINGS "${ASIO_INCLUDE_DIR}/asio/version.hpp" _asio_version_line
        REGEX "^#define ASIO_VERSION [0-9]+")
    string(REGEX REPLACE "^#define ASIO_VERSION ([0-9]+).*" "\\1" _asio_v "${_asio_version_line}")
    if(_asio_v)
        math(EXPR _major "${_asio_v} / 100000")
        math(EXPR _minor "${_asio_v} / 100 % 1000")
        math(EXPR _patch "${_asio_v} % 100")
        set(asio_VERSION "${_major}.${_minor}.${_patch}")
    endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(asio
    REQUIRED_VARS ASIO_INCLUDE_DIR
    VERSION_VAR asio_VERSION)

if(asio_FOUND AND NOT TARGET asio::asio)
    find_package(Threads REQUIRED)
    add_library(asio::asio INTERFACE IMPORTED)
    set_target_properties(asio::asio PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${ASIO_INCLUDE_DIR}"
        INTERFACE_COMPILE_DEFINITIONS "ASIO_STANDALONE;ASIO_NO_DEPRECATED"
        INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
mark_as_advanced(ASIO_INCLUDE_DIR)
