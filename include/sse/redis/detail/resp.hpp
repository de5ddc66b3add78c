// sse/redis/detail/resp.hpp - RESP through hiredis: commands formatted, replies
// parsed into owned trees, error replies classified.
#ifndef SSE_REDIS_DETAIL_RESP_HPP
#define SSE_REDIS_DETAIL_RESP_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/redis/error.hpp>

#include <hiredis/hiredis.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace redis {
namespace detail {

/// A reply, owned: built while hiredis parses it, so that no hiredis object outlives the parse.
struct reply
{
    enum class kind
    {
        nil,
        string,    ///< bulk string
        status,    ///< +OK
        integer,
        array,
        error,     ///< -ERR ...: `str` holds the message
    };
    kind type = kind::nil;
    std::string str;
    long long integer = 0;
    std::vector<reply> elements;
};

/** Formats `args` as one RESP command (an array of bulk strings: any bytes).
    Returns false if there are no arguments or the command is too large for hiredis.
*/
inline bool format_command(std::vector<std::string> const& args, std::string& out)
{
    if (args.empty() || args.size() > static_cast<std::size_t>(INT_MAX))
        return false;
    std::vector<char const*> argv;
    std::vector<std::size_t> argvlen;
    argv.reserve(args.size());
    argvlen.reserve(args.size());
    for (auto const& a : args) {
        argv.push_back(a.data());
        argvlen.push_back(a.size());
    }
    char* cmd = nullptr;
    int const n = ::redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), argvlen.data());
    if (n < 0 || cmd == nullptr)
        return false;
    out.assign(cmd, static_cast<std::size_t>(n));
    ::redisFreeCommand(cmd);
    return true;
}

/** True if `command` (a command's first argument) is a Stream command, so that
    "unknown command" means a server without Streams.
*/
inline bool is_stream_command(std::string_view command) noexcept
{
    auto const upper = [](std::string_view s) {
        std::string u(s);
        for (char& c : u)
            if (c >= 'a' && c <= 'z')
                c = static_cast<char>(c - 'a' + 'A');
        return u;
    };
    if (command.size() > 16)
        return false;
    auto const u = upper(command);
    return u == "XADD" || u == "XREAD" || u == "XRANGE" || u == "XREVRANGE";
}

/// The sse::redis error of an error reply's message (its first word is the error's kind).
inline error_code classify_error(std::string_view message, bool stream_command) noexcept
{
    auto const starts = [message](std::string_view prefix) {
        return message.substr(0, prefix.size()) == prefix
            && (message.size() == prefix.size() || message[prefix.size()] == ' ');
    };
    if (starts("WRONGPASS") || starts("NOAUTH") || starts("NOPERM"))
        return make_error_code(error::auth_failed);
    if (starts("NOSCRIPT"))
        return make_error_code(error::noscript);
    if (starts("MOVED") || starts("ASK"))
        return make_error_code(error::moved);
    if (starts("WRONGTYPE"))
        return make_error_code(error::wrong_type);
    // Redis 4 and earlier: "ERR unknown command 'XADD'"; later ones add ", with args beginning with: ".
    if (stream_command && message.substr(0, 19) == "ERR unknown command")
        return make_error_code(error::no_streams);
    return make_error_code(error::server_error);
}

/** hiredis's reader, building sse::redis::detail::reply trees directly through its
    object functions. Building them directly lets the size limit apply before
    anything is allocated: hiredis's own objects would calloc an array as large as
    any count a hostile server announces.
*/
class resp_reader
{
public:
    explicit resp_reader(std::size_t max_reply_bytes) : budget_{0, max_reply_bytes}
    {
        static redisReplyObjectFunctions functions = make_functions();
        reader_ = ::redisReaderCreateWithFunctions(&functions);
        if (reader_ != nullptr)
            reader_->privdata = &budget_;
    }

    resp_reader(resp_reader const&) = delete;
    resp_reader& operator=(resp_reader const&) = delete;
    ~resp_reader()
    {
        if (reader_ != nullptr)
            ::redisReaderFree(reader_);
    }

    enum class result
    {
        reply,      ///< `out` holds the next reply
        need_more,  ///< no whole reply buffered yet
        error,      ///< not RESP, nested too deep, or too large: `message` says which
    };

    /// Appends received bytes. False, with `message`, if the reader is broken or holds more than the limit unparsed.
    bool feed(char const* data, std::size_t size, std::string& message)
    {
        if (reader_ == nullptr || ::redisReaderFeed(reader_, data, size) != REDIS_OK) {
            message = reader_ == nullptr ? "out of memory" : reader_->errstr;
            return false;
        }
        // A reply still incomplete can only grow: refuse it once its bytes exceed the limit.
        if (reader_->len - reader_->pos > budget_.limit) {
            message = "reply exceeds max_reply_bytes (" + std::to_string(budget_.limit) + " bytes)";
            return false;
        }
        return true;
    }

