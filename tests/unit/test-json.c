/* Unit tests for daemon/state/json.[ch]: canonical serialisation, strict parsing with specific errors, round
 * trips and the configuration digest. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "shared/cleanup.h"
#include "state/config.h"
#include "state/json.h"
#include "unit.h"

/* The canonical document of sample_config(), without generation. */
static const char sample_json[] =
        "{\"version\":1,\"routers\":["
        "{\"name\":\"alpha\",\"table\":1000,\"stamp\":[3,\"hostB\"],\"lifs\":[],\"routes\":[],\"endpoints\":[],\"rules\":[]},"
        "{\"name\":\"blue\",\"table\":1001,\"stamp\":[5,\"hostA\"],\"lifs\":["
        "{\"name\":\"db\",\"kind\":\"vlan\",\"segment\":100,\"mtu\":9000,\"mac\":\"82:19:68:2e:89:26\","
        "\"addresses\":[\"10.0.2.1/24\"],\"stamp\":[7,\"hostB\"]},"
        "{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"mtu\":0,\"mac\":\"3a:e6:4e:4e:f2:55\","
        "\"addresses\":[\"10.0.0.1/24\",\"2001:db8:0:1::1/64\"],\"stamp\":[6,\"hostA\"]}],"
        "\"routes\":["
        "{\"prefix\":\"0.0.0.0/0\",\"nexthops\":[],\"stamp\":[10,\"hostA\"]},"
        "{\"prefix\":\"10.9.0.0/"
        "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"web\"}],\"stamp\":[8,\"hostB\"]},"
        "{\"prefix\":\"10.10.0.0/"
        "16\",\"nexthops\":[{\"gateway\":\"\",\"lif\":\"db\"}],\"stamp\":[11,\"hostA\"]},"
        "{\"prefix\":\"2001:db8:9::/48\",\"nexthops\":[{\"gateway\":\"2001:db8:0:1::fd\",\"lif\":\"web\"},"
        "{\"gateway\":\"2001:db8:0:1::fe\",\"lif\":\"web\"}],\"stamp\":[9,\"hostA\"]}"
        "],\"endpoints\":[],\"rules\":[]}],\"members\":[]}";

static Lif *add_lif_with_id(Config *c, Router *r, uint16_t id, const char *name, const char *kind,
        uint32_t seg, uint32_t mtu, char *const *addrs, Stamp st)
{
        const char *why = NULL;
        size_t n = 0;
        Lif *l = NULL;

        while (addrs && addrs[n])
                n++;
        ck_assert_int_eq(lif_new_checked(c, r, name, kind, seg, addrs, n, mtu, &l, &why), 0);
        l->id = id;
        l->stamp = st;
        ck_assert_int_eq(router_add_lif(r, l), 0);
        return l;
}

/* Builds the same configuration in one of two insertion orders (routers, LIFs, routes and host interning).
 */
static Config *sample_config(bool reversed)
{
        Config *c = config_new();
        Router *blue, *alpha;
        int hA, hB;

        ck_assert_ptr_nonnull(c);
        if (!reversed) {
                hA = config_host_index(c, "hostA");
                hB = config_host_index(c, "hostB");
                blue = unit_router(c, "blue", 1001);
                alpha = unit_router(c, "alpha", 1000);
        } else {
                hB = config_host_index(c, "hostB");
                hA = config_host_index(c, "hostA");
                alpha = unit_router(c, "alpha", 1000);
                blue = unit_router(c, "blue", 1001);
        }
        ck_assert_int_ge(hA, 0);
        ck_assert_int_ge(hB, 0);
        blue->stamp = (Stamp){5, (uint32_t)hA};
        alpha->stamp = (Stamp){3, (uint32_t)hB};

        char *web_addrs[] = {(char *)"10.0.0.1/24", (char *)"2001:db8:0:1::1/64", NULL};
        char *db_addrs[] = {(char *)"10.0.2.1/24", NULL};
        if (!reversed) {
                add_lif_with_id(c, blue, 1, "web", "vxlan", 5000, 0, web_addrs, (Stamp){6, (uint32_t)hA});
                add_lif_with_id(c, blue, 2, "db", "vlan", 100, 9000, db_addrs, (Stamp){7, (uint32_t)hB});
        } else {
                add_lif_with_id(c, blue, 2, "db", "vlan", 100, 9000, db_addrs, (Stamp){7, (uint32_t)hB});
                add_lif_with_id(c, blue, 1, "web", "vxlan", 5000, 0, web_addrs, (Stamp){6, (uint32_t)hA});
        }

        if (!reversed) {
                unit_add_route(blue, "2001:db8:9::/48", 9, (uint32_t)hA, "2001:db8:0:1::fe", "web",
                        "2001:db8:0:1::fd", "web");
                unit_add_route(blue, "10.9.0.0/16", 8, (uint32_t)hB, "10.0.0.254", "web");
                unit_add_route_v(blue, "0.0.0.0/0", 0, NULL, 10, (uint32_t)hA);
                unit_add_route(blue, "10.10.0.0/16", 11, (uint32_t)hA, "", "db");
        } else {
                unit_add_route(blue, "10.10.0.0/16", 11, (uint32_t)hA, "", "db");
                unit_add_route_v(blue, "0.0.0.0/0", 0, NULL, 10, (uint32_t)hA);
                unit_add_route(blue, "10.9.0.0/16", 8, (uint32_t)hB, "10.0.0.254", "web");
                unit_add_route(blue, "2001:db8:9::/48", 9, (uint32_t)hA, "2001:db8:0:1::fd", "web",
                        "2001:db8:0:1::fe", "web");
        }
        c->generation = 42;
        c->lamport = 11;
        return c;
}

