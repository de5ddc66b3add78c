# check_doc_code.cmake - every ```cpp block of a page, or of its `## ` section, is code
# of an example, word for word: the page quotes the program that is built and run
# against real clients, so what it shows compiles and works.
#
#   cmake -DDOC=docs/integrations.md [-DSECTION=cpp-httplib]
#         -DSOURCE=examples/httplib/main.cpp -P tests/check_doc_code.cmake
#
# Indentation is not compared (a block may quote lines from inside a function).
cmake_minimum_required(VERSION 3.16)

# The text with each line's leading blanks removed.
function(unindent text out)
    string(REGEX REPLACE "\n[ \t]+" "\n" text "\n${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

file(READ ${DOC} doc)
if(SECTION)
    # From its heading to the next heading of that level.
    string(FIND "\n${doc}" "\n## ${SECTION}\n" at)
    if(at EQUAL -1)
        message(FATAL_ERROR "${DOC} has no section \"## ${SECTION}\"")
    endif()
    string(SUBSTRING "${doc}" ${at} -1 doc)
    string(FIND "${doc}" "\n## " next)
    if(NOT next EQUAL -1)
        string(SUBSTRING "${doc}" 0 ${next} doc)
    endif()
endif()
file(READ ${SOURCE} source)
unindent("${source}" source)
set(problems "")
set(checked 0)
set(rest "${doc}")
while(TRUE)
    string(FIND "${rest}" "```cpp\n" open)
    if(open EQUAL -1)
        break()
    endif()
    math(EXPR start "${open} + 7")
    string(SUBSTRING "${rest}" ${start} -1 rest)
    string(FIND "${rest}" "\n```" close)
    if(close EQUAL -1)
        string(APPEND problems "\n  a ```cpp block is not closed")
        break()
    endif()
    string(SUBSTRING "${rest}" 0 ${close} block)
    math(EXPR after "${close} + 4")
    string(SUBSTRING "${rest}" ${after} -1 rest)
    math(EXPR checked "${checked} + 1")
    unindent("${block}" wanted)
    string(FIND "${source}" "${wanted}\n" at)
    if(at EQUAL -1)
        string(REGEX MATCH "^\n[^\n]*" first "${wanted}")
        string(STRIP "${first}" first)
        string(APPEND problems "\n  block ${checked} (\"${first}\") is not in ${SOURCE}")
    endif()
endwhile()

if(problems)
    message(FATAL_ERROR "${DOC} shows code that is not the example's:${problems}")
endif()
if(checked EQUAL 0)
    message(FATAL_ERROR "no ```cpp block in ${DOC}")
endif()
message(STATUS "${checked} blocks of ${DOC} are the example's code")
