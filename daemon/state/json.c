/* JSON writing is hand-rolled because it runs on every change over up to a million routes; reading uses
 * json-c, which only runs for Apply and at start. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "json-internal.h"
#include "json.h"
#include "merge.h"
#include "redact.h"
#include "shared/cleanup.h"

static int cmp_router(const void *a, const void *b)
{
        return strcmp((*(Router *const *) a)->name, (*(Router *const *) b)->name);
}

static int cmp_lif(const void *a, const void *b)
{
        return strcmp((*(Lif *const *) a)->name, (*(Lif *const *) b)->name);
}

static int cmp_route(const void *a, const void *b)
{
        return ip_prefix_compare(&(*(Route *const *) a)->prefix, &(*(Route *const *) b)->prefix);
}

/* Next hops are stored in the order of LIF ids, which are this host's own; in a document they go in an order
 * every host agrees on: gateway, then gateway-less first, then LIF name. */
static int nexthop_doc_compare(const Router *r, const Nexthop *x, const Nexthop *y)
{
        int d = memcmp(x->gw, y->gw, sizeof x->gw);
        if (d != 0)
                return d;
        if (x->has_gw != y->has_gw)
                return x->has_gw ? 1 : -1;
        const Lif *lx = x->lif ? router_find_lif_by_id(r, x->lif) : NULL;
        const Lif *ly = y->lif ? router_find_lif_by_id(r, y->lif) : NULL;
        return strcmp(lx ? lx->name : "", ly ? ly->name : "");
}

static void put_route(Buf *b, const Config *c, const Router *r, const Route *rt)
{
        const Nexthop *nh = route_nexthops(rt);
        const Nexthop *order[DLR_NEXTHOPS_MAX];
        unsigned n = 0;

        /* Insertion sort: at most 32, and no shared state (this also runs on the record thread). */
        for (unsigned j = 0; j < rt->n_nexthops && j < DLR_NEXTHOPS_MAX; j++)
                order[n++] = &nh[j];
        for (unsigned j = 1; j < n; j++) {
                const Nexthop *x = order[j];
                unsigned k = j;
                while (k > 0 && nexthop_doc_compare(r, order[k - 1], x) > 0) {
                        order[k] = order[k - 1];
                        k--;
                }
                order[k] = x;
        }
        PUTS(b, "{\"prefix\":\"");
        put_addr(b, rt->prefix.family, rt->prefix.addr, rt->prefix.plen);
        PUTS(b, "\",\"nexthops\":[");
        for (unsigned j = 0; j < n; j++) {
                const Lif *l = order[j]->lif ? router_find_lif_by_id(r, order[j]->lif) : NULL;

                if (j > 0)
                        put(b, ",", 1);
                PUTS(b, "{\"gateway\":\"");
                if (order[j]->has_gw)
                        put_addr(b, rt->prefix.family, order[j]->gw, -1);
                PUTS(b, "\",\"lif\":");
                put_string(b, l ? l->name : "");
                put(b, "}", 1);
        }
        put(b, "]", 1);
        put_stamp(b, c, rt->stamp_lamport, rt->stamp_host);
        put(b, "}", 1);
}

static void put_endpoint(Buf *b, const Config *c, const Router *r, const Endpoint *e)
{
        const Lif *l = router_find_lif_by_id(r, e->lif);
        char mac[18];

        PUTS(b, "{\"lif\":");
        put_string(b, l ? l->name : "");
        mac_format(e->mac, mac);
        putf(b, ",\"mac\":\"%s\",\"addresses\":[", mac);
        for (size_t i = 0; i < e->n_addresses; i++) {
                if (i > 0)
                        put(b, ",", 1);
                put(b, "\"", 1);
                put_addr(b, e->addresses[i].family, e->addresses[i].addr, -1);
                put(b, "\"", 1);
        }
        PUTS(b, "],\"host\":");
        put_string(b, e->host < c->n_hosts ? c->hosts[e->host] : "");
        put_stamp(b, c, e->stamp.lamport, e->stamp.host);
        put(b, "}", 1);
}

static const Router *cmp_endpoint_router; /* qsort has no context argument; serialising is single-threaded */

static int cmp_endpoint(const void *a, const void *b)
{
        const Endpoint *x = *(Endpoint *const *) a, *y = *(Endpoint *const *) b;
        const Lif *lx = router_find_lif_by_id(cmp_endpoint_router, x->lif);
        const Lif *ly = router_find_lif_by_id(cmp_endpoint_router, y->lif);
        int r = strcmp(lx ? lx->name : "", ly ? ly->name : "");
        return r != 0 ? r : memcmp(x->mac, y->mac, 6);
}

static void put_endpoints(Buf *b, const Config *c, const Router *r, bool sorted)
{
        _cleanup_free_ Endpoint **v = malloc((r->n_endpoints + 1) * sizeof(Endpoint *));

        if (!v) {
                b->oom = true;
                return;
        }
        if (r->n_endpoints > 0)
                memcpy(v, r->endpoints, r->n_endpoints * sizeof(Endpoint *));
        if (sorted) {
                cmp_endpoint_router = r;
                qsort(v, r->n_endpoints, sizeof(Endpoint *), cmp_endpoint);
        }
        PUTS(b, ",\"endpoints\":[");
        for (size_t i = 0; i < r->n_endpoints; i++) {
                if (i > 0)
                        put(b, ",", 1);
                put_endpoint(b, c, r, v[i]);
        }
        put(b, "]", 1);
}

static void put_routes(Buf *b, const Config *c, const Router *r, bool sorted)
{
        _cleanup_free_ Route **v = malloc((r->routes.n ? r->routes.n : 1) * sizeof(Route *));
        size_t n = 0;

        if (!v) {
                b->oom = true;
                return;
        }
        ROUTE_TABLE_FOREACH(rt, &r->routes)
                v[n++] = rt;
        if (sorted)
                qsort(v, n, sizeof(Route *), cmp_route);
        buf_reserve(b, n * 96);

        PUTS(b, "\"routes\":[");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        put(b, ",", 1);
                put_route(b, c, r, v[i]);
        }
        put(b, "]", 1);
}

/* A router's name, table, stamp and LIFs (in the order given), up to where its routes begin. ids: with the
 * host-local LIF ids. */