static char *to_json_s(const Config *c, bool with_generation)
{
        char *s = NULL;
        size_t len = 0;

        ck_assert_int_eq(config_to_json(c, with_generation, &s, &len), 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(len, strlen(s));
        return s;
}

/* Parses s, which must be accepted. */
static Config *from_json_s(const char *s)
{
        char err[512] = "";
        Config *c = NULL;
        int k = config_from_json(s, strlen(s), &c, err, sizeof err);

        ck_assert_msg(k == 0, "refused (%d): %s", k, err);
        ck_assert_ptr_nonnull(c);
        return c;
}

/* Parses s and returns the code (freeing the configuration if it was accepted); err gets the error text. */
static int parse_code(const char *s, char *err, size_t errsize)
{
        Config *c = NULL;
        int k;

        err[0] = 0;
        k = config_from_json(s, strlen(s), &c, err, errsize);
        if (k == 0)
                config_free(c);
        else
                ck_assert_ptr_null(c);
        return k;
}

/* s must be refused with code and an explanation, which is left in e (a char array). */
#define REFUSE_E(code, s, e)                                                                                \
        do {                                                                                                \
                const char *_s = (s);                                                                       \
                int _k = parse_code(_s, (e), sizeof(e));                                                    \
                ck_assert_msg(_k == (code), "%s\n  gave %d (%s), want %d", _s, _k, (e), (code));            \
                ck_assert_msg((e)[0] != 0, "no error text for %s", _s);                                     \
        } while (0)

#define REFUSE(code, s)                                                                                     \
        do {                                                                                                \
                char _e[512];                                                                               \
                REFUSE_E(code, s, _e);                                                                      \
        } while (0)

/* A one-router document with given LIFs and routes (JSON fragments). */
#define DOC(lifs, routes)                                                                                   \
        "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"lifs\":[" lifs                     \
        "],\"routes\":[" routes "]}]}"
#define WEB "{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"addresses\":[\"10.0.0.1/24\"]}"

/* ---- writing ---- */

START_TEST(test_to_json_canonical)
{
        _cleanup_(config_freep) Config *c = sample_config(false);
        _cleanup_free_ char *s = to_json_s(c, false);

        ck_assert_str_eq(s, sample_json);
}
END_TEST

START_TEST(test_to_json_generation)
{
        _cleanup_(config_freep) Config *c = sample_config(false);
        _cleanup_free_ char *s = to_json_s(c, true);
        static const char head[] = "{\"version\":1,\"generation\":42,\"lamport\":11,\"routers\":[";

        ck_assert_int_eq(strncmp(s, head, strlen(head)), 0);
        /* The rest is exactly the document without generation. */
        ck_assert_str_eq(s + strlen(head), sample_json + strlen("{\"version\":1,\"routers\":["));

        _cleanup_(config_freep) Config *e = config_new();
        _cleanup_free_ char *a = to_json_s(e, false), *b = to_json_s(e, true);
        ck_assert_str_eq(a, "{\"version\":1,\"routers\":[],\"members\":[]}");
        ck_assert_str_eq(b, "{\"version\":1,\"generation\":0,\"lamport\":0,\"routers\":[],\"members\":[]}");
}
END_TEST

START_TEST(test_to_json_address_formatting)
{
        /* Every IPv4 octet value and every length, in prefixes and gateways, prints like inet_ntop. */
        _cleanup_(config_freep) Config *c = config_new();
        Router *r = unit_router(c, "r", 1000);
        char pfx[64], gw[64], want[256];

        for (unsigned v = 0; v < 256; v++) {
                unsigned plen = v % 33;
                IpPrefix p = {.family = AF_INET,
                        .plen = (uint8_t)plen,
                        .addr = {(uint8_t)v, (uint8_t)(255 - v), (uint8_t)(v * 7), (uint8_t)(v * 13)}};
                ip_prefix_mask(&p);
                ip_prefix_to_string(&p, true, pfx, sizeof pfx);
                snprintf(gw, sizeof gw, "10.%u.%u.%u", v, 255 - v, ((v * 3) & 255) | 1);
                if (route_table_get(&r->routes, &p))
                        continue;
                unit_add_route(r, pfx, v, 0, gw, "");
        }
        unit_add_route(r, "::ffff:10.0.0.0/104", 1, 0, "2001:db8::9", "");
        unit_add_route(r, "2001:db8:0:1::/64", 1, 0, "2001:db8::a:0:0:1", "");

        _cleanup_free_ char *s = to_json_s(c, false);
        for (unsigned v = 0; v < 256; v++) {
                unsigned plen = v % 33;
                IpPrefix p = {.family = AF_INET,
                        .plen = (uint8_t)plen,
                        .addr = {(uint8_t)v, (uint8_t)(255 - v), (uint8_t)(v * 7), (uint8_t)(v * 13)}};
                ip_prefix_mask(&p);
                Route *rt = route_table_get(&r->routes, &p);
                ck_assert_ptr_nonnull(rt);
                if (rt->stamp_lamport != v)
                        continue; /* an earlier v had the same masked prefix */
                ip_prefix_to_string(&p, true, pfx, sizeof pfx);
                snprintf(want, sizeof want,
                        "{\"prefix\":\"%s\",\"nexthops\":[{\"gateway\":\"10.%u.%u.%u\",\"lif\":\"\"}]", pfx,
                        v, 255 - v, ((v * 3) & 255) | 1);
                ck_assert_msg(strstr(s, want) != NULL, "%s not in output", want);
        }
        ck_assert_ptr_nonnull(
                strstr(s, "{\"prefix\":\"::ffff:10.0.0.0/104\",\"nexthops\":[{\"gateway\":\"2001:db8::9\""));
        ck_assert_ptr_nonnull(strstr(
                s, "{\"prefix\":\"2001:db8:0:1::/64\",\"nexthops\":[{\"gateway\":\"2001:db8::a:0:0:1\""));

        /* And all of it reads back to the same document. */
        _cleanup_(config_freep) Config *d = from_json_s(s);
        _cleanup_free_ char *s2 = to_json_s(d, false);
        ck_assert_str_eq(s, s2);
}
END_TEST

START_TEST(test_to_json_sorted)
{
        /* Many routers, LIFs and routes inserted in scrambled order come out strictly sorted: routers and
         * LIFs by name, routes by family, address, then length. */
        _cleanup_(config_freep) Config *c = config_new();
        char name[32], pfx[64];

        for (unsigned i = 0; i < 20; i++) {
                snprintf(name, sizeof name, "r%02u", (i * 7) % 20);
                Router *r = unit_router(c, name, 1000 + i);
                for (unsigned j = 0; j < 5; j++) {
                        snprintf(name, sizeof name, "l%u", (j * 3) % 5);
                        unit_lif_v(c, r, name, "vlan", 1 + i * 5 + j, 0, NULL);
                }
                if (i != 3)
                        continue;
                for (unsigned k = 0; k < 300; k++) {
                        unsigned x = (k * 97) % 300;
                        if (x % 3 == 0)
                                snprintf(pfx, sizeof pfx, "2001:db8:%x::/48", x);
                        else
                                snprintf(pfx, sizeof pfx, "10.%u.%u.0/%u", x % 256, x / 256, 24 - x % 5);
                        IpPrefix p = unit_prefix(pfx);
                        ip_prefix_mask(&p);
                        if (route_table_get(&r->routes, &p))
                                continue;
                        unit_add_route_v(r, unit_str(&p, true), 0, NULL, k, 0);
                }
        }
        _cleanup_free_ char *s = to_json_s(c, false);

        /* Router and LIF names in output order. */
        char prev_router[32] = "", prev_lif[32] = "";
        unsigned routers = 0, lifs = 0, routes = 0;
        for (const char *q = s; (q = strstr(q, "{\"name\":\"")); q++) {
                const char *v = q + strlen("{\"name\":\"");
                size_t n = strcspn(v, "\"");
                ck_assert_uint_lt(n, sizeof name);
                memcpy(name, v, n);
                name[n] = 0;
                if (name[0] == 'r') {
                        ck_assert_msg(
                                strcmp(prev_router, name) < 0, "router %s after %s", name, prev_router);
                        strcpy(prev_router, name);
                        prev_lif[0] = 0;
                        routers++;
                } else {
                        ck_assert_msg(strcmp(prev_lif, name) < 0, "LIF %s after %s", name, prev_lif);
                        strcpy(prev_lif, name);
                        lifs++;
                }
        }
        ck_assert_uint_eq(routers, 20);
        ck_assert_uint_eq(lifs, 100);

        IpPrefix prev = {0};
        for (const char *q = s; (q = strstr(q, "\"prefix\":\"")); q++) {
                const char *v = q + strlen("\"prefix\":\"");
                size_t n = strcspn(v, "\"");
                ck_assert_uint_lt(n, sizeof pfx);
                memcpy(pfx, v, n);
                pfx[n] = 0;
                IpPrefix p = unit_prefix(pfx);
                if (routes > 0)
                        ck_assert_msg(ip_prefix_compare(&prev, &p) < 0, "route %s after %s", pfx,
                                unit_str(&prev, true));
                prev = p;
                routes++;
        }
        ck_assert_uint_gt(routes, 250);
}
END_TEST

/* ---- round trips ---- */

START_TEST(test_round_trip)
{
        _cleanup_(config_freep) Config *c = sample_config(false), *d = NULL, *e = NULL;
        _cleanup_free_ char *g1 = to_json_s(c, true), *g2 = NULL, *n1 = to_json_s(c, false), *n2 = NULL;

        d = from_json_s(g1);
        g2 = to_json_s(d, true);
        ck_assert_str_eq(g1, g2);
        n2 = to_json_s(d, false);
        ck_assert_str_eq(n1, n2);
        ck_assert_uint_eq(d->generation, 42);
        ck_assert_uint_eq(d->lamport, 11);

        /* The parsed configuration holds the same objects, not just the same text. */
        Router *r = config_find_router(d, "blue");
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(r->table, 1001);
        Lif *web = router_find_lif(r, "web");
        ck_assert_uint_ne(web->id, 0); /* ids are host-local: Export leaves them out, the reader assigns */
        ck_assert_uint_eq(web->mtu, 1450);
        ck_assert_mem_eq(web->mac, router_find_lif(config_find_router(c, "blue"), "web")->mac, 6);
        IpPrefix p = unit_prefix("2001:db8:9::/48");
        /* Next hops name LIFs by id, which may differ: the canonical text above compares them by name. */
        ck_assert_uint_eq(route_table_get(&r->routes, &p)->n_nexthops, 2);

        /* Without generation, the counters read back as 0 but nothing else changes. */
        e = from_json_s(n1);
        ck_assert_uint_eq(e->generation, 0);
        ck_assert_uint_eq(e->lamport, 0);
        _cleanup_free_ char *n3 = to_json_s(e, false);
        ck_assert_str_eq(n1, n3);
}
END_TEST

START_TEST(test_from_json_lenient_input_canonical_output)
{
        /* Whitespace, any order, no ids, stamps, MACs or tables: the output is canonical and a fixed point.
         */
        static const char in[] =
                "{ \"routers\": [\n"
                "  { \"name\": \"zeta\", \"routes\": [], \"lifs\": [] },\n"
                "  { \"routes\": [ { \"nexthops\": [ { \"lif\": \"b\", \"gateway\": \"10.1.0.254\" },\n"
                "                                    { \"gateway\": \"10.0.0.254\" } ],\n"
                "                    \"prefix\": \"10.9.0.0/16\" } ],\n"
                "    \"lifs\": [ { \"kind\": \"vlan\", \"segment\": 7, \"name\": \"b\", \"addresses\": "
                "[\"10.1.0.1/24\"] },\n"
                "               { \"name\": \"a\", \"kind\": \"vxlan\", \"segment\": 70, \"mtu\": 1500,\n"
                "                 \"addresses\": [\"2001:DB8::1/64\", \"10.0.0.1/24\"] } ],\n"
                "    \"table\": 1000, \"name\": \"mid\" }\n"
                "], \"version\": 1 }\n";
        char mac_a[18], mac_b[18], want[2048];
        uint8_t m[6];

        lif_derive_mac("mid", "a", m);
        snprintf(mac_a, sizeof mac_a, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        lif_derive_mac("mid", "b", m);
        snprintf(mac_b, sizeof mac_b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        snprintf(want, sizeof want,
                "{\"version\":1,\"routers\":["
                "{\"name\":\"mid\",\"table\":1000,\"stamp\":[0,\"\"],\"lifs\":["
                "{\"name\":\"a\",\"kind\":\"vxlan\",\"segment\":70,\"mtu\":1500,\"mac\":\"%s\","
                "\"addresses\":[\"2001:db8::1/64\",\"10.0.0.1/24\"],\"stamp\":[0,\"\"]},"
                "{\"name\":\"b\",\"kind\":\"vlan\",\"segment\":7,\"mtu\":0,\"mac\":\"%s\","
                "\"addresses\":[\"10.1.0.1/24\"],\"stamp\":[0,\"\"]}],"
                "\"routes\":[{\"prefix\":\"10.9.0.0/"
                "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"\"},"
                "{\"gateway\":\"10.1.0.254\",\"lif\":\"b\"}],\"stamp\":[0,\"\"]}],\"endpoints\":[],\"rules\":[]},"
                "{\"name\":\"zeta\",\"table\":1001,\"stamp\":[0,\"\"],\"lifs\":[],\"routes\":[],\"endpoints\":[],\"rules\":[]}],"
                "\"members\":[]}",
                mac_a, mac_b);

        _cleanup_(config_freep) Config *c = from_json_s(in), *d = NULL;
        _cleanup_free_ char *s1 = to_json_s(c, false), *s2 = NULL;
        ck_assert_str_eq(s1, want);
        d = from_json_s(s1);
        s2 = to_json_s(d, false);
        ck_assert_str_eq(s1, s2);
}
END_TEST

START_TEST(test_to_state)
{
        _cleanup_(config_freep) Config *c = sample_config(true), *d = NULL;
        _cleanup_free_ char *st = NULL, *want = to_json_s(c, true), *got = NULL;
        size_t len = 0;

        ck_assert_int_eq(config_to_state(c, &st, &len), 0);
        ck_assert_uint_eq(len, strlen(st));
        /* The same document in another order, plus LIF ids and the (here empty) ports and tombstones. */
        ck_assert_uint_eq(len, strlen(want) + strlen(",\"ports\":[],\"tombstones\":[]") + 2 * strlen(",\"id\":1"));
        static const char head[] = "{\"version\":1,\"generation\":42,\"lamport\":11,\"routers\":[";
        ck_assert_int_eq(strncmp(st, head, strlen(head)), 0);
        char err[256];
        ck_assert_int_eq(config_from_json_ex(st, len, CONFIG_PARSE_STATE, &d, err, sizeof err), 0);
        got = to_json_s(d, true);
        ck_assert_str_eq(got, want);
        /* The saved state keeps this host's LIF ids. */
        ck_assert_uint_eq(router_find_lif(config_find_router(d, "blue"), "web")->id,
                router_find_lif(config_find_router(c, "blue"), "web")->id);
        ck_assert_uint_eq(router_find_lif(config_find_router(d, "blue"), "db")->id,
                router_find_lif(config_find_router(c, "blue"), "db")->id);
}
END_TEST

/* ---- strict reading ---- */

START_TEST(test_from_json_unknown_keys)
{
        char e[512];

        REFUSE_E(-EINVAL, "{\"version\":1,\"routers\":[],\"extra\":1}", e);
        ck_assert_str_eq(e, "the configuration must be an object with \"version\" and \"routers\"");
        REFUSE_E(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"colour\":\"blue\"}]}", e);
        ck_assert_str_eq(e, "a router must be an object with known keys");
        REFUSE_E(-EINVAL, DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"vni\":5000}", ""), e);
        ck_assert_str_eq(e, "router blue: a LIF must be an object with known keys");
        REFUSE_E(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[],\"metric\":5}"), e);
        ck_assert_ptr_nonnull(strstr(e, "router blue"));
        REFUSE_E(-EINVAL,
                DOC(WEB, "{\"prefix\":\"10.9.0.0/"
                         "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"weight\":1}]}"),
                e);
        ck_assert_str_eq(e, "router blue route 10.9.0.0/16: bad next hop");
        /* Keys are case-sensitive. */
        REFUSE(-EINVAL, "{\"Version\":1,\"routers\":[]}");
}
END_TEST

START_TEST(test_from_json_version)
{
        char e[512];

        REFUSE_E(-EINVAL, "{\"version\":2,\"routers\":[]}", e);
        ck_assert_str_eq(e, "unsupported configuration version (expected 1)");
        /* Left out, the version is 1: hand-written documents need not carry it. */
        {
                Config *c = NULL;
                const char *doc = "{\"routers\":[{\"name\":\"a\",\"table\":1000}]}";
                ck_assert_int_eq(config_from_json(doc, strlen(doc), &c, e, sizeof e), 0);
                ck_assert_uint_eq(c->n_routers, 1);
                config_free(c);
        }
        REFUSE(-EINVAL, "{\"version\":0,\"routers\":[]}");
        REFUSE(-EINVAL, "{\"version\":-1,\"routers\":[]}");
        REFUSE(-EINVAL, "{\"version\":\"1\",\"routers\":[]}");
        REFUSE(-EINVAL, "{\"version\":1.0,\"routers\":[]}");
        REFUSE(-EINVAL, "{\"version\":true,\"routers\":[]}");
        REFUSE(-EINVAL, "{\"version\":null,\"routers\":[]}");
        REFUSE(-EINVAL, "{\"version\":4294967297,\"routers\":[]}");
        /* routers is required and a list. */
        REFUSE(-EINVAL, "{\"version\":1}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":{}}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":null}");
}
END_TEST

