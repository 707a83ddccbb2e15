/* org.dlrd1.Manager: argument decoding, authorisation, and error mapping around the manager's changes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "bus/auth.h"
#include "peer/hostkey.h"
#include "peer/peer.h"
#include "shared/array.h"
#include "shared/cleanup.h"
#include "shared/log.h"



int bus_reply_error(sd_bus_message *msg, const DlrError *e)
{
        const char *name = dlr_error_kind_to_string(e->kind);
        return sd_bus_reply_method_errorf(msg, name ? name : "org.dlrd1.Error.Internal", "%s",
                e->msg[0] ? e->msg : "failed");
}

/* Authorised: go on. Waiting for polkit: return 1 now; the handler runs again with the answer. */
#define CHECK_PRIVILEGED(msg, error)                                                                          \
        do {                                                                                                  \
                int _r = bus_check_privileged(msg, error);                                                    \
                if (_r <= 0)                                                                                  \
                        return _r < 0 ? _r : 1;                                                               \
        } while (0)

static int method_create_router(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL;
        const char *name;
        uint32_t table;
        DlrError e = {};
        int r;

        CHECK_PRIVILEGED(msg, error);
        r = sd_bus_message_read(msg, "su", &name, &table);
        if (r < 0)
                return r;
        if (manager_create_router(m, name, table, &e) < 0)
                return bus_reply_error(msg, &e);
        r = bus_router_path(name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", path);
}

static int method_create_lif(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL;
        char *addresses[DLR_ADDRESSES_MAX + 1];
        const char *router, *name, *kind, *a;
        uint32_t segment, mtu;
        size_t n = 0;
        DlrError e = {};
        int r;

        CHECK_PRIVILEGED(msg, error);
        r = sd_bus_message_read(msg, "sssu", &router, &name, &kind, &segment);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(msg, "s", &a)) > 0) {
                if (n == DLR_ADDRESSES_MAX)
                        return sd_bus_reply_method_errorf(msg, "org.dlrd1.Error.InvalidArgument",
                                "too many gateway addresses (at most %u)", DLR_ADDRESSES_MAX);
                addresses[n++] = (char *) a;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r >= 0)
                r = sd_bus_message_read(msg, "u", &mtu);
        if (r < 0)
                return r;
        if (manager_create_lif(m, router, name, kind, segment, addresses, n, mtu, &e) < 0)
                return bus_reply_error(msg, &e);
        r = bus_lif_path(router, name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", path);
}

typedef struct RouteArgs {
        RouteSpec *routes;
        size_t *first_hop; /* per route, its first next hop in the pool */
        size_t n, cap;
        NexthopSpec *hops;
        size_t n_hops, cap_hops;
} RouteArgs;

static void route_args_done(RouteArgs *a)
{
        free(a->routes);
        free(a->first_hop);
        free(a->hops);
}

/* Reads "s a(ss)" into a; the strings point into msg. Next hops go into one pool, so a million routes are
 * two allocations rather than a million. */
static int read_route(sd_bus_message *msg, RouteArgs *a)
{
        const char *prefix, *gw, *lif;
        size_t first = a->n_hops;
        int r;

        r = sd_bus_message_read(msg, "s", &prefix);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(msg, "(ss)", &gw, &lif)) > 0) {
                if (a->n_hops - first >= DLR_NEXTHOPS_MAX)
                        return -E2BIG;
                if (ARRAY_GROW(a->hops, a->cap_hops, a->n_hops, 64) < 0)
                        return -ENOMEM;
                a->hops[a->n_hops++] = (NexthopSpec) { .gateway = gw, .lif = lif };
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 64;
                RouteSpec *v = realloc(a->routes, cap * sizeof(RouteSpec));
                if (!v)
                        return -ENOMEM;
                a->routes = v;
                size_t *f = realloc(a->first_hop, cap * sizeof(size_t));
                if (!f)
                        return -ENOMEM;
                a->first_hop = f;
                a->cap = cap;
        }
        /* The pool may still move: keep the index for now, turn it into a pointer at the end. */
        a->first_hop[a->n] = first;
        a->routes[a->n++] = (RouteSpec) { .prefix = prefix, .n_nexthops = a->n_hops - first };
        return 0;
}

