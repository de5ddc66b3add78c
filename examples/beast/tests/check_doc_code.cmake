# check_doc_code.cmake - every ```cpp block of a page occurs word for word in a
# source file, so that code quoted from an example stays the example's.
#
#   cmake -DDOC=<page.md> -DSOURCE=<file> -P check_doc_code.cmake
cmake_minimum_required(VERSION 3.16)

file(READ ${DOC} doc)
file(READ ${SOURCE} source)
set(open_fence "```cpp\n")
string(LENGTH "${open_fence}" fence_length)
set(problems "")
set(checked 0)
string(FIND "${doc}" "${open_fence}" at)
while(NOT at EQUAL -1)
    math(EXPR start "${at} + ${fence_length}")
    string(SUBSTRING "${doc}" ${start} -1 rest)
    # The block ends at the closing fence, which starts a line.
    string(FIND "${rest}" "\n```" end)
    if(end EQUAL -1)
        message(FATAL_ERROR "${DOC}: a cpp block is not closed")
    endif()
    math(EXPR length "${end} + 1")
    string(SUBSTRING "${rest}" 0 ${length} block)
    string(FIND "${source}" "${block}" found)
    if(found EQUAL -1)
        string(APPEND problems "\n---\n${block}")
    endif()
    math(EXPR checked "${checked} + 1")
    string(SUBSTRING "${rest}" ${length} -1 doc)
    string(FIND "${doc}" "${open_fence}" at)
endwhile()

if(problems)
    message(FATAL_ERROR "code in ${DOC} that ${SOURCE} does not hold word for word:${problems}")
endif()
if(checked EQUAL 0)
    message(FATAL_ERROR "no cpp block in ${DOC}")
endif()
message(STATUS "${checked} cpp blocks of ${DOC} are in ${SOURCE}")
