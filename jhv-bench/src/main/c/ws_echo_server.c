/*
 * ws_echo_server.c: the C ceiling of the WebSocket harness (jhv-bench/ws-compare.sh), as
 * plaintext_server.c is for HTTP. A single-threaded WebSocket echo server doing the least a correct
 * one must: the upgrade (Sec-WebSocket-Accept computed from the key), frame parsing, unmasking, and
 * an unmasked echo frame per frame; a ping gets its pong, a close its close. It checks nothing else
 * (no UTF-8 validation, no fragmentation rules, no extensions): whatever rate it reaches is about the
 * most this machine's loopback path and the load generator allow, so jhv and Netty are measured
 * against it.
 *
 *   ws_echo_server [-u] PORT [HOST]      (HOST defaults to 127.0.0.1)
 *     -u   io_uring instead of epoll (a build with -DHAVE_URING -luring; liburing-dev): one recv
 *          per connection in the ring, the echo sent when it completes, then the next recv; the
 *          ring set up with SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them. Completions
 *          of every connection are reaped and the next operations submitted in one system call.
 *
 * Build: gcc -O2 -Wall -o ws_echo_server ws_echo_server.c [-DHAVE_URING -luring]
 *
 * epoll mode: level-triggered, one read (64 KiB) per readiness event, every whole frame in it
 * answered, then one write of the answers; what the socket does not take waits for EPOLLOUT (and
 * reading pauses meanwhile, so a client that does not read cannot grow the buffer without bound).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef HAVE_URING
#include <liburing.h>
#endif

#define MAX_FDS 65536
#define READ_SIZE (64 * 1024)
#define MAX_FRAME (16 * 1024 * 1024)
#define MAX_HEAD 8192

struct conn {
    uint8_t open, upgraded, closing, want_out;
    unsigned char *carry; /* bytes of an unfinished request head or frame */
    size_t carry_len, carry_cap;
    unsigned char *out; /* answers not yet written */
    size_t out_len, out_off, out_cap;
    unsigned char *rbuf; /* io_uring mode: this connection's receive buffer */
};

static struct conn conns[MAX_FDS];
static unsigned char rbuf[READ_SIZE];

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* ------------------------------------------------------------------ SHA-1 (RFC 3174) and base64 */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    unsigned char *m = calloc(total, 1);
    if (!m) die("calloc");
    memcpy(m, msg, len);
    m[len] = 0x80;
    uint64_t bits = (uint64_t) len * 8;
    for (int i = 0; i < 8; i++) m[total - 1 - i] = (unsigned char) (bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++) {
            const unsigned char *p = m + off + 4 * i;
            w[i] = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
        }
        for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6; }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol(b, 30); b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    free(m);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char) (h[i] >> 24);
        out[4 * i + 1] = (unsigned char) (h[i] >> 16);
        out[4 * i + 2] = (unsigned char) (h[i] >> 8);
        out[4 * i + 3] = (unsigned char) h[i];
    }
}

