/* Peer addresses are data: the two grammars a member's address may have (unix:path=/… on one machine,
 * ssh:[user@]host[:port] across machines), and the sd-bus address this host builds from one. Nothing of an
 * address becomes a program, an option or a key of its own: the ssh command line is a fixed template
 * filled in with the parsed user, host and port and with local options only. Pure: no I/O. */
#pragma once

#include <errno.h>
#include <stdint.h>

typedef enum PeerAddressKind {
        PEER_ADDRESS_UNIX,
        PEER_ADDRESS_SSH,
        _PEER_ADDRESS_KIND_MAX,
        _PEER_ADDRESS_KIND_INVALID = -EINVAL,
} PeerAddressKind;

const char *peer_address_kind_to_string(PeerAddressKind k);
PeerAddressKind peer_address_kind_from_string(const char *s);

#define PEER_UNIX_PATH_MAX 107u /* sizeof(sockaddr_un.sun_path) - 1 */
#define PEER_SSH_USER_MAX 32u   /* useradd's limit */
#define PEER_SSH_HOST_MAX 253u  /* a DNS name; IPv4 and IPv6 literals are shorter */
#define PEER_DNS_LABEL_MAX 63u
/* Longest accepted address: "ssh:" user "@" "[" host "]" ":" port. */
#define PEER_ADDRESS_MAX (4u + PEER_SSH_USER_MAX + 1u + PEER_SSH_HOST_MAX + 2u + 6u)
#define PEER_SSH_CONFIG_MAX 4095u
/* ssh -F when --peer-ssh-config is not given and this file exists (else "none"). */
#define DLRD_PEER_SSH_CONFIG "/etc/dlrd/ssh_config"

typedef struct PeerAddress {
        PeerAddressKind kind;
        char path[PEER_UNIX_PATH_MAX + 1]; /* unix: the socket's absolute path */
        char user[PEER_SSH_USER_MAX + 1];  /* ssh: the login name, "" when not given */
        char host[PEER_SSH_HOST_MAX + 1];  /* ssh: a DNS name, an IPv4 literal or an IPv6 literal (no brackets) */
        uint16_t port;                     /* ssh: 0 when not given */
} PeerAddress;

/* Parses s against the two grammars:
 *   unix:path=/PATH      PATH absolute, of A-Z a-z 0-9 _ . - / only, at most 107 characters; no other key;
 *   ssh:[USER@]HOST[:PORT]
 *                        USER [a-z_][a-z0-9_-]* (at most 32); HOST a DNS name (labels of A-Z a-z 0-9 -, none
 *                        starting or ending with '-', the last not all digits), a dotted-quad IPv4 literal
 *                        or a bracketed IPv6 literal; PORT 1-65535 in decimal without leading zeros.
 * Anything else (other transports, several addresses, escapes, control characters, a leading '-') is
 * -EINVAL with *ret_error saying why (a static string); ret may be NULL to only validate. */
int peer_address_parse(const char *s, PeerAddress *ret, const char **ret_error);

/* Checks the value of --peer-ssh-config: "none" (ssh reads no configuration file) or an absolute path of
 * printable characters. -EINVAL with *ret_error saying why. */
int peer_ssh_config_check(const char *path, const char **ret_error);

/* Builds the sd-bus address that connects to a. unix: the address itself. ssh: a unixexec: address running
 *   DLRD_SSH -F SSH_CONFIG -T -x -a -o BatchMode=yes [-p PORT] [-l USER] -- HOST
 * with no remote command (the peer's authorized_keys forces it); ssh_config NULL means "none". Every value
 * is D-Bus-escaped. Returns 0 and a string to free in *ret, -EINVAL for a bad ssh_config, or -ENOMEM. */
int peer_address_to_bus(const PeerAddress *a, const char *ssh_config, char **ret);

/* peer_address_parse() and peer_address_to_bus() in one: -EINVAL when s is not a valid peer address. */
int peer_address_bus_for(const char *s, const char *ssh_config, char **ret);