    /// Takes the next whole reply out of the buffered bytes.
    result next(reply& out, std::string& message)
    {
        if (reader_ == nullptr) {
            message = "out of memory";
            return result::error;
        }
        void* got = nullptr;
        if (::redisReaderGetReply(reader_, &got) != REDIS_OK) {
            message = reader_->err == REDIS_ERR_OOM && budget_.over
                ? "reply exceeds max_reply_bytes (" + std::to_string(budget_.limit) + " bytes)"
                : std::string(reader_->errstr);
            return result::error;
        }
        if (got == nullptr)
            return result::need_more;
        std::unique_ptr<reply> owned(static_cast<reply*>(got));
        out = std::move(*owned);
        return result::reply;
    }

private:
    struct budget
    {
        std::size_t used;
        std::size_t limit;
        bool over = false;
    };

    // hiredis calls these with the task of the value being read; a value inside an
    // array is stored in place in its parent, which reserved every element up front.
    static reply* slot(redisReadTask const* task)
    {
        auto* b = static_cast<budget*>(task->privdata);
        if (task->parent == nullptr) {
            b->used = 0;
            b->over = false;
            return new (std::nothrow) reply;
        }
        auto* parent = static_cast<reply*>(task->parent->obj);
        if (task->idx < 0 || static_cast<std::size_t>(task->idx) >= parent->elements.size())
            return nullptr;
        return &parent->elements[static_cast<std::size_t>(task->idx)];
    }

    /// Counts `bytes` against the current reply; false (and the slot released) when over the limit.
    static bool charge(redisReadTask const* task, reply* r, std::size_t bytes)
    {
        auto* b = static_cast<budget*>(task->privdata);
        if (bytes > b->limit || b->used > b->limit - bytes) {
            b->over = true;
            if (task->parent == nullptr)
                delete r;
            return false;
        }
        b->used += bytes;
        return true;
    }

    static void* create_string(redisReadTask const* task, char* str, std::size_t len)
    {
        reply* r = slot(task);
        if (r == nullptr || !charge(task, r, len + sizeof(reply)))
            return nullptr;
        r->type = task->type == REDIS_REPLY_ERROR ? reply::kind::error
            : task->type == REDIS_REPLY_STATUS    ? reply::kind::status
                                                  : reply::kind::string;
#if SSE_HAS_EXCEPTIONS
        try {
            r->str.assign(str, len);
        }
        catch (...) {
            if (task->parent == nullptr)
                delete r;
            return nullptr;
        }
#else
        r->str.assign(str, len);
#endif
        return r;
    }

    static void* create_array(redisReadTask const* task, long long elements)
    {
        reply* r = slot(task);
        if (r == nullptr)
            return nullptr;
        if (elements < 0) {   // only -1 (a nil array) is valid, and hiredis handles that itself
            if (task->parent == nullptr)
                delete r;
            return nullptr;
        }
        auto const n = static_cast<std::size_t>(elements);
        std::size_t const bytes = n >= SIZE_MAX / sizeof(reply) - 1 ? SIZE_MAX : (n + 1) * sizeof(reply);
        if (!charge(task, r, bytes))
            return nullptr;
        r->type = reply::kind::array;
#if SSE_HAS_EXCEPTIONS
        try {
            r->elements.resize(n);
        }
        catch (...) {
            if (task->parent == nullptr)
                delete r;
            return nullptr;
        }
#else
        r->elements.resize(n);
#endif
        return r;
    }

    static void* create_integer(redisReadTask const* task, long long value)
    {
        reply* r = slot(task);
        if (r == nullptr || !charge(task, r, sizeof(reply)))
            return nullptr;
        r->type = reply::kind::integer;
        r->integer = value;
        return r;
    }

    static void* create_nil(redisReadTask const* task)
    {
        reply* r = slot(task);
        if (r == nullptr || !charge(task, r, sizeof(reply)))
            return nullptr;
        r->type = reply::kind::nil;
        return r;
    }

    // hiredis frees only the root (on errors and in redisReaderFree); children live inside it.
    static void free_object(void* p) { delete static_cast<reply*>(p); }

    static redisReplyObjectFunctions make_functions()
    {
        // By name, not position: later hiredis versions add members (RESP3 types).
        redisReplyObjectFunctions f{};
        f.createString = &create_string;
        // hiredis 0.14 passes the count as int, 1.x as size_t.
        f.createArray = [](redisReadTask const* task, auto elements) -> void* {
            return create_array(task, static_cast<long long>(elements));
        };
        f.createInteger = &create_integer;
        f.createNil = &create_nil;
        f.freeObject = &free_object;
        return f;
    }

    budget budget_;
    redisReader* reader_ = nullptr;
};

} // namespace detail
} // namespace redis
SSE_NAMESPACE_END

#endif
