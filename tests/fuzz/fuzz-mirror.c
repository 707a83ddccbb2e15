/* libFuzzer target: what a peer sends to Merge. The input is decoded like a peer's document
 * (config_from_json_ex with CONFIG_PARSE_MIRROR) and, when accepted, merged into a fixed cluster
 * configuration (config_merge).
 *
 * A refusal must carry a documented errno and a message. An accepted document must satisfy the model's
 * invariants (fuzz.h). The merge must succeed, and the result must hold these properties:
 * - the model's invariants, plus the cluster-wide ones: no two live LIFs share a VNI, every next hop and
 *   endpoint names a live LIF of its router, no two members share a VTEP, and no live object sits under a
 *   tombstone that is at least as new as it;
 * - its whole mirrored state (config_to_mirror, what GetState answers) decodes again as a peer document;
 * - merging the same input a second time changes nothing: the canonical text (with counters) and the
 *   mirrored state are byte-identical, and no kernel work (links, routes, endpoints, firewall) is reported;
 * - merging its own mirrored state into it changes nothing;
 * - a host holding only the fixed configuration that takes the result's mirrored state ends with the same
 *   Digest: a whole-state exchange is enough to converge. */
#include "fuzz.h"
#include "state/merge.h"

#define FUZZ_NOW 1000000ULL /* the local time new tombstones are dated with */

/* Two routers and a third that was deleted; LIFs of both kinds; routes (gateway, blackhole, ECMP, a route
 * through the VLAN LIF); endpoints; firewall rules and a default action; three members; a tombstone of every
 * kind. Stamps from three hosts. */
static const char base_doc[] =
        "{\"version\":1,\"lamport\":40,\"routers\":["
        "{\"name\":\"blue\",\"table\":1001,\"stamp\":[3,\"hostA\"],\"lifs\":["
        "{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"mtu\":0,"
        "\"addresses\":[\"10.0.0.1/24\",\"2001:db8:0:1::1/64\"],\"stamp\":[4,\"hostA\"]},"
        "{\"name\":\"db\",\"kind\":\"vlan\",\"segment\":100,\"mtu\":9000,\"addresses\":[\"10.1.0.1/24\"],"
        "\"stamp\":[5,\"hostB\"]}],"
        "\"routes\":["
        "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"web\"}],"
        "\"stamp\":[8,\"hostB\"]},"
        "{\"prefix\":\"0.0.0.0/0\",\"nexthops\":[],\"stamp\":[9,\"hostC\"]},"
        "{\"prefix\":\"10.20.0.0/16\",\"nexthops\":[{\"gateway\":\"10.1.0.254\",\"lif\":\"db\"}],"
        "\"stamp\":[10,\"hostA\"]},"
        "{\"prefix\":\"2001:db8:9::/48\",\"nexthops\":[{\"gateway\":\"2001:db8:0:1::fd\",\"lif\":\"web\"},"
        "{\"gateway\":\"2001:db8:0:1::fe\",\"lif\":\"web\"}],\"stamp\":[11,\"hostA\"]}],"
        "\"endpoints\":["
        "{\"lif\":\"web\",\"mac\":\"52:54:00:00:00:01\",\"addresses\":[\"10.0.0.5\",\"2001:db8:0:1::5\"],"
        "\"host\":\"hostA\",\"stamp\":[12,\"hostA\"]},"
        "{\"lif\":\"db\",\"mac\":\"52:54:00:00:00:02\",\"addresses\":[\"10.1.0.6\"],\"host\":\"hostB\","
        "\"stamp\":[13,\"hostB\"]}],"
        "\"rules\":["
        "{\"name\":\"ssh\",\"priority\":10,\"source\":[\"10.0.0.0/8\",\"2001:db8::/32\"],\"protocol\":\"tcp\","
        "\"ports\":\"22,2222-2223\",\"action\":\"allow\",\"stamp\":[16,\"hostA\"]},"
        "{\"name\":\"web\",\"priority\":10,\"destination\":[\"10.0.0.5/32\"],\"protocol\":\"tcp\","
        "\"ports\":\"80,443\",\"action\":\"allow\",\"stamp\":[17,\"hostB\"]},"
        "{\"name\":\"ping\",\"priority\":20,\"protocol\":\"icmp\",\"action\":\"reject\","
        "\"stamp\":[18,\"hostC\"]}],"
        "\"default_action\":{\"action\":\"drop\",\"stamp\":[19,\"hostA\"]}},"
        "{\"name\":\"red\",\"table\":1002,\"stamp\":[6,\"hostC\"],\"lifs\":["
        "{\"name\":\"app\",\"kind\":\"vxlan\",\"segment\":6000,\"addresses\":[\"10.0.0.1/24\"],"
        "\"stamp\":[7,\"hostC\"]}],"
        "\"routes\":[{\"prefix\":\"10.30.0.0/16\",\"nexthops\":[{\"gateway\":\"\",\"lif\":\"app\"}],"
        "\"stamp\":[14,\"hostC\"]}]}],"
        "\"members\":["
        "{\"host\":\"hostA\",\"vtep\":\"192.0.2.1\",\"address\":\"unix:path=/run/a.sock\","
        "\"key\":\"ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29\",\"stamp\":[1,\"hostA\"]},"
        "{\"host\":\"hostB\",\"vtep\":\"192.0.2.2\",\"address\":\"unix:path=/run/b.sock\",\"stamp\":[2,\"hostA\"]},"
        "{\"host\":\"hostC\",\"vtep\":\"2001:db8::3\",\"address\":\"ssh:dlrd@hostc.example:2222\","
        "\"stamp\":[15,\"hostC\"]}],"
        "\"tombstones\":["
        "{\"kind\":\"router\",\"router\":\"\",\"key\":\"green\",\"stamp\":[20,\"hostB\"]},"
        "{\"kind\":\"lif\",\"router\":\"blue\",\"key\":\"old\",\"stamp\":[21,\"hostA\"]},"
        "{\"kind\":\"route\",\"router\":\"blue\",\"key\":\"10.8.0.0/16\",\"stamp\":[22,\"hostC\"]},"
        "{\"kind\":\"member\",\"router\":\"\",\"key\":\"hostZ\",\"stamp\":[23,\"hostA\"]},"
        "{\"kind\":\"endpoint\",\"router\":\"blue\",\"key\":\"web/52:54:00:00:00:09\",\"stamp\":[24,\"hostB\"]},"
        "{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"telnet\",\"stamp\":[25,\"hostC\"]}]}";

