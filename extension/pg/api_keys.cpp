// api_keys.cpp — event.create_api_key, event.revoke_api_key and event.create_write_key: API keys of
// the HTTP API and write keys of the tracking API (docs/collection.md).
//
// A secret is "evk_" + 64 lowercase hex digits of pg_strong_random (256 bits). Its first 12
// characters are the key's prefix: shown by event.list_api_keys and used by the sidecar to find
// the key's row in its cache; only SHA-256 of the whole secret is stored, so a leaked table or
// dump does not reveal any usable key. The secret is returned once, by create_api_key.
// Listing and the sidecar's hash read are plain SQL functions in the install script.
#include "pg/compat.hpp"

#include "guard.hpp"

EVENT_BEGIN_PG_HEADERS
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/uuid.h"
EVENT_END_PG_HEADERS

namespace event::pg {
namespace {

constexpr char kSecretPrefix[] = "evk_";
constexpr int kSecretRandomBytes = 32;
constexpr int kPrefixLength = 12; // "evk_" + 8 hex digits
constexpr int kMaxNameLength = 200;
// Scopes in their canonical order; the stored array keeps this order without duplicates.
const char *const kScopes[] = {"read", "write", "admin"};

// The key as event.list_api_keys shows it, as one jsonb expression over alias k.
#define API_KEY_JSON_SQL                                                                                               \
	"pg_catalog.jsonb_build_object('id', k.id::text, 'name', k.name, 'prefix', k.prefix, 'scopes', "               \
	"pg_catalog.to_jsonb(k.scopes), 'rate_limit', k.rate_limit, "                                                      \
	"'created_at', pg_catalog.to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "        \
	"'revoked_at', pg_catalog.to_char(k.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"

// Validated scopes as a text[] in canonical order. Raises 22004/22023 on bad input.
ArrayType *CanonicalScopes(ArrayType *scopes) {
	Datum *elems;
	bool *nulls;
	int n;
	if (ARR_NDIM(scopes) > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("scopes must be a one-dimensional array")));
	deconstruct_array(scopes, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	bool wanted[lengthof(kScopes)] = {};
	for (int i = 0; i < n; i++) {
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("scopes must not contain null"),
			                errhint("Allowed values: read, write, admin.")));
		char *scope = TextDatumGetCString(elems[i]);
		size_t s = 0;
		while (s < lengthof(kScopes) && strcmp(kScopes[s], scope) != 0)
			s++;
		if (s == lengthof(kScopes))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid scope \"%s\"", scope),
			                errhint("Allowed values: read, write, admin.")));
		wanted[s] = true;
	}
	Datum out[lengthof(kScopes)];
	int m = 0;
	for (size_t s = 0; s < lengthof(kScopes); s++)
		if (wanted[s])
			out[m++] = CStringGetTextDatum(kScopes[s]);
	if (m == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("scopes must not be empty"),
		                errhint("Allowed values: read, write, admin.")));
	return construct_array(out, m, TEXTOID, -1, false, TYPALIGN_INT);
}

// A new secret "<prefix><64 hex>" (prefix "evk_" or "ewk_", 4 characters) from the operating
// system's CSPRNG, in secret (kSecretLength + 1 bytes).
constexpr int kSecretLength = sizeof(kSecretPrefix) - 1 + 2 * kSecretRandomBytes;
void NewSecret(char *secret, const char *prefix = kSecretPrefix) {
	uint8 random[kSecretRandomBytes];
	if (!pg_strong_random(random, sizeof(random)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes for a key")));
	static const char kHex[] = "0123456789abcdef";
	memcpy(secret, prefix, sizeof(kSecretPrefix) - 1);
	char *p = secret + sizeof(kSecretPrefix) - 1;
	for (uint8 b : random) {
		*p++ = kHex[b >> 4];
		*p++ = kHex[b & 15];
	}
	*p = '\0';
	explicit_bzero(random, sizeof(random));
}

// The name argument of a create function: 1 to kMaxNameLength characters, else 22004/22023.
text *KeyName(FunctionCallInfo fcinfo, const char *what) {
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("name must not be null")));
	text *name = PG_GETARG_TEXT_PP(0);
	int name_chars = pg_mbstrlen_with_len(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
	if (name_chars == 0 || name_chars > kMaxNameLength)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid %s name", what),
		                errdetail("The name has %d characters.", name_chars),
		                errhint("Give a name of 1 to %d characters.", kMaxNameLength)));
	return name;
}

// The single jsonb value of the first row of the last SPI result, copied out of SPI.
Datum FirstJsonb() {
	bool isnull = false;
	Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return SPI_datumTransfer(d, false, -1);
}

// Draws secrets "<secret_prefix><64 hex>" until sql stores one: an INSERT ... ON CONFLICT (prefix)
// DO NOTHING RETURNING one jsonb, whose $2 is the key's prefix and $3 its secret (filled in here).
// A new prefix collides with an existing one with probability n / 2^32; drawn again then.
// Returns the jsonb, copied out of SPI (connected by the caller).
Datum InsertNewKey(const char *secret_prefix, const char *what, const char *sql, int nargs, const Oid *types,
                   Datum *values, const char *nulls) {
	char secret[kSecretLength + 1];
	for (int attempt = 0;; attempt++) {
		if (attempt == 8)
			elog(ERROR, "event: could not draw an unused %s prefix", what);
		NewSecret(secret, secret_prefix);
		values[1] = PointerGetDatum(cstring_to_text_with_len(secret, kPrefixLength));
		values[2] = CStringGetTextDatum(secret);
		int rc = SPI_execute_with_args(sql, nargs, const_cast<Oid *>(types), values, nulls, false, 1);
		if (rc != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "event: inserting the %s failed: %s", what, SPI_result_code_string(rc));
		if (SPI_processed == 1)
			break;
	}
	explicit_bzero(secret, sizeof(secret));
	return FirstJsonb();
}

} // namespace
} // namespace event::pg

