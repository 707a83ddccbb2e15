/* Ownership helpers: libsystemd does not install systemd's macro.h, so dlrd keeps its own small set. */
#pragma once

#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Take ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                                                                           \
        ({                                                                                                    \
                __typeof__(p) _p_ = (p);                                                                      \
                (p) = NULL;                                                                                   \
                _p_;                                                                                          \
        })

#define TAKE_FD(fd)                                                                                           \
        ({                                                                                                    \
                int _fd_ = (fd);                                                                              \
                (fd) = -EBADF;                                                                                \
                _fd_;                                                                                         \
        })

/* "type" is a type name, which cannot be parenthesised. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                               \
        static inline void func##p(type *p)                                                                   \
        {                                                                                                     \
                if (*p)                                                                                       \
                        func(*p);                                                                             \
        }
// NOLINTEND(bugprone-macro-parentheses)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
