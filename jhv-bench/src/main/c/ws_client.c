/*
 * ws_client.c: the WebSocket echo load for ws-compare.sh, in C so that the load generator costs far
 * less CPU than the server it measures. One thread, epoll, non-blocking sockets.
 *
 *   ws_client [options] HOST PORT
 *     -c N   connections (64)                -s B   message size in bytes (64)
 *     -w S   warm-up seconds (2)             -d S   measured seconds (10)
 *     -n N   messages in flight per connection (1)
 *     -t     text frames (default binary)    -u P   request path (/)
 *     -P PID the server's pid, for its CPU use over the measured window
 *     -z     offer permessage-deflate; if agreed, send the messages uncompressed (RSV1=0, which
 *            RFC 7692 allows per message) and take the compressed echoes by their frame lengths
 *     -Z     like -z, but send every message compressed: the payload is deflated once at start
 *            (zlib, raw deflate, sync flush, a fresh context each), so each frame is a valid
 *            compressed message and the server inflates every one (needs a build with -DHAVE_ZLIB -lz)
 *
 * Each connection does the HTTP/1.1 upgrade with a fixed Sec-WebSocket-Key (checks the 101 and the
 * Sec-WebSocket-Accept), then one blocking round trip whose echo is compared byte for byte (when it
 * came back uncompressed), then keeps N messages in flight: masked frames out, unmasked frames
 * parsed back. The messages are text-like (words from a 256-word vocabulary in a pseudo-random
 * order; deflate makes 4 KiB of them ~3x smaller) and there are max(16, N + 1) different ones, sent in turn, so that a server
 * compressing with context takeover cannot just point back at the previous identical message. All
 * frames are built once at start with one masking key (the server cannot tell).
 * The echo is never inflated: a compressed reply is counted by its frame header alone. A message
 * counts when its final frame has been read whole.
 *
 * Prints the RESULT line of pingpong_client.c (msgs/s, MB/s of payload echoed, CPU % of one core
 * of the server, of this client and of all other processes over the measured window) plus
 * deflate=off|agreed|refused, wire_in_bytes_per_msg (the echo's bytes on the wire, headers
 * included: below the payload size when the server compressed) and server_user_pct (the share of the
 * server's CPU time in user space; the rest went to the kernel: system calls, TCP, loopback).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="        /* RFC 6455's sample key */
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* and its accept value */

struct conn {
    int fd;
    int want_out;            /* EPOLLOUT registered */
    int fi;                  /* the frame (variant) being written next, 0..NV-1 */
    size_t off;              /* bytes of frame fi written already */
    long owed;               /* messages owed to the socket (the first possibly begun) */
    unsigned char hdr[14];   /* the reply frame header being gathered */
    int hlen, hneed;
    uint64_t remaining;      /* payload bytes of the current reply frame still to skip */
};

/* NV different messages (the same words in another order), each built once as a masked frame;
   every connection sends them in turn. rep holds the cycle of frames twice over, so the frames
   owed by one connection (at most inflight < NV) are always one contiguous run of bytes. */
#define NV_MIN 16
static int nv;
static unsigned char *rep;
static size_t *start;         /* start[k]: offset of frame k (k < 2 nv) in rep; start[2 nv] = its length */
static size_t wire_out_total; /* bytes of one cycle of nv frames */
static int deflate_agreed;
static long long count, wire_in;
static int measuring;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime+stime of a process in clock ticks (its user-space part in *user when not NULL), or -1 */
static long long proc_ticks_user(const char *pid, long long *user) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    if (user) *user = (long long) ut;
    return (long long) (ut + st);
}

static long long proc_ticks(const char *pid) { return proc_ticks_user(pid, NULL); }

static long long busy_ticks(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int k = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (k < 4) return -1;
    return (long long) (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void fail(const char *fmt, const char *detail) {
    fprintf(stderr, "ws_client: ");
    fprintf(stderr, fmt, detail);
    fputc('\n', stderr);
    exit(1);
}

/* Writes the frame header (FIN, opcode, RSV1 if compressed, MASK) + masked payload into out
   (n + 14 bytes of room); returns its length. */
static size_t build_frame(unsigned char *out, const unsigned char *payload, size_t n, int text, int rsv1) {
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = 0;
    out[h++] = (unsigned char) (0x80 | (rsv1 ? 0x40 : 0) | (text ? 1 : 2));
    if (n < 126) {
        out[h++] = (unsigned char) (0x80 | n);
    } else if (n < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (unsigned char) (n >> 8);
        out[h++] = (unsigned char) n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) out[h++] = (unsigned char) ((uint64_t) n >> (8 * i));
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++) out[h + i] = payload[i] ^ mask[i & 3];
    return h + n;
}

/* Text-like payload: words of 2-9 letters from a 256-word vocabulary, in an order given by seed
   (deflate at level 6 makes 4 KiB of it ~3x smaller, like chat text or JSON). */
static void fill_words(unsigned char *msg, size_t size, uint32_t seed) {
    static char words[256][11];
    static int made;
    if (!made) {
        uint32_t s = 777;
        for (int v = 0; v < 256; v++) {
            s = s * 1103515245u + 12345u;
            int len = 2 + (int) ((s >> 16) % 8), j;
            for (j = 0; j < len; j++) {
                s = s * 1103515245u + 12345u;
                words[v][j] = (char) ('a' + (s >> 16) % 26);
            }
            words[v][j] = ' ';
            words[v][j + 1] = 0;
        }
        made = 1;
    }
    for (size_t i = 0; i < size;) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) & 255];
        for (size_t k = 0; w[k] && i < size; k++) msg[i++] = (unsigned char) w[k];
    }
}

