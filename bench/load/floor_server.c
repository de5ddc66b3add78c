// bench/load/floor_server.c - sse-floor: the kernel's cost of a fan-out, for comparison.
//
// The least a server can do for sse-loadgen: one thread, one epoll set, and per event one write()
// per subscriber, nothing else. `GET <prefix>sub` answers 200 text/event-stream with a body that
// lasts until the connection closes, and the connection joins the subscriber list. `POST
// <prefix>pub` (Content-Length, keep-alive, pipelining allowed) formats `data: <body>\n\n` once,
// writes it to every subscriber, then answers 202. Everything else gets 404 and is closed.
//
// No queue anywhere: a subscriber whose write is short (or would block) is dropped and counted. A
// real server would queue; what is measured here is the system calls alone, the floor under any
// server's CPU per delivery. Per subscriber the server holds one descriptor and one table entry.
//
//   sse-floor [--host 127.0.0.1] [--port 0] [--prefix /] [--syscall write|send]
//             [--misdeliver late|split] [--time-out N] [--cold-lines N]
//
// --syscall send makes each delivery a send(MSG_NOSIGNAL) instead of a write(): the same bytes
// through the socket layer without the file layer's checks, the cheaper of the two on Linux.
// write() stays the default, as issue 15 defines the floor.
//
// --misdeliver late|split breaks the order on purpose, so that the generator's tests can show it
// notices (bench/load/CMakeLists.txt). Events are taken in pairs, and the count must be even:
//   late   each first event of a pair is answered at once but written after the second;
//   split  the first of a pair is neither written nor answered until the second arrives (on
//          another connection); then half the subscribers get the pair in one order, half in the
//          other, and both are answered.
//
// --time-out N answers every Nth publish request with 408 Request Timeout and closes the
// connection, publishing nothing: what a server sends when its wait for a request ran out just as
// one came in (sse::listener's head_timeout), which a client may repeat on a new connection (RFC
// 9110, 15.5.9). The generator's test shows that it does.
//
// --cold-lines N (1 to 8) gives each subscriber a block of N cache lines of its own, allocated
// when it subscribes, and each delivery one locked increment on each of its lines, asked for four
// subscribers ahead: what a library's per-subscriber objects and reference counts add to the
// floor's writes, with nothing else of a library. It prices a cold line per delivery (issue 15,
// benchmarks.md); the floor proper has none.
//
// Prints `listening on HOST:PORT` first, runs until SIGINT or SIGTERM, then prints its counters on
// stderr. See bench/load/README.md.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { head_max = 16 * 1024, body_max = 1024 * 1024 + 1024 };
enum state { st_free, st_request, st_subscriber };

// Indexed by descriptor. Only connections reading a request own a buffer: a publisher keeps it
// between requests, a subscriber never has one.
struct conn {
    char *buf;
    uint32_t len, cap;
    int32_t slot; // index in subs while a subscriber
    uint8_t state;
};

static struct conn *conns;
static int *subs;
static size_t nsubs, max_fds;
static char *msg;
static size_t msg_cap;
static unsigned long long served, events, writes, drops;
static volatile sig_atomic_t stop;
static int use_send; // --syscall send
enum misdelivery { in_order, late, split };
static enum misdelivery misdeliver;
static char *held;     // the first event of a pair, formatted, while misdelivering
static size_t held_size;
static int held_fd = -1; // its publisher, while split holds the answer
static unsigned long time_out_every, publish_requests; // --time-out
static unsigned cold_lines; // --cold-lines
static unsigned long **cold; // indexed by descriptor: its lines, with --cold-lines

