/* The nftables module against the running kernel, in a network namespace of its own (needs root; skipped,
 * exit 77, only where nf_tables itself is unavailable). The kernel's own view is read back with nft(8).
 * Kernels without nft_meta_bridge / nf_conntrack_bridge / bridge reject get the degraded ruleset nft.h
 * describes; the checks follow nft_features(). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nft/nft-internal.h"
#include "nft/nft.h"
#include "shared/cleanup.h"
#include "unit.h"

/* --- helpers ------------------------------------------------------------------------------------------ */

static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh(const char *fmt, ...)
{
        char cmd[1024], *out = NULL;
        size_t len = 0;
        va_list ap;
        FILE *f, *p;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        f = open_memstream(&out, &len);
        ck_assert_ptr_nonnull(f);
        p = popen(cmd, "r");
        ck_assert_msg(p != NULL, "cannot run %s", cmd);
        for (int c; (c = fgetc(p)) != EOF;)
                fputc(c, f);
        int status = pclose(p);
        fclose(f);
        ck_assert_msg(status == 0, "%s failed (%d): %s", cmd, status, out);
        return out;
}

static void run(const char *cmd)
{
        free(sh("%s", cmd));
}

static IpPrefix *prefixes(const char *const *v, size_t *ret_n)
{
        size_t n = 0;
        IpPrefix *p;

        while (v && v[n])
                n++;
        *ret_n = n;
        if (n == 0)
                return NULL;
        p = calloc(n, sizeof *p);
        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < n; i++)
                p[i] = unit_prefix(v[i]);
        return p;
}

#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

static Rule *t_rule(const char *name, uint32_t priority, const char *const *src, const char *const *dst,
                RuleProtocol proto, const char *ports, RuleAction action)
{
        Rule *r = calloc(1, sizeof *r);

        ck_assert_ptr_nonnull(r);
        r->name = strdup(name);
        r->priority = priority;
        r->source = prefixes(src, &r->n_source);
        r->destination = prefixes(dst, &r->n_destination);
        r->protocol = proto;
        r->action = action;
        if (ports) {
                /* "a,b-c": enough for the test's sorted, disjoint lists. */
                char *copy = strdup(ports), *save = NULL;
                r->ports = calloc(16, sizeof *r->ports);
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                        unsigned a, b;
                        if (sscanf(t, "%u-%u", &a, &b) != 2)
                                b = a = (unsigned) atoi(t);
                        r->ports[r->n_ports++] = (PortRange) { (uint16_t) a, (uint16_t) b };
                }
                free(copy);
        }
        return r;
}

static void t_rule_free(Rule *r)
{
        free(r->name);
        free(r->source);
        free(r->destination);
        free(r->ports);
        free(r);
}

static int t_rule_cmp(const Rule *a, const Rule *b)
{
        if (a->priority != b->priority)
                return a->priority < b->priority ? -1 : 1;
        return strcmp(a->name, b->name);
}

/* Inserts in (priority, name) order, as router_put_rule() keeps them. */
static Rule *t_put(Router *r, Rule *rule)
{
        size_t i = 0;

        r->rules = realloc(r->rules, (r->n_rules + 1) * sizeof *r->rules);
        ck_assert_ptr_nonnull(r->rules);
        while (i < r->n_rules && t_rule_cmp(r->rules[i], rule) < 0)
                i++;
        memmove(&r->rules[i + 1], &r->rules[i], (r->n_rules - i) * sizeof *r->rules);
        r->rules[i] = rule;
        r->n_rules++;
        return rule;
}

static void t_remove(Router *r, const char *name)
{
        for (size_t i = 0; i < r->n_rules; i++)
                if (streq(r->rules[i]->name, name)) {
                        t_rule_free(r->rules[i]);
                        memmove(&r->rules[i], &r->rules[i + 1], (r->n_rules - i - 1) * sizeof *r->rules);
                        r->n_rules--;
                        return;
                }
        ck_abort_msg("no rule %s", name);
}

/* The rules are the test's own: free them before the Config, whoever frees Router.rules later. */
static void t_config_free(Config *c)
{
        for (size_t i = 0; i < c->n_routers; i++) {
                Router *r = c->routers[i];
                for (size_t j = 0; j < r->n_rules; j++)
                        t_rule_free(r->rules[j]);
                free(r->rules);
                r->rules = NULL;
                r->n_rules = 0;
        }
        config_free(c);
}

/* blue (table 1001): LIFs web (VXLAN 5000) and db (VXLAN 5001); three rules with lists and ports; default
 * drop. */
static Config *t_config(void)
{
        Config *c = config_new();
        Router *r;

        ck_assert_ptr_nonnull(c);
        r = unit_router(c, "blue", 1001);
        unit_lif(c, r, "web", "vxlan", 5000, 0, "10.0.0.1/24", "2001:db8::1/64");
        unit_lif(c, r, "db", "vxlan", 5001, 0, "10.1.0.1/24");
        t_put(r, t_rule("ssh-in", 100, LIST("10.0.0.0/24", "192.168.0.0/16"), LIST("10.1.0.0/24"), RULE_PROTO_TCP,
                                "22", RULE_ACTION_ALLOW));
        t_put(r, t_rule("web-in", 200, NULL, LIST("10.1.0.10/32", "2001:db8:1::/64"), RULE_PROTO_TCP,
                                "80,443,8000-8080", RULE_ACTION_ALLOW));
        t_put(r, t_rule("dns", 300, NULL, NULL, RULE_PROTO_UDP, "53", RULE_ACTION_ALLOW));
        r->default_action = RULE_ACTION_DROP;
        return c;
}

static Nft *t_nft(void)
{
        Nft *n = NULL;
        ck_assert_int_eq(nft_new(&n), 0);
        return n;
}

static void t_sync(Nft *n, const Config *c)
{
        DlrError e = {};
        int k = nft_sync(n, c, "hostA", &e);
        ck_assert_msg(k == 0, "nft_sync: %d %s", k, e.msg);
}

