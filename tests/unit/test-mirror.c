/* Mirroring: stamps, last-writer-wins merge, tombstones, conflict settlement, digest, and the strict parsing
 * of documents from peers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cleanup.h"
#include "state/json.h"
#include "state/merge.h"
#include "unit.h"

/* A mirrored document: the routers part and the tombstones part, as JSON text. */
static Config *doc(const char *routers, const char *tombs, const char *members)
{
        char buf[8192], err[512] = "";
        Config *c = NULL;

        snprintf(buf, sizeof buf, "{\"version\":1,\"routers\":[%s],\"members\":[%s],\"tombstones\":[%s]}", routers,
                members ? members : "", tombs ? tombs : "");
        int k = config_from_json_ex(buf, strlen(buf), CONFIG_PARSE_MIRROR, &c, err, sizeof err);
        ck_assert_msg(k == 0, "document refused (%d): %s\n%s", k, err, buf);
        return c;
}

static void merge(Config *c, Config *in)
{
        MergeResult res;
        ck_assert_int_eq(config_merge(c, in, 1000, &res), 0);
        merge_result_done(&res);
        config_free(in);
}

static char *canon(const Config *c)
{
        char *s = NULL;
        ck_assert_int_eq(config_to_json(c, false, &s, NULL), 0);
        return s;
}

static char *state(const Config *c)
{
        char *s = NULL;
        size_t len;
        ck_assert_int_eq(config_to_mirror(c, &s, &len), 0);
        return s;
}

/* Full-state exchange: a takes b's state, b takes a's. */
static void exchange(Config *a, Config *b)
{
        char err[512];
        _cleanup_free_ char *sa = state(a), *sb = state(b);
        Config *da = NULL, *db = NULL;
        ck_assert_int_eq(config_from_json_ex(sb, strlen(sb), CONFIG_PARSE_MIRROR, &db, err, sizeof err), 0);
        ck_assert_int_eq(config_from_json_ex(sa, strlen(sa), CONFIG_PARSE_MIRROR, &da, err, sizeof err), 0);
        merge(a, db);
        merge(b, da);
}

#define BLUE(stamp, lifs, routes) "{\"name\":\"blue\",\"table\":1001,\"stamp\":" stamp ",\"lifs\":[" lifs "],\"routes\":[" routes "]}"
#define WEB(seg, stamp) "{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":" seg ",\"addresses\":[\"10.0.0.1/24\"],\"stamp\":" stamp "}"
#define DB(seg, stamp) "{\"name\":\"db\",\"kind\":\"vxlan\",\"segment\":" seg ",\"addresses\":[\"10.0.1.1/24\"],\"stamp\":" stamp "}"
#define ROUTE(p, stamp) "{\"prefix\":\"" p "\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"web\"}],\"stamp\":" stamp "}"

START_TEST(test_stamp_order)
{
        _cleanup_(config_freep) Config *c = config_new();
        /* Interned in the opposite order of their names: the order must follow the names. */
        int z = config_host_index(c, "zulu"), a = config_host_index(c, "alpha");
        ck_assert_int_lt(stamp_compare(c, (Stamp) { 1, (uint32_t) z }, (Stamp) { 2, (uint32_t) a }), 0);
        ck_assert_int_gt(stamp_compare(c, (Stamp) { 5, (uint32_t) z }, (Stamp) { 5, (uint32_t) a }), 0);
        ck_assert_int_eq(stamp_compare(c, (Stamp) { 5, (uint32_t) a }, (Stamp) { 5, (uint32_t) a }), 0);
}
END_TEST

START_TEST(test_newer_wins_and_idempotent)
{
        _cleanup_(config_freep) Config *c = config_new();
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.9.0.0/16", "[3,\"A\"]")), NULL, NULL));
        _cleanup_free_ char *one = canon(c);
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.9.0.0/16", "[3,\"A\"]")), NULL, NULL));
        _cleanup_free_ char *twice = canon(c);
        ck_assert_str_eq(one, twice);

        /* A newer LIF value replaces it, an older one does not. */
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5005", "[7,\"B\"]"), ""), NULL, NULL));
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5003", "[6,\"C\"]"), ""), NULL, NULL));
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(router_find_lif(r, "web")->segment, 5005);
        ck_assert_uint_eq(r->routes.n, 1); /* the route through web stays, by name */
        ck_assert_uint_ge(c->lamport, 7);
}
END_TEST

START_TEST(test_tombstones)
{
        _cleanup_(config_freep) Config *c = config_new();
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.9.0.0/16", "[3,\"A\"]")), NULL, NULL));
        Router *r = config_find_router(c, "blue");
        IpPrefix p = unit_prefix("10.9.0.0/16");

        /* An older tombstone changes nothing; a newer one deletes and stays. */
        merge(c, doc("", "{\"kind\":\"route\",\"router\":\"blue\",\"key\":\"10.9.0.0/16\",\"stamp\":[2,\"B\"]}", NULL));
        ck_assert_ptr_nonnull(route_table_get(&r->routes, &p));
        merge(c, doc("", "{\"kind\":\"route\",\"router\":\"blue\",\"key\":\"10.9.0.0/16\",\"stamp\":[4,\"B\"]}", NULL));
        ck_assert_ptr_null(route_table_get(&r->routes, &p));
        ck_assert_ptr_nonnull(config_find_tomb(c, TOMB_ROUTE, "blue", "10.9.0.0/16"));
        /* The old copy arriving late does not bring it back; a newer write does. */
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.9.0.0/16", "[3,\"A\"]")), NULL, NULL));
        ck_assert_ptr_null(route_table_get(&r->routes, &p));
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.9.0.0/16", "[9,\"C\"]")), NULL, NULL));
        ck_assert_ptr_nonnull(route_table_get(&r->routes, &p));

        /* Deleting a LIF takes the routes through it, leaving their tombstones, stamped as the routes were. */
        merge(c, doc("", "{\"kind\":\"lif\",\"router\":\"blue\",\"key\":\"web\",\"stamp\":[10,\"B\"]}", NULL));
        ck_assert_ptr_null(router_find_lif(r, "web"));
        ck_assert_uint_eq(r->routes.n, 0);
        const Tombstone *t = config_find_tomb(c, TOMB_ROUTE, "blue", "10.9.0.0/16");
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->stamp.lamport, 9);
}
END_TEST