static Config *base;

static Config *parse_mirror(const char *s, size_t len, const char *what)
{
        char err[512] = "";
        Config *c = NULL;
        int k = config_from_json_ex(s, len, CONFIG_PARSE_MIRROR, &c, err, sizeof err);
        FUZZ_CHECK(k == 0, "%s refused (%d: %s): %.*s", what, k, err, (int) MIN(len, 2000u), s);
        return c;
}

static Config *base_copy(void)
{
        Config *c = NULL;
        if (!base) {
                base = parse_mirror(base_doc, strlen(base_doc), "the base document");
                fuzz_check_config(base);
        }
        FUZZ_CHECK(config_copy(base, &c) == 0, "config_copy of the base failed");
        return c;
}

static void merge(Config *c, const Config *in, MergeResult *ret)
{
        int k = config_merge(c, in, FUZZ_NOW, ret);
        /* Content never makes a merge fail: it was validated when decoded. */
        FUZZ_CHECK(k == 0, "config_merge: %d", k);
}

static char *canonical(const Config *c)
{
        char *s = NULL;
        size_t len = 0;
        FUZZ_CHECK(config_to_json(c, true, &s, &len) == 0, "config_to_json failed");
        return s;
}

static char *mirror(const Config *c, size_t *ret_len)
{
        char *s = NULL;
        FUZZ_CHECK(config_to_mirror(c, &s, ret_len) == 0, "config_to_mirror failed");
        return s;
}

static bool tomb_at_least(const Config *c, TombKind kind, const char *router, const char *key, Stamp s)
{
        const Tombstone *t = config_find_tomb(c, kind, router, key);
        return t && stamp_compare(c, t->stamp, s) >= 0;
}

