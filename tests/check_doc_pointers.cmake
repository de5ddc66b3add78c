# check_doc_pointers.cmake - every "compiled and run by" pointer in the docs names a
# test that exists.
#
# A page says where its code is checked: compiled and run by `tests/parser.cpp`
# ("parser: the docs/parser.md examples run"), or `file`, "test name"; the test
# name is optional, and the pointer may wrap across lines. The file (relative to
# ROOT) must exist and, where a name is quoted, hold TEST_CASE("<name>"). A phrase
# not followed by a file in backquotes is an error too.
#
#   cmake -DROOT=<repository> [-DDOCS_DIR=<pages>] -P check_doc_pointers.cmake
cmake_minimum_required(VERSION 3.16)

if(NOT DOCS_DIR)
    set(DOCS_DIR ${ROOT}/docs)
endif()
file(GLOB_RECURSE pages RELATIVE ${DOCS_DIR} ${DOCS_DIR}/*.md)
set(problems "")
set(checked 0)
foreach(page IN LISTS pages)
    file(READ ${DOCS_DIR}/${page} text)
    string(REGEX REPLACE "[ \t\r\n]+" " " text "${text}")
    string(REGEX MATCHALL "compiled and run by" phrases "${text}")
    string(REGEX MATCHALL "compiled and run by `[^`]+`(,? \\(?\"[^\"]+\")?" pointers "${text}")
    list(LENGTH phrases n_phrases)
    list(LENGTH pointers n_pointers)
    if(NOT n_phrases EQUAL n_pointers)
        math(EXPR bare "${n_phrases} - ${n_pointers}")
        string(APPEND problems "\n  ${page}: ${bare} \"compiled and run by\" not followed by a `file`")
    endif()
    foreach(pointer IN LISTS pointers)
        math(EXPR checked "${checked} + 1")
        string(REGEX MATCH "`([^`]+)`" unused "${pointer}")
        set(file "${CMAKE_MATCH_1}")
        set(name "")
        if(pointer MATCHES "\"([^\"]+)\"$")
            set(name "${CMAKE_MATCH_1}")
        endif()
        if(NOT EXISTS "${ROOT}/${file}" OR IS_DIRECTORY "${ROOT}/${file}")
            string(APPEND problems "\n  ${page}: ${file} does not exist")
        elseif(NOT name STREQUAL "")
            file(READ "${ROOT}/${file}" source)
            string(FIND "${source}" "TEST_CASE(\"${name}\")" at)
            if(at EQUAL -1)
                string(APPEND problems "\n  ${page}: ${file} has no TEST_CASE(\"${name}\")")
            endif()
        endif()
    endforeach()
endforeach()

if(problems)
    message(FATAL_ERROR "doc pointers that name no test:${problems}")
endif()
if(checked EQUAL 0)
    message(FATAL_ERROR "no \"compiled and run by\" pointer found under ${DOCS_DIR}")
endif()
message(STATUS "${checked} doc pointers name existing tests")