/* A route rewritten not to go through a LIF (a blackhole, stamped 4) while another host deletes that LIF
 * (stamped 5): every host keeps the new route, whichever it heard of first. (Found by fuzz-mirror: the
 * route's tombstone used to carry the LIF's stamp where the LIF went first, and beat the new route.) */
START_TEST(test_route_leaving_a_dead_lif)
{
        const char *old = BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.9.0.0/16", "[3,\"A\"]"));
        const char *rewritten = BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"),
                "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[],\"stamp\":[4,\"C\"]}");
        const char *lif_gone = "{\"kind\":\"lif\",\"router\":\"blue\",\"key\":\"web\",\"stamp\":[5,\"B\"]}";
        IpPrefix p = unit_prefix("10.9.0.0/16");
        _cleanup_(config_freep) Config *x = config_new(), *y = config_new();

        merge(x, doc(old, NULL, NULL));
        merge(x, doc(rewritten, NULL, NULL));
        merge(x, doc("", lif_gone, NULL));
        merge(y, doc(old, NULL, NULL));
        merge(y, doc("", lif_gone, NULL));
        merge(y, doc(rewritten, NULL, NULL));
        ck_assert_ptr_nonnull(route_table_get(&config_find_router(x, "blue")->routes, &p));
        ck_assert_ptr_nonnull(route_table_get(&config_find_router(y, "blue")->routes, &p));
        /* The same configuration (Digest; y also keeps the older route tombstone, which Digest leaves out). */
        char dx[65], dy[65];
        ck_assert_int_eq(config_digest(x, dx), 0);
        ck_assert_int_eq(config_digest(y, dy), 0);
        ck_assert_str_eq(dx, dy);
}
END_TEST

START_TEST(test_router_incarnations)
{
        _cleanup_(config_freep) Config *c = config_new();
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.9.0.0/16", "[3,\"A\"]")), NULL, NULL));
        /* Deleted and made again elsewhere: the new incarnation has no routes. */
        merge(c, doc("", "{\"kind\":\"router\",\"router\":\"\",\"key\":\"blue\",\"stamp\":[4,\"B\"]}", NULL));
        ck_assert_ptr_null(config_find_router(c, "blue"));
        merge(c, doc(BLUE("[5,\"B\"]", WEB("5000", "[6,\"B\"]"), ""), NULL, NULL));
        /* A host that missed all that sends the old incarnation with its route: it is ignored whole. */
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.8.0.0/16", "[3,\"A\"]")), NULL, NULL));
        Router *r = config_find_router(c, "blue");
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(r->stamp.lamport, 5);
        ck_assert_uint_eq(r->routes.n, 0);
        /* A newer incarnation replaces an existing one with everything in it. */
        merge(c, doc("{\"name\":\"blue\",\"table\":1007,\"stamp\":[8,\"C\"],\"lifs\":[],\"routes\":[]}", NULL, NULL));
        r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->table, 1007);
        ck_assert_uint_eq(r->n_lifs, 0);
}
END_TEST

START_TEST(test_conflicts_settle_alike)
{
        /* Two hosts create different LIFs with one VNI, and routers with one table, at the same time. */
        _cleanup_(config_freep) Config *a = config_new(), *b = config_new();
        merge(a, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), "") ",{\"name\":\"red\",\"table\":1002,\"stamp\":[3,\"A\"]}",
                NULL, NULL));
        merge(b, doc(BLUE("[1,\"A\"]", DB("5000", "[2,\"B\"]"), "") ",{\"name\":\"green\",\"table\":1002,\"stamp\":[3,\"B\"]}",
                NULL, NULL));
        exchange(a, b);
        _cleanup_free_ char *ca = canon(a), *cb = canon(b);
        ck_assert_str_eq(ca, cb);
        Router *r = config_find_router(a, "blue");
        /* (2,"B") beats (2,"A"): db keeps VNI 5000, web became a tombstone; green beats red alike. */
        ck_assert_ptr_nonnull(router_find_lif(r, "db"));
        ck_assert_ptr_null(router_find_lif(r, "web"));
        ck_assert_ptr_nonnull(config_find_tomb(a, TOMB_LIF, "blue", "web"));
        ck_assert_ptr_nonnull(config_find_tomb(b, TOMB_LIF, "blue", "web"));
        ck_assert_ptr_null(config_find_router(a, "red"));
        ck_assert_ptr_nonnull(config_find_router(b, "green"));
        char da[65], db[65];
        ck_assert_int_eq(config_digest(a, da), 0);
        ck_assert_int_eq(config_digest(b, db), 0);
        ck_assert_str_eq(da, db);
}
END_TEST

START_TEST(test_route_through_dead_lif)
{
        _cleanup_(config_freep) Config *c = config_new();
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ""), NULL, NULL));
        merge(c, doc("", "{\"kind\":\"lif\",\"router\":\"blue\",\"key\":\"web\",\"stamp\":[3,\"A\"]}", NULL));
        /* Written on a host that had not seen the deletion yet: the route dies with its LIF. */
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]"), ROUTE("10.9.0.0/16", "[4,\"B\"]")), NULL, NULL));
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->routes.n, 0);
        ck_assert_ptr_null(router_find_lif(r, "web"));
        ck_assert_ptr_nonnull(config_find_tomb(c, TOMB_ROUTE, "blue", "10.9.0.0/16"));
}
END_TEST

#define MEMBER(h, v, stamp) "{\"host\":\"" h "\",\"vtep\":\"" v "\",\"address\":\"unix:path=/run/" h "\",\"stamp\":" stamp "}"

START_TEST(test_members)
{
        _cleanup_(config_freep) Config *c = config_new();
        merge(c, doc("", NULL, MEMBER("hostA", "192.0.2.1", "[1,\"hostA\"]") "," MEMBER("hostB", "192.0.2.2", "[2,\"hostA\"]")));
        ck_assert_uint_eq(c->n_members, 2);
        /* hostC claims hostB's VTEP later: the newer member wins it. */
        merge(c, doc("", NULL, MEMBER("hostC", "192.0.2.2", "[5,\"hostC\"]")));
        ck_assert_ptr_null(config_find_member(c, "hostB"));
        ck_assert_ptr_nonnull(config_find_member(c, "hostC"));
        merge(c, doc("", "{\"kind\":\"member\",\"router\":\"\",\"key\":\"hostA\",\"stamp\":[6,\"hostC\"]}", NULL));
        ck_assert_ptr_null(config_find_member(c, "hostA"));
}
END_TEST

