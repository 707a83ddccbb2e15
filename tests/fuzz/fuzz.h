/* Helpers shared by the libFuzzer targets: checks that abort (so libFuzzer records the input), copies of
 * the input as C strings, splitting the input into fields, and the invariants every accepted configuration
 * must satisfy. Header-only so each target is one translation unit plus the daemon sources. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "shared/cleanup.h"
#include "state/config.h"
#include "state/json.h"

#define FUZZ_CHECK(cond, ...)                                                                               \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "fuzz: %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
                        fprintf(stderr, __VA_ARGS__);                                                       \
                        fputc('\n', stderr);                                                                \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

/* Allocation failures are not what these targets look for: give up loudly rather than guess. */
static inline void *fuzz_oom(void *p)
{
        if (!p) {
                fprintf(stderr, "fuzz: out of memory\n");
                abort();
        }
        return p;
}

/* The input as a NUL-terminated string (embedded NULs stay; C-string consumers stop at the first). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
        char *s = fuzz_oom(malloc(size + 1));
        if (size)
                memcpy(s, data, size);
        s[size] = 0;
        return s;
}

/* Splits a NUL-terminated buffer in place at every sep into at most max fields; returns the count. The
 * last field takes the rest of the buffer, separators included. */
static inline size_t fuzz_split(char *s, char sep, char **fields, size_t max)
{
        size_t n = 0;

        if (max == 0)
                return 0;
        fields[n++] = s;
        for (char *p = s; *p && n < max; p++)
                if (*p == sep) {
                        *p = 0;
                        fields[n++] = p + 1;
                }
        return n;
}

/* "123" → 123, truncated to 32 bits like a D-Bus caller could send; anything unparsable gives 0. Base 0 so
 * the fuzzer can also reach large values as hex. */
static inline uint32_t fuzz_u32(const char *s)
{
        return (uint32_t) strtoull(s, NULL, 0);
}

static inline bool fuzz_errno_documented(int k, const int *allowed, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (k == allowed[i])
                        return true;
        return false;
}

/* True when a string of the JSON document, other than a "mac" (which the parser ignores), holds a NUL
 * ("\u0000"): C-string consumers would see only its start, so a document that "completely validates" must
 * not contain one. The document is parsed here with json-c as the daemon does; unparsable gives false. */
static inline bool fuzz_json_nul_walk(json_object *o)
{
        switch (json_object_get_type(o)) {
        case json_type_string:
                return (size_t) json_object_get_string_len(o) != strlen(json_object_get_string(o));
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (fuzz_json_nul_walk(json_object_array_get_idx(o, i)))
                                return true;
                return false;
        case json_type_object: {
                json_object_object_foreach(o, key, val)
                        if (strcmp(key, "mac") != 0 && fuzz_json_nul_walk(val))
                                return true;
                return false;
        }
        default:
                return false;
        }
}

static inline bool fuzz_json_has_nul_string(const char *s, size_t len)
{
        json_tokener *tok = fuzz_oom(json_tokener_new_ex(64));
        bool r = false;

        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *root = json_tokener_parse_ex(tok, s, (int) len);
        if (root)
                r = fuzz_json_nul_walk(root);
        json_object_put(root);
        json_tokener_free(tok);
        return r;
}

static inline void fuzz_check_prefix_sane(const IpPrefix *p, const char *what)
{
        static const uint8_t zero[16];

        FUZZ_CHECK(p->family == AF_INET || p->family == AF_INET6, "%s: family %u", what, p->family);
        FUZZ_CHECK(p->plen <= (p->family == AF_INET ? 32 : 128), "%s: plen %u", what, p->plen);
        if (p->family == AF_INET)
                FUZZ_CHECK(memcmp(p->addr + 4, zero, 12) == 0, "%s: IPv4 address with bytes beyond the 4th",
                        what);
}

/* A route as route_build promises it: a network prefix, at most 32 next hops, sorted and unique, gateways of
 * the prefix's family and unicast, LIFs of the router, every hop with something, multipath with gateways. */
