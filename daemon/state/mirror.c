/* What makes copies of the configuration on different hosts converge: stamps, members, tombstones, and the
 * merge of a peer's document into the local configuration with last-writer-wins per object. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "merge.h"
#include "peer-address.h"
#include "shared/cleanup.h"
#include "shared/strtable.h"

static const char *const tomb_kind_table[_TOMB_KIND_MAX] = {
        [TOMB_ROUTER] = "router",
        [TOMB_LIF] = "lif",
        [TOMB_ROUTE] = "route",
        [TOMB_MEMBER] = "member",
        [TOMB_ENDPOINT] = "endpoint",
        [TOMB_RULE] = "rule",
};

DEFINE_STRING_TABLE_LOOKUP(tomb_kind, TombKind, _TOMB_KIND_MAX)

static const char *host_name(const Config *c, uint32_t h)
{
        return h < c->n_hosts ? c->hosts[h] : "";
}

int stamp_compare(const Config *c, Stamp a, Stamp b)
{
        if (a.lamport != b.lamport)
                return a.lamport < b.lamport ? -1 : 1;
        if (a.host == b.host)
                return 0;
        int r = strcmp(host_name(c, a.host), host_name(c, b.host));
        return (r > 0) - (r < 0);
}

int stamp_rehost(Config *c, const Config *from, Stamp s, Stamp *ret)
{
        int h = config_host_index(c, host_name(from, s.host));
        if (h < 0)
                return h;
        *ret = (Stamp) { .lamport = s.lamport, .host = (uint32_t) h };
        return 0;
}

/* ------------------------------------------------------------------ members */

Member *member_new(const char *host, const IpPrefix *vtep, const char *address, const char *key)
{
        Member *m = calloc(1, sizeof(Member));
        if (!m)
                return NULL;
        m->host = strdup(host);
        m->address = strdup(address);
        m->key = strdup(key ? key : "");
        m->vtep = *vtep;
        if (!m->host || !m->address || !m->key)
                return member_free(m);
        return m;
}

