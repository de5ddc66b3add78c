# Installs the library into a temporary prefix, then builds and runs the consumer
# projects: find_package, add_subdirectory, FetchContent, and find_package with
# sse::compiled. Then checks the failure paths: with Asio or OpenSSL hidden, the
# parts that need them do not exist, and asking for them names the package.
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
if(CXX_LAUNCHER)
    list(APPEND common -DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_LAUNCHER})
endif()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib ${common}
    -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF -DSSE_INSTALL=ON
    -DCMAKE_INSTALL_PREFIX=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/lib)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib)
foreach(f sseppConfig.cmake sseppConfigVersion.cmake sse-targets.cmake sse-asio-targets.cmake
          sse-compiled-targets.cmake ssepp-missing-targets.cmake Findasio.cmake Findhiredis.cmake)
    if(NOT EXISTS ${prefix}/share/cmake/ssepp/${f})
        message(FATAL_ERROR "install did not produce share/cmake/ssepp/${f}")
    endif()
endforeach()
if(NOT EXISTS ${prefix}/include/sse/event.hpp)
    message(FATAL_ERROR "install did not copy the headers")
endif()

set(consumers ${SOURCE_DIR}/tests/cmake)
foreach(kind find_package add_subdirectory fetch_content compiled)
    set(build ${WORK_DIR}/${kind})
    run(${CMAKE_COMMAND} -S ${consumers}/${kind} -B ${build} ${common}
        -DCMAKE_PREFIX_PATH=${prefix} -DSSEPP_SOURCE_DIR=${SOURCE_DIR} -DEXPECT_REDIS=${EXPECT_REDIS}
        -DEXPECT_TLS=${EXPECT_TLS} -DEXPECT_FMT=${EXPECT_FMT} -DEXPECT_BOOST_ASIO=${EXPECT_BOOST_ASIO})
    run(${CMAKE_COMMAND} --build ${build})
    run(${build}/consumer)
    if(EXISTS ${build}/consumer_redis)
        run(${build}/consumer_redis)
    elseif(EXPECT_REDIS AND kind MATCHES "^(find_package|compiled)$")
        message(FATAL_ERROR "the ${kind} consumer did not build consumer_redis")
    endif()
    if(EXISTS ${build}/consumer_fmt)
        run(${build}/consumer_fmt)
    elseif(EXPECT_FMT AND kind STREQUAL "find_package")
        message(FATAL_ERROR "the ${kind} consumer did not build consumer_fmt")
    endif()
    if(EXISTS ${build}/consumer_boost_asio)
        run(${build}/consumer_boost_asio)
    elseif(EXPECT_BOOST_ASIO AND kind STREQUAL "find_package")
        message(FATAL_ERROR "the ${kind} consumer did not build consumer_boost_asio")
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

# Failure paths. A probe project gets ssepp (HOW: find_package or add_subdirectory,
# with COMPONENTS, comma-separated), checks that the ABSENT targets do not exist, and links LINK.
# Only configuration runs: the errors under test all come from it.
file(WRITE ${WORK_DIR}/probe/CMakeLists.txt [=[
cmake_minimum_required(VERSION 3.16)
project(probe LANGUAGES CXX)
if(HOW STREQUAL "add_subdirectory")
    add_subdirectory(${SSEPP_SOURCE_DIR} ssepp)
else()
    string(REPLACE "," ";" COMPONENTS "${COMPONENTS}")
    find_package(ssepp CONFIG REQUIRED ${COMPONENTS})
endif()
string(REPLACE "," ";" ABSENT "${ABSENT}")
foreach(t IN LISTS ABSENT)
    if(TARGET ${t})
        message(FATAL_ERROR "${t} exists although its dependency is hidden")
    endif()
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/probe.cpp "int main() { return 0; }\n")
add_executable(probe ${CMAKE_BINARY_DIR}/probe.cpp)
target_link_libraries(probe PRIVATE ${LINK})
]=])

