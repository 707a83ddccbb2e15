/* The saved configuration: a snapshot, replaced atomically, and a journal of the changes since, so a crash at
 * any moment leaves either the old or the new content. A call that fails leaves what was there before: a
 * refused change never reappears at the next start. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Writes a snapshot to dir/state.json via a temporary file, fsync, rename and fsync of the directory, then
 * removes the journal, which the snapshot supersedes. When the directory cannot be made durable after the
 * rename, the previous snapshot is put back and the call fails; *ret_torn tells that putting it back was not
 * made durable either, so the refused snapshot may still be what the next start reads. */
int persist_save(const char *dir, const char *data, size_t len, bool *ret_torn);

/* Reads dir/state.json; -ENOENT when there is none yet. */
int persist_load(const char *dir, char **ret, size_t *ret_len);

/* Appends one record to dir/state.journal and waits until it is on disk. A failed append (a short write, a
 * failed fdatasync) is cut back to where the record began; *ret_torn tells that even that failed, so the
 * journal may still end in the refused record and must be superseded by a snapshot before anything else is
 * appended or acknowledged. */
int persist_append(const char *dir, const char *data, size_t len, bool *ret_torn);

/* Cuts dir/state.journal back to size bytes (an incomplete last record) and makes that durable. */
int persist_cut_journal(const char *dir, size_t size);

/* Reads dir/state.journal; -ENOENT when there is none. */
int persist_load_journal(const char *dir, char **ret, size_t *ret_len);