/* The comments (dlrd rule names) of a router chain's rules in evaluation order, jumps into chunks followed,
 * one per line; "(default)" last. */
static char *evaluation_order(const char *chain)
{
        char *list = sh("nft list chain bridge dlrd '%s'", chain), *save = NULL, *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char target[256], name[256];
                const char *c = strstr(line, "comment \"");
                if (sscanf(line, " jump %255s", target) == 1) {
                        char *sub = evaluation_order(target);
                        fputs(sub, f);
                        free(sub);
                } else if (c && sscanf(c, "comment \"%255[^\"]\"", name) == 1)
                        fprintf(f, "%s\n", name);
        }
        fclose(f);
        free(list);
        return out;
}

/* The handle of the kernel rule with this comment and text in a listing with handles (-a). */
static unsigned long handle_of(const char *listing, const char *comment, const char *text)
{
        char key[300];
        const char *line = listing;

        snprintf(key, sizeof key, "comment \"%s\" # handle ", comment);
        while ((line = strstr(line, key))) {
                const char *start = line;
                while (start > listing && start[-1] != '\n')
                        start--;
                if (!text || (strstr(start, text) && strstr(start, text) < line))
                        return strtoul(line + strlen(key), NULL, 10);
                line++;
        }
        return 0;
}

/* Every test in a network namespace of its own (with Check's fork, the child's): links a failed test left
 * behind cannot break the next one. */
static void setup(void)
{
        ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare: %s", strerror(errno));
        run("nft flush ruleset");
}

/* --- tests -------------------------------------------------------------------------------------------- */

START_TEST(test_layout)
{
        Config *c = t_config();
        Nft *n = t_nft();
        char *out, *order;

        t_sync(n, c);
        out = sh("nft list table bridge dlrd");
        ck_assert_ptr_nonnull(strstr(out, "chain from-vm-blue {"));
        ck_assert_ptr_nonnull(strstr(out, "chain to-vm-blue {"));
        ck_assert_ptr_nonnull(strstr(out, "ip saddr { 10.0.0.0/24, 192.168.0.0/16 } ip daddr 10.1.0.0/24 tcp dport 22 "
                                          "counter packets 0 bytes 0 accept comment \"ssh-in\""));
        ck_assert_ptr_nonnull(strstr(out, "ip daddr 10.1.0.10 tcp dport { 80, 443, 8000-8080 } counter"));
        ck_assert_ptr_nonnull(strstr(out, "ip6 daddr 2001:db8:1::/64 tcp dport { 80, 443, 8000-8080 } counter"));
        ck_assert_ptr_nonnull(strstr(out, "udp dport 53 counter packets 0 bytes 0 accept comment \"dns\""));
        ck_assert_ptr_nonnull(strstr(out, "counter packets 0 bytes 0 drop comment \"(default)\""));
        ck_assert_ptr_nonnull(strstr(out, "icmp type destination-unreachable icmp code frag-needed accept"));
        ck_assert_ptr_nonnull(strstr(out, "icmpv6 type packet-too-big accept"));
        /* Gateway protection. */
        ck_assert_ptr_nonnull(strstr(out, "\"dlvx5000\" . 10.0.0.1"));
        ck_assert_ptr_nonnull(strstr(out, "\"dlvx5000\" . 2001:db8::1"));
        ck_assert_ptr_nonnull(strstr(out, "iifname @underlay ether saddr @gateway-macs drop"));
        ck_assert_ptr_nonnull(strstr(out, "oifname . arp saddr ip @gateway4 drop"));
        ck_assert_ptr_nonnull(strstr(out, "oifname . arp daddr ip @gateway4 drop"));
        if (nft_features(n) & NFT_FEATURE_BRIDGE_META) {
                ck_assert_ptr_nonnull(strstr(out, "meta ibrname vmap @from-vm"));
                ck_assert_ptr_nonnull(strstr(out, "\"dlbr5000\" : jump from-vm-blue"));
        }
        if (nft_features(n) & NFT_FEATURE_BRIDGE_CT) {
                ck_assert_ptr_nonnull(strstr(out, "ct state established,related accept"));
                ck_assert_ptr_nonnull(strstr(out, "ct zone set"));
        } else
                ck_assert_ptr_null(strstr(out, "ct state"));
        free(out);

        order = evaluation_order("from-vm-blue");
        ck_assert_str_eq(order, "ssh-in\nweb-in\nweb-in\ndns\n(default)\n");
        free(order);
        order = evaluation_order("to-vm-blue");
        ck_assert_str_eq(order, "ssh-in\nweb-in\nweb-in\ndns\n(default)\n");
        free(order);

        out = sh("nft list table inet dlrd");
        ck_assert_ptr_nonnull(strstr(out, "\"dlbr5000\" : 1001"));
        ck_assert_ptr_nonnull(strstr(out, "\"dlbr5001\" : 1001"));
        ck_assert_ptr_nonnull(strstr(out, "ct zone set iifname map @zones"));
        free(out);
        nft_free(n);
        t_config_free(c);
}
END_TEST

START_TEST(test_sync_idempotent)
{
        Config *c = t_config();
        Nft *n = t_nft();
        char *a, *b;

        t_sync(n, c);
        a = sh("nft list ruleset");
        t_sync(n, c);
        b = sh("nft list ruleset");
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
        nft_free(n);
        t_config_free(c);
}
END_TEST

