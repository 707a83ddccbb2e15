/* Small I/O helpers shared by the modules that write files. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* Writes all n bytes of p to fd, retrying short writes and EINTR: 0 or a negative errno. */
static inline int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}
