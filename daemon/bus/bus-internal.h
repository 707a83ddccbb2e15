/* What the bus layer's files share: authorisation, error replies, and the methods defined outside
 * manager-bus.c. */
#pragma once

#include <systemd/sd-bus.h>

#include "bus.h"
#include "bus/auth.h"

/* Replies with the contract error for e (org.dlrd1.Error.*). */
int bus_reply_error(sd_bus_message *msg, const DlrError *e);

/* firewall-bus.c */
int method_add_rule(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_rule_counters(sd_bus_message *msg, void *userdata, sd_bus_error *error);
