/* Counts a process's writes, for rpc-bench: loaded into each server with
 * LD_PRELOAD, it passes every write through to libc and adds it up in a
 * file the benchmark maps too (WRITE_COUNT_FILE), so the benchmark reads
 * the counts before and after a scenario without tracing the server.
 *
 * counters[0]: system calls that write to a socket
 * counters[1]: bytes those calls wrote
 * counters[2]: writes to anything else (mostly eventfd wake-ups) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static uint64_t unmapped[3];
static uint64_t *counters = unmapped;

__attribute__((constructor)) static void map_counters(void) {
    const char *path = getenv("WRITE_COUNT_FILE");
    if (path == NULL) return;
    int fd = open(path, O_RDWR);
    if (fd < 0) return;
    void *map = mmap(NULL, sizeof unmapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map != MAP_FAILED) counters = map;
}

static void to_socket(ssize_t written) {
    __atomic_fetch_add(&counters[0], 1, __ATOMIC_RELAXED);
    if (written > 0) __atomic_fetch_add(&counters[1], (uint64_t)written, __ATOMIC_RELAXED);
}

static void to_fd(int fd, ssize_t written) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
        to_socket(written);
    } else {
        __atomic_fetch_add(&counters[2], 1, __ATOMIC_RELAXED);
    }
}

#define REAL(name) static __typeof__(name) *real; \
    if (real == NULL) real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t send(int fd, const void *buf, size_t len, int flags) {
    REAL(send);
    ssize_t written = real(fd, buf, len, flags);
    to_socket(written);
    return written;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
               const struct sockaddr *to, socklen_t to_len) {
    REAL(sendto);
    ssize_t written = real(fd, buf, len, flags, to, to_len);
    to_socket(written);
    return written;
}

ssize_t sendmsg(int fd, const struct msghdr *message, int flags) {
    REAL(sendmsg);
    ssize_t written = real(fd, message, flags);
    to_socket(written);
    return written;
}

ssize_t write(int fd, const void *buf, size_t len) {
    REAL(write);
    ssize_t written = real(fd, buf, len);
    to_fd(fd, written);
    return written;
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    REAL(writev);
    ssize_t written = real(fd, iov, count);
    to_fd(fd, written);
    return written;
}
