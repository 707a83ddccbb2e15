/* Unit tests for daemon/state/rule.c: the firewall rules' port lists, the builder behind AddRule and Apply,
 * the checks that keep rules canonical, and a router's rules in (priority, name) order. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cleanup.h"
#include "state/config.h"
#include "unit.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Rule *, rule_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(Router *, router_free)

/* ---- ports ---- */

static char *ports_text(const char *in)
{
        PortRange *p = NULL;
        size_t n = 0;
        const char *why = "unset";
        char *s = NULL;

        ck_assert_msg(rule_ports_parse(in, &p, &n, &why) == 0, "\"%s\" refused: %s", in, why ? why : "(null)");
        ck_assert_ptr_null(why);
        ck_assert_int_eq(rule_ports_format(p, n, &s), 0);
        free(p);
        return s;
}

#define PORTS_AS(in, want)                                                                                  \
        do {                                                                                                \
                _cleanup_free_ char *_s = ports_text(in);                                                   \
                ck_assert_msg(strcmp(_s, (want)) == 0, "\"%s\" gave \"%s\", want \"%s\"", (in), _s, (want)); \
        } while (0)

START_TEST(test_ports_good)
{
        PortRange *p = NULL;
        size_t n = 0;
        const char *why = NULL;

        ck_assert_int_eq(rule_ports_parse("22,80,8000-8080", &p, &n, &why), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_eq(p[0].first, 22);
        ck_assert_uint_eq(p[0].last, 22);
        ck_assert_uint_eq(p[1].first, 80);
        ck_assert_uint_eq(p[2].first, 8000);
        ck_assert_uint_eq(p[2].last, 8080);
        free(p);

        PORTS_AS("22,80,8000-8080", "22,80,8000-8080");
        PORTS_AS("1", "1");
        PORTS_AS("65535", "65535");
        PORTS_AS("1-65535", "1-65535");
        PORTS_AS("7-7", "7");
        /* Sorted, and overlapping or adjacent ranges merged. */
        PORTS_AS("80,22", "22,80");
        PORTS_AS("22,22", "22");
        PORTS_AS("22,23,24", "22-24");
        PORTS_AS("10-20,21-30", "10-30");
        PORTS_AS("1-10,5-20", "1-20");
        PORTS_AS("100-200,150,90", "90,100-200");
        PORTS_AS("8080,443,80-81,82,1000-2000,1500-1600", "80-82,443,1000-2000,8080");
        PORTS_AS("65534,65535,1", "1,65534-65535");
}
END_TEST

static void ports_refused(const char *in, const char *want)
{
        PortRange *p = (PortRange *) 0x1;
        size_t n = 77;
        const char *why = NULL;

        ck_assert_msg(rule_ports_parse(in, &p, &n, &why) == -EINVAL, "\"%s\" accepted", in ? in : "(null)");
        /* Out-parameters are written only on success. */
        ck_assert_ptr_eq(p, (PortRange *) 0x1);
        ck_assert_uint_eq(n, 77);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strcmp(why, want) == 0, "\"%s\": \"%s\", want \"%s\"", in ? in : "(null)", why, want);
}

START_TEST(test_ports_bad)
{
        static const char syntax[] = "invalid port list: expected ports 1-65535 or ranges FIRST-LAST, separated by commas";

        ports_refused("", "empty port list: leave it out for any port");
        ports_refused(NULL, "empty port list: leave it out for any port");
        ports_refused("0", syntax);
        ports_refused("65536", syntax);
        ports_refused("99999", syntax);
        ports_refused("123456", syntax);
        ports_refused("0-10", syntax);
        ports_refused("10-65536", syntax);
        ports_refused("5-3", "invalid port range: the first port is above the last");
        ports_refused("22,", syntax);
        ports_refused(",22", syntax);
        ports_refused("22,,80", syntax);
        ports_refused(" 22", syntax);
        ports_refused("22 ", syntax);
        ports_refused("22, 80", syntax);
        ports_refused("a", syntax);
        ports_refused("+22", syntax);
        ports_refused("-22", syntax);
        ports_refused("22-", syntax);
        ports_refused("1-2-3", syntax);
        ports_refused("0x16", syntax);
        ports_refused("022", syntax);
        ports_refused("22;80", syntax);

        /* At most DLR_RULE_PORTS_MAX ranges as given: 256 separate ports pass, 257 do not. */
        char buf[4096];
        size_t at = 0;
        for (unsigned i = 0; i < DLR_RULE_PORTS_MAX; i++)
                at += (size_t) snprintf(buf + at, sizeof buf - at, "%s%u", i ? "," : "", 2 * i + 1);
        PortRange *p = NULL;
        size_t n = 0;
        const char *why = NULL;
        ck_assert_int_eq(rule_ports_parse(buf, &p, &n, &why), 0);
        ck_assert_uint_eq(n, DLR_RULE_PORTS_MAX);
        free(p);
        snprintf(buf + at, sizeof buf - at, ",%u", 2 * DLR_RULE_PORTS_MAX + 1);
        ports_refused(buf, "too many ports and port ranges (at most 256)");
}
END_TEST