static void base64(const unsigned char *in, size_t n, char *out) {
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) in[i] << 16 | (i + 1 < n ? (uint32_t) in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = T[(v >> 18) & 63];
        out[o++] = T[(v >> 12) & 63];
        out[o++] = i + 1 < n ? T[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    out[o] = 0;
}

/* ------------------------------------------------------------------ buffers */

static void reserve(unsigned char **b, size_t *cap, size_t need) {
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    unsigned char *nb = realloc(*b, c);
    if (!nb) die("realloc");
    *b = nb;
    *cap = c;
}

static void out_append(struct conn *c, const void *p, size_t n) {
    reserve(&c->out, &c->out_cap, c->out_len + n);
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* ------------------------------------------------------------------ protocol */

/* The upgrade. Returns bytes of the head consumed, 0 if incomplete, -1 to close. */
static long handshake(struct conn *c, const unsigned char *b, size_t n) {
    const unsigned char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end) return n > MAX_HEAD ? -1 : 0;
    size_t head = (size_t) (end - b) + 4;
    const char *key = NULL;
    size_t key_len = 0;
    for (const unsigned char *l = b; l < end;) {
        const unsigned char *eol = memmem(l, (size_t) (end + 2 - l), "\r\n", 2);
        if (!eol) break;
        if ((size_t) (eol - l) > 18 && strncasecmp((const char *) l, "Sec-WebSocket-Key:", 18) == 0) {
            const unsigned char *v = l + 18;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const unsigned char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            key = (const char *) v;
            key_len = (size_t) (ve - v);
        }
        l = eol + 2;
    }
    if (!key || key_len == 0 || key_len > 64) {
        static const char BAD[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        out_append(c, BAD, sizeof BAD - 1);
        c->closing = 1;
        return (long) head;
    }
    unsigned char cat[128], digest[20];
    static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    memcpy(cat, key, key_len);
    memcpy(cat + key_len, GUID, sizeof GUID - 1);
    sha1(cat, key_len + sizeof GUID - 1, digest);
    char acc[32], resp[256];
    base64(digest, 20, acc);
    int rn = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
    out_append(c, resp, (size_t) rn);
    c->upgraded = 1;
    return (long) head;
}

/* Answers every whole frame in b[0, n). Returns bytes consumed, -1 to close. */
static long frames(struct conn *c, unsigned char *b, size_t n) {
    size_t i = 0;
    while (!c->closing && n - i >= 2) {
        unsigned char b0 = b[i], b1 = b[i + 1];
        if (!(b1 & 0x80)) return -1; /* a client frame must be masked */
        size_t l7 = b1 & 0x7f, hl = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
        if (n - i < hl) break;
        uint64_t len = l7;
        if (l7 == 126) len = ((uint64_t) b[i + 2] << 8) | b[i + 3];
        else if (l7 == 127) { len = 0; for (int k = 2; k < 10; k++) len = (len << 8) | b[i + k]; }
        if (len > MAX_FRAME) return -1;
        if (n - i - hl < len) break;
        const unsigned char *mk = b + i + hl - 4;
        unsigned op = b0 & 0x0f;
        unsigned char h[10];
        size_t oh = 2;
        h[0] = op == 9 ? (unsigned char) 0x8A : b0; /* a ping's pong; anything else echoed as it came */
        if (len < 126) h[1] = (unsigned char) len;
        else if (len <= 0xffff) { h[1] = 126; h[2] = (unsigned char) (len >> 8); h[3] = (unsigned char) len; oh = 4; }
        else { h[1] = 127; for (int k = 0; k < 8; k++) h[2 + k] = (unsigned char) (len >> (56 - 8 * k)); oh = 10; }
        if (op == 10) { i += hl + len; continue; } /* an unsolicited pong: nothing to answer */
        reserve(&c->out, &c->out_cap, c->out_len + oh + len);
        memcpy(c->out + c->out_len, h, oh);
        unsigned char *dst = c->out + c->out_len + oh;
        const unsigned char *src = b + i + hl;
        uint32_t m32;
        memcpy(&m32, mk, 4);
        uint64_t m64 = (uint64_t) m32 << 32 | m32;
        size_t k = 0;
        for (; k + 8 <= len; k += 8) {
            uint64_t v;
            memcpy(&v, src + k, 8);
            v ^= m64;
            memcpy(dst + k, &v, 8);
        }
        for (; k < len; k++) dst[k] = src[k] ^ mk[k & 3];
        c->out_len += oh + len;
        i += hl + len;
        if (op == 8) c->closing = 1; /* the close echoed; the connection ends once it is written */
    }
    return (long) i;
}

/* Feeds what a read brought. Returns -1 to close. */
static int feed(struct conn *c, unsigned char *b, size_t n) {
    if (c->carry_len) {
        reserve(&c->carry, &c->carry_cap, c->carry_len + n);
        memcpy(c->carry + c->carry_len, b, n);
        c->carry_len += n;
        b = c->carry;
        n = c->carry_len;
    }
    size_t used = 0;
    if (!c->upgraded) {
        long h = handshake(c, b, n);
        if (h < 0) return -1;
        used = (size_t) h;
    }
    if (c->upgraded && !c->closing) {
        long f = frames(c, b + used, n - used);
        if (f < 0) return -1;
        used += (size_t) f;
    }
    size_t rest = n - used;
    if (rest > 0 && !c->closing) {
        if (b == c->carry) memmove(c->carry, c->carry + used, rest);
        else { reserve(&c->carry, &c->carry_cap, rest); memcpy(c->carry, b + used, rest); }
    }
    c->carry_len = c->closing ? 0 : rest;
    return 0;
}

static void release(int fd) {
    struct conn *c = &conns[fd];
    free(c->carry);
    free(c->out);
    free(c->rbuf);
    memset(c, 0, sizeof *c);
    close(fd);
}

static int listen_on(const char *host, int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0) die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); exit(2); }
    if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    return fd;
}

/* ------------------------------------------------------------------ epoll */

static int epfd;

static void set_out(int fd, int on) {
    struct conn *c = &conns[fd];
    if (c->want_out == on) return;
    struct epoll_event ev = {.events = on ? EPOLLOUT : EPOLLIN, .data.fd = fd}; /* reading pauses while output waits */
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl mod");
    c->want_out = (uint8_t) on;
}

/* Writes the answers. Returns -1 when the connection is done (failed or closed after a close). */
static int flush_epoll(int fd) {
    struct conn *c = &conns[fd];
    while (c->out_off < c->out_len) {
        ssize_t w = write(fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return -1;
        }
        c->out_off += (size_t) w;
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        if (c->closing) return -1;
    }
    set_out(fd, c->out_len > 0);
    return 0;
}