START_TEST(test_put_delete_default)
{
        Config *c = t_config();
        Router *r = c->routers[0];
        Nft *n = t_nft();
        DlrError e = {};
        char *before, *after, *order;

        t_sync(n, c);
        before = sh("nft -a list table bridge dlrd");
        Rule *mid = t_put(r, t_rule("mid", 150, LIST("2001:db8:5::/48"), NULL, RULE_PROTO_ANY, NULL, RULE_ACTION_REJECT));
        ck_assert_int_eq(nft_rule_put(n, c, r, mid, &e), 0);
        order = evaluation_order("from-vm-blue");
        ck_assert_str_eq(order, "ssh-in\nmid\nweb-in\nweb-in\ndns\n(default)\n");
        free(order);
        order = evaluation_order("to-vm-blue");
        ck_assert_str_eq(order, "ssh-in\nmid\nweb-in\nweb-in\ndns\n(default)\n");
        free(order);
        after = sh("nft -a list table bridge dlrd");
        /* The neighbours were not rewritten: same handles. */
        ck_assert_uint_ne(handle_of(before, "ssh-in", NULL), 0);
        ck_assert_uint_eq(handle_of(before, "ssh-in", NULL), handle_of(after, "ssh-in", NULL));
        ck_assert_uint_eq(handle_of(before, "web-in", "ip6"), handle_of(after, "web-in", "ip6"));
        ck_assert_uint_eq(handle_of(before, "(default)", NULL), handle_of(after, "(default)", NULL));
        ck_assert_ptr_nonnull(strstr(after, "ip6 saddr 2001:db8:5::/48 counter packets 0 bytes 0 "));
        if (nft_features(n) & NFT_FEATURE_BRIDGE_REJECT)
                ck_assert_ptr_nonnull(strstr(after, "reject with icmpx admin-prohibited comment \"mid\""));
        free(before);
        free(after);

        /* Replacing it with a new priority moves it. */
        Rule *moved = t_rule("mid", 350, LIST("2001:db8:5::/48"), NULL, RULE_PROTO_ANY, NULL, RULE_ACTION_DROP);
        t_remove(r, "mid");
        t_put(r, moved);
        ck_assert_int_eq(nft_rule_put(n, c, r, moved, &e), 0);
        order = evaluation_order("from-vm-blue");
        ck_assert_str_eq(order, "ssh-in\nweb-in\nweb-in\ndns\nmid\n(default)\n");
        free(order);

        /* Deleting removes exactly that rule. */
        before = sh("nft -a list table bridge dlrd");
        t_remove(r, "web-in");
        ck_assert_int_eq(nft_rule_delete(n, r, "web-in", &e), 0);
        after = sh("nft -a list table bridge dlrd");
        ck_assert_ptr_null(strstr(after, "web-in"));
        ck_assert_uint_eq(handle_of(before, "ssh-in", NULL), handle_of(after, "ssh-in", NULL));
        ck_assert_uint_eq(handle_of(before, "dns", NULL), handle_of(after, "dns", NULL));
        ck_assert_uint_eq(handle_of(before, "mid", NULL), handle_of(after, "mid", NULL));
        order = evaluation_order("to-vm-blue");
        ck_assert_str_eq(order, "ssh-in\ndns\nmid\n(default)\n");
        free(order);
        free(before);
        free(after);

        /* The default action changes alone. */
        before = sh("nft -a list table bridge dlrd");
        r->default_action = RULE_ACTION_ALLOW;
        ck_assert_int_eq(nft_default_action(n, r, &e), 0);
        after = sh("nft -a list table bridge dlrd");
        ck_assert_ptr_nonnull(strstr(before, "drop comment \"(default)\""));
        ck_assert_ptr_nonnull(strstr(after, "accept comment \"(default)\""));
        ck_assert_ptr_null(strstr(after, "drop comment \"(default)\""));
        {
                /* Every line but the two default rules is unchanged. */
                char *sb = NULL, *sa = NULL;
                char *lb = strtok_r(before, "\n", &sb), *la = strtok_r(after, "\n", &sa);
                int differ = 0;
                for (; lb && la; lb = strtok_r(NULL, "\n", &sb), la = strtok_r(NULL, "\n", &sa))
                        if (!streq(lb, la)) {
                                ck_assert_ptr_nonnull(strstr(lb, "(default)"));
                                differ++;
                        }
                ck_assert_ptr_null(lb);
                ck_assert_ptr_null(la);
                ck_assert_int_eq(differ, 2);
        }
        free(before);
        free(after);

        /* A full pass agrees with the incremental result. */
        before = sh("nft list chain bridge dlrd from-vm-blue");
        t_sync(n, c);
        after = evaluation_order("from-vm-blue");
        ck_assert_str_eq(after, "ssh-in\ndns\nmid\n(default)\n");
        free(before);
        free(after);
        nft_free(n);
        t_config_free(c);
}
END_TEST

START_TEST(test_chunks_split)
{
        Config *c = t_config();
        Router *r = c->routers[0];
        Nft *n = t_nft();
        DlrError e = {};
        char *order, expect[8192] = "";

        t_sync(n, c);
        /* 150 rules, each inserted right after ssh-in: chunks fill up and split. */
        for (int i = 0; i < 150; i++) {
                char name[16];
                snprintf(name, sizeof name, "r%03d", 149 - i);
                Rule *x = t_put(r, t_rule(name, 150, NULL, NULL, RULE_PROTO_TCP, "1000", RULE_ACTION_ALLOW));
                ck_assert_msg(nft_rule_put(n, c, r, x, &e) == 0, "%s", e.msg);
        }
        for (size_t i = 0; i < r->n_rules; i++) {
                strcat(expect, r->rules[i]->name);
                strcat(expect, "\n");
                if (streq(r->rules[i]->name, "web-in"))
                        strcat(expect, "web-in\n");
        }
        strcat(expect, "(default)\n");
        order = evaluation_order("from-vm-blue");
        ck_assert_str_eq(order, expect);
        free(order);
        order = evaluation_order("to-vm-blue");
        ck_assert_str_eq(order, expect);
        free(order);
        /* No chunk above the limit. */
        for (size_t i = 0; i < n->routers[0]->n_chunks; i++)
                ck_assert_uint_le(n->routers[0]->chunks[i].n, NFT_CHUNK_MAX);
        ck_assert_uint_gt(n->routers[0]->n_chunks, 2);

        /* Deleting them all empties and removes their chunks. */
        for (int i = 0; i < 150; i++) {
                char name[16];
                snprintf(name, sizeof name, "r%03d", i);
                t_remove(r, name);
                ck_assert_msg(nft_rule_delete(n, r, name, &e) == 0, "%s", e.msg);
        }
        order = evaluation_order("from-vm-blue");
        ck_assert_str_eq(order, "ssh-in\nweb-in\nweb-in\ndns\n(default)\n");
        free(order);
        char *chains = sh("nft list chains bridge | grep -c 'chain from-vm-blue/' || true");
        ck_assert_int_eq(atoi(chains), (int) n->routers[0]->n_chunks);
        free(chains);
        nft_free(n);
        t_config_free(c);
}
END_TEST