/* What merging must keep true across the cluster, beyond fuzz_check_config. */
static void check_cluster(const Config *c)
{
        char key[DLR_NAME_MAX + 20];

        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                FUZZ_CHECK(!tomb_at_least(c, TOMB_ROUTER, "", r->name, r->stamp),
                        "router %s lives under its tombstone", r->name);
                for (size_t j = 0; j < r->n_lifs; j++) {
                        const Lif *l = r->lifs[j];
                        FUZZ_CHECK(!tomb_at_least(c, TOMB_LIF, r->name, l->name, l->stamp),
                                "LIF %s/%s lives under its tombstone", r->name, l->name);
                        if (l->kind != LIF_KIND_VXLAN)
                                continue;
                        for (size_t x = 0; x < c->n_routers; x++)
                                for (size_t y = 0; y < c->routers[x]->n_lifs; y++) {
                                        const Lif *o = c->routers[x]->lifs[y];
                                        FUZZ_CHECK(o == l || o->kind != LIF_KIND_VXLAN ||
                                                        o->segment != l->segment,
                                                "VNI %u held by %s/%s and %s/%s", l->segment, r->name,
                                                l->name, c->routers[x]->name, o->name);
                                }
                }
                ROUTE_TABLE_FOREACH(rt, &r->routes) {
                        const Nexthop *nh = route_nexthops(rt);
                        char p[IP_PREFIX_MAX_STR];
                        ip_prefix_to_string(&rt->prefix, true, p, sizeof p);
                        for (unsigned h = 0; h < rt->n_nexthops; h++)
                                FUZZ_CHECK(nh[h].lif == 0 || router_find_lif_by_id(r, nh[h].lif),
                                        "route %s/%s: next hop %u names LIF id %u, which %s lacks", r->name,
                                        p, h, nh[h].lif, r->name);
                        FUZZ_CHECK(!tomb_at_least(c, TOMB_ROUTE, r->name, p,
                                           (Stamp) { rt->stamp_lamport, rt->stamp_host }),
                                "route %s/%s lives under its tombstone", r->name, p);
                }
                for (size_t j = 0; j < r->n_rules; j++)
                        FUZZ_CHECK(!tomb_at_least(c, TOMB_RULE, r->name, r->rules[j]->name, r->rules[j]->stamp),
                                "rule %s/%s lives under its tombstone", r->name, r->rules[j]->name);
                for (size_t j = 0; j < r->n_endpoints; j++) {
                        const Endpoint *e = r->endpoints[j];
                        const Lif *l = router_find_lif_by_id(r, e->lif);
                        FUZZ_CHECK(l, "router %s: an endpoint names LIF id %u, which it lacks", r->name,
                                e->lif);
                        FUZZ_CHECK(e->host < c->n_hosts && dlr_name_check(c->hosts[e->host]) == 0,
                                "router %s: an endpoint has no valid host", r->name);
                        endpoint_key(l->name, e->mac, key);
                        FUZZ_CHECK(!tomb_at_least(c, TOMB_ENDPOINT, r->name, key, e->stamp),
                                "endpoint %s/%s lives under its tombstone", r->name, key);
                        FUZZ_CHECK(!router_find_endpoint_address_clash(r, e),
                                "endpoint %s/%s shares an address", r->name, key);
                        for (size_t k = 0; k < j; k++)
                                FUZZ_CHECK(r->endpoints[k]->lif != e->lif ||
                                                memcmp(r->endpoints[k]->mac, e->mac, 6) != 0,
                                        "endpoint %s/%s twice", r->name, key);
                }
        }
        for (size_t i = 0; i < c->n_members; i++) {
                const Member *m = c->members[i];
                FUZZ_CHECK(!tomb_at_least(c, TOMB_MEMBER, "", m->host, m->stamp),
                        "member %s lives under its tombstone", m->host);
                FUZZ_CHECK(member_key_check(m->key) == 0, "member %s with key '%s'", m->host, m->key);
                for (size_t j = 0; j < i; j++) {
                        FUZZ_CHECK(strcmp(c->members[j]->host, m->host) != 0, "member %s twice", m->host);
                        FUZZ_CHECK(ip_prefix_compare(&c->members[j]->vtep, &m->vtep) != 0,
                                "members %s and %s share a VTEP", c->members[j]->host, m->host);
                }
        }
}

