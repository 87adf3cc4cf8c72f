// subscriptions.cpp — event.create_subscription, list_subscriptions, delete_subscription,
// rotate_subscription_secret: webhook subscriptions (docs/sql-api.md "Subscriptions").
//
// A subscription is a callback URL with filters (event types exact or prefix "order.*", sources,
// categories; an empty list matches everything), a retry policy and a signing secret. The secret
// is stored in full, because the sidecar signs every delivery with it; list and delete show it
// masked, create and rotate return it once. Rotation keeps the old secret as previous_secret, so
// both signatures are sent until the receiver has switched. Every change sends NOTIFY
// event_subscriptions (payload: the id), so the sidecar reloads at once; creating one also stores
// an event.subscription.created event (source system), which the relay publishes like any other.
#include "pg/compat.hpp"

#include "guard.hpp"
#include "pg/catalog.hpp"

EVENT_BEGIN_PG_HEADERS
#include "mb/pg_wchar.h"
#include "utils/array.h"
EVENT_END_PG_HEADERS

namespace event::pg {
namespace {

constexpr int kMaxNameLength = 200;
constexpr int kMaxUrlLength = 2048;
constexpr int kMaxFilterValues = 100;
constexpr int kMaxEventTypeLength = 255;
constexpr int kMinSecretLength = 1; // any non-empty secret, as GitHub and most webhook senders take (docs/sql-api.md)
constexpr int kMaxSecretLength = 512;
constexpr int kSecretRandomBytes = 32;
const char *const kSubscriberTypes[] = {"webhook", "service"};

// The subscription as list_subscriptions shows it (secrets masked by event._mask_secret, as the
// processors' are), one jsonb over alias s.
#define MASK_SQL(col) "event._mask_secret(" col ")"
#define SUBSCRIPTION_JSON_SQL                                                                                          \
	"pg_catalog.jsonb_build_object('subscription_id', s.id::text, 'subscriber_name', s.subscriber_name, "           \
	"'subscriber_type', s.subscriber_type, 'event_types', pg_catalog.to_jsonb(s.event_types), "                      \
	"'event_sources', pg_catalog.to_jsonb(s.event_sources), "                                                        \
	"'event_categories', pg_catalog.to_jsonb(s.event_categories), 'callback_url', s.callback_url, "                  \
	"'webhook_secret', " MASK_SQL("s.webhook_secret") ", 'previous_secret', " MASK_SQL("s.previous_secret") ", "     \
	"'retry_policy', pg_catalog.jsonb_build_object('max_attempts', s.max_attempts, "                                 \
	"'backoff_base_ms', s.backoff_base_ms, 'backoff_max_ms', s.backoff_max_ms), 'active', s.active, "               \
	"'created_at', pg_catalog.to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"

[[noreturn]] void Invalid(const char *what, const char *value, const char *hint) {
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid %s \"%s\"", what, value),
	                errhint("%s", hint)));
}

void RequireNotNull(bool isnull, const char *what) {
	if (isnull)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", what)));
}

// An event type filter: a type ("order.created"), a prefix pattern ("order.*": order.created,
// order.item.added) or "*". Segments of letters, digits, '_' and '-', separated by dots.
bool ValidEventTypePattern(const char *p) {
	size_t n = strlen(p);
	if (n == 0 || n > kMaxEventTypeLength)
		return false;
	if (strcmp(p, "*") == 0)
		return true;
	if (n >= 2 && strcmp(p + n - 2, ".*") == 0)
		n -= 2;
	bool segment_start = true;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '.') {
			if (segment_start)
				return false;
			segment_start = true;
			continue;
		}
		if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
			return false;
		segment_start = false;
	}
	return !segment_start;
}

// The filter array checked element by element with check(value); NULL means "all" ('{}').
ArrayType *FilterArray(FunctionCallInfo fcinfo, int arg, const char *what, void (*check)(const char *)) {
	if (PG_ARGISNULL(arg))
		return construct_empty_array(TEXTOID);
	ArrayType *array = PG_GETARG_ARRAYTYPE_P(arg);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a one-dimensional array", what)));
	Datum *elems;
	bool *nulls;
	int n;
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n > kMaxFilterValues)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("too many %s", what),
		                errdetail("%d values given.", n), errhint("Give at most %d values.", kMaxFilterValues)));
	for (int i = 0; i < n; i++) {
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not contain null", what)));
		check(TextDatumGetCString(elems[i]));
	}
	return array;
}

void CheckEventTypePattern(const char *value) {
	if (!ValidEventTypePattern(value))
		Invalid("event type filter", value,
		        "Give an event type (order.created), a prefix pattern (order.*) or *: dot-separated segments of "
		        "letters, digits, _ and -.");
}