static void put_router_head(Buf *b, const Config *c, const Router *r, Lif *const *lifs, bool ids)
{
        char s[IP_PREFIX_MAX_STR];

        PUTS(b, "{\"name\":");
        put_string(b, r->name);
        putf(b, ",\"table\":%" PRIu32, r->table);
        put_stamp(b, c, r->stamp.lamport, r->stamp.host);
        PUTS(b, ",\"lifs\":[");
        for (size_t j = 0; j < r->n_lifs; j++) {
                const Lif *l = lifs[j];
                if (j > 0)
                        put(b, ",", 1);
                PUTS(b, "{\"name\":");
                put_string(b, l->name);
                putf(b, ",\"kind\":\"%s\",\"segment\":%" PRIu32 ",\"mtu\":%" PRIu32, lif_kind_to_string(l->kind),
                        l->segment, l->mtu_config);
                putf(b, ",\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\"", l->mac[0], l->mac[1], l->mac[2], l->mac[3],
                        l->mac[4], l->mac[5]);
                /* LIF ids are this host's own (routes name LIFs by id in memory only): saved, never shared. */
                if (ids)
                        putf(b, ",\"id\":%u", l->id);
                PUTS(b, ",\"addresses\":[");
                for (size_t a = 0; a < l->n_addresses; a++) {
                        if (a > 0)
                                put(b, ",", 1);
                        put(b, "\"", 1);
                        PUTS(b, ip_prefix_to_string(&l->addresses[a], true, s, sizeof s));
                        put(b, "\"", 1);
                }
                put(b, "]", 1);
                put_stamp(b, c, l->stamp.lamport, l->stamp.host);
                put(b, "}", 1);
        }
        PUTS(b, "],");
}

static int cmp_member(const void *a, const void *b)
{
        return strcmp((*(Member *const *) a)->host, (*(Member *const *) b)->host);
}

static int cmp_tomb(const void *a, const void *b)
{
        const Tombstone *x = *(Tombstone *const *) a, *y = *(Tombstone *const *) b;
        int r = (int) x->kind - (int) y->kind;
        if (r == 0)
                r = strcmp(x->router, y->router);
        return r != 0 ? r : strcmp(x->key, y->key);
}

/* One member record: its key only once pinned; redacted: the address as unprivileged readers see it. */
static void put_member(Buf *b, const Config *c, const Member *mb, bool redacted)
{
        PUTS(b, "{\"host\":");
        put_string(b, mb->host);
        PUTS(b, ",\"vtep\":\"");
        put_addr(b, mb->vtep.family, mb->vtep.addr, -1);
        PUTS(b, "\",\"address\":");
        if (redacted) {
                _cleanup_free_ char *a = NULL;
                if (peer_address_redact(mb->address, &a) < 0) {
                        b->oom = true;
                        return;
                }
                put_string(b, a);
        } else
                put_string(b, mb->address);
        if (mb->key[0]) {
                PUTS(b, ",\"key\":");
                put_string(b, mb->key);
        }
        put_stamp(b, c, mb->stamp.lamport, mb->stamp.host);
        put(b, "}", 1);
}

static void put_members(Buf *b, const Config *c, bool sorted, bool redacted)
{
        _cleanup_free_ Member **v = malloc((c->n_members + 1) * sizeof(Member *));

        if (!v) {
                b->oom = true;
                return;
        }
        if (c->n_members > 0)
                memcpy(v, c->members, c->n_members * sizeof(Member *));
        if (sorted)
                qsort(v, c->n_members, sizeof(Member *), cmp_member);
        PUTS(b, ",\"members\":[");
        for (size_t i = 0; i < c->n_members; i++) {
                if (i > 0)
                        put(b, ",", 1);
                put_member(b, c, v[i], redacted);
        }
        put(b, "]", 1);
}

static void put_tombs(Buf *b, const Config *c, bool with_since)
{
        _cleanup_free_ Tombstone **v = malloc((c->tombs.n + 1) * sizeof(Tombstone *));
        size_t n = 0;

        if (!v) {
                b->oom = true;
                return;
        }
        TOMB_SET_FOREACH(t, &c->tombs)
                v[n++] = t;
        qsort(v, n, sizeof(Tombstone *), cmp_tomb);
        PUTS(b, ",\"tombstones\":[");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        put(b, ",", 1);
                putf(b, "{\"kind\":\"%s\",\"router\":", tomb_kind_to_string(v[i]->kind));
                put_string(b, v[i]->router);
                PUTS(b, ",\"key\":");
                put_string(b, v[i]->key);
                put_stamp(b, c, v[i]->stamp.lamport, v[i]->stamp.host);
                if (with_since)
                        putf(b, ",\"since\":%" PRIu64, v[i]->since);
                put(b, "}", 1);
        }
        put(b, "]", 1);
}

typedef enum JsonFlags {
        JSON_GENERATION = 1 << 0, /* host-local counters */
        JSON_SORTED = 1 << 1,     /* canonical order */
        JSON_TOMBS = 1 << 2,      /* tombstones */
        JSON_SINCE = 1 << 3,      /* host-local age of tombstones */
        JSON_LAMPORT = 1 << 4,    /* the Lamport clock without the generation */
        JSON_IDS = 1 << 5,        /* host-local LIF ids */
        JSON_PORTS = 1 << 6,      /* host-local attached ports */
        JSON_REDACTED = 1 << 7,   /* members' addresses as callers that are not root may see them */
} JsonFlags;