/* ---- the builder ---- */

/* A NULL-terminated list for RuleInput. */
#define LIST(...) ((char *[]){ __VA_ARGS__, NULL })

static size_t list_len(char **v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

typedef struct Spec {
        const char *name;
        long priority; /* -1: not given */
        char **source; /* NULL: not given; LIST(NULL) would be an empty one, see EMPTY */
        bool empty_source;
        char **destination;
        bool empty_destination;
        const char *protocol, *ports, *action;
} Spec;

static int build(const Spec *s, Rule **ret, const char **why)
{
        RuleInput in = {
                .has_priority = s->priority >= 0,
                .priority = s->priority >= 0 ? (uint32_t) s->priority : 0,
                .has_source = s->source || s->empty_source,
                .source = s->source,
                .n_source = list_len(s->source),
                .has_destination = s->destination || s->empty_destination,
                .destination = s->destination,
                .n_destination = list_len(s->destination),
                .protocol = s->protocol,
                .ports = s->ports,
                .action = s->action,
        };
        *why = "unset";
        return rule_build(s->name ? s->name : "r", &in, ret, why);
}

static Rule *built(Spec s)
{
        Rule *r = NULL;
        const char *why;
        int k = build(&s, &r, &why);
        ck_assert_msg(k == 0, "refused (%d): %s", k, why ? why : "(null)");
        ck_assert_ptr_null(why);
        ck_assert_ptr_nonnull(r);
        return r;
}

static void build_refused(Spec s, const char *want)
{
        Rule *r = (Rule *) 0x1;
        const char *why;
        int k = build(&s, &r, &why);
        ck_assert_msg(k == -EINVAL, "gave %d, want -EINVAL (%s)", k, want);
        ck_assert_ptr_eq(r, (Rule *) 0x1);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strcmp(why, want) == 0, "\"%s\", want \"%s\"", why, want);
}

/* The rule's lists as text: "a,b|c,d". */
static const char *lists(const Rule *r)
{
        static char buf[1024];
        char p[IP_PREFIX_MAX_STR];
        size_t at = 0;

        buf[0] = 0;
        for (size_t i = 0; i < r->n_source; i++)
                at += (size_t) snprintf(buf + at, sizeof buf - at, "%s%s", i ? "," : "",
                        ip_prefix_to_string(&r->source[i], true, p, sizeof p));
        at += (size_t) snprintf(buf + at, sizeof buf - at, "|");
        for (size_t i = 0; i < r->n_destination; i++)
                at += (size_t) snprintf(buf + at, sizeof buf - at, "%s%s", i ? "," : "",
                        ip_prefix_to_string(&r->destination[i], true, p, sizeof p));
        return buf;
}

