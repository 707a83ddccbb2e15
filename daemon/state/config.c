/* The desired configuration's objects, their invariants and the checks that keep bad input out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "config.h"
#include "shared/cleanup.h"
#include "shared/strtable.h"

static const char *const lif_kind_table[_LIF_KIND_MAX] = {
        [LIF_KIND_VXLAN] = "vxlan",
        [LIF_KIND_VLAN] = "vlan",
};
DEFINE_STRING_TABLE_LOOKUP(lif_kind, LifKind, _LIF_KIND_MAX)

Config *config_new(void)
{
        return calloc(1, sizeof(Config));
}

Config *config_free(Config *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_routers; i++)
                router_free(c->routers[i]);
        free(c->routers);
        for (size_t i = 0; i < c->n_members; i++)
                member_free(c->members[i]);
        free(c->members);
        tomb_set_done(&c->tombs);
        while (c->n_ports > 0)
                (void) config_remove_port(c, c->ports[0].ifname);
        free(c->ports);
        for (size_t i = 0; i < c->n_hosts; i++)
                free(c->hosts[i]);
        free(c->hosts);
        free(c);
        return NULL;
}

void config_freep(Config **c)
{
        config_free(*c);
}

int config_host_index(Config *c, const char *host)
{
        for (size_t i = 0; i < c->n_hosts; i++)
                if (streq(c->hosts[i], host))
                        return (int) i;
        char **n = realloc(c->hosts, (c->n_hosts + 1) * sizeof(char *));
        if (!n)
                return -ENOMEM;
        c->hosts = n;
        n[c->n_hosts] = strdup(host);
        if (!n[c->n_hosts])
                return -ENOMEM;
        return (int) c->n_hosts++;
}

int dlr_name_check(const char *name)
{
        size_t n;

        if (!name)
                return -EINVAL;
        n = strlen(name);
        if (n == 0 || n > DLR_NAME_MAX || name[0] == '.' || name[0] == '-')
                return -EINVAL;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                            *p == '_' || *p == '-' || *p == '.'))
                        return -EINVAL;
        return 0;
}

Router *config_find_router(const Config *c, const char *name)
{
        for (size_t i = 0; i < c->n_routers; i++)
                if (streq(c->routers[i]->name, name))
                        return c->routers[i];
        return NULL;
}

Router *config_find_router_by_table(const Config *c, uint32_t table)
{
        for (size_t i = 0; i < c->n_routers; i++)
                if (c->routers[i]->table == table)
                        return c->routers[i];
        return NULL;
}

Lif *router_find_lif(const Router *r, const char *name)
{
        for (size_t i = 0; i < r->n_lifs; i++)
                if (streq(r->lifs[i]->name, name))
                        return r->lifs[i];
        return NULL;
}

Lif *router_find_lif_by_id(const Router *r, uint16_t id)
{
        for (size_t i = 0; i < r->n_lifs; i++)
                if (r->lifs[i]->id == id)
                        return r->lifs[i];
        return NULL;
}

Lif *config_find_segment(const Config *c, LifKind kind, uint32_t segment, Router **ret_router)
{
        for (size_t i = 0; i < c->n_routers; i++)
                for (size_t j = 0; j < c->routers[i]->n_lifs; j++) {
                        Lif *l = c->routers[i]->lifs[j];
                        if (l->kind == kind && l->segment == segment) {
                                if (ret_router)
                                        *ret_router = c->routers[i];
                                return l;
                        }
                }
        return NULL;
}

int dlr_table_check(uint32_t table)
{
        /* 0 unspec, 252 compat, 253 default, 254 main, 255 local */
        if (table == 0 || (table >= 252 && table <= 255))
                return -EINVAL;
        return 0;
}

int config_allocate_table(const Config *c, uint32_t *ret)
{
        for (uint32_t t = DLR_TABLE_AUTO_MIN; t <= DLR_TABLE_AUTO_MAX; t++)
                if (!config_find_router_by_table(c, t)) {
                        *ret = t;
                        return 0;
                }
        return -ENOSPC;
}

