/* dlrctl's side of the D-Bus contract: connecting, calling with a long timeout, reporting D-Bus errors the
 * same way everywhere, and reading replies into JSON so the list commands share one data shape. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static int ctl_connect(Ctl *c)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (c->bus)
                return 0;
        if (c->address) {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, c->address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system(&bus);
        /* A caller without the right may be asked for a password by a polkit agent of its session, as
         * systemctl does; dlrd then waits for polkit's answer longer. */
        if (r >= 0)
                r = sd_bus_set_allow_interactive_authorization(bus, c->ask_password);
        if (r < 0)
                return ctl_log_errno(r, "cannot connect to the bus %s: %s",
                        c->address ? c->address : "(system)", strerror(-r));
        c->bus = TAKE_PTR(bus);
        return 0;
}

int ctl_build_error(int r)
{
        return ctl_log_errno(r, "cannot build the D-Bus call: %s", strerror(-r));
}

int ctl_new_call(Ctl *c, const char *iface, const char *method, sd_bus_message **ret)
{
        int r;

        r = ctl_connect(c);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(c->bus, ret, CTL_BUS_NAME, CTL_OBJECT_PATH, iface, method);
        if (r < 0)
                return ctl_build_error(r);
        return 0;
}

int ctl_call(Ctl *c, sd_bus_message *m, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call(c->bus, m, CTL_CALL_TIMEOUT_USEC, &error, &reply);
        if (r < 0) {
                if (sd_bus_error_is_set(&error))
                        return ctl_log_errno(r, "%s (%s)", error.message ? error.message : strerror(-r),
                                error.name);
                return ctl_log_errno(r, "%s.%s: %s", sd_bus_message_get_interface(m),
                        sd_bus_message_get_member(m), strerror(-r));
        }
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return 0;
}

int ctl_call_manager(Ctl *c, const char *method, sd_bus_message **ret_reply, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = ctl_new_call(c, CTL_MANAGER_IFACE, method, &m);
        if (r < 0)
                return r;
        if (types) {
                va_list ap;

                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return ctl_build_error(r);
        }
        return ctl_call(c, m, ret_reply);
}

static int read_basic(sd_bus_message *m, char type, json_object **ret)
{
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *s; /* also a file descriptor's int lands in i */
        } v = {};
        json_object *o;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        switch (type) {
        case SD_BUS_TYPE_BYTE: o = json_object_new_int(v.y); break;
        case SD_BUS_TYPE_BOOLEAN: o = json_object_new_boolean(v.b); break;
        case SD_BUS_TYPE_INT16: o = json_object_new_int(v.n); break;
        case SD_BUS_TYPE_UINT16: o = json_object_new_int(v.q); break;
        case SD_BUS_TYPE_INT32: o = json_object_new_int(v.i); break;
        case SD_BUS_TYPE_UINT32: o = json_object_new_int64(v.u); break;
        case SD_BUS_TYPE_INT64: o = json_object_new_int64(v.x); break;
        case SD_BUS_TYPE_UINT64: o = json_object_new_uint64(v.t); break;
        case SD_BUS_TYPE_DOUBLE: o = json_object_new_double(v.d); break;
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE: o = json_object_new_string(v.s); break;
        default: o = NULL; break; /* file descriptors mean nothing once printed */
        }
        if (!o && type != SD_BUS_TYPE_UNIX_FD)
                return -ENOMEM;
        *ret = o;
        return 1;
}

/* The entries of an "a{..}" as an object keyed by the entries' keys. */
static int read_dict(sd_bus_message *m, const char *contents, json_object **ret)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *entry = strndup(contents + 1, strlen(contents) - 2);
        int r;

        if (!o || !entry)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, contents);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, entry)) > 0) {
                _cleanup_(json_object_putp) json_object *key = NULL, *value = NULL;

                r = ctl_read_json(m, &key);
                if (r > 0)
                        r = ctl_read_json(m, &value);
                if (r == 0)
                        r = -EBADMSG;
                if (r < 0)
                        return r;
                r = json_object_object_add(o, key ? json_object_get_string(key) : "", TAKE_PTR(value));
                if (r < 0)
                        return -ENOMEM;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 1;
}