static int to_json(const Config *c, JsonFlags flags, char **ret, size_t *ret_len)
{
        bool sorted = flags & JSON_SORTED;
        _cleanup_free_ Router **routers = malloc((c->n_routers + 1) * sizeof(Router *));
        Buf b = {};

        if (!routers)
                return -ENOMEM;
        if (c->n_routers > 0) /* the array is NULL while empty */
                memcpy(routers, c->routers, c->n_routers * sizeof(Router *));
        if (sorted)
                qsort(routers, c->n_routers, sizeof(Router *), cmp_router);

        PUTS(&b, "{\"version\":1");
        if (flags & JSON_GENERATION)
                putf(&b, ",\"generation\":%" PRIu64 ",\"lamport\":%" PRIu64, c->generation, c->lamport);
        else if (flags & JSON_LAMPORT)
                putf(&b, ",\"lamport\":%" PRIu64, c->lamport);
        PUTS(&b, ",\"routers\":[");
        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = routers[i];
                _cleanup_free_ Lif **lifs = malloc((r->n_lifs + 1) * sizeof(Lif *));

                if (!lifs) {
                        b.oom = true;
                        break;
                }
                if (r->n_lifs > 0)
                        memcpy(lifs, r->lifs, r->n_lifs * sizeof(Lif *));
                if (sorted)
                        qsort(lifs, r->n_lifs, sizeof(Lif *), cmp_lif);

                if (i > 0)
                        put(&b, ",", 1);
                put_router_head(&b, c, r, lifs, flags & JSON_IDS);
                put_routes(&b, c, r, sorted);
                put_endpoints(&b, c, r, sorted);
                /* Rules are already in (priority, name) order, the order every host evaluates them in. */
                json_put_rules(&b, c, r, flags & JSON_TOMBS);
                put(&b, "}", 1);
        }
        put(&b, "]", 1);
        put_members(&b, c, sorted, flags & JSON_REDACTED);
        if (flags & JSON_PORTS) {
                PUTS(&b, ",\"ports\":[");
                for (size_t i = 0; i < c->n_ports; i++) {
                        if (i > 0)
                                put(&b, ",", 1);
                        PUTS(&b, "{\"ifname\":");
                        put_string(&b, c->ports[i].ifname);
                        PUTS(&b, ",\"router\":");
                        put_string(&b, c->ports[i].router);
                        PUTS(&b, ",\"lif\":");
                        put_string(&b, c->ports[i].lif);
                        put(&b, "}", 1);
                }
                put(&b, "]", 1);
        }
        if (flags & JSON_TOMBS)
                put_tombs(&b, c, flags & JSON_SINCE);
        put(&b, "}", 1);
        if (b.oom) {
                free(b.p);
                return -ENOMEM;
        }
        *ret = b.p;
        if (ret_len)
                *ret_len = b.len;
        return 0;
}

int config_to_json(const Config *c, bool with_generation, char **ret, size_t *ret_len)
{
        return to_json(c, JSON_SORTED | (with_generation ? JSON_GENERATION : 0), ret, ret_len);
}

int config_to_json_redacted(const Config *c, char **ret, size_t *ret_len)
{
        return to_json(c, JSON_SORTED | JSON_GENERATION | JSON_REDACTED, ret, ret_len);
}

int config_to_state(const Config *c, char **ret, size_t *ret_len)
{
        return to_json(c, JSON_GENERATION | JSON_TOMBS | JSON_SINCE | JSON_IDS | JSON_PORTS, ret, ret_len);
}

int config_to_mirror(const Config *c, char **ret, size_t *ret_len)
{
        return to_json(c, JSON_LAMPORT | JSON_TOMBS, ret, ret_len);
}

static void delta_begin(Buf *b, const Config *c)
{
        putf(b, "{\"version\":1,\"lamport\":%" PRIu64 ",\"routers\":[", c->lamport);
}

int delta_routes(const Config *c, const Router *r, const Route *routes, size_t n, char **ret, size_t *ret_len)
{
        Buf b = {};

        buf_reserve(&b, n * 96 + 1024);
        delta_begin(&b, c);
        put_router_head(&b, c, r, r->lifs, false);
        PUTS(&b, "\"routes\":[");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        put(&b, ",", 1);
                put_route(&b, c, r, &routes[i]);
        }
        PUTS(&b, "]}],\"members\":[]}");
        return buf_finish(&b, ret, ret_len);
}

int delta_endpoint(const Config *c, const Router *r, const Endpoint *e, char **ret, size_t *ret_len)
{
        Buf b = {};

        delta_begin(&b, c);
        put_router_head(&b, c, r, r->lifs, false);
        PUTS(&b, "\"routes\":[],\"endpoints\":[");
        put_endpoint(&b, c, r, e);
        PUTS(&b, "]}],\"members\":[]}");
        return buf_finish(&b, ret, ret_len);
}

int delta_router(const Config *c, const Router *r, char **ret, size_t *ret_len)
{
        return delta_routes(c, r, NULL, 0, ret, ret_len);
}

int delta_rule(const Config *c, const Router *r, const Rule *rule, char **ret, size_t *ret_len)
{
        Buf b = {};

        delta_begin(&b, c);
        put_router_head(&b, c, r, r->lifs, false);
        PUTS(&b, "\"routes\":[],\"rules\":[");
        json_put_rule(&b, c, rule, true);
        PUTS(&b, "]}],\"members\":[]}");
        return buf_finish(&b, ret, ret_len);
}

int delta_default_action(const Config *c, const Router *r, char **ret, size_t *ret_len)
{
        Buf b = {};

        delta_begin(&b, c);
        put_router_head(&b, c, r, r->lifs, false);
        PUTS(&b, "\"routes\":[],\"default_action\":");
        json_put_default_action(&b, c, r);
        PUTS(&b, "}],\"members\":[]}");
        return buf_finish(&b, ret, ret_len);
}

int delta_tomb(const Config *c, TombKind kind, const char *router, const char *key, char **ret, size_t *ret_len)
{
        const Tombstone *t = config_find_tomb(c, kind, router, key);
        Buf b = {};

        if (!t)
                return -ENOENT;
        delta_begin(&b, c);
        putf(&b, "],\"members\":[],\"tombstones\":[{\"kind\":\"%s\",\"router\":", tomb_kind_to_string(kind));
        put_string(&b, router);
        PUTS(&b, ",\"key\":");
        put_string(&b, key);
        put_stamp(&b, c, t->stamp.lamport, t->stamp.host);
        PUTS(&b, "}]}");
        return buf_finish(&b, ret, ret_len);
}

int delta_member(const Config *c, const Member *mb, char **ret, size_t *ret_len)
{
        Buf b = {};

        delta_begin(&b, c);
        PUTS(&b, "],\"members\":[");
        put_member(&b, c, mb, false);
        PUTS(&b, "]}");
        return buf_finish(&b, ret, ret_len);
}

int journal_merge(const Config *c, const char *doc, size_t doc_len, uint64_t now, char **ret, size_t *ret_len)
{
        Buf b = {};

        buf_reserve(&b, doc_len + 128);
        putf(&b, "{\"op\":\"merge\",\"generation\":%" PRIu64 ",\"lamport\":%" PRIu64 ",\"time\":%" PRIu64
                ",\"doc\":", c->generation, c->lamport, now);
        put(&b, doc, doc_len);
        PUTS(&b, "}\n");
        return buf_finish(&b, ret, ret_len);
}

