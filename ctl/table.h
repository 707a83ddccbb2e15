/* Aligned text tables for dlrctl's list commands: a header line, then one line per row, columns padded to
 * their widest cell, the last column left unpadded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct Table Table;

/* headers: n_columns strings. NULL on allocation failure. */
Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
void table_freep(Table **t);

/* Adds a row of n_columns cells (copied); NULL or "" cells are shown as "-". */
int table_add(Table *t, const char *const *cells);

/* Prints the header (when legend) and the rows. */
void table_print(const Table *t, bool legend, FILE *f);
