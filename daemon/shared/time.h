/* Monotonic time in microseconds, for timing log lines. */
#pragma once

#include <stdint.h>
#include <time.h>

static inline uint64_t now(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}
