/* A router's firewall as JSON: its rules in (priority, name) order and its default action. The canonical form
 * (Export, Digest) holds their content only; the state and mirror forms add the stamps a merge needs. */
#include "json-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Rule *, rule_free)

static void put_list(Buf *b, const char *key, const IpPrefix *p, size_t n)
{
        if (n == 0)
                return; /* any */
        putf(b, ",\"%s\":[", key);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        put(b, ",", 1);
                put(b, "\"", 1);
                put_addr(b, p[i].family, p[i].addr, p[i].plen);
                put(b, "\"", 1);
        }
        put(b, "]", 1);
}

void json_put_rule(Buf *b, const Config *c, const Rule *rule, bool stamps)
{
        PUTS(b, "{\"name\":");
        put_string(b, rule->name);
        putf(b, ",\"priority\":%" PRIu32, rule->priority);
        put_list(b, "source", rule->source, rule->n_source);
        put_list(b, "destination", rule->destination, rule->n_destination);
        putf(b, ",\"protocol\":\"%s\"", rule_protocol_to_string(rule->protocol));
        if (rule->n_ports > 0) {
                _cleanup_free_ char *ports = NULL;
                if (rule_ports_format(rule->ports, rule->n_ports, &ports) < 0) {
                        b->oom = true;
                        return;
                }
                PUTS(b, ",\"ports\":\"");
                PUTS(b, ports);
                put(b, "\"", 1);
        }
        putf(b, ",\"action\":\"%s\"", rule_action_to_string(rule->action));
        if (stamps)
                put_stamp(b, c, rule->stamp.lamport, rule->stamp.host);
        put(b, "}", 1);
}

void json_put_default_action(Buf *b, const Config *c, const Router *r)
{
        putf(b, "{\"action\":\"%s\"", rule_action_to_string(r->default_action));
        put_stamp(b, c, r->default_stamp.lamport, r->default_stamp.host);
        put(b, "}", 1);
}

void json_put_rules(Buf *b, const Config *c, const Router *r, bool stamps)
{
        PUTS(b, ",\"rules\":[");
        for (size_t i = 0; i < r->n_rules; i++) {
                if (i > 0)
                        put(b, ",", 1);
                json_put_rule(b, c, r->rules[i], stamps);
        }
        put(b, "]", 1);

        /* Never set (allow, unstamped) it is left out of every form. Allow is also what a router does without
         * a default action, so the canonical form, which holds content only, leaves out every allow: Export,
         * Apply, Export gives the same text, and hosts that agree on what their routers do agree on Digest. */
        bool given = r->default_action != RULE_ACTION_ALLOW || (stamps && r->default_stamp.lamport > 0);
        if (!given)
                return;
        PUTS(b, ",\"default_action\":");
        if (stamps)
                json_put_default_action(b, c, r);
        else
                putf(b, "\"%s\"", rule_action_to_string(r->default_action));
}

/* An optional string: absent is fine (NULL), anything but a string is not. */
static int get_opt_str(json_object *o, const char *key, const char **ret)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        *ret = json_object_get_string(v);
        return 0;
}

/* An optional list of strings, borrowed from the document. */
static int get_list(json_object *o, const char *key, bool *ret_has, char ***ret, size_t *ret_n)
{
        json_object *a;
        char **v;
        size_t n;

        if (!json_object_object_get_ex(o, key, &a)) {
                *ret_has = false;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) > DLR_RULE_ADDRESSES_MAX)
                return -EINVAL;
        n = json_object_array_length(a);
        v = calloc(n ? n : 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *x = json_object_array_get_idx(a, i);
                if (!json_object_is_type(x, json_type_string)) {
                        free(v);
                        return -EINVAL;
                }
                v[i] = (char *) json_object_get_string(x);
        }
        *ret_has = true;
        *ret = v;
        *ret_n = n;
        return 0;
}

static bool list_canonical(char *const *s, size_t n, const IpPrefix *p, size_t np)
{
        char buf[IP_PREFIX_MAX_STR];

        if (n != np)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(s[i], ip_prefix_to_string(&p[i], true, buf, sizeof buf)))
                        return false;
        return true;
}