START_TEST(test_build_defaults)
{
        _cleanup_(rule_freep) Rule *r = built((Spec) { .name = "ssh", .priority = -1, .action = "allow" });

        ck_assert_str_eq(r->name, "ssh");
        ck_assert_uint_eq(r->priority, DLR_RULE_PRIORITY_DEFAULT);
        ck_assert_int_eq(r->protocol, RULE_PROTO_ANY);
        ck_assert_int_eq(r->action, RULE_ACTION_ALLOW);
        ck_assert_uint_eq(r->n_source, 0);
        ck_assert_uint_eq(r->n_destination, 0);
        ck_assert_uint_eq(r->n_ports, 0);
        ck_assert_uint_eq(r->stamp.lamport, 0);
        ck_assert_uint_eq(rule_families(r), RULE_FAMILY_IPV4 | RULE_FAMILY_IPV6);

        _cleanup_(rule_freep) Rule *w = built((Spec) { .name = "web", .priority = 0, .source = LIST("10.0.0.0/8"),
                .destination = LIST("192.0.2.10"), .protocol = "tcp", .ports = "443,80", .action = "reject" });
        ck_assert_uint_eq(w->priority, 0); /* given 0 is 0, not the default */
        ck_assert_int_eq(w->protocol, RULE_PROTO_TCP);
        ck_assert_int_eq(w->action, RULE_ACTION_REJECT);
        ck_assert_str_eq(lists(w), "10.0.0.0/8|192.0.2.10/32");
        ck_assert_uint_eq(w->n_ports, 2);
        ck_assert_uint_eq(w->ports[0].first, 80);
        ck_assert_uint_eq(rule_families(w), RULE_FAMILY_IPV4);

        _cleanup_(rule_freep) Rule *u = built((Spec) { .priority = 4294967295, .destination = LIST("2001:db8::1"),
                .protocol = "udp", .ports = "53", .action = "drop" });
        ck_assert_uint_eq(u->priority, UINT32_MAX);
        ck_assert_str_eq(lists(u), "|2001:db8::1/128");
        ck_assert_uint_eq(rule_families(u), RULE_FAMILY_IPV6);
}
END_TEST

START_TEST(test_build_refusals)
{
        static const char families[] = "source, destination and protocol share no address family";
        static const char names[] = "invalid rule name: use 1-64 characters of A-Z a-z 0-9 _ . -";

        build_refused((Spec) { .name = "", .priority = -1, .action = "allow" }, names);
        build_refused((Spec) { .name = "-x", .priority = -1, .action = "allow" }, names);
        build_refused((Spec) { .name = "a b", .priority = -1, .action = "allow" }, names);
        build_refused((Spec) { .priority = -1 }, "a rule needs an action: allow, drop or reject");
        build_refused((Spec) { .priority = -1, .action = "accept" }, "invalid action: expected allow, drop or reject");
        build_refused((Spec) { .priority = -1, .action = "" }, "invalid action: expected allow, drop or reject");
        build_refused((Spec) { .priority = -1, .protocol = "sctp", .action = "allow" },
                "invalid protocol: expected any, tcp, udp, icmp or icmpv6");
        build_refused((Spec) { .priority = -1, .protocol = "TCP", .action = "allow" },
                "invalid protocol: expected any, tcp, udp, icmp or icmpv6");
        build_refused((Spec) { .priority = -1, .protocol = "tcp", .ports = "0", .action = "allow" },
                "invalid port list: expected ports 1-65535 or ranges FIRST-LAST, separated by commas");
        build_refused((Spec) { .priority = -1, .protocol = "tcp", .ports = "", .action = "allow" },
                "empty port list: leave it out for any port");

        /* A list given empty would match nothing: "any" is the key left out. */
        build_refused((Spec) { .priority = -1, .empty_source = true, .action = "allow" },
                "empty source list: leave it out for any source");
        build_refused((Spec) { .priority = -1, .empty_destination = true, .action = "allow" },
                "empty destination list: leave it out for any destination");
        build_refused((Spec) { .priority = -1, .source = LIST("10.0.0.1/24"), .action = "allow" },
                "invalid source prefix: host bits are set");
        build_refused((Spec) { .priority = -1, .destination = LIST("2001:db8::1/64"), .action = "allow" },
                "invalid destination prefix: host bits are set");
        /* Even where the prefix would be dropped as inside another one. */
        build_refused((Spec) { .priority = -1, .source = LIST("10.0.0.0/8", "10.1.2.3/16"), .action = "allow" },
                "invalid source prefix: host bits are set");
        build_refused((Spec) { .priority = -1, .source = LIST("10.0.0.0/33"), .action = "allow" },
                "invalid source prefix: expected ADDRESS/LENGTH or ADDRESS");
        build_refused((Spec) { .priority = -1, .source = LIST("10.0.0.0/8", "web"), .action = "allow" },
                "invalid source prefix: expected ADDRESS/LENGTH or ADDRESS");
        build_refused((Spec) { .priority = -1, .destination = LIST("10.0.0.0/"), .action = "allow" },
                "invalid destination prefix: expected ADDRESS/LENGTH or ADDRESS");
        build_refused((Spec) { .priority = -1, .destination = LIST(" 10.0.0.0/8"), .action = "allow" },
                "invalid destination prefix: expected ADDRESS/LENGTH or ADDRESS");

        /* Ports only with a protocol that has them. */
        build_refused((Spec) { .priority = -1, .ports = "22", .action = "allow" }, "ports need protocol tcp or udp");
        build_refused((Spec) { .priority = -1, .protocol = "any", .ports = "22", .action = "allow" },
                "ports need protocol tcp or udp");
        build_refused((Spec) { .priority = -1, .protocol = "icmp", .ports = "22", .action = "allow" },
                "ports need protocol tcp or udp");

        /* Families: the source's, the destination's and the protocol's must meet. */
        build_refused((Spec) { .priority = -1, .source = LIST("2001:db8::/32"), .protocol = "icmp", .action = "allow" },
                families);
        build_refused((Spec) { .priority = -1, .destination = LIST("10.0.0.0/8"), .protocol = "icmpv6",
                              .action = "allow" },
                families);
        build_refused((Spec) { .priority = -1, .source = LIST("10.0.0.0/8"), .destination = LIST("2001:db8::/32"),
                              .action = "allow" },
                families);
        build_refused((Spec) { .priority = -1, .source = LIST("10.0.0.0/8"), .destination = LIST("2001:db8::/32"),
                              .protocol = "tcp", .ports = "22", .action = "allow" },
                families);

        /* But a family in common is enough, and icmp without lists is fine. */
        Rule *r = built((Spec) { .priority = -1, .source = LIST("10.0.0.0/8", "2001:db8::/32"),
                .destination = LIST("2001:db8:1::/48"), .action = "allow" });
        ck_assert_uint_eq(rule_families(r), RULE_FAMILY_IPV6);
        rule_free(r);
        r = built((Spec) { .priority = -1, .protocol = "icmpv6", .action = "drop" });
        ck_assert_uint_eq(rule_families(r), RULE_FAMILY_IPV6);
        rule_free(r);
        r = built((Spec) { .priority = -1, .source = LIST("0.0.0.0/0"), .protocol = "icmp", .action = "drop" });
        ck_assert_uint_eq(rule_families(r), RULE_FAMILY_IPV4);
        rule_free(r);

        /* At most DLR_RULE_ADDRESSES_MAX prefixes as given. */
        size_t n = DLR_RULE_ADDRESSES_MAX + 1;
        char **v = calloc(n + 1, sizeof(char *));
        ck_assert_ptr_nonnull(v);
        for (size_t i = 0; i < n; i++)
                v[i] = (char *) "10.0.0.0/8";
        build_refused((Spec) { .priority = -1, .source = v, .action = "allow" }, "too many source prefixes (at most 4096)");
        build_refused((Spec) { .priority = -1, .destination = v, .action = "allow" },
                "too many destination prefixes (at most 4096)");
        v[n - 1] = NULL; /* exactly the limit, all the same: one is left */
        r = built((Spec) { .priority = -1, .source = v, .action = "allow" });
        ck_assert_str_eq(lists(r), "10.0.0.0/8|");
        rule_free(r);
        free(v);
}
END_TEST