static int record_head(Buf *b, const Config *c, const char *op, const Router *r)
{
        putf(b, "{\"op\":\"%s\",\"generation\":%" PRIu64 ",\"lamport\":%" PRIu64 ",\"router\":", op, c->generation,
                c->lamport);
        put_string(b, r->name);
        return 0;
}

static int record_end(Buf *b, char **ret, size_t *ret_len)
{
        PUTS(b, "}\n");
        return buf_finish(b, ret, ret_len);
}

int journal_put_routes(const Config *c, const Router *r, const Route *routes, size_t n, char **ret, size_t *ret_len)
{
        Buf b = {};

        buf_reserve(&b, n * 96 + 256);
        record_head(&b, c, "put", r);
        PUTS(&b, ",\"routes\":[");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        put(&b, ",", 1);
                put_route(&b, c, r, &routes[i]);
        }
        put(&b, "]", 1);
        return record_end(&b, ret, ret_len);
}

int journal_delete_route(const Config *c, const Router *r, const IpPrefix *p, char **ret, size_t *ret_len)
{
        Buf b = {};

        record_head(&b, c, "del", r);
        PUTS(&b, ",\"prefix\":\"");
        put_addr(&b, p->family, p->addr, p->plen);
        put(&b, "\"", 1);
        return record_end(&b, ret, ret_len);
}

