/* systemd's service watchdog: while the event loop runs, it tells the service manager so; a loop that is
 * stuck stops telling, and systemd restarts the service (WatchdogSec= in the unit). */
#pragma once

#include <systemd/sd-event.h>

/* When the service manager asked for keep-alive pings (WATCHDOG_USEC for this process), adds a timer to e
 * that sends WATCHDOG=1 at half the interval and stores it in *ret; otherwise stores NULL. Returns 0 on
 * success (either way) or a negative errno. */
int watchdog_setup(sd_event *e, sd_event_source **ret);