START_TEST(test_build_canonical_lists)
{
        Rule *r;

        /* Sorted (IPv4 first), duplicates gone, plain addresses as /32 and /128. */
        r = built((Spec) { .priority = -1,
                .source = LIST("192.0.2.7", "10.0.1.0/24", "10.0.0.0/24", "10.0.1.0/24", "2001:db8::1"),
                .action = "allow" });
        ck_assert_str_eq(lists(r), "10.0.0.0/24,10.0.1.0/24,192.0.2.7/32,2001:db8::1/128|");
        rule_free(r);

        /* Prefixes inside another of the list go, however deep and whatever their order. */
        r = built((Spec) { .priority = -1,
                .source = LIST("10.1.2.0/24", "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.255.255.255"),
                .destination = LIST("2001:db8:1::/48", "::/0", "2001:db8::/32", "192.0.2.0/24"), .action = "allow" });
        ck_assert_str_eq(lists(r), "10.0.0.0/8|192.0.2.0/24,::/0");
        rule_free(r);

        /* Siblings stay; nested prefixes go, whatever the depth and order. */
        r = built((Spec) { .priority = -1,
                .source = LIST("10.1.0.0/24", "10.0.5.0/24", "10.0.0.0/16", "10.0.0.0/16", "10.0.255.0/24",
                        "10.0.0.0/17"),
                .action = "allow" });
        ck_assert_str_eq(lists(r), "10.0.0.0/16,10.1.0.0/24|");
        rule_free(r);

        /* A host and its network in one list: the network is enough. */
        r = built((Spec) { .priority = -1, .destination = LIST("192.0.2.1", "192.0.2.0/31"), .action = "allow" });
        ck_assert_str_eq(lists(r), "|192.0.2.0/31");
        rule_free(r);
}
END_TEST