#ifdef HAVE_ZLIB
/* Raw deflate of payload with a sync flush, the 00 00 ff ff tail removed (RFC 7692 7.2.1). */
static unsigned char *deflate_message(const unsigned char *payload, size_t n, size_t *outn) {
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail("%s", "deflateInit2 failed");
    size_t cap = deflateBound(&z, n) + 16;
    unsigned char *out = malloc(cap);
    z.next_in = (unsigned char *) payload;
    z.avail_in = (uInt) n;
    z.next_out = out;
    z.avail_out = (uInt) cap;
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0) fail("%s", "deflate failed");
    size_t m = cap - z.avail_out;
    deflateEnd(&z);
    if (m < 4 || memcmp(out + m - 4, "\0\0\xff\xff", 4) != 0) fail("%s", "deflate output lacks the sync-flush tail");
    *outn = m - 4;
    return out;
}
#endif

static int read_full(int fd, unsigned char *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r == 0) return -1;
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        got += (size_t) r;
    }
    return 0;
}

/* Blocking upgrade; returns 1 if permessage-deflate was agreed. */
static int handshake(int fd, const char *host, int port, const char *path, int offer) {
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                     path, host, port, offer ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
    if (write(fd, req, (size_t) n) != n) die("handshake write");
    char resp[4096];
    size_t got = 0;
    /* Byte by byte: nothing after the header may be consumed here (the server sends no frame before ours anyway). */
    while (got < sizeof resp - 1) {
        ssize_t r = read(fd, resp + got, 1);
        if (r <= 0) fail("%s", "the server closed the connection during the handshake");
        got++;
        if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0) break;
    }
    resp[got] = 0;
    if (strncmp(resp, "HTTP/1.1 101", 12) != 0) fail("handshake refused: %s", resp);
    int accept_ok = 0, deflate = 0;
    for (char *line = strstr(resp, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        char *l = line + 2;
        if (strncasecmp(l, "Sec-WebSocket-Accept:", 21) == 0) {
            char *v = l + 21;
            while (*v == ' ') v++;
            accept_ok = strncmp(v, ACCEPT "\r\n", strlen(ACCEPT) + 2) == 0;
        } else if (strncasecmp(l, "Sec-WebSocket-Extensions:", 25) == 0) {
            char *end = strstr(l, "\r\n");
            for (char *p = l + 25; p + 18 <= end; p++) {
                if (strncasecmp(p, "permessage-deflate", 18) == 0) deflate = 1;
            }
        }
    }
    if (!accept_ok) fail("bad or missing Sec-WebSocket-Accept in: %s", resp);
    if (deflate && !offer) fail("the server agreed to an extension that was not offered: %s", resp);
    return deflate;
}

static void arm(int ep, struct conn *c, int idx, int out) {
    if (c->want_out == out) return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u32 = (unsigned) idx};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
    c->want_out = out;
}

/* Writes what is owed; arms EPOLLOUT when the socket is full. */
static void flush_out(int ep, struct conn *c, int idx) {
    while (c->owed > 0) {
        size_t from = start[c->fi] + c->off, to = start[c->fi + c->owed];
        ssize_t w = write(c->fd, rep + from, to - from);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            die("write");
        }
        size_t at = from + (size_t) w;
        while (c->owed > 0 && start[c->fi + 1] <= at) { /* frames finished by this write */
            c->fi++;
            c->owed--;
        }
        c->off = at - start[c->fi];
        if (c->fi >= nv) c->fi -= nv;
    }
    arm(ep, c, idx, c->owed > 0);
}

