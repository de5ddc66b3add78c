import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class SseppConan(ConanFile):
    name = "ssepp"
    description = ("Header-only C++17 library for Server-Sent Events: the WHATWG parser, "
                   "a fan-out hub with replay, and an Asio transport and reconnecting client")
    license = "BSL-1.0"
    # Placeholder: the project's repository.
    url = "https://github.com/OWNER/ssepp"
    homepage = "https://github.com/OWNER/ssepp"
    topics = ("server-sent-events", "eventsource", "streaming", "asio", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "with_asio": [True, False],
        "with_openssl": [True, False],
        "with_hiredis": [True, False],
        "with_fmt": [True, False],
        "with_boost": [True, False],
        "compiled": [True, False],
    }
    default_options = {
        "with_asio": True,
        "with_openssl": False,
        "with_hiredis": False,
        "with_fmt": False,
        "with_boost": False,
        "compiled": False,
    }
    no_copy_source = True

    @property
    def _min_cppstd(self):
        return 17

    @property
    def _project_root(self):
        return os.path.join(self.recipe_folder, os.pardir, os.pardir)

    def set_version(self):
        if not self.version:
            cmakelists = load(self, os.path.join(self._project_root, "CMakeLists.txt"))
            self.version = re.search(r"project\(ssepp VERSION ([0-9.]+)", cmakelists).group(1)

    def export_sources(self):
        # The recipe lives in the project: the sources are the checkout around it.
        for pattern in ("CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "src/*"):
            copy(self, pattern, self._project_root, self.export_sources_folder)

    def configure(self):
        if self.options.compiled:
            self.package_type = "static-library"

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # The public headers include these: consumers need their headers too.
        if self.options.with_asio:
            self.requires("asio/1.32.0", transitive_headers=True)
        if self.options.with_openssl:
            self.requires("openssl/[>=1.1 <4]", transitive_headers=True)
        if self.options.with_hiredis:
            self.requires("hiredis/1.3.0", transitive_headers=True)
        if self.options.with_fmt:
            self.requires("fmt/[>=9 <12]", transitive_headers=True)
        if self.options.with_boost:
            # sse::boost_asio needs Boost's headers only (Asio, System; Beast for users' servers).
            self.requires("boost/[>=1.74 <2]", transitive_headers=True)

    def package_id(self):
        # Header-only: the same headers whatever the settings and options.
        if not self.info.options.compiled:
            self.info.clear()

    def validate(self):
        check_min_cppstd(self, self._min_cppstd)
        if not self.options.with_asio:
            for option in ("with_openssl", "with_hiredis", "compiled"):
                if self.options.get_safe(option):
                    raise ConanInvalidConfiguration(f"{self.ref}: {option}=True needs with_asio=True")

    def build_requirements(self):
        self.tool_requires("cmake/[>=3.16]")

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["SSE_BUILD_TESTS"] = False
        tc.cache_variables["SSE_BUILD_EXAMPLES"] = False
        tc.cache_variables["SSE_INSTALL"] = True
        tc.cache_variables["SSE_WITH_ASIO"] = bool(self.options.with_asio)
        tc.cache_variables["SSE_WITH_TLS"] = bool(self.options.with_openssl)
        tc.cache_variables["SSE_WITH_REDIS"] = bool(self.options.with_hiredis)
        tc.cache_variables["SSE_WITH_FMT"] = bool(self.options.with_fmt)
        tc.cache_variables["SSE_WITH_BOOST_ASIO"] = bool(self.options.with_boost)
        tc.cache_variables["SSE_BUILD_COMPILED"] = bool(self.options.compiled)
        tc.generate()
        deps = CMakeDeps(self)
        deps.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()
        # package_info() describes the targets: the project's own CMake files go.
        rmdir(self, os.path.join(self.package_folder, "share"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "ssepp")
        self.cpp_info.set_property("cmake_target_name", "ssepp::ssepp")

        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "sse::sse")
        core.bindirs = []
        core.libdirs = []

        if self.options.with_asio:
            transport = self.cpp_info.components["asio"]
            transport.set_property("cmake_target_name", "sse::asio")
            transport.requires = ["core", "asio::asio"]
            transport.bindirs = []
            transport.libdirs = []

        if self.options.with_openssl:
            tls = self.cpp_info.components["tls"]
            tls.set_property("cmake_target_name", "sse::tls")
            tls.requires = ["asio", "openssl::ssl", "openssl::crypto"]
            tls.bindirs = []
            tls.libdirs = []

        if self.options.compiled:
            compiled = self.cpp_info.components["compiled"]
            compiled.set_property("cmake_target_name", "sse::compiled")
            compiled.libs = ["ssepp"]
            compiled.defines = ["SSE_SEPARATE_COMPILATION", "SSE_SEPARATE_ASIO"]
            compiled.requires = ["asio"]
            if self.options.with_openssl:
                compiled.defines.append("SSE_SEPARATE_ASIO_TLS")
                compiled.requires.append("tls")

        if self.options.with_hiredis:
            redis = self.cpp_info.components["redis"]
            redis.set_property("cmake_target_name", "sse::redis")
            redis.requires = ["asio", "hiredis::hiredislib"]
            redis.bindirs = []
            redis.libdirs = []

        if self.options.with_fmt:
            formatters = self.cpp_info.components["fmt"]
            formatters.set_property("cmake_target_name", "sse::fmt")
            formatters.requires = ["core", "fmt::fmt"]
            formatters.bindirs = []
            formatters.libdirs = []

        if self.options.with_boost:
            # The same transport headers on Boost.Asio: SSE_USE_BOOST_ASIO switches them.
            boost_transport = self.cpp_info.components["boost_asio"]
            boost_transport.set_property("cmake_target_name", "sse::boost_asio")
            boost_transport.requires = ["core", "boost::headers"]
            boost_transport.defines = ["SSE_USE_BOOST_ASIO"]
            boost_transport.bindirs = []
            boost_transport.libdirs = []
            if self.settings.os in ("Linux", "FreeBSD"):
                boost_transport.system_libs = ["pthread"]