static void derive_mac(const char *router, const char *lif, const char *role, uint8_t ret[6])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        char buf[2 * DLR_NAME_MAX + 32];
        int n;

        /* NUL separators keep ("ab","c") and ("a","bc") apart. */
        n = snprintf(buf, sizeof buf, "dlrd-mac%c%s%c%s%c%s", 0, role, 0, router, 0, lif);
        if (n < 0 || (size_t) n >= sizeof buf)
                n = (int) sizeof buf - 1;
        if (EVP_Digest(buf, (size_t) n, md, &len, EVP_sha256(), NULL) != 1)
                memset(md, 0x5a, sizeof md); /* cannot happen with the default provider; still deterministic */

        memcpy(ret, md, 6);
        ret[0] = (uint8_t) ((ret[0] & 0xfc) | 0x02); /* unicast, locally administered: never zero */
}

void lif_derive_mac(const char *router, const char *lif, uint8_t ret[6])
{
        derive_mac(router, lif, "gateway", ret);
}

void lif_derive_port_mac(const char *router, const char *lif, uint8_t ret[6])
{
        derive_mac(router, lif, "port", ret);
}

uint32_t lif_effective_mtu(LifKind kind, uint32_t mtu_config)
{
        if (mtu_config != 0)
                return mtu_config;
        return kind == LIF_KIND_VXLAN ? DLR_MTU_DEFAULT_UNDERLAY - DLR_VXLAN_OVERHEAD : DLR_MTU_DEFAULT_UNDERLAY;
}

Lif *lif_free(Lif *l)
{
        if (!l)
                return NULL;
        free(l->name);
        free(l->addresses);
        free(l);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Lif *, lif_free)

#define FAIL(code, msg)                                                                                       \
        do {                                                                                                  \
                *ret_error = (msg);                                                                           \
                return (code);                                                                                \
        } while (0)

int lif_new_checked(const Config *c, const Router *r, const char *name, const char *kind, uint32_t segment,
                char *const *addresses, size_t n_addresses, uint32_t mtu, Lif **ret, const char **ret_error)
{
        _cleanup_(lif_freep) Lif *l = NULL;
        LifKind k;

        if (dlr_name_check(name) < 0)
                FAIL(-EINVAL, "invalid LIF name: use 1-64 characters of A-Z a-z 0-9 _ . -");
        k = lif_kind_from_string(kind);
        if (k < 0)
                FAIL(-EINVAL, "invalid LIF kind: expected \"vxlan\" or \"vlan\"");
        if (k == LIF_KIND_VXLAN && (segment < 1 || segment > DLR_VNI_MAX))
                FAIL(-EINVAL, "invalid VNI: expected 1-16777215");
        if (k == LIF_KIND_VLAN && (segment < 1 || segment > DLR_VLAN_MAX))
                FAIL(-EINVAL, "invalid VLAN id: expected 1-4094");
        if (mtu != 0 && (mtu < DLR_MTU_MIN || mtu > DLR_MTU_MAX))
                FAIL(-EINVAL, "invalid MTU: expected 0 (derive) or 1280-9000");
        if (n_addresses > DLR_ADDRESSES_MAX)
                FAIL(-EINVAL, "too many gateway addresses (at most 16)");

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->name = strdup(name);
        l->addresses = calloc(n_addresses ? n_addresses : 1, sizeof(IpPrefix));
        if (!l->name || !l->addresses)
                return -ENOMEM;
        l->kind = k;
        l->segment = segment;
        l->mtu_config = mtu;
        l->mtu = lif_effective_mtu(k, mtu);
        lif_derive_mac(r->name, name, l->mac);

        for (size_t i = 0; i < n_addresses; i++) {
                IpPrefix p;

                if (ip_prefix_parse(addresses[i], &p) < 0)
                        FAIL(-EINVAL, "invalid gateway address: expected ADDRESS/LENGTH");
                if (ip_addr_check_unicast(&p) < 0)
                        FAIL(-EINVAL, "invalid gateway address: not a usable unicast address");
                if ((p.family == AF_INET && p.plen == 0) || (p.family == AF_INET6 && p.plen == 0))
                        FAIL(-EINVAL, "invalid gateway address: prefix length 0");
                if (p.family == AF_INET && p.plen < 31) {
                        IpPrefix net = p;
                        ip_prefix_mask(&net);
                        if (memcmp(net.addr, p.addr, 4) == 0)
                                FAIL(-EINVAL, "invalid gateway address: it is the subnet's network address");
                }
                for (size_t j = 0; j < i; j++)
                        if (ip_prefix_overlaps(&l->addresses[j], &p))
                                FAIL(-EINVAL, "gateway addresses of one LIF overlap each other");
                l->addresses[i] = p;
        }
        l->n_addresses = n_addresses;

        if (router_find_lif(r, name))
                FAIL(-EEXIST, "a LIF of this name already exists in this router");
        if (config_find_segment(c, k, segment, NULL))
                FAIL(-EADDRINUSE, k == LIF_KIND_VXLAN ? "this VNI is already used by another LIF"
                                                      : "this VLAN is already used by another LIF");
        /* Inside one VRF two LIFs on overlapping subnets would make routing ambiguous. */
        for (size_t i = 0; i < r->n_lifs; i++)
                for (size_t j = 0; j < r->lifs[i]->n_addresses; j++)
                        for (size_t a = 0; a < l->n_addresses; a++)
                                if (ip_prefix_overlaps(&r->lifs[i]->addresses[j], &l->addresses[a]))
                                        FAIL(-EADDRINUSE, "a gateway subnet overlaps another LIF of this router");
        if (r->n_lifs >= DLR_LIFS_MAX)
                FAIL(-EINVAL, "too many LIFs in this router");

        *ret = TAKE_PTR(l);
        *ret_error = NULL;
        return 0;
}

