# check_doc_pointers_test.cmake - check_doc_pointers.cmake accepts good pointers
# and rejects each kind of bad one, with a message that names it.
#
#   cmake -DCHECKER=<check_doc_pointers.cmake> -DWORK_DIR=<scratch> -P check_doc_pointers_test.cmake
cmake_minimum_required(VERSION 3.16)

file(REMOVE_RECURSE ${WORK_DIR})
file(WRITE ${WORK_DIR}/tests/good.cpp "TEST_CASE(\"good: one case\")\n{\n}\n")

# page(name text expect): runs the checker on a docs folder holding one page.
# `expect` is "ok" or a regular expression the error must match.
function(page name text expect)
    file(WRITE ${WORK_DIR}/${name}/page.md "${text}")
    execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${WORK_DIR} -DDOCS_DIR=${WORK_DIR}/${name} -P ${CHECKER}
        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")
    if(expect STREQUAL "ok")
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "${name}: rejected a good page\n${out}")
        endif()
    elseif(rc EQUAL 0)
        message(FATAL_ERROR "${name}: accepted a bad page\n${out}")
    elseif(NOT flat MATCHES "${expect}")
        message(FATAL_ERROR "${name}: the error does not match '${expect}'\n${out}")
    endif()
endfunction()

page(good_comma "This code is compiled and run by `tests/good.cpp`, \"good: one case\":\n" ok)
page(good_wrapped "This code is compiled and run by\n`tests/good.cpp` (\"good: one\ncase\"), as is the next.\n" ok)
page(good_file_only "This code is compiled and run by `tests/good.cpp`, with curl as a client.\n" ok)
page(missing_file "This code is compiled and run by `tests/gone.cpp`, \"good: one case\":\n"
     "page.md: tests/gone.cpp does not exist")
page(missing_case "This code is compiled and run by `tests/good.cpp`, \"good: two cases\":\n"
     "page.md: tests/good.cpp has no TEST_CASE\\(\"good: two cases\"\\)")
page(no_file "This code is compiled and run by the suite.\n"
     "page.md: 1 \"compiled and run by\" not followed by a `file`")
page(no_pointer "Nothing here is compiled.\n" "no \"compiled and run by\" pointer found")
message(STATUS "check_doc_pointers.cmake accepts good pointers and rejects bad ones")
