/* Growing arrays: room for element n, the capacity doubling from a first size (at least). */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static inline int array_grow_impl(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
        size_t c;
        void *p;

        if (n < *cap)
                return 0;
        c = *cap > first ? *cap : first;
        while (c <= n) {
                if (c > SIZE_MAX / 2)
                        return -ENOMEM;
                c *= 2;
        }
        if (c > SIZE_MAX / size)
                return -ENOMEM;
        p = realloc(*v, c * size);
        if (!p)
                return -ENOMEM;
        *v = p;
        *cap = c;
        return 0;
}

/* Makes room for element n of array (capacity cap, both lvalues): 0, or -ENOMEM with both unchanged. */
#define ARRAY_GROW(array, cap, n, first)                                                                      \
        array_grow_impl((void **) &(array), &(cap), (n), sizeof(__typeof__(*(array))), (first))