static inline void fuzz_check_route(const Router *r, const Route *rt)
{
        static const uint8_t zero[16];
        const Nexthop *nh = route_nexthops(rt);

        fuzz_check_prefix_sane(&rt->prefix, "route prefix");
        FUZZ_CHECK(ip_prefix_is_network(&rt->prefix), "route prefix with host bits");
        FUZZ_CHECK(rt->n_nexthops <= DLR_NEXTHOPS_MAX, "%u next hops", rt->n_nexthops);
        for (unsigned i = 0; i < rt->n_nexthops; i++) {
                const Nexthop *h = &nh[i];
                FUZZ_CHECK(h->has_gw || h->lif != 0, "next hop %u with neither gateway nor LIF", i);
                FUZZ_CHECK(rt->n_nexthops == 1 || h->has_gw, "multipath next hop %u without gateway", i);
                if (h->has_gw) {
                        IpPrefix gw = { .family = rt->prefix.family,
                                .plen = rt->prefix.family == AF_INET ? 32 : 128 };
                        memcpy(gw.addr, h->gw, 16);
                        fuzz_check_prefix_sane(&gw, "gateway");
                        FUZZ_CHECK(ip_addr_check_unicast(&gw) == 0, "next hop %u gateway not unicast", i);
                } else
                        FUZZ_CHECK(memcmp(h->gw, zero, 16) == 0,
                                "next hop %u without gateway has gateway bytes", i);
                if (h->lif)
                        FUZZ_CHECK(router_find_lif_by_id(r, h->lif), "next hop %u names missing LIF id %u",
                                i, h->lif);
                if (i > 0)
                        FUZZ_CHECK(nexthop_compare(&nh[i - 1], h) < 0,
                                "next hops %u and %u not sorted/unique", i - 1, i);
        }
}

/* A LIF as lif_new_checked promises it, within its router. */
static inline void fuzz_check_lif(const Router *r, const Lif *l)
{
        uint8_t mac[6];

        FUZZ_CHECK(dlr_name_check(l->name) == 0, "LIF name \"%s\" invalid", l->name);
        FUZZ_CHECK(l->kind == LIF_KIND_VXLAN || l->kind == LIF_KIND_VLAN, "LIF kind %d", (int) l->kind);
        FUZZ_CHECK(l->segment >= 1 && l->segment <= (l->kind == LIF_KIND_VXLAN ? DLR_VNI_MAX : DLR_VLAN_MAX),
                "LIF %s segment %u out of range", l->name, l->segment);
        FUZZ_CHECK(l->mtu_config == 0 || (l->mtu_config >= DLR_MTU_MIN && l->mtu_config <= DLR_MTU_MAX),
                "LIF %s mtu %u", l->name, l->mtu_config);
        FUZZ_CHECK(l->mtu == lif_effective_mtu(l->kind, l->mtu_config), "LIF %s effective mtu %u", l->name,
                l->mtu);
        FUZZ_CHECK(l->n_addresses <= DLR_ADDRESSES_MAX, "LIF %s has %zu addresses", l->name, l->n_addresses);
        lif_derive_mac(r->name, l->name, mac);
        FUZZ_CHECK(memcmp(mac, l->mac, 6) == 0, "LIF %s mac not derived from names", l->name);
        FUZZ_CHECK((l->mac[0] & 0x03) == 0x02, "LIF %s mac not unicast locally administered", l->name);
        for (size_t a = 0; a < l->n_addresses; a++) {
                const IpPrefix *p = &l->addresses[a];
                fuzz_check_prefix_sane(p, "LIF address");
                FUZZ_CHECK(p->plen > 0, "LIF %s address with prefix length 0", l->name);
                FUZZ_CHECK(ip_addr_check_unicast(p) == 0, "LIF %s address not unicast", l->name);
                if (p->family == AF_INET && p->plen < 31) {
                        IpPrefix net = *p;
                        ip_prefix_mask(&net);
                        FUZZ_CHECK(memcmp(net.addr, p->addr, 4) != 0, "LIF %s address is a network address",
                                l->name);
                }
                for (size_t b = 0; b < a; b++)
                        FUZZ_CHECK(!ip_prefix_overlaps(&l->addresses[b], p), "LIF %s addresses overlap",
                                l->name);
        }
}

/* A router's rules as rule_build and router_put_rule promise them: each passes rule_check, at most
 * DLR_RULES_MAX, in (priority, name) order with unique names, each found by its name at its place; and a
 * default action that is one. */
