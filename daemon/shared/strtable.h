/* String tables for enums: one table per enum, lookup in both directions. */
#pragma once

#include <string.h>
#include <errno.h>

#define DEFINE_STRING_TABLE_LOOKUP(name, type, max)                                                           \
        const char *name##_to_string(type i)                                                                  \
        {                                                                                                     \
                if (i < 0 || i >= (type) (max))                                                               \
                        return NULL;                                                                          \
                return name##_table[i];                                                                       \
        }                                                                                                     \
        type name##_from_string(const char *s)                                                                \
        {                                                                                                     \
                if (!s)                                                                                       \
                        return (type) - EINVAL;                                                               \
                for (int i = 0; i < (int) (max); i++)                                                         \
                        if (name##_table[i] && strcmp(name##_table[i], s) == 0)                               \
                                return (type) i;                                                              \
                return (type) - EINVAL;                                                                       \
        }