#define EP(lif, mac, addr, host, stamp)                                                                       \
        "{\"lif\":\"" lif "\",\"mac\":\"" mac "\",\"addresses\":[\"" addr "\"],\"host\":\"" host "\",\"stamp\":" stamp "}"

START_TEST(test_endpoints)
{
        _cleanup_(config_freep) Config *c = config_new();
        merge(c, doc("{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[" WEB("5000", "[2,\"A\"]") "],"
                     "\"routes\":[],\"endpoints\":[" EP("web", "02:00:00:00:00:01", "10.0.0.10", "hostA", "[3,\"A\"]") "]}",
                NULL, NULL));
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->n_endpoints, 1);
        /* The VM moves: the host that saw it later wins. */
        merge(c, doc("{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[" WEB("5000", "[2,\"A\"]") "],"
                     "\"routes\":[],\"endpoints\":[" EP("web", "02:00:00:00:00:01", "10.0.0.10", "hostB", "[4,\"B\"]") "]}",
                NULL, NULL));
        ck_assert_uint_eq(r->n_endpoints, 1);
        ck_assert_str_eq(c->hosts[r->endpoints[0]->host], "hostB");
        /* Another MAC claims the address later: the older binding goes. */
        merge(c, doc("{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[" WEB("5000", "[2,\"A\"]") "],"
                     "\"routes\":[],\"endpoints\":[" EP("web", "02:00:00:00:00:02", "10.0.0.10", "hostA", "[5,\"A\"]") "]}",
                NULL, NULL));
        ck_assert_uint_eq(r->n_endpoints, 1);
        ck_assert_uint_eq(r->endpoints[0]->mac[5], 2);
        ck_assert_ptr_nonnull(config_find_tomb(c, TOMB_ENDPOINT, "blue", "web/02:00:00:00:00:01"));
        /* Deleting the LIF takes its bindings. */
        merge(c, doc("", "{\"kind\":\"lif\",\"router\":\"blue\",\"key\":\"web\",\"stamp\":[9,\"A\"]}", NULL));
        ck_assert_uint_eq(r->n_endpoints, 0);
        ck_assert_ptr_nonnull(config_find_tomb(c, TOMB_ENDPOINT, "blue", "web/02:00:00:00:00:02"));
}
END_TEST

/* A binding written on a host that had not yet seen a newer value of its LIF, which no longer holds the
 * binding's address: the LIF wins and the binding goes, leaving a tombstone, so the result is still a state
 * every peer (and this host's next start) accepts. The clock passes the binding's stamp. */
START_TEST(test_endpoint_outside_newer_lif)
{
        _cleanup_(config_freep) Config *c = config_new();
        merge(c, doc("{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[" WEB("5000", "[2,\"A\"]") "],"
                     "\"routes\":[],\"endpoints\":[" EP("web", "02:00:00:00:00:01", "10.0.0.10", "hostA", "[30,\"A\"]") "]}",
                NULL, NULL));
        ck_assert_uint_ge(c->lamport, 30);
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->n_endpoints, 1);
        merge(c, doc("{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":["
                     "{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,\"addresses\":[\"10.0.9.1/24\"],"
                     "\"stamp\":[7,\"B\"]}],\"routes\":[]}",
                NULL, NULL));
        ck_assert_uint_eq(r->n_endpoints, 0);
        const Tombstone *t = config_find_tomb(c, TOMB_ENDPOINT, "blue", "web/02:00:00:00:00:01");
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->stamp.lamport, 30);

        char err[512] = "";
        Config *again = NULL;
        _cleanup_free_ char *s = state(c);
        ck_assert_msg(config_from_json_ex(s, strlen(s), CONFIG_PARSE_MIRROR, &again, err, sizeof err) == 0, "%s", err);
        config_free(again);
}
END_TEST

/* Refused: the document changes nothing and the error says why. */
static void refused(const char *text, ConfigParseFlags flags)
{
        char err[512] = "";
        Config *c = NULL;
        int k = config_from_json_ex(text, strlen(text), flags, &c, err, sizeof err);
        ck_assert_msg(k < 0, "accepted: %s", text);
        ck_assert_ptr_null(c);
        ck_assert_msg(err[0], "no explanation for %s", text);
}

START_TEST(test_mirror_parse_strict)
{
        /* Objects without stamps, a router without a table. */
        refused("{\"routers\":[{\"name\":\"blue\",\"table\":1001,\"lifs\":[],\"routes\":[]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[{\"name\":\"blue\",\"stamp\":[1,\"A\"]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[0,\"A\"]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"\"]}]}", CONFIG_PARSE_MIRROR);
        /* Tombstones: unknown kind, bad keys, no stamp, twice; and never in Apply's input. */
        refused("{\"routers\":[],\"tombstones\":[{\"kind\":\"bogus\",\"router\":\"\",\"key\":\"x\",\"stamp\":[1,\"A\"]}]}",
                CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[],\"tombstones\":[{\"kind\":\"route\",\"router\":\"blue\",\"key\":\"10.9.0.1/16\","
                "\"stamp\":[1,\"A\"]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[],\"tombstones\":[{\"kind\":\"endpoint\",\"router\":\"blue\",\"key\":\"web/02:00:00:00:00:0G\","
                "\"stamp\":[1,\"A\"]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[],\"tombstones\":[{\"kind\":\"lif\",\"router\":\"blue\",\"key\":\"web\"}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[],\"tombstones\":[{\"kind\":\"lif\",\"router\":\"\",\"key\":\"web\",\"stamp\":[1,\"A\"]}]}",
                CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[],\"tombstones\":[{\"kind\":\"lif\",\"router\":\"b\",\"key\":\"w\",\"stamp\":[1,\"A\"]},"
                "{\"kind\":\"lif\",\"router\":\"b\",\"key\":\"w\",\"stamp\":[2,\"A\"]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[],\"tombstones\":[]}", CONFIG_PARSE_APPLY);
        /* Host-local things have no place in a peer's document; members only with unix addresses. */
        refused("{\"routers\":[],\"ports\":[]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[],\"members\":[" MEMBER("h", "192.0.2.1", "[1,\"h\"]") ",{\"host\":\"g\",\"vtep\":"
                "\"192.0.2.9\",\"address\":\"tcp:host=192.0.2.9,port=1\",\"stamp\":[1,\"g\"]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[],\"members\":[" MEMBER("h", "192.0.2.1", "[1,\"h\"]") "," MEMBER("g", "192.0.2.1", "[2,\"g\"]")
                "]}", CONFIG_PARSE_MIRROR);
        /* Endpoints: bad MAC, address outside the LIF, a gateway MAC, two bindings of one address. */
        refused("{\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[" WEB("5000", "[2,\"A\"]") "],"
                "\"endpoints\":[" EP("web", "03:00:00:00:00:01", "10.0.0.10", "A", "[3,\"A\"]") "]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[" WEB("5000", "[2,\"A\"]") "],"
                "\"endpoints\":[" EP("web", "02:00:00:00:00:01", "10.0.9.10", "A", "[3,\"A\"]") "]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[" WEB("5000", "[2,\"A\"]") "],"
                "\"endpoints\":[" EP("web", "02:00:00:00:00:01", "10.0.0.1", "A", "[3,\"A\"]") "]}]}", CONFIG_PARSE_MIRROR);
        refused("{\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[" WEB("5000", "[2,\"A\"]") "],"
                "\"endpoints\":[" EP("web", "02:00:00:00:00:01", "10.0.0.10", "A", "[3,\"A\"]") ","
                EP("web", "02:00:00:00:00:02", "10.0.0.10", "A", "[4,\"A\"]") "]}]}", CONFIG_PARSE_MIRROR);
}
END_TEST

