/* dlrctl's changing commands: one org.dlrd1.Manager method each. Arguments are parsed completely before the
 * first call, so a usage error sends nothing; the checks that need the configuration are dlrd's. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "parse.h"

/* A number argument: a usage error unless it is a plain unsigned 32-bit decimal. */
static int number_arg(const Ctl *c, const char *what, const char *s, uint32_t *ret)
{
        int r = parse_u32(s, ret);
        if (r == -ERANGE)
                return ctl_usage_error(c, "%s \"%s\" is too large (at most %" PRIu32 ")", what, s,
                        UINT32_MAX);
        if (r < 0)
                return ctl_usage_error(c, "%s \"%s\" is not a number", what, s);
        return 0;
}

int verb_router_create(Ctl *c, char **args, unsigned n)
{
        uint32_t table = 0;

        if (n > 1) {
                int r = number_arg(c, "table", args[1], &table);
                if (r < 0)
                        return r;
        }
        return ctl_call_manager(c, "CreateRouter", NULL, "su", args[0], table);
}

int verb_router_delete(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "DeleteRouter", NULL, "s", args[0]);
}

int verb_lif_create(Ctl *c, char **args, unsigned n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint32_t segment, mtu = 0;
        int r;

        if (!streq(args[2], "vxlan") && !streq(args[2], "vlan"))
                return ctl_usage_error(c, "LIF kind \"%s\" is neither \"vxlan\" nor \"vlan\"", args[2]);
        r = number_arg(c, streq(args[2], "vxlan") ? "VNI" : "VLAN id", args[3], &segment);
        if (r < 0)
                return r;
        if (c->mtu) {
                r = number_arg(c, "MTU", c->mtu, &mtu);
                if (r < 0)
                        return r;
        }

        r = ctl_new_call(c, CTL_MANAGER_IFACE, "CreateLif", &m);
        if (r < 0)
                return r;
        /* args is the tail of argv, so the addresses are a NULL-terminated list already. */
        r = sd_bus_message_append(m, "sssu", args[0], args[1], args[2], segment);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, args + 4);
        if (r >= 0)
                r = sd_bus_message_append(m, "u", mtu);
        if (r < 0)
                return ctl_build_error(r);
        return ctl_call(c, m, NULL);
}

int verb_lif_delete(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "DeleteLif", NULL, "ss", args[0], args[1]);
}

int verb_route_add(Ctl *c, char **args, unsigned n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(route_list_done) RouteList l = {};
        char err[256];
        int r;

        r = route_list_add(&l, args[1], args + 2, n - 2, err, sizeof err);
        if (r == -EINVAL)
                return ctl_usage_error(c, "%s", err);
        if (r < 0)
                return ctl_log_errno(r, "out of memory");

        r = ctl_new_call(c, CTL_MANAGER_IFACE, "AddRoute", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", args[0], args[1]);
        if (r >= 0)
                r = route_list_append_nexthops(&l, 0, m);
        if (r < 0)
                return ctl_build_error(r);
        return ctl_call(c, m, NULL);
}

int verb_route_delete(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "DeleteRoute", NULL, "ss", args[0], args[1]);
}

static void words_freep(char ***p)
{
        free(*p);
}

/* Parses the lines of buf (modified in place) into l. Blank lines and lines starting with '#' are
 * skipped. */
static int parse_route_lines(const char *name, char *buf, RouteList *l)
{
        _cleanup_(words_freep) char **words = NULL;
        size_t cap = 0, line_no = 0;
        char *line, *next, err[256];
        int r;

        for (line = buf; line; line = next) {
                char *save = NULL, *w;
                size_t n = 0;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                line_no++;
                for (w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
                        if (n == 0 && w[0] == '#')
                                break;
                        if (n + 1 >= cap) {
                                size_t ncap = cap ? cap * 2 : 16;
                                char **v = realloc(words, ncap * sizeof(char *));
                                if (!v)
                                        return ctl_log_errno(-ENOMEM, "out of memory");
                                words = v;
                                cap = ncap;
                        }
                        words[n++] = w;
                }
                if (n == 0)
                        continue;
                r = route_list_add(l, words[0], words + 1, n - 1, err, sizeof err);
                if (r == -EINVAL)
                        return ctl_log_errno(r, "%s:%zu: %s", name, line_no, err);
                if (r < 0)
                        return ctl_log_errno(r, "out of memory");
        }
        return 0;
}