START_TEST(test_refused_changes_nothing)
{
        Config *c = t_config();
        Router *r = c->routers[0];
        Nft *n = t_nft();
        DlrError e = {};
        char *before, *after;

        run("nft add table inet other");
        t_sync(n, c);
        before = sh("nft list ruleset");
        ck_assert_int_eq(nft_test_poison_rule(n, "bad"), 0);
        Rule *bad = t_put(r, t_rule("bad", 250, LIST("10.9.0.0/16", "10.8.0.0/16"), NULL, RULE_PROTO_ANY, NULL,
                                        RULE_ACTION_DROP));
        ck_assert_int_lt(nft_rule_put(n, c, r, bad, &e), 0);
        ck_assert_int_eq(e.kind, DLR_ERROR_KERNEL);
        ck_assert_msg(strstr(e.msg, "dlr=blue rule=bad: ") != NULL, "error message: %s", e.msg);
        after = sh("nft list ruleset");
        ck_assert_str_eq(before, after);
        free(after);

        /* A whole sync refused for one rule changes nothing either. */
        ck_assert_int_lt(nft_sync(n, c, "hostA", &e), 0);
        ck_assert_msg(strstr(e.msg, "dlr=blue rule=bad: ") != NULL, "error message: %s", e.msg);
        after = sh("nft list ruleset");
        ck_assert_str_eq(before, after);
        free(after);

        /* Once it compiles, the rule goes in. */
        ck_assert_int_eq(nft_test_poison_rule(n, NULL), 0);
        ck_assert_int_eq(nft_rule_put(n, c, r, bad, &e), 0);
        after = evaluation_order("from-vm-blue");
        ck_assert_str_eq(after, "ssh-in\nweb-in\nweb-in\nbad\ndns\n(default)\n");
        free(after);
        free(before);
        nft_free(n);
        t_config_free(c);
}
END_TEST

START_TEST(test_foreign_table_untouched)
{
        Config *c = t_config();
        Router *r = c->routers[0];
        Nft *n = t_nft();
        DlrError e = {};
        char *before, *after;

        run("nft add table inet other && nft add chain inet other c '{ type filter hook input priority 0; }' && "
            "nft add rule inet other c tcp dport 22 counter accept && nft add table bridge other");
        before = sh("nft list table inet other; nft list table bridge other");
        t_sync(n, c);
        Rule *x = t_put(r, t_rule("x", 10, NULL, NULL, RULE_PROTO_ICMP, NULL, RULE_ACTION_DROP));
        ck_assert_int_eq(nft_rule_put(n, c, r, x, &e), 0);
        t_remove(r, "dns");
        ck_assert_int_eq(nft_rule_delete(n, r, "dns", &e), 0);
        ck_assert_int_eq(nft_default_action(n, r, &e), 0);
        t_sync(n, c);
        after = sh("nft list table inet other; nft list table bridge other");
        ck_assert_str_eq(before, after);
        free(before);
        free(after);
        nft_free(n);
        t_config_free(c);
}
END_TEST

START_TEST(test_monitor)
{
        Config *c = t_config();
        Router *r = c->routers[0];
        Nft *n = t_nft();
        DlrError e = {};
        char *out;

        run("nft add table inet other");
        t_sync(n, c);
        ck_assert_int_eq(nft_monitor_process(n), 0); /* our own transactions */
        Rule *x = t_put(r, t_rule("x", 10, NULL, NULL, RULE_PROTO_ICMP, NULL, RULE_ACTION_DROP));
        ck_assert_int_eq(nft_rule_put(n, c, r, x, &e), 0);
        ck_assert_int_eq(nft_default_action(n, r, &e), 0);
        ck_assert_int_eq(nft_monitor_process(n), 0);
        run("nft add chain inet other c");
        ck_assert_int_eq(nft_monitor_process(n), 0); /* not ours */
        run("nft delete table bridge dlrd");
        ck_assert_int_eq(nft_monitor_process(n), 1);
        ck_assert_int_eq(nft_monitor_process(n), 0);
        /* The next change repairs everything. */
        Rule *y = t_put(r, t_rule("y", 20, NULL, NULL, RULE_PROTO_ICMP, NULL, RULE_ACTION_DROP));
        ck_assert_int_eq(nft_rule_put(n, c, r, y, &e), 0);
        out = evaluation_order("from-vm-blue");
        ck_assert_str_eq(out, "x\ny\nssh-in\nweb-in\nweb-in\ndns\n(default)\n");
        free(out);
        ck_assert_int_eq(nft_monitor_process(n), 0);
        /* A rule added to our chain by hand is noticed too. */
        run("nft add rule inet dlrd zone accept");
        ck_assert_int_eq(nft_monitor_process(n), 1);
        nft_free(n);
        t_config_free(c);
}
END_TEST

