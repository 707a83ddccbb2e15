/* dlrctl's reading commands. Each builds its rows as a JSON array of objects, which --json prints as it is
 * and which is otherwise shown as a table. Routers and LIFs come from the ObjectManager (a router's route
 * count without transferring its routes; the effective MTU), routes and endpoints from Export(). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "parse.h"
#include "table.h"

typedef struct Column {
        const char *header;
        const char *key;
        /* Formats the member for the table (malloc'ed); NULL: strings as they are, numbers in decimal,
         * booleans as yes/no, arrays as their items joined by spaces. */
        char *(*format)(json_object *value);
        const char *absent; /* shown when the member is missing or null; NULL: empty */
} Column;

static char *format_value(json_object *v)
{
        size_t size = 1, len = 0;
        char *s;

        switch (json_object_get_type(v)) {
        case json_type_null: return strdup("");
        case json_type_boolean: return strdup(json_object_get_boolean(v) ? "yes" : "no");
        case json_type_array: break;
        default: return strdup(json_object_get_string(v));
        }
        for (size_t i = 0; i < json_object_array_length(v); i++)
                size += strlen(json_object_get_string(json_object_array_get_idx(v, i))) + 1;
        s = malloc(size);
        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                const char *item = json_object_get_string(json_object_array_get_idx(v, i));
                size_t k = strlen(item);

                if (i > 0)
                        s[len++] = ' ';
                memcpy(s + len, item, k + 1);
                len += k;
        }
        return s;
}

/* The route syntax of "route add", so that "route list --no-legend" output can be fed to "route load". */
static char *format_nexthops(json_object *v)
{
        size_t n = json_object_array_length(v);
        _cleanup_free_ Nexthop *hops = calloc(n ? n : 1, sizeof(Nexthop));

        if (!hops)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *h = json_object_array_get_idx(v, i);
                hops[i] = (Nexthop) { .gateway = json_str(h, "gateway"), .lif = json_str(h, "lif") };
        }
        return nexthops_format(hops, n);
}

static int print_rows(const Ctl *c, json_object *rows, const Column *columns, size_t n_columns)
{
        _cleanup_(table_freep) Table *t = NULL;
        const char *headers[10];

        if (c->json) {
                ctl_print_json(rows);
                return 0;
        }
        assert(n_columns <= ELEMENTSOF(headers));
        for (size_t j = 0; j < n_columns; j++)
                headers[j] = columns[j].header;
        t = table_new(n_columns, headers);
        if (!t)
                return ctl_log_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < json_object_array_length(rows); i++) {
                json_object *row = json_object_array_get_idx(rows, i);
                char *cells[10] = {};
                int r = 0;

                for (size_t j = 0; j < n_columns; j++) {
                        json_object *v = NULL;

                        (void) json_object_object_get_ex(row, columns[j].key, &v);
                        cells[j] = columns[j].format && v ? columns[j].format(v)
                                 : !v && columns[j].absent ? strdup(columns[j].absent)
                                                           : format_value(v);
                        if (!cells[j])
                                r = -ENOMEM;
                }
                if (r >= 0)
                        r = table_add(t, (const char *const *) cells);
                for (size_t j = 0; j < n_columns; j++)
                        free(cells[j]);
                if (r < 0)
                        return ctl_log_errno(r, "out of memory");
        }
        table_print(t, c->legend, stdout);
        return 0;
}

static int add_member(json_object *o, const char *key, json_object *v)
{
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* A copy of a member of src (null when absent), added to dst under key. */
static int copy_member(json_object *dst, const char *key, json_object *src, const char *src_key)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(src, src_key, &v) || !v)
                return json_object_object_add(dst, key, NULL) < 0 ? -ENOMEM : 0;
        return add_member(dst, key, json_object_get(v));
}

static int rows_add(json_object *rows, json_object *row)
{
        if (json_object_array_add(rows, row) < 0) {
                json_object_put(row);
                return -ENOMEM;
        }
        return 0;
}