int member_key_check(const char *key)
{
        static const char prefix[] = "ed25519:";

        if (!key)
                return -EINVAL;
        if (key[0] == '\0')
                return 0; /* not pinned yet */
        if (strlen(key) != sizeof prefix - 1 + 64 || strncmp(key, prefix, sizeof prefix - 1) != 0)
                return -EINVAL;
        for (const char *p = key + sizeof prefix - 1; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return -EINVAL;
        return 0;
}

bool member_same(const Member *a, const Member *b)
{
        return streq(a->host, b->host) && ip_prefix_compare(&a->vtep, &b->vtep) == 0 &&
                streq(a->address, b->address) && streq(a->key, b->key);
}

Member *member_free(Member *m)
{
        if (!m)
                return NULL;
        free(m->host);
        free(m->address);
        free(m->key);
        free(m);
        return NULL;
}

Member *config_find_member(const Config *c, const char *host)
{
        for (size_t i = 0; i < c->n_members; i++)
                if (streq(c->members[i]->host, host))
                        return c->members[i];
        return NULL;
}

Member *config_find_member_by_vtep(const Config *c, const IpPrefix *vtep)
{
        for (size_t i = 0; i < c->n_members; i++)
                if (ip_prefix_compare(&c->members[i]->vtep, vtep) == 0)
                        return c->members[i];
        return NULL;
}

int config_add_member(Config *c, Member *m)
{
        Member **n = realloc(c->members, (c->n_members + 1) * sizeof(Member *));
        if (!n)
                return -ENOMEM;
        c->members = n;
        n[c->n_members++] = m;
        return 0;
}

Member *config_detach_member(Config *c, const char *host)
{
        for (size_t i = 0; i < c->n_members; i++)
                if (streq(c->members[i]->host, host)) {
                        Member *m = c->members[i];
                        memmove(c->members + i, c->members + i + 1, (c->n_members - i - 1) * sizeof(Member *));
                        c->n_members--;
                        return m;
                }
        return NULL;
}

int member_check(const char *host, const char *vtep, const char *address, IpPrefix *ret_vtep, const char **ret_error)
{
        IpPrefix v;

        *ret_error = NULL;
        if (!host || dlr_name_check(host) < 0) {
                *ret_error = "invalid host id: use 1-64 characters of A-Z a-z 0-9 _ . -";
                return -EINVAL;
        }
        if (!vtep || ip_addr_parse(vtep, &v) < 0 || ip_addr_check_unicast(&v) < 0) {
                *ret_error = "invalid VTEP: expected a unicast IPv4 or IPv6 address";
                return -EINVAL;
        }
        /* An address is data: one of two grammars, never a program or an option for any host to run. */
        if (peer_address_parse(address, NULL, ret_error) < 0)
                return -EINVAL;
        if (ret_vtep)
                *ret_vtep = v;
        return 0;
}

/* ------------------------------------------------------------------ tombstones */

static uint64_t tomb_hash(TombKind kind, const char *router, const char *key)
{
        uint64_t h = 1469598103934665603ULL ^ (uint64_t) kind;
        for (const char *p = router; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
        for (const char *p = key; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ULL;
        return h;
}

static Tombstone *tomb_slot(const TombSet *t, TombKind kind, const char *router, const char *key)
{
        if (t->capacity == 0)
                return NULL;
        size_t mask = t->capacity - 1;
        for (size_t i = tomb_hash(kind, router, key) & mask;; i = (i + 1) & mask) {
                Tombstone *s = &t->slots[i];
                if (!s->key || (s->kind == kind && streq(s->router, router) && streq(s->key, key)))
                        return s;
        }
}

static int tomb_grow(TombSet *t)
{
        size_t cap = t->capacity ? t->capacity * 2 : 64;
        TombSet n = { .slots = calloc(cap, sizeof(Tombstone)), .capacity = cap };
        if (!n.slots)
                return -ENOMEM;
        for (size_t i = 0; i < t->capacity; i++)
                if (t->slots[i].key) {
                        *tomb_slot(&n, t->slots[i].kind, t->slots[i].router, t->slots[i].key) = t->slots[i];
                        n.n++;
                }
        free(t->slots);
        *t = n;
        return 0;
}

const Tombstone *config_find_tomb(const Config *c, TombKind kind, const char *router, const char *key)
{
        const Tombstone *s = tomb_slot(&c->tombs, kind, router, key);
        return s && s->key ? s : NULL;
}

int config_put_tomb(Config *c, TombKind kind, const char *router, const char *key, Stamp stamp, uint64_t since)
{
        TombSet *t = &c->tombs;
        if ((t->n + 1) * 8 > t->capacity * 7 && tomb_grow(t) < 0)
                return -ENOMEM;
        Tombstone *s = tomb_slot(t, kind, router, key);
        if (s->key) {
                if (stamp_compare(c, s->stamp, stamp) < 0) {
                        s->stamp = stamp;
                        s->since = since;
                }
                return 0;
        }
        char *r = strdup(router), *k = strdup(key);
        if (!r || !k) {
                free(r);
                free(k);
                return -ENOMEM;
        }
        *s = (Tombstone) { .kind = kind, .router = r, .key = k, .stamp = stamp, .since = since };
        t->n++;
        return 0;
}

int config_drop_tomb(Config *c, TombKind kind, const char *router, const char *key)
{
        TombSet *t = &c->tombs;
        Tombstone *s = tomb_slot(t, kind, router, key);

        if (!s || !s->key)
                return -ENOENT;
        free(s->router);
        free(s->key);
        *s = (Tombstone) {};
        t->n--;
        /* Re-place the rest of the probe run so lookups do not stop at the hole. */
        size_t mask = t->capacity - 1;
        for (size_t i = ((size_t) (s - t->slots) + 1) & mask; t->slots[i].key; i = (i + 1) & mask) {
                Tombstone moved = t->slots[i];
                t->slots[i] = (Tombstone) {};
                *tomb_slot(t, moved.kind, moved.router, moved.key) = moved;
        }
        return 0;
}

size_t config_collect_tombs(Config *c, uint64_t before)
{
        TombSet *t = &c->tombs, n = {};
        size_t dropped = 0;

        if (t->n == 0)
                return 0;
        n.capacity = t->capacity;
        n.slots = calloc(n.capacity, sizeof(Tombstone));
        if (!n.slots)
                return 0; /* try again later */
        TOMB_SET_FOREACH(s, t) {
                if (s->since < before) {
                        free(s->router);
                        free(s->key);
                        dropped++;
                        continue;
                }
                *tomb_slot(&n, s->kind, s->router, s->key) = *s;
                n.n++;
        }
        free(t->slots);
        *t = n;
        return dropped;
}

void tomb_set_done(TombSet *t)
{
        TOMB_SET_FOREACH(s, t) {
                free(s->router);
                free(s->key);
        }
        free(t->slots);
        *t = (TombSet) {};
}

/* ------------------------------------------------------------------ merge */

static void route_key(const IpPrefix *p, char buf[IP_PREFIX_MAX_STR])
{
        ip_prefix_to_string(p, true, buf, IP_PREFIX_MAX_STR);
}

/* A tombstone at or above an object's stamp means the object is gone. */
static bool tomb_kills(const Config *c, const Tombstone *t, Stamp s)
{
        return t && stamp_compare(c, t->stamp, s) >= 0;
}

static int note_route(MergeResult *res, const char *router, const IpPrefix *p)
{
        if (res->routes_overflow)
                return 0;
        if (res->n_routes >= MERGE_ROUTES_MAX) {
                res->routes_overflow = true;
                return 0;
        }
        MergeRoute *n = realloc(res->routes, (res->n_routes + 1) * sizeof(MergeRoute));
        if (!n)
                return -ENOMEM;
        res->routes = n;
        n[res->n_routes] = (MergeRoute) { .prefix = *p };
        n[res->n_routes].router = strdup(router);
        if (!n[res->n_routes].router)
                return -ENOMEM;
        res->n_routes++;
        return 0;
}

static int note_object(MergeResult *res, const char *router, const char *lif, bool added)
{
        MergeObject *n = realloc(res->objects, (res->n_objects + 1) * sizeof(MergeObject));
        if (!n)
                return -ENOMEM;
        res->objects = n;
        MergeObject *o = &n[res->n_objects];
        *o = (MergeObject) { .added = added };
        o->router = strdup(router);
        o->lif = lif ? strdup(lif) : NULL;
        if (!o->router || (lif && !o->lif)) {
                free(o->router);
                free(o->lif);
                return -ENOMEM;
        }
        res->n_objects++;
        return 0;
}

static int note_firewall(MergeResult *res, const char *router)
{
        res->changed = res->firewall = true;
        for (size_t i = 0; i < res->n_fw_routers; i++)
                if (streq(res->fw_routers[i], router))
                        return 0;
        char **n = realloc(res->fw_routers, (res->n_fw_routers + 1) * sizeof(char *));
        if (!n)
                return -ENOMEM;
        res->fw_routers = n;
        n[res->n_fw_routers] = strdup(router);
        if (!n[res->n_fw_routers])
                return -ENOMEM;
        res->n_fw_routers++;
        return 0;
}

/* A router that goes takes its firewall along: worth telling only if it had one. */
static int note_router_firewall_gone(MergeResult *res, const Router *r)
{
        if (r->n_rules == 0 && r->default_action == RULE_ACTION_ALLOW)
                return 0;
        return note_firewall(res, r->name);
}

/* Removes a route and leaves a tombstone with at least the given stamp. */
static int kill_route(Config *c, Router *r, const IpPrefix *p, Stamp at, uint64_t now, MergeResult *res)
{
        char key[IP_PREFIX_MAX_STR];
        Route *rt = route_table_get(&r->routes, p);

        if (rt && stamp_compare(c, at, (Stamp) { rt->stamp_lamport, rt->stamp_host }) < 0)
                at = (Stamp) { rt->stamp_lamport, rt->stamp_host };
        route_key(p, key);
        if (config_put_tomb(c, TOMB_ROUTE, r->name, key, at, now) < 0)
                return -ENOMEM;
        if (rt) {
                (void) route_table_remove(&r->routes, p, NULL);
                res->changed = true;
                return note_route(res, r->name, p);
        }
        return 0;
}

static int kill_endpoint(Config *c, Router *r, const char *lif, const uint8_t mac[6], Stamp at, uint64_t now,
                MergeResult *res)
{
        char key[DLR_NAME_MAX + 20];
        const Lif *l = router_find_lif(r, lif);
        Endpoint *e = l ? router_find_endpoint(r, l->id, mac) : NULL;

        if (e && stamp_compare(c, at, e->stamp) < 0)
                at = e->stamp;
        endpoint_key(lif, mac, key);
        if (config_put_tomb(c, TOMB_ENDPOINT, r->name, key, at, now) < 0)
                return -ENOMEM;
        if (e) {
                endpoint_free(router_detach_endpoint(r, l->id, mac));
                res->changed = res->endpoints = true;
        }
        return 0;
}

static int kill_rule(Config *c, Router *r, const char *name, Stamp at, uint64_t now, MergeResult *res)
{
        Rule *rule = router_find_rule(r, name);

        if (rule && stamp_compare(c, at, rule->stamp) < 0)
                at = rule->stamp;
        if (config_put_tomb(c, TOMB_RULE, r->name, name, at, now) < 0)
                return -ENOMEM;
        if (!rule)
                return 0;
        rule_free(router_detach_rule(r, name));
        return note_firewall(res, r->name);
}

/* Removes a LIF, and every route through it, leaving tombstones stamped at least at. */
static int kill_lif(Config *c, Router *r, const char *name, Stamp at, uint64_t now, MergeResult *res)
{
        Lif *l = router_find_lif(r, name);
        int k;

        if (l && stamp_compare(c, at, l->stamp) < 0)
                at = l->stamp;
        if (config_put_tomb(c, TOMB_LIF, r->name, name, at, now) < 0)
                return -ENOMEM;
        if (!l)
                return 0;
        uint16_t id = l->id;
        _cleanup_free_ IpPrefix *dead = NULL;
        size_t n_dead = 0;
        if (router_lif_in_use(r, id)) {
                dead = calloc(r->routes.n, sizeof(IpPrefix));
                if (!dead)
                        return -ENOMEM;
                ROUTE_TABLE_FOREACH(rt, &r->routes) {
                        const Nexthop *h = route_nexthops(rt);
                        for (unsigned i = 0; i < rt->n_nexthops; i++)
                                if (h[i].lif == id) {
                                        dead[n_dead++] = rt->prefix;
                                        break;
                                }
                }
        }
        /* Each route's tombstone carries the route's own stamp, not the LIF's: a newer value of that route
         * that no longer goes through this LIF must win on every host, whether it arrived before the LIF
         * went or after. */
        for (size_t i = 0; i < n_dead; i++) {
                k = kill_route(c, r, &dead[i], (Stamp) {}, now, res);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < r->n_endpoints;) {
                if (r->endpoints[i]->lif != id) {
                        i++;
                        continue;
                }
                uint8_t mac[6];
                memcpy(mac, r->endpoints[i]->mac, 6);
                k = kill_endpoint(c, r, name, mac, at, now, res);
                if (k < 0)
                        return k;
        }
        k = note_object(res, r->name, name, false);
        lif_free(router_detach_lif(r, name));
        res->changed = res->links = true;
        return k;
}

static int kill_router(Config *c, const char *name, Stamp at, uint64_t now, MergeResult *res)
{
        Router *r = config_find_router(c, name);

        if (r && stamp_compare(c, at, r->stamp) < 0)
                at = r->stamp;
        if (config_put_tomb(c, TOMB_ROUTER, "", name, at, now) < 0)
                return -ENOMEM;
        if (!r)
                return 0;
        for (size_t i = 0; i < r->n_lifs; i++)
                if (note_object(res, name, r->lifs[i]->name, false) < 0)
                        return -ENOMEM;
        if (note_object(res, name, NULL, false) < 0 || note_router_firewall_gone(res, r) < 0)
                return -ENOMEM;
        router_free(config_detach_router(c, name));
        res->changed = res->links = res->routes_overflow = true;
        return 0;
}

static int kill_member(Config *c, const char *host, Stamp at, uint64_t now, MergeResult *res)
{
        Member *mb = config_find_member(c, host);

        if (mb && stamp_compare(c, at, mb->stamp) < 0)
                at = mb->stamp;
        if (config_put_tomb(c, TOMB_MEMBER, "", host, at, now) < 0)
                return -ENOMEM;
        if (mb) {
                member_free(config_detach_member(c, host));
                res->changed = res->links = res->members = true;
        }
        return 0;
}

static int apply_tomb(Config *c, const Tombstone *t, Stamp s, uint64_t now, MergeResult *res)
{
        Router *r;
        IpPrefix p;

        switch (t->kind) {
        case TOMB_ROUTER: {
                Router *cur = config_find_router(c, t->key);
                if (cur && stamp_compare(c, s, cur->stamp) < 0)
                        return config_put_tomb(c, TOMB_ROUTER, "", t->key, s, now);
                return kill_router(c, t->key, s, now, res);
        }
        case TOMB_LIF: {
                r = config_find_router(c, t->router);
                Lif *l = r ? router_find_lif(r, t->key) : NULL;
                if (!l || stamp_compare(c, s, l->stamp) < 0)
                        return config_put_tomb(c, TOMB_LIF, t->router, t->key, s, now);
                return kill_lif(c, r, t->key, s, now, res);
        }
        case TOMB_ROUTE: {
                if (ip_prefix_parse(t->key, &p) < 0)
                        return -EINVAL;
                r = config_find_router(c, t->router);
                Route *rt = r ? route_table_get(&r->routes, &p) : NULL;
                if (!rt || stamp_compare(c, s, (Stamp) { rt->stamp_lamport, rt->stamp_host }) < 0)
                        return config_put_tomb(c, TOMB_ROUTE, t->router, t->key, s, now);
                return kill_route(c, r, &p, s, now, res);
        }
        case TOMB_ENDPOINT: {
                const char *slash = strchr(t->key, '/');
                uint8_t mac[6];
                char lif[DLR_NAME_MAX + 1];
                if (!slash || (size_t) (slash - t->key) > DLR_NAME_MAX || mac_parse(slash + 1, mac) < 0)
                        return -EINVAL;
                memcpy(lif, t->key, (size_t) (slash - t->key));
                lif[slash - t->key] = 0;
                r = config_find_router(c, t->router);
                const Lif *l = r ? router_find_lif(r, lif) : NULL;
                Endpoint *e = l ? router_find_endpoint(r, l->id, mac) : NULL;
                if (!e || stamp_compare(c, s, e->stamp) < 0)
                        return config_put_tomb(c, TOMB_ENDPOINT, t->router, t->key, s, now);
                return kill_endpoint(c, r, lif, mac, s, now, res);
        }
        case TOMB_RULE: {
                r = config_find_router(c, t->router);
                const Rule *rule = r ? router_find_rule(r, t->key) : NULL;
                if (!rule || stamp_compare(c, s, rule->stamp) < 0)
                        return config_put_tomb(c, TOMB_RULE, t->router, t->key, s, now);
                return kill_rule(c, r, t->key, s, now, res);
        }
        case TOMB_MEMBER: {
                Member *mb = config_find_member(c, t->key);
                if (!mb || stamp_compare(c, s, mb->stamp) < 0)
                        return config_put_tomb(c, TOMB_MEMBER, "", t->key, s, now);
                return kill_member(c, t->key, s, now, res);
        }
        default:
                return -EINVAL;
        }
}

static int merge_member(Config *c, const Config *in, const Member *m, MergeResult *res)
{
        Stamp s;
        if (stamp_rehost(c, in, m->stamp, &s) < 0)
                return -ENOMEM;
        if (tomb_kills(c, config_find_tomb(c, TOMB_MEMBER, "", m->host), s))
                return 0;
        Member *cur = config_find_member(c, m->host);
        if (cur && stamp_compare(c, cur->stamp, s) >= 0)
                return 0;
        Member *n = member_new(m->host, &m->vtep, m->address, m->key);
        if (!n)
                return -ENOMEM;
        n->stamp = s;
        if (cur)
                member_free(config_detach_member(c, m->host));
        if (config_add_member(c, n) < 0) {
                member_free(n);
                return -ENOMEM;
        }
        res->changed = res->links = res->members = true;
        return 0;
}

static int merge_lif(Config *c, const Config *in, Router *r, const Lif *l, MergeResult *res)
{
        Stamp s;
        if (stamp_rehost(c, in, l->stamp, &s) < 0)
                return -ENOMEM;
        if (tomb_kills(c, config_find_tomb(c, TOMB_LIF, r->name, l->name), s))
                return 0;
        Lif *cur = router_find_lif(r, l->name);
        if (cur && stamp_compare(c, cur->stamp, s) >= 0)
                return 0;
        Lif *n = lif_copy(l);
        if (!n)
                return -ENOMEM;
        n->stamp = s;
        if (cur) {
                /* A newer value of the same LIF: it keeps its local id, so routes through it stay. */
                n->id = cur->id;
                lif_free(router_detach_lif(r, l->name));
                if (router_append_lif(r, n) < 0) {
                        lif_free(n);
                        return -ENOMEM;
                }
        } else {
                n->id = 0;
                if (router_add_lif(r, n) < 0) {
                        lif_free(n);
                        return -ENOMEM;
                }
                if (note_object(res, r->name, n->name, true) < 0)
                        return -ENOMEM;
        }
        res->changed = res->links = true;
        return 0;
}

static int merge_route(Config *c, const Config *in, Router *r, const Router *ir, const Route *rt, uint64_t now,
                MergeResult *res)
{
        char key[IP_PREFIX_MAX_STR];
        Stamp s;
        Route copy;

        if (stamp_rehost(c, in, (Stamp) { rt->stamp_lamport, rt->stamp_host }, &s) < 0)
                return -ENOMEM;
        route_key(&rt->prefix, key);
        if (tomb_kills(c, config_find_tomb(c, TOMB_ROUTE, r->name, key), s))
                return 0;
        Route *cur = route_table_get(&r->routes, &rt->prefix);
        if (cur && stamp_compare(c, (Stamp) { cur->stamp_lamport, cur->stamp_host }, s) >= 0)
                return 0;

        /* Next hops name LIFs by the sender's ids: map them to ours through the names. A LIF that lost
         * (deleted, or beaten in a conflict) takes the route with it, the same way on every host. */
        if (route_copy(rt, &copy) < 0)
                return -ENOMEM;
        Nexthop *h = copy.n_nexthops > 1 ? copy.nh.many : &copy.nh.one;
        for (unsigned i = 0; i < copy.n_nexthops; i++) {
                if (h[i].lif == 0)
                        continue;
                const Lif *il = router_find_lif_by_id(ir, h[i].lif);
                const Lif *l = il ? router_find_lif(r, il->name) : NULL;
                if (!l) {
                        /* Stamped as the route, as kill_lif() does for the routes it takes along. */
                        route_done(&copy);
                        return kill_route(c, r, &rt->prefix, s, now, res);
                }
                h[i].lif = l->id;
        }
        if (copy.n_nexthops > 1)
                qsort(copy.nh.many, copy.n_nexthops, sizeof(Nexthop),
                        (int (*)(const void *, const void *)) nexthop_compare);
        copy.stamp_lamport = s.lamport;
        copy.stamp_host = s.host;
        if (route_table_put(&r->routes, &copy, NULL) < 0) {
                route_done(&copy);
                return -ENOMEM;
        }
        res->changed = true;
        return note_route(res, r->name, &rt->prefix);
}

static int merge_endpoint(Config *c, const Config *in, Router *r, const Router *ir, const Endpoint *e, uint64_t now,
                MergeResult *res)
{
        char key[DLR_NAME_MAX + 20];
        Stamp s, h;

        const Lif *il = router_find_lif_by_id(ir, e->lif);
        if (!il)
                return -EINVAL;
        if (stamp_rehost(c, in, e->stamp, &s) < 0 || stamp_rehost(c, in, (Stamp) { 0, e->host }, &h) < 0)
                return -ENOMEM;
        endpoint_key(il->name, e->mac, key);
        if (tomb_kills(c, config_find_tomb(c, TOMB_ENDPOINT, r->name, key), s))
                return 0;
        const Lif *l = router_find_lif(r, il->name);
        if (!l) {
                /* Its LIF lost: the binding goes with it, as on every host. */
                const Tombstone *t = config_find_tomb(c, TOMB_LIF, r->name, il->name);
                if (config_put_tomb(c, TOMB_ENDPOINT, r->name, key, t && stamp_compare(c, t->stamp, s) > 0 ? t->stamp : s,
                                    now) < 0)
                        return -ENOMEM;
                res->changed = true;
                return 0;
        }
        Endpoint *cur = router_find_endpoint(r, l->id, e->mac);
        if (cur && stamp_compare(c, cur->stamp, s) >= 0)
                return 0;
        Endpoint *n = endpoint_copy(e);
        if (!n)
                return -ENOMEM;
        n->lif = l->id;
        n->stamp = s;
        n->host = h.host;
        if (cur)
                endpoint_free(router_detach_endpoint(r, l->id, e->mac));
        if (router_add_endpoint(r, n) < 0) {
                endpoint_free(n);
                return -ENOMEM;
        }
        res->changed = res->endpoints = true;
        return 0;
}

static int merge_rule(Config *c, const Config *in, Router *r, const Rule *rule, MergeResult *res)
{
        Rule *old = NULL;
        Stamp s;

        if (stamp_rehost(c, in, rule->stamp, &s) < 0)
                return -ENOMEM;
        if (tomb_kills(c, config_find_tomb(c, TOMB_RULE, r->name, rule->name), s))
                return 0;
        const Rule *cur = router_find_rule(r, rule->name);
        if (cur && stamp_compare(c, cur->stamp, s) >= 0)
                return 0;
        Rule *n = rule_copy(rule);
        if (!n)
                return -ENOMEM;
        n->stamp = s;
        bool same = cur && rule_equal(cur, n);
        /* Over the limit for now: enforce_limits() settles it once everything is in. */
        if (router_put_rule_unlimited(r, n, &old) < 0) {
                rule_free(n);
                return -ENOMEM;
        }
        rule_free(old);
        res->changed = true;
        return same ? 0 : note_firewall(res, r->name);
}

static int merge_default_action(Config *c, const Config *in, Router *r, const Router *ir, MergeResult *res)
{
        Stamp s;

        if (ir->default_stamp.lamport == 0)
                return 0; /* never set there, or not part of this document */
        if (stamp_rehost(c, in, ir->default_stamp, &s) < 0)
                return -ENOMEM;
        if (stamp_compare(c, r->default_stamp, s) >= 0)
                return 0;
        bool same = r->default_action == ir->default_action;
        r->default_action = ir->default_action;
        r->default_stamp = s;
        res->changed = true;
        return same ? 0 : note_firewall(res, r->name);
}

static int merge_router(Config *c, const Config *in, const Router *ir, uint64_t now, MergeResult *res)
{
        Stamp s;
        int k;

        if (stamp_rehost(c, in, ir->stamp, &s) < 0)
                return -ENOMEM;
        if (tomb_kills(c, config_find_tomb(c, TOMB_ROUTER, "", ir->name), s))
                return 0;
        Router *r = config_find_router(c, ir->name);
        if (r && stamp_compare(c, r->stamp, s) > 0)
                return 0; /* an older incarnation: it and everything in it are gone */
        if (!r || stamp_compare(c, r->stamp, s) < 0) {
                /* A newer incarnation replaces the router with all its contents. */
                if (r) {
                        for (size_t i = 0; i < r->n_lifs; i++)
                                if (note_object(res, r->name, r->lifs[i]->name, false) < 0)
                                        return -ENOMEM;
                        if (note_object(res, r->name, NULL, false) < 0 || note_router_firewall_gone(res, r) < 0)
                                return -ENOMEM;
                        router_free(config_detach_router(c, ir->name));
                        res->routes_overflow = true;
                }
                r = router_new(ir->name, ir->table_config, ir->table);
                if (!r || config_add_router(c, r) < 0) {
                        router_free(r);
                        return -ENOMEM;
                }
                r->stamp = s;
                if (note_object(res, r->name, NULL, true) < 0)
                        return -ENOMEM;
                res->changed = res->links = true;
        }
        for (size_t i = 0; i < ir->n_lifs; i++) {
                k = merge_lif(c, in, r, ir->lifs[i], res);
                if (k < 0)
                        return k;
        }
        if (route_table_reserve(&r->routes, ir->routes.n) < 0)
                return -ENOMEM;
        ROUTE_TABLE_FOREACH(rt, &ir->routes) {
                k = merge_route(c, in, r, ir, rt, now, res);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < ir->n_endpoints; i++) {
                k = merge_endpoint(c, in, r, ir, ir->endpoints[i], now, res);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < ir->n_rules; i++) {
                k = merge_rule(c, in, r, ir->rules[i], res);
                if (k < 0)
                        return k;
        }
        return merge_default_action(c, in, r, ir, res);
}

/* Conflicts two hosts can create by writing at the same time (the same table, segment or VTEP, or
 * overlapping subnets in one router): the newer object wins and the older becomes a tombstone stamped with
 * the winner's stamp, so every host decides alike and the decision itself spreads. */
static int lif_conflicts(const Config *c, const Router *ra, const Lif *a, const Router *rb, const Lif *b)
{
        (void) c;
        if (a->kind == b->kind && a->segment == b->segment)
                return 1;
        if (ra != rb)
                return 0;
        for (size_t i = 0; i < a->n_addresses; i++)
                for (size_t j = 0; j < b->n_addresses; j++)
                        if (ip_prefix_overlaps(&a->addresses[i], &b->addresses[j]))
                                return 1;
        return 0;
}

/* Limits a single host enforces on its callers can be passed by merging what several hosts accepted at
 * once; the newest objects up to the limit stay, the same on every host, so that the result is still a
 * configuration this host would load. */
static int cmp_stamp_desc(const Config *c, Stamp a, Stamp b)
{
        return -stamp_compare(c, a, b);
}

static const Config *sort_config; /* qsort has no context argument; merging is single-threaded */

static int cmp_lif_desc(const void *a, const void *b)
{
        return cmp_stamp_desc(sort_config, (*(Lif *const *) a)->stamp, (*(Lif *const *) b)->stamp);
}

static int cmp_endpoint_desc(const void *a, const void *b)
{
        return cmp_stamp_desc(sort_config, (*(Endpoint *const *) a)->stamp, (*(Endpoint *const *) b)->stamp);
}

static int cmp_member_desc(const void *a, const void *b)
{
        return cmp_stamp_desc(sort_config, (*(Member *const *) a)->stamp, (*(Member *const *) b)->stamp);
}

static int cmp_rule_desc(const void *a, const void *b)
{
        const Rule *x = *(Rule *const *) a, *y = *(Rule *const *) b;
        int d = cmp_stamp_desc(sort_config, x->stamp, y->stamp);
        /* One write (an Apply) stamps many rules alike: then the name decides, the same way on every host. */
        return d != 0 ? d : strcmp(x->name, y->name);
}

static int enforce_rule_limit(Config *c, Router *r, uint64_t now, MergeResult *res)
{
        if (r->n_rules <= DLR_RULES_MAX)
                return 0;
        /* Sorted apart from r->rules, which must stay in (priority, name) order. */
        _cleanup_free_ Rule **v = malloc(r->n_rules * sizeof(Rule *));
        size_t n = r->n_rules;
        if (!v)
                return -ENOMEM;
        memcpy(v, r->rules, n * sizeof(Rule *));
        qsort(v, n, sizeof(Rule *), cmp_rule_desc);
        Stamp w = v[DLR_RULES_MAX - 1]->stamp;
        for (size_t i = DLR_RULES_MAX; i < n; i++) {
                _cleanup_free_ char *name = strdup(v[i]->name); /* kill_rule frees v[i] */
                if (!name)
                        return -ENOMEM;
                int k = kill_rule(c, r, name, w, now, res);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int enforce_limits(Config *c, uint64_t now, MergeResult *res)
{
        int k;

        sort_config = c;
        if (c->n_members > DLR_MEMBERS_MAX) {
                qsort(c->members, c->n_members, sizeof(Member *), cmp_member_desc);
                Stamp w = c->members[DLR_MEMBERS_MAX - 1]->stamp;
                while (c->n_members > DLR_MEMBERS_MAX) {
                        _cleanup_free_ char *host = strdup(c->members[c->n_members - 1]->host);
                        if (!host)
                                return -ENOMEM;
                        k = kill_member(c, host, w, now, res);
                        if (k < 0)
                                return k;
                }
        }
        for (size_t i = 0; i < c->n_routers; i++) {
                Router *r = c->routers[i];
                k = enforce_rule_limit(c, r, now, res);
                if (k < 0)
                        return k;
                if (r->n_lifs > DLR_LIFS_MAX) {
                        qsort(r->lifs, r->n_lifs, sizeof(Lif *), cmp_lif_desc);
                        Stamp w = r->lifs[DLR_LIFS_MAX - 1]->stamp;
                        while (r->n_lifs > DLR_LIFS_MAX) {
                                _cleanup_free_ char *name = strdup(r->lifs[r->n_lifs - 1]->name);
                                if (!name)
                                        return -ENOMEM;
                                k = kill_lif(c, r, name, w, now, res);
                                if (k < 0)
                                        return k;
                        }
                }
                for (size_t j = 0; j < r->n_lifs; j++) {
                        const Lif *l = r->lifs[j];
                        if (router_count_endpoints(r, l->id) <= DLR_ENDPOINTS_PER_LIF_MAX)
                                continue;
                        qsort(r->endpoints, r->n_endpoints, sizeof(Endpoint *), cmp_endpoint_desc);
                        size_t kept = 0;
                        Stamp w = {};
                        for (size_t e = 0; e < r->n_endpoints;) {
                                Endpoint *ep = r->endpoints[e];
                                if (ep->lif != l->id || kept < DLR_ENDPOINTS_PER_LIF_MAX) {
                                        if (ep->lif == l->id && ++kept == DLR_ENDPOINTS_PER_LIF_MAX)
                                                w = ep->stamp;
                                        e++;
                                        continue;
                                }
                                uint8_t mac[6];
                                memcpy(mac, ep->mac, 6);
                                k = kill_endpoint(c, r, l->name, mac, w, now, res);
                                if (k < 0)
                                        return k;
                        }
                }
        }
        return 0;
}

static int normalise(Config *c, uint64_t now, MergeResult *res)
{
        bool again = true;
        int k;

        while (again) {
                again = false;
                for (size_t i = 0; i < c->n_routers && !again; i++)
                        for (size_t j = i + 1; j < c->n_routers && !again; j++) {
                                Router *a = c->routers[i], *b = c->routers[j];
                                if (a->table != b->table)
                                        continue;
                                bool a_wins = stamp_compare(c, a->stamp, b->stamp) > 0;
                                Router *loser = a_wins ? b : a, *winner = a_wins ? a : b;
                                k = kill_router(c, loser->name, winner->stamp, now, res);
                                if (k < 0)
                                        return k;
                                again = true;
                        }
        }
        again = true;
        while (again) {
                again = false;
                for (size_t i = 0; i < c->n_routers && !again; i++) {
                        Router *ra = c->routers[i];
                        for (size_t x = 0; x < ra->n_lifs && !again; x++)
                                for (size_t j = i; j < c->n_routers && !again; j++) {
                                        Router *rb = c->routers[j];
                                        for (size_t y = (j == i ? x + 1 : 0); y < rb->n_lifs && !again; y++) {
                                                Lif *a = ra->lifs[x], *b = rb->lifs[y];
                                                if (!lif_conflicts(c, ra, a, rb, b))
                                                        continue;
                                                bool a_wins = stamp_compare(c, a->stamp, b->stamp) > 0;
                                                Stamp w = a_wins ? a->stamp : b->stamp;
                                                k = a_wins ? kill_lif(c, rb, b->name, w, now, res)
                                                           : kill_lif(c, ra, a->name, w, now, res);
                                                if (k < 0)
                                                        return k;
                                                again = true;
                                        }
                                }
                }
        }
        /* Bindings that a newer value of their LIF no longer admits (its subnets changed, or an address
         * became its gateway address), written on another host before that host saw the change: the LIF
         * wins, as a LIF that lost takes its bindings along. Kept, such a binding would make this host's
         * state (and its GetState) a document that every peer and its own next start refuse. */
        for (size_t i = 0; i < c->n_routers; i++) {
                Router *r = c->routers[i];
                for (size_t j = 0; j < r->n_endpoints;) {
                        Endpoint *e = r->endpoints[j];
                        const Lif *l = router_find_lif_by_id(r, e->lif);
                        const char *why;
                        if (!l || endpoint_check_lif(r, e, &why) >= 0) {
                                j++;
                                continue;
                        }
                        uint8_t mac[6];
                        memcpy(mac, e->mac, 6);
                        k = kill_endpoint(c, r, l->name, mac, l->stamp, now, res);
                        if (k < 0)
                                return k;
                }
        }
        /* Two bindings of one LIF claiming the same address. */
        for (size_t i = 0; i < c->n_routers; i++) {
                Router *r = c->routers[i];
                for (size_t j = 0; j < r->n_endpoints;) {
                        Endpoint *e = r->endpoints[j], *o = router_find_endpoint_address_clash(r, e);
                        if (!o) {
                                j++;
                                continue;
                        }
                        bool e_wins = stamp_compare(c, e->stamp, o->stamp) > 0;
                        Endpoint *loser = e_wins ? o : e;
                        Stamp w = e_wins ? e->stamp : o->stamp;
                        const Lif *l = router_find_lif_by_id(r, loser->lif);
                        uint8_t mac[6];
                        memcpy(mac, loser->mac, 6);
                        k = kill_endpoint(c, r, l ? l->name : "", mac, w, now, res);
                        if (k < 0)
                                return k;
                        j = 0;
                }
        }
        again = true;
        while (again) {
                again = false;
                for (size_t i = 0; i < c->n_members && !again; i++)
                        for (size_t j = i + 1; j < c->n_members && !again; j++) {
                                Member *a = c->members[i], *b = c->members[j];
                                if (ip_prefix_compare(&a->vtep, &b->vtep) != 0)
                                        continue;
                                bool a_wins = stamp_compare(c, a->stamp, b->stamp) > 0;
                                k = kill_member(c, (a_wins ? b : a)->host, (a_wins ? a : b)->stamp, now, res);
                                if (k < 0)
                                        return k;
                                again = true;
                        }
        }
        return enforce_limits(c, now, res);
}

int config_merge(Config *c, const Config *in, uint64_t now, MergeResult *res)
{
        int k;

        *res = (MergeResult) {};
        if (in->lamport > c->lamport)
                c->lamport = in->lamport;

        TOMB_SET_FOREACH(t, &in->tombs) {
                Stamp s;
                if (stamp_rehost(c, in, t->stamp, &s) < 0)
                        return -ENOMEM;
                if (s.lamport > c->lamport)
                        c->lamport = s.lamport;
                k = apply_tomb(c, t, s, now, res);
                if (k < 0)
                        return k;
        }
        if (in->tombs.n > 0)
                res->changed = true; /* tombstones are kept even for objects never seen here */
        for (size_t i = 0; i < in->n_members; i++) {
                if (in->members[i]->stamp.lamport > c->lamport)
                        c->lamport = in->members[i]->stamp.lamport;
                k = merge_member(c, in, in->members[i], res);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < in->n_routers; i++) {
                const Router *ir = in->routers[i];
                if (ir->stamp.lamport > c->lamport)
                        c->lamport = ir->stamp.lamport;
                for (size_t j = 0; j < ir->n_lifs; j++)
                        if (ir->lifs[j]->stamp.lamport > c->lamport)
                                c->lamport = ir->lifs[j]->stamp.lamport;
                ROUTE_TABLE_FOREACH(rt, &ir->routes)
                        if (rt->stamp_lamport > c->lamport)
                                c->lamport = rt->stamp_lamport;
                for (size_t j = 0; j < ir->n_endpoints; j++)
                        if (ir->endpoints[j]->stamp.lamport > c->lamport)
                                c->lamport = ir->endpoints[j]->stamp.lamport;
                for (size_t j = 0; j < ir->n_rules; j++)
                        if (ir->rules[j]->stamp.lamport > c->lamport)
                                c->lamport = ir->rules[j]->stamp.lamport;
                if (ir->default_stamp.lamport > c->lamport)
                        c->lamport = ir->default_stamp.lamport;
                k = merge_router(c, in, ir, now, res);
                if (k < 0)
                        return k;
        }
        if (res->links || res->endpoints || res->firewall)
                return normalise(c, now, res);
        return 0;
}

void merge_result_done(MergeResult *res)
{
        for (size_t i = 0; i < res->n_routes; i++)
                free(res->routes[i].router);
        free(res->routes);
        for (size_t i = 0; i < res->n_objects; i++) {
                free(res->objects[i].router);
                free(res->objects[i].lif);
        }
        free(res->objects);
        for (size_t i = 0; i < res->n_fw_routers; i++)
                free(res->fw_routers[i]);
        free(res->fw_routers);
        *res = (MergeResult) {};
}