START_TEST(test_fallbacks)
{
        Config *c = t_config();
        Nft *n = t_nft();
        DlrError e = {};
        char *out;

        /* Never synced: no host id known, the caller is told to sync. */
        Rule *x = t_put(c->routers[0], t_rule("x", 10, NULL, NULL, RULE_PROTO_ICMP, NULL, RULE_ACTION_DROP));
        ck_assert_int_lt(nft_rule_put(n, c, c->routers[0], x, &e), 0);
        t_sync(n, c);
        /* A router the last sync did not know: its rule triggers a full pass. */
        Router *red = unit_router(c, "red", 70000);
        unit_lif(c, red, "a", "vxlan", 6000, 0, "10.6.0.1/24");
        Rule *y = t_put(red, t_rule("y", 10, NULL, NULL, RULE_PROTO_ICMP, NULL, RULE_ACTION_DROP));
        ck_assert_int_eq(nft_rule_put(n, c, red, y, &e), 0);
        out = evaluation_order("from-vm-red");
        ck_assert_str_eq(out, "y\n(default)\n");
        free(out);
        out = sh("nft list map inet dlrd zones");
        ck_assert_ptr_nonnull(strstr(out, "\"dlbr6000\" : 4466"));
        free(out);
        /* Rules deleted by hand: deleting one of ours still succeeds, by rebuilding the router's chains. */
        run("nft flush chain bridge dlrd from-vm-red/0");
        red->default_action = RULE_ACTION_REJECT;
        ck_assert_int_eq(nft_default_action(n, red, &e), 0);
        t_remove(red, "y");
        ck_assert_int_eq(nft_rule_delete(n, red, "y", &e), 0);
        out = evaluation_order("to-vm-red");
        ck_assert_str_eq(out, "(default)\n");
        free(out);
        nft_free(n);
        t_config_free(c);
}
END_TEST

START_TEST(test_designated_and_zones)
{
        Config *c = config_new();
        uint16_t zones[3];
        IpPrefix v = unit_prefix("192.0.2.1/32");

        ck_assert(nft_designated(c, "b"));
        ck_assert_int_eq(config_add_member(c, member_new("b", &v, "unix:path=/b", "")), 0);
        ck_assert_int_eq(config_add_member(c, member_new("a", &v, "unix:path=/a", "")), 0);
        ck_assert(nft_designated(c, "a"));
        ck_assert(!nft_designated(c, "b"));
        unit_router(c, "r1", 1001);
        unit_router(c, "r2", 70000);
        unit_router(c, "r3", 4466);
        nft_router_zones(c, zones);
        ck_assert_uint_eq(zones[0], 1001);
        ck_assert_uint_eq(zones[1], 4467); /* 70000 % 65535 + 1 = 4466 is r3's */
        ck_assert_uint_eq(zones[2], 4466);
        config_free(c);
}
END_TEST

static uint16_t ip_checksum(const void *p, size_t len)
{
        const uint8_t *b = p;
        uint32_t sum = 0;

        for (size_t i = 0; i + 1 < len; i += 2)
                sum += (uint32_t) (b[i] << 8 | b[i + 1]);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return htons((uint16_t) ~sum);
}

/* Sends UDP frames from a VM's side of a port of a LIF bridge. */
static void send_udp(const char *ifname, const char *dst, uint16_t port, int count)
{
        uint8_t frame[sizeof(struct ether_header) + sizeof(struct iphdr) + sizeof(struct udphdr) + 4] = {};
        struct ether_header eth = { .ether_type = htons(ETHERTYPE_IP) };
        struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP };
        struct udphdr udp = { .source = htons(40000), .dest = htons(port), .len = htons(sizeof udp + 4) };
        struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int) if_nametoindex(ifname), .sll_halen = 6 };
        int fd = socket(AF_PACKET, SOCK_RAW, 0);

        ck_assert_int_ge(fd, 0);
        memset(eth.ether_dhost, 0xff, 6);
        memcpy(eth.ether_shost, (const uint8_t[]) { 0x02, 0, 0, 0, 0, 1 }, 6);
        ip.tot_len = htons(sizeof ip + sizeof udp + 4);
        inet_pton(AF_INET, "10.0.0.5", &ip.saddr);
        inet_pton(AF_INET, dst, &ip.daddr);
        ip.check = ip_checksum(&ip, sizeof ip);
        memcpy(frame, &eth, sizeof eth);
        memcpy(frame + sizeof eth, &ip, sizeof ip);
        memcpy(frame + sizeof eth + sizeof ip, &udp, sizeof udp);
        memset(sll.sll_addr, 0xff, 6);
        for (int i = 0; i < count; i++)
                ck_assert_int_eq(sendto(fd, frame, sizeof frame, 0, (struct sockaddr *) &sll, sizeof sll),
                                (ssize_t) sizeof frame);
        close(fd);
}

/* A LIF bridge with one VM port (nothing else is needed for frames to cross bridge prerouting), rule "nine"
 * added to blue, a sync, then 3 frames for rule dns, 2 for nine and 1 for the default action. Ports coming up
 * send IGMP/MLD reports of their own, which the default action counts too: the test's own frames are
 * counted by rules of their own. */
static void counted_traffic(Config *c, Nft *n)
{
        run("ip link add dlbr5000 type bridge && ip link add p1 type veth peer name v1 && "
            "ip link set p1 master dlbr5000 && ip link set dlbr5000 up && ip link set p1 up && ip link set v1 up");
        ck_assert_int_eq(config_add_port(c, "p1", "blue", "web"), 0);
        t_put(c->routers[0], t_rule("nine", 400, NULL, LIST("10.1.0.0/16"), RULE_PROTO_UDP, "9000-9999",
                                     RULE_ACTION_DROP));
        t_sync(n, c);
        send_udp("v1", "10.1.0.5", 53, 3);
        send_udp("v1", "10.1.0.5", 9999, 2);
        send_udp("v1", "10.2.0.5", 9999, 1);
}

START_TEST(test_counters)
{
        Config *c = t_config();
        Router *r = c->routers[0];
        Nft *n = t_nft();
        DlrError e = {};
        uint64_t packets[8], bytes[8];

        counted_traffic(c, n);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        /* r->rules: ssh-in, web-in, dns, nine; then the default. */
        ck_assert_uint_eq(packets[0], 0);
        ck_assert_uint_eq(packets[1], 0);
        ck_assert_uint_eq(packets[2], 3);
        ck_assert_uint_eq(bytes[2], 3 * 32);
        ck_assert_uint_eq(packets[3], 2);
        ck_assert_uint_eq(bytes[3], 2 * 32);
        ck_assert_uint_ge(packets[4], 1);
        run("ip link del dlbr5000; ip link del p1");
        nft_free(n);
        t_config_free(c);
}
END_TEST