static int compare_rows(const void *a, const void *b)
{
        json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b;
        int d = strcmp(json_str(x, "router"), json_str(y, "router"));
        return d != 0 ? d : strcmp(json_str(x, "name"), json_str(y, "name"));
}

static int compare_hosts(const void *a, const void *b)
{
        json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b;
        return strcmp(json_str(x, "host"), json_str(y, "host"));
}

static int router_not_found(const char *name)
{
        return ctl_log_errno(-ENOENT, "router \"%s\" not found", name);
}

/* The property sets of the objects implementing iface, in no particular order (borrowed from objects). */
static int objects_with(json_object *objects, const char *iface, json_object **ret)
{
        _cleanup_(json_object_putp) json_object *v = json_object_new_array();

        if (!v)
                return -ENOMEM;
        json_object_object_foreach(objects, path, ifaces)
        {
                json_object *props;

                (void) path;
                if (json_object_object_get_ex(ifaces, iface, &props) &&
                                json_object_array_add(v, json_object_get(props)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

int verb_router_list(Ctl *c, char **args, unsigned n)
{
        static const Column columns[] = {
                { "NAME", "name", NULL, NULL },
                { "TABLE", "table", NULL, NULL },
                { "LIFS", "lifs", NULL, NULL },
                { "ROUTES", "routes", NULL, NULL },
        };
        _cleanup_(json_object_putp) json_object *objects = NULL, *routers = NULL, *lifs = NULL, *rows = NULL;
        int r;

        r = ctl_managed_objects(c, &objects);
        if (r < 0)
                return r;
        rows = json_object_new_array();
        if (!rows || objects_with(objects, CTL_ROUTER_IFACE, &routers) < 0 ||
                        objects_with(objects, CTL_LIF_IFACE, &lifs) < 0)
                return ctl_log_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < json_object_array_length(routers); i++) {
                json_object *p = json_object_array_get_idx(routers, i), *row = json_object_new_object();
                const char *name = json_str(p, "Name");
                uint64_t n_lifs = 0;

                for (size_t j = 0; j < json_object_array_length(lifs); j++)
                        n_lifs += streq(json_str(json_object_array_get_idx(lifs, j), "Router"), name);
                r = !row ? -ENOMEM : 0;
                if (r >= 0)
                        r = copy_member(row, "name", p, "Name");
                if (r >= 0)
                        r = copy_member(row, "table", p, "Table");
                if (r >= 0)
                        r = add_member(row, "lifs", json_object_new_uint64(n_lifs));
                if (r >= 0)
                        r = copy_member(row, "routes", p, "Routes");
                if (r < 0) {
                        json_object_put(row);
                        return ctl_log_errno(r, "out of memory");
                }
                if (rows_add(rows, row) < 0)
                        return ctl_log_errno(-ENOMEM, "out of memory");
        }
        json_object_array_sort(rows, compare_rows);
        return print_rows(c, rows, columns, ELEMENTSOF(columns));
}

int verb_lif_list(Ctl *c, char **args, unsigned n)
{
        static const Column columns[] = {
                { "ROUTER", "router", NULL, NULL }, { "NAME", "name", NULL, NULL }, { "KIND", "kind", NULL, NULL },
                { "SEGMENT", "segment", NULL, NULL }, { "MTU", "mtu", NULL, NULL }, { "MAC", "mac", NULL, NULL },
                { "ADDRESSES", "addresses", NULL, NULL },
        };
        static const char *const members[][2] = {
                { "router", "Router" }, { "name", "Name" }, { "kind", "Kind" }, { "segment", "Segment" },
                { "mtu", "Mtu" }, { "mac", "Mac" }, { "addresses", "Addresses" },
        };
        _cleanup_(json_object_putp) json_object *objects = NULL, *routers = NULL, *lifs = NULL, *rows = NULL;
        const char *router = n > 0 ? args[0] : NULL;
        bool found = !router;
        int r;

        r = ctl_managed_objects(c, &objects);
        if (r < 0)
                return r;
        rows = json_object_new_array();
        if (!rows || objects_with(objects, CTL_ROUTER_IFACE, &routers) < 0 ||
                        objects_with(objects, CTL_LIF_IFACE, &lifs) < 0)
                return ctl_log_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; router && i < json_object_array_length(routers); i++)
                found = found || streq(json_str(json_object_array_get_idx(routers, i), "Name"), router);
        if (!found)
                return router_not_found(router);

        for (size_t i = 0; i < json_object_array_length(lifs); i++) {
                json_object *p = json_object_array_get_idx(lifs, i), *row;

                if (router && !streq(json_str(p, "Router"), router))
                        continue;
                row = json_object_new_object();
                r = row ? 0 : -ENOMEM;
                for (size_t j = 0; r >= 0 && j < ELEMENTSOF(members); j++)
                        r = copy_member(row, members[j][0], p, members[j][1]);
                if (r < 0) {
                        json_object_put(row);
                        return ctl_log_errno(r, "out of memory");
                }
                if (rows_add(rows, row) < 0)
                        return ctl_log_errno(-ENOMEM, "out of memory");
        }
        json_object_array_sort(rows, compare_rows);
        return print_rows(c, rows, columns, ELEMENTSOF(columns));
}

int verb_route_list(Ctl *c, char **args, unsigned n)
{
        static const Column columns[] = {
                { "PREFIX", "prefix", NULL, NULL },
                { "NEXTHOPS", "nexthops", format_nexthops, NULL },
        };
        _cleanup_(json_object_putp) json_object *config = NULL, *rows = NULL;
        json_object *routers, *routes = NULL;
        int r;

        r = ctl_export(c, &config);
        if (r < 0)
                return r;
        routers = json_array(config, "routers");
        for (size_t i = 0; routers && i < json_object_array_length(routers); i++) {
                json_object *rt = json_object_array_get_idx(routers, i);
                if (streq(json_str(rt, "name"), args[0])) {
                        routes = json_array(rt, "routes");
                        if (!routes)
                                return ctl_log_errno(-EBADMSG, "Export: router \"%s\" has no routes list",
                                        args[0]);
                        break;
                }
        }
        if (!routes)
                return router_not_found(args[0]);

        rows = json_object_new_array();
        if (!rows)
                return ctl_log_errno(-ENOMEM, "out of memory");
        /* Export's routes are sorted by prefix already. */
        for (size_t i = 0; i < json_object_array_length(routes); i++) {
                json_object *route = json_object_array_get_idx(routes, i), *row = json_object_new_object();
                json_object *hops = json_array(route, "nexthops"), *out = json_object_new_array();

                r = row && out ? 0 : -ENOMEM;
                for (size_t j = 0; r >= 0 && hops && j < json_object_array_length(hops); j++) {
                        json_object *h = json_object_array_get_idx(hops, j), *o = json_object_new_object();

                        r = o ? 0 : -ENOMEM;
                        if (r >= 0)
                                r = add_member(o, "gateway", json_object_new_string(json_str(h, "gateway")));
                        if (r >= 0)
                                r = add_member(o, "lif", json_object_new_string(json_str(h, "lif")));
                        if (r >= 0)
                                r = rows_add(out, o);
                        else
                                json_object_put(o);
                }
                if (r >= 0)
                        r = copy_member(row, "prefix", route, "prefix");
                if (r >= 0)
                        r = add_member(row, "nexthops", TAKE_PTR(out));
                if (r >= 0)
                        r = rows_add(rows, TAKE_PTR(row));
                json_object_put(out);
                json_object_put(row);
                if (r < 0)
                        return ctl_log_errno(r, "out of memory");
        }
        return print_rows(c, rows, columns, ELEMENTSOF(columns));
}

int verb_endpoint_list(Ctl *c, char **args, unsigned n)
{
        static const Column columns[] = {
                { "ROUTER", "router", NULL, NULL }, { "LIF", "lif", NULL, NULL }, { "MAC", "mac", NULL, NULL },
                { "HOST", "host", NULL, NULL }, { "ADDRESSES", "addresses", NULL, NULL },
        };
        _cleanup_(json_object_putp) json_object *config = NULL, *rows = NULL;
        const char *router = n > 0 ? args[0] : NULL;
        json_object *routers;
        bool found = !router;
        int r;

        r = ctl_export(c, &config);
        if (r < 0)
                return r;
        rows = json_object_new_array();
        if (!rows)
                return ctl_log_errno(-ENOMEM, "out of memory");
        routers = json_array(config, "routers");
        for (size_t i = 0; routers && i < json_object_array_length(routers); i++) {
                json_object *rt = json_object_array_get_idx(routers, i);
                json_object *endpoints = json_array(rt, "endpoints");

                if (router && !streq(json_str(rt, "name"), router))
                        continue;
                found = true;
                /* Endpoints come with mirroring; a dlrd without them exports none. */
                for (size_t j = 0; endpoints && j < json_object_array_length(endpoints); j++) {
                        json_object *e = json_object_array_get_idx(endpoints, j);
                        json_object *row = json_object_new_object();

                        r = row ? 0 : -ENOMEM;
                        if (r >= 0)
                                r = add_member(row, "router", json_object_new_string(json_str(rt, "name")));
                        if (r >= 0)
                                r = copy_member(row, "lif", e, "lif");
                        if (r >= 0)
                                r = copy_member(row, "mac", e, "mac");
                        if (r >= 0)
                                r = copy_member(row, "host", e, "host");
                        if (r >= 0)
                                r = copy_member(row, "addresses", e, "addresses");
                        if (r >= 0)
                                r = rows_add(rows, TAKE_PTR(row));
                        json_object_put(row);
                        if (r < 0)
                                return ctl_log_errno(r, "out of memory");
                }
        }
        if (!found)
                return router_not_found(router);
        return print_rows(c, rows, columns, ELEMENTSOF(columns));
}

/* Peers is a(ssb): host, bus address, connected. */
static int peers_to_rows(json_object *peers, json_object **ret, uint64_t *ret_connected)
{
        _cleanup_(json_object_putp) json_object *rows = json_object_new_array();
        size_t n = json_object_is_type(peers, json_type_array) ? json_object_array_length(peers) : 0;
        uint64_t connected = 0;

        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *p = json_object_array_get_idx(peers, i), *row;
                bool up;
                int r;

                if (!json_object_is_type(p, json_type_array) || json_object_array_length(p) != 3)
                        return -EBADMSG;
                up = json_object_get_boolean(json_object_array_get_idx(p, 2));
                connected += up;
                row = json_object_new_object();
                r = row ? 0 : -ENOMEM;
                if (r >= 0)
                        r = add_member(row, "host", json_object_get(json_object_array_get_idx(p, 0)));
                if (r >= 0)
                        r = add_member(row, "address", json_object_get(json_object_array_get_idx(p, 1)));
                if (r >= 0)
                        r = add_member(row, "connected", json_object_new_boolean(up));
                if (r >= 0)
                        r = rows_add(rows, TAKE_PTR(row));
                json_object_put(row);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(rows);
        if (ret_connected)
                *ret_connected = connected;
        return 0;
}

/* Adds each peer's last reported Digest (PeerDigests, a(ss)) and whether it equals ours. */
static int add_digests(json_object *rows, json_object *digests, const char *mine)
{
        size_t n = json_object_is_type(digests, json_type_array) ? json_object_array_length(digests) : 0;

        for (size_t i = 0; i < json_object_array_length(rows); i++) {
                json_object *row = json_object_array_get_idx(rows, i), *h;
                const char *d = "";
                if (!json_object_object_get_ex(row, "host", &h))
                        continue;
                for (size_t j = 0; j < n; j++) {
                        json_object *p = json_object_array_get_idx(digests, j);
                        if (json_object_is_type(p, json_type_array) && json_object_array_length(p) == 2 &&
                                        streq(json_object_get_string(json_object_array_get_idx(p, 0)),
                                                json_object_get_string(h)))
                                d = json_object_get_string(json_object_array_get_idx(p, 1));
                }
                int r = add_member(row, "digest", json_object_new_string(d));
                if (r >= 0)
                        r = add_member(row, "in_sync", json_object_new_boolean(d[0] && mine && streq(d, mine)));
                if (r < 0)
                        return r;
        }
        return 0;
}

int verb_peer_list(Ctl *c, char **args, unsigned n)
{
        static const Column columns[] = {
                { "HOST", "host", NULL, NULL },
                { "ADDRESS", "address", NULL, NULL },
                { "CONNECTED", "connected", NULL, NULL },
                { "DIGEST", "digest", NULL, NULL },
                { "IN-SYNC", "in_sync", NULL, NULL },
        };
        _cleanup_(json_object_putp) json_object *props = NULL, *rows = NULL;
        json_object *peers = NULL, *digests = NULL, *mine = NULL;
        int r;

        r = ctl_manager_properties(c, NULL, &props);
        if (r < 0)
                return r;
        (void) json_object_object_get_ex(props, "Peers", &peers);
        (void) json_object_object_get_ex(props, "PeerDigests", &digests);
        (void) json_object_object_get_ex(props, "Digest", &mine);
        r = peers_to_rows(peers, &rows, NULL);
        if (r >= 0)
                r = add_digests(rows, digests, mine ? json_object_get_string(mine) : NULL);
        if (r < 0)
                return ctl_log_errno(r, "cannot read the Peers property: %s", strerror(-r));
        json_object_array_sort(rows, compare_hosts);
        return print_rows(c, rows, columns, ELEMENTSOF(columns));
}

int verb_status(Ctl *c, char **args, unsigned n)
{
        _cleanup_(json_object_putp) json_object *props = NULL, *peers = NULL, *out = NULL;
        json_object *v = NULL;
        uint64_t connected = 0;
        int r;

        r = ctl_manager_properties(c, NULL, &props);
        if (r < 0)
                return r;
        (void) json_object_object_get_ex(props, "Peers", &v);
        r = peers_to_rows(v, &peers, &connected);
        if (r < 0)
                return ctl_log_errno(r, "cannot read the Peers property: %s", strerror(-r));

        out = json_object_new_object();
        r = out ? 0 : -ENOMEM;
        if (r >= 0)
                r = copy_member(out, "host_id", props, "HostId");
        if (r >= 0)
                r = copy_member(out, "vtep", props, "Vtep");
        if (r >= 0)
                r = copy_member(out, "generation", props, "Generation");
        if (r >= 0)
                r = copy_member(out, "digest", props, "Digest");
        if (r >= 0)
                r = add_member(out, "peers", json_object_new_uint64(json_object_array_length(peers)));
        if (r >= 0)
                r = add_member(out, "peers_connected", json_object_new_uint64(connected));
        if (r < 0)
                return ctl_log_errno(r, "out of memory");
        if (c->json) {
                ctl_print_json(out);
                return 0;
        }
        printf("Host ID:     %s\n"
               "VTEP:        %s\n"
               "Generation:  %" PRIu64 "\n"
               "Digest:      %s\n"
               "Peers:       %" PRIu64 " connected of %zu\n",
                json_str(props, "HostId"), json_str(props, "Vtep"), json_u64(props, "Generation"),
                json_str(props, "Digest"), connected, json_object_array_length(peers));
        return 0;
}

int verb_export(Ctl *c, char **args, unsigned n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *json;
        int r;

        r = ctl_call_manager(c, "Export", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return ctl_log_errno(r, "cannot read the reply of Export: %s", strerror(-r));
        /* As dlrd wrote it: this is what "apply" takes back. */
        fputs(json, stdout);
        if (!*json || json[strlen(json) - 1] != '\n')
                putchar('\n');
        return 0;
}

/* RuleCounters is a(stt): rule name ("" for the default action), packets, bytes. */
static int read_counters(Ctl *c, const char *router, json_object **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const char *name;
        uint64_t packets, bytes;
        int r;

        if (!o)
                return ctl_log_errno(-ENOMEM, "out of memory");
        r = ctl_call_manager(c, "RuleCounters", &reply, "s", router);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(stt)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(stt)", &name, &packets, &bytes)) > 0) {
                json_object *pair = json_object_new_array();
                r = pair ? 0 : -ENOMEM;
                if (r >= 0 && (json_object_array_add(pair, json_object_new_uint64(packets)) < 0 ||
                                    json_object_array_add(pair, json_object_new_uint64(bytes)) < 0))
                        r = -ENOMEM;
                if (r >= 0)
                        r = add_member(o, name, TAKE_PTR(pair));
                json_object_put(pair);
        }
        if (r < 0)
                return ctl_log_errno(r, "reading the counters: %s", strerror(-r));
        *ret = TAKE_PTR(o);
        return 0;
}

static int add_counters(json_object *row, json_object *counters, const char *name)
{
        json_object *pair = NULL;
        uint64_t packets = 0, bytes = 0;

        if (json_object_object_get_ex(counters, name, &pair)) {
                packets = json_object_get_uint64(json_object_array_get_idx(pair, 0));
                bytes = json_object_get_uint64(json_object_array_get_idx(pair, 1));
        }
        int r = add_member(row, "packets", json_object_new_uint64(packets));
        return r < 0 ? r : add_member(row, "bytes", json_object_new_uint64(bytes));
}

int verb_rule_list(Ctl *c, char **args, unsigned n)
{
        static const Column columns[] = {
                { "PRIORITY", "priority", NULL, NULL }, { "NAME", "name", NULL, NULL },
                { "ACTION", "action", NULL, NULL }, { "PROTOCOL", "protocol", NULL, "any" },
                { "SOURCE", "source", NULL, "any" }, { "DESTINATION", "destination", NULL, "any" },
                { "PORTS", "ports", NULL, "any" }, { "PACKETS", "packets", NULL, NULL },
                { "BYTES", "bytes", NULL, NULL },
        };
        _cleanup_(json_object_putp) json_object *config = NULL, *rows = NULL, *counters = NULL;
        json_object *routers, *rt = NULL;
        const char *router = args[0];
        int r;

        r = ctl_export(c, &config);
        if (r < 0)
                return r;
        routers = json_array(config, "routers");
        for (size_t i = 0; routers && i < json_object_array_length(routers); i++)
                if (streq(json_str(json_object_array_get_idx(routers, i), "name"), router))
                        rt = json_object_array_get_idx(routers, i);
        if (!rt)
                return router_not_found(router);
        r = read_counters(c, router, &counters);
        if (r < 0)
                return r;
        rows = json_object_new_array();
        if (!rows)
                return ctl_log_errno(-ENOMEM, "out of memory");
        json_object *rules = json_array(rt, "rules");
        for (size_t j = 0; rules && j < json_object_array_length(rules); j++) {
                static const char *const keys[] = { "priority", "name", "action", "protocol", "source",
                        "destination", "ports" };
                json_object *rule = json_object_array_get_idx(rules, j);
                json_object *row = json_object_new_object();

                r = row ? 0 : -ENOMEM;
                for (size_t k = 0; r >= 0 && k < ELEMENTSOF(keys); k++)
                        r = copy_member(row, keys[k], rule, keys[k]);
                if (r >= 0)
                        r = add_counters(row, counters, json_str(rule, "name"));
                if (r >= 0)
                        r = rows_add(rows, TAKE_PTR(row));
                json_object_put(row);
                if (r < 0)
                        return ctl_log_errno(r, "out of memory");
        }
        /* The default action, last: what happens when no rule matched. */
        const char *def = json_str(rt, "default_action");
        json_object *row = json_object_new_object();
        r = row ? 0 : -ENOMEM;
        if (r >= 0)
                r = add_member(row, "priority", json_object_new_string("-"));
        if (r >= 0)
                r = add_member(row, "name", json_object_new_string("(default)"));
        if (r >= 0)
                r = add_member(row, "action", json_object_new_string(def[0] ? def : "allow"));
        if (r >= 0)
                r = add_counters(row, counters, "");
        if (r >= 0)
                r = rows_add(rows, TAKE_PTR(row));
        json_object_put(row);
        if (r < 0)
                return ctl_log_errno(r, "out of memory");
        return print_rows(c, rows, columns, ELEMENTSOF(columns));
}
