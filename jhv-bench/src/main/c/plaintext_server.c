/*
 * plaintext_server: the C ceiling of the HTTP load harness (jhv-bench/compare.sh).
 *
 * A minimal single-threaded epoll server. It does no HTTP parsing at all: it counts request
 * terminators ("\r\n\r\n") in what it reads and writes that many copies of one canned
 * "Hello, World!" response. Whatever rate it reaches is the most this machine's loopback path and
 * the load generator allow, so jhv and Netty are measured against it.
 *
 * Usage: plaintext_server PORT [HOST]     (HOST defaults to 127.0.0.1)
 * Build: gcc -O2 -Wall -o plaintext_server plaintext_server.c
 *
 * Design notes:
 * - Level-triggered epoll, one read per readiness event, then one write of all pending responses:
 *   a pipelined batch of 16 requests is answered with one write(2), like a server that batches.
 * - Responses are identical, so the output of a connection is a periodic byte stream; a connection
 *   only keeps how many bytes it still owes and its phase in that period, and writes straight from
 *   a static block of RESP_BLOCK concatenated copies (no per-connection output buffer).
 * - A terminator split across reads is found: the scan state (how much of "\r\n\r\n" was seen
 *   last) is kept per connection.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_EVENTS 512
#define READ_SIZE (64 * 1024)
#define RESP_BLOCK 64

/* About the size of Netty's and jhv's answers, so all servers move similar bytes. */
static const char RESP[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: C\r\n"
    "Content-Type: text/plain\r\n"
    "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";
#define RESP_LEN (sizeof(RESP) - 1)

struct conn {
    uint64_t owed;    /* response bytes still to write */
    uint32_t phase;   /* bytes of the current response already written, in [0, RESP_LEN) */
    uint8_t match;    /* how much of "\r\n\r\n" ends the bytes read so far: 0..3 */
    uint8_t want_out; /* EPOLLOUT registered */
    uint8_t open;
};

static struct conn conns[MAX_FDS];
static char block[RESP_LEN * RESP_BLOCK];
static char rbuf[READ_SIZE];
static int epfd;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void close_conn(int fd) {
    conns[fd].open = 0;
    close(fd); /* also leaves the epoll set */
}

static void set_out(int fd, int on) {
    if (conns[fd].want_out == on) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.fd = fd};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl mod");
    conns[fd].want_out = (uint8_t)on;
}

/* Writes what the connection owes. Returns -1 when the connection died. */
static int flush_conn(int fd) {
    struct conn *c = &conns[fd];
    while (c->owed > 0) {
        size_t avail = sizeof(block) - c->phase; /* phase < RESP_LEN, so at least RESP_BLOCK-1 copies */
        size_t len = c->owed < avail ? (size_t)c->owed : avail;
        ssize_t n = write(fd, block + c->phase, len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            return -1;
        }
        c->owed -= (uint64_t)n;
        c->phase = (uint32_t)((c->phase + (size_t)n) % RESP_LEN);
        if ((size_t)n < len) break; /* socket buffer full */
    }
    set_out(fd, c->owed > 0);
    return 0;
}

/* Counts "\r\n\r\n" in buf[0, n), continuing the match state of the connection. */
static uint64_t count_terminators(struct conn *c, const char *buf, ssize_t n) {
    uint64_t found = 0;
    unsigned m = c->match;
    for (ssize_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (ch == '\r') {
            m = (m == 2) ? 3 : 1;
        } else if (ch == '\n') {
            if (m == 1) m = 2;
            else if (m == 3) { found++; m = 0; }
            else m = 0;
        } else {
            m = 0;
        }
    }
    c->match = (uint8_t)m;
    return found;
}

static void on_readable(int fd) {
    ssize_t n = read(fd, rbuf, sizeof(rbuf));
    if (n == 0) { close_conn(fd); return; }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        close_conn(fd);
        return;
    }
    uint64_t reqs = count_terminators(&conns[fd], rbuf, n);
    if (reqs == 0) return;
    conns[fd].owed += reqs * RESP_LEN;
    if (flush_conn(fd) < 0) close_conn(fd);
}

static void on_accept(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE) { perror("accept4"); return; }
            die("accept4");
        }
        if (fd >= MAX_FDS) { close(fd); continue; }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        memset(&conns[fd], 0, sizeof(conns[fd]));
        conns[fd].open = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) { close(fd); conns[fd].open = 0; }
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [HOST]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "plaintext_server: bad port %s\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < RESP_BLOCK; i++) memcpy(block + i * RESP_LEN, RESP, RESP_LEN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "plaintext_server: bad IPv4 address %s\n", host);
        return 2;
    }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("bind");
    if (listen(lfd, 1024) < 0) die("listen");

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl add listener");
    printf("c plaintext (epoll, 1 thread) listening on %s:%d\n", host, port);
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            uint32_t e = events[i].events;
            if (fd == lfd) { on_accept(lfd); continue; }
            if (!conns[fd].open) continue;
            if (e & (EPOLLERR | EPOLLHUP)) { close_conn(fd); continue; }
            if ((e & EPOLLOUT) && flush_conn(fd) < 0) { close_conn(fd); continue; }
            if (e & EPOLLIN) on_readable(fd);
        }
    }
}
