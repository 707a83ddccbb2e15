/* The saved configuration: one file, replaced atomically, so a crash at any moment leaves either the old or
 * the new content. */
#pragma once

#include <stddef.h>

/* Writes a snapshot to dir/state.json via a temporary file, fsync, rename and fsync of the directory, then
 * removes the journal, which the snapshot supersedes. */
int persist_save(const char *dir, const char *data, size_t len);

/* Reads dir/state.json; -ENOENT when there is none yet. */
int persist_load(const char *dir, char **ret, size_t *ret_len);

/* Appends one record to dir/state.journal and waits until it is on disk. A failed append leaves no partial
 * record behind where it can help it. */
int persist_append(const char *dir, const char *data, size_t len);

/* Reads dir/state.journal; -ENOENT when there is none. */
int persist_load_journal(const char *dir, char **ret, size_t *ret_len);
