// tests/support/certificate.hpp - a self-signed certificate for 127.0.0.1, made by
// `openssl` for one test and removed after it.
#ifndef SSE_TESTS_SUPPORT_CERTIFICATE_HPP
#define SSE_TESTS_SUPPORT_CERTIFICATE_HPP

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <stdlib.h>
#include <unistd.h>

namespace support {

struct certificate
{
    std::string dir, cert, key;

    certificate()
    {
        char dir_template[] = "/tmp/sse-tls-XXXXXX";
        char const* made = mkdtemp(dir_template);
        REQUIRE(made != nullptr);
        dir = made;
        cert = dir + "/cert.pem";
        key = dir + "/key.pem";
        // An IP address is checked against subjectAltName only, never the CN.
        REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                             "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                             key + " -out " + cert + " 2>/dev/null")
                                .c_str()) == 0);
    }

    ~certificate()
    {
        std::remove(cert.c_str());
        std::remove(key.c_str());
        ::rmdir(dir.c_str());
    }

    certificate(certificate const&) = delete;
    certificate& operator=(certificate const&) = delete;
};

} // namespace support

#endif