START_TEST(test_tomb_set)
{
        _cleanup_(config_freep) Config *c = config_new();
        char key[16];
        int h = config_host_index(c, "A");

        /* Enough to grow the table several times and make long probe runs. */
        for (int i = 0; i < 500; i++) {
                snprintf(key, sizeof key, "l%d", i);
                ck_assert_int_eq(config_put_tomb(c, TOMB_LIF, "blue", key, (Stamp) { (uint64_t) i + 1, (uint32_t) h },
                                         (uint64_t) i), 0);
        }
        ck_assert_uint_eq(c->tombs.n, 500);
        /* Raising a stamp keeps one entry; a lower one changes nothing. */
        ck_assert_int_eq(config_put_tomb(c, TOMB_LIF, "blue", "l7", (Stamp) { 900, (uint32_t) h }, 1000), 0);
        ck_assert_int_eq(config_put_tomb(c, TOMB_LIF, "blue", "l7", (Stamp) { 3, (uint32_t) h }, 1), 0);
        ck_assert_uint_eq(config_find_tomb(c, TOMB_LIF, "blue", "l7")->stamp.lamport, 900);
        ck_assert_uint_eq(c->tombs.n, 500);
        /* Dropping every other one leaves the rest findable. */
        for (int i = 0; i < 500; i += 2) {
                snprintf(key, sizeof key, "l%d", i);
                ck_assert_int_eq(config_drop_tomb(c, TOMB_LIF, "blue", key), 0);
        }
        ck_assert_int_eq(config_drop_tomb(c, TOMB_LIF, "blue", "l0"), -ENOENT);
        for (int i = 1; i < 500; i += 2) {
                snprintf(key, sizeof key, "l%d", i);
                ck_assert_ptr_nonnull(config_find_tomb(c, TOMB_LIF, "blue", key));
        }
        ck_assert_ptr_null(config_find_tomb(c, TOMB_ROUTE, "blue", "l1")); /* the kind is part of the key */
        /* Collection by age: l7 was renewed at 1000. */
        ck_assert_uint_eq(config_collect_tombs(c, 400), 199); /* odd i < 400, except l7 */
        ck_assert_ptr_nonnull(config_find_tomb(c, TOMB_LIF, "blue", "l7"));
        ck_assert_ptr_null(config_find_tomb(c, TOMB_LIF, "blue", "l9"));
        ck_assert_ptr_nonnull(config_find_tomb(c, TOMB_LIF, "blue", "l401"));
}
END_TEST