static inline void fuzz_check_rules(const Router *r, size_t n_hosts)
{
        FUZZ_CHECK(r->n_rules <= DLR_RULES_MAX, "router %s has %zu rules", r->name, r->n_rules);
        FUZZ_CHECK(rule_action_to_string(r->default_action), "router %s default action %d", r->name,
                (int) r->default_action);
        FUZZ_CHECK(r->default_stamp.host == 0 || r->default_stamp.host < n_hosts, "router %s default stamp host",
                r->name);
        for (size_t i = 0; i < r->n_rules; i++) {
                const Rule *x = r->rules[i];
                const char *why = NULL;
                FUZZ_CHECK(rule_check(x, &why) == 0, "router %s rule %s: %s", r->name, x->name, why);
                FUZZ_CHECK(router_find_rule(r, x->name) == x, "router %s rule %s not found by name", r->name,
                        x->name);
                FUZZ_CHECK(router_rule_index(r, x->name) == (int) i, "router %s rule %s not at its index", r->name,
                        x->name);
                FUZZ_CHECK(x->stamp.host == 0 || x->stamp.host < n_hosts, "rule %s stamp host", x->name);
                if (i > 0) {
                        const Rule *p = r->rules[i - 1];
                        FUZZ_CHECK(p->priority < x->priority ||
                                        (p->priority == x->priority && strcmp(p->name, x->name) < 0),
                                "router %s rules %s and %s out of order", r->name, p->name, x->name);
                }
        }
}

/* Everything config_from_json promises about a configuration it accepted (and what journal replay and the
 * D-Bus paths must keep true). */
static inline void fuzz_check_config(const Config *c)
{
        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                size_t used = 0;

                FUZZ_CHECK(dlr_name_check(r->name) == 0, "router name \"%s\" invalid", r->name);
                FUZZ_CHECK(dlr_table_check(r->table) == 0, "router %s table %u", r->name, r->table);
                FUZZ_CHECK(r->stamp.host == 0 || r->stamp.host < c->n_hosts, "router %s stamp host %u",
                        r->name, r->stamp.host);
                for (size_t j = 0; j < i; j++) {
                        FUZZ_CHECK(strcmp(c->routers[j]->name, r->name) != 0, "router %s twice", r->name);
                        FUZZ_CHECK(c->routers[j]->table != r->table, "table %u twice", r->table);
                }
                FUZZ_CHECK(r->n_lifs <= DLR_LIFS_MAX, "router %s has %zu LIFs", r->name, r->n_lifs);
                for (size_t j = 0; j < r->n_lifs; j++) {
                        const Lif *l = r->lifs[j];
                        fuzz_check_lif(r, l);
                        FUZZ_CHECK(l->id != 0, "LIF %s without id", l->name);
                        FUZZ_CHECK(l->stamp.host == 0 || l->stamp.host < c->n_hosts, "LIF %s stamp host",
                                l->name);
                        for (size_t k = 0; k < j; k++) {
                                const Lif *o = r->lifs[k];
                                FUZZ_CHECK(strcmp(o->name, l->name) != 0, "LIF %s twice", l->name);
                                FUZZ_CHECK(o->id != l->id, "LIF id %u twice", l->id);
                                for (size_t a = 0; a < o->n_addresses; a++)
                                        for (size_t b = 0; b < l->n_addresses; b++)
                                                FUZZ_CHECK(!ip_prefix_overlaps(
                                                                   &o->addresses[a], &l->addresses[b]),
                                                        "LIFs %s and %s overlap", o->name, l->name);
                        }
                        /* Segments are unique across the whole configuration, per kind. */
                        for (size_t x = 0; x <= i; x++)
                                for (size_t y = 0; y < (x == i ? j : c->routers[x]->n_lifs); y++) {
                                        const Lif *o = c->routers[x]->lifs[y];
                                        FUZZ_CHECK(o->kind != l->kind || o->segment != l->segment,
                                                "segment %u used twice", l->segment);
                                }
                }
                ROUTE_TABLE_FOREACH(rt, &r->routes) {
                        fuzz_check_route(r, rt);
                        FUZZ_CHECK(route_table_get(&r->routes, &rt->prefix) == rt,
                                "route not found by its prefix");
                        FUZZ_CHECK(rt->stamp_host == 0 || rt->stamp_host < c->n_hosts, "route stamp host");
                        used++;
                }
                FUZZ_CHECK(used == r->routes.n, "router %s counts %zu routes, holds %zu", r->name,
                        r->routes.n, used);
                fuzz_check_rules(r, c->n_hosts);
        }
}

