/* Router and LIF objects: read-only views of the configuration, found by decoding their paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "shared/cleanup.h"

int bus_router_path(const char *router, char **ret)
{
        return sd_bus_path_encode(DLRD_ROUTER_PREFIX, router, ret);
}

int bus_lif_path(const char *router, const char *lif, char **ret)
{
        _cleanup_free_ char *rp = NULL, *prefix = NULL;
        int r = bus_router_path(router, &rp);
        if (r < 0)
                return r;
        if (asprintf(&prefix, "%s/lif", rp) < 0)
                return -ENOMEM;
        return sd_bus_path_encode(prefix, lif, ret);
}

static int router_find(sd_bus *bus, const char *path, const char *iface, void *userdata, void **found,
                sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        Router *r;

        if (sd_bus_path_decode_many(path, DLRD_ROUTER_PREFIX "/%", &name) <= 0)
                return 0;
        r = config_find_router(m->config, name);
        if (!r)
                return 0;
        *found = r;
        return 1;
}

static int lif_find(sd_bus *bus, const char *path, const char *iface, void *userdata, void **found,
                sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_free_ char *rname = NULL, *lname = NULL;
        Router *r;
        Lif *l;

        if (sd_bus_path_decode_many(path, DLRD_ROUTER_PREFIX "/%/lif/%", &rname, &lname) <= 0)
                return 0;
        r = config_find_router(m->config, rname);
        if (!r || !(l = router_find_lif(r, lname)))
                return 0;
        *found = l;
        return 1;
}

static int router_get(sd_bus *bus, const char *path, const char *iface, const char *property,
                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Router *r = userdata;

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", r->name);
        if (streq(property, "Table"))
                return sd_bus_message_append(reply, "u", r->table);
        if (streq(property, "Routes"))
                return sd_bus_message_append(reply, "u", (uint32_t) r->routes.n);
        return -ENOENT;
}

static int lif_get(sd_bus *bus, const char *path, const char *iface, const char *property,
                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const Lif *l = userdata;
        char s[IP_PREFIX_MAX_STR];
        int r;

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", l->name);
        if (streq(property, "Router")) {
                _cleanup_free_ char *rname = NULL, *lname = NULL;
                r = sd_bus_path_decode_many(path, DLRD_ROUTER_PREFIX "/%/lif/%", &rname, &lname);
                if (r <= 0)
                        return r < 0 ? r : -ENOENT;
                return sd_bus_message_append(reply, "s", rname);
        }
        if (streq(property, "Kind"))
                return sd_bus_message_append(reply, "s", lif_kind_to_string(l->kind));
        if (streq(property, "Segment"))
                return sd_bus_message_append(reply, "u", l->segment);
        if (streq(property, "Mtu"))
                return sd_bus_message_append(reply, "u", l->mtu);
        if (streq(property, "Mac")) {
                snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1], l->mac[2], l->mac[3],
                        l->mac[4], l->mac[5]);
                return sd_bus_message_append(reply, "s", s);
        }
        if (streq(property, "Addresses")) {
                r = sd_bus_message_open_container(reply, 'a', "s");
                for (size_t i = 0; r >= 0 && i < l->n_addresses; i++)
                        r = sd_bus_message_append(reply, "s", ip_prefix_to_string(&l->addresses[i], true, s, sizeof s));
                return r < 0 ? r : sd_bus_message_close_container(reply);
        }
        return -ENOENT;
}

static const sd_bus_vtable router_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", router_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Table", "u", router_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Routes", "u", router_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable lif_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", lif_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Router", "s", lif_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Kind", "s", lif_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Segment", "u", lif_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Addresses", "as", lif_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mtu", "u", lif_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mac", "s", lif_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

static int enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error)
{
        Manager *m = userdata;
        size_t n = 0, cap = 1;
        char **v;

        for (size_t i = 0; i < m->config->n_routers; i++)
                cap += 1 + m->config->routers[i]->n_lifs;
        v = calloc(cap, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < m->config->n_routers; i++) {
                const Router *r = m->config->routers[i];
                if (bus_router_path(r->name, &v[n]) < 0)
                        goto oom;
                n++;
                for (size_t j = 0; j < r->n_lifs; j++) {
                        if (bus_lif_path(r->name, r->lifs[j]->name, &v[n]) < 0)
                                goto oom;
                        n++;
                }
        }
        *ret_nodes = v;
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
        return -ENOMEM;
}


int bus_register_objects(Manager *m)
{
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, NULL, DLRD_ROUTER_PREFIX, "org.dlrd1.Router", router_vtable,
                router_find, m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(m->bus, NULL, DLRD_ROUTER_PREFIX, "org.dlrd1.Lif", lif_vtable,
                        lif_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, DLRD_ROUTER_PREFIX, enumerate, m);
        return r;
}

void bus_emit_router_added(Manager *m, const Router *r)
{
        _cleanup_free_ char *p = NULL;
        if (m->bus && bus_router_path(r->name, &p) >= 0)
                (void) sd_bus_emit_interfaces_added(m->bus, p, "org.dlrd1.Router", NULL);
}

void bus_emit_router_removed(Manager *m, const Router *r)
{
        _cleanup_free_ char *p = NULL;
        if (m->bus && bus_router_path(r->name, &p) >= 0)
                (void) sd_bus_emit_interfaces_removed(m->bus, p, "org.dlrd1.Router", NULL);
}

void bus_emit_lif_added(Manager *m, const Router *r, const Lif *l)
{
        _cleanup_free_ char *p = NULL;
        if (m->bus && bus_lif_path(r->name, l->name, &p) >= 0)
                (void) sd_bus_emit_interfaces_added(m->bus, p, "org.dlrd1.Lif", NULL);
}

void bus_emit_lif_removed(Manager *m, const Router *r, const Lif *l)
{
        _cleanup_free_ char *p = NULL;
        if (m->bus && bus_lif_path(r->name, l->name, &p) >= 0)
                (void) sd_bus_emit_interfaces_removed(m->bus, p, "org.dlrd1.Lif", NULL);
}
