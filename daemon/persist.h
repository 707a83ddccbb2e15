/* The saved configuration: one file, replaced atomically, so a crash at any moment leaves either the old or
 * the new content. */
#pragma once

#include <stddef.h>

/* Writes data to dir/state.json via a temporary file, fsync, rename and fsync of the directory. */
int persist_save(const char *dir, const char *data, size_t len);

/* Reads dir/state.json; -ENOENT when there is none yet. */
int persist_load(const char *dir, char **ret, size_t *ret_len);
