/* Firewall rules of the desired configuration: their text forms, the checks that keep them canonical (what
 * nftables sets accept, and what every host prints alike), and a router's rules in evaluation order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "shared/array.h"
#include "shared/cleanup.h"
#include "shared/strtable.h"

static const char *const rule_protocol_table[_RULE_PROTO_MAX] = {
        [RULE_PROTO_ANY] = "any",
        [RULE_PROTO_TCP] = "tcp",
        [RULE_PROTO_UDP] = "udp",
        [RULE_PROTO_ICMP] = "icmp",
        [RULE_PROTO_ICMPV6] = "icmpv6",
};
DEFINE_STRING_TABLE_LOOKUP(rule_protocol, RuleProtocol, _RULE_PROTO_MAX)

static const char *const rule_action_table[_RULE_ACTION_MAX] = {
        [RULE_ACTION_ALLOW] = "allow",
        [RULE_ACTION_DROP] = "drop",
        [RULE_ACTION_REJECT] = "reject",
};
DEFINE_STRING_TABLE_LOOKUP(rule_action, RuleAction, _RULE_ACTION_MAX)

#define FAIL(code, msg)                                                                                       \
        do {                                                                                                  \
                *ret_error = (msg);                                                                           \
                return (code);                                                                                \
        } while (0)

/* ------------------------------------------------------------------ ports */

/* Digits only and no leading zero: strtoul would take signs, spaces and hex, and "080" has no canonical
 * text of its own. */
