/*
 * pg_schema.c — the schema in PostgreSQL's dialect: the same numbered
 * steps as sqlite_schema.c.  To be written (issue 11).
 */
#include "store_int.h"

const char *const store_schema_pg[STORE_SCHEMA_VERSION] = { NULL };
