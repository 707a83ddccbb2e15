/* Keep-alive pings for systemd's watchdog, sent from a timer of the event loop: they stop exactly when the
 * loop stops turning. */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "shared/log.h"
#include "watchdog.h"

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
        uint64_t interval = *(const uint64_t *) userdata;
        int r;

        (void) sd_notify(false, "WATCHDOG=1");
        r = sd_event_source_set_time(s, usec + interval);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        if (r < 0)
                log_warning_errno(r, "Rearming the watchdog timer: %m");
        return 0;
}

int watchdog_setup(sd_event *e, sd_event_source **ret)
{
        static uint64_t interval;
        sd_event_source *s = NULL;
        uint64_t usec = 0, t;
        int r;

        r = sd_watchdog_enabled(false, &usec);
        if (r < 0)
                return log_error_errno(r, "Reading the watchdog settings: %m");
        if (r == 0 || usec == 0) {
                *ret = NULL;
                return 0;
        }
        /* Half the interval, so one late turn of the loop does not cost the service its life. */
        interval = usec / 2;
        r = sd_event_now(e, CLOCK_MONOTONIC, &t);
        if (r >= 0)
                r = sd_event_add_time(e, &s, CLOCK_MONOTONIC, t + interval, interval / 10, on_watchdog, &interval);
        if (r < 0)
                return log_error_errno(r, "Setting up the watchdog timer: %m");
        log_debug("Watchdog: pinging every %llu ms", (unsigned long long) (interval / 1000));
        *ret = s;
        return 0;
}