/* Three hosts write at random and exchange whole states in a random order: they must end identical. */
START_TEST(test_random_convergence)
{
        Config *h[3];
        unsigned seed = 12345;
        static const char *names[3] = { "A", "B", "C" };

        for (int i = 0; i < 3; i++)
                h[i] = config_new();
        uint64_t clock = 1;
        for (int step = 0; step < 300; step++) {
                int w = (int) (rand_r(&seed) % 3), op = (int) (rand_r(&seed) % 9);
                char buf[2048];
                int x = (int) (rand_r(&seed) % 4);
                clock = MAX(clock, h[w]->lamport) + 1;
                const char *n = names[w];
                switch (op) {
                case 0:
                case 1:
                        snprintf(buf, sizeof buf,
                                "{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"lifs\":[{\"name\":\"l%d\",\"kind\":"
                                "\"vxlan\",\"segment\":%d,\"addresses\":[\"10.%d.0.1/24\"],\"stamp\":[%llu,\"%s\"]}],"
                                "\"routes\":[{\"prefix\":\"10.99.%d.0/24\",\"nexthops\":[{\"gateway\":\"\",\"lif\":\"l%d\"}],"
                                "\"stamp\":[%llu,\"%s\"]}]}",
                                x, 5000 + (int) (rand_r(&seed) % 3), x, (unsigned long long) clock, n, x, x,
                                (unsigned long long) clock + 1, n);
                        clock++;
                        merge(h[w], doc(buf, NULL, NULL));
                        break;
                case 2:
                        snprintf(buf, sizeof buf, "{\"kind\":\"lif\",\"router\":\"blue\",\"key\":\"l%d\",\"stamp\":[%llu,\"%s\"]}",
                                x, (unsigned long long) clock, n);
                        merge(h[w], doc("", buf, NULL));
                        break;
                case 3:
                        snprintf(buf, sizeof buf,
                                "{\"kind\":\"route\",\"router\":\"blue\",\"key\":\"10.99.%d.0/24\",\"stamp\":[%llu,\"%s\"]}", x,
                                (unsigned long long) clock, n);
                        merge(h[w], doc("", buf, NULL));
                        break;
                case 6: /* a rule written, maybe moved to another priority */
                        snprintf(buf, sizeof buf,
                                "{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"rules\":[{\"name\":\"f%d\","
                                "\"priority\":%d,\"protocol\":\"tcp\",\"ports\":\"%d\",\"action\":\"allow\","
                                "\"stamp\":[%llu,\"%s\"]}]}",
                                x, (int) (rand_r(&seed) % 3), 1 + (int) (rand_r(&seed) % 3), (unsigned long long) clock, n);
                        merge(h[w], doc(buf, NULL, NULL));
                        break;
                case 7:
                        snprintf(buf, sizeof buf, "{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"f%d\",\"stamp\":[%llu,\"%s\"]}",
                                x, (unsigned long long) clock, n);
                        merge(h[w], doc("", buf, NULL));
                        break;
                case 8: {
                        static const char *const actions[] = { "allow", "drop", "reject" };
                        snprintf(buf, sizeof buf,
                                "{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],\"default_action\":"
                                "{\"action\":\"%s\",\"stamp\":[%llu,\"%s\"]}}",
                                actions[x % 3], (unsigned long long) clock, n);
                        merge(h[w], doc(buf, NULL, NULL));
                        break;
                }
                default: {
                        int o = (w + 1 + (int) (rand_r(&seed) % 2)) % 3;
                        exchange(h[w], h[o]);
                }
                }
        }
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < 3; i++)
                        exchange(h[i], h[(i + 1) % 3]);
        _cleanup_free_ char *c0 = canon(h[0]), *c1 = canon(h[1]), *c2 = canon(h[2]);
        ck_assert_str_eq(c0, c1);
        ck_assert_str_eq(c1, c2);
        /* The stamps too, which the canonical form leaves out for rules. */
        _cleanup_free_ char *s0 = state(h[0]), *s1 = state(h[1]), *s2 = state(h[2]);
        ck_assert_str_eq(s0, s1);
        ck_assert_str_eq(s1, s2);
        /* No two live LIFs share a VNI or a subnet, and every route's LIF is live. */
        Router *r = config_find_router(h[0], "blue");
        for (size_t i = 0; r && i < r->n_lifs; i++)
                for (size_t j = i + 1; j < r->n_lifs; j++)
                        ck_assert_uint_ne(r->lifs[i]->segment, r->lifs[j]->segment);
        /* Rules in order, none alive under a tombstone as new as it; the run did write some. */
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_gt(r->n_rules + h[0]->tombs.n, 0);
        for (size_t i = 0; i < r->n_rules; i++) {
                const Tombstone *t = config_find_tomb(h[0], TOMB_RULE, "blue", r->rules[i]->name);
                ck_assert(!t || stamp_compare(h[0], t->stamp, r->rules[i]->stamp) < 0);
                if (i > 0)
                        ck_assert(r->rules[i - 1]->priority < r->rules[i]->priority ||
                                (r->rules[i - 1]->priority == r->rules[i]->priority &&
                                        strcmp(r->rules[i - 1]->name, r->rules[i]->name) < 0));
        }
        for (int i = 0; i < 3; i++)
                config_free(h[i]);
}
END_TEST


/* Two hosts each stay within the per-LIF limit; together they would not: the newest stay, and the result is
 * still a configuration a host loads. */
START_TEST(test_limits_after_merge)
{
        _cleanup_(config_freep) Config *c = config_new(), *back = NULL;
        size_t cap = DLR_ENDPOINTS_PER_LIF_MAX, size = (cap + 1) * 160 + 1024, len = 0;
        _cleanup_free_ char *buf = malloc(size), *st = NULL;
        char err[512];
        Config *in = NULL;

        ck_assert_ptr_nonnull(buf);
        for (int round = 0; round < 2; round++) {
                size_t at = (size_t) snprintf(buf, size,
                        "{\"version\":1,\"routers\":[{\"name\":\"blue\",\"table\":1001,\"stamp\":[1,\"A\"],"
                        "\"lifs\":[{\"name\":\"web\",\"kind\":\"vxlan\",\"segment\":5000,"
                        "\"addresses\":[\"10.0.0.1/16\"],\"stamp\":[2,\"A\"]}],\"routes\":[],\"endpoints\":[");
                /* Round 0: the limit, stamped 100 and up; round 1: one more, older than all of them. */
                size_t n = round == 0 ? cap : 1;
                for (size_t i = 0; i < n; i++)
                        at += (size_t) snprintf(buf + at, size - at,
                                "%s{\"lif\":\"web\",\"mac\":\"02:00:00:00:%02zx:%02zx\",\"addresses\":[\"10.0.%zu.%zu\"],"
                                "\"host\":\"A\",\"stamp\":[%zu,\"B\"]}",
                                i ? "," : "", round == 0 ? (i >> 8) & 0xff : 0xff, round == 0 ? i & 0xff : 0xff,
                                round == 0 ? 1 + i / 250 : 200, round == 0 ? 2 + i % 250 : 2, round == 0 ? 100 + i : 50);
                snprintf(buf + at, size - at, "]}],\"members\":[]}");
                ck_assert_int_eq(config_from_json_ex(buf, strlen(buf), CONFIG_PARSE_MIRROR, &in, err, sizeof err), 0);
                merge(c, in);
        }
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->n_endpoints, cap);
        ck_assert_ptr_nonnull(config_find_tomb(c, TOMB_ENDPOINT, "blue", "web/02:00:00:00:ff:ff"));
        ck_assert_int_eq(config_to_state(c, &st, &len), 0);
        ck_assert_int_eq(config_from_json_ex(st, len, CONFIG_PARSE_STATE, &back, err, sizeof err), 0);
}
END_TEST


/* LIF ids are each host's own: a route's next hops print in the same order whatever ids the LIFs got. */
START_TEST(test_nexthop_order_host_independent)
{
        _cleanup_(config_freep) Config *a = config_new(), *b = config_new();
#define ECMP "{\"prefix\":\"10.9.0.0/16\",\"nexthops\":[{\"gateway\":\"10.0.0.254\",\"lif\":\"web\"}," \
             "{\"gateway\":\"10.0.0.254\",\"lif\":\"db\"}],\"stamp\":[9,\"A\"]}"
        merge(a, doc(BLUE("[1,\"A\"]", WEB("5000", "[2,\"A\"]") "," DB("5001", "[3,\"A\"]"), ECMP), NULL, NULL));
        merge(b, doc(BLUE("[1,\"A\"]", DB("5001", "[3,\"A\"]") "," WEB("5000", "[2,\"A\"]"), ECMP), NULL, NULL));
#undef ECMP
        ck_assert_uint_ne(router_find_lif(config_find_router(a, "blue"), "web")->id,
                router_find_lif(config_find_router(b, "blue"), "web")->id);
        _cleanup_free_ char *ca = canon(a), *cb = canon(b);
        ck_assert_str_eq(ca, cb);
}
END_TEST