static size_t rule_slot(const Router *r, const char *name)
{
        for (size_t i = 0; i < r->n_rules; i++)
                if (streq(r->rules[i]->name, name))
                        return i;
        ck_abort_msg("no rule %s", name);
        return SIZE_MAX;
}

/* Counters of unchanged rules survive everything that recreates kernel rules: a full pass (start, Apply, a LIF
 * change), a router pass, a split of their chunk; a changed rule starts again from zero. */
START_TEST(test_counters_carried)
{
        Config *c = t_config();
        Router *r = c->routers[0];
        Nft *n = t_nft();
        DlrError e = {};
        uint64_t packets[128], bytes[128], dflt;

        counted_traffic(c, n);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        dflt = packets[r->n_rules];
        ck_assert_uint_ge(dflt, 1);

        t_sync(n, c);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        ck_assert_uint_eq(packets[rule_slot(r, "dns")], 3);
        ck_assert_uint_eq(bytes[rule_slot(r, "dns")], 3 * 32);
        ck_assert_uint_eq(packets[rule_slot(r, "nine")], 2);
        ck_assert_uint_ge(packets[r->n_rules], dflt);

        ck_assert_msg(nft_router_pass(n, r, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        ck_assert_uint_eq(packets[rule_slot(r, "dns")], 3);
        ck_assert_uint_eq(packets[rule_slot(r, "nine")], 2);
        ck_assert_uint_ge(packets[r->n_rules], dflt);

        /* 70 rules between web-in and dns: dns's chunk splits, dns and nine move to new chunks. */
        uint32_t chunks = (uint32_t) n->routers[0]->n_chunks;
        for (int i = 0; i < 70; i++) {
                char name[16];
                snprintf(name, sizeof name, "s%03d", i);
                Rule *x = t_put(r, t_rule(name, 250, NULL, NULL, RULE_PROTO_TCP, "1000", RULE_ACTION_ALLOW));
                ck_assert_msg(nft_rule_put(n, c, r, x, &e) == 0, "%s", e.msg);
        }
        ck_assert_uint_gt(n->routers[0]->n_chunks, chunks);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        ck_assert_uint_eq(packets[rule_slot(r, "dns")], 3);
        ck_assert_uint_eq(packets[rule_slot(r, "nine")], 2);
        send_udp("v1", "10.1.0.5", 53, 1);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        ck_assert_uint_eq(packets[rule_slot(r, "dns")], 4);

        /* A changed rule is a new rule. */
        t_remove(r, "dns");
        Rule *dns = t_put(r, t_rule("dns", 300, NULL, NULL, RULE_PROTO_UDP, "53,5353", RULE_ACTION_ALLOW));
        ck_assert_msg(nft_rule_put(n, c, r, dns, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        ck_assert_uint_eq(packets[rule_slot(r, "dns")], 0);
        ck_assert_uint_eq(packets[rule_slot(r, "nine")], 2);

        /* And a table deleted by hand loses them: nothing is left to carry. */
        run("nft delete table bridge dlrd");
        t_sync(n, c);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        ck_assert_uint_eq(packets[rule_slot(r, "nine")], 0);
        run("ip link del dlbr5000; ip link del p1");
        nft_free(n);
        t_config_free(c);
}
END_TEST

/* Stateful filtering between two VMs routed by blue (needs bridge conntrack, so it runs only where the kernel
 * has it, e.g. in the test VM): a drop rule for vm1 -> vm2 blocks vm1's pings, while vm2's pings to vm1 and
 * their replies — which match the same rule — pass as an established flow. */
START_TEST(test_stateful_traffic)
{
        Config *c = t_config();
        Router *r = c->routers[0];
        Nft *n = t_nft();
        char ns1[32], ns2[32], *out;
        uint64_t packets[8], bytes[8];
        DlrError e = {};

        t_sync(n, c);
        if (!(nft_features(n) & NFT_FEATURE_BRIDGE_CT)) {
                printf("test_stateful_traffic: skipped, the kernel has no bridge conntrack\n");
                nft_free(n);
                t_config_free(c);
                return;
        }
        snprintf(ns1, sizeof ns1, "dlrd-nft-vm1-%d", (int) getpid());
        snprintf(ns2, sizeof ns2, "dlrd-nft-vm2-%d", (int) getpid());
        out = sh("sysctl -q -w net.ipv4.ip_forward=1 && ip netns add %s && ip netns add %s && "
                 "ip link add dlbr5000 type bridge && ip link add dlbr5001 type bridge && "
                 "ip addr add 10.0.0.1/24 dev dlbr5000 && ip addr add 10.1.0.1/24 dev dlbr5001 && "
                 "ip link add p1 type veth peer name eth0 netns %s && ip link add p2 type veth peer name eth0 netns %s && "
                 "ip link set p1 master dlbr5000 && ip link set p2 master dlbr5001 && "
                 "for l in dlbr5000 dlbr5001 p1 p2; do ip link set $l up; done && "
                 "ip -n %s addr add 10.0.0.10/24 dev eth0 && ip -n %s link set eth0 up && "
                 "ip -n %s route add default via 10.0.0.1 && "
                 "ip -n %s addr add 10.1.0.10/24 dev eth0 && ip -n %s link set eth0 up && "
                 "ip -n %s route add default via 10.1.0.1",
                ns1, ns2, ns1, ns2, ns1, ns1, ns1, ns2, ns2, ns2);
        free(out);
        ck_assert_int_eq(config_add_port(c, "p1", "blue", "web"), 0);
        ck_assert_int_eq(config_add_port(c, "p2", "blue", "db"), 0);
        r->default_action = RULE_ACTION_ALLOW;
        t_sync(n, c);
        Rule *block = t_put(r, t_rule("block-1to2", 50, LIST("10.0.0.10/32"), LIST("10.1.0.10/32"), RULE_PROTO_ICMP,
                                            NULL, RULE_ACTION_DROP));
        ck_assert_int_eq(nft_rule_put(n, c, r, block, &e), 0);

        char cmd[256];
        snprintf(cmd, sizeof cmd, "ip netns exec %s ping -c 2 -i 0.2 -W 1 10.1.0.10 >/dev/null 2>&1", ns1);
        int forward = system(cmd);
        snprintf(cmd, sizeof cmd, "ip netns exec %s ping -c 2 -i 0.2 -W 1 10.0.0.10 >/dev/null 2>&1", ns2);
        int reverse = system(cmd);
        ck_assert_int_eq(nft_counters(n, r, packets, bytes, &e), 0);
        free(sh("ip netns del %s; ip netns del %s; ip link del dlbr5000; ip link del dlbr5001; true", ns1, ns2));
        ck_assert_msg(forward != 0, "vm1 -> vm2 ping passed a drop rule");
        ck_assert_msg(reverse == 0, "vm2 -> vm1 ping failed: its replies match the drop rule, but are established");
        ck_assert_uint_eq(packets[0], 2); /* r->rules[0] is block-1to2: vm1's two requests, no replies */
        nft_free(n);
        t_config_free(c);
}
END_TEST

/* The designated instance alone answers for a VLAN LIF's address: its port leaves the guard sets. */
START_TEST(test_designated_vlan)
{
        Config *c = t_config();
        Nft *n = t_nft();
        IpPrefix v = unit_prefix("192.0.2.1/32");
        DlrError e = {};
        char *out;

        unit_lif(c, c->routers[0], "phys", "vlan", 100, 0, "10.5.0.1/24");
        ck_assert_int_eq(config_add_member(c, member_new("hostA", &v, "unix:path=/a", "")), 0);
        ck_assert_int_eq(config_add_member(c, member_new("hostB", &v, "unix:path=/b", "")), 0);
        ck_assert_int_eq(nft_sync(n, c, "hostB", &e), 0);
        out = sh("nft list set bridge dlrd gateway4; nft list set bridge dlrd guarded");
        ck_assert_ptr_nonnull(strstr(out, "\"dlvl100\" . 10.5.0.1"));
        ck_assert_ptr_nonnull(strstr(out, "\"dlvl100\""));
        free(out);
        ck_assert_int_eq(nft_sync(n, c, "hostA", &e), 0);
        out = sh("nft list set bridge dlrd gateway4; nft list set bridge dlrd guarded");
        ck_assert_ptr_null(strstr(out, "dlvl100"));
        ck_assert_ptr_nonnull(strstr(out, "\"dlvx5000\" . 10.0.0.1")); /* VXLAN LIFs stay guarded */
        free(out);
        nft_free(n);
        t_config_free(c);
}
END_TEST

/* Reads what arrived on a packet socket: ARP frames naming addr as sender, and the source MAC of IPv4 frames
 * sent to dst_mac. */
/* LIF web's bridge with its gateway MAC and a veth standing in for its VXLAN port (dlvx5000, its peer uplink0
 * the underlay); IPv6 off on every link but as `before` (run before the links come up) turns it on; `after`
 * runs once they are up. */
static void gateway_links(const Lif *web, const char *before, const char *after)
{
        char mac[18];

        mac_format(web->mac, mac);
        free(sh("sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 && ip link add dlbr5000 type bridge && "
                "ip link set dlbr5000 address %s && ip link add dlvx5000 type veth peer name uplink0 && "
                "ip link set dlvx5000 master dlbr5000 && %s && "
                "for l in dlbr5000 dlvx5000 uplink0; do ip link set $l up; done && %s",
                mac, before, after));
}

/* A packet socket that sees every frame leaving towards the underlay: on uplink0, the peer of the veth that
 * stands in for the LIF's VXLAN port. */
static int uplink_socket(void)
{
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
        ck_assert_int_ge(fd, 0);
        struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                .sll_ifindex = (int) if_nametoindex("uplink0") };
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sll, sizeof sll), 0);
        return fd;
}

static void capture(int fd, const char *addr, const uint8_t dst_mac[6], int *ret_arp, uint8_t ret_src[6],
                int *ret_ip)
{
        uint8_t buf[2048];
        struct in_addr a;
        ssize_t len;

        inet_pton(AF_INET, addr, &a);
        *ret_arp = *ret_ip = 0;
        while ((len = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                uint16_t type = (uint16_t) (buf[12] << 8 | buf[13]);
                if (type == ETHERTYPE_ARP && len >= 42 && memcmp(buf + 14 + 14, &a, 4) == 0)
                        (*ret_arp)++;
                if (type == ETHERTYPE_IP && memcmp(buf, dst_mac, 6) == 0) {
                        memcpy(ret_src, buf + 6, 6);
                        (*ret_ip)++;
                }
        }
}

/* Gateway protection on the wire: no ARP for the gateway leaves towards the underlay port, routed frames
 * leave it with this host's MAC instead of the shared gateway MAC, and frames from it claiming the gateway
 * MAC are dropped. A veth named like the LIF's VXLAN port stands in for it. */
START_TEST(test_gateway_protection)
{
        Config *c = t_config();
        const Lif *web = c->routers[0]->lifs[0];
        Nft *n = t_nft();
        const uint8_t far[6] = { 0x02, 0, 0, 0, 0, 0x98 };
        uint8_t src[6] = {};
        int arp, ip, fd;

        gateway_links(web, "ip addr add 10.0.0.1/24 dev dlbr5000",
                        "ip neigh add 10.0.0.98 lladdr 02:00:00:00:00:98 dev dlbr5000");
        t_sync(n, c);
        fd = uplink_socket();

        /* An unresolved neighbour: the bridge ARPs with the gateway address as sender. A resolved one: the echo
         * request is routed out of the bridge with the gateway MAC as source. */
        (void) system("ping -c 1 -W 1 10.0.0.97 >/dev/null 2>&1; ping -c 1 -W 1 10.0.0.98 >/dev/null 2>&1");
        capture(fd, "10.0.0.1", far, &arp, src, &ip);
        ck_assert_int_eq(arp, 0);
        ck_assert_int_ge(ip, 1);
        ck_assert_msg(memcmp(src, web->mac, 6) != 0, "a routed frame left with the shared gateway MAC");
        ck_assert_int_eq(src[0] & 0x03, 0x02); /* locally administered unicast */

        /* The same without our tables: the ARP leaves, the shared MAC too (so the test sees what it checks). */
        run("nft delete table bridge dlrd");
        free(sh("ip neigh flush dev dlbr5000 to 10.0.0.97; ping -c 1 -W 1 10.0.0.97 >/dev/null 2>&1; "
                "ping -c 1 -W 1 10.0.0.98 >/dev/null 2>&1; true"));
        capture(fd, "10.0.0.1", far, &arp, src, &ip);
        ck_assert_int_ge(arp, 1);
        ck_assert_int_ge(ip, 1);
        ck_assert_int_eq(memcmp(src, web->mac, 6), 0);
        close(fd);
        run("ip link del dlbr5000; ip link del dlvx5000");
        nft_free(n);
        t_config_free(c);
}
END_TEST

/* IPv6 neighbour discovery frames (NS, NA) naming addr as their source or target, on a packet socket. */
static int count_nd(int fd, const char *addr)
{
        uint8_t buf[2048];
        struct in6_addr a;
        ssize_t len;
        int n = 0;

        inet_pton(AF_INET6, addr, &a);
        while ((len = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                /* Ethernet, IPv6 (next header ICMPv6: ND carries no extension header), ICMPv6 type, target. */
                if (len < 14 + 40 + 24 || buf[12] != 0x86 || buf[13] != 0xdd || buf[14 + 6] != IPPROTO_ICMPV6)
                        continue;
                if (buf[14 + 40] != 135 && buf[14 + 40] != 136)
                        continue;
                if (memcmp(buf + 14 + 8, &a, 16) == 0 || memcmp(buf + 14 + 40 + 8, &a, 16) == 0)
                        n++;
        }
        return n;
}

/* The same for IPv6: no neighbour solicitation from the gateway address leaves towards the underlay port,
 * while without dlrd's tables it does. */
START_TEST(test_gateway_protection_nd)
{
        Config *c = t_config();
        const Lif *web = c->routers[0]->lifs[0];
        Nft *n = t_nft();
        int fd, nd;

        gateway_links(web, "sysctl -q -w net.ipv6.conf.dlbr5000.disable_ipv6=0 && "
                           "ip addr add 2001:db8::1/64 dev dlbr5000 nodad", "true");
        t_sync(n, c);
        fd = uplink_socket();

        /* An unresolved neighbour: the bridge solicits it from the gateway address. */
        (void) system("ping -6 -c 2 -i 0.5 -W 1 2001:db8::97 >/dev/null 2>&1");
        nd = count_nd(fd, "2001:db8::1");
        ck_assert_int_eq(nd, 0);

        /* Without our tables the solicitations leave (so the test sees what it checks). */
        run("nft delete table bridge dlrd");
        (void) system("ip -6 neigh flush dev dlbr5000; ping -6 -c 2 -i 0.5 -W 1 2001:db8::96 >/dev/null 2>&1");
        nd = count_nd(fd, "2001:db8::1");
        ck_assert_int_ge(nd, 1);
        close(fd);
        run("ip link del dlbr5000; ip link del dlvx5000");
        nft_free(n);
        t_config_free(c);
}
END_TEST

static Suite *nft_suite(void)
{
        Suite *s = suite_create("nft");
        TCase *tc = tcase_create("kernel");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_layout);
        tcase_add_test(tc, test_sync_idempotent);
        tcase_add_test(tc, test_put_delete_default);
        tcase_add_test(tc, test_chunks_split);
        tcase_add_test(tc, test_refused_changes_nothing);
        tcase_add_test(tc, test_foreign_table_untouched);
        tcase_add_test(tc, test_monitor);
        tcase_add_test(tc, test_fallbacks);
        tcase_add_test(tc, test_counters);
        tcase_add_test(tc, test_counters_carried);
        tcase_add_test(tc, test_stateful_traffic);
        tcase_add_test(tc, test_designated_vlan);
        tcase_add_test(tc, test_gateway_protection);
        tcase_add_test(tc, test_gateway_protection_nd);
        suite_add_tcase(s, tc);
        tc = tcase_create("pure");
        tcase_add_test(tc, test_designated_and_zones);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        Nft *n = NULL;
        DlrError e = {};
        unsigned features = 0;
        Config *c;
        int k;

        if (unshare(CLONE_NEWNET) < 0) {
                printf("test-nft: SKIP: cannot enter a network namespace of its own (%s; needs root)\n", strerror(errno));
                return 77;
        }
        c = config_new();
        k = c ? nft_new(&n) : -ENOMEM;
        if (k >= 0)
                k = nft_sync(n, c, "probe", &e);
        if (k >= 0)
                features = nft_features(n);
        nft_free(n);
        config_free(c);
        if (k == -EPROTONOSUPPORT || k == -EAFNOSUPPORT || k == -EOPNOTSUPP || k == -ENOENT) {
                printf("test-nft: SKIP: no nf_tables in this kernel (%s)\n", e.msg[0] ? e.msg : strerror(-k));
                return 77;
        }
        if (k < 0) {
                printf("test-nft: FAIL: nft_sync of an empty configuration: %s\n", e.msg);
                return 1;
        }
        /* Where every feature is expected (the test VM's kernel), no case may fall back or skip. */
        if (getenv("DLRD_TEST_NFT_ALL_FEATURES") && features != NFT_FEATURES_ALL) {
                printf("test-nft: FAIL: this kernel lacks nftables features dlrd uses (have 0x%x of 0x%x)\n",
                                features, NFT_FEATURES_ALL);
                return 1;
        }
        if (system("nft list ruleset >/dev/null") != 0) {
                printf("test-nft: FAIL: nft(8) is needed to read the kernel's view back\n");
                return 1;
        }
        return unit_run(nft_suite());
}