START_TEST(test_from_json_syntax)
{
        static const char *const bad[] = {
                "",
                "{",
                "[]",
                "null",
                "1",
                "\"version\"",
                "{\"version\":1,\"routers\":[]}x",
                "{\"version\":1,\"routers\":[]}{}",
                "{\"version\":1,\"routers\":[],}",
                "{\"version\":1,\"routers\":[{\"name\":\"a\"},]}",
                "{\"version\":1,\"routers\":[{\"name\":'a'}]}",
                "{\"version\":1,\"routers\":[{\"name\":\"a\",\"table\":TRUE}]}",
                "{\"version\":1,\"routers\":[]", /* truncated */
                "{\"version\":01,\"routers\":[]}",
                "{version:1,routers:[]}",
        };
        char e[512];

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                REFUSE_E(-EINVAL, bad[i], e);

        /* An embedded NUL inside the given length is not the end of the document. */
        static const char nul[] = "{\"version\":1,\"routers\":[]}\0garbage";
        Config *c = NULL;
        ck_assert_int_eq(config_from_json(nul, sizeof nul - 1, &c, e, sizeof e), -EINVAL);
        ck_assert_ptr_null(c);
        /* A shorter length than the text cuts the document. */
        ck_assert_int_eq(config_from_json(nul, 10, &c, e, sizeof e), -EINVAL);

        /* Errors are cut to errsize and terminated. */
        char small[8];
        memset(small, 'x', sizeof small);
        ck_assert_int_eq(
                config_from_json("{\"version\":2,\"routers\":[]}", 26, &c, small, sizeof small), -EINVAL);
        ck_assert_uint_eq(strlen(small), 7);
        ck_assert_str_eq(small, "unsuppo");
}
END_TEST

START_TEST(test_from_json_bad_values)
{
        char e[512];

        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"bad/name\"}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"\"}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"table\":1000}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[\"blue\"]}");
        REFUSE_E(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":254}]}", e);
        ck_assert_str_eq(e, "router blue: bad \"table\"");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":-5}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":\"1000\"}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":4294967296}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"lifs\":{}}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"stamp\":[1]}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"stamp\":[-1,\"h\"]}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"stamp\":[1.5,\"h\"]}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"stamp\":[1,\"bad host\"]}]}");
        REFUSE(-EINVAL, "{\"version\":1,\"generation\":-1,\"routers\":[]}");
        REFUSE(-EINVAL, "{\"version\":1,\"lamport\":\"3\",\"routers\":[]}");

        /* LIFs: everything lif_new_checked refuses, and the JSON-level checks. */
        REFUSE_E(-EINVAL, DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":0}", ""), e);
        ck_assert_str_eq(e, "router blue LIF web: invalid VNI: expected 1-16777215");
        REFUSE(-EINVAL, DOC("{\"name\":\"web\",\"kind\":\"vxlan\"}", ""));
        REFUSE(-EINVAL, DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":\"5000\"}", ""));
        REFUSE(-EINVAL, DOC("{\"name\":\"web\",\"kind\":\"gre\",\"segment\":5000}", ""));
        REFUSE(-EINVAL, DOC("{\"kind\":\"vxlan\",\"segment\":5000}", ""));
        REFUSE(-EINVAL, DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"mtu\":100}", ""));
        REFUSE(-EINVAL, DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"id\":65536}", ""));
        REFUSE(-EINVAL,
                DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"addresses\":\"10.0.0.1/24\"}",
                        ""));
        REFUSE(-EINVAL, DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"addresses\":[5]}", ""));
        REFUSE(-EINVAL,
                DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"addresses\":[\"10.0.0.1/33\"]}",
                        ""));
        REFUSE(-EINVAL,
                DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"addresses\":[\"10.0.0.0/24\"]}",
                        ""));
        REFUSE(-EINVAL,
                DOC("{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"addresses\":["
                    "\"10.0.0.1/32\",\"10.0.1.1/32\",\"10.0.2.1/32\",\"10.0.3.1/32\",\"10.0.4.1/32\","
                    "\"10.0.5.1/32\",\"10.0.6.1/32\",\"10.0.7.1/32\",\"10.0.8.1/32\",\"10.0.9.1/32\","
                    "\"10.0.10.1/32\",\"10.0.11.1/32\",\"10.0.12.1/32\",\"10.0.13.1/32\",\"10.0.14.1/32\","
                    "\"10.0.15.1/32\",\"10.0.16.1/32\"]}",
                        ""));

        /* Routes. */
        REFUSE_E(-EINVAL,
                DOC(WEB, "{\"prefix\":\"10.9.1.0/"
                         "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"web\"}]}"),
                e);
        ck_assert_str_eq(e, "router blue route 10.9.1.0/16: invalid route prefix: host bits are set");
        REFUSE(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/16\"}"));
        REFUSE(-EINVAL, DOC(WEB, "{\"nexthops\":[]}"));
        REFUSE(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":{}}"));
        REFUSE(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[{}]}"));
        REFUSE(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[\"10.0.0.254\"]}"));
        REFUSE(-EINVAL,
                DOC(WEB, "{\"prefix\":\"2001:db8:9::/48\",\"nexthops\":[{\"gateway\":\"fe80::1\"}]}"));
        REFUSE(-EINVAL,
                DOC(WEB, "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[{\"gateway\":\"::ffff:10.0.0.254\"}]}"));
        REFUSE(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/"
                                 "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\"}],\"stamp\":5}"));
}
END_TEST