/* ---- firewall ---- */

#define FW(stamp, rules, extra)                                                                             \
        "{\"name\":\"blue\",\"table\":1001,\"stamp\":" stamp ",\"lifs\":[],\"routes\":[],\"rules\":[" rules "]" extra "}"
#define RULE(name, ports, stamp)                                                                            \
        "{\"name\":\"" name "\",\"priority\":10,\"protocol\":\"tcp\",\"ports\":\"" ports "\",\"action\":\"allow\"," \
        "\"stamp\":" stamp "}"
#define DEFAULT(action, stamp) ",\"default_action\":{\"action\":\"" action "\",\"stamp\":" stamp "}"

/* Merges and returns what the merge reported (the caller calls merge_result_done). */
static MergeResult merge_res(Config *c, Config *in)
{
        MergeResult res;
        ck_assert_int_eq(config_merge(c, in, 1000, &res), 0);
        config_free(in);
        return res;
}

static bool fw_noted(const MergeResult *res, const char *router)
{
        for (size_t i = 0; i < res->n_fw_routers; i++)
                if (strcmp(res->fw_routers[i], router) == 0)
                        return true;
        return false;
}

static const Rule *rule_of(const Config *c, const char *name)
{
        const Router *r = config_find_router(c, "blue");
        return r ? router_find_rule(r, name) : NULL;
}

START_TEST(test_rule_lww)
{
        _cleanup_(config_freep) Config *c = config_new();
        MergeResult res;

        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[5,\"A\"]"), ""), NULL, NULL));
        ck_assert(res.changed && res.firewall);
        ck_assert_uint_eq(res.n_fw_routers, 1);
        ck_assert(fw_noted(&res, "blue"));
        merge_result_done(&res);
        ck_assert_uint_eq(rule_of(c, "ssh")->ports[0].first, 22);
        ck_assert_uint_ge(c->lamport, 5);

        /* The same again: nothing. Older: nothing. */
        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[5,\"A\"]"), ""), NULL, NULL));
        ck_assert(!res.changed && !res.firewall && res.n_fw_routers == 0);
        merge_result_done(&res);
        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "23", "[4,\"Z\"]"), ""), NULL, NULL));
        ck_assert(!res.changed && !res.firewall);
        merge_result_done(&res);
        ck_assert_uint_eq(rule_of(c, "ssh")->ports[0].first, 22);
        /* Same Lamport time: the host name decides. */
        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "2222", "[5,\"B\"]"), ""), NULL, NULL));
        ck_assert(res.firewall);
        merge_result_done(&res);
        ck_assert_uint_eq(rule_of(c, "ssh")->ports[0].first, 2222);
        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[5,\"A\"]"), ""), NULL, NULL));
        ck_assert(!res.changed);
        merge_result_done(&res);
        ck_assert_uint_eq(rule_of(c, "ssh")->ports[0].first, 2222);
        /* Newer with the same content: a change of state (the stamp), no firewall work. */
        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "2222", "[8,\"C\"]"), ""), NULL, NULL));
        ck_assert(res.changed && !res.firewall && res.n_fw_routers == 0);
        merge_result_done(&res);
        ck_assert_uint_eq(rule_of(c, "ssh")->stamp.lamport, 8);
        /* A document about other things leaves the rules alone. */
        merge(c, doc(BLUE("[1,\"A\"]", WEB("5000", "[9,\"A\"]"), ""), NULL, NULL));
        ck_assert_ptr_nonnull(rule_of(c, "ssh"));
        /* Rules keep (priority, name) order as they come and change. */
        merge(c, doc(FW("[1,\"A\"]", "{\"name\":\"all\",\"priority\":1,\"action\":\"drop\",\"stamp\":[10,\"A\"]},"
                                     "{\"name\":\"zz\",\"priority\":10,\"action\":\"drop\",\"stamp\":[10,\"A\"]}", ""),
                NULL, NULL));
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->n_rules, 3);
        ck_assert_str_eq(r->rules[0]->name, "all");
        ck_assert_str_eq(r->rules[1]->name, "ssh");
        ck_assert_str_eq(r->rules[2]->name, "zz");
        merge(c, doc(FW("[1,\"A\"]", "{\"name\":\"all\",\"priority\":99,\"action\":\"drop\",\"stamp\":[11,\"A\"]}", ""),
                NULL, NULL));
        ck_assert_str_eq(r->rules[2]->name, "all");
}
END_TEST

START_TEST(test_rule_tombstones)
{
        _cleanup_(config_freep) Config *c = config_new();
        MergeResult res;

        merge(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[5,\"A\"]"), ""), NULL, NULL));
        /* An older tombstone changes nothing; a newer one deletes and stays. */
        merge(c, doc("", "{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"ssh\",\"stamp\":[4,\"B\"]}", NULL));
        ck_assert_ptr_nonnull(rule_of(c, "ssh"));
        res = merge_res(c, doc("", "{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"ssh\",\"stamp\":[6,\"B\"]}", NULL));
        ck_assert(res.firewall && fw_noted(&res, "blue"));
        merge_result_done(&res);
        ck_assert_ptr_null(rule_of(c, "ssh"));
        const Tombstone *t = config_find_tomb(c, TOMB_RULE, "blue", "ssh");
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->stamp.lamport, 6);
        /* The old copy arriving late stays dead, also at the tombstone's own time... */
        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[5,\"A\"]"), ""), NULL, NULL));
        ck_assert(!res.firewall);
        merge_result_done(&res);
        merge(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[6,\"B\"]"), ""), NULL, NULL));
        ck_assert_ptr_null(rule_of(c, "ssh"));
        /* ...while the rule written again later comes back. */
        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "2222", "[7,\"A\"]"), ""), NULL, NULL));
        ck_assert(res.firewall);
        merge_result_done(&res);
        ck_assert_uint_eq(rule_of(c, "ssh")->ports[0].first, 2222);

        /* A tombstone exactly as new as the rule removes it too. */
        merge(c, doc("", "{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"ssh\",\"stamp\":[7,\"A\"]}", NULL));
        ck_assert_ptr_null(rule_of(c, "ssh"));

        /* A tombstone for a rule never seen here is kept for when it arrives. */
        merge(c, doc("", "{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"web\",\"stamp\":[9,\"C\"]}", NULL));
        merge(c, doc(FW("[1,\"A\"]", RULE("web", "80", "[8,\"A\"]"), ""), NULL, NULL));
        ck_assert_ptr_null(rule_of(c, "web"));
}
END_TEST