int config_digest(const Config *c, char ret[65])
{
        _cleanup_free_ char *s = NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        size_t len;
        int r;

        r = config_to_json(c, false, &s, &len);
        if (r < 0)
                return r;
        if (EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
                return -EIO;
        for (unsigned i = 0; i < 32; i++)
                snprintf(ret + (size_t) 2 * i, 3, "%02x", md[i]);
        return 0;
}

/* Reading. */

static int parse_lif(Config *c, Router *r, json_object *o, char *errbuf, size_t errsize)
{
        static const char *const keys[] = { "name", "kind", "segment", "mtu", "addresses", "mac", "id", "stamp",
                NULL };
        json_object *addrs;
        const char *name = get_str(o, "name"), *kind = get_str(o, "kind"), *why = NULL;
        uint32_t segment, mtu, id;
        char *av[DLR_ADDRESSES_MAX];
        size_t n = 0;
        Lif *l;
        int k;

        if (!json_object_is_type(o, json_type_object) || !keys_allowed(o, keys))
                ERR(-EINVAL, "router %s: a LIF must be an object with known keys", r->name);
        if (!name || !kind)
                ERR(-EINVAL, "router %s: a LIF needs \"name\" and \"kind\"", r->name);
        if (get_u32(o, "segment", true, &segment) < 0 || get_u32(o, "mtu", false, &mtu) < 0 ||
                        get_u32(o, "id", false, &id) < 0 || id > UINT16_MAX)
                ERR(-EINVAL, "router %s LIF %s: bad \"segment\", \"mtu\" or \"id\"", r->name, name);
        if (json_object_object_get_ex(o, "addresses", &addrs)) {
                if (!json_object_is_type(addrs, json_type_array) ||
                                json_object_array_length(addrs) > DLR_ADDRESSES_MAX)
                        ERR(-EINVAL, "router %s LIF %s: \"addresses\" must be a list of at most 16", r->name, name);
                for (n = 0; n < json_object_array_length(addrs); n++) {
                        json_object *a = json_object_array_get_idx(addrs, n);
                        if (!json_object_is_type(a, json_type_string))
                                ERR(-EINVAL, "router %s LIF %s: addresses must be strings", r->name, name);
                        av[n] = (char *) json_object_get_string(a);
                }
        }
        k = lif_new_checked(c, r, name, kind, segment, av, n, mtu, &l, &why);
        if (k < 0)
                ERR(k, "router %s LIF %s: %s", r->name, name, why ? why : "out of memory");
        if (get_stamp(c, o, &l->stamp) < 0) {
                lif_free(l);
                ERR(-EINVAL, "router %s LIF %s: bad \"stamp\"", r->name, name);
        }
        if (id != 0 && router_find_lif_by_id(r, (uint16_t) id)) {
                lif_free(l);
                ERR(-EINVAL, "router %s LIF %s: duplicate \"id\"", r->name, name);
        }
        /* LIFs without an id get one only after every explicit id is known (parse_router). */
        l->id = (uint16_t) id;
        k = router_append_lif(r, l);
        if (k < 0) {
                lif_free(l);
                ERR(k, "out of memory");
        }
        return 0;
}

static int parse_route(Config *c, Router *r, json_object *o, bool replace, char *errbuf, size_t errsize)
{
        static const char *const keys[] = { "prefix", "nexthops", "stamp", NULL };
        NexthopSpec nh[DLR_NEXTHOPS_MAX];
        json_object *hops;
        const char *prefix = get_str(o, "prefix"), *why = NULL;
        size_t n = 0;
        Route rt;
        Stamp st;
        int k;

        if (!json_object_is_type(o, json_type_object) || !keys_allowed(o, keys) || !prefix)
                ERR(-EINVAL, "router %s: a route must be an object with \"prefix\" and \"nexthops\"", r->name);
        if (!json_object_object_get_ex(o, "nexthops", &hops) || !json_object_is_type(hops, json_type_array) ||
                        json_object_array_length(hops) > DLR_NEXTHOPS_MAX)
                ERR(-EINVAL, "router %s route %s: \"nexthops\" must be a list of at most 32", r->name, prefix);
        for (n = 0; n < json_object_array_length(hops); n++) {
                static const char *const hkeys[] = { "gateway", "lif", NULL };
                json_object *h = json_object_array_get_idx(hops, n);
                if (!json_object_is_type(h, json_type_object) || !keys_allowed(h, hkeys))
                        ERR(-EINVAL, "router %s route %s: bad next hop", r->name, prefix);
                json_object *g = NULL, *l = NULL;
                if ((json_object_object_get_ex(h, "gateway", &g) && !json_object_is_type(g, json_type_string)) ||
                                (json_object_object_get_ex(h, "lif", &l) && !json_object_is_type(l, json_type_string)))
                        ERR(-EINVAL, "router %s route %s: \"gateway\" and \"lif\" must be strings", r->name, prefix);
                nh[n].gateway = g ? json_object_get_string(g) : "";
                nh[n].lif = l ? json_object_get_string(l) : "";
        }
        k = route_build(r, prefix, nh, n, &rt, &why);
        if (k < 0)
                ERR(k, "router %s route %s: %s", r->name, prefix, why ? why : "out of memory");
        if (get_stamp(c, o, &st) < 0) {
                route_done(&rt);
                ERR(-EINVAL, "router %s route %s: bad \"stamp\"", r->name, prefix);
        }
        rt.stamp_lamport = st.lamport;
        rt.stamp_host = st.host;
        if (!replace && route_table_get(&r->routes, &rt.prefix)) {
                route_done(&rt);
                ERR(-EINVAL, "router %s route %s: duplicate prefix", r->name, prefix);
        }
        k = route_table_put(&r->routes, &rt, NULL);
        if (k < 0) {
                route_done(&rt);
                ERR(k, "out of memory");
        }
        return 0;
}

static int parse_endpoint(Config *c, Router *r, json_object *o, char *errbuf, size_t errsize)
{
        static const char *const keys[] = { "lif", "mac", "addresses", "host", "stamp", NULL };
        const char *lif = get_str(o, "lif"), *mac = get_str(o, "mac"), *host = get_str(o, "host"), *why = NULL;
        char *av[DLR_ENDPOINT_ADDRESSES_MAX];
        json_object *addrs;
        size_t n = 0;
        Endpoint *e;
        int k, h;

        if (!json_object_is_type(o, json_type_object) || !keys_allowed(o, keys) || !lif || !mac || !host)
                ERR(-EINVAL, "router %s: an endpoint needs \"lif\", \"mac\", \"addresses\" and \"host\"", r->name);
        if (!json_object_object_get_ex(o, "addresses", &addrs) || !json_object_is_type(addrs, json_type_array) ||
                        json_object_array_length(addrs) > DLR_ENDPOINT_ADDRESSES_MAX)
                ERR(-EINVAL, "router %s endpoint %s: \"addresses\" must be a list of at most 16", r->name, mac);
        for (; n < json_object_array_length(addrs); n++) {
                json_object *a = json_object_array_get_idx(addrs, n);
                if (!json_object_is_type(a, json_type_string))
                        ERR(-EINVAL, "router %s endpoint %s: addresses must be strings", r->name, mac);
                av[n] = (char *) json_object_get_string(a);
        }
        if (dlr_name_check(host) < 0)
                ERR(-EINVAL, "router %s endpoint %s: bad \"host\"", r->name, mac);
        k = endpoint_build(r, lif, mac, av, n, &e, &why);
        if (k < 0)
                ERR(k, "router %s endpoint %s: %s", r->name, mac, why ? why : "out of memory");
        h = config_host_index(c, host);
        if (h < 0 || get_stamp(c, o, &e->stamp) < 0) {
                endpoint_free(e);
                ERR(h < 0 ? h : -EINVAL, "router %s endpoint %s: bad \"stamp\"", r->name, mac);
        }
        e->host = (uint32_t) h;
        if (router_find_endpoint(r, e->lif, e->mac)) {
                endpoint_free(e);
                ERR(-EEXIST, "router %s endpoint %s on %s: given twice", r->name, mac, lif);
        }
        if (router_find_endpoint_address_clash(r, e)) {
                endpoint_free(e);
                ERR(-EADDRINUSE, "router %s endpoint %s: an address is another endpoint's", r->name, mac);
        }
        if (router_count_endpoints(r, e->lif) >= DLR_ENDPOINTS_PER_LIF_MAX) {
                endpoint_free(e);
                ERR(-EINVAL, "router %s LIF %s: more than %u endpoints", r->name, lif, DLR_ENDPOINTS_PER_LIF_MAX);
        }
        if (router_add_endpoint(r, e) < 0) {
                endpoint_free(e);
                ERR(-ENOMEM, "out of memory");
        }
        return 0;
}

static int parse_router(Config *c, json_object *o, ConfigParseFlags flags, char *errbuf, size_t errsize)
{
        static const char *const keys[] = { "name", "table", "lifs", "routes", "endpoints", "stamp", "rules",
                "default_action", NULL };
        json_object *lifs = NULL, *routes = NULL, *eps;
        const char *name = get_str(o, "name");
        uint32_t table;
        Router *r;
        int k;

        if (!json_object_is_type(o, json_type_object) || !keys_allowed(o, keys))
                ERR(-EINVAL, "a router must be an object with known keys");
        if (!name || dlr_name_check(name) < 0)
                ERR(-EINVAL, "a router needs a valid \"name\"");
        if (get_u32(o, "table", false, &table) < 0 || (table != 0 && dlr_table_check(table) < 0))
                ERR(-EINVAL, "router %s: bad \"table\"", name);
        if (config_find_router(c, name))
                ERR(-EEXIST, "router %s: defined twice", name);
        if (table != 0 && config_find_router_by_table(c, table))
                ERR(-EADDRINUSE, "router %s: table %u is used by another router", name, table);
        if ((json_object_object_get_ex(o, "lifs", &lifs) && !json_object_is_type(lifs, json_type_array)) ||
                        (json_object_object_get_ex(o, "routes", &routes) &&
                                        !json_object_is_type(routes, json_type_array)))
                ERR(-EINVAL, "router %s: \"lifs\" and \"routes\" must be lists", name);

        r = router_new(name, table, table);
        if (!r || config_add_router(c, r) < 0) {
                router_free(r);
                ERR(-ENOMEM, "out of memory");
        }
        if (get_stamp(c, o, &r->stamp) < 0)
                ERR(-EINVAL, "router %s: bad \"stamp\"", name);
        for (size_t i = 0; lifs && i < json_object_array_length(lifs); i++) {
                k = parse_lif(c, r, json_object_array_get_idx(lifs, i), errbuf, errsize);
                if (k < 0)
                        return k;
        }
        k = router_assign_lif_ids(r);
        if (k < 0)
                ERR(k, "router %s: no free LIF id left", name);
        if (routes && route_table_reserve(&r->routes, json_object_array_length(routes)) < 0)
                ERR(-ENOMEM, "out of memory");
        for (size_t i = 0; routes && i < json_object_array_length(routes); i++) {
                k = parse_route(c, r, json_object_array_get_idx(routes, i), false, errbuf, errsize);
                if (k < 0)
                        return k;
        }
        if (json_object_object_get_ex(o, "endpoints", &eps)) {
                if (!json_object_is_type(eps, json_type_array))
                        ERR(-EINVAL, "router %s: \"endpoints\" must be a list", name);
                for (size_t i = 0; i < json_object_array_length(eps); i++) {
                        k = parse_endpoint(c, r, json_object_array_get_idx(eps, i), errbuf, errsize);
                        if (k < 0)
                                return k;
                }
        }
        return json_parse_rules(c, r, o, flags, errbuf, errsize);
}

/* json-c keeps the last of duplicate keys, so {"routers":[...],"routers":[]} would silently mean "no routers".
 * This scan refuses a key repeated within one object before json-c sees the text. Keys with escapes are
 * refused too: no key of the format needs one, and comparing them raw would let duplicates through. */
#define SCAN_DEPTH 64
#define SCAN_KEYS 16

typedef struct ScanFrame {
        bool object, expect_key;
        unsigned n_keys;
        const char *key[SCAN_KEYS];
        size_t key_len[SCAN_KEYS];
} ScanFrame;

static int scan_keys(const char *s, size_t len, char *errbuf, size_t errsize)
{
        _cleanup_free_ ScanFrame *stack = calloc(SCAN_DEPTH, sizeof(ScanFrame));
        int depth = -1;

        if (!stack)
                ERR(-ENOMEM, "out of memory");
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '{' || c == '[') {
                        if (++depth >= SCAN_DEPTH)
                                ERR(-EINVAL, "not valid JSON: nested too deeply");
                        stack[depth] = (ScanFrame) { .object = c == '{', .expect_key = c == '{' };
                } else if (c == '}' || c == ']') {
                        if (depth >= 0)
                                depth--;
                } else if (c == ',') {
                        if (depth >= 0 && stack[depth].object)
                                stack[depth].expect_key = true;
                } else if (c == '"') {
                        size_t start = ++i;
                        bool escaped = false;
                        for (; i < len && s[i] != '"'; i++)
                                if (s[i] == '\\') {
                                        /* json-c turns \u0000 into a NUL that would silently cut the
                                         * string short for the C code reading it. */
                                        if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
                                                ERR(-EINVAL, "strings must not contain \\u0000");
                                        escaped = true;
                                        i++;
                                }
                        if (depth < 0 || !stack[depth].object || !stack[depth].expect_key)
                                continue;
                        ScanFrame *f = &stack[depth];
                        size_t n = (i < len ? i : len) - start;
                        f->expect_key = false;
                        if (escaped)
                                ERR(-EINVAL, "object keys must not contain escapes");
                        for (unsigned k = 0; k < f->n_keys; k++)
                                if (f->key_len[k] == n && memcmp(f->key[k], s + start, n) == 0)
                                        ERR(-EINVAL, "key \"%.*s\" given twice in one object", (int) MIN(n, 32u),
                                                s + start);
                        if (f->n_keys == SCAN_KEYS)
                                ERR(-EINVAL, "an object has too many keys");
                        f->key[f->n_keys] = s + start;
                        f->key_len[f->n_keys++] = n;
                }
        }
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