// An http or https URL with a host and no whitespace or control characters.
void CheckCallbackUrl(const char *url) {
	size_t n = strlen(url);
	const char *rest = nullptr;
	if (strncmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		rest = url + 8;
	bool clean = n <= kMaxUrlLength;
	for (size_t i = 0; clean && i < n; i++)
		clean = static_cast<unsigned char>(url[i]) > 0x20 && url[i] != 0x7f;
	if (!rest || !clean || *rest == '\0' || *rest == '/' || *rest == ':' || *rest == '?' || *rest == '#')
		Invalid("callback_url", url,
		        "Give an absolute http:// or https:// URL with a host, at most 2048 characters, without spaces.");
}

const char *SubscriberType(FunctionCallInfo fcinfo, int arg) {
	RequireNotNull(PG_ARGISNULL(arg), "subscriber_type");
	char *type = text_to_cstring(PG_GETARG_TEXT_PP(arg));
	for (const char *allowed : kSubscriberTypes)
		if (strcmp(allowed, type) == 0)
			return type;
	Invalid("subscriber_type", type, "Allowed values: webhook, service.");
}

int32 RetryValue(FunctionCallInfo fcinfo, int arg, const char *what, int32 min, int32 max) {
	RequireNotNull(PG_ARGISNULL(arg), what);
	int32 v = PG_GETARG_INT32(arg);
	if (v < min || v > max)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid %s \"%d\"", what, v),
		                errhint("Give a value from %d to %d.", min, max)));
	return v;
}

// The given secret (checked), or a new "whsec_<base64 of 32 random bytes>" (Standard Webhooks
// convention) when isnull; as text.
text *Secret(bool isnull, text *given) {
	if (!isnull) {
		int chars = pg_mbstrlen_with_len(VARDATA_ANY(given), VARSIZE_ANY_EXHDR(given));
		if (chars < kMinSecretLength || chars > kMaxSecretLength)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid webhook_secret"),
			                errdetail("The secret has %d characters.", chars),
			                errhint("Give %d to %d characters, or NULL to have one generated (whsec_...).",
			                        kMinSecretLength, kMaxSecretLength)));
		return given;
	}
	uint8 random[kSecretRandomBytes];
	if (!pg_strong_random(random, sizeof(random)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes for a secret")));
	bytea *raw = static_cast<bytea *>(palloc(VARHDRSZ + sizeof(random)));
	SET_VARSIZE(raw, VARHDRSZ + sizeof(random));
	memcpy(VARDATA(raw), random, sizeof(random));
	explicit_bzero(random, sizeof(random));
	Datum encoded = DirectFunctionCall2(binary_encode, PointerGetDatum(raw), CStringGetTextDatum("base64"));
	char *b64 = text_to_cstring(DatumGetTextPP(encoded));
	return cstring_to_text(psprintf("whsec_%s", b64));
}

// The single jsonb value of the first row of the last SPI result, copied out of SPI.
Datum FirstJsonb() {
	bool isnull = false;
	Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return SPI_datumTransfer(d, false, -1);
}

void Connect() {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
}

[[noreturn]] void NoSuchSubscription(Datum id) {
	ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
	                errmsg("subscription \"%s\" does not exist", DatumGetCString(DirectFunctionCall1(uuid_out, id))),
	                errhint("List the subscriptions with event.list_subscriptions().")));
}

} // namespace
} // namespace event::pg

using namespace event::pg;

// event.create_subscription(subscriber_name, callback_url, event_types, event_sources,
// event_categories, subscriber_type, webhook_secret, max_attempts, backoff_base_ms,
// backoff_max_ms): stores a subscription, records event.subscription.created, notifies the
// sidecar; returns the subscription with its whole secret (shown only here and by rotate).
EVENT_FUNCTION(event_create_subscription) {
	RequireNotNull(PG_ARGISNULL(0), "subscriber_name");
	text *name = PG_GETARG_TEXT_PP(0);
	int name_chars = pg_mbstrlen_with_len(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
	if (name_chars == 0 || name_chars > kMaxNameLength)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid subscriber_name"),
		                errdetail("The name has %d characters.", name_chars),
		                errhint("Give a name of 1 to %d characters.", kMaxNameLength)));
	RequireNotNull(PG_ARGISNULL(1), "callback_url");
	char *url = text_to_cstring(PG_GETARG_TEXT_PP(1));
	CheckCallbackUrl(url);
	ArrayType *types = FilterArray(fcinfo, 2, "event_types", CheckEventTypePattern);
	ArrayType *sources = FilterArray(fcinfo, 3, "event_sources", CheckSource);
	ArrayType *categories = FilterArray(fcinfo, 4, "event_categories", CheckCategory);
	const char *type = SubscriberType(fcinfo, 5);
	text *secret = Secret(PG_ARGISNULL(6), PG_ARGISNULL(6) ? nullptr : PG_GETARG_TEXT_PP(6));
	int32 max_attempts = RetryValue(fcinfo, 7, "max_attempts", 1, 100);
	int32 base_ms = RetryValue(fcinfo, 8, "backoff_base_ms", 1, 3600000);
	int32 max_ms = RetryValue(fcinfo, 9, "backoff_max_ms", 1, 86400000);
	if (max_ms < base_ms)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid backoff_max_ms \"%d\"", max_ms),
		                errdetail("backoff_base_ms is %d.", base_ms),
		                errhint("Give a backoff_max_ms not below backoff_base_ms.")));

	Connect();
	static const Oid kTypes[10] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID,
	                               TEXTARRAYOID, TEXTOID, INT4OID, INT4OID, INT4OID};
	Datum values[10] = {PointerGetDatum(name),       CStringGetTextDatum(type),  CStringGetTextDatum(url),
	                    PointerGetDatum(types),      PointerGetDatum(sources),   PointerGetDatum(categories),
	                    PointerGetDatum(secret),     Int32GetDatum(max_attempts), Int32GetDatum(base_ms),
	                    Int32GetDatum(max_ms)};
	// One statement: the row, the event (without the secret) and the notification.
	int rc = SPI_execute_with_args(
		"WITH s AS (INSERT INTO event.event_subscriptions AS s (id, subscriber_name, subscriber_type, callback_url, "
		"event_types, event_sources, event_categories, webhook_secret, max_attempts, backoff_base_ms, "
		"backoff_max_ms, active, created_at) "
		"VALUES (event.uuid_v7(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true, pg_catalog.now()) "
		"RETURNING " SUBSCRIPTION_JSON_SQL " AS j, s.id), "
		"e AS (SELECT (event.create_event('event.subscription.created', s.j - 'webhook_secret' - 'previous_secret', "
		"'system', 'system')).event_id FROM s), "
		"n AS (SELECT pg_catalog.pg_notify('event_subscriptions', s.id::text) FROM s) "
		"SELECT s.j || pg_catalog.jsonb_build_object('webhook_secret', $7, 'event_id', e.event_id::text) "
		"FROM s, e, n",
		10, const_cast<Oid *>(kTypes), values, nullptr, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: inserting the subscription failed: %s", SPI_result_code_string(rc));
	Datum result = FirstJsonb();
	SPI_finish();
	return result;
}