START_TEST(test_from_json_wrong_types_in_nexthops)
{
        /* Strict: a next hop whose "gateway" or "lif" is not a string is malformed. Silently reading it as
         * "" would turn {"gateway":167772414,"lif":"web"} into a LIF-only route. */
        REFUSE(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/"
                                 "16\",\"nexthops\":[{\"gateway\":167772414,\"lif\":\"web\"}]}"));
        REFUSE(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/"
                                 "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":1}]}"));
        REFUSE(-EINVAL, DOC(WEB, "{\"prefix\":\"10.9.0.0/"
                                 "16\",\"nexthops\":[{\"gateway\":[\"10.0.0.254\"],\"lif\":\"web\"}]}"));
}
END_TEST

START_TEST(test_from_json_duplicates)
{
        char e[512];

        REFUSE_E(-EEXIST,
                "{\"version\":1,\"routers\":[{\"name\":\"blue\"},{\"name\":\"blue\",\"table\":1005}]}", e);
        ck_assert_str_eq(e, "router blue: defined twice");
        REFUSE_E(-EEXIST, DOC(WEB ",{\"name\":\"web\",\"kind\":\"vlan\",\"segment\":5}", ""), e);
        ck_assert_str_eq(e, "router blue LIF web: a LIF of this name already exists in this router");
        REFUSE_E(-EINVAL,
                DOC(WEB, "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\"}]},"
                         "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[{\"gateway\":\"10.0.0.253\"}]}"),
                e);
        ck_assert_str_eq(e, "router blue route 10.9.0.0/16: duplicate prefix");
        REFUSE_E(-EINVAL,
                DOC("{\"name\":\"a\",\"kind\":\"vxlan\",\"segment\":1,\"id\":3},"
                    "{\"name\":\"b\",\"kind\":\"vxlan\",\"segment\":2,\"id\":3}",
                        ""),
                e);
        ck_assert_str_eq(e, "router blue LIF b: duplicate \"id\"");
        REFUSE_E(-EINVAL,
                DOC(WEB, "{\"prefix\":\"10.9.0.0/"
                         "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"web\"},"
                         "{\"lif\":\"web\",\"gateway\":\"10.0.0.254\"}]}"),
                e);
        ck_assert_str_eq(e, "router blue route 10.9.0.0/16: duplicate next hop");
        /* The same prefix in two routers is fine. */
        Config *c =
                from_json_s("{\"version\":1,\"routers\":["
                            "{\"name\":\"a\",\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"nexthops\":[]}]},"
                            "{\"name\":\"b\",\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"nexthops\":[]}]}]}");
        config_free(c);
}
END_TEST

START_TEST(test_from_json_duplicate_keys)
{
        /* Strict: a key given twice in one object is ambiguous. json-c keeps the last one, which here would
         * silently drop router "a" (or rename a router) instead of refusing the document. */
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"a\",\"table\":1000}],\"routers\":[]}");
        REFUSE(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"a\",\"name\":\"b\"}]}");
        REFUSE(-EINVAL, "{\"version\":2,\"version\":1,\"routers\":[]}");
}
END_TEST

START_TEST(test_from_json_implicit_lif_id_before_explicit)
{
        /* Explicit LIF ids are part of the document (routes of other hosts refer to them); a LIF without one
         * gets a free id. Which comes first in the list must not matter, just as for tables: an exported
         * document with a new LIF "api" (no id) added in sorted position before "web" (id 1) is valid. */
        static const char doc[] = DOC("{\"name\":\"api\",\"kind\":\"vxlan\",\"segment\":5001},"
                                      "{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"id\":1}",
                "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[{\"lif\":\"web\"}]}");
        char e[512];

        ck_assert_msg(parse_code(doc, e, sizeof e) == 0, "refused: %s", e);
        _cleanup_(config_freep) Config *c = from_json_s(doc);
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(router_find_lif(r, "web")->id, 1);
        ck_assert_uint_ne(router_find_lif(r, "api")->id, 0);
        ck_assert_uint_ne(router_find_lif(r, "api")->id, 1);
}
END_TEST

START_TEST(test_from_json_conflicts)
{
        char e[512];

        REFUSE_E(-EADDRINUSE,
                "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001},{\"name\":\"red\",\"table\":"
                "1001}]}",
                e);
        ck_assert_str_eq(e, "router red: table 1001 is used by another router");
        REFUSE_E(-EADDRINUSE,
                "{\"version\":1,\"routers\":["
                "{\"name\":\"blue\",\"lifs\":[{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000}]},"
                "{\"name\":\"red\",\"lifs\":[{\"name\":\"x\",\"kind\":\"vxlan\",\"segment\":5000}]}]}",
                e);
        ck_assert_str_eq(e, "router red LIF x: this VNI is already used by another LIF");
        REFUSE_E(-EADDRINUSE,
                DOC(WEB ",{\"name\":\"w2\",\"kind\":\"vxlan\",\"segment\":5005,\"addresses\":[\"10.0.0.5/"
                        "25\"]}",
                        ""),
                e);
        ck_assert_str_eq(e, "router blue LIF w2: a gateway subnet overlaps another LIF of this router");
        REFUSE_E(-ENOENT,
                DOC(WEB, "{\"prefix\":\"10.9.0.0/"
                         "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"nosuch\"}]}"),
                e);
        ck_assert_str_eq(e, "router blue route 10.9.0.0/16: next-hop LIF not found in this router");
        /* A route cannot use another router's LIF. */
        REFUSE(-ENOENT, "{\"version\":1,\"routers\":["
                        "{\"name\":\"blue\",\"lifs\":[" WEB "]},"
                        "{\"name\":\"red\",\"routes\":[{\"prefix\":\"10.9.0.0/"
                        "16\",\"nexthops\":[{\"lif\":\"web\"}]}]}]}");
}
END_TEST

START_TEST(test_from_json_table_allocation)
{
        /* Routers asking for table 0 get the lowest free ids, never one another router names explicitly. */
        _cleanup_(config_freep) Config *c =
                from_json_s("{\"version\":1,\"routers\":[{\"name\":\"a\"},{\"name\":\"b\",\"table\":1000},{"
                            "\"name\":\"c\",\"table\":0},"
                            "{\"name\":\"d\",\"table\":1002},{\"name\":\"e\",\"table\":7}]}");

        ck_assert_uint_eq(config_find_router(c, "a")->table, 1001);
        ck_assert_uint_eq(config_find_router(c, "b")->table, 1000);
        ck_assert_uint_eq(config_find_router(c, "c")->table, 1003);
        ck_assert_uint_eq(config_find_router(c, "d")->table, 1002);
        ck_assert_uint_eq(config_find_router(c, "e")->table, 7);
}
END_TEST

/* ---- digest ---- */