# probe(NAME name HIDE package EXPECT ok|regex [HOW ..] [COMPONENTS ..] [LINK ..] [ABSENT ..])
function(probe)
    cmake_parse_arguments(P "" "NAME;HIDE;EXPECT;HOW" "COMPONENTS;LINK;ABSENT" ${ARGN})
    if(NOT P_LINK)
        set(P_LINK sse::sse)
    endif()
    string(REPLACE ";" "," components "${P_COMPONENTS}")
    string(REPLACE ";" "," absent "${P_ABSENT}")
    execute_process(COMMAND ${CMAKE_COMMAND} -S ${WORK_DIR}/probe -B ${WORK_DIR}/probe/${P_NAME} ${common}
            -DCMAKE_PREFIX_PATH=${prefix} -DSSEPP_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_DISABLE_FIND_PACKAGE_${P_HIDE}=ON
            -DHOW=${P_HOW} -DCOMPONENTS=${components} -DLINK=${P_LINK} -DABSENT=${absent}
        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    # CMake wraps long messages: compare with white space runs as one space.
    string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")
    if(P_EXPECT STREQUAL "ok")
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "probe ${P_NAME}: configuration failed\n${out}")
        endif()
    elseif(rc EQUAL 0)
        message(FATAL_ERROR "probe ${P_NAME}: configuration succeeded; expected an error matching '${P_EXPECT}'\n${out}")
    elseif(NOT flat MATCHES "${P_EXPECT}")
        message(FATAL_ERROR "probe ${P_NAME}: the error does not match '${P_EXPECT}'\n${out}")
    endif()
    message(STATUS "probe ${P_NAME}: as expected")
endfunction()

set(no_asio "sse::asio sse::tls sse::compiled sse::redis")
separate_arguments(no_asio)
probe(NAME core_only HIDE asio EXPECT ok ABSENT ${no_asio})
probe(NAME core_only_subdirectory HOW add_subdirectory HIDE asio EXPECT ok ABSENT ${no_asio})
probe(NAME asio_component HIDE asio COMPONENTS asio
      EXPECT "component asio \\(sse::asio\\): it needs standalone Asio, which was not found: .*apt-get install libasio-dev")
probe(NAME links_asio HIDE asio LINK sse::asio ABSENT ${no_asio}
      EXPECT "Target \"probe\" links sse::asio, which does not exist: it needs standalone Asio.*libasio-dev")
probe(NAME links_compiled HIDE asio LINK sse::compiled
      EXPECT "Target \"probe\" links sse::compiled, which does not exist: it needs standalone Asio.*libasio-dev")
probe(NAME links_asio_subdirectory HOW add_subdirectory HIDE asio LINK sse::asio ABSENT ${no_asio}
      EXPECT "Target \"probe\" links sse::asio, which does not exist: it needs standalone Asio.*libasio-dev")
# Without fmt there is no sse::fmt; linking it says what to install.
probe(NAME no_fmt HIDE fmt EXPECT ok ABSENT sse::fmt)
probe(NAME links_fmt HIDE fmt LINK sse::fmt ABSENT sse::fmt
      EXPECT "Target \"probe\" links sse::fmt, which does not exist: it needs fmt.*libfmt-dev")
probe(NAME unknown_component HIDE nothing COMPONENTS asio fmtt EXPECT "no component fmtt: ssepp has asio, tls, compiled, redis, fmt and boost_asio")
# Without Boost there is no sse::boost_asio, and the standalone parts are unaffected.
if(EXPECT_BOOST_ASIO)
    probe(NAME no_boost HIDE Boost EXPECT ok LINK sse::asio ABSENT sse::boost_asio)
    probe(NAME boost_asio_component HIDE Boost COMPONENTS boost_asio
          EXPECT "component boost_asio \\(sse::boost_asio\\): it needs Boost 1.74 or later.*libboost-dev")
    probe(NAME links_boost_asio_subdirectory HOW add_subdirectory HIDE Boost LINK sse::boost_asio ABSENT sse::boost_asio
          EXPECT "Target \"probe\" links sse::boost_asio, which does not exist: it needs Boost 1.74 or later.*libboost-dev")
endif()
if(EXPECT_TLS)
    probe(NAME tls_without_openssl HIDE OpenSSL COMPONENTS tls
          EXPECT "component tls \\(sse::tls\\): it needs OpenSSL, which was not found.*libssl-dev")
    probe(NAME compiled_without_openssl HIDE OpenSSL COMPONENTS asio compiled
          EXPECT "component compiled \\(sse::compiled\\): it was built with TLS and needs OpenSSL.*libssl-dev")
endif()