/* Rules and the default action belong to one incarnation of their router. */
START_TEST(test_rules_die_with_router)
{
        _cleanup_(config_freep) Config *c = config_new();
        MergeResult res;

        merge(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[2,\"A\"]"), DEFAULT("drop", "[3,\"A\"]")), NULL, NULL));
        res = merge_res(c, doc("", "{\"kind\":\"router\",\"router\":\"\",\"key\":\"blue\",\"stamp\":[4,\"B\"]}", NULL));
        ck_assert(res.firewall && fw_noted(&res, "blue"));
        merge_result_done(&res);
        ck_assert_ptr_null(config_find_router(c, "blue"));
        merge(c, doc(FW("[5,\"B\"]", "", ""), NULL, NULL));
        /* A host that missed all that sends the old incarnation with its firewall: ignored whole. */
        res = merge_res(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[2,\"A\"]") "," RULE("web", "80", "[6,\"A\"]"),
                                       DEFAULT("drop", "[7,\"A\"]")),
                NULL, NULL));
        ck_assert(!res.firewall);
        merge_result_done(&res);
        Router *r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->n_rules, 0);
        ck_assert_int_eq(r->default_action, RULE_ACTION_ALLOW);
        ck_assert_uint_eq(r->default_stamp.lamport, 0);

        /* A newer incarnation replaces the router and its firewall with its own. */
        merge(c, doc(FW("[5,\"B\"]", RULE("ssh", "22", "[8,\"B\"]"), DEFAULT("reject", "[8,\"B\"]")), NULL, NULL));
        ck_assert_uint_eq(r->n_rules, 1);
        res = merge_res(c, doc(FW("[9,\"C\"]", RULE("web", "80", "[10,\"C\"]"), ""), NULL, NULL));
        ck_assert(res.firewall && fw_noted(&res, "blue"));
        merge_result_done(&res);
        r = config_find_router(c, "blue");
        ck_assert_uint_eq(r->n_rules, 1);
        ck_assert_ptr_nonnull(router_find_rule(r, "web"));
        ck_assert_int_eq(r->default_action, RULE_ACTION_ALLOW);
}
END_TEST

START_TEST(test_default_action_lww)
{
        _cleanup_(config_freep) Config *c = config_new();
        MergeResult res;
        Router *r;

        merge(c, doc(FW("[1,\"A\"]", "", ""), NULL, NULL));
        r = config_find_router(c, "blue");
        res = merge_res(c, doc(FW("[1,\"A\"]", "", DEFAULT("drop", "[5,\"A\"]")), NULL, NULL));
        ck_assert(res.changed && res.firewall && fw_noted(&res, "blue"));
        merge_result_done(&res);
        ck_assert_int_eq(r->default_action, RULE_ACTION_DROP);
        ck_assert_uint_ge(c->lamport, 5);
        /* Older: kept. Again: nothing. Left out of a document: kept. */
        res = merge_res(c, doc(FW("[1,\"A\"]", "", DEFAULT("allow", "[4,\"Z\"]")), NULL, NULL));
        ck_assert(!res.changed && !res.firewall);
        merge_result_done(&res);
        res = merge_res(c, doc(FW("[1,\"A\"]", "", DEFAULT("drop", "[5,\"A\"]")), NULL, NULL));
        ck_assert(!res.changed);
        merge_result_done(&res);
        merge(c, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[6,\"A\"]"), ""), NULL, NULL));
        ck_assert_int_eq(r->default_action, RULE_ACTION_DROP);
        /* Newer: taken, also back to allow. */
        res = merge_res(c, doc(FW("[1,\"A\"]", "", DEFAULT("allow", "[7,\"B\"]")), NULL, NULL));
        ck_assert(res.firewall);
        merge_result_done(&res);
        ck_assert_int_eq(r->default_action, RULE_ACTION_ALLOW);
        ck_assert_uint_eq(r->default_stamp.lamport, 7);
        ck_assert_str_eq(c->hosts[r->default_stamp.host], "B");
        /* Newer, same action: the stamp moves, the firewall has nothing to do. */
        res = merge_res(c, doc(FW("[1,\"A\"]", "", DEFAULT("allow", "[8,\"A\"]")), NULL, NULL));
        ck_assert(res.changed && !res.firewall);
        merge_result_done(&res);
        ck_assert_uint_eq(r->default_stamp.lamport, 8);
        /* Its mirrored state carries it to a host that never had it. */
        _cleanup_(config_freep) Config *other = config_new();
        exchange(c, other);
        ck_assert_uint_eq(config_find_router(other, "blue")->default_stamp.lamport, 8);
        _cleanup_free_ char *s1 = state(c), *s2 = state(other);
        ck_assert_str_eq(s1, s2);
}
END_TEST

/* Two hosts change the same router's firewall at once, then exchange states: they end alike. */
START_TEST(test_firewall_settles_alike)
{
        _cleanup_(config_freep) Config *a = config_new(), *b = config_new();

        merge(a, doc(FW("[1,\"A\"]", RULE("ssh", "22", "[3,\"A\"]") "," RULE("web", "80", "[3,\"A\"]") ","
                                     RULE("old", "1", "[2,\"A\"]"),
                             DEFAULT("drop", "[4,\"A\"]")),
                NULL, NULL));
        merge(b, doc(FW("[1,\"A\"]", RULE("ssh", "2222", "[3,\"B\"]") "," RULE("old", "1", "[2,\"A\"]"),
                             DEFAULT("reject", "[4,\"B\"]")),
                NULL, NULL));
        merge(b, doc("", "{\"kind\":\"rule\",\"router\":\"blue\",\"key\":\"old\",\"stamp\":[5,\"B\"]}", NULL));
        exchange(a, b);
        _cleanup_free_ char *ca = canon(a), *cb = canon(b), *sa = state(a), *sb = state(b);
        ck_assert_str_eq(ca, cb);
        ck_assert_str_eq(sa, sb);
        char da[65], db[65];
        ck_assert_int_eq(config_digest(a, da), 0);
        ck_assert_int_eq(config_digest(b, db), 0);
        ck_assert_str_eq(da, db);
        /* (3,"B") beats (3,"A"); the deletion beats the older rule; (4,"B") beats (4,"A"). */
        ck_assert_uint_eq(rule_of(a, "ssh")->ports[0].first, 2222);
        ck_assert_ptr_nonnull(rule_of(a, "web"));
        ck_assert_ptr_null(rule_of(a, "old"));
        ck_assert_ptr_nonnull(config_find_tomb(a, TOMB_RULE, "blue", "old"));
        ck_assert_int_eq(config_find_router(a, "blue")->default_action, RULE_ACTION_REJECT);
}
END_TEST