/* Parses reply frames in b[0..n); returns the number of whole messages completed. */
static long parse(struct conn *c, const unsigned char *b, size_t n) {
    long done = 0;
    size_t i = 0;
    while (i < n) {
        if (c->hlen < c->hneed) {
            while (c->hlen < c->hneed && i < n) c->hdr[c->hlen++] = b[i++];
            if (c->hlen == 2) {
                if (c->hdr[1] & 0x80) fail("%s", "the server sent a masked frame");
                unsigned l7 = c->hdr[1] & 0x7f;
                c->hneed = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
            }
            if (c->hlen < c->hneed) continue;
            unsigned l7 = c->hdr[1] & 0x7f;
            uint64_t len = l7;
            if (l7 == 126) len = ((uint64_t) c->hdr[2] << 8) | c->hdr[3];
            else if (l7 == 127) { len = 0; for (int k = 2; k < 10; k++) len = (len << 8) | c->hdr[k]; }
            if ((c->hdr[0] & 0x40) && !deflate_agreed) fail("%s", "RSV1 set without permessage-deflate");
            if (c->hdr[0] & 0x30) fail("%s", "RSV2/RSV3 set");
            unsigned op = c->hdr[0] & 0x0f;
            if (op == 8) fail("%s", "the server sent a close frame");
            c->remaining = len;
        }
        size_t take = n - i;
        if (take > c->remaining) take = (size_t) c->remaining;
        c->remaining -= take;
        i += take;
        if (c->remaining == 0) {
            unsigned op = c->hdr[0] & 0x0f;
            if ((c->hdr[0] & 0x80) && op < 8) done++; /* FIN of a data message (ping/pong frames are skipped) */
            c->hlen = 0;
            c->hneed = 2;
        }
    }
    return done;
}

static void usage(const char *me) {
    fprintf(stderr, "usage: %s [-c conns] [-s size] [-w warmup_s] [-d duration_s] [-n inflight] [-t] [-u path] [-P server_pid] [-z|-Z] HOST PORT\n", me);
    exit(2);
}

