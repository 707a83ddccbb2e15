/* dlrctl's argument syntax. Only the shape is checked here (numbers, keywords, keys); whether an address
 * or a name is acceptable is dlrd's decision, so the client never disagrees with the daemon it talks to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "shared/cleanup.h"

int parse_u32(const char *s, uint32_t *ret)
{
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*p - '0');
                if (v > UINT32_MAX)
                        return -ERANGE;
        }
        *ret = (uint32_t) v;
        return 0;
}

void route_list_done(RouteList *l)
{
        free(l->routes);
        free(l->hops);
        *l = (RouteList) {};
}

static int add_hop(RouteList *l, const char *gateway, const char *lif)
{
        if (l->n_hops == l->cap_hops) {
                size_t cap = l->cap_hops ? l->cap_hops * 2 : 16;
                Nexthop *h = realloc(l->hops, cap * sizeof(Nexthop));
                if (!h)
                        return -ENOMEM;
                l->hops = h;
                l->cap_hops = cap;
        }
        l->hops[l->n_hops++] = (Nexthop) { .gateway = gateway, .lif = lif };
        return 0;
}

#define SYNTAX_ERROR(...)                                                                                   \
        do {                                                                                                \
                snprintf(err, err_size, __VA_ARGS__);                                                       \
                l->n_hops = first;                                                                          \
                return -EINVAL;                                                                             \
        } while (0)

int route_list_add(RouteList *l, const char *prefix, char *const *words, size_t n, char *err,
                size_t err_size)
{
        size_t first = l->n_hops;

        if (n == 0)
                SYNTAX_ERROR("route %s: no next hop (give \"via GATEWAY\", \"dev LIF\" or \"blackhole\")",
                        prefix);
        for (size_t i = 0; i < n;) {
                const char *gw = "", *lif = "";
                int r;

                if (streq(words[i], "blackhole")) {
                        if (n != 1)
                                SYNTAX_ERROR("route %s: \"blackhole\" cannot be combined with next hops",
                                        prefix);
                        break; /* a blackhole is a route with no next hop */
                }
                if (streq(words[i], "via")) {
                        if (i + 1 >= n)
                                SYNTAX_ERROR("route %s: \"via\" needs a gateway address", prefix);
                        gw = words[i + 1];
                        i += 2;
                        if (i < n && streq(words[i], "dev")) {
                                if (i + 1 >= n)
                                        SYNTAX_ERROR("route %s: \"dev\" needs a LIF name", prefix);
                                lif = words[i + 1];
                                i += 2;
                        }
                } else if (streq(words[i], "dev")) {
                        if (i + 1 >= n)
                                SYNTAX_ERROR("route %s: \"dev\" needs a LIF name", prefix);
                        lif = words[i + 1];
                        i += 2;
                } else
                        SYNTAX_ERROR("route %s: unexpected \"%s\" (expected \"via\", \"dev\" or "
                                     "\"blackhole\")",
                                prefix, words[i]);
                /* A next hop that is a keyword is a word missing, not a gateway called "dev". */
                if (streq(gw, "via") || streq(gw, "dev") || streq(gw, "blackhole") || streq(lif, "via") ||
                                streq(lif, "dev") || streq(lif, "blackhole"))
                        SYNTAX_ERROR("route %s: a next hop is missing its gateway or LIF", prefix);
                if (!*gw && !*lif)
                        SYNTAX_ERROR("route %s: empty next hop", prefix);
                r = add_hop(l, gw, lif);
                if (r < 0) {
                        l->n_hops = first;
                        return r;
                }
        }

        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                RouteSpec *v = realloc(l->routes, cap * sizeof(RouteSpec));
                if (!v) {
                        l->n_hops = first;
                        return -ENOMEM;
                }
                l->routes = v;
                l->cap = cap;
        }
        l->routes[l->n++] = (RouteSpec) { .prefix = prefix, .first = first, .n = l->n_hops - first };
        return 0;
}

