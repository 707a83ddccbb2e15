/* The driver of bench/nft-rules: times nft_rule_put() of one rule into a router holding no rules and into one
 * holding N rules (DESIGN §6: the cost must not grow with N), in the current network namespace.
 *
 *   bench/nft-rules-put [--rules N] [--rounds R] [--list]
 *
 * Prints one line per router, "<rules> <median µs> <min µs> <max µs>", then "sync <ms>": the nft_sync() that
 * installed both routers first; then, for R * 10 puts in a row into one place of each router (its chunk
 * splitting now and then), "grow <rules before> <puts> <mean µs> <max µs>". With --list it syncs a small
 * configuration and runs `nft list ruleset` instead. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nft/nft.h"
#include "shared/cleanup.h"
#include "state/config.h"

static Rule *rule_make(const char *name, uint32_t priority, const char *src, uint16_t port)
{
        Rule *r = calloc(1, sizeof *r);

        if (!r || !(r->name = strdup(name)))
                abort();
        r->priority = priority;
        r->protocol = RULE_PROTO_TCP;
        r->action = RULE_ACTION_ALLOW;
        r->source = calloc(1, sizeof *r->source);
        r->ports = calloc(1, sizeof *r->ports);
        if (!r->source || !r->ports || ip_prefix_parse(src, r->source) < 0)
                abort();
        r->n_source = 1;
        r->ports[0] = (PortRange) { port, port };
        r->n_ports = 1;
        return r;
}

static void rule_destroy(Rule *r)
{
        free(r->name);
        free(r->source);
        free(r->ports);
        free(r);
}

static Router *router_make(Config *c, const char *name, uint32_t table, uint32_t vni, size_t n_rules)
{
        Router *r = router_new(name, table, table);
        char *addr[] = { NULL };
        char a[32], lif[16];
        const char *why;
        Lif *l = NULL;

        if (!r || config_add_router(c, r) < 0)
                abort();
        snprintf(a, sizeof a, "10.%u.0.1/16", vni % 200);
        addr[0] = a;
        snprintf(lif, sizeof lif, "lif%u", vni);
        if (lif_new_checked(c, r, lif, "vxlan", vni, addr, 1, 0, &l, &why) < 0 || router_add_lif(r, l) < 0)
                abort();
        r->rules = calloc(n_rules + 2, sizeof *r->rules);
        if (!r->rules)
                abort();
        for (size_t i = 0; i < n_rules; i++) {
                char rule[32], src[32];
                snprintf(rule, sizeof rule, "r%06zu", i);
                snprintf(src, sizeof src, "172.%zu.%zu.0/24", 16 + i / 65536 % 16, i / 256 % 256);
                r->rules[i] = rule_make(rule, (uint32_t) (i * 10), src, (uint16_t) (1 + i % 60000));
        }
        r->n_rules = n_rules;
        return r;
}

static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* Puts a rule into the middle of r (and deletes it again) rounds times; returns the put times, sorted. */
static int time_puts(Nft *n, Config *c, Router *r, int rounds, double *ret)
{
        DlrError e = {};

        for (int i = 0; i < rounds; i++) {
                Rule *x = rule_make("inserted", (uint32_t) (r->n_rules / 2 * 10 + 5), "192.0.2.0/24", 443);
                size_t at = r->n_rules / 2 + (r->n_rules > 0); /* after the middle rule, by priority */
                memmove(&r->rules[at + 1], &r->rules[at], (r->n_rules - at) * sizeof *r->rules);
                r->rules[at] = x;
                r->n_rules++;
                double t0 = now_us();
                if (nft_rule_put(n, c, r, x, &e) < 0) {
                        fprintf(stderr, "nft_rule_put: %s\n", e.msg);
                        return -1;
                }
                ret[i] = now_us() - t0;
                memmove(&r->rules[at], &r->rules[at + 1], (r->n_rules - at - 1) * sizeof *r->rules);
                r->n_rules--;
                if (nft_rule_delete(n, r, "inserted", &e) < 0) {
                        fprintf(stderr, "nft_rule_delete: %s\n", e.msg);
                        return -1;
                }
                rule_destroy(x);
        }
        qsort(ret, (size_t) rounds, sizeof *ret, compare_double);
        return 0;
}

/* Puts count rules one after another into the same place of r (each right after the previous one: same
 * priority, names ascending), so that the chunk there fills up and splits every NFT_CHUNK_MAX / 2 or so puts;
 * returns the mean and the longest put. */