/* ---- checks on rules made without the builder (documents, merges, other modules) ---- */

static IpPrefix pfx[4];
static PortRange prt[3];

static Rule bare(void)
{
        return (Rule) { .name = (char *) "r", .priority = 1, .protocol = RULE_PROTO_TCP, .action = RULE_ACTION_DROP };
}

static void check_refused(const Rule *r, const char *want)
{
        const char *why = NULL;
        ck_assert_int_eq(rule_check(r, &why), -EINVAL);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strcmp(why, want) == 0, "\"%s\", want \"%s\"", why, want);
}

START_TEST(test_check)
{
        const char *why = "unset";
        Rule r = bare();

        ck_assert_int_eq(rule_check(&r, &why), 0);
        ck_assert_ptr_null(why);

        r.name = (char *) ".x";
        check_refused(&r, "invalid rule name: use 1-64 characters of A-Z a-z 0-9 _ . -");
        r = bare();
        r.protocol = _RULE_PROTO_MAX;
        check_refused(&r, "invalid protocol: expected any, tcp, udp, icmp or icmpv6");
        r = bare();
        r.action = _RULE_ACTION_INVALID;
        check_refused(&r, "invalid action: expected allow, drop or reject");

        /* Lists: networks, sorted, none inside another. */
        r = bare();
        pfx[0] = unit_prefix("10.0.0.0/8");
        pfx[1] = unit_prefix("192.0.2.0/24");
        r.source = pfx;
        r.n_source = 2;
        ck_assert_int_eq(rule_check(&r, &why), 0);
        pfx[1] = unit_prefix("10.1.0.0/16");
        check_refused(&r, "source prefixes not sorted, repeated or one inside another");
        pfx[1] = pfx[0];
        check_refused(&r, "source prefixes not sorted, repeated or one inside another");
        pfx[0] = unit_prefix("192.0.2.0/24");
        pfx[1] = unit_prefix("10.0.0.0/8");
        check_refused(&r, "source prefixes not sorted, repeated or one inside another");
        pfx[0] = unit_prefix("10.0.0.1/8");
        r.n_source = 1;
        check_refused(&r, "invalid source prefix: host bits are set");
        r = bare();
        pfx[0] = unit_prefix("2001:db8::/32");
        pfx[1] = unit_prefix("2001:db8::/48");
        r.destination = pfx;
        r.n_destination = 2;
        check_refused(&r, "destination prefixes not sorted, repeated or one inside another");
        r.n_destination = DLR_RULE_ADDRESSES_MAX + 1;
        check_refused(&r, "too many destination prefixes (at most 4096)");

        /* Ports: sorted, merged, 1..65535, and only for tcp and udp. */
        r = bare();
        prt[0] = (PortRange) { 22, 22 };
        prt[1] = (PortRange) { 80, 90 };
        r.ports = prt;
        r.n_ports = 2;
        ck_assert_int_eq(rule_check(&r, &why), 0);
        r.protocol = RULE_PROTO_UDP;
        ck_assert_int_eq(rule_check(&r, &why), 0);
        r.protocol = RULE_PROTO_ANY;
        check_refused(&r, "ports need protocol tcp or udp");
        r.protocol = RULE_PROTO_ICMPV6;
        check_refused(&r, "ports need protocol tcp or udp");
        r.protocol = RULE_PROTO_TCP;
        prt[1] = (PortRange) { 23, 30 };
        check_refused(&r, "port ranges not sorted, empty, overlapping or adjacent");
        prt[1] = (PortRange) { 10, 30 };
        check_refused(&r, "port ranges not sorted, empty, overlapping or adjacent");
        prt[1] = (PortRange) { 90, 80 };
        check_refused(&r, "port ranges not sorted, empty, overlapping or adjacent");
        prt[0] = (PortRange) { 0, 5 };
        r.n_ports = 1;
        check_refused(&r, "port ranges not sorted, empty, overlapping or adjacent");

        /* Families. */
        r = bare();
        r.protocol = RULE_PROTO_ICMP;
        pfx[0] = unit_prefix("2001:db8::/32");
        r.source = pfx;
        r.n_source = 1;
        ck_assert_uint_eq(rule_families(&r), 0);
        check_refused(&r, "source, destination and protocol share no address family");
}
END_TEST