using namespace event::pg;

// event.create_api_key(name, scopes, rate_limit): stores a new key and returns its secret once.
EVENT_FUNCTION(event_create_api_key) {
	text *name = KeyName(fcinfo, "API key");
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("scopes must not be null"),
		                errhint("Allowed values: read, write, admin.")));
	ArrayType *scopes = CanonicalScopes(PG_GETARG_ARRAYTYPE_P(1));
	bool has_limit = !PG_ARGISNULL(2);
	int32 rate_limit = has_limit ? PG_GETARG_INT32(2) : 0;
	if (has_limit && rate_limit <= 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid rate_limit \"%d\"", rate_limit),
		                errhint("Give requests per second greater than zero, or NULL for no limit.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	static const Oid kTypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT4OID};
	Datum values[5] = {PointerGetDatum(name), 0, 0, PointerGetDatum(scopes), Int32GetDatum(rate_limit)};
	char nulls[6] = "     ";
	nulls[4] = has_limit ? ' ' : 'n';
	Datum result = InsertNewKey(
		kSecretPrefix, "API key",
		"INSERT INTO event.api_keys AS k (id, name, prefix, secret_hash, scopes, rate_limit, created_at) "
		"VALUES (event.uuid_v7(), $1, $2, pg_catalog.sha256(pg_catalog.convert_to($3, 'UTF8')), $4, $5, "
		"pg_catalog.now()) ON CONFLICT (prefix) DO NOTHING "
		"RETURNING " API_KEY_JSON_SQL " - 'revoked_at' || pg_catalog.jsonb_build_object('secret', $3)",
		5, kTypes, values, nulls);
	SPI_finish();
	return result;
}

// event.revoke_api_key(key): revokes the key with this id or prefix; revoking again keeps the
// first revocation time. Unknown keys raise P0002.
EVENT_FUNCTION(event_revoke_api_key) {
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("key must not be null"),
		                errhint("Give the key's id or its prefix (event.list_api_keys).")));
	char *key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	// A key that looks like a whole secret is matched by its prefix too, so a leaked secret can be
	// revoked by pasting it; the secret itself is never compared in SQL.
	static const Oid kTypes[1] = {TEXTOID};
	Datum values[1] = {PointerGetDatum(cstring_to_text_with_len(key, strnlen(key, kPrefixLength)))};
	bool is_uuid = strlen(key) == 36 && strspn(key, "0123456789abcdefABCDEF-") == 36;
	const char *sql = is_uuid ? "UPDATE event.api_keys AS k SET revoked_at = COALESCE(k.revoked_at, pg_catalog.now()) "
	                            "WHERE k.id = $1::uuid RETURNING " API_KEY_JSON_SQL
	                          : "UPDATE event.api_keys AS k SET revoked_at = COALESCE(k.revoked_at, pg_catalog.now()) "
	                            "WHERE k.prefix = $1 RETURNING " API_KEY_JSON_SQL;
	if (is_uuid)
		values[0] = CStringGetTextDatum(key);
	else if (strlen(key) < kPrefixLength)
		ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND), errmsg("API key \"%s\" does not exist", key),
		                errhint("Give the key's id or its whole prefix of %d characters (event.list_api_keys).",
		                        kPrefixLength)));
	int rc = SPI_execute_with_args(sql, 1, const_cast<Oid *>(kTypes), values, nullptr, false, 1);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "event: revoking the API key failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
		                errmsg("API key \"%s\" does not exist", is_uuid ? key : TextDatumGetCString(values[0])),
		                errhint("Give the key's id or its prefix (event.list_api_keys).")));
	Datum result = FirstJsonb();
	SPI_finish();
	return result;
}

// event.create_write_key(name): a write key of the Segment/RudderStack tracking API
// (docs/collection.md), "ewk_" + 64 hex digits, stored like an API key (prefix + SHA-256 only);
// returns the secret once.
EVENT_FUNCTION(event_create_write_key) {
	text *name = KeyName(fcinfo, "write key");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	static const Oid kTypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum values[3] = {PointerGetDatum(name), 0, 0};
	Datum result = InsertNewKey(
		"ewk_", "write key",
		"INSERT INTO event.write_keys AS k (id, name, prefix, secret_hash, created_at) "
		"VALUES (event.uuid_v7(), $1, $2, pg_catalog.sha256(pg_catalog.convert_to($3, 'UTF8')), pg_catalog.now()) "
		"ON CONFLICT (prefix) DO NOTHING RETURNING pg_catalog.jsonb_build_object('id', k.id::text, 'name', k.name, "
		"'prefix', k.prefix, 'secret', $3, 'created_at', "
		"pg_catalog.to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))",
		3, kTypes, values, nullptr);
	SPI_finish();
	return result;
}
