/* dlrctl's argument syntax: numbers, next hops ("via GW dev LIF"), firewall rules (key=value). Parsing is
 * pure and finishes before anything is sent, so a bad argument never reaches dlrd. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

/* Strict unsigned decimal: digits only, no sign, no spaces, fits in 32 bits. -EINVAL or -ERANGE. */
int parse_u32(const char *s, uint32_t *ret);

typedef struct Nexthop {
        const char *gateway; /* "" for an on-link next hop */
        const char *lif;     /* "" when dlrd picks the LIF from the gateway */
} Nexthop;

typedef struct RouteSpec {
        const char *prefix;
        size_t first, n; /* next hops in the pool; n == 0 is a blackhole */
} RouteSpec;

/* Routes parsed from words; the strings point into the caller's words, the next hops share one pool. */
typedef struct RouteList {
        RouteSpec *routes;
        size_t n, cap;
        Nexthop *hops;
        size_t n_hops, cap_hops;
} RouteList;

void route_list_done(RouteList *l);

/* Parses "PREFIX" followed by words: "blackhole" alone, or one or more of "via GW [dev LIF]" and "dev LIF".
 * On -EINVAL, err says why; -ENOMEM otherwise. Nothing is added on failure. */
int route_list_add(RouteList *l, const char *prefix, char *const *words, size_t n, char *err,
                size_t err_size);

/* Appends route i's next hops as "a(ss)". */
int route_list_append_nexthops(const RouteList *l, size_t i, sd_bus_message *m);

/* Formats next hops in the syntax route_list_add() reads: "via GW dev LIF via GW2", "dev LIF", "blackhole".
 * The result is malloc'ed. */
char *nexthops_format(const Nexthop *hops, size_t n);

/* A firewall rule from key=value words: priority=N, source=CIDR[,CIDR...], destination=..., protocol=P,
 * ports=LIST, action=A. */
typedef struct RuleSpec {
        bool has_priority;
        uint32_t priority;
        char **source, **destination; /* NULL-terminated; NULL when not given */
        const char *protocol, *ports, *action;
} RuleSpec;

void rule_spec_done(RuleSpec *r);

/* On -EINVAL, err says why (unknown or repeated key, missing '=', bad number, empty list); -ENOMEM
 * otherwise. */
int rule_spec_parse(RuleSpec *r, char *const *words, size_t n, char *err, size_t err_size);

/* Appends the rule as "a{sv}" with only the keys that were given. */
int rule_spec_append(const RuleSpec *r, sd_bus_message *m);
