/* store_int.h — shared between the SQLite engine's files; not public. */
#ifndef SL_STORE_INT_H
#define SL_STORE_INT_H

#include <stdio.h>

#include <sqlite3.h>

#include "store.h"

int migrations_apply(sqlite3 *db, struct sl_err *err);

#endif