int route_list_append_nexthops(const RouteList *l, size_t i, sd_bus_message *m)
{
        const RouteSpec *rt = &l->routes[i];
        int r;

        r = sd_bus_message_open_container(m, 'a', "(ss)");
        for (size_t j = 0; r >= 0 && j < rt->n; j++) {
                const Nexthop *h = &l->hops[rt->first + j];
                r = sd_bus_message_append(m, "(ss)", h->gateway, h->lif);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

char *nexthops_format(const Nexthop *hops, size_t n)
{
        size_t size = 16, len = 0;
        char *s;

        if (n == 0)
                return strdup("blackhole");
        for (size_t i = 0; i < n; i++)
                size += strlen(hops[i].gateway) + strlen(hops[i].lif) + 10;
        s = malloc(size);
        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; i < n; i++) {
                const char *sep = i > 0 ? " " : "";
                int k;

                if (*hops[i].gateway && *hops[i].lif)
                        k = snprintf(s + len, size - len, "%svia %s dev %s", sep, hops[i].gateway,
                                hops[i].lif);
                else if (*hops[i].gateway)
                        k = snprintf(s + len, size - len, "%svia %s", sep, hops[i].gateway);
                else
                        k = snprintf(s + len, size - len, "%sdev %s", sep, hops[i].lif);
                if (k < 0 || (size_t) k >= size - len) {
                        free(s);
                        return NULL;
                }
                len += (size_t) k;
        }
        return s;
}

static char **strv_free(char **v)
{
        if (v)
                for (char **p = v; *p; p++)
                        free(*p);
        free(v);
        return NULL;
}

void rule_spec_done(RuleSpec *r)
{
        strv_free(r->source);
        strv_free(r->destination);
        *r = (RuleSpec) {};
}

/* "a,b,c" into a NULL-terminated list; -EINVAL for an empty list or an empty item. */
static int split_list(const char *s, char ***ret)
{
        size_t n = 1, i = 0;
        char **v;

        if (!*s)
                return -EINVAL;
        for (const char *p = s; *p; p++)
                n += *p == ',';
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (const char *p = s;; i++) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t) (comma - p) : strlen(p);

                if (len == 0) {
                        strv_free(v);
                        return -EINVAL;
                }
                v[i] = strndup(p, len);
                if (!v[i]) {
                        strv_free(v);
                        return -ENOMEM;
                }
                if (!comma)
                        break;
                p = comma + 1;
        }
        *ret = v;
        return 0;
}

#define RULE_ERROR(...)                                                                                     \
        do {                                                                                                \
                snprintf(err, err_size, __VA_ARGS__);                                                       \
                rule_spec_done(r);                                                                          \
                return -EINVAL;                                                                             \
        } while (0)

int rule_spec_parse(RuleSpec *r, char *const *words, size_t n, char *err, size_t err_size)
{
        static const char *const keys[] = { "priority", "source", "destination", "protocol", "ports",
                "action" };
        bool seen[ELEMENTSOF(keys)] = {};
        int k;

        *r = (RuleSpec) {};
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(words[i], '='), *value;
                size_t key_len, j;

                if (!eq || eq == words[i])
                        RULE_ERROR("\"%s\" is not of the form KEY=VALUE", words[i]);
                key_len = (size_t) (eq - words[i]);
                value = eq + 1;
                for (j = 0; j < ELEMENTSOF(keys); j++)
                        if (strlen(keys[j]) == key_len && strncmp(keys[j], words[i], key_len) == 0)
                                break;
                if (j == ELEMENTSOF(keys))
                        RULE_ERROR("unknown rule key \"%.*s\" (known: priority, source, destination, "
                                   "protocol, ports, action)",
                                (int) key_len, words[i]);
                if (seen[j])
                        RULE_ERROR("rule key \"%s\" given twice", keys[j]);
                seen[j] = true;
                if (!*value)
                        RULE_ERROR("rule key \"%s\" needs a value", keys[j]);

                switch (j) {
                case 0:
                        if (parse_u32(value, &r->priority) < 0)
                                RULE_ERROR("priority \"%s\" is not a number from 0 to %u", value,
                                        UINT32_MAX);
                        r->has_priority = true;
                        break;
                case 1:
                case 2:
                        k = split_list(value, j == 1 ? &r->source : &r->destination);
                        if (k == -ENOMEM) {
                                rule_spec_done(r);
                                return k;
                        }
                        if (k < 0)
                                RULE_ERROR("%s \"%s\": empty item in the comma-separated list", keys[j],
                                        value);
                        break;
                case 3:
                        r->protocol = value;
                        break;
                case 4:
                        r->ports = value;
                        break;
                default:
                        r->action = value;
                        break;
                }
        }
        return 0;
}

static int append_entry_strv(sd_bus_message *m, const char *key, char **v)
{
        int r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, v);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int rule_spec_append(const RuleSpec *rule, sd_bus_message *m)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && rule->has_priority)
                r = sd_bus_message_append(m, "{sv}", "priority", "u", rule->priority);
        if (r >= 0 && rule->source)
                r = append_entry_strv(m, "source", rule->source);
        if (r >= 0 && rule->destination)
                r = append_entry_strv(m, "destination", rule->destination);
        if (r >= 0 && rule->protocol)
                r = sd_bus_message_append(m, "{sv}", "protocol", "s", rule->protocol);
        if (r >= 0 && rule->ports)
                r = sd_bus_message_append(m, "{sv}", "ports", "s", rule->ports);
        if (r >= 0 && rule->action)
                r = sd_bus_message_append(m, "{sv}", "action", "s", rule->action);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}
