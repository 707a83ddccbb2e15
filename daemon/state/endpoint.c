/* Endpoint bindings (which VM, by MAC and addresses, lives on which host) and this host's attached ports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "shared/cleanup.h"

int mac_parse(const char *s, uint8_t ret[6])
{
        unsigned v[6];
        char tail;

        if (!s || strlen(s) != 17 ||
                        sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
                return -EINVAL;
        for (size_t i = 0; i < 6; i++) {
                /* sscanf's %x takes signs and spaces: insist on two hex digits and colons in place. */
                const char *d = s + 3 * i;
                if (!strchr("0123456789abcdefABCDEF", d[0]) || !strchr("0123456789abcdefABCDEF", d[1]) ||
                                (i < 5 && d[2] != ':'))
                        return -EINVAL;
                ret[i] = (uint8_t) v[i];
        }
        return 0;
}

void mac_format(const uint8_t mac[6], char ret[18])
{
        snprintf(ret, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

void endpoint_key(const char *lif, const uint8_t mac[6], char ret[DLR_NAME_MAX + 20])
{
        char m[18];
        mac_format(mac, m);
        snprintf(ret, DLR_NAME_MAX + 20, "%s/%s", lif, m);
}

#define FAIL(code, text)                                                                                      \
        do {                                                                                                  \
                *ret_error = (text);                                                                          \
                return (code);                                                                                \
        } while (0)

/* Whether a binding's MAC and addresses fit the LIF it is on (with its router's other LIFs): what a change
 * of that LIF, made on another host, can break after the binding was validated. */
static int endpoint_fits(const Router *r, const Lif *l, const uint8_t mac[6], const IpPrefix *addrs,
                size_t n, const char **ret_error)
{
        for (size_t i = 0; i < r->n_lifs; i++)
                if (memcmp(r->lifs[i]->mac, mac, 6) == 0)
                        FAIL(-EINVAL, "invalid MAC address: it is a gateway MAC of this router");
        for (size_t i = 0; i < n; i++) {
                bool inside = false;
                for (size_t j = 0; j < l->n_addresses; j++) {
                        IpPrefix gw = l->addresses[j];
                        gw.plen = addrs[i].plen;
                        if (ip_prefix_compare(&gw, &addrs[i]) == 0)
                                FAIL(-EINVAL, "invalid endpoint address: it is the LIF's gateway address");
                        if (ip_prefix_contains(&l->addresses[j], &addrs[i]))
                                inside = true;
                }
                if (!inside)
                        FAIL(-EINVAL, "invalid endpoint address: outside every subnet of the LIF");
        }
        return 0;
}

int endpoint_check_lif(const Router *r, const Endpoint *e, const char **ret_error)
{
        const Lif *l = router_find_lif_by_id(r, e->lif);

        *ret_error = NULL;
        if (!l)
                FAIL(-ENOENT, "LIF not found in this router");
        return endpoint_fits(r, l, e->mac, e->addresses, e->n_addresses, ret_error);
}

int endpoint_build(const Router *r, const char *lif, const char *mac, char *const *addresses, size_t n_addresses,
                Endpoint **ret, const char **ret_error)
{
        _cleanup_free_ IpPrefix *addrs = NULL;
        const Lif *l;
        uint8_t m[6];
        int k;

        *ret_error = NULL;
        if (!lif || dlr_name_check(lif) < 0)
                FAIL(-EINVAL, "invalid LIF name");
        l = router_find_lif(r, lif);
        if (!l)
                FAIL(-ENOENT, "LIF not found in this router");
        if (mac_parse(mac, m) < 0)
                FAIL(-EINVAL, "invalid MAC address: expected xx:xx:xx:xx:xx:xx");
        if (m[0] & 1)
                FAIL(-EINVAL, "invalid MAC address: multicast");
        if (memcmp(m, (uint8_t[6]) {}, 6) == 0)
                FAIL(-EINVAL, "invalid MAC address: all zero");
        if (n_addresses == 0 || n_addresses > DLR_ENDPOINT_ADDRESSES_MAX)
                FAIL(-EINVAL, "an endpoint needs 1 to 16 addresses");
        addrs = calloc(n_addresses, sizeof(IpPrefix));
        if (!addrs)
                return -ENOMEM;
        for (size_t i = 0; i < n_addresses; i++) {
                if (!addresses[i] || ip_addr_parse(addresses[i], &addrs[i]) < 0 || ip_addr_check_unicast(&addrs[i]) < 0)
                        FAIL(-EINVAL, "invalid endpoint address: expected a unicast address without /length");
                for (size_t j = 0; j < i; j++)
                        if (ip_prefix_compare(&addrs[j], &addrs[i]) == 0)
                                FAIL(-EINVAL, "invalid endpoint address: given twice");
        }
        k = endpoint_fits(r, l, m, addrs, n_addresses, ret_error);
        if (k < 0)
                return k;
        /* Sorted, so that equal bindings compare and print alike. */
        qsort(addrs, n_addresses, sizeof(IpPrefix), (int (*)(const void *, const void *)) ip_prefix_compare);

        Endpoint *e = calloc(1, sizeof(Endpoint));
        if (!e)
                return -ENOMEM;
        e->lif = l->id;
        memcpy(e->mac, m, 6);
        e->n_addresses = (uint8_t) n_addresses;
        e->addresses = TAKE_PTR(addrs);
        *ret = e;
        return 0;
}

Endpoint *endpoint_free(Endpoint *e)
{
        if (e) {
                free(e->addresses);
                free(e);
        }
        return NULL;
}

Endpoint *endpoint_copy(const Endpoint *e)
{
        Endpoint *n = calloc(1, sizeof(Endpoint));
        if (!n)
                return NULL;
        *n = *e;
        n->addresses = malloc((e->n_addresses ? e->n_addresses : 1) * sizeof(IpPrefix));
        if (!n->addresses) {
                free(n);
                return NULL;
        }
        if (e->n_addresses > 0)
                memcpy(n->addresses, e->addresses, e->n_addresses * sizeof(IpPrefix));
        return n;
}

Endpoint *router_find_endpoint(const Router *r, uint16_t lif, const uint8_t mac[6])
{
        for (size_t i = 0; i < r->n_endpoints; i++)
                if (r->endpoints[i]->lif == lif && memcmp(r->endpoints[i]->mac, mac, 6) == 0)
                        return r->endpoints[i];
        return NULL;
}

Endpoint *router_find_endpoint_address_clash(const Router *r, const Endpoint *e)
{
        for (size_t i = 0; i < r->n_endpoints; i++) {
                Endpoint *o = r->endpoints[i];
                if (o == e || o->lif != e->lif || memcmp(o->mac, e->mac, 6) == 0)
                        continue;
                for (size_t a = 0; a < o->n_addresses; a++)
                        for (size_t b = 0; b < e->n_addresses; b++)
                                if (ip_prefix_compare(&o->addresses[a], &e->addresses[b]) == 0)
                                        return o;
        }
        return NULL;
}

size_t router_count_endpoints(const Router *r, uint16_t lif)
{
        size_t n = 0;
        for (size_t i = 0; i < r->n_endpoints; i++)
                n += r->endpoints[i]->lif == lif;
        return n;
}

int router_add_endpoint(Router *r, Endpoint *e)
{
        Endpoint **n = realloc(r->endpoints, (r->n_endpoints + 1) * sizeof(Endpoint *));
        if (!n)
                return -ENOMEM;
        r->endpoints = n;
        n[r->n_endpoints++] = e;
        return 0;
}

Endpoint *router_detach_endpoint(Router *r, uint16_t lif, const uint8_t mac[6])
{
        for (size_t i = 0; i < r->n_endpoints; i++) {
                Endpoint *e = r->endpoints[i];
                if (e->lif == lif && memcmp(e->mac, mac, 6) == 0) {
                        memmove(r->endpoints + i, r->endpoints + i + 1, (r->n_endpoints - i - 1) * sizeof(Endpoint *));
                        r->n_endpoints--;
                        return e;
                }
        }
        return NULL;
}

Port *config_find_port(const Config *c, const char *ifname)
{
        for (size_t i = 0; i < c->n_ports; i++)
                if (streq(c->ports[i].ifname, ifname))
                        return &c->ports[i];
        return NULL;
}

int config_add_port(Config *c, const char *ifname, const char *router, const char *lif)
{
        Port *n = realloc(c->ports, (c->n_ports + 1) * sizeof(Port));
        if (!n)
                return -ENOMEM;
        c->ports = n;
        Port p = { .ifname = strdup(ifname), .router = strdup(router), .lif = strdup(lif) };
        if (!p.ifname || !p.router || !p.lif) {
                free(p.ifname);
                free(p.router);
                free(p.lif);
                return -ENOMEM;
        }
        c->ports[c->n_ports++] = p;
        return 0;
}

int config_remove_port(Config *c, const char *ifname)
{
        for (size_t i = 0; i < c->n_ports; i++)
                if (streq(c->ports[i].ifname, ifname)) {
                        free(c->ports[i].ifname);
                        free(c->ports[i].router);
                        free(c->ports[i].lif);
                        memmove(c->ports + i, c->ports + i + 1, (c->n_ports - i - 1) * sizeof(Port));
                        c->n_ports--;
                        return 0;
                }
        return -ENOENT;
}
