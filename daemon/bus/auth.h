/* Who may change dlrd's configuration over the bus: root at once, where "root" means effective uid 0 as the
 * bus vouches for it; anyone else only when polkit grants them the action org.dlrd1.manage, and nobody else
 * when polkit is not installed. Nothing read from /proc and no capability counts: capabilities are relative
 * to a user namespace, which any user can create. Reads are not checked, but some redact for non-root
 * callers (bus_sender_is_root). */
#pragma once

#include <systemd/sd-bus.h>

#define DLRD_POLKIT_ACTION_MANAGE "org.dlrd1.manage"

/* 1 when the sender of msg (a method call) has effective uid 0 by the credentials the bus supplies (for
 * dbus-daemon: SO_PEERCRED of the connection, taken when it connected), 0 when not, or a negative errno when
 * the bus cannot tell (e.g. the sender is gone), which callers must treat as not root. */
int bus_sender_is_root(sd_bus_message *msg);

/* Decides whether the sender of msg, a method call that sd-bus is dispatching to its handler, may change the
 * configuration. Returns 1 when it may. Returns 0 when polkit was asked and has not answered yet: the handler
 * must then return 1 at once, without replying; when the answer arrives, this module rewinds the message and
 * calls the same handler with it again, and this function then returns the answer. Returns a negative errno
 * with error set (org.freedesktop.DBus.Error.AccessDenied) when the sender may not. Never waits for polkit. */
int bus_check_privileged(sd_bus_message *msg, sd_bus_error *error);

/* Forgets every query still waiting for polkit (at shutdown); the calls behind them get no answer. */
void bus_auth_flush(void);
