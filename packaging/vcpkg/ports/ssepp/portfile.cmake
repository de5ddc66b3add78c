# Placeholders: the project's GitHub repository, and the SHA512 of the release archive
# (vcpkg prints the right one when the first install fails on it).
vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO OWNER/ssepp
    REF "v${VERSION}"
    SHA512 0
    HEAD_REF main
)

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        asio        SSE_WITH_ASIO
        boost-asio  SSE_WITH_BOOST_ASIO
        compiled    SSE_BUILD_COMPILED
        fmt         SSE_WITH_FMT
        redis       SSE_WITH_REDIS
        tls         SSE_WITH_TLS
)

if("compiled" IN_LIST FEATURES)
    # sse::compiled is a static library; the rest stays header-only.
    vcpkg_check_linkage(ONLY_STATIC_LIBRARY)
else()
    set(VCPKG_BUILD_TYPE release) # header-only
endif()

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${FEATURE_OPTIONS}
        -DSSE_BUILD_TESTS=OFF
        -DSSE_BUILD_EXAMPLES=OFF
        -DSSE_INSTALL=ON
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME ssepp CONFIG_PATH share/cmake/ssepp)

if("compiled" IN_LIST FEATURES)
    file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share")
else()
    file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug")
endif()

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