/* to_json → from_json must succeed and to_json again must be byte-identical. Returns the canonical text
 * (with generation) for further comparisons; the caller frees it. */
static inline char *fuzz_check_round_trip(const Config *c, const char *what)
{
        char *a = NULL, *b = NULL, err[512] = "";
        size_t alen = 0, blen = 0;
        Config *c2 = NULL;
        int k;

        k = config_to_json(c, true, &a, &alen);
        FUZZ_CHECK(k == 0, "%s: config_to_json: %d", what, k);
        FUZZ_CHECK(strlen(a) == alen, "%s: config_to_json length %zu, text %zu", what, alen, strlen(a));
        k = config_from_json(a, alen, &c2, err, sizeof err);
        FUZZ_CHECK(k == 0, "%s: own output refused (%d: %s): %s", what, k, err, a);
        fuzz_check_config(c2);
        k = config_to_json(c2, true, &b, &blen);
        FUZZ_CHECK(k == 0, "%s: config_to_json again: %d", what, k);
        FUZZ_CHECK(alen == blen && memcmp(a, b, alen) == 0, "%s: round trip differs:\n  1st %s\n  2nd %s",
                what, a, b);
        free(b);
        config_free(c2);
        return a;
}

/* The fixed configuration the journal, LIF and route targets work against: two routers with LIFs of both
 * kinds, a few routes, firewall rules and a default action, stamps from two hosts, and a third router without
 * anything. */
static const char fuzz_base_json[] =
        "{\"version\":1,\"generation\":7,\"lamport\":20,\"routers\":["
        "{\"name\":\"blue\",\"table\":1001,\"stamp\":[3,\"hostA\"],\"lifs\":["
        "{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"mtu\":0,\"addresses\":[\"10.0.0.1/24\","
        "\"2001:db8:0:1::1/64\"],\"stamp\":[4,\"hostA\"]},"
        "{\"name\":\"db\",\"kind\":\"vlan\",\"segment\":100,\"mtu\":9000,\"addresses\":[\"10.1.0.1/24\"]}],"
        "\"routes\":[{\"prefix\":\"10.9.0.0/"
        "16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"web\"}],"
        "\"stamp\":[8,\"hostB\"]},"
        "{\"prefix\":\"0.0.0.0/0\",\"nexthops\":[]},"
        "{\"prefix\":\"2001:db8:9::/48\",\"nexthops\":[{\"gateway\":\"2001:db8:0:1::fd\",\"lif\":\"web\"},"
        "{\"gateway\":\"2001:db8:0:1::fe\",\"lif\":\"web\"}],\"stamp\":[9,\"hostA\"]}]},"
        "{\"name\":\"red\",\"table\":1002,\"lifs\":["
        "{\"name\":\"app\",\"kind\":\"vxlan\",\"segment\":6000,\"addresses\":[\"10.0.0.1/24\"]}],"
        "\"routes\":[{\"prefix\":\"10.20.0.0/16\",\"nexthops\":[{\"gateway\":\"\",\"lif\":\"app\"}]}],"
        "\"rules\":[{\"name\":\"ssh\",\"priority\":10,\"source\":[\"10.0.0.0/8\"],\"protocol\":\"tcp\","
        "\"ports\":\"22\",\"action\":\"allow\",\"stamp\":[5,\"hostA\"]},"
        "{\"name\":\"ping6\",\"protocol\":\"icmpv6\",\"action\":\"allow\"}],\"default_action\":\"drop\"},"
        "{\"name\":\"empty\"}]}";

static inline Config *fuzz_base_config(void)
{
        char err[512];
        Config *c = NULL;
        int k = config_from_json(fuzz_base_json, strlen(fuzz_base_json), &c, err, sizeof err);
        FUZZ_CHECK(k == 0, "base configuration refused (%d): %s", k, err);
        fuzz_check_config(c);
        return c;
}