int router_append_lif(Router *r, Lif *l)
{
        Lif **n = realloc(r->lifs, (r->n_lifs + 1) * sizeof(Lif *));
        if (!n)
                return -ENOMEM;
        r->lifs = n;
        if (l->id > r->next_lif_id)
                r->next_lif_id = l->id;
        r->lifs[r->n_lifs++] = l;
        return 0;
}

static int next_free_lif_id(Router *r, uint16_t *ret)
{
        /* Ids stay stable for the router's lifetime; wrap-around skips ids still taken. */
        for (unsigned tries = 0; tries < UINT16_MAX; tries++) {
                r->next_lif_id++;
                if (r->next_lif_id == 0)
                        r->next_lif_id = 1;
                if (!router_find_lif_by_id(r, r->next_lif_id)) {
                        *ret = r->next_lif_id;
                        return 0;
                }
        }
        return -ENOSPC;
}

int router_assign_lif_ids(Router *r)
{
        for (size_t i = 0; i < r->n_lifs; i++)
                if (r->lifs[i]->id == 0) {
                        int k = next_free_lif_id(r, &r->lifs[i]->id);
                        if (k < 0)
                                return k;
                }
        return 0;
}

int router_add_lif(Router *r, Lif *l)
{
        if (l->id == 0) {
                int k = next_free_lif_id(r, &l->id);
                if (k < 0)
                        return k;
        }
        return router_append_lif(r, l);
}

Lif *router_detach_lif(Router *r, const char *name)
{
        for (size_t i = 0; i < r->n_lifs; i++)
                if (streq(r->lifs[i]->name, name)) {
                        Lif *l = r->lifs[i];
                        memmove(r->lifs + i, r->lifs + i + 1, (r->n_lifs - i - 1) * sizeof(Lif *));
                        r->n_lifs--;
                        return l;
                }
        return NULL;
}

bool router_lif_in_use(const Router *r, uint16_t id)
{
        ROUTE_TABLE_FOREACH(rt, &r->routes) {
                const Nexthop *nh = route_nexthops(rt);
                for (unsigned i = 0; i < rt->n_nexthops; i++)
                        if (nh[i].lif == id)
                                return true;
        }
        return false;
}

Router *router_new(const char *name, uint32_t table_config, uint32_t table)
{
        Router *r = calloc(1, sizeof *r);
        if (!r)
                return NULL;
        r->name = strdup(name);
        if (!r->name) {
                free(r);
                return NULL;
        }
        r->table_config = table_config;
        r->table = table;
        r->default_action = RULE_ACTION_ALLOW;
        return r;
}

Router *router_free(Router *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_lifs; i++)
                lif_free(r->lifs[i]);
        free(r->lifs);
        route_table_done(&r->routes);
        for (size_t i = 0; i < r->n_endpoints; i++)
                endpoint_free(r->endpoints[i]);
        free(r->endpoints);
        for (size_t i = 0; i < r->n_rules; i++)
                rule_free(r->rules[i]);
        free(r->rules);
        free(r->rule_index.slots);
        free(r->name);
        free(r);
        return NULL;
}

