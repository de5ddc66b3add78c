# Installs the library into a temporary prefix, then builds and runs three
# consumer projects: find_package, add_subdirectory and FetchContent.
cmake_minimum_required(VERSION 3.16)

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
        string(REPLACE ";" " " cmd "${ARGN}")
        message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
    endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(common -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})

run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib ${common}
    -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF -DSSE_INSTALL=ON
    -DCMAKE_INSTALL_PREFIX=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/lib)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib)
foreach(f sseppConfig.cmake sseppConfigVersion.cmake sse-targets.cmake Findasio.cmake Findhiredis.cmake)
    if(NOT EXISTS ${prefix}/share/cmake/ssepp/${f})
        message(FATAL_ERROR "install did not produce share/cmake/ssepp/${f}")
    endif()
endforeach()
if(NOT EXISTS ${prefix}/include/sse/event.hpp)
    message(FATAL_ERROR "install did not copy the headers")
endif()

set(consumers ${SOURCE_DIR}/tests/cmake)
foreach(kind find_package add_subdirectory fetch_content)
    set(build ${WORK_DIR}/${kind})
    run(${CMAKE_COMMAND} -S ${consumers}/${kind} -B ${build} ${common}
        -DCMAKE_PREFIX_PATH=${prefix} -DSSEPP_SOURCE_DIR=${SOURCE_DIR} -DEXPECT_REDIS=${EXPECT_REDIS})
    run(${CMAKE_COMMAND} --build ${build})
    run(${build}/consumer)
    if(EXISTS ${build}/consumer_redis)
        run(${build}/consumer_redis)
    elseif(EXPECT_REDIS AND kind STREQUAL "find_package")
        message(FATAL_ERROR "the find_package consumer did not build consumer_redis")
    endif()
    message(STATUS "consumer ${kind}: built and ran")
endforeach()

# C++20: co_await on the installed library's operations, where the compiler has coroutines.
run(${CMAKE_COMMAND} -S ${consumers}/coroutines -B ${WORK_DIR}/coroutines ${common} -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/coroutines)
if(EXISTS ${WORK_DIR}/coroutines/consumer_coroutines)
    run(${WORK_DIR}/coroutines/consumer_coroutines)
    message(STATUS "consumer coroutines: built and ran")
endif()

# The version file refuses an incompatible major version.
file(WRITE ${WORK_DIR}/version/CMakeLists.txt
    "cmake_minimum_required(VERSION 3.16)\nproject(v LANGUAGES NONE)\nfind_package(ssepp 99 CONFIG QUIET)\n"
    "if(ssepp_FOUND)\n  message(FATAL_ERROR \"ssepp 99 should not be found\")\nendif()\n")
run(${CMAKE_COMMAND} -S ${WORK_DIR}/version -B ${WORK_DIR}/version/build -DCMAKE_PREFIX_PATH=${prefix})