static int parse_rule(Config *c, Router *r, json_object *o, ConfigParseFlags flags, char *errbuf, size_t errsize)
{
        static const char *const keys[] = { "name", "priority", "source", "destination", "protocol", "ports",
                "action", "stamp", NULL };
        _cleanup_free_ char **src = NULL, **dst = NULL;
        _cleanup_(rule_freep) Rule *rule = NULL;
        const char *name = get_str(o, "name"), *why = NULL;
        RuleInput in = {};
        int k;

        if (!json_object_is_type(o, json_type_object) || !keys_allowed(o, keys))
                ERR(-EINVAL, "router %s: a rule must be an object with known keys", r->name);
        if (!name)
                ERR(-EINVAL, "router %s: a rule needs a \"name\"", r->name);
        if (json_object_object_get_ex(o, "priority", NULL)) {
                if (get_u32(o, "priority", true, &in.priority) < 0)
                        ERR(-EINVAL, "router %s rule %s: bad \"priority\"", r->name, name);
                in.has_priority = true;
        }
        if (get_opt_str(o, "protocol", &in.protocol) < 0 || get_opt_str(o, "ports", &in.ports) < 0 ||
                        get_opt_str(o, "action", &in.action) < 0)
                ERR(-EINVAL, "router %s rule %s: \"protocol\", \"ports\" and \"action\" must be strings", r->name,
                        name);
        k = get_list(o, "source", &in.has_source, &src, &in.n_source);
        if (k >= 0)
                k = get_list(o, "destination", &in.has_destination, &dst, &in.n_destination);
        if (k == -ENOMEM)
                ERR(k, "out of memory");
        if (k < 0)
                ERR(k, "router %s rule %s: \"source\" and \"destination\" must be lists of at most %u strings",
                        r->name, name, DLR_RULE_ADDRESSES_MAX);
        in.source = src;
        in.destination = dst;

        k = rule_build(name, &in, &rule, &why);
        if (k < 0)
                ERR(k, "router %s rule %s: %s", r->name, name, why ? why : "out of memory");
        /* Apply takes what people write and canonicalises it. dlrd printed the saved state and peers'
         * documents itself, so anything else there was changed on the way: refused, not repaired. */
        if (flags & (CONFIG_PARSE_STATE | CONFIG_PARSE_MIRROR)) {
                _cleanup_free_ char *ports = NULL;
                if (!list_canonical(in.source, in.n_source, rule->source, rule->n_source) ||
                                !list_canonical(in.destination, in.n_destination, rule->destination,
                                        rule->n_destination))
                        ERR(-EINVAL, "router %s rule %s: address lists not in canonical form (ADDRESS/LENGTH, "
                                     "sorted, without duplicates or nested prefixes)", r->name, name);
                if (in.ports && rule_ports_format(rule->ports, rule->n_ports, &ports) < 0)
                        ERR(-ENOMEM, "out of memory");
                if (in.ports && !streq(in.ports, ports))
                        ERR(-EINVAL, "router %s rule %s: \"ports\" not in canonical form (sorted, ranges merged)",
                                r->name, name);
        }
        if (get_stamp(c, o, &rule->stamp) < 0)
                ERR(-EINVAL, "router %s rule %s: bad \"stamp\"", r->name, name);
        if (router_find_rule(r, name))
                ERR(-EEXIST, "router %s rule %s: defined twice", r->name, name);
        k = router_put_rule(r, rule, NULL);
        if (k < 0)
                ERR(k == -ENOSPC ? -EINVAL : k, "router %s: more than %u rules", r->name, DLR_RULES_MAX);
        TAKE_PTR(rule);
        return 0;
}

static int parse_default_action(Config *c, Router *r, json_object *v, ConfigParseFlags flags, char *errbuf,
                size_t errsize)
{
        static const char *const keys[] = { "action", "stamp", NULL };
        const char *action = NULL;
        Stamp st = {};
        RuleAction a;

        /* The canonical form gives the action alone; the state and mirror forms give it with its stamp. */
        if (json_object_is_type(v, json_type_string))
                action = json_object_get_string(v);
        else if (json_object_is_type(v, json_type_object) && keys_allowed(v, keys)) {
                action = get_str(v, "action");
                if (get_stamp(c, v, &st) < 0)
                        ERR(-EINVAL, "router %s: bad \"stamp\" of \"default_action\"", r->name);
        } else
                ERR(-EINVAL, "router %s: \"default_action\" must be an action or an object with \"action\" and "
                             "\"stamp\"", r->name);
        a = rule_action_from_string(action);
        if (a < 0)
                ERR(-EINVAL, "router %s: invalid \"default_action\": expected allow, drop or reject", r->name);
        if ((flags & CONFIG_PARSE_MIRROR) && !(st.lamport > 0 && c->hosts[st.host][0]))
                ERR(-EINVAL, "router %s: \"default_action\" needs a \"stamp\"", r->name);
        r->default_action = a;
        r->default_stamp = st;
        return 0;
}

int json_parse_rules(Config *c, Router *r, json_object *o, ConfigParseFlags flags, char *errbuf, size_t errsize)
{
        json_object *rules, *v;

        if (json_object_object_get_ex(o, "rules", &rules)) {
                if (!json_object_is_type(rules, json_type_array) || json_object_array_length(rules) > DLR_RULES_MAX)
                        ERR(-EINVAL, "router %s: \"rules\" must be a list of at most %u", r->name, DLR_RULES_MAX);
                for (size_t i = 0; i < json_object_array_length(rules); i++) {
                        int k = parse_rule(c, r, json_object_array_get_idx(rules, i), flags, errbuf, errsize);
                        if (k < 0)
                                return k;
                }
        }
        if (json_object_object_get_ex(o, "default_action", &v))
                return parse_default_action(c, r, v, flags, errbuf, errsize);
        return 0;
}
