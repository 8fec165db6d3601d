/*
 * pingpong_client.c: the echo load for the harness, in C so that the client costs far less CPU
 * than the server it measures (the Java PingPongClient costs about as much as the server, which
 * caps what an echo comparison can tell apart).
 *
 *   pingpong_client HOST PORT CONNECTIONS SIZE WARMUP_S DURATION_S [SERVER_PID]
 *
 * Each connection keeps one SIZE-byte message in flight: send it, read SIZE bytes back, send
 * again. After WARMUP_S seconds it counts for DURATION_S seconds and prints the same RESULT line
 * as PingPongClient: msgs/s, MB/s (10^6 bytes echoed per second), and the CPU use (% of one core)
 * of the server, of this client and of every other process over the measured window.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn { int fd; size_t sent, got; };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime+stime of a process in clock ticks, or -1 */
static long long proc_ticks(const char *pid) {
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
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return (long long) (ut + st);
}

/* busy ticks of all CPUs (everything but idle and iowait) */
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

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SIZE WARMUP_S DURATION_S [SERVER_PID]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]), nconn = atoi(argv[3]);
    size_t size = (size_t) atol(argv[4]);
    double warm = atof(argv[5]), dur = atof(argv[6]);
    const char *spid = argc > 7 ? argv[7] : NULL;
    if (nconn <= 0 || size == 0 || size > (1 << 20) || dur <= 0) {
        fprintf(stderr, "pingpong_client: bad arguments\n");
        return 2;
    }
    char *msg = malloc(size), *rbuf = malloc(65536);
    for (size_t i = 0; i < size; i++) msg[i] = (char) ('a' + i % 26);
    struct conn *cs = calloc((size_t) nconn, sizeof *cs);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short) port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "pingpong_client: bad IPv4 address %s\n", host);
        return 2;
    }
    for (int i = 0; i < nconn; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) die("connect");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        cs[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned) i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
        if (write(fd, msg, size) != (ssize_t) size) die("first write");
        cs[i].sent = size;
    }
    struct epoll_event evs[256];
    double start = now(), measure_from = start + warm, end = measure_from + dur;
    long long count = 0, s0 = -1, c0 = -1, b0 = -1;
    int measuring = 0;
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            count = 0;
            s0 = spid ? proc_ticks(spid) : -1;
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
            struct conn *c = &cs[evs[k].data.u32];
            for (;;) {
                ssize_t r = read(c->fd, rbuf, 65536);
                if (r > 0) {
                    c->got += (size_t) r;
                    continue;
                }
                if (r == 0) {
                    fprintf(stderr, "pingpong_client: server closed a connection\n");
                    return 1;
                }
                if (errno == EAGAIN) break;
                if (errno == EINTR) continue;
                die("read");
            }
            while (c->got >= size) { /* one whole echo back: count it and send the next message */
                c->got -= size;
                count++;
                ssize_t w = write(c->fd, msg, size);
                if (w != (ssize_t) size) {
                    fprintf(stderr, "pingpong_client: short write (%zd)\n", w);
                    return 1;
                }
            }
        }
    }
    double secs = now() - measure_from;
    long hz = sysconf(_SC_CLK_TCK);
    long long s1 = spid ? proc_ticks(spid) : -1, c1 = proc_ticks("self"), b1 = busy_ticks();
    double scpu = (s0 >= 0 && s1 >= 0) ? (s1 - s0) * 100.0 / hz / secs : -1;
    double ccpu = (c1 - c0) * 100.0 / hz / secs;
    double other = (b1 - b0) * 100.0 / hz / secs - ccpu - (scpu > 0 ? scpu : 0);
    if (other < 0) other = 0;
    double msgs = count / secs, mbs = msgs * (double) size / 1e6;
    printf("pingpong(c) %s:%d: %d connections, %zu B, %.1f s: %.0f msg/s, %.1f MB/s\n", host, port, nconn, size, secs, msgs, mbs);
    printf("RESULT msgs_per_sec=%.0f mb_per_sec=%.2f server_cpu_pct=%.1f client_cpu_pct=%.1f other_cpu_pct=%.1f seconds=%.2f\n",
           msgs, mbs, scpu, ccpu, other, secs);
    return 0;
}
