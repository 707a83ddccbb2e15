/* Who may change dlrd's configuration over the bus: root and holders of CAP_NET_ADMIN at once; anyone else
 * only when polkit, if it is there, grants them the action org.dlrd1.manage. Reads are not checked. */
#pragma once

#include <systemd/sd-bus.h>

#define DLRD_POLKIT_ACTION_MANAGE "org.dlrd1.manage"

/* Decides whether the sender of msg, a method call that sd-bus is dispatching to its handler, may change the
 * configuration. Returns 1 when it may. Returns 0 when polkit was asked and has not answered yet: the handler
 * must then return 1 at once, without replying; when the answer arrives, this module rewinds the message and
 * calls the same handler with it again, and this function then returns the answer. Returns a negative errno
 * with error set (org.freedesktop.DBus.Error.AccessDenied) when the sender may not. Never waits for polkit. */
int bus_check_privileged(sd_bus_message *msg, sd_bus_error *error);

/* Forgets every query still waiting for polkit (at shutdown); the calls behind them get no answer. */
void bus_auth_flush(void);