static void digest_s(const Config *c, char d[65])
{
        memset(d, 'x', 65);
        ck_assert_int_eq(config_digest(c, d), 0);
        ck_assert_uint_eq(strlen(d), 64);
        for (int i = 0; i < 64; i++)
                ck_assert_msg(
                        (d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f'), "bad digest %s", d);
}

START_TEST(test_digest_format)
{
        _cleanup_(config_freep) Config *e = config_new(), *c = sample_config(false);
        _cleanup_free_ char *s = to_json_s(c, false);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        char d[65], want[65];

        digest_s(e, d);
        /* sha256 of {"version":1,"routers":[],"members":[]} */
        ck_assert_str_eq(d, "0460564c6e3e917964e7cb66018db3f3ae6f6f2548aa9a963aa0bc06f61f8fd6");

        /* In general: the SHA-256 of the canonical document without generation. */
        ck_assert_int_eq(EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL), 1);
        ck_assert_uint_eq(mdlen, 32);
        for (unsigned i = 0; i < 32; i++)
                snprintf(want + 2 * i, 3, "%02x", md[i]);
        digest_s(c, d);
        ck_assert_str_eq(d, want);
}
END_TEST

START_TEST(test_digest_insertion_order)
{
        _cleanup_(config_freep) Config *a = sample_config(false), *b = sample_config(true), *d = NULL;
        _cleanup_free_ char *sa = to_json_s(a, true), *sb = to_json_s(b, true);
        char da[65], db[65], dd[65];

        ck_assert_str_ne(a->routers[0]->name, b->routers[0]->name); /* really built differently */
        ck_assert_str_ne(a->hosts[0], b->hosts[0]);
        ck_assert_str_eq(sa, sb);
        digest_s(a, da);
        digest_s(b, db);
        ck_assert_str_eq(da, db);

        /* A configuration read from JSON has the digest of the one written. */
        d = from_json_s(sa);
        digest_s(d, dd);
        ck_assert_str_eq(da, dd);

        /* A deep copy too. */
        Config *cp = NULL;
        ck_assert_int_eq(config_copy(a, &cp), 0);
        digest_s(cp, dd);
        ck_assert_str_eq(da, dd);
        config_free(cp);
}
END_TEST

/* Applies change number i to c; returns false when there are no more. */
static bool mutate(Config *c, int i)
{
        Router *blue = config_find_router(c, "blue");
        Lif *web = router_find_lif(blue, "web");
        IpPrefix p4 = unit_prefix("10.9.0.0/16"), p6 = unit_prefix("2001:db8:9::/48");

        switch (i) {
        case 0: /* a route's next hop */
                route_table_get(&blue->routes, &p4)->nh.one.gw[3] = 253;
                return true;
        case 1: /* one next hop of a multipath route */
                route_table_get(&blue->routes, &p6)->nh.many[1].gw[15] ^= 1;
                return true;
        case 2: /* a LIF address */
                web->addresses[0] = unit_prefix("10.0.0.2/24");
                return true;
        case 3: /* a LIF address's length */
                web->addresses[0].plen = 25;
                return true;
        case 4: /* a route's stamp */
                route_table_get(&blue->routes, &p4)->stamp_lamport++;
                return true;
        case 5: /* a route's stamp host */
                route_table_get(&blue->routes, &p4)->stamp_host ^= 1;
                return true;
        case 6: /* a LIF's stamp */
                web->stamp.lamport++;
                return true;
        case 7: /* a router's stamp */
                blue->stamp.host ^= 1;
                return true;
        case 8: /* a LIF's MTU */
                web->mtu_config = 1500;
                return true;
        case 9: /* a router's table */
                blue->table = 1009;
                return true;
        case 10: { /* one more route */
                unit_add_route(blue, "10.11.0.0/16", 1, 0, "10.0.0.254", "web");
                return true;
        }
        case 11: /* one route less */
                ck_assert_int_eq(route_table_remove(&blue->routes, &p4, NULL), 0);
                return true;
        case 12: /* a route's next hop LIF */
                route_table_get(&blue->routes, &p4)->nh.one.lif = 2;
                return true;
        default:
                return false;
        }
}

START_TEST(test_digest_changes)
{
        _cleanup_(config_freep) Config *base = sample_config(false);
        char d0[65], d[65];
        int i;

        digest_s(base, d0);
        for (i = 0;; i++) {
                Config *c = sample_config(false);
                if (!mutate(c, i)) {
                        config_free(c);
                        break;
                }
                digest_s(c, d);
                ck_assert_msg(strcmp(d, d0) != 0, "change %d did not change the digest", i);
                config_free(c);
        }
        ck_assert_int_eq(i, 13);

        /* Generation and lamport are host-local: excluded. */
        Config *c = sample_config(false);
        c->generation = 1000;
        c->lamport = 77;
        digest_s(c, d);
        ck_assert_str_eq(d, d0);
        config_free(c);
}
END_TEST

/* Journal: a record replayed onto the configuration it was written against reproduces the change. */
static Config *journal_base(void)
{
        Config *c = NULL;
        char e[256];

        ck_assert_int_eq(config_from_json(sample_json, strlen(sample_json), &c, e, sizeof e), 0);
        return c;
}

static char *json_of(const Config *c)
{
        char *s = NULL;
        ck_assert_int_eq(config_to_json(c, true, &s, NULL), 0);
        return s;
}

START_TEST(test_journal_put_and_delete_replay)
{
        Config *live = journal_base(), *replica = journal_base();
        Router *r = config_find_router(live, "blue");
        NexthopSpec hop = { .gateway = "10.0.0.254", .lif = "web" };
        const char *why = NULL;
        char *rec = NULL, *a, *b, e[256];
        size_t len;
        Route rt[2];

        ck_assert_int_eq(route_build(r, "172.16.0.0/12", &hop, 1, &rt[0], &why), 0);
        ck_assert_int_eq(route_build(r, "10.9.0.0/16", NULL, 0, &rt[1], &why), 0); /* replaces a route */
        rt[0].stamp_lamport = rt[1].stamp_lamport = 12;
        live->generation = 3;
        live->lamport = 12;
        ck_assert_int_eq(journal_put_routes(live, r, rt, 2, &rec, &len), 0);
        ck_assert_uint_eq(len, strlen(rec));
        ck_assert(rec[len - 1] == '\n');
        for (int i = 0; i < 2; i++)
                ck_assert_int_ge(route_table_put(&r->routes, &rt[i], NULL), 0);

        /* Twice: a record replayed again after a crash must change nothing more. */
        for (int i = 0; i < 2; i++)
                ck_assert_int_eq(config_replay_journal(replica, rec, len - 1, e, sizeof e), 0);
        free(rec);
        a = json_of(live);
        b = json_of(replica);
        ck_assert_str_eq(a, b);
        ck_assert_uint_eq(replica->generation, 3);
        ck_assert_uint_eq(replica->lamport, 12);
        free(a);
        free(b);

        IpPrefix p = unit_prefix("172.16.0.0/12");
        live->generation = 4;
        ck_assert_int_eq(journal_delete_route(live, r, &p, &rec, &len), 0);
        ck_assert_int_eq(route_table_remove(&r->routes, &p, NULL), 0);
        ck_assert_int_eq(config_replay_journal(replica, rec, len - 1, e, sizeof e), 0);
        ck_assert_int_eq(config_replay_journal(replica, rec, len - 1, e, sizeof e), 0);
        free(rec);
        a = json_of(live);
        b = json_of(replica);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
        config_free(live);
        config_free(replica);
}
END_TEST

START_TEST(test_journal_bad_records)
{
        Config *c = journal_base();
        char e[256];
        static const char *const bad[] = {
                "{\"op\":\"put\",\"router\":\"blue\",\"routes\":[{\"prefix\":\"10.1.2.3/16\",\"nexthops\":[]}]}",
                "{\"op\":\"put\",\"router\":\"blue\",\"routes\":{}}",
                "{\"op\":\"del\",\"router\":\"blue\",\"prefix\":\"banana\"}",
                "{\"op\":\"zap\",\"router\":\"blue\"}",
                "{\"op\":\"del\",\"router\":\"blue\",\"prefix\":\"10.9.0.0/16\",\"extra\":1}",
                "{\"op\":\"del\",\"router\":\"blue\",\"router\":\"alpha\",\"prefix\":\"10.9.0.0/16\"}",
                "{\"op\":\"del\",\"router\":\"blue\",\"prefix\":\"10.9.0.0/16\"",
        };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(config_replay_journal(c, bad[i], strlen(bad[i]), e, sizeof e) == -EINVAL,
                        "accepted: %s", bad[i]);
        const char *unknown = "{\"op\":\"del\",\"router\":\"nope\",\"prefix\":\"10.9.0.0/16\"}";
        ck_assert_int_eq(config_replay_journal(c, unknown, strlen(unknown), e, sizeof e), -ENOENT);
        ck_assert_str_eq(e, "journal record for unknown router nope");
        /* None of the refused records deleted the route they named. */
        IpPrefix p = unit_prefix("10.9.0.0/16");
        ck_assert_ptr_nonnull(route_table_get(&config_find_router(c, "blue")->routes, &p));
        config_free(c);
}
END_TEST

/* ---- firewall rules and default action ---- */

/* Apply's input: lists and ports in any order, plain addresses, defaults left out. */
static const char fw_input[] =
        "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"rules\":["
        "{\"name\":\"web\",\"priority\":10,\"destination\":[\"192.0.2.0/24\",\"10.0.0.0/8\",\"10.1.0.0/16\"],"
        "\"protocol\":\"tcp\",\"ports\":\"443,80-81,82\",\"action\":\"allow\"},"
        "{\"name\":\"icmp\",\"action\":\"allow\",\"protocol\":\"icmp\"},"
        "{\"name\":\"deny-v6\",\"priority\":10,\"source\":[\"2001:db8::1\",\"2001:db8::/32\"],\"action\":\"reject\"},"
        "{\"name\":\"dns\",\"priority\":5,\"destination\":[\"192.0.2.53\"],\"protocol\":\"udp\",\"ports\":\"53\","
        "\"action\":\"allow\"}],\"default_action\":\"drop\"}]}";

/* Its canonical form: rules in (priority, name) order, lists canonical, no stamps on rules. */
static const char fw_canonical[] =
        "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[0,\"\"],\"lifs\":[],\"routes\":[],"
        "\"endpoints\":[],\"rules\":["
        "{\"name\":\"dns\",\"priority\":5,\"destination\":[\"192.0.2.53/32\"],\"protocol\":\"udp\",\"ports\":\"53\","
        "\"action\":\"allow\"},"
        "{\"name\":\"deny-v6\",\"priority\":10,\"source\":[\"2001:db8::/32\"],\"protocol\":\"any\",\"action\":\"reject\"},"
        "{\"name\":\"web\",\"priority\":10,\"destination\":[\"10.0.0.0/8\",\"192.0.2.0/24\"],\"protocol\":\"tcp\","
        "\"ports\":\"80-82,443\",\"action\":\"allow\"},"
        "{\"name\":\"icmp\",\"priority\":1000,\"protocol\":\"icmp\",\"action\":\"allow\"}],"
        "\"default_action\":\"drop\"}],\"members\":[]}";

/* fw_input with every rule and the default action stamped by hostA. */
static Config *fw_stamped(void)
{
        Config *c = from_json_s(fw_input);
        Router *r = config_find_router(c, "blue");
        int h = config_host_index(c, "hostA");

        ck_assert_int_ge(h, 0);
        r->stamp = (Stamp) { 1, (uint32_t) h };
        for (size_t i = 0; i < r->n_rules; i++)
                r->rules[i]->stamp = (Stamp) { 10 + i, (uint32_t) h };
        r->default_stamp = (Stamp) { 20, (uint32_t) h };
        c->lamport = 20;
        return c;
}

static Config *parse_flags(const char *s, size_t len, ConfigParseFlags flags)
{
        char err[512] = "";
        Config *c = NULL;
        int k = config_from_json_ex(s, len, flags, &c, err, sizeof err);
        ck_assert_msg(k == 0, "refused (%d): %s\n%s", k, err, s);
        return c;
}

START_TEST(test_rules_canonical)
{
        _cleanup_(config_freep) Config *c = from_json_s(fw_input), *d = NULL;
        _cleanup_free_ char *s = to_json_s(c, false), *s2 = NULL;

        ck_assert_str_eq(s, fw_canonical);
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->n_rules, 4);
        ck_assert_int_eq(r->default_action, RULE_ACTION_DROP);
        ck_assert_uint_eq(r->default_stamp.lamport, 0); /* the caller stamps */
        ck_assert_ptr_nonnull(router_find_rule(r, "web"));

        /* Apply of an Export gives the same Export. */
        d = from_json_s(s);
        s2 = to_json_s(d, false);
        ck_assert_str_eq(s, s2);

        /* Stamps are no part of it: stamped alike or not, the text is the same. */
        _cleanup_(config_freep) Config *st = fw_stamped();
        _cleanup_free_ char *s3 = to_json_s(st, false);
        ck_assert_ptr_null(strstr(s3, "\"action\":\"allow\",\"stamp\""));
        ck_assert_ptr_nonnull(strstr(s3, "],\"default_action\":\"drop\"}"));
}
END_TEST