int main(int argc, char **argv) {
    int nconn = 64, inflight = 1, text = 0, offer = 0, send_compressed = 0, opt;
    size_t size = 64;
    double warm = 2, dur = 10;
    const char *spid = NULL, *path = "/";
    while ((opt = getopt(argc, argv, "c:s:w:d:n:tu:P:zZ")) != -1) {
        switch (opt) {
            case 'c': nconn = atoi(optarg); break;
            case 's': size = (size_t) atol(optarg); break;
            case 'w': warm = atof(optarg); break;
            case 'd': dur = atof(optarg); break;
            case 'n': inflight = atoi(optarg); break;
            case 't': text = 1; break;
            case 'u': path = optarg; break;
            case 'P': spid = optarg; break;
            case 'z': offer = 1; break;
            case 'Z': offer = 1; send_compressed = 1; break;
            default: usage(argv[0]);
        }
    }
    if (argc - optind != 2) usage(argv[0]);
    const char *host = argv[optind];
    int port = atoi(argv[optind + 1]);
    if (nconn <= 0 || inflight <= 0 || size == 0 || size > (16u << 20) || dur <= 0 || warm < 0) {
        fprintf(stderr, "ws_client: bad arguments\n");
        return 2;
    }
#ifndef HAVE_ZLIB
    if (send_compressed) {
        fprintf(stderr, "ws_client: -Z needs a build with zlib (gcc -DHAVE_ZLIB ... -lz)\n");
        return 2;
    }
#endif
    nv = inflight + 1 > NV_MIN ? inflight + 1 : NV_MIN;
    unsigned char *msg = malloc(size);   /* message 0, the one the first round trip checks */
    fill_words(msg, size, 12345);

    struct conn *cs = calloc((size_t) nconn, sizeof *cs);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short) port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "ws_client: bad IPv4 address %s\n", host);
        return 2;
    }
    unsigned char *rbuf = malloc(65536);
    for (int i = 0; i < nconn; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) die("connect");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int d = handshake(fd, host, port, path, offer);
        if (i == 0) {
            deflate_agreed = d;
            int compress = d && send_compressed;
            /* the nv frames, then the same again */
            unsigned char *frames = malloc((size + 64) * (size_t) nv + 64), *p = malloc(size);
            size_t total = 0;
            start = malloc(sizeof *start * (size_t) (2 * nv + 1));
            for (int k = 0; k < nv; k++) {
                fill_words(p, size, 12345u + 7919u * (uint32_t) k);
                start[k] = total;
#ifdef HAVE_ZLIB
                if (compress) {
                    size_t cn;
                    unsigned char *cmsg = deflate_message(p, size, &cn);
                    frames = realloc(frames, total + cn + 14 + (size + 64) * (size_t) (nv - k));
                    total += build_frame(frames + total, cmsg, cn, text, 1);
                    free(cmsg);
                    continue;
                }
#endif
                total += build_frame(frames + total, p, size, text, 0);
            }
            free(p);
            wire_out_total = total;
            rep = malloc(2 * total);
            memcpy(rep, frames, total);
            memcpy(rep + total, frames, total);
            free(frames);
            for (int k = 0; k < nv; k++) start[nv + k] = total + start[k];
            start[2 * nv] = 2 * total;
            (void) compress;
        } else if (d != deflate_agreed) {
            fail("%s", "the server agreed to permessage-deflate on some connections only");
        }
        /* One blocking round trip: the echo must be a whole final data frame of the right type and,
           when uncompressed, the same bytes. */
        if (write(fd, rep, start[1]) != (ssize_t) start[1]) die("first write");
        unsigned char h[10];
        if (read_full(fd, h, 2) < 0) fail("%s", "no echo on the first message");
        unsigned l7 = h[1] & 0x7f;
        size_t extra = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
        if (extra && read_full(fd, h + 2, extra) < 0) fail("%s", "short echo header");
        uint64_t len = l7;
        if (l7 == 126) len = ((uint64_t) h[2] << 8) | h[3];
        else if (l7 == 127) { len = 0; for (int k = 2; k < 10; k++) len = (len << 8) | h[k]; }
        if ((h[0] & 0x8f) != (0x80 | (text ? 1 : 2)) || (h[1] & 0x80)) fail("%s", "the echo is not an unmasked final frame of the type sent");
        unsigned char *echo = malloc(len ? len : 1);
        if (read_full(fd, echo, len) < 0) fail("%s", "short echo");
        if (!(h[0] & 0x40) && (len != size || memcmp(echo, msg, size) != 0)) fail("%s", "the echo differs from the message");
        if ((h[0] & 0x40) && !deflate_agreed) fail("%s", "compressed echo without permessage-deflate");
        free(echo);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        cs[i].fd = fd;
        cs[i].hneed = 2;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned) i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
        cs[i].fi = 1;
        cs[i].owed = inflight;
        flush_out(ep, &cs[i], i);
    }

    struct epoll_event evs[256];
    double start = now(), measure_from = start + warm, end = measure_from + dur;
    long long s0 = -1, c0 = -1, b0 = -1, su0 = 0, su1 = 0;
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            count = 0;
            wire_in = 0;
            s0 = spid ? proc_ticks_user(spid, &su0) : -1;
            c0 = proc_ticks("self");
            b0 = busy_ticks();
            measure_from = t;
        }
        if (t >= end) break;
        int n = epoll_wait(ep, evs, 256, 100);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int k = 0; k < n; k++) {
            int idx = (int) evs[k].data.u32;
            struct conn *c = &cs[idx];
            long msgs = 0;
            if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                for (;;) {
                    ssize_t r = read(c->fd, rbuf, 65536);
                    if (r > 0) {
                        wire_in += r;
                        msgs += parse(c, rbuf, (size_t) r);
                        if (r < 65536) break;
                        continue;
                    }
                    if (r == 0) fail("%s", "the server closed a connection");
                    if (errno == EAGAIN) break;
                    if (errno == EINTR) continue;
                    die("read");
                }
            }
            count += msgs;
            c->owed += msgs;
            if (c->owed > 0) flush_out(ep, c, idx);
        }
    }
    double secs = now() - measure_from;
    long hz = sysconf(_SC_CLK_TCK);
    long long s1 = spid ? proc_ticks_user(spid, &su1) : -1, c1 = proc_ticks("self"), b1 = busy_ticks();
    double scpu = (s0 >= 0 && s1 >= 0) ? (s1 - s0) * 100.0 / hz / secs : -1;
    /* the share of the server's CPU time spent in user space (the rest is the kernel's: syscalls, TCP) */
    double suser = (s0 >= 0 && s1 > s0) ? (su1 - su0) * 100.0 / (double) (s1 - s0) : -1;
    double ccpu = (c1 - c0) * 100.0 / hz / secs;
    double other = (b1 - b0) * 100.0 / hz / secs - ccpu - (scpu > 0 ? scpu : 0);
    if (other < 0) other = 0;
    double msgs = count / secs, mbs = msgs * (double) size / 1e6;
    const char *dfl = !offer ? "off" : deflate_agreed ? (send_compressed ? "agreed-both" : "agreed") : "refused";
    printf("ws_client %s:%d%s: %d connections x %d in flight, %zu B %s, deflate %s, %.1f s: %.0f msg/s, %.1f MB/s\n", host, port, path,
           nconn, inflight, size, text ? "text" : "binary", dfl, secs, msgs, mbs);
    printf("RESULT msgs_per_sec=%.0f mb_per_sec=%.2f server_cpu_pct=%.1f client_cpu_pct=%.1f other_cpu_pct=%.1f seconds=%.2f deflate=%s wire_in_bytes_per_msg=%.1f wire_out_bytes_per_msg=%.1f server_user_pct=%.1f\n",
           msgs, mbs, scpu, ccpu, other, secs, dfl, count ? (double) wire_in / (double) count : 0.0, (double) wire_out_total / nv, suser);
    return 0;
}