/* Strict parse of a whole document: one value, nothing after it, no repeated keys. */
static int parse_document(const char *s, size_t len, json_object **ret, char *errbuf, size_t errsize)
{
        _cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new_ex(64);
        json_object *root;
        int k;

        if (!tok)
                ERR(-ENOMEM, "out of memory");
        if (len > INT32_MAX)
                ERR(-EINVAL, "document too large");
        k = scan_keys(s, len, errbuf, errsize);
        if (k < 0)
                return k;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, s, (int) len);
        if (!root || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
                json_object_put(root);
                ERR(-EINVAL, "not valid JSON: %s", json_tokener_error_desc(json_tokener_get_error(tok)));
        }
        *ret = root;
        return 0;
}

static int parse_member(Config *c, json_object *o, char *errbuf, size_t errsize)
{
        static const char *const keys[] = { "host", "vtep", "address", "key", "stamp", NULL };
        const char *host, *why = NULL, *key = get_str(o, "key");
        IpPrefix vtep;
        Member *mb;

        if (!json_object_is_type(o, json_type_object) || !keys_allowed(o, keys))
                ERR(-EINVAL, "a member must be an object with known keys");
        host = get_str(o, "host");
        if (member_check(host, get_str(o, "vtep"), get_str(o, "address"), &vtep, &why) < 0)
                ERR(-EINVAL, "member %s: %s", host ? host : "?", why);
        if (json_object_object_get_ex(o, "key", NULL) && member_key_check(key) < 0)
                ERR(-EINVAL, "member %s: \"key\" is not a public key (ed25519: and 64 hex digits)", host);
        if (config_find_member(c, host))
                ERR(-EEXIST, "member %s: defined twice", host);
        if (config_find_member_by_vtep(c, &vtep))
                ERR(-EADDRINUSE, "member %s: VTEP used by another member", host);
        mb = member_new(host, &vtep, get_str(o, "address"), key);
        if (!mb || config_add_member(c, mb) < 0) {
                member_free(mb);
                ERR(-ENOMEM, "out of memory");
        }
        if (get_stamp(c, o, &mb->stamp) < 0)
                ERR(-EINVAL, "member %s: bad \"stamp\"", host);
        return 0;
}