/* A router of host-made rules: n rules named prefix%05zu, stamped lamport (+ i when step), in one document. */
static Config *many_rules(const char *prefix, size_t n, uint64_t lamport, bool step, const char *host)
{
        Config *c = config_new();
        ck_assert_ptr_nonnull(c);
        Router *r = unit_router(c, "blue", 1001);
        int a = config_host_index(c, "A"), h = config_host_index(c, host);
        char name[32];

        ck_assert_int_ge(a, 0);
        ck_assert_int_ge(h, 0);
        r->stamp = (Stamp) { 1, (uint32_t) a };
        for (size_t i = 0; i < n; i++) {
                Rule *x = calloc(1, sizeof(Rule));
                ck_assert_ptr_nonnull(x);
                snprintf(name, sizeof name, "%s%05zu", prefix, i);
                x->name = strdup(name);
                x->priority = (uint32_t) (i * 7 / n); /* in name order: appended, not inserted (valgrind) */
                x->action = RULE_ACTION_DROP;
                x->stamp = (Stamp) { lamport + (step ? i : 0), (uint32_t) h };
                ck_assert_int_eq(router_put_rule(r, x, NULL), 0);
        }
        return c;
}

/* Two hosts each stay within the rule limit; together they would not. The newest stay, the rest become
 * tombstones stamped like the weakest rule kept, the same on every host whatever the order of merges. */
START_TEST(test_rule_limit_after_merge)
{
        _cleanup_(config_freep) Config *x = config_new(), *y = config_new(), *back = NULL;
        _cleanup_free_ char *st = NULL;
        MergeResult res;
        char err[512];
        size_t len;

        /* Up to the limit, stamped 100 and up; one more, older than all of them. */
        merge(x, many_rules("r", DLR_RULES_MAX, 100, true, "B"));
        res = merge_res(x, many_rules("old", 1, 50, false, "C"));
        ck_assert(res.firewall);
        merge_result_done(&res);
        Router *r = config_find_router(x, "blue");
        ck_assert_uint_eq(r->n_rules, DLR_RULES_MAX);
        ck_assert_ptr_null(router_find_rule(r, "old00000"));
        const Tombstone *t = config_find_tomb(x, TOMB_RULE, "blue", "old00000");
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->stamp.lamport, 100); /* the weakest rule kept */
        ck_assert_str_eq(x->hosts[t->stamp.host], "B");
        /* In the other order: the same. */
        merge(y, many_rules("old", 1, 50, false, "C"));
        merge(y, many_rules("r", DLR_RULES_MAX, 100, true, "B"));
        _cleanup_free_ char *sx = state(x), *sy = state(y);
        ck_assert_str_eq(sx, sy);
        ck_assert_int_eq(config_to_state(x, &st, &len), 0);
        ck_assert_int_eq(config_from_json_ex(st, len, CONFIG_PARSE_STATE, &back, err, sizeof err), 0);
}
END_TEST

/* All stamped alike (one Apply on each of two hosts would do that): the names decide, alike everywhere. */
START_TEST(test_rule_limit_ties)
{
        _cleanup_(config_freep) Config *x = config_new(), *y = config_new();

        merge(x, many_rules("a", DLR_RULES_MAX - 1, 10, false, "A"));
        merge(x, many_rules("b", 3, 10, false, "A"));
        merge(y, many_rules("b", 3, 10, false, "A"));
        merge(y, many_rules("a", DLR_RULES_MAX - 1, 10, false, "A"));
        Router *r = config_find_router(x, "blue");
        ck_assert_uint_eq(r->n_rules, DLR_RULES_MAX);
        ck_assert_ptr_nonnull(router_find_rule(r, "b00000"));
        ck_assert_ptr_null(router_find_rule(r, "b00001"));
        ck_assert_ptr_null(router_find_rule(r, "b00002"));
        ck_assert_ptr_nonnull(config_find_tomb(x, TOMB_RULE, "blue", "b00002"));
        _cleanup_free_ char *sx = state(x), *sy = state(y);
        ck_assert_str_eq(sx, sy);
}
END_TEST

static Suite *mirror_suite(void)
{
        Suite *s = suite_create("mirror");
        TCase *tc = tcase_create("merge");
        tcase_add_test(tc, test_stamp_order);
        tcase_add_test(tc, test_newer_wins_and_idempotent);
        tcase_add_test(tc, test_tombstones);
        tcase_add_test(tc, test_route_leaving_a_dead_lif);
        tcase_add_test(tc, test_router_incarnations);
        tcase_add_test(tc, test_conflicts_settle_alike);
        tcase_add_test(tc, test_route_through_dead_lif);
        tcase_add_test(tc, test_members);
        tcase_add_test(tc, test_endpoints);
        tcase_add_test(tc, test_endpoint_outside_newer_lif);
        tcase_add_test(tc, test_mirror_parse_strict);
        tcase_add_test(tc, test_tomb_set);
        tcase_add_test(tc, test_random_convergence);
        tcase_add_test(tc, test_limits_after_merge);
        tcase_add_test(tc, test_nexthop_order_host_independent);
        suite_add_tcase(s, tc);

        tc = tcase_create("firewall");
        tcase_add_test(tc, test_rule_lww);
        tcase_add_test(tc, test_rule_tombstones);
        tcase_add_test(tc, test_rules_die_with_router);
        tcase_add_test(tc, test_default_action_lww);
        tcase_add_test(tc, test_firewall_settles_alike);
        tcase_add_test(tc, test_rule_limit_after_merge);
        tcase_add_test(tc, test_rule_limit_ties);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(mirror_suite());
}
