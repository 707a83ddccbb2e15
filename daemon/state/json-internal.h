/* What json.c and json-rule.c share: the hand-rolled writer and json-c reading helpers. Static inline, so
 * that each file keeps them private and neither exports short generic names. */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "shared/cleanup.h"

/* Writing. */

typedef struct Buf {
        char *p;
        size_t len, cap;
        bool oom;
} Buf;

static inline void buf_reserve(Buf *b, size_t more)
{
        if (b->oom || b->len + more + 1 <= b->cap)
                return;
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + more + 1 > cap)
                cap *= 2;
        char *n = realloc(b->p, cap);
        if (!n) {
                b->oom = true;
                return;
        }
        b->p = n;
        b->cap = cap;
}

static inline void put(Buf *b, const char *s, size_t n)
{
        buf_reserve(b, n);
        if (b->oom)
                return;
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = 0;
}

#define PUTS(b, s) put(b, s, strlen(s))

static inline void putf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void putf(Buf *b, const char *fmt, ...)
{
        char tmp[128];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        if (n > 0)
                put(b, tmp, (size_t) MIN(n, (int) sizeof tmp - 1));
}

static inline void put_string(Buf *b, const char *s)
{
        put(b, "\"", 1);
        for (const char *c = s; *c; c++) {
                if (*c == '"' || *c == '\\')
                        putf(b, "\\%c", *c);
                else if ((unsigned char) *c < 0x20)
                        putf(b, "\\u%04x", (unsigned char) *c);
                else
                        put(b, c, 1);
        }
        put(b, "\"", 1);
}

static inline void put_stamp(Buf *b, const Config *c, uint64_t lamport, uint32_t host)
{
        putf(b, ",\"stamp\":[%" PRIu64 ",", lamport);
        put_string(b, host < c->n_hosts ? c->hosts[host] : "");
        put(b, "]", 1);
}

/* inet_ntop and snprintf dominate serialising a million routes; IPv4 is formatted by hand. */
static inline char *fmt_u8(char *o, unsigned v)
{
        if (v >= 100)
                *o++ = (char) ('0' + v / 100);
        if (v >= 10)
                *o++ = (char) ('0' + (v / 10) % 10);
        *o++ = (char) ('0' + v % 10);
        return o;
}

static inline void put_addr(Buf *b, int family, const uint8_t *a, int plen)
{
        char tmp[IP_PREFIX_MAX_STR], *o = tmp;

        if (family == AF_INET) {
                for (int i = 0; i < 4; i++) {
                        o = fmt_u8(o, a[i]);
                        *o++ = i < 3 ? '.' : 0;
                }
                o--;
        } else {
                IpPrefix p = { .family = AF_INET6, .plen = 128 };
                memcpy(p.addr, a, 16);
                ip_prefix_to_string(&p, false, tmp, sizeof tmp);
                o = tmp + strlen(tmp);
        }
        if (plen >= 0) {
                *o++ = '/';
                o = fmt_u8(o, (unsigned) plen);
        }
        put(b, tmp, (size_t) (o - tmp));
}

static inline int buf_finish(Buf *b, char **ret, size_t *ret_len)
{
        if (b->oom) {
                free(b->p);
                return -ENOMEM;
        }
        *ret = b->p;
        *ret_len = b->len;
        return 0;
}

/* Reading. */

#define ERR(code, ...)                                                                                        \
        do {                                                                                                  \
                snprintf(errbuf, errsize, __VA_ARGS__);                                                       \
                return (code);                                                                                \
        } while (0)

static inline bool keys_allowed(json_object *o, const char *const *allowed)
{
        json_object_object_foreach(o, key, val) {
                (void) val;
                bool ok = false;
                for (const char *const *a = allowed; *a; a++)
                        if (streq(*a, key))
                                ok = true;
                if (!ok)
                        return false;
        }
        return true;
}

static inline int get_u32(json_object *o, const char *key, bool required, uint32_t *ret)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v)) {
                if (required)
                        return -EINVAL;
                *ret = 0;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return -EINVAL;
        int64_t x = json_object_get_int64(v);
        if (x < 0 || x > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) x;
        return 0;
}

static inline const char *get_str(json_object *o, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* A counter (Lamport time, generation, a time in usec): an integer from 0 to DLR_COUNTER_MAX. json-c
 * saturates larger numbers at INT64_MAX or UINT64_MAX instead of failing, so the bound also refuses every
 * number that was too large to read. */
static inline int get_counter(json_object *v, uint64_t *ret)
{
        if (!json_object_is_type(v, json_type_int))
                return -EINVAL;
        int64_t x = json_object_get_int64(v);
        if (x < 0 || (uint64_t) x > DLR_COUNTER_MAX)
                return -EINVAL;
        *ret = (uint64_t) x;
        return 0;
}

static inline int get_stamp(Config *c, json_object *o, Stamp *ret)
{
        json_object *v;

        *ret = (Stamp) {};
        if (!json_object_object_get_ex(o, "stamp", &v))
                return 0;
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2)
                return -EINVAL;
        json_object *l = json_object_array_get_idx(v, 0), *h = json_object_array_get_idx(v, 1);
        uint64_t lamport;
        if (get_counter(l, &lamport) < 0 || !json_object_is_type(h, json_type_string))
                return -EINVAL;
        const char *host = json_object_get_string(h);
        if (host[0] && dlr_name_check(host) < 0)
                return -EINVAL;
        int idx = config_host_index(c, host);
        if (idx < 0)
                return idx;
        ret->lamport = lamport;
        ret->host = (uint32_t) idx;
        c->max_lamport = MAX(c->max_lamport, lamport);
        return 0;
}

/* json-rule.c: a router's rules and default action. stamps: the state and mirror forms, which carry the
 * stamps a merge needs; the canonical form leaves them out. */
void json_put_rule(Buf *b, const Config *c, const Rule *rule, bool stamps);
/* ,"rules":[...] and, when it is to be printed, ,"default_action":... */
void json_put_rules(Buf *b, const Config *c, const Router *r, bool stamps);
/* The value of "default_action" in the state and mirror forms: {"action":...,"stamp":[...]}. */
void json_put_default_action(Buf *b, const Config *c, const Router *r);
/* Reads a router object's "rules" and "default_action" into r. */
int json_parse_rules(Config *c, Router *r, json_object *o, ConfigParseFlags flags, char *errbuf, size_t errsize);