static void route_args_fix(RouteArgs *a)
{
        for (size_t i = 0; i < a->n; i++)
                a->routes[i].nexthops = a->hops + a->first_hop[i];
}

static int route_read_error(sd_bus_message *msg, int r)
{
        if (r == -E2BIG)
                return sd_bus_reply_method_errorf(msg, "org.dlrd1.Error.InvalidArgument",
                        "too many next hops (at most %u)", DLR_NEXTHOPS_MAX);
        return r;
}

static int method_add_route(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(route_args_done) RouteArgs a = {};
        Manager *m = userdata;
        const char *router;
        DlrError e = {};
        int r;

        CHECK_PRIVILEGED(msg, error);
        r = sd_bus_message_read(msg, "s", &router);
        if (r < 0)
                return r;
        r = read_route(msg, &a);
        if (r < 0)
                return route_read_error(msg, r);
        route_args_fix(&a);
        if (manager_add_routes(m, router, a.routes, a.n, &e) < 0)
                return bus_reply_error(msg, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_add_routes(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(route_args_done) RouteArgs a = {};
        Manager *m = userdata;
        const char *router;
        DlrError e = {};
        int r;

        CHECK_PRIVILEGED(msg, error);
        r = sd_bus_message_read(msg, "s", &router);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "(sa(ss))");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'r', "sa(ss)")) > 0) {
                r = read_route(msg, &a);
                if (r < 0)
                        return route_read_error(msg, r);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        route_args_fix(&a);
        if (manager_add_routes(m, router, a.routes, a.n, &e) < 0)
                return bus_reply_error(msg, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

/* A read, open to everyone; only root sees the members' addresses whole (state/redact.h). */
static int method_export(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_free_ char *json = NULL;
        int r;

        r = manager_export(m, bus_sender_is_root(msg) <= 0, &json);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "s", json);
}

static int method_apply(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *json;
        uint64_t generation;
        DlrError e = {};
        int r;

        CHECK_PRIVILEGED(msg, error);
        r = sd_bus_message_read(msg, "s", &json);
        if (r < 0)
                return r;
        if (manager_apply(m, json, &generation, &e) < 0)
                return bus_reply_error(msg, &e);
        return sd_bus_reply_method_return(msg, "t", generation);
}

static int method_set_endpoint(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        char *addrs[DLR_ENDPOINT_ADDRESSES_MAX];
        const char *router, *lif, *mac, *host, *a;
        DlrError e = {};
        size_t n = 0;
        int r;

        CHECK_PRIVILEGED(msg, error);
        r = sd_bus_message_read(msg, "sss", &router, &lif, &mac);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(msg, "s", &a)) > 0) {
                if (n == DLR_ENDPOINT_ADDRESSES_MAX)
                        return sd_bus_reply_method_errorf(msg, "org.dlrd1.Error.InvalidArgument",
                                "too many endpoint addresses (at most %u)", DLR_ENDPOINT_ADDRESSES_MAX);
                addrs[n++] = (char *) a;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r >= 0)
                r = sd_bus_message_read(msg, "s", &host);
        if (r < 0)
                return r;
        if (manager_set_endpoint(m, router, lif, mac, addrs, n, host, &e) < 0)
                return bus_reply_error(msg, &e);
        return sd_bus_reply_method_return(msg, "");
}

/* Changing methods that take one to three strings and return nothing share one handler, which finds the
 * manager call by the method's name. */
typedef struct StringsMethod {
        const char *member;
        unsigned n; /* strings read */
        union {
                int (*one)(Manager *m, const char *a, DlrError *e);
                int (*two)(Manager *m, const char *a, const char *b, DlrError *e);
                int (*three)(Manager *m, const char *a, const char *b, const char *c, DlrError *e);
        } call;
} StringsMethod;

