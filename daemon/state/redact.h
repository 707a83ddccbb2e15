/* What callers that are not root may see of the configuration: peers' bus addresses without the parts that
 * are transport secrets. Pure string work, used by the Peers property and Export. */
#pragma once

/* The view of a peer's bus address for a caller that is not root:
 *   ssh:[user@]host[:port]  without "user@" (everything up to the last '@'): "ssh:host[:port]";
 *   unix:...                whole: a local socket path is no secret;
 *   anything else           only its transport and the colon ("unixexec:"): its arguments may name a user.
 * Returns 0 with *ret newly allocated, or -ENOMEM; *ret is written only on success. */
int peer_address_redact(const char *address, char **ret);
