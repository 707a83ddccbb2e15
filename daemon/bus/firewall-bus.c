/* The firewall's methods of org.dlrd1.Manager: AddRule's a{sv} decoding and RuleCounters. DeleteRule and
 * SetDefaultAction are plain string methods (manager-bus.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "shared/cleanup.h"

static const char *const rule_keys = "priority, source, destination, protocol, ports, action";

/* Reads one "as" value of a{sv} (entered variant) into a list of at most DLR_RULE_ADDRESSES_MAX strings
 * pointing into the message. */
static int read_list(sd_bus_message *msg, const char *key, char ***ret, size_t *ret_n, sd_bus_error *error)
{
        _cleanup_free_ char **v = NULL;
        const char *s;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(msg, "s", &s)) > 0) {
                if (n == DLR_RULE_ADDRESSES_MAX)
                        return sd_bus_error_setf(error, "org.dlrd1.Error.InvalidArgument",
                                "rule key %s: at most %u entries", key, DLR_RULE_ADDRESSES_MAX);
                char **nv = realloc(v, (n + 1) * sizeof(char *));
                if (!nv)
                        return -ENOMEM;
                v = nv;
                v[n++] = (char *) s;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* Decodes AddRule's a{sv}: known keys once each, each with its own type. in's strings point into msg. */
static int read_rule(sd_bus_message *msg, RuleInput *in, sd_bus_error *error)
{
        unsigned seen = 0;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                static const char *const keys[] = { "priority", "source", "destination", "protocol", "ports",
                        "action" };
                static const char *const types[] = { "u", "as", "as", "s", "s", "s" };
                const char *key, *contents;
                unsigned k;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                for (k = 0; k < ELEMENTSOF(keys); k++)
                        if (streq(key, keys[k]))
                                break;
                if (k == ELEMENTSOF(keys))
                        return sd_bus_error_setf(error, "org.dlrd1.Error.InvalidArgument",
                                "unknown rule key \"%s\" (known: %s)", key, rule_keys);
                if (seen & (1u << k))
                        return sd_bus_error_setf(error, "org.dlrd1.Error.InvalidArgument",
                                "rule key \"%s\" given twice", key);
                seen |= 1u << k;
                r = sd_bus_message_peek_type(msg, NULL, &contents);
                if (r < 0)
                        return r;
                if (!streq(contents, types[k]))
                        return sd_bus_error_setf(error, "org.dlrd1.Error.InvalidArgument",
                                "rule key \"%s\" must be of type %s, not %s", key, types[k], contents);
                r = sd_bus_message_enter_container(msg, 'v', types[k]);
                if (r < 0)
                        return r;
                switch (k) {
                case 0:
                        in->has_priority = true;
                        r = sd_bus_message_read(msg, "u", &in->priority);
                        break;
                case 1:
                        in->has_source = true;
                        r = read_list(msg, key, &in->source, &in->n_source, error);
                        break;
                case 2:
                        in->has_destination = true;
                        r = read_list(msg, key, &in->destination, &in->n_destination, error);
                        break;
                default:
                        r = sd_bus_message_read(msg, "s", k == 3 ? &in->protocol : k == 4 ? &in->ports : &in->action);
                        break;
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

int method_add_rule(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        RuleInput in = {};
        const char *router, *name;
        DlrError e = {};
        int r;

        r = bus_check_privileged(msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or waiting for polkit: the handler runs again */
        r = sd_bus_message_read(msg, "ss", &router, &name);
        if (r >= 0)
                r = read_rule(msg, &in, error);
        if (r >= 0 && manager_add_rule(m, router, name, &in, &e) < 0)
                r = bus_reply_error(msg, &e);
        else if (r >= 0)
                r = sd_bus_reply_method_return(msg, "");
        free(in.source);
        free(in.destination);
        return r;
}

int method_rule_counters(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ uint64_t *packets = NULL, *bytes = NULL;
        const Router *rt = NULL;
        const char *router;
        DlrError e = {};
        int r;

        r = sd_bus_message_read(msg, "s", &router);
        if (r < 0)
                return r;
        if (manager_rule_counters(m, router, &rt, &packets, &bytes, &e) < 0)
                return bus_reply_error(msg, &e);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(stt)");
        for (size_t i = 0; r >= 0 && i <= rt->n_rules; i++)
                r = sd_bus_message_append(reply, "(stt)", i < rt->n_rules ? rt->rules[i]->name : "", packets[i],
                        bytes[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