static const char sub_head[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";
static const char accepted[] = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";

static void on_signal(int sig) { (void)sig; stop = 1; }

static void drop_conn(int fd)
{
    struct conn *c = &conns[fd];
    if (c->state == st_subscriber) {
        // Swap with the last subscriber: removal in O(1), order does not matter.
        int last = subs[--nsubs];
        subs[c->slot] = last;
        conns[last].slot = c->slot;
    }
    free(c->buf);
    memset(c, 0, sizeof *c);
    if (cold) {
        free(cold[fd]);
        cold[fd] = NULL;
    }
    close(fd); // also leaves the epoll set: the descriptor is not shared
}

// The whole answer or nothing: a short answer would leave a half-written response.
static void answer_and_close(int fd, const char *text)
{
    ssize_t n = write(fd, text, strlen(text));
    (void)n;
    drop_conn(fd);
}

// One event to every subscriber from slot `from` on, `step` apart.
static void write_all(const char *text, size_t size, size_t from, size_t step)
{
    for (size_t i = from; i < nsubs;) {
        int fd = subs[i];
        if (cold_lines) {
            if (i + 4 * step < nsubs)
                for (unsigned l = 0; l < cold_lines; ++l)
                    __builtin_prefetch(cold[subs[i + 4 * step]] + l * 8, 1);
            for (unsigned l = 0; l < cold_lines; ++l)
                __atomic_fetch_add(cold[fd] + l * 8, 1, __ATOMIC_ACQ_REL);
        }
        ssize_t n = use_send ? send(fd, text, size, MSG_NOSIGNAL) : write(fd, text, size);
        if (n == (ssize_t)size) {
            ++writes;
            i += step;
        } else {
            // EAGAIN, a short write or a dead peer: the floor queues nothing. The last subscriber
            // moves into slot i, so i is not advanced.
            ++drops;
            drop_conn(fd);
        }
    }
}

// 202 to a publisher; false if that failed and the connection is dropped.
static int answer_publish(int fd)
{
    if (write(fd, accepted, sizeof accepted - 1) == (ssize_t)(sizeof accepted - 1))
        return 1;
    drop_conn(fd);
    return 0;
}

// --misdeliver: the pair's first event is held; the second writes both, out of order.
static int misdeliver_pair(int fd, size_t size)
{
    if (!held) {
        held = malloc(size);
        if (!held) { perror("sse-floor: malloc"); exit(1); }
        memcpy(held, msg, size);
        held_size = size;
        if (misdeliver == split) {
            held_fd = fd;
            return 0;
        }
        return 1;
    }
    if (misdeliver == late) {
        write_all(msg, size, 0, 1);
        write_all(held, held_size, 0, 1);
    } else {
        write_all(msg, size, 0, 2);
        write_all(held, held_size, 0, 2);
        write_all(held, held_size, 1, 2);
        write_all(msg, size, 1, 2);
        if (conns[held_fd].state != st_free)
            answer_publish(held_fd);
        held_fd = -1;
    }
    free(held);
    held = NULL;
    return 1;
}

// Returns whether the publisher is to be answered now.
static int publish(int fd, const char *body, size_t len)
{
    if (len && body[len - 1] == '\n')
        --len;
    if (msg_cap < len + 8) {
        msg_cap = len + 8;
        msg = realloc(msg, msg_cap);
        if (!msg) { perror("sse-floor: realloc"); exit(1); }
    }
    memcpy(msg, "data: ", 6);
    memcpy(msg + 6, body, len);
    memcpy(msg + 6 + len, "\n\n", 2);
    size_t const size = len + 8;
    ++events;
    if (misdeliver != in_order)
        return misdeliver_pair(fd, size);
    write_all(msg, size, 0, 1);
    return 1;
}

static long content_length(const char *head, size_t len)
{
    static const char name[] = "\r\ncontent-length:";
    for (const char *p = head; (p = memmem(p, len - (size_t)(p - head), "\r\n", 2)); p += 2) {
        if ((size_t)(head + len - p) > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
            char *end;
            long v = strtol(p + sizeof name - 1, &end, 10);
            return end == p + sizeof name - 1 || v < 0 ? -1 : v;
        }
    }
    return -1;
}

// Handles every complete request in the buffer; returns with the connection dropped, turned into a
// subscriber, or waiting for more bytes.
static void serve_requests(int fd, const char *sub_path, const char *pub_path)
{
    struct conn *c = &conns[fd];
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end) {
            if (c->len > head_max)
                answer_and_close(fd, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
            return;
        }
        size_t const head = (size_t)(end - c->buf) + 4;
        char *sp1 = memchr(c->buf, ' ', head);
        char *sp2 = sp1 ? memchr(sp1 + 1, ' ', head - (size_t)(sp1 + 1 - c->buf)) : NULL;
        if (!sp2)
            return answer_and_close(fd, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        char *q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
        size_t const method_len = (size_t)(sp1 - c->buf), path_len = (size_t)((q ? q : sp2) - sp1 - 1);
        char const *path = sp1 + 1;
        if (method_len == 3 && !memcmp(c->buf, "GET", 3) && path_len == strlen(sub_path) &&
            !memcmp(path, sub_path, path_len)) {
            if (write(fd, sub_head, sizeof sub_head - 1) != (ssize_t)(sizeof sub_head - 1))
                return drop_conn(fd);
            free(c->buf);
            c->buf = NULL;
            c->len = c->cap = 0;
            if (cold_lines && !(cold[fd] = aligned_alloc(64, 64 * (size_t)cold_lines)))
                return drop_conn(fd);
            if (cold_lines)
                memset(cold[fd], 0, 64 * (size_t)cold_lines);
            c->state = st_subscriber;
            c->slot = (int32_t)nsubs;
            subs[nsubs++] = fd;
            ++served;
            return;
        }
        if (!(method_len == 4 && !memcmp(c->buf, "POST", 4) && path_len == strlen(pub_path) &&
                !memcmp(path, pub_path, path_len)))
            return answer_and_close(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        long const length = content_length(c->buf, head);
        if (length < 0)
            return answer_and_close(fd, "HTTP/1.1 411 Length Required\r\nConnection: close\r\n\r\n");
        if (length > body_max)
            return answer_and_close(fd, "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n\r\n");
        size_t const total = head + (size_t)length;
        if (c->len < total) {
            if (c->cap < total) {
                char *grown = realloc(c->buf, total);
                if (!grown) return drop_conn(fd);
                c->buf = grown;
                c->cap = (uint32_t)total;
            }
            return;
        }
        if (time_out_every && ++publish_requests % time_out_every == 0)
            return answer_and_close(fd, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        if (publish(fd, c->buf + head, (size_t)length) && !answer_publish(fd))
            return;
        memmove(c->buf, c->buf + total, c->len - total); // a pipelined request may follow
        c->len -= (uint32_t)total;
    }
}

// Connections are edge-triggered: every arrival of data queues the connection again at the end of
// the kernel's ready list, so connections are served in the order their requests arrived, and
// events are published in the order they were sent on different connections. So a connection is
// read until a short read (nothing more waiting) before its requests are served, and not read
// again after: a request sent after the answer to an earlier one waits for its turn in the list.
// Level-triggered, a reported publisher stays in the list at its old place and its next request
// jumps ahead of others; reading again right after serving does the same (the generator counted
// both as events out of order).
static void on_readable(int fd, const char *sub_path, const char *pub_path)
{
    struct conn *c = &conns[fd];
    if (c->state == st_request) {
        for (;;) {
            if (c->len > head_max + body_max)
                return answer_and_close(fd, "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n\r\n");
            if (c->cap - c->len < 512) {
                uint32_t cap = c->cap ? c->cap * 2 : 1024;
                char *grown = realloc(c->buf, cap);
                if (!grown) return drop_conn(fd);
                c->buf = grown;
                c->cap = cap;
            }
            size_t const room = c->cap - c->len;
            ssize_t n = read(fd, c->buf + c->len, room);
            if (n > 0) {
                c->len += (uint32_t)n;
                if ((size_t)n < room) break;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                return drop_conn(fd);
            } else if (errno == EAGAIN) {
                break;
            }
        }
        return serve_requests(fd, sub_path, pub_path);
    }
    // A subscriber sends nothing after its request: readable means closed (or stray bytes).
    for (;;) {
        char scratch[512];
        ssize_t n = read(fd, scratch, sizeof scratch);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return drop_conn(fd);
        if (n < 0 && errno == EAGAIN)
            return;
    }
}

static void usage(const char *why)
{
    if (why)
        fprintf(stderr, "sse-floor: %s\n", why);
    fprintf(why ? stderr : stdout, "usage: sse-floor [--host 127.0.0.1] [--port 0] [--prefix /] [--syscall write|send]\n"
        "                 [--misdeliver late|split] [--time-out N] [--cold-lines N]\n");
    exit(why ? 2 : 0);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *prefix = "/";
    long port = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) usage(NULL);
        if (i + 1 == argc) usage("every option takes a value");
        if (!strcmp(argv[i], "--host")) host = argv[++i];
        else if (!strcmp(argv[i], "--port")) port = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--prefix")) prefix = argv[++i];
        else if (!strcmp(argv[i], "--syscall")) {
            const char *call = argv[++i];
            if (!strcmp(call, "send")) use_send = 1;
            else if (strcmp(call, "write")) usage("--syscall is write or send");
        }
        else if (!strcmp(argv[i], "--misdeliver")) {
            const char *how = argv[++i];
            if (!strcmp(how, "late")) misdeliver = late;
            else if (!strcmp(how, "split")) misdeliver = split;
            else usage("--misdeliver is late or split");
        }
        else if (!strcmp(argv[i], "--time-out")) {
            char *end;
            const char *n = argv[++i];
            time_out_every = strtoul(n, &end, 10);
            if (end == n || *end || time_out_every == 0 || n[0] == '-') usage("--time-out is a positive number");
        }
        else if (!strcmp(argv[i], "--cold-lines")) {
            char *end;
            const char *n = argv[++i];
            unsigned long lines = strtoul(n, &end, 10);
            if (end == n || *end || lines < 1 || lines > 8 || n[0] == '-') usage("--cold-lines is 1 to 8");
            cold_lines = (unsigned)lines;
        }
        else usage("unknown option");
    }
    if (port < 0 || port > 65535) usage("--port: out of range");
    if (prefix[0] != '/') usage("--prefix must start with '/'");
    char sub_path[512], pub_path[512];
    if (snprintf(sub_path, sizeof sub_path, "%ssub", prefix) >= (int)sizeof sub_path) usage("--prefix too long");
    snprintf(pub_path, sizeof pub_path, "%spub", prefix);

    // Every subscriber costs a descriptor.
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    max_fds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20) ? (1u << 20) : (size_t)rl.rlim_cur;
    // calloc of this size maps zero pages lazily: RSS grows only with the descriptors in use.
    conns = calloc(max_fds, sizeof *conns);
    subs = calloc(max_fds, sizeof *subs);
    if (cold_lines)
        cold = calloc(max_fds, sizeof *cold);
    if (!conns || !subs || (cold_lines && !cold)) { perror("sse-floor: calloc"); return 1; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; // no SA_RESTART: epoll_wait returns EINTR and the loop ends
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); // a vanished subscriber shows as EPIPE from write()

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) usage("--host must be an IPv4 address");
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("sse-floor: listen");
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    printf("listening on %s:%u\n", host, ntohs(addr.sin_port));
    fflush(stdout); // run-floor.sh waits for this line

    struct epoll_event ready[256];
    while (!stop) {
        int n = epoll_wait(ep, ready, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("sse-floor: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            int fd = ready[i].data.fd;
            if (fd != lfd) {
                // An earlier event of this round may have dropped it (a failed publish write).
                if (conns[fd].state != st_free) on_readable(fd, sub_path, pub_path);
                continue;
            }
            for (;;) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                    if (errno == EMFILE || errno == ENFILE) perror("sse-floor: accept");
                    break;
                }
                if ((size_t)cfd >= max_fds) { close(cfd); continue; }
                conns[cfd].state = st_request;
                struct epoll_event cev = {.events = EPOLLIN | EPOLLET, .data.fd = cfd};
                epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
            }
        }
    }
    fprintf(stderr, "sse-floor: %llu subscribers served, %zu open; %llu events; %llu writes, %llu drops\n", served,
        nsubs, events, writes, drops);
    return 0;
}