int config_add_router(Config *c, Router *r)
{
        Router **n = realloc(c->routers, (c->n_routers + 1) * sizeof(Router *));
        if (!n)
                return -ENOMEM;
        c->routers = n;
        c->routers[c->n_routers++] = r;
        return 0;
}

Router *config_detach_router(Config *c, const char *name)
{
        for (size_t i = 0; i < c->n_routers; i++)
                if (streq(c->routers[i]->name, name)) {
                        Router *r = c->routers[i];
                        memmove(c->routers + i, c->routers + i + 1, (c->n_routers - i - 1) * sizeof(Router *));
                        c->n_routers--;
                        return r;
                }
        return NULL;
}

Lif *lif_copy(const Lif *l)
{
        Lif *n = calloc(1, sizeof *n);
        if (!n)
                return NULL;
        *n = *l;
        n->name = strdup(l->name);
        n->addresses = calloc(l->n_addresses ? l->n_addresses : 1, sizeof(IpPrefix));
        if (!n->name || !n->addresses)
                return lif_free(n);
        memcpy(n->addresses, l->addresses, l->n_addresses * sizeof(IpPrefix));
        return n;
}

int config_copy(const Config *c, Config **ret)
{
        _cleanup_(config_freep) Config *n = config_new();
        if (!n)
                return -ENOMEM;
        n->generation = c->generation;
        n->lamport = c->lamport;
        for (size_t i = 0; i < c->n_hosts; i++)
                if (config_host_index(n, c->hosts[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < c->n_routers; i++) {
                const Router *r = c->routers[i];
                Router *nr = router_new(r->name, r->table_config, r->table);
                if (!nr)
                        return -ENOMEM;
                if (config_add_router(n, nr) < 0) {
                        router_free(nr);
                        return -ENOMEM;
                }
                nr->stamp = r->stamp;
                for (size_t j = 0; j < r->n_lifs; j++) {
                        Lif *l = lif_copy(r->lifs[j]);
                        if (!l || router_add_lif(nr, l) < 0) {
                                lif_free(l);
                                return -ENOMEM;
                        }
                }
                nr->next_lif_id = r->next_lif_id;
                if (route_table_reserve(&nr->routes, r->routes.n) < 0)
                        return -ENOMEM;
                ROUTE_TABLE_FOREACH(rt, &r->routes) {
                        Route copy;
                        if (route_copy(rt, &copy) < 0)
                                return -ENOMEM;
                        if (route_table_put(&nr->routes, &copy, NULL) < 0) {
                                route_done(&copy);
                                return -ENOMEM;
                        }
                }
                /* Unlimited: a copy holds what the original holds, even a merge's rules before their limit. */
                for (size_t j = 0; j < r->n_rules; j++) {
                        Rule *rule = rule_copy(r->rules[j]);
                        if (!rule || router_put_rule_unlimited(nr, rule, NULL) < 0) {
                                rule_free(rule);
                                return -ENOMEM;
                        }
                }
                nr->default_action = r->default_action;
                nr->default_stamp = r->default_stamp;
        }
        for (size_t i = 0; i < c->n_members; i++) {
                Member *mb = member_new(c->members[i]->host, &c->members[i]->vtep, c->members[i]->address,
                                c->members[i]->key);
                if (!mb || config_add_member(n, mb) < 0) {
                        member_free(mb);
                        return -ENOMEM;
                }
                mb->stamp = c->members[i]->stamp;
        }
        TOMB_SET_FOREACH(t, &c->tombs)
                if (config_put_tomb(n, t->kind, t->router, t->key, t->stamp, t->since) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < c->n_routers; i++)
                for (size_t j = 0; j < c->routers[i]->n_endpoints; j++) {
                        Endpoint *e = endpoint_copy(c->routers[i]->endpoints[j]);
                        if (!e || router_add_endpoint(n->routers[i], e) < 0) {
                                endpoint_free(e);
                                return -ENOMEM;
                        }
                }
        for (size_t i = 0; i < c->n_ports; i++)
                if (config_add_port(n, c->ports[i].ifname, c->ports[i].router, c->ports[i].lif) < 0)
                        return -ENOMEM;
        n->members_given = c->members_given;
        *ret = TAKE_PTR(n);
        return 0;
}