/* ---- a router's rules ---- */

static Rule *mk(const char *name, uint32_t priority)
{
        Rule *r = calloc(1, sizeof(Rule));
        ck_assert_ptr_nonnull(r);
        r->name = strdup(name);
        ck_assert_ptr_nonnull(r->name);
        r->priority = priority;
        r->action = RULE_ACTION_DROP;
        return r;
}

static const char *order(const Router *r)
{
        static char buf[512];
        size_t at = 0;

        buf[0] = 0;
        for (size_t i = 0; i < r->n_rules; i++)
                at += (size_t) snprintf(buf + at, sizeof buf - at, "%s%s:%u", i ? " " : "", r->rules[i]->name,
                        r->rules[i]->priority);
        return buf;
}

START_TEST(test_put_order_and_replace)
{
        _cleanup_(router_freep) Router *r = router_new("blue", 1001, 1001);
        Rule *old = (Rule *) 0x1;

        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(r->default_action, RULE_ACTION_ALLOW);
        ck_assert_uint_eq(r->default_stamp.lamport, 0);
        ck_assert_ptr_null(router_find_rule(r, "a"));
        ck_assert_int_eq(router_rule_index(r, "a"), -ENOENT);

        ck_assert_int_eq(router_put_rule(r, mk("b", 100), &old), 0);
        ck_assert_ptr_null(old);
        ck_assert_int_eq(router_put_rule(r, mk("a", 100), NULL), 0);
        ck_assert_int_eq(router_put_rule(r, mk("z", 50), NULL), 0);
        ck_assert_int_eq(router_put_rule(r, mk("m", 1000), NULL), 0);
        ck_assert_int_eq(router_put_rule(r, mk("B", 100), NULL), 0); /* byte order: upper case first */
        ck_assert_str_eq(order(r), "z:50 B:100 a:100 b:100 m:1000");
        ck_assert_int_eq(router_rule_index(r, "z"), 0);
        ck_assert_int_eq(router_rule_index(r, "a"), 2);
        ck_assert_int_eq(router_rule_index(r, "m"), 4);
        ck_assert_str_eq(router_find_rule(r, "b")->name, "b");

        /* Replacing a rule by name moves it to where its new priority puts it and hands back the old one. */
        Rule *a2 = mk("a", 2000);
        ck_assert_int_eq(router_put_rule(r, a2, &old), 0);
        ck_assert_ptr_nonnull(old);
        ck_assert_uint_eq(old->priority, 100);
        rule_free(old);
        ck_assert_str_eq(order(r), "z:50 B:100 b:100 m:1000 a:2000");
        ck_assert_ptr_eq(router_find_rule(r, "a"), a2);
        ck_assert_int_eq(router_rule_index(r, "a"), 4);
        /* Freed when not asked for; the same priority keeps the place. */
        Rule *b2 = mk("b", 100);
        ck_assert_int_eq(router_put_rule(r, b2, NULL), 0);
        ck_assert_ptr_eq(router_find_rule(r, "b"), b2);
        ck_assert_ptr_eq(r->rules[2], b2);
        ck_assert_uint_eq(r->n_rules, 5);
        /* Putting the rule already there changes nothing. */
        ck_assert_int_eq(router_put_rule(r, b2, &old), 0);
        ck_assert_ptr_null(old);
        ck_assert_str_eq(order(r), "z:50 B:100 b:100 m:1000 a:2000");

        /* Detaching. */
        Rule *d = router_detach_rule(r, "b");
        ck_assert_ptr_eq(d, b2);
        rule_free(d);
        ck_assert_ptr_null(router_find_rule(r, "b"));
        ck_assert_int_eq(router_rule_index(r, "b"), -ENOENT);
        ck_assert_ptr_null(router_detach_rule(r, "b"));
        ck_assert_ptr_null(router_detach_rule(r, "nope"));
        ck_assert_str_eq(order(r), "z:50 B:100 m:1000 a:2000");
        ck_assert_int_eq(router_rule_index(r, "m"), 2);
}
END_TEST