static int parse_tomb(Config *c, json_object *o, bool with_since, char *errbuf, size_t errsize)
{
        static const char *const keys[] = { "kind", "router", "key", "stamp", "since", NULL };
        const char *kind = get_str(o, "kind"), *router = get_str(o, "router"), *key = get_str(o, "key");
        json_object *v;
        TombKind k;
        Stamp st;
        IpPrefix p;
        uint64_t since = 0;

        if (!json_object_is_type(o, json_type_object) || !keys_allowed(o, keys) || !kind || !router || !key)
                ERR(-EINVAL, "a tombstone must be an object with \"kind\", \"router\" and \"key\"");
        k = tomb_kind_from_string(kind);
        if (k < 0)
                ERR(-EINVAL, "tombstone: unknown kind %s", kind);
        bool routed = k == TOMB_LIF || k == TOMB_ROUTE || k == TOMB_ENDPOINT || k == TOMB_RULE;
        if (routed ? dlr_name_check(router) < 0 : router[0] != 0)
                ERR(-EINVAL, "tombstone %s: bad \"router\"", kind);
        if (k == TOMB_ROUTE) {
                char canon[IP_PREFIX_MAX_STR];
                if (ip_prefix_parse(key, &p) < 0 || !ip_prefix_is_network(&p) ||
                                !streq(ip_prefix_to_string(&p, true, canon, sizeof canon), key))
                        ERR(-EINVAL, "tombstone: bad route prefix %s", key);
        } else if (k == TOMB_ENDPOINT) {
                const char *slash = strchr(key, '/');
                char lif[DLR_NAME_MAX + 1];
                uint8_t mac[6];
                char canon[DLR_NAME_MAX + 20];
                if (!slash || (size_t) (slash - key) > DLR_NAME_MAX)
                        ERR(-EINVAL, "tombstone: bad endpoint key %s", key);
                memcpy(lif, key, (size_t) (slash - key));
                lif[slash - key] = 0;
                if (dlr_name_check(lif) < 0 || mac_parse(slash + 1, mac) < 0)
                        ERR(-EINVAL, "tombstone: bad endpoint key %s", key);
                endpoint_key(lif, mac, canon);
                if (!streq(canon, key))
                        ERR(-EINVAL, "tombstone: endpoint key %s not in canonical form", key);
        } else if (dlr_name_check(key) < 0)
                ERR(-EINVAL, "tombstone %s: bad \"key\"", kind);
        if (get_stamp(c, o, &st) < 0 || st.lamport == 0 || !c->hosts[st.host][0])
                ERR(-EINVAL, "tombstone %s %s: bad or missing \"stamp\"", kind, key);
        if (json_object_object_get_ex(o, "since", &v)) {
                if (!with_since || get_counter(v, &since) < 0)
                        ERR(-EINVAL, "tombstone %s %s: bad \"since\"", kind, key);
        }
        if (config_find_tomb(c, k, router, key))
                ERR(-EINVAL, "tombstone %s %s: given twice", kind, key);
        if (config_put_tomb(c, k, router, key, st, since) < 0)
                ERR(-ENOMEM, "out of memory");
        return 0;
}

/* A mirrored document carries every object with the stamp its writer gave it and concrete tables. */
static int check_mirror_stamps(const Config *c, char *errbuf, size_t errsize)
{
#define STAMPED(s) ((s).lamport > 0 && (s).host < c->n_hosts && c->hosts[(s).host][0])
        for (size_t i = 0; i < c->n_members; i++)
                if (!STAMPED(c->members[i]->stamp))
                        ERR(-EINVAL, "member %s: \"stamp\" missing", c->members[i]->host);
        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                if (!STAMPED(r->stamp) || r->table_config == 0)
                        ERR(-EINVAL, "router %s: \"stamp\" or \"table\" missing", r->name);
                for (size_t j = 0; j < r->n_lifs; j++)
                        if (!STAMPED(r->lifs[j]->stamp))
                                ERR(-EINVAL, "router %s LIF %s: \"stamp\" missing", r->name, r->lifs[j]->name);
                ROUTE_TABLE_FOREACH(rt, &r->routes)
                        if (!STAMPED(((Stamp) { rt->stamp_lamport, rt->stamp_host })))
                                ERR(-EINVAL, "router %s: a route has no \"stamp\"", r->name);
                for (size_t j = 0; j < r->n_endpoints; j++)
                        if (!STAMPED(r->endpoints[j]->stamp))
                                ERR(-EINVAL, "router %s: an endpoint has no \"stamp\"", r->name);
                /* The default action is checked where it is read: only the parser knows it was given. */
                for (size_t j = 0; j < r->n_rules; j++)
                        if (!STAMPED(r->rules[j]->stamp))
                                ERR(-EINVAL, "router %s rule %s: \"stamp\" missing", r->name, r->rules[j]->name);
        }
#undef STAMPED
        return 0;
}

static int config_from_object(json_object *root, ConfigParseFlags flags, Config **ret, char *errbuf, size_t errsize)
{
        static const char *const keys[] = { "version", "generation", "lamport", "routers", "members", "tombstones",
                "ports", NULL };
        _cleanup_(config_freep) Config *c = NULL;
        json_object *routers, *members = NULL, *tombs = NULL, *v;
        uint32_t version;
        int k;

        if (!json_object_is_type(root, json_type_object) || !keys_allowed(root, keys))
                ERR(-EINVAL, "the configuration must be an object with \"version\" and \"routers\"");
        /* "version" may be left out by hand-written documents; when given it must be 1. */
        if (get_u32(root, "version", false, &version) < 0 || (version != 0 && version != 1) ||
                        (version == 0 && json_object_object_get_ex(root, "version", NULL)))
                ERR(-EINVAL, "unsupported configuration version (expected 1)");
        if (!json_object_object_get_ex(root, "routers", &routers) || !json_object_is_type(routers, json_type_array))
                ERR(-EINVAL, "\"routers\" must be a list");
        if (json_object_object_get_ex(root, "members", &members) &&
                        (!json_object_is_type(members, json_type_array) ||
                                        json_object_array_length(members) > DLR_MEMBERS_MAX))
                ERR(-EINVAL, "\"members\" must be a list of at most %u", DLR_MEMBERS_MAX);
        if (json_object_object_get_ex(root, "tombstones", &tombs) &&
                        (!(flags & (CONFIG_PARSE_STATE | CONFIG_PARSE_MIRROR)) ||
                                        !json_object_is_type(tombs, json_type_array)))
                ERR(-EINVAL, "\"tombstones\" are only part of saved and mirrored state");

        c = config_new();
        if (!c)
                ERR(-ENOMEM, "out of memory");
        c->members_given = members != NULL;
        if (json_object_object_get_ex(root, "generation", &v)) {
                if (get_counter(v, &c->generation) < 0)
                        ERR(-EINVAL, "bad \"generation\"");
        }
        if (json_object_object_get_ex(root, "lamport", &v)) {
                if (get_counter(v, &c->lamport) < 0)
                        ERR(-EINVAL, "bad \"lamport\"");
                c->max_lamport = MAX(c->max_lamport, c->lamport);
        }
        /* Explicit tables first, so a router asking for table 0 never takes one another router names. */
        for (size_t i = 0; i < json_object_array_length(routers); i++) {
                k = parse_router(c, json_object_array_get_idx(routers, i), flags, errbuf, errsize);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; members && i < json_object_array_length(members); i++) {
                k = parse_member(c, json_object_array_get_idx(members, i), errbuf, errsize);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; tombs && i < json_object_array_length(tombs); i++) {
                k = parse_tomb(c, json_object_array_get_idx(tombs, i), flags & CONFIG_PARSE_STATE, errbuf, errsize);
                if (k < 0)
                        return k;
        }
        if (json_object_object_get_ex(root, "ports", &v)) {
                if (!(flags & CONFIG_PARSE_STATE) || !json_object_is_type(v, json_type_array))
                        ERR(-EINVAL, "\"ports\" are only part of the saved state");
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *p = json_object_array_get_idx(v, i);
                        static const char *const pkeys[] = { "ifname", "router", "lif", NULL };
                        const char *ifn = get_str(p, "ifname"), *pr = get_str(p, "router"), *pl = get_str(p, "lif");
                        if (!json_object_is_type(p, json_type_object) || !keys_allowed(p, pkeys) || !ifn || !pr || !pl ||
                                        strlen(ifn) == 0 || strlen(ifn) >= 16 || dlr_name_check(pr) < 0 ||
                                        dlr_name_check(pl) < 0 || config_find_port(c, ifn))
                                ERR(-EINVAL, "bad port in the saved state");
                        if (config_add_port(c, ifn, pr, pl) < 0)
                                ERR(-ENOMEM, "out of memory");
                }
        }
        if (flags & CONFIG_PARSE_MIRROR) {
                k = check_mirror_stamps(c, errbuf, errsize);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < c->n_routers; i++)
                if (c->routers[i]->table == 0) {
                        k = config_allocate_table(c, &c->routers[i]->table);
                        if (k < 0)
                                ERR(k, "router %s: no free table id left", c->routers[i]->name);
                }
        *ret = TAKE_PTR(c);
        return 0;
}