static int time_grow(Nft *n, Config *c, Router *r, int count, double *ret_mean, double *ret_max)
{
        size_t at = r->n_rules / 2 + (r->n_rules > 0);
        uint32_t priority = (uint32_t) (r->n_rules / 2 * 10 + 5);
        Rule **v = realloc(r->rules, (r->n_rules + (size_t) count + 2) * sizeof *v);
        double sum = 0, max = 0;
        DlrError e = {};

        if (!v)
                return -1;
        r->rules = v;
        for (int i = 0; i < count; i++) {
                char name[32];
                snprintf(name, sizeof name, "grow%05d", i);
                Rule *x = rule_make(name, priority, "192.0.2.0/24", 443);
                size_t pos = at + (size_t) i;
                memmove(&r->rules[pos + 1], &r->rules[pos], (r->n_rules - pos) * sizeof *r->rules);
                r->rules[pos] = x;
                r->n_rules++;
                double t0 = now_us();
                if (nft_rule_put(n, c, r, x, &e) < 0) {
                        fprintf(stderr, "nft_rule_put: %s\n", e.msg);
                        return -1;
                }
                double t = now_us() - t0;
                sum += t;
                if (t > max)
                        max = t;
        }
        *ret_mean = sum / count;
        *ret_max = max;
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "rules", required_argument, NULL, 'n' },
                { "rounds", required_argument, NULL, 'r' },
                { "list", no_argument, NULL, 'l' },
                {},
        };
        long n_rules = 10000, rounds = 21;
        bool list = false;
        Nft *n = NULL;
        DlrError e = {};
        int opt, k;

        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'n':
                        n_rules = strtol(optarg, NULL, 10);
                        break;
                case 'r':
                        rounds = strtol(optarg, NULL, 10);
                        break;
                case 'l':
                        list = true;
                        break;
                default:
                        return 2;
                }
        if (n_rules < 0 || n_rules > (long) DLR_RULES_MAX || rounds < 1 || rounds > 1001) {
                fprintf(stderr, "bad --rules or --rounds\n");
                return 2;
        }

        Config *c = config_new();
        if (!c)
                return 1;
        Router *empty = router_make(c, "empty", 1001, 5000, 0);
        Router *full = router_make(c, "full", 1002, 5001, list ? 3 : (size_t) n_rules);
        if ((k = nft_new(&n)) < 0) {
                fprintf(stderr, "nft_new: %s\n", strerror(-k));
                return 1;
        }
        double t0 = now_us();
        if (nft_sync(n, c, "bench", &e) < 0) {
                fprintf(stderr, "nft_sync: %s\n", e.msg);
                return 1;
        }
        double t_sync = now_us() - t0;

        int rc = 0;
        if (list)
                rc = system("nft list ruleset") == 0 ? 0 : 1;
        else {
                double *a = calloc((size_t) rounds, sizeof *a), *b = calloc((size_t) rounds, sizeof *b);
                if (!a || !b || time_puts(n, c, empty, (int) rounds, a) < 0 || time_puts(n, c, full, (int) rounds, b) < 0)
                        rc = 1;
                else {
                        printf("%zu %.1f %.1f %.1f\n", empty->n_rules, a[rounds / 2], a[0], a[rounds - 1]);
                        printf("%zu %.1f %.1f %.1f\n", full->n_rules, b[rounds / 2], b[0], b[rounds - 1]);
                        printf("sync %.1f\n", t_sync / 1e3);
                        /* Then rounds * 10 puts in a row into each, splits included. */
                        double mean_a, max_a, mean_b, max_b;
                        size_t n_a = empty->n_rules, n_b = full->n_rules;
                        if (time_grow(n, c, empty, (int) rounds * 10, &mean_a, &max_a) < 0 ||
                                        time_grow(n, c, full, (int) rounds * 10, &mean_b, &max_b) < 0)
                                rc = 1;
                        else {
                                printf("grow %zu %ld %.1f %.1f\n", n_a, rounds * 10, mean_a, max_a);
                                printf("grow %zu %ld %.1f %.1f\n", n_b, rounds * 10, mean_b, max_b);
                        }
                }
                free(a);
                free(b);
        }
        for (size_t i = 0; i < c->n_routers; i++) {
                Router *r = c->routers[i];
                for (size_t j = 0; j < r->n_rules; j++)
                        rule_destroy(r->rules[j]);
                free(r->rules);
                r->rules = NULL;
                r->n_rules = 0;
        }
        nft_free(n);
        config_free(c);
        return rc;
}