/* Many rules: the name index grows, and finds every rule after deletions in the middle of probe runs. */
START_TEST(test_put_many)
{
        _cleanup_(router_freep) Router *r = router_new("blue", 1001, 1001);
        unsigned seed = 7;
        char name[16];
        const size_t n = 5000;

        for (size_t i = 0; i < n; i++) {
                snprintf(name, sizeof name, "r%zu", i);
                ck_assert_int_eq(router_put_rule(r, mk(name, (uint32_t) (rand_r(&seed) % 50)), NULL), 0);
        }
        ck_assert_uint_eq(r->n_rules, n);
        for (size_t i = 0; i < n; i += 2) {
                snprintf(name, sizeof name, "r%zu", i);
                rule_free(router_detach_rule(r, name));
        }
        ck_assert_uint_eq(r->n_rules, n / 2);
        for (size_t i = 0; i < n; i++) {
                snprintf(name, sizeof name, "r%zu", i);
                const Rule *x = router_find_rule(r, name);
                if (i % 2 == 0) {
                        ck_assert_ptr_null(x);
                        continue;
                }
                ck_assert_ptr_nonnull(x);
                ck_assert_str_eq(x->name, name);
                int at = router_rule_index(r, name);
                ck_assert_int_ge(at, 0);
                ck_assert_ptr_eq(r->rules[at], x);
        }
        for (size_t i = 1; i < r->n_rules; i++) {
                const Rule *x = r->rules[i - 1], *y = r->rules[i];
                ck_assert(x->priority < y->priority || (x->priority == y->priority && strcmp(x->name, y->name) < 0));
        }
}
END_TEST

START_TEST(test_put_limit)
{
        _cleanup_(router_freep) Router *r = router_new("blue", 1001, 1001);
        char name[16];

        for (size_t i = 0; i < DLR_RULES_MAX; i++) {
                snprintf(name, sizeof name, "r%05zu", i);
                ck_assert_int_eq(router_put_rule(r, mk(name, 1), NULL), 0);
        }
        /* A new name is refused and stays the caller's; a known one can still change. */
        Rule *x = mk("extra", 1);
        ck_assert_int_eq(router_put_rule(r, x, NULL), -ENOSPC);
        ck_assert_ptr_null(router_find_rule(r, "extra"));
        ck_assert_int_eq(router_put_rule(r, mk("r00007", 9), NULL), 0);
        ck_assert_uint_eq(r->n_rules, DLR_RULES_MAX);
        /* A merge may pass the limit for a while. */
        ck_assert_int_eq(router_put_rule_unlimited(r, x, NULL), 0);
        ck_assert_uint_eq(r->n_rules, DLR_RULES_MAX + 1);
        ck_assert_ptr_eq(router_find_rule(r, "extra"), x);
}
END_TEST