// event.list_subscriptions(): a jsonb array of every subscription, oldest first, secrets masked.
EVENT_FUNCTION(event_list_subscriptions) {
	Connect();
	int rc = SPI_execute("SELECT COALESCE(pg_catalog.jsonb_agg(" SUBSCRIPTION_JSON_SQL " ORDER BY s.created_at, s.id), "
	                     "'[]') FROM event.event_subscriptions s",
	                     true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: listing subscriptions failed: %s", SPI_result_code_string(rc));
	Datum result = FirstJsonb();
	SPI_finish();
	return result;
}

// event.delete_subscription(id): removes it (its deliveries stop at the sidecar's next reload,
// triggered by the NOTIFY); returns it as list shows it. Unknown ids raise P0002.
EVENT_FUNCTION(event_delete_subscription) {
	RequireNotNull(PG_ARGISNULL(0), "subscription_id");
	Connect();
	static const Oid kTypes[1] = {UUIDOID};
	Datum values[1] = {PG_GETARG_DATUM(0)};
	int rc = SPI_execute_with_args(
		"WITH s AS (DELETE FROM event.event_subscriptions s WHERE s.id = $1 RETURNING " SUBSCRIPTION_JSON_SQL
		" AS j, s.id), n AS (SELECT pg_catalog.pg_notify('event_subscriptions', s.id::text) FROM s) "
		"SELECT s.j FROM s, n",
		1, const_cast<Oid *>(kTypes), values, nullptr, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: deleting the subscription failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		NoSuchSubscription(values[0]);
	Datum result = FirstJsonb();
	SPI_finish();
	return result;
}

// event.rotate_subscription_secret(id, new_secret): the current secret becomes previous_secret
// (still signed with, until the next rotation; drop_previous clears it at once), new_secret (or a generated one)
// the current; returns the subscription with the new secret in full.
EVENT_FUNCTION(event_rotate_subscription_secret) {
	RequireNotNull(PG_ARGISNULL(0), "subscription_id");
	text *secret = Secret(PG_ARGISNULL(1), PG_ARGISNULL(1) ? nullptr : PG_GETARG_TEXT_PP(1));
	bool drop_previous = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	Connect();
	static const Oid kTypes[3] = {UUIDOID, TEXTOID, BOOLOID};
	Datum values[3] = {PG_GETARG_DATUM(0), PointerGetDatum(secret), BoolGetDatum(drop_previous)};
	int rc = SPI_execute_with_args(
		"WITH s AS (UPDATE event.event_subscriptions s SET "
		"previous_secret = CASE WHEN $3 THEN NULL ELSE s.webhook_secret END, webhook_secret = $2 "
		"WHERE s.id = $1 RETURNING " SUBSCRIPTION_JSON_SQL " AS j, s.id), "
		"n AS (SELECT pg_catalog.pg_notify('event_subscriptions', s.id::text) FROM s) "
		"SELECT s.j || pg_catalog.jsonb_build_object('webhook_secret', $2) FROM s, n",
		3, const_cast<Oid *>(kTypes), values, nullptr, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: rotating the secret failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		NoSuchSubscription(values[0]);
	Datum result = FirstJsonb();
	SPI_finish();
	return result;
}
