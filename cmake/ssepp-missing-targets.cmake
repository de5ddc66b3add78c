# ssepp-missing-targets.cmake - says what to install when a target links a part of
# ssepp that is not there.
#
# sse::asio, sse::compiled, sse::redis and sse::fmt exist only when their dependencies are
# found, so that `if(TARGET sse::asio)` tells a project what it can use. A target
# that links one anyway would meet CMake's generic "target not found" only at
# generation; this check runs at the end of the top-level directory instead and
# stops with the reason given to ssepp_missing_target. It needs CMake 3.19
# (cmake_language(DEFER)); older versions keep the generic error.

# What to do about a missing standalone Asio, for the messages. Set on every
# include, in the includer's scope, before the guard.
set(SSEPP_ASIO_HINT "install standalone Asio (Debian and Ubuntu: apt-get install libasio-dev, vcpkg and Conan: the asio package) or let find_package(asio) find it (CMAKE_PREFIX_PATH, asio_DIR, or ASIO_INCLUDE_DIR for the directory that holds asio.hpp)")

include_guard(GLOBAL)

# Records why the target `name` (e.g. sse::asio) is not defined.
function(ssepp_missing_target name reason)
    set_property(GLOBAL PROPERTY SSEPP_MISSING_REASON_${name} "${reason}")
    get_property(names GLOBAL PROPERTY SSEPP_MISSING_TARGETS)
    if(NOT name IN_LIST names)
        set_property(GLOBAL APPEND PROPERTY SSEPP_MISSING_TARGETS ${name})
    endif()
    get_property(deferred GLOBAL PROPERTY SSEPP_MISSING_DEFERRED)
    if(NOT deferred AND NOT CMAKE_VERSION VERSION_LESS 3.19)
        set_property(GLOBAL PROPERTY SSEPP_MISSING_DEFERRED ON)
        cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _ssepp_check_missing_targets)
    endif()
endfunction()

# Every target of the build that links a missing part, with the reason.
function(_ssepp_check_missing_targets)
    get_property(names GLOBAL PROPERTY SSEPP_MISSING_TARGETS)
    set(missing)
    foreach(name IN LISTS names)
        if(NOT TARGET ${name})   # a later find_package may have found it after all
            list(APPEND missing ${name})
        endif()
    endforeach()
    if(NOT missing)
        return()
    endif()
    set(errors "")
    set(dirs ${CMAKE_SOURCE_DIR})
    while(dirs)
        list(POP_FRONT dirs dir)
        get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
        list(APPEND dirs ${subdirs})
        get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
        foreach(target IN LISTS targets)
            get_target_property(linked ${target} LINK_LIBRARIES)
            get_target_property(interface ${target} INTERFACE_LINK_LIBRARIES)
            foreach(name IN LISTS missing)
                # As given, or inside a generator expression such as $<LINK_ONLY:sse::asio>.
                if(name IN_LIST linked OR name IN_LIST interface OR
                   "${linked};${interface}" MATCHES "[:,]${name}>")
                    get_property(reason GLOBAL PROPERTY SSEPP_MISSING_REASON_${name})
                    string(APPEND errors "\nTarget \"${target}\" links ${name}, which does not exist: ${reason}\n")
                endif()
            endforeach()
        endforeach()
    endwhile()
    if(errors)
        message(FATAL_ERROR "ssepp:${errors}")
    endif()
endfunction()