START_TEST(test_rules_state_and_mirror)
{
        _cleanup_(config_freep) Config *c = fw_stamped(), *d = NULL, *m = NULL;
        _cleanup_free_ char *want = to_json_s(c, true), *st = NULL, *st2 = NULL, *mi = NULL, *mi2 = NULL, *got = NULL;
        size_t len = 0, len2 = 0;

        ck_assert_int_eq(config_to_state(c, &st, &len), 0);
        ck_assert_ptr_nonnull(strstr(st, "{\"name\":\"dns\",\"priority\":5,\"destination\":[\"192.0.2.53/32\"],"
                                         "\"protocol\":\"udp\",\"ports\":\"53\",\"action\":\"allow\","
                                         "\"stamp\":[10,\"hostA\"]}"));
        ck_assert_ptr_nonnull(strstr(st, ",\"default_action\":{\"action\":\"drop\",\"stamp\":[20,\"hostA\"]}}"));
        d = parse_flags(st, len, CONFIG_PARSE_STATE);
        got = to_json_s(d, true);
        ck_assert_str_eq(got, want);
        ck_assert_int_eq(config_to_state(d, &st2, &len2), 0);
        ck_assert_str_eq(st, st2);

        ck_assert_int_eq(config_to_mirror(c, &mi, &len), 0);
        ck_assert_ptr_nonnull(strstr(mi, "\"action\":\"reject\",\"stamp\":[11,\"hostA\"]}"));
        ck_assert_ptr_nonnull(strstr(mi, ",\"default_action\":{\"action\":\"drop\",\"stamp\":[20,\"hostA\"]}}"));
        m = parse_flags(mi, len, CONFIG_PARSE_MIRROR);
        ck_assert_int_eq(config_to_mirror(m, &mi2, &len2), 0);
        ck_assert_str_eq(mi, mi2);
        Router *r = config_find_router(m, "blue");
        ck_assert_uint_eq(router_find_rule(r, "icmp")->stamp.lamport, 13);
        ck_assert_str_eq(m->hosts[router_find_rule(r, "icmp")->stamp.host], "hostA");
        ck_assert_uint_eq(r->default_stamp.lamport, 20);
        ck_assert_int_eq(r->default_action, RULE_ACTION_DROP);
}
END_TEST

/* Never set, the default action is in no form; set to allow, only the stamped forms carry it. */
START_TEST(test_default_action_forms)
{
        _cleanup_(config_freep) Config *c = from_json_s("{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001}]}");
        Router *r = config_find_router(c, "blue");
        int h = config_host_index(c, "hostA");
        char *s;
        size_t len;

        r->stamp = (Stamp) { 1, (uint32_t) h };
        ck_assert_int_eq(r->default_action, RULE_ACTION_ALLOW);
        s = to_json_s(c, false);
        ck_assert_ptr_null(strstr(s, "default_action"));
        free(s);
        ck_assert_int_eq(config_to_state(c, &s, &len), 0);
        ck_assert_ptr_null(strstr(s, "default_action"));
        free(s);
        ck_assert_int_eq(config_to_mirror(c, &s, &len), 0);
        ck_assert_ptr_null(strstr(s, "default_action"));
        free(s);

        r->default_stamp = (Stamp) { 5, (uint32_t) h };
        s = to_json_s(c, false);
        ck_assert_ptr_null(strstr(s, "default_action"));
        free(s);
        ck_assert_int_eq(config_to_mirror(c, &s, &len), 0);
        ck_assert_ptr_nonnull(strstr(s, "\"rules\":[],\"default_action\":{\"action\":\"allow\",\"stamp\":[5,\"hostA\"]}}"));
        Config *m = parse_flags(s, len, CONFIG_PARSE_MIRROR);
        ck_assert_uint_eq(config_find_router(m, "blue")->default_stamp.lamport, 5);
        config_free(m);
        free(s);

        r->default_action = RULE_ACTION_REJECT;
        s = to_json_s(c, false);
        ck_assert_ptr_nonnull(strstr(s, "\"rules\":[],\"default_action\":\"reject\"}"));
        free(s);

        /* Set by Apply and not stamped yet: still printed, so nothing is lost on the way to the stamps. */
        r->default_action = RULE_ACTION_DROP;
        r->default_stamp = (Stamp) {};
        s = to_json_s(c, false);
        ck_assert_ptr_nonnull(strstr(s, "\"default_action\":\"drop\""));
        free(s);
        ck_assert_int_eq(config_to_state(c, &s, &len), 0);
        Config *back = parse_flags(s, len, CONFIG_PARSE_STATE);
        ck_assert_int_eq(config_find_router(back, "blue")->default_action, RULE_ACTION_DROP);
        config_free(back);
        free(s);
}
END_TEST

#define FWDOC(rules, extra) "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"rules\":[" rules "]" extra "}]}"
#define MDOC(rules, extra)                                                                                  \
        "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"rules\":[" rules "]" extra "}]}"

static void refuse_flags(int code, const char *s, ConfigParseFlags flags, const char *want)
{
        char err[512] = "";
        Config *c = NULL;
        int k = config_from_json_ex(s, strlen(s), flags, &c, err, sizeof err);
        ck_assert_msg(k == code, "%s\n  gave %d (%s), want %d", s, k, err, code);
        ck_assert_ptr_null(c);
        ck_assert_msg(err[0], "no explanation for %s", s);
        if (want)
                ck_assert_msg(strcmp(err, want) == 0, "%s\n  said \"%s\", want \"%s\"", s, err, want);
}