static bool kernel_work(const MergeResult *res)
{
        return res->links || res->members || res->endpoints || res->routes_overflow || res->n_routes > 0 ||
                res->n_objects > 0 || res->firewall || res->n_fw_routers > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const int documented[] = { -EINVAL, -EEXIST, -EADDRINUSE, -ENOENT, -ENOMEM };
        char err[512], d1[65], d2[65];
        Config *in = NULL, *c, *self, *other;
        MergeResult res;
        size_t len, len2;
        int k;

        /* An exact-size copy, so ASan catches a read past the document's end. */
        char *buf = fuzz_oom(malloc(size ? size : 1));
        if (size)
                memcpy(buf, data, size);
        memset(err, 'X', sizeof err);
        k = config_from_json_ex(buf, size, CONFIG_PARSE_MIRROR, &in, err, sizeof err);
        if (k == 0)
                FUZZ_CHECK(!fuzz_json_has_nul_string(buf, size),
                        "accepted a document with a NUL inside a string (the value is silently cut there)");
        free(buf);
        if (k < 0) {
                FUZZ_CHECK(fuzz_errno_documented(k, documented, ELEMENTSOF(documented)),
                        "undocumented error %d (%s)", k, memchr(err, 0, sizeof err) ? err : "?");
                FUZZ_CHECK(memchr(err, 0, sizeof err) && err[0] != 0, "error %d without message", k);
                FUZZ_CHECK(in == NULL, "error %d but a configuration was returned", k);
                return 0;
        }
        FUZZ_CHECK(in, "success without a configuration");
        fuzz_check_config(in);
        FUZZ_CHECK(in->n_ports == 0, "a peer document brought host-local ports");

        c = base_copy();
        merge(c, in, &res);
        merge_result_done(&res);
        fuzz_check_config(c);
        check_cluster(c);

        /* GetState of the result is a valid peer document. */
        char *m1 = mirror(c, &len);
        self = parse_mirror(m1, len, "the merged configuration's mirrored state");
        fuzz_check_config(self);

        /* The same document again: nothing changes, no kernel work. */
        char *t1 = canonical(c);
        merge(c, in, &res);
        FUZZ_CHECK(!kernel_work(&res), "merging the same document twice asks for kernel work again "
                "(links %d routes %zu objects %zu endpoints %d firewall %d)", res.links, res.n_routes,
                res.n_objects, res.endpoints, res.firewall);
        FUZZ_CHECK(!res.changed || in->tombs.n > 0, "merging the same document twice reports a change");
        merge_result_done(&res);
        char *t2 = canonical(c);
        FUZZ_CHECK(strcmp(t1, t2) == 0, "merging the same document twice changed the configuration:\n"
                "  once  %s\n  twice %s", t1, t2);
        char *m2 = mirror(c, &len2);
        FUZZ_CHECK(len == len2 && memcmp(m1, m2, len) == 0, "merging the same document twice changed the "
                "mirrored state:\n  once  %s\n  twice %s", m1, m2);
        free(t2);
        free(m2);

        /* Its own state merged into it changes nothing. */
        merge(c, self, &res);
        FUZZ_CHECK(!kernel_work(&res), "merging its own state asks for kernel work");
        merge_result_done(&res);
        t2 = canonical(c);
        FUZZ_CHECK(strcmp(t1, t2) == 0, "merging its own state changed the configuration:\n  before %s\n"
                "  after  %s", t1, t2);
        free(t2);

        /* A host with only the base converges by taking the whole state once. */
        other = base_copy();
        merge(other, self, &res);
        merge_result_done(&res);
        fuzz_check_config(other);
        check_cluster(other);
        FUZZ_CHECK(config_digest(c, d1) == 0 && config_digest(other, d2) == 0, "config_digest failed");
        if (strcmp(d1, d2) != 0) {
                char *t3 = canonical(other);
                FUZZ_CHECK(false, "a whole-state exchange does not converge:\n  sender   %s\n  receiver %s",
                        t1, t3);
        }

        free(t1);
        free(m1);
        config_free(other);
        config_free(self);
        config_free(c);
        config_free(in);
        return 0;
}