START_TEST(test_copy_equal)
{
        _cleanup_(rule_freep) Rule *a = built((Spec) { .name = "web", .priority = 10,
                .source = LIST("10.0.0.0/8", "2001:db8::/32"), .destination = LIST("192.0.2.0/24", "2001:db8:1::/48"),
                .protocol = "tcp", .ports = "80,443", .action = "reject" });
        a->stamp = (Stamp) { 5, 1 };
        _cleanup_(rule_freep) Rule *b = rule_copy(a);

        ck_assert_ptr_nonnull(b);
        ck_assert(rule_equal(a, b));
        ck_assert_ptr_ne(a->name, b->name);
        ck_assert_ptr_ne(a->source, b->source);
        ck_assert_ptr_ne(a->destination, b->destination);
        ck_assert_ptr_ne(a->ports, b->ports);
        ck_assert_uint_eq(b->stamp.lamport, 5);
        b->stamp = (Stamp) { 9, 2 };
        ck_assert(rule_equal(a, b)); /* stamps are not content */

#define DIFFERS(change, undo)                                                                               \
        do {                                                                                                \
                change;                                                                                     \
                ck_assert_msg(!rule_equal(a, b), "still equal after " #change);                             \
                undo;                                                                                       \
                ck_assert(rule_equal(a, b));                                                                \
        } while (0)
        DIFFERS(b->priority = 11, b->priority = 10);
        DIFFERS(b->protocol = RULE_PROTO_UDP, b->protocol = RULE_PROTO_TCP);
        DIFFERS(b->action = RULE_ACTION_DROP, b->action = RULE_ACTION_REJECT);
        DIFFERS(b->name[0] = 'x', b->name[0] = 'w');
        DIFFERS(b->ports[1].last = 444, b->ports[1].last = 443);
        DIFFERS(b->n_ports = 1, b->n_ports = 2);
        DIFFERS(b->source[1].plen = 33, b->source[1].plen = 32);
        DIFFERS(b->n_source = 1, b->n_source = 2);
        DIFFERS(b->destination[0].addr[2] = 3, b->destination[0].addr[2] = 2);
        DIFFERS(b->n_destination = 0, b->n_destination = 2);
#undef DIFFERS

        /* A rule without lists or ports copies too. */
        _cleanup_(rule_freep) Rule *c = built((Spec) { .priority = -1, .action = "allow" });
        _cleanup_(rule_freep) Rule *d = rule_copy(c);
        ck_assert_ptr_nonnull(d);
        ck_assert(rule_equal(c, d));
}
END_TEST

/* config_copy takes the rules (with their order, stamps and index) and the default action along. */
START_TEST(test_config_copy)
{
        _cleanup_(config_freep) Config *c = config_new(), *n = NULL;
        Router *r = unit_router(c, "blue", 1001);
        int h = config_host_index(c, "hostA");

        ck_assert_int_ge(h, 0);
        Rule *x = built((Spec) { .name = "ssh", .priority = 5, .source = LIST("10.0.0.0/8"), .protocol = "tcp",
                .ports = "22", .action = "allow" });
        x->stamp = (Stamp) { 3, (uint32_t) h };
        ck_assert_int_eq(router_put_rule(r, x, NULL), 0);
        ck_assert_int_eq(router_put_rule(r, mk("all", 9), NULL), 0);
        r->default_action = RULE_ACTION_DROP;
        r->default_stamp = (Stamp) { 4, (uint32_t) h };

        ck_assert_int_eq(config_copy(c, &n), 0);
        Router *nr = config_find_router(n, "blue");
        ck_assert_ptr_nonnull(nr);
        ck_assert_uint_eq(nr->n_rules, 2);
        ck_assert_str_eq(order(nr), "ssh:5 all:9");
        const Rule *y = router_find_rule(nr, "ssh");
        ck_assert_ptr_nonnull(y);
        ck_assert_ptr_ne(y, x);
        ck_assert(rule_equal(x, y));
        ck_assert_uint_eq(y->stamp.lamport, 3);
        ck_assert_int_eq(nr->default_action, RULE_ACTION_DROP);
        ck_assert_uint_eq(nr->default_stamp.lamport, 4);
        ck_assert_str_eq(n->hosts[nr->default_stamp.host], "hostA");
}
END_TEST

START_TEST(test_strings)
{
        static const char *const protos[] = { "any", "tcp", "udp", "icmp", "icmpv6" };
        static const char *const actions[] = { "allow", "drop", "reject" };

        for (int i = 0; i < _RULE_PROTO_MAX; i++) {
                ck_assert_str_eq(rule_protocol_to_string((RuleProtocol) i), protos[i]);
                ck_assert_int_eq(rule_protocol_from_string(protos[i]), i);
        }
        for (int i = 0; i < _RULE_ACTION_MAX; i++) {
                ck_assert_str_eq(rule_action_to_string((RuleAction) i), actions[i]);
                ck_assert_int_eq(rule_action_from_string(actions[i]), i);
        }
        ck_assert_int_eq(rule_protocol_from_string("ICMP"), -EINVAL);
        ck_assert_int_eq(rule_protocol_from_string(NULL), -EINVAL);
        ck_assert_int_eq(rule_action_from_string("accept"), -EINVAL);
        ck_assert_ptr_null(rule_protocol_to_string(_RULE_PROTO_MAX));
        ck_assert_ptr_null(rule_action_to_string(_RULE_ACTION_INVALID));
        ck_assert_str_eq(tomb_kind_to_string(TOMB_RULE), "rule");
        ck_assert_int_eq(tomb_kind_from_string("rule"), TOMB_RULE);
}
END_TEST

static Suite *rule_suite(void)
{
        Suite *s = suite_create("rule");
        TCase *tc = tcase_create("rule");
        tcase_add_test(tc, test_strings);
        tcase_add_test(tc, test_ports_good);
        tcase_add_test(tc, test_ports_bad);
        tcase_add_test(tc, test_build_defaults);
        tcase_add_test(tc, test_build_refusals);
        tcase_add_test(tc, test_build_canonical_lists);
        tcase_add_test(tc, test_check);
        tcase_add_test(tc, test_put_order_and_replace);
        tcase_add_test(tc, test_put_many);
        tcase_add_test(tc, test_put_limit);
        tcase_add_test(tc, test_copy_equal);
        tcase_add_test(tc, test_config_copy);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(rule_suite());
}