static int parse_port(const char *s, size_t n, uint16_t *ret)
{
        unsigned v = 0;

        if (n == 0 || n > 5 || s[0] == '0')
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static int cmp_range(const void *a, const void *b)
{
        const PortRange *x = a, *y = b;
        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        return x->last < y->last ? -1 : x->last > y->last;
}

int rule_ports_parse(const char *s, PortRange **ret, size_t *ret_n, const char **ret_error)
{
        _cleanup_free_ PortRange *v = NULL;
        size_t n = 1, m = 0;

        *ret_error = NULL;
        if (!s || !*s)
                FAIL(-EINVAL, "empty port list: leave it out for any port");
        for (const char *p = s; *p; p++)
                n += *p == ',';
        if (n > DLR_RULE_PORTS_MAX)
                FAIL(-EINVAL, "too many ports and port ranges (at most 256)");
        v = calloc(n, sizeof(PortRange));
        if (!v)
                return -ENOMEM;

        for (const char *p = s;;) {
                const char *end = strchr(p, ','), *dash;
                size_t len = end ? (size_t) (end - p) : strlen(p);
                PortRange r;

                dash = memchr(p, '-', len);
                if (dash) {
                        if (parse_port(p, (size_t) (dash - p), &r.first) < 0 ||
                                        parse_port(dash + 1, len - (size_t) (dash - p) - 1, &r.last) < 0)
                                FAIL(-EINVAL, "invalid port list: expected ports 1-65535 or ranges FIRST-LAST, "
                                              "separated by commas");
                        if (r.first > r.last)
                                FAIL(-EINVAL, "invalid port range: the first port is above the last");
                } else {
                        if (parse_port(p, len, &r.first) < 0)
                                FAIL(-EINVAL, "invalid port list: expected ports 1-65535 or ranges FIRST-LAST, "
                                              "separated by commas");
                        r.last = r.first;
                }
                v[m++] = r;
                if (!end)
                        break;
                p = end + 1;
        }

        /* nftables interval sets refuse overlapping elements; merged, equal lists also print alike. */
        qsort(v, m, sizeof(PortRange), cmp_range);
        n = 0;
        for (size_t i = 0; i < m; i++) {
                if (n > 0 && (unsigned) v[i].first <= (unsigned) v[n - 1].last + 1) {
                        v[n - 1].last = MAX(v[n - 1].last, v[i].last);
                        continue;
                }
                v[n++] = v[i];
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int rule_ports_format(const PortRange *p, size_t n, char **ret)
{
        char *s = malloc(n * 12 + 1), *o = s;

        if (!s)
                return -ENOMEM;
        *o = 0;
        for (size_t i = 0; i < n; i++) {
                size_t room = n * 12 + 1 - (size_t) (o - s);
                int k = p[i].first == p[i].last ? snprintf(o, room, "%s%u", i ? "," : "", p[i].first)
                                                : snprintf(o, room, "%s%u-%u", i ? "," : "", p[i].first, p[i].last);
                if (k > 0)
                        o += MIN((size_t) k, room - 1);
        }
        *ret = s;
        return 0;
}

/* ------------------------------------------------------------------ checks */

static unsigned list_families(const IpPrefix *p, size_t n)
{
        unsigned f = 0;

        if (n == 0)
                return RULE_FAMILY_IPV4 | RULE_FAMILY_IPV6;
        for (size_t i = 0; i < n; i++)
                f |= p[i].family == AF_INET ? RULE_FAMILY_IPV4 : RULE_FAMILY_IPV6;
        return f;
}

unsigned rule_families(const Rule *r)
{
        unsigned f = list_families(r->source, r->n_source) & list_families(r->destination, r->n_destination);

        if (r->protocol == RULE_PROTO_ICMP)
                f &= RULE_FAMILY_IPV4;
        else if (r->protocol == RULE_PROTO_ICMPV6)
                f &= RULE_FAMILY_IPV6;
        return f;
}

static int check_list(const IpPrefix *p, size_t n, bool source, const char **ret_error)
{
        static const uint8_t zero[12];

        if (n > DLR_RULE_ADDRESSES_MAX)
                FAIL(-EINVAL, source ? "too many source prefixes (at most 4096)"
                                     : "too many destination prefixes (at most 4096)");
        for (size_t i = 0; i < n; i++) {
                if ((p[i].family != AF_INET && p[i].family != AF_INET6) ||
                                p[i].plen > (p[i].family == AF_INET ? 32 : 128) ||
                                (p[i].family == AF_INET && memcmp(p[i].addr + 4, zero, sizeof zero) != 0))
                        FAIL(-EINVAL, source ? "invalid source prefix" : "invalid destination prefix");
                if (!ip_prefix_is_network(&p[i]))
                        FAIL(-EINVAL, source ? "invalid source prefix: host bits are set"
                                             : "invalid destination prefix: host bits are set");
                /* Sorted and neighbours apart: prefixes nest or are disjoint, so no two overlap at all. */
                if (i > 0 && (ip_prefix_compare(&p[i - 1], &p[i]) >= 0 || ip_prefix_overlaps(&p[i - 1], &p[i])))
                        FAIL(-EINVAL, source ? "source prefixes not sorted, repeated or one inside another"
                                             : "destination prefixes not sorted, repeated or one inside another");
        }
        return 0;
}

int rule_check(const Rule *r, const char **ret_error)
{
        int k;

        *ret_error = NULL;
        if (!r->name || dlr_name_check(r->name) < 0)
                FAIL(-EINVAL, "invalid rule name: use 1-64 characters of A-Z a-z 0-9 _ . -");
        if (!rule_protocol_to_string(r->protocol))
                FAIL(-EINVAL, "invalid protocol: expected any, tcp, udp, icmp or icmpv6");
        if (!rule_action_to_string(r->action))
                FAIL(-EINVAL, "invalid action: expected allow, drop or reject");
        k = check_list(r->source, r->n_source, true, ret_error);
        if (k < 0)
                return k;
        k = check_list(r->destination, r->n_destination, false, ret_error);
        if (k < 0)
                return k;
        if (r->n_ports > 0 && r->protocol != RULE_PROTO_TCP && r->protocol != RULE_PROTO_UDP)
                FAIL(-EINVAL, "ports need protocol tcp or udp");
        if (r->n_ports > DLR_RULE_PORTS_MAX)
                FAIL(-EINVAL, "too many ports and port ranges (at most 256)");
        for (size_t i = 0; i < r->n_ports; i++)
                if (r->ports[i].first == 0 || r->ports[i].first > r->ports[i].last ||
                                (i > 0 && (unsigned) r->ports[i].first <= (unsigned) r->ports[i - 1].last + 1))
                        FAIL(-EINVAL, "port ranges not sorted, empty, overlapping or adjacent");
        if (rule_families(r) == 0)
                FAIL(-EINVAL, "source, destination and protocol share no address family");
        return 0;
}

/* ------------------------------------------------------------------ objects */

Rule *rule_free(Rule *r)
{
        if (!r)
                return NULL;
        free(r->name);
        free(r->source);
        free(r->destination);
        free(r->ports);
        free(r);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Rule *, rule_free)

static void *memdup_n(const void *p, size_t n, size_t size)
{
        void *d = malloc(n ? n * size : 1);
        if (d && n)
                memcpy(d, p, n * size);
        return d;
}

Rule *rule_copy(const Rule *r)
{
        Rule *n = calloc(1, sizeof(Rule));
        if (!n)
                return NULL;
        *n = *r;
        n->name = strdup(r->name);
        n->source = memdup_n(r->source, r->n_source, sizeof(IpPrefix));
        n->destination = memdup_n(r->destination, r->n_destination, sizeof(IpPrefix));
        n->ports = memdup_n(r->ports, r->n_ports, sizeof(PortRange));
        if (!n->name || !n->source || !n->destination || !n->ports)
                return rule_free(n);
        return n;
}

static bool list_equal(const IpPrefix *a, size_t na, const IpPrefix *b, size_t nb)
{
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (ip_prefix_compare(&a[i], &b[i]) != 0)
                        return false;
        return true;
}

bool rule_equal(const Rule *a, const Rule *b)
{
        if (!streq(a->name, b->name) || a->priority != b->priority || a->protocol != b->protocol ||
                        a->action != b->action || a->n_ports != b->n_ports)
                return false;
        for (size_t i = 0; i < a->n_ports; i++)
                if (a->ports[i].first != b->ports[i].first || a->ports[i].last != b->ports[i].last)
                        return false;
        return list_equal(a->source, a->n_source, b->source, b->n_source) &&
                list_equal(a->destination, a->n_destination, b->destination, b->n_destination);
}

static int cmp_prefix(const void *a, const void *b)
{
        return ip_prefix_compare(a, b);
}

static int build_list(char *const *s, size_t n, bool source, IpPrefix **ret, size_t *ret_n, const char **ret_error)
{
        _cleanup_free_ IpPrefix *v = NULL;
        size_t m = 0;

        if (n == 0)
                FAIL(-EINVAL, source ? "empty source list: leave it out for any source"
                                     : "empty destination list: leave it out for any destination");
        if (n > DLR_RULE_ADDRESSES_MAX)
                FAIL(-EINVAL, source ? "too many source prefixes (at most 4096)"
                                     : "too many destination prefixes (at most 4096)");
        v = calloc(n, sizeof(IpPrefix));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool with_len = s[i] && strchr(s[i], '/');
                if (!s[i] || (with_len ? ip_prefix_parse(s[i], &v[i]) : ip_addr_parse(s[i], &v[i])) < 0)
                        FAIL(-EINVAL, source ? "invalid source prefix: expected ADDRESS/LENGTH or ADDRESS"
                                             : "invalid destination prefix: expected ADDRESS/LENGTH or ADDRESS");
                if (!ip_prefix_is_network(&v[i]))
                        FAIL(-EINVAL, source ? "invalid source prefix: host bits are set"
                                             : "invalid destination prefix: host bits are set");
        }
        /* Sorted, a prefix comes after any prefix holding it, and what is kept is disjoint and sorted: only the
         * last one kept can hold the next. nftables interval sets refuse overlapping elements, and a prefix
         * inside another of the list adds nothing. */
        qsort(v, n, sizeof(IpPrefix), cmp_prefix);
        for (size_t i = 0; i < n; i++) {
                if (m > 0 && ip_prefix_contains(&v[m - 1], &v[i]))
                        continue;
                v[m++] = v[i];
        }
        *ret = TAKE_PTR(v);
        *ret_n = m;
        return 0;
}

int rule_build(const char *name, const RuleInput *in, Rule **ret, const char **ret_error)
{
        _cleanup_(rule_freep) Rule *r = NULL;
        int k;

        *ret_error = NULL;
        if (!name || dlr_name_check(name) < 0)
                FAIL(-EINVAL, "invalid rule name: use 1-64 characters of A-Z a-z 0-9 _ . -");
        if (!in->action)
                FAIL(-EINVAL, "a rule needs an action: allow, drop or reject");
        r = calloc(1, sizeof(Rule));
        if (!r)
                return -ENOMEM;
        r->name = strdup(name);
        if (!r->name)
                return -ENOMEM;
        r->priority = in->has_priority ? in->priority : DLR_RULE_PRIORITY_DEFAULT;
        r->action = rule_action_from_string(in->action);
        if (r->action < 0)
                FAIL(-EINVAL, "invalid action: expected allow, drop or reject");
        r->protocol = in->protocol ? rule_protocol_from_string(in->protocol) : RULE_PROTO_ANY;
        if (r->protocol < 0)
                FAIL(-EINVAL, "invalid protocol: expected any, tcp, udp, icmp or icmpv6");
        if (in->ports) {
                k = rule_ports_parse(in->ports, &r->ports, &r->n_ports, ret_error);
                if (k < 0)
                        return k;
        }
        if (in->has_source) {
                k = build_list(in->source, in->n_source, true, &r->source, &r->n_source, ret_error);
                if (k < 0)
                        return k;
        }
        if (in->has_destination) {
                k = build_list(in->destination, in->n_destination, false, &r->destination, &r->n_destination,
                        ret_error);
                if (k < 0)
                        return k;
        }
        k = rule_check(r, ret_error);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

/* ------------------------------------------------------------------ a router's rules */

static uint64_t name_hash(const char *s)
{
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h ^ (h >> 29);
}

/* The slot holding name, or the free slot where it would go. */
static size_t index_slot(const RuleIndex *x, const char *name)
{
        size_t mask = x->capacity - 1;
        for (size_t i = (size_t) name_hash(name) & mask;; i = (i + 1) & mask)
                if (!x->slots[i] || streq(x->slots[i]->name, name))
                        return i;
}

/* Room for n rules at most half full, so probe runs stay short. */
static int index_reserve(RuleIndex *x, size_t n)
{
        size_t cap = x->capacity ? x->capacity : 16;

        while (n * 2 > cap)
                cap *= 2;
        if (cap == x->capacity)
                return 0;
        RuleIndex m = { .slots = calloc(cap, sizeof(Rule *)), .capacity = cap };
        if (!m.slots)
                return -ENOMEM;
        for (size_t i = 0; i < x->capacity; i++)
                if (x->slots[i])
                        m.slots[index_slot(&m, x->slots[i]->name)] = x->slots[i];
        free(x->slots);
        *x = m;
        return 0;
}

static void index_remove(RuleIndex *x, const char *name)
{
        size_t mask = x->capacity - 1, hole = index_slot(x, name);

        /* Backward-shift deletion, as in the route table: probe runs stay intact without markers. */
        for (size_t j = (hole + 1) & mask; x->slots[j]; j = (j + 1) & mask) {
                size_t home = (size_t) name_hash(x->slots[j]->name) & mask;
                bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
                if (!stays) {
                        x->slots[hole] = x->slots[j];
                        hole = j;
                }
        }
        x->slots[hole] = NULL;
}

Rule *router_find_rule(const Router *r, const char *name)
{
        if (r->rule_index.capacity == 0)
                return NULL;
        return r->rule_index.slots[index_slot(&r->rule_index, name)];
}

/* The first position whose rule does not sort before (priority, name). */
static size_t rule_position(const Router *r, uint32_t priority, const char *name)
{
        size_t lo = 0, hi = r->n_rules;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const Rule *x = r->rules[mid];
                if (x->priority < priority || (x->priority == priority && strcmp(x->name, name) < 0))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

int router_rule_index(const Router *r, const char *name)
{
        const Rule *x = router_find_rule(r, name);
        if (!x)
                return -ENOENT;
        return (int) rule_position(r, x->priority, x->name);
}

static void array_remove(Router *r, size_t at)
{
        memmove(r->rules + at, r->rules + at + 1, (r->n_rules - at - 1) * sizeof(Rule *));
        r->n_rules--;
}

static void array_insert(Router *r, Rule *rule)
{
        size_t at = rule_position(r, rule->priority, rule->name);
        memmove(r->rules + at + 1, r->rules + at, (r->n_rules - at) * sizeof(Rule *));
        r->rules[at] = rule;
        r->n_rules++;
}

static int put_rule(Router *r, Rule *rule, Rule **ret_old, bool limit)
{
        Rule *old = router_find_rule(r, rule->name);

        if (old == rule) { /* already there, in its place */
                if (ret_old)
                        *ret_old = NULL;
                return 0;
        }
        if (old) {
                array_remove(r, rule_position(r, old->priority, old->name));
                array_insert(r, rule);
                r->rule_index.slots[index_slot(&r->rule_index, rule->name)] = rule;
                if (ret_old)
                        *ret_old = old;
                else
                        rule_free(old);
                return 0;
        }
        if (limit && r->n_rules >= DLR_RULES_MAX)
                return -ENOSPC;
        if (index_reserve(&r->rule_index, r->n_rules + 1) < 0)
                return -ENOMEM;
        /* Grown by doubling: a peer's state of tens of thousands of rules arrives one rule at a time. */
        if (ARRAY_GROW(r->rules, r->cap_rules, r->n_rules, 16) < 0)
                return -ENOMEM;
        array_insert(r, rule);
        r->rule_index.slots[index_slot(&r->rule_index, rule->name)] = rule;
        if (ret_old)
                *ret_old = NULL;
        return 0;
}

int router_put_rule(Router *r, Rule *rule, Rule **ret_old)
{
        return put_rule(r, rule, ret_old, true);
}

int router_put_rule_unlimited(Router *r, Rule *rule, Rule **ret_old)
{
        return put_rule(r, rule, ret_old, false);
}

Rule *router_detach_rule(Router *r, const char *name)
{
        Rule *x = router_find_rule(r, name);

        if (!x)
                return NULL;
        array_remove(r, rule_position(r, x->priority, x->name));
        index_remove(&r->rule_index, x->name);
        return x;
}
