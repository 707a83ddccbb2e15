/* dlrctl, the command-line client of dlrd: what its modules share. dlrctl speaks only the D-Bus contract of
 * DESIGN §3 and never touches the kernel. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "shared/cleanup.h"

#define CTL_BUS_NAME "org.dlrd1"
#define CTL_OBJECT_PATH "/org/dlrd1"
#define CTL_MANAGER_IFACE "org.dlrd1.Manager"
#define CTL_ROUTER_IFACE "org.dlrd1.Router"
#define CTL_LIF_IFACE "org.dlrd1.Lif"

/* One AddRoutes call may carry a million routes: wait for the reply as long as the test bus allows. */
#define CTL_CALL_TIMEOUT_USEC (600ULL * 1000000ULL)

/* Verbs return 0, a negative errno after reporting a failure (exit status 1), or -CTL_EUSAGE after reporting
 * a usage error (exit status 2). It lies above every errno value, so the two never mix. */
#define CTL_EUSAGE 4095

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)

typedef struct Ctl Ctl;

typedef struct Verb {
        const char *noun;
        const char *verb; /* NULL for one-word commands */
        unsigned min_args, max_args; /* words after the command itself */
        int (*run)(Ctl *c, char **args, unsigned n);
        const char *synopsis; /* arguments, for the usage lines */
        const char *help;
} Verb;

struct Ctl {
        const char *address; /* --bus; NULL: the system bus */
        bool json;
        bool legend;
        bool ask_password; /* let polkit ask the user for authentication (--no-ask-password: no) */
        const char *mtu; /* --mtu, only for "lif create" */
        const Verb *verb;
        sd_bus *bus; /* connected on first use, after the arguments were checked */
};

#define ARGS_UNLIMITED (~0u)

/* Reporting (dlrctl.c). Messages go to stderr as "dlrctl: ...". */
void ctl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a failure and returns r (negative). */
int ctl_log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a usage error of the current verb with its usage line; returns -CTL_EUSAGE. */
int ctl_usage_error(const Ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* D-Bus (bus.c). Each reports its own failures. */
/* A new method call on dlrd's manager object; connects on first use. */
int ctl_new_call(Ctl *c, const char *iface, const char *method, sd_bus_message **ret);
/* Sends m and waits for the reply; a D-Bus error is reported as "dlrctl: MESSAGE (NAME)". */
int ctl_call(Ctl *c, sd_bus_message *m, sd_bus_message **ret_reply);
/* Reports a failure to build a call. */
int ctl_build_error(int r);
/* Makes a call to org.dlrd1.Manager with arguments given as for sd_bus_message_append(). */
int ctl_call_manager(Ctl *c, const char *method, sd_bus_message **ret_reply, const char *types, ...);
/* Reads the next complete value of m as JSON: strings, numbers, booleans; structs become arrays, dicts
 * objects, variants their content. Returns 1, or 0 at the end of the current container. */
int ctl_read_json(sd_bus_message *m, json_object **ret);
/* Export() parsed. */
int ctl_export(Ctl *c, json_object **ret);
/* The ObjectManager's GetManagedObjects() as {path: {interface: {property: value}}}. */
int ctl_managed_objects(Ctl *c, json_object **ret);
/* org.dlrd1.Manager's properties as {name: value}; one property with a single Get when name is given. */
int ctl_manager_properties(Ctl *c, const char *name, json_object **ret);

/* Small JSON accessors: absent or mistyped members read as "" or 0. */
const char *json_str(json_object *o, const char *key);
uint64_t json_u64(json_object *o, const char *key);
json_object *json_array(json_object *o, const char *key);
/* Prints o as indented JSON on stdout. */
void ctl_print_json(json_object *o);
/* Reads a whole file, or stdin for "-"; the result is NUL-terminated. Reports failures. */
int ctl_read_file(const char *path, char **ret, size_t *ret_size);

/* Verbs (verbs-change.c and verbs-show.c). */
int verb_router_create(Ctl *c, char **args, unsigned n);
int verb_router_delete(Ctl *c, char **args, unsigned n);
int verb_lif_create(Ctl *c, char **args, unsigned n);
int verb_lif_delete(Ctl *c, char **args, unsigned n);
int verb_route_add(Ctl *c, char **args, unsigned n);
int verb_route_delete(Ctl *c, char **args, unsigned n);
int verb_route_load(Ctl *c, char **args, unsigned n);
int verb_endpoint_set(Ctl *c, char **args, unsigned n);
int verb_endpoint_delete(Ctl *c, char **args, unsigned n);
int verb_port_attach(Ctl *c, char **args, unsigned n);
int verb_port_detach(Ctl *c, char **args, unsigned n);
int verb_peer_add(Ctl *c, char **args, unsigned n);
int verb_peer_remove(Ctl *c, char **args, unsigned n);
int verb_rule_add(Ctl *c, char **args, unsigned n);
int verb_rule_delete(Ctl *c, char **args, unsigned n);
int verb_default_action(Ctl *c, char **args, unsigned n);
int verb_apply(Ctl *c, char **args, unsigned n);

int verb_router_list(Ctl *c, char **args, unsigned n);
int verb_lif_list(Ctl *c, char **args, unsigned n);
int verb_route_list(Ctl *c, char **args, unsigned n);
int verb_endpoint_list(Ctl *c, char **args, unsigned n);
int verb_peer_list(Ctl *c, char **args, unsigned n);
int verb_rule_list(Ctl *c, char **args, unsigned n);
int verb_export(Ctl *c, char **args, unsigned n);
int verb_status(Ctl *c, char **args, unsigned n);