START_TEST(test_rules_refused)
{
        /* Unknown keys, in a rule and in the default action. */
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"action\":\"allow\",\"log\":true}", ""), 0,
                "router blue: a rule must be an object with known keys");
        refuse_flags(-EINVAL, MDOC("", ",\"default_action\":{\"action\":\"drop\",\"stamp\":[2,\"A\"],\"by\":\"me\"}"),
                CONFIG_PARSE_MIRROR, NULL);
        /* What a rule needs. */
        refuse_flags(-EINVAL, FWDOC("{\"action\":\"allow\"}", ""), 0, "router blue: a rule needs a \"name\"");
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\"}", ""), 0,
                "router blue rule x: a rule needs an action: allow, drop or reject");
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"a b\",\"action\":\"allow\"}", ""), 0,
                "router blue rule a b: invalid rule name: use 1-64 characters of A-Z a-z 0-9 _ . -");
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"protocol\":\"tcp\",\"ports\":\"22,\",\"action\":\"allow\"}", ""), 0,
                "router blue rule x: invalid port list: expected ports 1-65535 or ranges FIRST-LAST, separated by commas");
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"ports\":\"22\",\"action\":\"allow\"}", ""), 0,
                "router blue rule x: ports need protocol tcp or udp");
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"source\":[],\"action\":\"allow\"}", ""), 0,
                "router blue rule x: empty source list: leave it out for any source");
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"source\":[\"10.0.0.0/8\"],\"destination\":[\"::/0\"],"
                                    "\"action\":\"allow\"}", ""), 0,
                "router blue rule x: source, destination and protocol share no address family");
        /* Duplicate names. */
        refuse_flags(-EEXIST, FWDOC("{\"name\":\"x\",\"action\":\"allow\"},{\"name\":\"x\",\"priority\":1,\"action\":\"drop\"}", ""),
                0, "router blue rule x: defined twice");
        /* Types. */
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"priority\":\"1\",\"action\":\"allow\"}", ""), 0,
                "router blue rule x: bad \"priority\"");
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"priority\":-1,\"action\":\"allow\"}", ""), 0, NULL);
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"priority\":4294967296,\"action\":\"allow\"}", ""), 0, NULL);
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"protocol\":6,\"action\":\"allow\"}", ""), 0, NULL);
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"action\":null}", ""), 0, NULL);
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"source\":\"10.0.0.0/8\",\"action\":\"allow\"}", ""), 0, NULL);
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"destination\":[1],\"action\":\"allow\"}", ""), 0, NULL);
        refuse_flags(-EINVAL, FWDOC("{\"name\":\"x\",\"action\":\"allow\",\"stamp\":[1]}", ""), 0,
                "router blue rule x: bad \"stamp\"");
        refuse_flags(-EINVAL, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"rules\":{}}]}", 0, NULL);
        refuse_flags(-EINVAL, FWDOC("", ",\"default_action\":\"deny\""), 0,
                "router blue: invalid \"default_action\": expected allow, drop or reject");
        refuse_flags(-EINVAL, FWDOC("", ",\"default_action\":5"), 0, NULL);
        refuse_flags(-EINVAL, FWDOC("", ",\"default_action\":{\"stamp\":[2,\"A\"]}"), 0, NULL);

        /* Peers' documents carry stamps on every rule and on the default action. */
        refuse_flags(-EINVAL, MDOC("{\"name\":\"x\",\"action\":\"allow\"}", ""), CONFIG_PARSE_MIRROR,
                "router blue rule x: \"stamp\" missing");
        refuse_flags(-EINVAL, MDOC("{\"name\":\"x\",\"action\":\"allow\",\"stamp\":[0,\"A\"]}", ""), CONFIG_PARSE_MIRROR,
                NULL);
        refuse_flags(-EINVAL, MDOC("", ",\"default_action\":\"drop\""), CONFIG_PARSE_MIRROR,
                "router blue: \"default_action\" needs a \"stamp\"");
        refuse_flags(-EINVAL, MDOC("", ",\"default_action\":{\"action\":\"drop\"}"), CONFIG_PARSE_MIRROR, NULL);
        refuse_flags(-EINVAL, MDOC("", ",\"default_action\":{\"action\":\"drop\",\"stamp\":[3,\"\"]}"),
                CONFIG_PARSE_MIRROR, NULL);

        /* Lists and ports that dlrd would have printed otherwise: refused from peers and the state file,
         * canonicalised from Apply. */
        static const char *const odd[] = {
                "{\"name\":\"x\",\"source\":[\"192.0.2.0/24\",\"10.0.0.0/8\"],\"action\":\"allow\",\"stamp\":[2,\"A\"]}",
                "{\"name\":\"x\",\"source\":[\"10.0.0.1\"],\"action\":\"allow\",\"stamp\":[2,\"A\"]}",
                "{\"name\":\"x\",\"destination\":[\"10.0.0.0/8\",\"10.1.0.0/16\"],\"action\":\"allow\",\"stamp\":[2,\"A\"]}",
                "{\"name\":\"x\",\"destination\":[\"10.0.0.0/8\",\"10.0.0.0/8\"],\"action\":\"allow\",\"stamp\":[2,\"A\"]}",
                "{\"name\":\"x\",\"protocol\":\"tcp\",\"ports\":\"80,22\",\"action\":\"allow\",\"stamp\":[2,\"A\"]}",
                "{\"name\":\"x\",\"protocol\":\"tcp\",\"ports\":\"22-22\",\"action\":\"allow\",\"stamp\":[2,\"A\"]}",
                "{\"name\":\"x\",\"protocol\":\"tcp\",\"ports\":\"22,23\",\"action\":\"allow\",\"stamp\":[2,\"A\"]}",
        };
        for (size_t i = 0; i < ELEMENTSOF(odd); i++) {
                char buf[1024];
                snprintf(buf, sizeof buf, MDOC("%s", ""), odd[i]);
                refuse_flags(-EINVAL, buf, CONFIG_PARSE_MIRROR, NULL);
                refuse_flags(-EINVAL, buf, CONFIG_PARSE_STATE, NULL);
                Config *c = parse_flags(buf, strlen(buf), CONFIG_PARSE_APPLY);
                const Rule *x = router_find_rule(config_find_router(c, "blue"), "x");
                const char *why = "unset";
                ck_assert_ptr_nonnull(x);
                ck_assert_int_eq(rule_check(x, &why), 0);
                config_free(c);
        }

        /* Rule tombstones name a router and a rule. */
        refuse_flags(-EINVAL, "{\"routers\":[],\"tombstones\":[{\"kind\":\"rule\",\"router\":\"\",\"key\":\"x\","
                              "\"stamp\":[1,\"A\"]}]}", CONFIG_PARSE_MIRROR, NULL);
        refuse_flags(-EINVAL, "{\"routers\":[],\"tombstones\":[{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"a b\","
                              "\"stamp\":[1,\"A\"]}]}", CONFIG_PARSE_MIRROR, NULL);
        static const char tomb[] = "{\"routers\":[],\"tombstones\":[{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"x\","
                                   "\"stamp\":[1,\"A\"]}]}";
        Config *t = parse_flags(tomb, strlen(tomb), CONFIG_PARSE_MIRROR);
        ck_assert_ptr_nonnull(config_find_tomb(t, TOMB_RULE, "blue", "x"));
        config_free(t);
}
END_TEST

/* At most DLR_RULES_MAX rules per router in a document. */
START_TEST(test_rules_limit)
{
        size_t n = DLR_RULES_MAX + 1, size = n * 48 + 256, at;
        _cleanup_free_ char *buf = malloc(size);
        Config *c = NULL;

        ck_assert_ptr_nonnull(buf);
        for (int round = 0; round < 2; round++) {
                size_t want = round == 0 ? DLR_RULES_MAX : n;
                at = (size_t) snprintf(buf, size, "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"rules\":[");
                for (size_t i = 0; i < want; i++)
                        at += (size_t) snprintf(buf + at, size - at, "%s{\"name\":\"r%06zu\",\"action\":\"drop\"}",
                                i ? "," : "", i);
                snprintf(buf + at, size - at, "]}]}");
                if (round == 0) {
                        c = from_json_s(buf);
                        ck_assert_uint_eq(config_find_router(c, "blue")->n_rules, DLR_RULES_MAX);
                        config_free(c);
                } else
                        refuse_flags(-EINVAL, buf, 0, "router blue: \"rules\" must be a list of at most 65536");
        }
}
END_TEST

/* Deltas for one rule and for the default action are peer documents, and journal records holding them replay
 * to the same state, twice as well as once. */
