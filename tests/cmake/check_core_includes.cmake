# Fails if a core header (anything outside asio/ and the optional integrations)
# includes a header that is neither <sse/...> nor part of the standard library.
cmake_minimum_required(VERSION 3.16)

set(std_headers
    algorithm array atomic cassert cctype cerrno charconv chrono climits cmath condition_variable
    cstddef cstdint cstdio cstdlib cstring ctime deque exception functional initializer_list
    iterator limits list map memory mutex new optional random ratio set shared_mutex stdexcept
    string string_view system_error thread tuple type_traits unordered_map unordered_set
    utility variant vector)

file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR} ${INCLUDE_DIR}/sse/*.hpp)
set(failures "")
foreach(header IN LISTS headers)
    if(header MATCHES "^sse/(asio|redis)/" OR header MATCHES "^sse/(json|fmt)\\.hpp$"
       OR header MATCHES "^sse/impl/(json|fmt)\\.hpp$")
        continue()
    endif()
    file(STRINGS ${INCLUDE_DIR}/${header} lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS lines)
        if(line MATCHES "<([^>]+)>")
            set(included ${CMAKE_MATCH_1})
        elseif(line MATCHES "\"([^\"]+)\"")
            string(APPEND failures "  ${header}: quoted include \"${CMAKE_MATCH_1}\" (use <sse/...>)\n")
            continue()
        else()
            continue()
        endif()
        if(included MATCHES "^sse/")
            if(included MATCHES "^sse/(asio|redis)/" OR included MATCHES "^sse/(json|fmt)\\.hpp$")
                string(APPEND failures "  ${header}: includes the optional layer <${included}>\n")
            endif()
            continue()
        endif()
        list(FIND std_headers ${included} index)
        if(index EQUAL -1)
            string(APPEND failures "  ${header}: includes <${included}>, not a known standard header\n")
        endif()
    endforeach()
endforeach()

list(LENGTH headers count)
if(failures)
    message(FATAL_ERROR "core headers must include only the standard library and <sse/...>:\n${failures}")
endif()
message(STATUS "checked ${count} headers: the core includes only the standard library")
