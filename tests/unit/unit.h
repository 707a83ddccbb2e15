/* Shared helpers for dlrd's unit tests (Check). Everything here is static inline so that every test program
 * can include it without unused-function warnings. */
#pragma once

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/addr.h"
#include "state/config.h"

/* Runs one suite with Check's normal output and turns the result into an exit status. */
static inline int unit_run(Suite *s)
{
        SRunner *sr = srunner_create(s);
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Parses a prefix that the test knows to be valid. */
static inline IpPrefix unit_prefix(const char *s)
{
        IpPrefix p;

        ck_assert_msg(ip_prefix_parse(s, &p) == 0, "test prefix %s does not parse", s);
        return p;
}

/* Prints a prefix into a static buffer (tests are single-threaded). */
static inline const char *unit_str(const IpPrefix *p, bool with_len)
{
        static char buf[IP_PREFIX_MAX_STR];

        return ip_prefix_to_string(p, with_len, buf, sizeof buf);
}

/* Creates a router and adds it to c. */
static inline Router *unit_router(Config *c, const char *name, uint32_t table)
{
        Router *r = router_new(name, table, table);

        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(config_add_router(c, r), 0);
        return r;
}

/* Creates a LIF through lif_new_checked (which must accept it) and adds it to r. addrs is NULL-terminated.
 */
static inline Lif *unit_lif_v(Config *c, Router *r, const char *name, const char *kind, uint32_t segment,
        uint32_t mtu, char *const *addrs)
{
        const char *why = "unset";
        size_t n = 0;
        Lif *l = NULL;
        int k;

        while (addrs && addrs[n])
                n++;
        k = lif_new_checked(c, r, name, kind, segment, addrs, n, mtu, &l, &why);
        ck_assert_msg(k == 0, "LIF %s refused: %d (%s)", name, k, why ? why : "(null)");
        ck_assert_ptr_nonnull(l);
        ck_assert_int_eq(router_add_lif(r, l), 0);
        return l;
}

#define unit_lif(c, r, name, kind, segment, mtu, ...)                                                       \
        unit_lif_v((c), (r), (name), (kind), (segment), (mtu), (char *const[]){__VA_ARGS__, NULL})

/* Builds a route through route_build (which must accept it). Next hops are given as gateway, lif pairs. */
static inline Route unit_route_v(const Router *r, const char *prefix, size_t n, const char *const *pairs)
{
        NexthopSpec nh[DLR_NEXTHOPS_MAX + 1];
        const char *why = "unset";
        Route rt;
        int k;

        ck_assert_uint_le(n, DLR_NEXTHOPS_MAX + 1);
        for (size_t i = 0; i < n; i++) {
                nh[i].gateway = pairs[2 * i];
                nh[i].lif = pairs[2 * i + 1];
        }
        memset(&rt, 0, sizeof rt);
        k = route_build(r, prefix, nh, n, &rt, &why);
        ck_assert_msg(k == 0, "route %s refused: %d (%s)", prefix, k, why ? why : "(null)");
        return rt;
}

/* Builds a route and stores it in the router's table; it must be new. */
static inline Route *unit_add_route_v(
        Router *r, const char *prefix, size_t n, const char *const *pairs, uint64_t lamport, uint32_t host)
{
        Route rt = unit_route_v(r, prefix, n, pairs);
        IpPrefix p = rt.prefix;

        rt.stamp_lamport = lamport;
        rt.stamp_host = host;
        ck_assert_int_eq(route_table_put(&r->routes, &rt, NULL), 1);
        Route *got = route_table_get(&r->routes, &p);
        ck_assert_ptr_nonnull(got);
        return got;
}

#define UNIT_PAIRS(...) ((const char *const[]){__VA_ARGS__})
#define UNIT_NPAIRS(...) (sizeof(UNIT_PAIRS(__VA_ARGS__)) / sizeof(const char *) / 2)
/* unit_add_route(r, "10.0.0.0/8", lamport, host, "gw", "lif", ...); with no pairs use unit_add_route_v. */
#define unit_add_route(r, prefix, lamport, host, ...)                                                       \
        unit_add_route_v((r), (prefix), UNIT_NPAIRS(__VA_ARGS__), UNIT_PAIRS(__VA_ARGS__), (lamport), (host))
