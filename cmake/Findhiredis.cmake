# Findhiredis.cmake - locates hiredis (the C client of Redis) and defines hiredis::hiredis.
#
# hiredis 1.x installs a CMake config with that target; Debian's 0.14.1 installs
# only a pkg-config file (whose libdir is wrong on multiarch systems), so the
# config package is tried first, then the header and the library themselves.
if(TARGET hiredis::hiredis)
    set(hiredis_FOUND TRUE)
    return()
endif()

find_package(hiredis CONFIG QUIET NO_MODULE)
if(TARGET hiredis::hiredis)
    set(hiredis_FOUND TRUE)
    return()
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_HIREDIS QUIET hiredis)
endif()
# pkg-config names <prefix>/include/hiredis; the headers are included as <hiredis/hiredis.h>.
find_path(HIREDIS_INCLUDE_DIR NAMES hiredis/hiredis.h HINTS ${PC_HIREDIS_INCLUDEDIR}/..)
find_library(HIREDIS_LIBRARY NAMES hiredis HINTS ${PC_HIREDIS_LIBDIR})

if(HIREDIS_INCLUDE_DIR AND EXISTS "${HIREDIS_INCLUDE_DIR}/hiredis/hiredis.h")
    file(STRINGS "${HIREDIS_INCLUDE_DIR}/hiredis/hiredis.h" _hiredis_version_lines
        REGEX "^#define HIREDIS_(MAJOR|MINOR|PATCH) [0-9]+")
    foreach(_part MAJOR MINOR PATCH)
        string(REGEX MATCH "HIREDIS_${_part} ([0-9]+)" _m "${_hiredis_version_lines}")
        set(_hiredis_${_part} "${CMAKE_MATCH_1}")
    endforeach()
    if(NOT _hiredis_MAJOR STREQUAL "")
        set(hiredis_VERSION "${_hiredis_MAJOR}.${_hiredis_MINOR}.${_hiredis_PATCH}")
    endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(hiredis
    REQUIRED_VARS HIREDIS_LIBRARY HIREDIS_INCLUDE_DIR
    VERSION_VAR hiredis_VERSION)

if(hiredis_FOUND AND NOT TARGET hiredis::hiredis)
    add_library(hiredis::hiredis UNKNOWN IMPORTED)
    set_target_properties(hiredis::hiredis PROPERTIES
        IMPORTED_LOCATION "${HIREDIS_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${HIREDIS_INCLUDE_DIR}")
endif()
mark_as_advanced(HIREDIS_INCLUDE_DIR HIREDIS_LIBRARY)
