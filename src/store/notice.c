/*
 * notice.c — notices to a person about their devices (schema 15).
 *
 * A notice is written when a device is added to a person (an app
 * enrolment, a Smart-ID registration) and when one is blocked or revoked,
 * so that the person learns of a device they did not add from their
 * account page and from the devices they already had.  A notice is marked
 * read by the person on the account page; the device API only reads.  The
 * rows hold ids, a kind and the device's name: nothing secret.  Writes are
 * durable (FULL): a lost "a new device was added" is exactly what an
 * attacker would want.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define NOTICE_COLS "id, person_id, kind, device_kind, device_id, device_name, created, read"

static const char notice_add_sql[] = "INSERT INTO notices (" NOTICE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)";
static const char notice_person_sql[] = "SELECT " NOTICE_COLS " FROM notices WHERE person_id = ?1"
					" AND (?2 = 0 OR read = 0) ORDER BY created DESC, id LIMIT ?3";
/* Unread, about another device, not older than the asking device. */
static const char notice_device_sql[] = "SELECT " NOTICE_COLS " FROM notices WHERE person_id = ?1 AND read = 0"
					" AND device_id <> ?2 AND created >= ?3 ORDER BY created DESC, id LIMIT ?4";

const char *const store_sql_notice[Q_COUNT] = {
	[Q_NOTICE_ADD] = notice_add_sql,
	[Q_NOTICE_PERSON] = notice_person_sql,
	[Q_NOTICE_DEVICE] = notice_device_sql,
	[Q_NOTICE_ACK] = "UPDATE notices SET read = 1 WHERE person_id = ?1 AND id = ?2",
};

static void
notice_read(struct stmt *s, void *out)
{
	struct store_notice *n = out;

	n->nt_id = col_text(s, 0);
	n->nt_person_id = col_text(s, 1);
	n->nt_kind = col_text(s, 2);
	n->nt_device_kind = col_text(s, 3);
	n->nt_device_id = col_text(s, 4);
	n->nt_device_name = col_text(s, 5);
	n->nt_created = col_int(s, 6);
	n->nt_read = col_int(s, 7) != 0;
	if (col_lost(s))
		store_notice_clear(n); /* as every reader: the visitor answers SL_ENOMEM */
}

void
store_notice_clear(struct store_notice *n)
{
	if (n == NULL)
		return;
	free(n->nt_id);
	free(n->nt_person_id);
	free(n->nt_kind);
	free(n->nt_device_kind);
	free(n->nt_device_id);
	free(n->nt_device_name);
	memset(n, 0, sizeof(*n));
}

STORE_VISITOR(notice, struct store_notice, notice_read, store_notice_clear)

int
store_notice_add(struct store *st, struct store_notice *n)
{
	char *id;
	int rc;

	if (n == NULL || n->nt_person_id == NULL || n->nt_kind == NULL || n->nt_device_kind == NULL ||
		n->nt_device_id == NULL)
		return SL_EINVAL;
	if ((id = sl_random_name(16)) == NULL)
		return SL_ENOMEM;
	n->nt_created = sl_now();
	{
		const struct bind b[] = { BT(id), BT(n->nt_person_id), BT(n->nt_kind), BT(n->nt_device_kind),
			BT(n->nt_device_id), BT(n->nt_device_name), BI(n->nt_created) };
		rc = write_one(st, DUR_FULL, Q_NOTICE_ADD, b, NBIND(b), true);
	}
	if (rc != SL_OK) {
		free(id);
		return rc;
	}
	free(n->nt_id);
	n->nt_id = id;
	return SL_OK;
}

int
store_notice_each(struct store *st, const char *person_id, bool unread_only, int limit,
	int (*fn)(const struct store_notice *, void *), void *arg)
{
	const struct bind b[] = { BT(person_id), BI(unread_only), BI(limit) };
	struct notice_visit v = { fn, arg };

	if (person_id == NULL || fn == NULL || limit < 1 || limit > STORE_NOTICE_LIST_MAX)
		return SL_EINVAL;
	return read_each(st, Q_NOTICE_PERSON, b, NBIND(b), notice_row, &v);
}

int
store_notice_each_for_device(struct store *st, const char *person_id, const char *device_id, int64_t since, int limit,
	int (*fn)(const struct store_notice *, void *), void *arg)
{
	const struct bind b[] = { BT(person_id), BT(device_id), BI(since), BI(limit) };
	struct notice_visit v = { fn, arg };

	if (person_id == NULL || device_id == NULL || fn == NULL || limit < 1 || limit > STORE_NOTICE_LIST_MAX)
		return SL_EINVAL;
	return read_each(st, Q_NOTICE_DEVICE, b, NBIND(b), notice_row, &v);
}

int
store_notice_ack(struct store *st, const char *person_id, const char *notice_id)
{
	const struct bind b[] = { BT(person_id), BT(notice_id) };

	if (person_id == NULL || notice_id == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_NOTICE_ACK, b, NBIND(b), true);
}