/* The members of an array, struct or variant as a JSON array. */
static int read_sequence(sd_bus_message *m, char type, const char *contents, json_object **ret)
{
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();
        int r;

        if (!a)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        for (;;) {
                json_object *item = NULL;

                r = ctl_read_json(m, &item);
                if (r <= 0)
                        break;
                if (json_object_array_add(a, item) < 0) {
                        json_object_put(item);
                        return -ENOMEM;
                }
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 1;
}

int ctl_read_json(sd_bus_message *m, json_object **ret)
{
        _cleanup_(json_object_putp) json_object *a = NULL;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r;
        switch (type) {
        case SD_BUS_TYPE_ARRAY:
                if (contents[0] == SD_BUS_TYPE_DICT_ENTRY_BEGIN)
                        return read_dict(m, contents, ret);
                return read_sequence(m, type, contents, ret);
        case SD_BUS_TYPE_STRUCT:
                return read_sequence(m, type, contents, ret);
        case SD_BUS_TYPE_VARIANT:
                /* A variant holds exactly one value: unwrap it. */
                r = read_sequence(m, type, contents, &a);
                if (r < 0)
                        return r;
                if (json_object_array_length(a) != 1)
                        return -EBADMSG;
                *ret = json_object_get(json_object_array_get_idx(a, 0));
                return 1;
        default:
                return read_basic(m, type, ret);
        }
}

static int reply_error(int r, const char *what)
{
        return ctl_log_errno(r, "cannot read the reply of %s: %s", what, strerror(-r));
}

int ctl_export(Ctl *c, json_object **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        json_tokener *tok;
        json_object *o;
        const char *s;
        int r;

        r = ctl_call_manager(c, "Export", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &s);
        if (r < 0)
                return reply_error(r, "Export");
        tok = json_tokener_new();
        if (!tok)
                return ctl_log_errno(-ENOMEM, "out of memory");
        o = json_tokener_parse_ex(tok, s, (int) strlen(s));
        if (!o || json_tokener_get_error(tok) != json_tokener_success ||
                        !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                json_tokener_free(tok);
                return ctl_log_errno(-EBADMSG, "Export returned something that is not a JSON object");
        }
        json_tokener_free(tok);
        *ret = o;
        return 0;
}

int ctl_managed_objects(Ctl *c, json_object **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        json_object *o = NULL;
        int r;

        r = ctl_new_call(c, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &m);
        if (r < 0)
                return r;
        r = ctl_call(c, m, &reply);
        if (r < 0)
                return r;
        r = ctl_read_json(reply, &o);
        if (r <= 0 || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return reply_error(r < 0 ? r : -EBADMSG, "GetManagedObjects");
        }
        *ret = o;
        return 0;
}

int ctl_manager_properties(Ctl *c, const char *name, json_object **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        json_object *o = NULL;
        int r;

        r = ctl_new_call(c, "org.freedesktop.DBus.Properties", name ? "Get" : "GetAll", &m);
        if (r < 0)
                return r;
        r = name ? sd_bus_message_append(m, "ss", CTL_MANAGER_IFACE, name)
                 : sd_bus_message_append(m, "s", CTL_MANAGER_IFACE);
        if (r < 0)
                return ctl_build_error(r);
        r = ctl_call(c, m, &reply);
        if (r < 0)
                return r;
        r = ctl_read_json(reply, &o);
        if (r <= 0 || !o) {
                json_object_put(o);
                return reply_error(r < 0 ? r : -EBADMSG, name ? "Get" : "GetAll");
        }
        *ret = o;
        return 0;
}

const char *json_str(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return "";
        return json_object_get_string(v);
}

uint64_t json_u64(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        return json_object_get_uint64(v);
}

json_object *json_array(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
                return NULL;
        return v;
}

void ctl_print_json(json_object *o)
{
        /* No "\/" escapes: prefixes stay readable. */
        puts(json_object_to_json_string_ext(o,
                JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int ctl_read_file(const char *path, char **ret, size_t *ret_size)
{
        _cleanup_fclose_ FILE *opened = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0, k;
        FILE *f = stdin;

        if (!streq(path, "-")) {
                opened = fopen(path, "re");
                if (!opened)
                        return ctl_log_errno(-errno, "cannot open %s: %m", path);
                f = opened;
        }
        do {
                if (cap - len < 65536) {
                        size_t ncap = cap ? cap * 2 : 1 << 20;
                        char *n = realloc(buf, ncap);
                        if (!n)
                                return ctl_log_errno(-ENOMEM, "%s: out of memory", path);
                        buf = n;
                        cap = ncap;
                }
                k = fread(buf + len, 1, cap - len - 1, f);
                len += k;
        } while (k > 0);
        if (ferror(f))
                return ctl_log_errno(-EIO, "cannot read %s", streq(path, "-") ? "standard input" : path);
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = len;
        return 0;
}