static void run_epoll(int lfd) {
    epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl add");
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(epfd, evs, 512, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int cfd, one = 1;
                while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (cfd >= MAX_FDS) { close(cfd); continue; }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[cfd].open = 1;
                    struct epoll_event e = {.events = EPOLLIN, .data.fd = cfd};
                    if (epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &e) < 0) die("epoll_ctl add");
                }
                continue;
            }
            struct conn *c = &conns[fd];
            if (!c->open) continue;
            if (c->want_out) {
                if (flush_epoll(fd) < 0) release(fd);
                continue;
            }
            ssize_t r = read(fd, rbuf, sizeof rbuf);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0 || feed(c, rbuf, (size_t) r) < 0 || flush_epoll(fd) < 0) release(fd);
        }
    }
}

/* ------------------------------------------------------------------ io_uring */

#ifdef HAVE_URING
enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };
static struct io_uring ring;

static struct io_uring_sqe *sqe(void) {
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    if (!s) { io_uring_submit(&ring); s = io_uring_get_sqe(&ring); }
    if (!s) { fprintf(stderr, "io_uring: no free submission entry\n"); exit(1); }
    return s;
}
static void q_recv(int fd) {
    struct io_uring_sqe *s = sqe();
    io_uring_prep_recv(s, fd, conns[fd].rbuf, READ_SIZE, 0);
    io_uring_sqe_set_data64(s, (uint64_t) OP_RECV << 32 | (uint32_t) fd);
}
static void q_send(int fd) {
    struct conn *c = &conns[fd];
    struct io_uring_sqe *s = sqe();
    io_uring_prep_send(s, fd, c->out + c->out_off, c->out_len - c->out_off, 0);
    io_uring_sqe_set_data64(s, (uint64_t) OP_SEND << 32 | (uint32_t) fd);
}
static void q_accept(int lfd) {
    struct io_uring_sqe *s = sqe();
    io_uring_prep_multishot_accept(s, lfd, NULL, NULL, 0);
    io_uring_sqe_set_data64(s, (uint64_t) OP_ACCEPT << 32 | (uint32_t) lfd);
}

static void run_uring(int lfd) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = io_uring_queue_init_params(4096, &ring, &p);
    if (rc < 0) { /* an older kernel: a plain ring */
        memset(&p, 0, sizeof p);
        rc = io_uring_queue_init_params(4096, &ring, &p);
    }
    if (rc < 0) { fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-rc)); exit(1); }
    q_accept(lfd); /* io_uring waits for connections on the non-blocking listener itself */
    for (;;) {
        rc = io_uring_submit_and_wait(&ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EBUSY) { fprintf(stderr, "io_uring_submit_and_wait: %s\n", strerror(-rc)); exit(1); }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            uint64_t ud = io_uring_cqe_get_data64(cqe);
            int op = (int) (ud >> 32), fd = (int) (uint32_t) ud, res = cqe->res;
            if (op == OP_ACCEPT) {
                if (res >= 0) {
                    int one = 1;
                    if (res >= MAX_FDS) { close(res); continue; }
                    setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[res].open = 1;
                    conns[res].rbuf = malloc(READ_SIZE);
                    if (!conns[res].rbuf) die("malloc");
                    q_recv(res);
                }
                if (!(cqe->flags & IORING_CQE_F_MORE)) q_accept(lfd); /* the multishot accept ended: re-arm */
            } else if (op == OP_RECV) {
                struct conn *c = &conns[fd];
                if (res <= 0 || feed(c, c->rbuf, (size_t) res) < 0) { release(fd); continue; }
                if (c->out_len > c->out_off) q_send(fd);
                else q_recv(fd);
            } else if (op == OP_SEND) {
                struct conn *c = &conns[fd];
                if (res < 0) { release(fd); continue; }
                c->out_off += (size_t) res;
                if (c->out_off < c->out_len) { q_send(fd); continue; }
                c->out_off = c->out_len = 0;
                if (c->closing) { release(fd); continue; }
                q_recv(fd);
            }
        }
        io_uring_cq_advance(&ring, seen);
    }
}
#endif

int main(int argc, char **argv) {
    int uring = 0, opt;
    while ((opt = getopt(argc, argv, "u")) != -1) {
        if (opt == 'u') uring = 1;
        else { fprintf(stderr, "usage: %s [-u] PORT [HOST]\n", argv[0]); return 2; }
    }
    if (argc - optind < 1) { fprintf(stderr, "usage: %s [-u] PORT [HOST]\n", argv[0]); return 2; }
    int port = atoi(argv[optind]);
    const char *host = argc - optind > 1 ? argv[optind + 1] : "127.0.0.1";
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(host, port);
    if (uring) {
#ifdef HAVE_URING
        run_uring(lfd);
#else
        fprintf(stderr, "built without io_uring (rebuild with -DHAVE_URING -luring)\n");
        return 2;
#endif
    }
    run_epoll(lfd);
    return 0;
}