static const StringsMethod strings_methods[] = {
        { "DeleteRouter", 1, .call.one = manager_delete_router },
        { "DeleteLif", 2, .call.two = manager_delete_lif },
        { "DeleteRoute", 2, .call.two = manager_delete_route },
        { "DeleteEndpoint", 3, .call.three = manager_delete_endpoint },
        { "AttachPort", 3, .call.three = manager_attach_port },
        { "DetachPort", 1, .call.one = manager_detach_port },
        { "AddPeer", 3, .call.three = manager_add_peer },
        { "RemovePeer", 1, .call.one = manager_remove_peer },
        { "DeleteRule", 2, .call.two = manager_delete_rule },
        { "SetDefaultAction", 2, .call.two = manager_set_default_action },
};

/* AddPeer with the host's public key given up front, so that it is pinned before first contact. */
static int method_add_peer_with_key(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *host, *vtep, *address, *key;
        DlrError e = {};
        int r;

        CHECK_PRIVILEGED(msg, error);
        r = sd_bus_message_read(msg, "ssss", &host, &vtep, &address, &key);
        if (r < 0)
                return r;
        r = manager_add_peer_with_key(m, host, vtep, address, key, &e);
        if (r < 0)
                return bus_reply_error(msg, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_strings(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const StringsMethod *sm = NULL;
        const char *a = NULL, *b = NULL, *c = NULL, *member = sd_bus_message_get_member(msg);
        DlrError e = {};
        int r;

        for (size_t i = 0; member && i < ELEMENTSOF(strings_methods); i++)
                if (streq(strings_methods[i].member, member))
                        sm = &strings_methods[i];
        if (!sm)
                return -EINVAL; /* only listed members point here */
        CHECK_PRIVILEGED(msg, error);
        r = sm->n == 1 ? sd_bus_message_read(msg, "s", &a)
          : sm->n == 2 ? sd_bus_message_read(msg, "ss", &a, &b)
                       : sd_bus_message_read(msg, "sss", &a, &b, &c);
        if (r < 0)
                return r;
        r = sm->n == 1 ? sm->call.one(m, a, &e) : sm->n == 2 ? sm->call.two(m, a, b, &e) : sm->call.three(m, a, b, c, &e);
        if (r < 0)
                return bus_reply_error(msg, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

/* Property getters see only the reply; the call they answer (Get, GetAll) is the bus's current message.
 * Anything else (no call being dispatched) counts as not root. */
static bool current_caller_is_root(sd_bus *bus)
{
        sd_bus_message *call = sd_bus_get_current_message(bus);
        uint8_t type;

        return call && sd_bus_message_get_type(call, &type) >= 0 && type == SD_BUS_MESSAGE_METHOD_CALL &&
                bus_sender_is_root(call) > 0;
}

static int property_get(sd_bus *bus, const char *path, const char *iface, const char *property,
                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;

        if (streq(property, "HostId"))
                return sd_bus_message_append(reply, "s", m->host_id);
        if (streq(property, "Vtep"))
                return sd_bus_message_append(reply, "s", m->vtep);
        if (streq(property, "Uplink"))
                return sd_bus_message_append(reply, "s", m->uplink ? m->uplink : "");
        if (streq(property, "Generation"))
                return sd_bus_message_append(reply, "t", m->config->generation);
        if (streq(property, "Digest"))
                return sd_bus_message_append(reply, "s", manager_digest(m));
        if (streq(property, "Peers"))
                return peers_append_property(m->peers, !current_caller_is_root(bus), reply);
        if (streq(property, "PeerDigests"))
                return peers_append_digests(m->peers, reply);
        if (streq(property, "PublicKey"))
                return sd_bus_message_append(reply, "s", hostkey_public(m->hostkey));
        return -ENOENT;
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("HostId", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Vtep", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Uplink", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Generation", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Digest", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        /* Only invalidated: a signal carrying the value would show every listener root's view of it. */
        SD_BUS_PROPERTY("Peers", "a(ssb)", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("PeerDigests", "a(ss)", property_get, 0, 0),
        SD_BUS_PROPERTY("PublicKey", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_NAMES("CreateRouter", "su", SD_BUS_PARAM(name) SD_BUS_PARAM(table), "o",
                SD_BUS_PARAM(router), method_create_router, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DeleteRouter", "s", SD_BUS_PARAM(name), "", , method_strings,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CreateLif", "sssuasu",
                SD_BUS_PARAM(router) SD_BUS_PARAM(name) SD_BUS_PARAM(kind) SD_BUS_PARAM(segment)
                        SD_BUS_PARAM(addresses) SD_BUS_PARAM(mtu),
                "o", SD_BUS_PARAM(lif), method_create_lif, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DeleteLif", "ss", SD_BUS_PARAM(router) SD_BUS_PARAM(name), "", ,
                method_strings, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AddRoute", "ssa(ss)",
                SD_BUS_PARAM(router) SD_BUS_PARAM(prefix) SD_BUS_PARAM(nexthops), "", , method_add_route,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DeleteRoute", "ss", SD_BUS_PARAM(router) SD_BUS_PARAM(prefix), "", ,
                method_strings, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AddRoutes", "sa(sa(ss))", SD_BUS_PARAM(router) SD_BUS_PARAM(routes), "", ,
                method_add_routes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetEndpoint", "sssass",
                SD_BUS_PARAM(router) SD_BUS_PARAM(lif) SD_BUS_PARAM(mac) SD_BUS_PARAM(addresses) SD_BUS_PARAM(host), "",
                , method_set_endpoint, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DeleteEndpoint", "sss", SD_BUS_PARAM(router) SD_BUS_PARAM(lif) SD_BUS_PARAM(mac), "",
                , method_strings, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AttachPort", "sss", SD_BUS_PARAM(router) SD_BUS_PARAM(lif) SD_BUS_PARAM(ifname), "",
                , method_strings, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DetachPort", "s", SD_BUS_PARAM(ifname), "", , method_strings,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AddPeer", "sss", SD_BUS_PARAM(host) SD_BUS_PARAM(vtep) SD_BUS_PARAM(bus_address), "",
                , method_strings, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AddPeerWithKey", "ssss",
                SD_BUS_PARAM(host) SD_BUS_PARAM(vtep) SD_BUS_PARAM(bus_address) SD_BUS_PARAM(public_key), "", ,
                method_add_peer_with_key, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RemovePeer", "s", SD_BUS_PARAM(host), "", , method_strings,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AddRule", "ssa{sv}", SD_BUS_PARAM(router) SD_BUS_PARAM(name) SD_BUS_PARAM(rule),
                "", , method_add_rule, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DeleteRule", "ss", SD_BUS_PARAM(router) SD_BUS_PARAM(name), "", , method_strings,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetDefaultAction", "ss", SD_BUS_PARAM(router) SD_BUS_PARAM(action), "", ,
                method_strings, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RuleCounters", "s", SD_BUS_PARAM(router), "a(stt)",
                SD_BUS_PARAM(counters), method_rule_counters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Export", "", , "s", SD_BUS_PARAM(json), method_export,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Apply", "s", SD_BUS_PARAM(json), "t", SD_BUS_PARAM(generation), method_apply,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_open(Manager *m)
{
        int r;

        if (m->bus_address) {
                r = sd_bus_new(&m->bus);
                if (r >= 0)
                        r = sd_bus_set_address(m->bus, m->bus_address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(m->bus, true);
                if (r >= 0)
                        r = sd_bus_start(m->bus);
        } else
                r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Connecting to the bus %s: %m", m->bus_address ? m->bus_address : "(system)");

        r = sd_bus_add_object_vtable(m->bus, NULL, DLRD_OBJECT_PATH, "org.dlrd1.Manager", manager_vtable, m);
        if (r >= 0)
                r = sd_bus_add_object_manager(m->bus, NULL, DLRD_OBJECT_PATH);
        if (r >= 0)
                r = bus_register_objects(m);
        if (r >= 0)
                r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Registering bus objects: %m");
        return 0;
}

int bus_request_name(Manager *m)
{
        int r = sd_bus_request_name(m->bus, DLRD_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Acquiring bus name %s: %m", DLRD_BUS_NAME);
        return 0;
}

/* Digest is only invalidated: hashing a configuration of a million routes on every change would cost more
 * than the change. */
void bus_emit_manager_changed(Manager *m)
{
        if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, DLRD_OBJECT_PATH, "org.dlrd1.Manager", "Generation",
                        "Digest", NULL);
}
