/* The D-Bus API of DESIGN §3: org.dlrd1.Manager at /org/dlrd1, an ObjectManager, and one object per router
 * and LIF. The bus layer validates argument shapes, checks authorisation and hands the change to the
 * manager; it never talks to the kernel. */
#pragma once

#include "manager.h"

#define DLRD_BUS_NAME "org.dlrd1"
#define DLRD_OBJECT_PATH "/org/dlrd1"
#define DLRD_ROUTER_PREFIX "/org/dlrd1/router"

/* Connects (system bus, or m->bus_address), attaches to the event loop and registers the objects. */
int bus_open(Manager *m);
/* Takes the well-known name; done once the kernel matches the configuration. */
int bus_request_name(Manager *m);

int bus_router_path(const char *router, char **ret);
int bus_lif_path(const char *router, const char *lif, char **ret);

void bus_emit_manager_changed(Manager *m);
void bus_emit_router_added(Manager *m, const Router *r);
void bus_emit_router_removed(Manager *m, const Router *r);
void bus_emit_lif_added(Manager *m, const Router *r, const Lif *l);
void bus_emit_lif_removed(Manager *m, const Router *r, const Lif *l);

/* Router and LIF objects (objects.c). */
int bus_register_objects(Manager *m);