int verb_route_load(Ctl *c, char **args, unsigned n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(route_list_done) RouteList l = {};
        _cleanup_free_ char *buf = NULL;
        const char *name = streq(args[1], "-") ? "(stdin)" : args[1];
        size_t size;
        int r;

        r = ctl_read_file(args[1], &buf, &size);
        if (r < 0)
                return r;
        if (strlen(buf) != size)
                return ctl_log_errno(-EINVAL, "%s: contains a NUL byte", name);
        r = parse_route_lines(name, buf, &l);
        if (r < 0)
                return r;
        if (l.n == 0)
                return 0; /* nothing to add; an empty call would still count as a change */

        r = ctl_new_call(c, CTL_MANAGER_IFACE, "AddRoutes", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", args[0]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sa(ss))");
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                r = sd_bus_message_open_container(m, 'r', "sa(ss)");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", l.routes[i].prefix);
                if (r >= 0)
                        r = route_list_append_nexthops(&l, i, m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r == -EINVAL)
                return ctl_log_errno(r, "%s: a word is not valid UTF-8", name);
        if (r < 0)
                return ctl_build_error(r);
        return ctl_call(c, m, NULL);
}

int verb_endpoint_set(Ctl *c, char **args, unsigned n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = ctl_new_call(c, CTL_MANAGER_IFACE, "SetEndpoint", &m);
        if (r < 0)
                return r;
        /* The command line reads ROUTER LIF MAC HOST ADDRESS...; the method takes the addresses before
         * the host. */
        r = sd_bus_message_append(m, "sss", args[0], args[1], args[2]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, args + 4);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", args[3]);
        if (r < 0)
                return ctl_build_error(r);
        return ctl_call(c, m, NULL);
}

int verb_endpoint_delete(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "DeleteEndpoint", NULL, "sss", args[0], args[1], args[2]);
}

int verb_port_attach(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "AttachPort", NULL, "sss", args[0], args[1], args[2]);
}

int verb_port_detach(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "DetachPort", NULL, "s", args[0]);
}

int verb_peer_add(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "AddPeer", NULL, "sss", args[0], args[1], args[2]);
}

int verb_peer_remove(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "RemovePeer", NULL, "s", args[0]);
}

int verb_rule_add(Ctl *c, char **args, unsigned n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(rule_spec_done) RuleSpec rule = {};
        char err[256];
        int r;

        r = rule_spec_parse(&rule, args + 2, n - 2, err, sizeof err);
        if (r == -EINVAL)
                return ctl_usage_error(c, "%s", err);
        if (r < 0)
                return ctl_log_errno(r, "out of memory");

        r = ctl_new_call(c, CTL_MANAGER_IFACE, "AddRule", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", args[0], args[1]);
        if (r >= 0)
                r = rule_spec_append(&rule, m);
        if (r < 0)
                return ctl_build_error(r);
        return ctl_call(c, m, NULL);
}

int verb_rule_delete(Ctl *c, char **args, unsigned n)
{
        return ctl_call_manager(c, "DeleteRule", NULL, "ss", args[0], args[1]);
}

int verb_default_action(Ctl *c, char **args, unsigned n)
{
        if (!streq(args[1], "allow") && !streq(args[1], "drop") && !streq(args[1], "reject"))
                return ctl_usage_error(c, "action \"%s\" is none of allow, drop, reject", args[1]);
        return ctl_call_manager(c, "SetDefaultAction", NULL, "ss", args[0], args[1]);
}

int verb_apply(Ctl *c, char **args, unsigned n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *json = NULL;
        const char *name = streq(args[0], "-") ? "(stdin)" : args[0];
        uint64_t generation;
        size_t size;
        int r;

        r = ctl_read_file(args[0], &json, &size);
        if (r < 0)
                return r;
        if (strlen(json) != size)
                return ctl_log_errno(-EINVAL, "%s: contains a NUL byte", name);

        r = ctl_new_call(c, CTL_MANAGER_IFACE, "Apply", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", json);
        if (r == -EINVAL)
                return ctl_log_errno(r, "%s: not valid UTF-8 text", name);
        if (r < 0)
                return ctl_build_error(r);
        r = ctl_call(c, m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "t", &generation);
        if (r < 0)
                return ctl_log_errno(r, "cannot read the reply of Apply: %s", strerror(-r));
        printf("%" PRIu64 "\n", generation);
        return 0;
}