START_TEST(test_rule_deltas_and_journal)
{
        _cleanup_(config_freep) Config *live = fw_stamped(), *replica = NULL;
        Router *r = config_find_router(live, "blue");
        char *doc, *rec, err[512];
        size_t len, rlen;

        /* The replica knows the router (same incarnation) but none of its firewall. */
        ck_assert_int_eq(config_copy(live, &replica), 0);
        Router *rr = config_find_router(replica, "blue");
        while (rr->n_rules > 0)
                rule_free(router_detach_rule(rr, rr->rules[0]->name));
        rr->default_action = RULE_ACTION_ALLOW;
        rr->default_stamp = (Stamp) {};

        for (size_t i = 0; i < r->n_rules; i++) {
                ck_assert_int_eq(delta_rule(live, r, r->rules[i], &doc, &len), 0);
                Config *in = parse_flags(doc, len, CONFIG_PARSE_MIRROR);
                ck_assert_uint_eq(config_find_router(in, "blue")->n_rules, 1);
                config_free(in);
                ck_assert_int_eq(journal_merge(live, doc, len, 1000, &rec, &rlen), 0);
                for (int twice = 0; twice < 2; twice++)
                        ck_assert_msg(config_replay_journal(replica, rec, rlen - 1, err, sizeof err) == 0, "%s", err);
                free(rec);
                free(doc);
        }
        ck_assert_int_eq(delta_default_action(live, r, &doc, &len), 0);
        ck_assert_ptr_nonnull(strstr(doc, "\"default_action\":{\"action\":\"drop\",\"stamp\":[20,\"hostA\"]}"));
        ck_assert_int_eq(journal_merge(live, doc, len, 1000, &rec, &rlen), 0);
        for (int twice = 0; twice < 2; twice++)
                ck_assert_msg(config_replay_journal(replica, rec, rlen - 1, err, sizeof err) == 0, "%s", err);
        free(rec);
        free(doc);

        _cleanup_free_ char *a = NULL, *b = NULL;
        ck_assert_int_eq(config_to_mirror(live, &a, &len), 0);
        ck_assert_int_eq(config_to_mirror(replica, &b, &len), 0);
        ck_assert_str_eq(a, b);

        /* A deletion travels as a rule tombstone. */
        Stamp del = { 30, r->rules[0]->stamp.host };
        ck_assert_int_eq(config_put_tomb(live, TOMB_RULE, "blue", "web", del, 1000), 0);
        rule_free(router_detach_rule(r, "web"));
        live->lamport = 30;
        ck_assert_int_eq(delta_tomb(live, TOMB_RULE, "blue", "web", &doc, &len), 0);
        ck_assert_ptr_nonnull(strstr(doc, "{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"web\",\"stamp\":[30,\"hostA\"]}"));
        ck_assert_int_eq(journal_merge(live, doc, len, 1000, &rec, &rlen), 0);
        for (int twice = 0; twice < 2; twice++)
                ck_assert_msg(config_replay_journal(replica, rec, rlen - 1, err, sizeof err) == 0, "%s", err);
        free(rec);
        free(doc);
        ck_assert_ptr_null(router_find_rule(rr, "web"));
        ck_assert_uint_eq(rr->n_rules, 3);
        ck_assert_ptr_nonnull(config_find_tomb(replica, TOMB_RULE, "blue", "web"));
        _cleanup_free_ char *c1 = to_json_s(live, false), *c2 = to_json_s(replica, false);
        ck_assert_str_eq(c1, c2);
}
END_TEST

/* Digest follows what the firewall does, not who wrote it when. */
START_TEST(test_rules_digest)
{
        _cleanup_(config_freep) Config *a = from_json_s(fw_input), *s1 = fw_stamped(), *s2 = fw_stamped(), *e = NULL;
        char da[65], d1[65], d2[65], de[65];

        /* Rules written at other times, by another host, or the default action written again. */
        Router *r2 = config_find_router(s2, "blue");
        int h = config_host_index(s2, "hostB");
        ck_assert_int_ge(h, 0);
        for (size_t i = 0; i < r2->n_rules; i++)
                r2->rules[i]->stamp = (Stamp) { 100 + i, (uint32_t) h };
        r2->default_stamp = (Stamp) { 200, (uint32_t) h };
        digest_s(s1, d1);
        digest_s(s2, d2);
        ck_assert_str_eq(d1, d2);

        digest_s(a, da);
        /* Another insertion order. */
        e = from_json_s("{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"rules\":["
                        "{\"name\":\"dns\",\"priority\":5,\"destination\":[\"192.0.2.53/32\"],\"protocol\":\"udp\","
                        "\"ports\":\"53\",\"action\":\"allow\"},"
                        "{\"name\":\"icmp\",\"action\":\"allow\",\"protocol\":\"icmp\"},"
                        "{\"name\":\"web\",\"priority\":10,\"destination\":[\"10.0.0.0/8\",\"192.0.2.0/24\"],"
                        "\"protocol\":\"tcp\",\"ports\":\"80-82,443\",\"action\":\"allow\"},"
                        "{\"name\":\"deny-v6\",\"priority\":10,\"source\":[\"2001:db8::/32\"],\"action\":\"reject\"}],"
                        "\"default_action\":\"drop\"}]}");
        digest_s(e, de);
        ck_assert_str_eq(da, de);

        /* Any change of content changes it. */
        Router *r = config_find_router(e, "blue");
        router_find_rule(r, "web")->ports[0].last = 83;
        digest_s(e, de);
        ck_assert_str_ne(da, de);
        router_find_rule(r, "web")->ports[0].last = 82;
        router_find_rule(r, "web")->action = RULE_ACTION_DROP;
        digest_s(e, de);
        ck_assert_str_ne(da, de);
        router_find_rule(r, "web")->action = RULE_ACTION_ALLOW;
        r->default_action = RULE_ACTION_REJECT;
        digest_s(e, de);
        ck_assert_str_ne(da, de);
        r->default_action = RULE_ACTION_DROP;
        digest_s(e, de);
        ck_assert_str_eq(da, de);
        rule_free(router_detach_rule(r, "icmp"));
        digest_s(e, de);
        ck_assert_str_ne(da, de);
}
END_TEST

/* Stamps and counters from a peer: 0..DLR_COUNTER_MAX (2^62) exactly, never a number json-c saturated; the
 * largest stamp of a document is what the merge compares against this host's clock (DLR_STAMP_AHEAD_MAX). */
START_TEST(test_stamp_bounds)
{
        static const char *const refused[] = {
                "4611686018427387905",  /* 2^62 + 1 */
                "9223372036854775807",  /* INT64_MAX */
                "9223372036854775808",  /* past it: json-c says INT64_MAX */
                "18446744073709551616", /* past UINT64_MAX */
                "-1",
                "1.5",
                "\"7\"",
        };
        char doc[512];

        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
                snprintf(doc, sizeof doc,
                        "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[%s,\"A\"]}]}",
                        refused[i]);
                refuse_flags(-EINVAL, doc, CONFIG_PARSE_MIRROR, NULL);
        }
        snprintf(doc, sizeof doc,
                "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[%llu,\"A\"]}],"
                "\"tombstones\":[{\"kind\":\"router\",\"router\":\"\",\"key\":\"red\",\"stamp\":[77,\"B\"]}]}",
                (unsigned long long) DLR_COUNTER_MAX);
        _cleanup_(config_freep) Config *c = parse_flags(doc, strlen(doc), CONFIG_PARSE_MIRROR);
        ck_assert_uint_eq(c->max_lamport, DLR_COUNTER_MAX);
        snprintf(doc, sizeof doc,
                "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[5,\"A\"]}],"
                "\"tombstones\":[{\"kind\":\"router\",\"router\":\"\",\"key\":\"red\",\"stamp\":[77,\"B\"]}]}");
        _cleanup_(config_freep) Config *d = parse_flags(doc, strlen(doc), CONFIG_PARSE_MIRROR);
        ck_assert_uint_eq(d->max_lamport, 77); /* a tombstone's stamp counts like any other */
        ck_assert_uint_lt(DLR_STAMP_AHEAD_MAX, DLR_COUNTER_MAX / 1024);
}
END_TEST

static Suite *json_suite(void)
{
        Suite *s = suite_create("json");
        TCase *tc = tcase_create("write");

        tcase_add_test(tc, test_to_json_canonical);
        tcase_add_test(tc, test_to_json_generation);
        tcase_add_test(tc, test_to_json_address_formatting);
        tcase_add_test(tc, test_to_json_sorted);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_from_json_lenient_input_canonical_output);
        tcase_add_test(tc, test_to_state);
        suite_add_tcase(s, tc);

        tc = tcase_create("read");
        tcase_add_test(tc, test_from_json_unknown_keys);
        tcase_add_test(tc, test_from_json_version);
        tcase_add_test(tc, test_from_json_syntax);
        tcase_add_test(tc, test_from_json_bad_values);
        tcase_add_test(tc, test_from_json_wrong_types_in_nexthops);
        tcase_add_test(tc, test_from_json_duplicates);
        tcase_add_test(tc, test_from_json_duplicate_keys);
        tcase_add_test(tc, test_from_json_implicit_lif_id_before_explicit);
        tcase_add_test(tc, test_from_json_conflicts);
        tcase_add_test(tc, test_from_json_table_allocation);
        suite_add_tcase(s, tc);

        tc = tcase_create("journal");
        tcase_add_test(tc, test_journal_put_and_delete_replay);
        tcase_add_test(tc, test_journal_bad_records);
        suite_add_tcase(s, tc);

        tc = tcase_create("firewall");
        tcase_add_test(tc, test_rules_canonical);
        tcase_add_test(tc, test_rules_state_and_mirror);
        tcase_add_test(tc, test_default_action_forms);
        tcase_add_test(tc, test_rules_refused);
        tcase_add_test(tc, test_rules_limit);
        tcase_add_test(tc, test_rule_deltas_and_journal);
        tcase_add_test(tc, test_rules_digest);
        suite_add_tcase(s, tc);

        tc = tcase_create("digest");
        tcase_add_test(tc, test_digest_format);
        tcase_add_test(tc, test_digest_insertion_order);
        tcase_add_test(tc, test_digest_changes);
        tcase_add_test(tc, test_stamp_bounds);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(json_suite());
}