int config_from_json_ex(const char *s, size_t len, ConfigParseFlags flags, Config **ret, char *errbuf,
                size_t errsize)
{
        _cleanup_(json_object_putp) json_object *root = NULL;
        int k = parse_document(s, len, &root, errbuf, errsize);
        if (k < 0)
                return k;
        return config_from_object(root, flags, ret, errbuf, errsize);
}

int config_from_json(const char *s, size_t len, Config **ret, char *errbuf, size_t errsize)
{
        return config_from_json_ex(s, len, CONFIG_PARSE_APPLY, ret, errbuf, errsize);
}

int config_replay_journal(Config *c, const char *line, size_t len, char *errbuf, size_t errsize)
{
        return config_replay_journal_after(c, line, len, 0, errbuf, errsize);
}

int config_replay_journal_after(Config *c, const char *line, size_t len, uint64_t snapshot_generation, char *errbuf,
                size_t errsize)
{
        static const char *const keys[] = { "op", "generation", "lamport", "router", "routes", "prefix", "time", "doc",
                NULL };
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_object *v, *routes;
        const char *op, *router, *prefix;
        Router *r;
        int k;

        k = parse_document(line, len, &root, errbuf, errsize);
        if (k < 0)
                return k;
        if (!json_object_is_type(root, json_type_object) || !keys_allowed(root, keys))
                ERR(-EINVAL, "journal record has unknown keys");
        if (snapshot_generation > 0 && json_object_object_get_ex(root, "generation", &v)) {
                uint64_t g;
                if (get_counter(v, &g) < 0)
                        ERR(-EINVAL, "journal record: bad \"generation\"");
                /* Written before the snapshot, which already holds it. */
                if (g <= snapshot_generation)
                        return 1;
        }
        op = get_str(root, "op");
        router = get_str(root, "router");
        if (op && streq(op, "merge")) {
                _cleanup_(config_freep) Config *in = NULL;
                MergeResult res;
                json_object *doc;
                uint64_t t = 0;
                if (!json_object_object_get_ex(root, "doc", &doc))
                        ERR(-EINVAL, "journal record: merge without \"doc\"");
                if (json_object_object_get_ex(root, "time", &v) && json_object_is_type(v, json_type_int) &&
                                json_object_get_int64(v) > 0)
                        t = (uint64_t) json_object_get_int64(v);
                k = config_from_object(doc, CONFIG_PARSE_MIRROR, &in, errbuf, errsize);
                if (k < 0)
                        return k;
                k = config_merge(c, in, t, &res);
                merge_result_done(&res);
                if (k < 0)
                        ERR(k, "out of memory");
                goto counters;
        }
        if (!op || !router)
                ERR(-EINVAL, "journal record needs \"op\" and \"router\"");
        r = config_find_router(c, router);
        if (!r)
                ERR(-ENOENT, "journal record for unknown router %s", router);

        if (streq(op, "put")) {
                if (!json_object_object_get_ex(root, "routes", &routes) || !json_object_is_type(routes, json_type_array))
                        ERR(-EINVAL, "journal record: \"routes\" must be a list");
                if (route_table_reserve(&r->routes, json_object_array_length(routes)) < 0)
                        ERR(-ENOMEM, "out of memory");
                for (size_t i = 0; i < json_object_array_length(routes); i++) {
                        k = parse_route(c, r, json_object_array_get_idx(routes, i), true, errbuf, errsize);
                        if (k < 0)
                                return k;
                }
        } else if (streq(op, "del")) {
                IpPrefix p;
                prefix = get_str(root, "prefix");
                if (!prefix || ip_prefix_parse(prefix, &p) < 0)
                        ERR(-EINVAL, "journal record: bad \"prefix\"");
                (void) route_table_remove(&r->routes, &p, NULL); /* replayed twice after a crash: fine */
        } else
                ERR(-EINVAL, "journal record: unknown op %s", op);

counters: {
        /* Counters are absolute, so replaying a record twice leaves them right. */
        uint64_t x;
        if (json_object_object_get_ex(root, "generation", &v) && get_counter(v, &x) >= 0 && x > c->generation)
                c->generation = x;
        if (json_object_object_get_ex(root, "lamport", &v) && get_counter(v, &x) >= 0 && x > c->lamport)
                c->lamport = x;
        return 0;
}
}
