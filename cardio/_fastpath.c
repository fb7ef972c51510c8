/*
 * cardio._fastpath: the credential verifier's hot path, compiled.
 *
 * Why C: an ES256 verify walks OpenSSL's precomputed tables and evicts the CPU caches, so the
 * Python that runs next (COSE parsing, CBOR decoding, claim checks) costs three to five times
 * what it costs in isolation. Done in Python the full verify path reached half of the raw
 * verify rate; these two small functions touch little memory and keep it above the 0.8 budget
 * (docs/benchmarks.md).
 *
 * sign1(data)    the fixed COSE_Sign1 shape every citycard credential has, or None for any
 *                other shape (cardio.cose.parse_sign1 then decides, slowly and in full).
 * claims(data)   the credential claims (docs/credential.md) decoded and checked in one pass
 *                over deterministic CBOR, all three variants (print, chip, compact chip);
 *                ValueError with a reason for anything else.
 * b64u_decode(t) strict base64url (the wallet formats' JWS and disclosures), or None.
 * der_signature  the DER form of a 64-byte ES256 signature, or None.
 * b64encode(data)  standard base64 text of bytes (a photo as a reader shows it).
 * json(data)     JSON in the subset citycard writes, as (value,), or None (json then decides).
 * mso(payload)   an mdoc MSO in the one shape citycard issues, or None (cbor2 then decides).
 * device_response(data)  an mdoc DeviceResponse in the one shape citycard's wallets write, or
 *                None (cbor2 then decides).
 * jws(token)     a compact ES256 JWS as cardio.jws.parse reads it, or None (it then decides).
 * disclosures(signed)  an SD-JWT's issued part as cardio.sdjwt.SdJwt.parse reads it, or None.
 * unfold(node, by_digest)  an SD-JWT payload with its digests replaced by the disclosures, and
 *                the digests used, or None (cardio.sdjwt._unfold then decides).
 * sd_presentation(text)  a citycard SD-JWT VC presentation read in one pass up to its signature
 *                checks, or None (cardio.presentation then reads and decides in full).
 *
 * Only deterministic encoding is accepted: definite lengths, minimal heads, map keys in
 * canonical (length-first) order, no tags, nothing after the map. The rules are those of
 * cardio.credential (Holder and Credential); tests/test_fastpath.py holds the two equal with a
 * reference decoder written on cbor2 and property tests.
 *
 * cardio/_fastpath_py.py is this module in pure Python, used where no compiler built it
 * (cardio.fastpath chooses): a change to a rule or message here is made there too, and the
 * same tests compare the two directly.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>

/* ---- limits (cardio/credential.py) ---------------------------------------------------- */

#define CC_MAX_INPUT (64 * 1024)
#define MAX_ISSUER 64
#define MAX_URI 200
#define MAX_NAME 100
#define MAX_PHOTO (8 * 1024)
#define MIN_UID 4
#define MAX_UID 10
#define MAX_ENTITLEMENTS 16
#define MAX_LANGUAGES 8
#define MAX_TIME 253402300800ULL /* 10000-01-01T00:00:00Z: every time has a date */
#define MIN_BIRTH_DAYS (-25567) /* 1900-01-01 */
#define MAX_BIRTH_DAYS 99999
#define MAX_LIST_ID 8 /* a compact credential's status list id */

/* ---- a minimal deterministic-CBOR reader ------------------------------------------------ */

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    const char *why; /* the first reason for refusing, for the ValueError */
} Reader;

static int fail(Reader *r, const char *why) {
    if (r->why == NULL) r->why = why;
    return -1;
}

/* One data item head: major type and argument, minimal encoding only, no indefinite lengths. */
static int head(Reader *r, int *major, uint64_t *arg) {
    if (r->p >= r->end) return fail(r, "the claims are truncated");
    uint8_t b = *r->p++;
    int info = b & 0x1f;
    *major = b >> 5;
    if (info < 24) {
        *arg = (uint64_t)info;
        return 0;
    }
    if (info > 27) return fail(r, "the claims use an indefinite length or a reserved head");
    size_t n = (size_t)1 << (info - 24);
    if ((size_t)(r->end - r->p) < n) return fail(r, "the claims are truncated");
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | r->p[i];
    r->p += n;
    static const uint64_t smallest[4] = {24, 0x100, 0x10000, 0x100000000ULL};
    if (v < smallest[info - 24]) return fail(r, "the claims are not in deterministic CBOR");
    *arg = v;
    return 0;
}

static int expect(Reader *r, int want_major, uint64_t *arg, const char *why) {
    int major;
    if (head(r, &major, arg) < 0) return -1;
    if (major != want_major) return fail(r, why);
    return 0;
}

static int uint_below(Reader *r, uint64_t limit, uint64_t *out, const char *why) {
    if (expect(r, 0, out, why) < 0) return -1;
    if (*out >= limit) return fail(r, why);
    return 0;
}

/* The span of a definite byte or text string whose head was just read. */
static int span(Reader *r, uint64_t len, const uint8_t **start) {
    if ((uint64_t)(r->end - r->p) < len) return fail(r, "the claims are truncated");
    *start = r->p;
    r->p += len;
    return 0;
}

static PyObject *read_bytes(Reader *r, uint64_t min, uint64_t max, const char *why) {
    uint64_t len;
    const uint8_t *s;
    if (expect(r, 2, &len, why) < 0 || span(r, len, &s) < 0) return NULL;
    if (len < min || len > max) return fail(r, why), NULL;
    return PyBytes_FromStringAndSize((const char *)s, (Py_ssize_t)len);
}

/* A text string as str; strict UTF-8 (no surrogates, no overlong forms) like cbor2's. */
static PyObject *read_text(Reader *r, Py_ssize_t min_chars, Py_ssize_t max_chars, const char *why) {
    uint64_t len;
    const uint8_t *s;
    if (expect(r, 3, &len, why) < 0 || span(r, len, &s) < 0) return NULL;
    if (len > (uint64_t)max_chars * 4) return fail(r, why), NULL;
    PyObject *text = PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)len, "strict");
    if (text == NULL) {
        PyErr_Clear();
        return fail(r, "a text claim is not valid UTF-8"), NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n < min_chars || n > max_chars) {
        Py_DECREF(text);
        return fail(r, why), NULL;
    }
    return text;
}

/* An ASCII text string matched by a small pattern checker, as str. */
typedef int (*AsciiCheck)(const uint8_t *s, size_t n);

static PyObject *read_ascii(Reader *r, AsciiCheck ok, const char *why) {
    uint64_t len;
    const uint8_t *s;
    if (expect(r, 3, &len, why) < 0 || span(r, len, &s) < 0) return NULL;
    if (len > 64 || !ok(s, (size_t)len)) return fail(r, why), NULL;
    return PyUnicode_DecodeASCII((const char *)s, (Py_ssize_t)len, "strict");
}

static int is_lower_digit(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static int is_alpha(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_alnum(uint8_t c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

/* [a-z0-9][a-z0-9-]{0,31}: programme ids and entitlement codes */
static int code_ok(const uint8_t *s, size_t n) {
    if (n < 1 || n > 32 || !is_lower_digit(s[0])) return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_lower_digit(s[i]) && s[i] != '-') return 0;
    return 1;
}

/* [A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}: language tags */
static int lang_ok(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n && is_alpha(s[i])) i++;
    if (i < 2 || i > 3) return 0;
    for (int sub = 0; i < n; sub++) {
        if (sub == 3 || s[i] != '-') return 0;
        size_t start = ++i;
        while (i < n && is_alnum(s[i])) i++;
        if (i - start < 1 || i - start > 8) return 0;
    }
    return 1;
}

/* [A-Z0-9-]{4,24}: document numbers */
static int docno_ok(const uint8_t *s, size_t n) {
    if (n < 4 || n > 24) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return 0;
    return 1;
}

/* [a-z0-9][a-z0-9-]{0,7}: a compact credential's status list id */
static int list_id_ok(const uint8_t *s, size_t n) { return n <= MAX_LIST_ID && code_ok(s, n); }

/* The compact credential's entitlement numbers (docs/credential.md section 2.1): number i is
 * ENTITLEMENT_CODES[i]. Only ever appended to; the same table as cardio/_fastpath_py.py's. */
static const char *const ENTITLEMENT_CODES[] = {
    "bank-account", "budget", "civic-workshops", "community-college", "culture",
    "culture-discount", "culture-free", "culture-offers", "digital-space", "education-discount",
    "employment-agency", "food-assistance", "health-services", "language-courses",
    "leisure-discount", "library", "municipal-services", "museum", "pharmacy-discount", "pool",
    "school-id", "shelter", "sport", "sport-discount", "sport-offers", "theatre", "transport",
};
#define N_ENTITLEMENT_CODES (sizeof ENTITLEMENT_CODES / sizeof ENTITLEMENT_CODES[0])

/* Characters with no place in a printed name: Unicode categories Cc, Cf, Cs, Co (but ZWNJ and
 * ZWJ, which Persian and Indic names need), Zl and Zp, as of Python 3.11's unicodedata.
 * tests/test_fastpath.py derives the same table from unicodedata and compares. */
static const uint32_t BAD_NAME_RANGES[][2] = {
    {0x0000, 0x001f},   {0x007f, 0x009f},   {0x00ad, 0x00ad},   {0x0600, 0x0605},
    {0x061c, 0x061c},   {0x06dd, 0x06dd},   {0x070f, 0x070f},   {0x0890, 0x0891},
    {0x08e2, 0x08e2},   {0x180e, 0x180e},   {0x200b, 0x200b},   {0x200e, 0x200f},
    {0x2028, 0x202e},   {0x2060, 0x2064},   {0x2066, 0x206f},   {0xd800, 0xf8ff},
    {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
    {0x13430, 0x13438}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
    {0xe0020, 0xe007f}, {0xf0000, 0xffffd}, {0x100000, 0x10fffd},
};

static int bad_name_char(Py_UCS4 ch) {
    size_t lo = 0, hi = sizeof BAD_NAME_RANGES / sizeof BAD_NAME_RANGES[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ch < BAD_NAME_RANGES[mid][0])
            hi = mid;
        else if (ch > BAD_NAME_RANGES[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* A family or given name: 1 to 100 characters, not only white space, nothing invisible. */
static int name_ok(PyObject *name) {
    int kind = PyUnicode_KIND(name);
    const void *data = PyUnicode_DATA(name);
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    int blank = 1;
    if (n < 1 || n > MAX_NAME) return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch < 0x80 ? (ch < 0x20 || ch == 0x7f) : bad_name_char(ch)) return 0;
        if (blank && !Py_UNICODE_ISSPACE(ch)) blank = 0;
    }
    return !blank;
}

static PyObject *read_name(Reader *r) {
    const char *why = "a name is empty, too long or holds invisible characters";
    PyObject *name = read_text(r, 1, MAX_NAME, why);
    if (name != NULL && !name_ok(name)) {
        Py_DECREF(name);
        return fail(r, why), NULL;
    }
    return name;
}

/* An array of up to `max` ASCII codes as a tuple of str. */
static PyObject *read_codes(Reader *r, uint64_t max, AsciiCheck ok, const char *why) {
    uint64_t count;
    if (expect(r, 4, &count, why) < 0) return NULL;
    if (count > max) return fail(r, why), NULL;
    PyObject *tuple = PyTuple_New((Py_ssize_t)count);
    if (tuple == NULL) return NULL;
    for (uint64_t i = 0; i < count; i++) {
        PyObject *code = read_ascii(r, ok, why);
        if (code == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, (Py_ssize_t)i, code);
    }
    return tuple;
}

/* Exactly these encoded bytes next (fixed keys and values). */
static int literal(Reader *r, const char *bytes, size_t n, const char *why) {
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, bytes, n) != 0) return fail(r, why);
    r->p += n;
    return 0;
}

#define LITERAL(r, s, why) literal((r), (s), sizeof(s) - 1, (why))

/* A map key that must be an integer; its index in `order` (canonical order), or -1. */
static int int_key(Reader *r, const int64_t *order, int count) {
    int major;
    uint64_t arg;
    if (head(r, &major, &arg) < 0) return -1;
    if (major != 0 && major != 1) return fail(r, "a claim key is not an integer");
    if (arg > INT64_MAX) return fail(r, "the credential has an unexpected claim");
    int64_t key = major == 0 ? (int64_t)arg : -1 - (int64_t)arg;
    for (int i = 0; i < count; i++)
        if (order[i] == key) return i;
    return fail(r, "the credential has an unexpected claim");
}

/* ---- the result type ---------------------------------------------------------------------- */

static PyTypeObject *ClaimsType;

enum {
    F_ISSUER, F_DOCUMENT_NUMBER, F_ISSUED_AT, F_EXPIRES_AT, F_STATUS_INDEX, F_STATUS_URI,
    F_VARIANT, F_PROGRAM, F_FAMILY_NAME, F_GIVEN_NAME, F_BIRTH_DAYS, F_SEX, F_ENTITLEMENTS,
    F_LANGUAGES, F_PHOTO, F_CHIP_UID, F_CHIP_KEY, N_FIELDS
};

static PyStructSequence_Field claims_fields[] = {
    {"issuer", "iss (1)"},
    {"document_number", "cti (7), ASCII"},
    {"issued_at", "iat (6), seconds since 1970"},
    {"expires_at", "exp (4), seconds since 1970"},
    {"status_index", "status (65535) idx"},
    {"status_uri", "status (65535) uri; a compact credential's status list id"},
    {"variant", "0 print, 1 chip, 2 compact chip"},
    {"program", "programme id"},
    {"family_name", "None in a compact credential"},
    {"given_name", "None in a compact credential"},
    {"birth_days", "birth date as days since 1970-01-01; None in a compact credential"},
    {"sex", "F, M, X or None"},
    {"entitlements", "tuple of codes"},
    {"languages", "tuple of language tags"},
    {"photo", "JPEG bytes or None"},
    {"chip_uid", "the bound chip UID or None"},
    {"chip_key", "(x, y) of the bound chip key or None"},
    {NULL, NULL},
};

static PyStructSequence_Desc claims_desc = {
    "cardio._fastpath.Claims",
    "The credential claims, decoded and checked (docs/credential.md).",
    claims_fields,
    N_FIELDS,
};

/* ---- claims ------------------------------------------------------------------------------- */

/* Top-level claim keys in canonical order: iss exp iat cti cnf status card. */
static const int64_t TOP_ORDER[] = {1, 4, 6, 7, 8, 65535, -65537};
enum { T_ISS, T_EXP, T_IAT, T_CTI, T_CNF, T_STATUS, T_CARD, N_TOP };
/* Card fields 0..10: variant program family given birth sex photo entitlements languages uid
 * status (10: the compact credential's status reference only). */
static const int64_t CARD_ORDER[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
enum { C_VARIANT, C_PROGRAM, C_FAMILY, C_GIVEN, C_BIRTH, C_SEX, C_PHOTO, C_ENT, C_LANG, C_UID, C_STATUS, N_CARD };
static const int CARD_FIELD[] = {F_VARIANT, F_PROGRAM, F_FAMILY_NAME, F_GIVEN_NAME, F_BIRTH_DAYS,
                                 F_SEX, F_PHOTO, F_ENTITLEMENTS, F_LANGUAGES, F_CHIP_UID};
#define VARIANT_COMPACT 2

/* The compact credential's entitlement numbers: 1 to 16, known, strictly increasing; as codes. */
static PyObject *read_entitlement_numbers(Reader *r) {
    const char *why = "the entitlement numbers are not 1 to 16 known numbers in increasing order";
    uint64_t count, v;
    if (expect(r, 4, &count, why) < 0) return NULL;
    if (count < 1 || count > MAX_ENTITLEMENTS) return fail(r, why), NULL;
    PyObject *tuple = PyTuple_New((Py_ssize_t)count);
    if (tuple == NULL) return NULL;
    uint64_t next = 0;
    for (uint64_t i = 0; i < count; i++) {
        PyObject *code = NULL;
        if (uint_below(r, N_ENTITLEMENT_CODES, &v, why) == 0) {
            if (v < next)
                fail(r, why);
            else
                code = PyUnicode_FromString(ENTITLEMENT_CODES[v]);
        }
        if (code == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, (Py_ssize_t)i, code);
        next = v + 1;
    }
    return tuple;
}

/* The rest of a compact card claim (variant 2, already read): programme, entitlement numbers
 * (when count is 5), chip UID, status [list id, idx]; in exactly that order. */
static int read_compact_card(Reader *r, PyObject **f, uint64_t count) {
    const char *why = "the compact card claim is not programme, entitlements, chip UID and status";
    static const int with_ent[] = {C_PROGRAM, C_ENT, C_UID, C_STATUS};
    static const int without_ent[] = {C_PROGRAM, C_UID, C_STATUS};
    if (count != 4 && count != 5) return fail(r, why);
    const int *keys = count == 5 ? with_ent : without_ent;
    for (uint64_t i = 0; i + 1 < count; i++) {
        int k = int_key(r, CARD_ORDER, N_CARD);
        if (k < 0) return -1;
        if (k != keys[i]) return fail(r, why);
        uint64_t v;
        switch (k) {
        case C_PROGRAM:
            f[F_PROGRAM] = read_ascii(r, code_ok, "the programme id is not a short lower-case code");
            if (f[F_PROGRAM] == NULL) return -1;
            break;
        case C_ENT:
            if ((f[F_ENTITLEMENTS] = read_entitlement_numbers(r)) == NULL) return -1;
            break;
        case C_UID:
            f[F_CHIP_UID] = read_bytes(r, MIN_UID, MAX_UID, "the chip UID is not 4 to 10 bytes");
            if (f[F_CHIP_UID] == NULL) return -1;
            break;
        default: /* C_STATUS: [list id, idx] */
            {
                const char *status_why = "the compact status is not a list id and an index";
                if (LITERAL(r, "\x82", status_why) < 0) return -1;
                /* a compact card inside claims that also hold claim 65535 is refused after the
                 * map is read (as in Python); the values that claim gave are dropped here */
                Py_CLEAR(f[F_STATUS_URI]);
                Py_CLEAR(f[F_STATUS_INDEX]);
                if ((f[F_STATUS_URI] = read_ascii(r, list_id_ok, status_why)) == NULL) return -1;
                if (uint_below(r, (uint64_t)1 << 32, &v, status_why) < 0) return -1;
                if ((f[F_STATUS_INDEX] = PyLong_FromUnsignedLongLong(v)) == NULL) return -1;
            }
            break;
        }
    }
    return 0;
}

static int read_card(Reader *r, PyObject **f) {
    uint64_t count, v;
    if (expect(r, 5, &count, "the card claim is not a map") < 0) return -1;
    if (count < 4 || count > 10) return fail(r, "the card claim has missing or unexpected fields");
    int k = int_key(r, CARD_ORDER, N_CARD);
    if (k < 0) return -1;
    if (k != C_VARIANT) return fail(r, "the card claim has missing fields");
    if (uint_below(r, 3, &v, "the card variant is not 0, 1 or 2") < 0) return -1;
    if ((f[F_VARIANT] = PyLong_FromUnsignedLongLong(v)) == NULL) return -1;
    if (v == VARIANT_COMPACT) return read_compact_card(r, f, count);
    if (count < 5) return fail(r, "the card claim has missing or unexpected fields");
    int last = C_VARIANT;
    for (uint64_t i = 1; i < count; i++) {
        k = int_key(r, CARD_ORDER, N_CARD);
        if (k < 0) return -1;
        if (k <= last) return fail(r, "the card fields are repeated or out of order");
        if (k > C_BIRTH && i < 5) return fail(r, "the card claim has missing fields");
        if (k == C_STATUS) return fail(r, "the credential has an unexpected claim");
        last = k;
        PyObject **field = &f[CARD_FIELD[k]];
        int major;
        switch (k) {
        case C_PROGRAM:
            *field = read_ascii(r, code_ok, "the programme id is not a short lower-case code");
            break;
        case C_FAMILY:
        case C_GIVEN:
            *field = read_name(r);
            break;
        case C_BIRTH:
            if (head(r, &major, &v) < 0) return -1;
            if (major == 0 && v <= MAX_BIRTH_DAYS)
                *field = PyLong_FromLongLong((long long)v);
            else if (major == 1 && v < (uint64_t)-MIN_BIRTH_DAYS)
                *field = PyLong_FromLongLong(-1 - (long long)v);
            else
                return fail(r, "the birth date is not a day after 1900-01-01");
            break;
        case C_SEX:
            /* a one-letter text string: F, M or X */
            if (r->end - r->p < 2 || r->p[0] != 0x61 || !memchr("FMX", r->p[1], 3))
                return fail(r, "sex is not F, M or X");
            *field = PyUnicode_FromStringAndSize((const char *)r->p + 1, 1);
            r->p += 2;
            break;
        case C_PHOTO:
            *field = read_bytes(r, 1, MAX_PHOTO, "the photo is not 1 to 8192 bytes");
            break;
        case C_ENT:
            *field = read_codes(r, MAX_ENTITLEMENTS, code_ok, "the entitlements are not up to 16 codes");
            break;
        case C_LANG:
            *field = read_codes(r, MAX_LANGUAGES, lang_ok, "the languages are not up to 8 language tags");
            break;
        case C_UID:
            *field = read_bytes(r, MIN_UID, MAX_UID, "the chip UID is not 4 to 10 bytes");
            break;
        }
        if (*field == NULL) return -1;
    }
    return 0;
}

/* cnf: {1: {1: 2, -1: 1, -2: x, -3: y}}, an EC2 P-256 COSE_Key (RFC 8747). */
static int read_cnf(Reader *r, PyObject **f) {
    const char *why = "the chip key claim is not a P-256 COSE_Key confirmation";
    if (LITERAL(r, "\xa1\x01\xa4\x01\x02\x20\x01\x21", why) < 0) return -1;
    PyObject *x = read_bytes(r, 32, 32, why);
    if (x == NULL) return -1;
    if (LITERAL(r, "\x22", why) < 0) {
        Py_DECREF(x);
        return -1;
    }
    PyObject *y = read_bytes(r, 32, 32, why);
    if (y == NULL) {
        Py_DECREF(x);
        return -1;
    }
    f[F_CHIP_KEY] = PyTuple_Pack(2, x, y);
    Py_DECREF(x);
    Py_DECREF(y);
    return f[F_CHIP_KEY] == NULL ? -1 : 0;
}

static int read_claims(Reader *r, PyObject **f) {
    uint64_t count, v, iat = 0, exp = 0;
    if (expect(r, 5, &count, "the credential claims are not a map") < 0) return -1;
    if (count < 5 || count > 7) return fail(r, "the credential has missing or unexpected claims");
    int last = -1;
    for (uint64_t i = 0; i < count; i++) {
        int k = int_key(r, TOP_ORDER, N_TOP);
        if (k < 0) return -1;
        if (k <= last) return fail(r, "the claims are repeated or out of order");
        if (count == 6 && k == T_CNF) return fail(r, "the credential has missing claims");
        if (count == 5 && (k == T_CNF || k == T_STATUS)) return fail(r, "the credential has missing claims");
        last = k;
        switch (k) {
        case T_ISS:
            if ((f[F_ISSUER] = read_text(r, 1, MAX_ISSUER, "the issuer is not a short text")) == NULL) return -1;
            break;
        case T_EXP:
            if (uint_below(r, MAX_TIME, &exp, "the expiry time is not a time") < 0) return -1;
            break;
        case T_IAT:
            if (uint_below(r, MAX_TIME, &iat, "the issue time is not a time") < 0) return -1;
            break;
        case T_CTI:
            {
                uint64_t len;
                const uint8_t *s;
                const char *why = "the document number is not 4 to 24 capital letters, digits or '-'";
                if (expect(r, 2, &len, why) < 0 || span(r, len, &s) < 0) return -1;
                if (!docno_ok(s, (size_t)len)) return fail(r, why);
                if ((f[F_DOCUMENT_NUMBER] = PyUnicode_DecodeASCII((const char *)s, (Py_ssize_t)len, "strict")) == NULL)
                    return -1;
            }
            break;
        case T_CNF:
            if (read_cnf(r, f) < 0) return -1;
            break;
        case T_STATUS:
            {
                const char *why = "the status claim is not a status list reference";
                /* {"status_list": {"idx": uint, "uri": text}} */
                if (LITERAL(r, "\xa1\x6bstatus_list\xa2\x63idx", why) < 0) return -1;
                if (uint_below(r, (uint64_t)1 << 32, &v, why) < 0) return -1;
                if ((f[F_STATUS_INDEX] = PyLong_FromUnsignedLongLong(v)) == NULL) return -1;
                if (LITERAL(r, "\x63uri", why) < 0) return -1;
                if ((f[F_STATUS_URI] = read_text(r, 1, MAX_URI, why)) == NULL) return -1;
            }
            break;
        case T_CARD:
            if (read_card(r, f) < 0) return -1;
            break;
        }
    }
    if (r->p != r->end) return fail(r, "the claims have trailing bytes");
    if (exp <= iat) return fail(r, "the card expires before it was issued");
    if ((f[F_ISSUED_AT] = PyLong_FromUnsignedLongLong(iat)) == NULL) return -1;
    if ((f[F_EXPIRES_AT] = PyLong_FromUnsignedLongLong(exp)) == NULL) return -1;
    long variant = PyLong_AsLong(f[F_VARIANT]);
    /* a compact credential carries its status in the card claim, and only it has no claim 65535 */
    if ((variant == VARIANT_COMPACT) != (count == 5))
        return fail(r, "the credential has missing or unexpected claims");
    int chip = variant != 0;
    int bound = f[F_CHIP_UID] != NULL || f[F_CHIP_KEY] != NULL;
    if (f[F_CHIP_UID] != NULL && f[F_CHIP_KEY] != NULL)
        return fail(r, "a chip binding names exactly one of a UID or a chip key");
    if (chip && !bound) return fail(r, "a chip credential must be bound to its chip");
    if (!chip && (bound || f[F_PHOTO] != NULL))
        return fail(r, "a print credential carries neither a photo nor a chip binding");
    return 0;
}

static PyObject *fastpath_claims(PyObject *module, PyObject *arg) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len > CC_MAX_INPUT) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "the claims are larger than 65536 bytes");
        return NULL;
    }
    Reader r = {(const uint8_t *)view.buf, (const uint8_t *)view.buf + view.len, NULL};
    PyObject *f[N_FIELDS] = {NULL};
    int rc = read_claims(&r, f);
    PyBuffer_Release(&view);
    PyObject *out = NULL;
    if (rc == 0) {
        out = PyStructSequence_New(ClaimsType);
        if (out != NULL) {
            for (int i = 0; i < N_FIELDS; i++) {
                PyObject *value = f[i];
                if (value == NULL) {
                    if (i == F_ENTITLEMENTS || i == F_LANGUAGES)
                        value = PyTuple_New(0);
                    else
                        value = Py_NewRef(Py_None);
                    f[i] = value;
                }
                PyStructSequence_SET_ITEM(out, i, Py_NewRef(value));
            }
        }
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, r.why ? r.why : "the credential claims are malformed");
    }
    for (int i = 0; i < N_FIELDS; i++) Py_XDECREF(f[i]);
    return out;
}

/* ---- COSE_Sign1 ----------------------------------------------------------------------------- */

/* tag 18, array of 4, protected bstr(13) = {1: -7, 4: bstr(8) kid} */
static const uint8_t SIGN1_START[] = {0xd2, 0x84, 0x4d, 0xa2, 0x01, 0x26, 0x04, 0x48};
#define KID_LEN 8
#define PROTECTED_AT 3
#define PROTECTED_LEN 13

/* Sig_structure = ["Signature1", protected, h'', payload] */
static const uint8_t SIG1_CONTEXT[] = {0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1'};

static size_t put_head(uint8_t *out, int major, size_t len) {
    uint8_t mt = (uint8_t)(major << 5);
    if (len < 24) {
        out[0] = mt | (uint8_t)len;
        return 1;
    }
    if (len < 0x100) {
        out[0] = mt | 24;
        out[1] = (uint8_t)len;
        return 2;
    }
    out[0] = mt | 25; /* payloads stay below 64 KB */
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    return 3;
}

/* One DER INTEGER from 32 unsigned big-endian bytes. */
static size_t der_integer(uint8_t *out, const uint8_t *v) {
    size_t skip = 0;
    while (skip < 31 && v[skip] == 0) skip++;
    size_t n = 32 - skip;
    int pad = v[skip] & 0x80 ? 1 : 0;
    out[0] = 0x02;
    out[1] = (uint8_t)(n + (size_t)pad);
    if (pad) out[2] = 0;
    memcpy(out + 2 + pad, v + skip, n);
    return 2 + (size_t)pad + n;
}

static PyObject *fastpath_sign1(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_CheckExact(arg)) Py_RETURN_NONE;
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(arg);
    size_t n = (size_t)PyBytes_GET_SIZE(arg);
    if (n > CC_MAX_INPUT || n < sizeof SIGN1_START + KID_LEN + 1 + 1 + 66) Py_RETURN_NONE;
    if (memcmp(d, SIGN1_START, sizeof SIGN1_START) != 0) Py_RETURN_NONE;
    size_t pos = sizeof SIGN1_START + KID_LEN;
    if (d[pos++] != 0xa0) Py_RETURN_NONE; /* empty unprotected header */
    /* payload: a definite byte string with a minimal head */
    uint8_t b = d[pos++];
    if (b >> 5 != 2) Py_RETURN_NONE;
    size_t len, info = b & 0x1f;
    if (info < 24) {
        len = info;
    } else if (info == 24 && pos < n) {
        len = d[pos++];
        if (len < 24) Py_RETURN_NONE;
    } else if (info == 25 && pos + 1 < n) {
        len = ((size_t)d[pos] << 8) | d[pos + 1];
        pos += 2;
        if (len < 0x100) Py_RETURN_NONE;
    } else {
        Py_RETURN_NONE;
    }
    if (n - pos < len || n - pos - len != 66) Py_RETURN_NONE;
    const uint8_t *payload = d + pos;
    const uint8_t *sig = payload + len + 2;
    if (payload[len] != 0x58 || payload[len + 1] != 0x40) Py_RETURN_NONE;

    PyObject *kid = PyBytes_FromStringAndSize((const char *)d + sizeof SIGN1_START, KID_LEN);
    PyObject *payload_obj = PyBytes_FromStringAndSize((const char *)payload, (Py_ssize_t)len);
    size_t tbs_len = sizeof SIG1_CONTEXT + 1 + PROTECTED_LEN + 1 + 3 + len;
    PyObject *tbs = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)tbs_len);
    uint8_t der[72];
    size_t der_len = 2;
    der_len += der_integer(der + der_len, sig);
    der_len += der_integer(der + der_len, sig + 32);
    der[0] = 0x30;
    der[1] = (uint8_t)(der_len - 2);
    PyObject *der_obj = PyBytes_FromStringAndSize((const char *)der, (Py_ssize_t)der_len);
    if (kid == NULL || payload_obj == NULL || tbs == NULL || der_obj == NULL) {
        Py_XDECREF(kid);
        Py_XDECREF(payload_obj);
        Py_XDECREF(tbs);
        Py_XDECREF(der_obj);
        return NULL;
    }
    uint8_t *t = (uint8_t *)PyBytes_AS_STRING(tbs);
    size_t at = 0;
    memcpy(t, SIG1_CONTEXT, sizeof SIG1_CONTEXT);
    at += sizeof SIG1_CONTEXT;
    at += put_head(t + at, 2, PROTECTED_LEN);
    memcpy(t + at, d + PROTECTED_AT, PROTECTED_LEN);
    at += PROTECTED_LEN;
    t[at++] = 0x40;
    at += put_head(t + at, 2, len);
    memcpy(t + at, payload, len);
    at += len;
    if (_PyBytes_Resize(&tbs, (Py_ssize_t)at) < 0) {
        Py_DECREF(kid);
        Py_DECREF(payload_obj);
        Py_DECREF(der_obj);
        return NULL;
    }
    PyObject *out = PyTuple_New(4);
    if (out == NULL) {
        Py_DECREF(kid);
        Py_DECREF(payload_obj);
        Py_DECREF(tbs);
        Py_DECREF(der_obj);
        return NULL;
    }
    PyTuple_SET_ITEM(out, 0, kid);
    PyTuple_SET_ITEM(out, 1, tbs);
    PyTuple_SET_ITEM(out, 2, der_obj);
    PyTuple_SET_ITEM(out, 3, payload_obj);
    return out;
}

/* YYYY-MM-DD of a day number since 1970-01-01 (H. Hinnant's civil_from_days). In C because a
 * reader formats three dates per VALID verdict, and datetime.date costs several microseconds
 * each right after a signature check. */
static PyObject *fastpath_iso_day(PyObject *module, PyObject *arg) {
    (void)module;
    long long days = PyLong_AsLongLong(arg);
    if (days == -1 && PyErr_Occurred()) return NULL;
    if (days < -719162 || days > 2932896) { /* 0001-01-01 .. 9999-12-31, like datetime.date */
        PyErr_SetString(PyExc_ValueError, "the day is outside the years 1 to 9999");
        return NULL;
    }
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;
    long long y = yoe + era * 400 + (m <= 2);
    char text[10] = {
        (char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
        (char)('0' + y % 10), '-', (char)('0' + m / 10), (char)('0' + m % 10), '-',
        (char)('0' + d / 10), (char)('0' + d % 10),
    };
    return PyUnicode_FromStringAndSize(text, 10);
}

static PyObject *fastpath_name_ok(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyUnicode_Check(arg)) Py_RETURN_FALSE;
    return PyBool_FromLong(name_ok(arg));
}

/* ---- the wallet formats: strict base64url and ES256 signatures ------------------------------ */

/* The alphabets of base64 and base64url (RFC 4648 sections 4 and 5). */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64U[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Each base64url character's value; -1 for every other byte. Filled at import. */
static int8_t B64U_VALUE[256];
/* The same values already shifted to their place in a group's 24 bits, one table per position
 * in the group of four; every other byte has bit 31 set (B64U_BAD), which no shift of a value
 * reaches. Four loads and three ORs per group instead of masks and shifts: the decode of a
 * presentation's 5 KB photo disclosure was an eighth of its one-pass read. */
static uint32_t B64U_PLACED[4][256];
#define B64U_BAD 0x80000000u

static void fill_b64u_table(void) {
    memset(B64U_VALUE, -1, sizeof B64U_VALUE);
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < 256; c++) B64U_PLACED[k][c] = B64U_BAD;
    for (int i = 0; i < 64; i++) {
        uint8_t c = (uint8_t)B64U[i];
        B64U_VALUE[c] = (int8_t)i;
        for (int k = 0; k < 4; k++) B64U_PLACED[k][c] = (uint32_t)i << (18 - 6 * k);
    }
}

/* Strict base64url without padding, as cardio.jwk.b64u_decode reads it: only the alphabet, no
 * length of 4k+1, zero unused bits in the last character (one value, one text). In C because
 * binascii's strict decoder goes byte by byte and an SD-JWT presentation carries a 5 KB photo
 * disclosure; None for any text that is not such base64url, so the caller says why. */
static PyObject *b64u_span(const uint8_t *s, size_t n);

static PyObject *fastpath_b64u_decode(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyUnicode_Check(arg) || !PyUnicode_IS_ASCII(arg)) Py_RETURN_NONE;
    return b64u_span((const uint8_t *)PyUnicode_DATA(arg), (size_t)PyUnicode_GET_LENGTH(arg));
}

/* The length b64u_into writes for n characters (n % 4 != 1). */
static size_t b64u_length(size_t n) { return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0); }

/* b64u_decode of the n ASCII characters at s into o (b64u_length(n) bytes): 0, or -1 when
 * they are not strict base64url (o then holds garbage). */
static int b64u_into(const uint8_t *s, size_t n, uint8_t *o) {
    size_t tail = n % 4, whole = n - tail;
    if (tail == 1) return -1;
    uint32_t placed_bad = 0;
    for (size_t i = 0; i < whole; i += 4, o += 3) {
        uint32_t v = B64U_PLACED[0][s[i]] | B64U_PLACED[1][s[i + 1]] | B64U_PLACED[2][s[i + 2]]
                     | B64U_PLACED[3][s[i + 3]];
        placed_bad |= v; /* bit 31 from any byte outside the alphabet */
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
    }
    int bad = (placed_bad & B64U_BAD) ? -1 : 0;
    if (tail) {
        int a = B64U_VALUE[s[whole]], b = B64U_VALUE[s[whole + 1]];
        int c = tail == 3 ? B64U_VALUE[s[whole + 2]] : 0;
        bad |= a | b | c;
        /* the bits after the last whole byte must be zero: 4 of the second character's, or 2 of
         * the third's */
        if (tail == 2 ? (b & 0x0f) : (c & 0x03)) bad = -1;
        *o++ = (uint8_t)(((a & 63) << 2) | ((b & 63) >> 4));
        if (tail == 3) *o++ = (uint8_t)(((b & 0x0f) << 4) | ((c & 63) >> 2));
    }
    return bad < 0 ? -1 : 0;
}

/* b64u_decode of the n ASCII characters at s: bytes, or None. */
static PyObject *b64u_span(const uint8_t *s, size_t n) {
    if (n % 4 == 1) Py_RETURN_NONE;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)b64u_length(n));
    if (out == NULL) return NULL;
    if (b64u_into(s, n, (uint8_t *)PyBytes_AS_STRING(out)) < 0) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

/* b64encode(data) -> standard base64 with padding, as base64.b64encode(data).decode("ascii"):
 * how a reader shows a photo (`photo_base64`). In C because binascii encodes bit by bit and
 * a verify that shows the chip's 3 KB photo spent more on that than on its claim checks. */
/* The n bytes at d in `alphabet` (B64 or B64U) at o: 4 characters per 3 bytes, the last group
 * cut short (pad 0: (4n + 2) / 3 characters) or filled with '=' (pad 1: 4 * ceil(n / 3)). */
static void b64_encode(const uint8_t *d, size_t n, uint8_t *o, const char *alphabet, int pad) {
    size_t whole = n - n % 3;
    for (size_t i = 0; i < whole; i += 3, o += 4) {
        uint32_t v = ((uint32_t)d[i] << 16) | ((uint32_t)d[i + 1] << 8) | d[i + 2];
        o[0] = (uint8_t)alphabet[v >> 18];
        o[1] = (uint8_t)alphabet[(v >> 12) & 63];
        o[2] = (uint8_t)alphabet[(v >> 6) & 63];
        o[3] = (uint8_t)alphabet[v & 63];
    }
    if (n == whole) return;
    uint32_t v = (uint32_t)d[whole] << 16 | (n - whole == 2 ? (uint32_t)d[whole + 1] << 8 : 0);
    *o++ = (uint8_t)alphabet[v >> 18];
    *o++ = (uint8_t)alphabet[(v >> 12) & 63];
    if (n - whole == 2) *o++ = (uint8_t)alphabet[(v >> 6) & 63];
    else if (pad) *o++ = '=';
    if (pad) *o = '=';
}

static PyObject *fastpath_b64encode(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_CheckExact(arg)) {
        PyErr_SetString(PyExc_TypeError, "b64encode() takes bytes");
        return NULL;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    if (n > PY_SSIZE_T_MAX / 4 * 3 - 3) return PyErr_NoMemory();
    PyObject *out = PyUnicode_New((n + 2) / 3 * 4, 127);
    if (out != NULL)
        b64_encode((const uint8_t *)PyBytes_AS_STRING(arg), (size_t)n, PyUnicode_DATA(out), B64, 1);
    return out;
}

/* The DER ECDSA-Sig-Value of a JOSE/COSE signature (r || s, 32 bytes each), what OpenSSL's
 * verify takes; None for anything but 64 bytes. */
static PyObject *fastpath_der_signature(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_Check(arg) || PyBytes_GET_SIZE(arg) != 64) Py_RETURN_NONE;
    const uint8_t *sig = (const uint8_t *)PyBytes_AS_STRING(arg);
    uint8_t der[72];
    size_t der_len = 2;
    der_len += der_integer(der + der_len, sig);
    der_len += der_integer(der + der_len, sig + 32);
    der[0] = 0x30;
    der[1] = (uint8_t)(der_len - 2);
    return PyBytes_FromStringAndSize((const char *)der, (Py_ssize_t)der_len);
}

/* ---- JSON in the form citycard writes it ---------------------------------------------------- */

/* json(data) -> (value,) for UTF-8 JSON in the subset cardio.jws.json_bytes writes for
 * citycard's own tokens and disclosures: no white space between tokens, strings without
 * escapes or control characters, integers of at most 18 digits, true/false/null, objects
 * (no member named twice) and arrays nested at most 32 deep. None for anything else:
 * cardio.jws.loads_json then reads it with the json module, which decides. In C because the
 * json module calls its duplicate-key hook in Python for every object, and an SD-JWT verify
 * reads six JSON texts right after signature checks. */

#define JSON_MAX_DEPTH 32

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    int depth;
} JReader;

static PyObject *json_value(JReader *r);

/* Nonzero when one of the 8 bytes of w is a quote, a backslash, a control character or not
 * ASCII: what ends json_string's quick scan. */
static int json_special(uint64_t w) {
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
    return (((quote - ones) & ~quote) | ((slash - ones) & ~slash) | (w - ones * 0x20) | w) & high ? 1 : 0;
}

/* NULL without an exception set: not in the subset (the caller returns None). */
static PyObject *json_string(JReader *r) {
    const uint8_t *start = ++r->p; /* after the quote */
    /* a photo's 4 KB of base64 is one string: plain ASCII is checked 8 bytes at a time and
     * copied, not decoded */
    uint64_t w;
    while (r->end - r->p >= 8 && (memcpy(&w, r->p, 8), !json_special(w))) r->p += 8;
    while (r->p < r->end && *r->p >= 0x20 && *r->p < 0x80 && *r->p != '"' && *r->p != '\\') r->p++;
    if (r->p < r->end && *r->p == '"') {
        PyObject *text = PyUnicode_New(r->p - start, 127);
        if (text != NULL) memcpy(PyUnicode_DATA(text), start, (size_t)(r->p - start));
        r->p++;
        return text;
    }
    while (r->p < r->end && *r->p != '"') {
        if (*r->p == '\\' || *r->p < 0x20) return NULL;
        r->p++;
    }
    if (r->p >= r->end) return NULL;
    PyObject *text = PyUnicode_DecodeUTF8((const char *)start, r->p - start, "strict");
    r->p++; /* the closing quote */
    if (text == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) PyErr_Clear();
    return text;
}

static PyObject *json_number(JReader *r) {
    int negative = 0;
    if (*r->p == '-') {
        negative = 1;
        r->p++;
    }
    const uint8_t *start = r->p;
    uint64_t value = 0; /* unsigned: wraps (defined) past 18 digits, which are refused anyway */
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') value = value * 10 + (uint64_t)(*r->p++ - '0');
    Py_ssize_t digits = r->p - start;
    if (digits == 0 || digits > 18 || (digits > 1 && *start == '0')) return NULL;
    if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E')) return NULL;
    return PyLong_FromLongLong(negative ? -(long long)value : (long long)value);
}

static PyObject *json_literal(JReader *r, const char *word, size_t n, PyObject *value) {
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return NULL;
    r->p += n;
    return Py_NewRef(value);
}

static PyObject *json_array(JReader *r) {
    r->p++;
    PyObject *list = PyList_New(0);
    if (list == NULL) return NULL;
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return list;
    }
    for (;;) {
        PyObject *item = json_value(r);
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
        if (r->p >= r->end) break;
        if (*r->p == ']') {
            r->p++;
            return list;
        }
        if (*r->p++ != ',') break;
    }
    Py_DECREF(list);
    return NULL;
}

static PyObject *json_object(JReader *r) {
    r->p++;
    PyObject *dict = PyDict_New();
    if (dict == NULL) return NULL;
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return dict;
    }
    for (;;) {
        if (r->p >= r->end || *r->p != '"') break;
        PyObject *key = json_string(r);
        if (key == NULL) break;
        int seen = PyDict_Contains(dict, key);
        if (seen != 0 || r->p >= r->end || *r->p++ != ':') { /* a member named twice: refused */
            Py_DECREF(key);
            break;
        }
        PyObject *value = json_value(r);
        int bad = value == NULL || PyDict_SetItem(dict, key, value) < 0;
        Py_DECREF(key);
        Py_XDECREF(value);
        if (bad || r->p >= r->end) break;
        if (*r->p == '}') {
            r->p++;
            return dict;
        }
        if (*r->p++ != ',') break;
    }
    Py_DECREF(dict);
    return NULL;
}

static PyObject *json_value(JReader *r) {
    if (r->p >= r->end) return NULL;
    PyObject *out;
    switch (*r->p) {
    case '"':
        return json_string(r);
    case '{':
    case '[':
        if (++r->depth > JSON_MAX_DEPTH) return NULL;
        out = *r->p == '{' ? json_object(r) : json_array(r);
        r->depth--;
        return out;
    case 't':
        return json_literal(r, "true", 4, Py_True);
    case 'f':
        return json_literal(r, "false", 5, Py_False);
    case 'n':
        return json_literal(r, "null", 4, Py_None);
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) return json_number(r);
        return NULL;
    }
}

static PyObject *fastpath_json(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_CheckExact(arg)) Py_RETURN_NONE;
    JReader r = {(const uint8_t *)PyBytes_AS_STRING(arg), NULL, 0};
    r.end = r.p + PyBytes_GET_SIZE(arg);
    PyObject *value = json_value(&r);
    if (value == NULL) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    if (r.p != r.end) {
        Py_DECREF(value);
        Py_RETURN_NONE;
    }
    PyObject *out = PyTuple_Pack(1, value);
    Py_DECREF(value);
    return out;
}

/* ---- a compact JWS ---------------------------------------------------------------------------- */

/* jws(token) -> (header, payload, signing_input, signature) of a compact ES256 JWS as
 * cardio.jws.parse reads it when it does not refuse and both its JSON texts are in the form
 * json() reads (header an object with alg ES256 and no crit, payload an object, a 64-byte
 * signature); None for anything else: cardio.jws.parse then reads it and decides. In C because
 * a presentation holds two JWS, and their split, three decodes and two reads were a dozen Python
 * calls each. */

/* The JSON object in `data` (bytes) when json() reads one there; NULL without an exception for
 * anything else. */
static PyObject *jws_object(PyObject *data) {
    JReader r = {(const uint8_t *)PyBytes_AS_STRING(data), NULL, 0};
    r.end = r.p + PyBytes_GET_SIZE(data);
    if (r.p >= r.end || *r.p != '{') return NULL;
    PyObject *value = json_value(&r);
    if (value != NULL && r.p != r.end) Py_CLEAR(value);
    return value;
}

static PyObject *jws_span(const uint8_t *s, size_t n);

static PyObject *fastpath_jws(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyUnicode_CheckExact(arg) || !PyUnicode_IS_ASCII(arg) || PyUnicode_GET_LENGTH(arg) > CC_MAX_INPUT)
        Py_RETURN_NONE;
    return jws_span((const uint8_t *)PyUnicode_DATA(arg), (size_t)PyUnicode_GET_LENGTH(arg));
}

/* jws() of the n ASCII characters at s (at most CC_MAX_INPUT). */
static PyObject *jws_span(const uint8_t *s, size_t n) {
    const uint8_t *dot1 = memchr(s, '.', n), *dot2 = NULL;
    if (dot1 != NULL) dot2 = memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - s));
    if (dot2 == NULL || memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - s)) != NULL) Py_RETURN_NONE;
    PyObject *head = NULL, *body = NULL, *sig = NULL, *header = NULL, *payload = NULL, *out = NULL;
    if ((head = b64u_span(s, (size_t)(dot1 - s))) == NULL || head == Py_None) goto done;
    if ((body = b64u_span(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL || body == Py_None) goto done;
    if ((sig = b64u_span(dot2 + 1, n - (size_t)(dot2 + 1 - s))) == NULL || sig == Py_None) goto done;
    if (PyBytes_GET_SIZE(sig) != 64 || PyBytes_GET_SIZE(head) > CC_MAX_INPUT) goto done;
    if ((header = jws_object(head)) == NULL || (payload = jws_object(body)) == NULL) goto done;
    PyObject *alg = PyDict_GetItemString(header, "alg"); /* borrowed; str keys cannot raise */
    if (alg == NULL || !PyUnicode_CheckExact(alg) || PyUnicode_CompareWithASCIIString(alg, "ES256") != 0
        || PyDict_GetItemString(header, "crit") != NULL)
        goto done;
    PyObject *signing_input = PyBytes_FromStringAndSize((const char *)s, dot2 - s);
    if (signing_input == NULL) goto error;
    out = PyTuple_Pack(4, header, payload, signing_input, sig);
    Py_DECREF(signing_input);
    goto finish;
done: /* not read here (or an error from a decode or a read, which the caller gets) */
    if (PyErr_Occurred()) goto error;
    out = Py_NewRef(Py_None);
    goto finish;
error:
    out = NULL;
finish:
    Py_XDECREF(head);
    Py_XDECREF(body);
    Py_XDECREF(sig);
    Py_XDECREF(header);
    Py_XDECREF(payload);
    return out;
}

/* ---- an SD-JWT's disclosures ------------------------------------------------------------------ */

/* disclosures(signed) -> (jwt, [(encoded, salt, name, value), ...]) of the issued part of an
 * SD-JWT, `<JWT>~<disclosure>~...~`, as cardio.sdjwt.SdJwt.parse reads it when it does not
 * refuse and every disclosure's JSON is in the form json() reads (name None for an array
 * element's); None for anything else: SdJwt.parse then reads it and decides. In C because each
 * disclosure was a base64url decode, a JSON read and their checks in Python calls. */

#define MAX_DISCLOSURES 64

/* One disclosure's JSON array [salt, name, value] or [salt, value], its salt non-empty text and
 * its name text that is not reserved; NULL without an exception when it is not read here. */
static PyObject *disclosure_parts(const uint8_t *s, size_t n) {
    static const char *const reserved[] = {"_sd", "...", "_sd_alg"};
    if (n == 0) return NULL;
    PyObject *raw = b64u_span(s, n), *parts = NULL;
    if (raw == NULL || raw == Py_None) goto refused;
    JReader r = {(const uint8_t *)PyBytes_AS_STRING(raw), NULL, 0};
    r.end = r.p + PyBytes_GET_SIZE(raw);
    if (r.p >= r.end || *r.p != '[' || (parts = json_value(&r)) == NULL || r.p != r.end) goto refused;
    Py_ssize_t count = PyList_GET_SIZE(parts);
    if (count != 2 && count != 3) goto refused;
    PyObject *salt = PyList_GET_ITEM(parts, 0), *name = count == 3 ? PyList_GET_ITEM(parts, 1) : Py_None;
    if (!PyUnicode_CheckExact(salt) || PyUnicode_GET_LENGTH(salt) == 0) goto refused;
    if (name != Py_None) {
        if (!PyUnicode_CheckExact(name)) goto refused;
        for (size_t i = 0; i < 3; i++)
            if (PyUnicode_CompareWithASCIIString(name, reserved[i]) == 0) goto refused;
    }
    Py_DECREF(raw);
    return parts;
refused:
    Py_XDECREF(raw);
    Py_XDECREF(parts);
    return NULL;
}

/* One disclosure's (encoded, salt, name, value); NULL without an exception when it is not read
 * here. */
static PyObject *disclosure_of(const uint8_t *s, size_t n) {
    PyObject *parts = disclosure_parts(s, n), *encoded = NULL, *out = NULL;
    if (parts == NULL) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(parts);
    if ((encoded = PyUnicode_DecodeASCII((const char *)s, (Py_ssize_t)n, "strict")) != NULL)
        out = PyTuple_Pack(4, encoded, PyList_GET_ITEM(parts, 0), count == 3 ? PyList_GET_ITEM(parts, 1) : Py_None,
                           PyList_GET_ITEM(parts, count - 1));
    Py_DECREF(parts);
    Py_XDECREF(encoded);
    return out;
}

static PyObject *fastpath_disclosures(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyUnicode_CheckExact(arg) || !PyUnicode_IS_ASCII(arg)) Py_RETURN_NONE;
    const uint8_t *s = (const uint8_t *)PyUnicode_DATA(arg), *end = s + PyUnicode_GET_LENGTH(arg);
    if (s == end || end[-1] != '~') Py_RETURN_NONE;
    const uint8_t *cut = memchr(s, '~', (size_t)(end - s));
    PyObject *list = PyList_New(0), *jwt = NULL, *out = NULL;
    if (list == NULL) return NULL;
    for (const uint8_t *p = cut + 1; p < end;) {
        const uint8_t *next = memchr(p, '~', (size_t)(end - p));
        if (PyList_GET_SIZE(list) >= MAX_DISCLOSURES) goto done;
        PyObject *one = disclosure_of(p, (size_t)(next - p));
        if (one == NULL || PyList_Append(list, one) < 0) {
            Py_XDECREF(one);
            goto done;
        }
        Py_DECREF(one);
        p = next + 1;
    }
    if ((jwt = PyUnicode_DecodeASCII((const char *)s, cut - s, "strict")) != NULL)
        out = PyTuple_Pack(2, jwt, list);
done:
    if (out == NULL && !PyErr_Occurred()) out = Py_NewRef(Py_None);
    Py_DECREF(list);
    Py_XDECREF(jwt);
    return out;
}

/* ---- an mdoc's MobileSecurityObject ----------------------------------------------------------- */

/* The MSO inside an issuerAuth payload, #6.24(bstr .cbor MSO), when it is exactly the one
 * deterministic shape citycard issues (cardio.mdoc.issue_mdoc): the template below with its
 * variable parts (status index and URI, three tdates, value digests, the holder key's x and y).
 * None for any other bytes: cardio.mdoc._read_mso then decodes them with cbor2 and decides, so
 * this can only be faster, never another verdict. In C because the cbor2 decode of an MSO (and
 * of its three tdates into datetimes) was a tenth of an mdoc verify after a signature check. */

static const char MSO_DOCTYPE_AND_VERSION[] =
    "\x67" "docType" "\x77" "org.citycard.resident.1" "\x67" "version" "\x63" "1.0"
    "\x6c" "validityInfo" "\xa3";
static const char MSO_TAIL[] =
    "\x6f" "digestAlgorithm" "\x67" "SHA-256";

/* A tdate as citycard writes it: tag 0, text "YYYY-MM-DDTHH:MM:SSZ" (the fields in range; the
 * caller's datetime decides the calendar). */
static PyObject *mso_tdate(Reader *r, const char *key, size_t key_len) {
    if (literal(r, key, key_len, "mso") < 0) return NULL;
    if (r->end - r->p < 22 || r->p[0] != 0xc0 || r->p[1] != 0x74) return fail(r, "mso"), NULL;
    const uint8_t *t = r->p + 2;
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    for (int i = 0; i < 20; i++) {
        if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != (uint8_t)shape[i]) return fail(r, "mso"), NULL;
    }
#define TWO(i) ((t[i] - '0') * 10 + (t[i + 1] - '0'))
    if (TWO(5) < 1 || TWO(5) > 12 || TWO(8) < 1 || TWO(8) > 31 || TWO(11) > 23 || TWO(14) > 59 || TWO(17) > 59)
        return fail(r, "mso"), NULL;
#undef TWO
    r->p += 22;
    return PyUnicode_FromStringAndSize((const char *)t, 20);
}

static PyObject *fastpath_mso(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_CheckExact(arg)) Py_RETURN_NONE;
    Reader r = {(const uint8_t *)PyBytes_AS_STRING(arg), NULL, NULL};
    r.end = r.p + PyBytes_GET_SIZE(arg);
    uint64_t len, idx, count;
    int major;
    const uint8_t *s;
    PyObject *uri = NULL, *signed_at = NULL, *valid_from = NULL, *valid_until = NULL;
    PyObject *digests = NULL, *x = NULL, *y = NULL, *out = NULL;
    /* #6.24(bstr) filling the payload, then the MSO map filling the bstr */
    if (r.end - r.p < 2 || r.p[0] != 0xd8 || r.p[1] != 24) Py_RETURN_NONE;
    r.p += 2;
    if (expect(&r, 2, &len, "mso") < 0 || (uint64_t)(r.end - r.p) != len) Py_RETURN_NONE;
    if (LITERAL(&r, "\xa7" "\x66" "status" "\xa1" "\x6b" "status_list" "\xa2" "\x63" "idx", "mso") < 0
        || expect(&r, 0, &idx, "mso") < 0 || LITERAL(&r, "\x63" "uri", "mso") < 0
        || expect(&r, 3, &len, "mso") < 0 || span(&r, len, &s) < 0)
        Py_RETURN_NONE;
    uri = PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)len, "strict");
    if (uri == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (LITERAL(&r, MSO_DOCTYPE_AND_VERSION, "mso") < 0) goto none;
    if ((signed_at = mso_tdate(&r, "\x66" "signed", sizeof("\x66" "signed") - 1)) == NULL) goto none;
    if ((valid_from = mso_tdate(&r, "\x69" "validFrom", sizeof("\x69" "validFrom") - 1)) == NULL) goto none;
    if ((valid_until = mso_tdate(&r, "\x6a" "validUntil", sizeof("\x6a" "validUntil") - 1)) == NULL) goto none;
    if (LITERAL(&r, "\x6c" "valueDigests" "\xa1" "\x77" "org.citycard.resident.1", "mso") < 0) goto none;
    if (head(&r, &major, &count) < 0 || major != 5 || count > (uint64_t)(r.end - r.p)) goto none;
    if ((digests = PyDict_New()) == NULL) goto error;
    for (uint64_t i = 0, previous = 0; i < count; i++) {
        uint64_t id;
        /* unsigned keys strictly increasing: canonical order, and none twice */
        if (expect(&r, 0, &id, "mso") < 0 || (i > 0 && id <= previous)) goto none;
        previous = id;
        if (expect(&r, 2, &len, "mso") < 0 || span(&r, len, &s) < 0) goto none;
        PyObject *key = PyLong_FromUnsignedLongLong(id);
        PyObject *value = PyBytes_FromStringAndSize((const char *)s, (Py_ssize_t)len);
        int bad = key == NULL || value == NULL || PyDict_SetItem(digests, key, value) < 0;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (bad) goto error;
    }
    if (LITERAL(&r, "\x6d" "deviceKeyInfo" "\xa1" "\x69" "deviceKey" "\xa4" "\x01\x02\x20\x01\x21\x58\x20", "mso") < 0
        || r.end - r.p < 35)
        goto none;
    x = PyBytes_FromStringAndSize((const char *)r.p, 32);
    r.p += 32;
    if (x == NULL) goto error;
    if (r.p[0] != 0x22 || r.p[1] != 0x58 || r.p[2] != 0x20) goto none;
    r.p += 3;
    if (r.end - r.p < 32) goto none;
    y = PyBytes_FromStringAndSize((const char *)r.p, 32);
    r.p += 32;
    if (y == NULL) goto error;
    if (LITERAL(&r, MSO_TAIL, "mso") < 0 || r.p != r.end) goto none;
    PyObject *index = PyLong_FromUnsignedLongLong(idx);
    if (index == NULL) goto error;
    out = PyTuple_Pack(8, digests, x, y, signed_at, valid_from, valid_until, index, uri);
    Py_DECREF(index);
    goto done;
none:
    out = Py_NewRef(Py_None);
    goto done;
error:
    out = NULL;
done:
    Py_XDECREF(uri);
    Py_XDECREF(signed_at);
    Py_XDECREF(valid_from);
    Py_XDECREF(valid_until);
    Py_XDECREF(digests);
    Py_XDECREF(x);
    Py_XDECREF(y);
    return out;
}

/* ---- an mdoc DeviceResponse ----------------------------------------------------------------- */

/* device_response(data) -> (issuer_auth, elements, device_signature) of a DeviceResponse in
 * the one deterministic shape citycard's wallets write (cardio.mdoc.device_response): one
 * document, no device-signed elements, the device signature {1: -7} detached and 64 bytes;
 * issuerAuth's unprotected header {} or {33: one certificate}; every IssuerSignedItem
 * {random: bstr, digestID: uint, elementValue, elementIdentifier: tstr} with a value of the
 * kinds citycard issues (text, bytes, a boolean, a full-date, an array of texts), no element
 * named twice. issuer_auth is the COSE_Sign1 array as cbor2 reads it, elements are
 * (elementIdentifier, digestID, elementValue, #6.24 item bytes as digested). None for anything
 * else: cardio.mdoc.read_device_response then decodes it with cbor2 and decides, so this can
 * only be faster, never another verdict. */

static const char DR_HEAD[] =
    "\xa3" "\x66" "status" "\x00" "\x67" "version" "\x63" "1.0" "\x69" "documents" "\x81"
    "\xa3" "\x67" "docType" "\x77" "org.citycard.resident.1"
    "\x6c" "deviceSigned" "\xa2" "\x6a" "deviceAuth" "\xa1" "\x6f" "deviceSignature"
    "\x84" "\x43" "\xa1\x01\x26" "\xa0" "\xf6" "\x58\x40";
static const char DR_MIDDLE[] =
    "\x6a" "nameSpaces" "\xd8\x18\x41\xa0"
    "\x6c" "issuerSigned" "\xa2" "\x6a" "issuerAuth" "\x84";
static const char DR_NAMESPACES[] = "\x6a" "nameSpaces" "\xa1" "\x77" "org.citycard.resident.1";

/* The text string whose head (of `len` bytes) was just read, strict UTF-8; NULL without an
 * exception when it is not one. */
static PyObject *dr_text_of(Reader *r, uint64_t len) {
    const uint8_t *s;
    if (span(r, len, &s) < 0) return NULL;
    PyObject *text = PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)len, "strict");
    if (text == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) PyErr_Clear();
    return text;
}

static PyObject *dr_text(Reader *r) {
    uint64_t len;
    if (expect(r, 3, &len, "mdoc") < 0) return NULL;
    return dr_text_of(r, len);
}

/* An elementValue of a kind citycard issues; NULL without an exception for any other. */
static PyObject *dr_value(Reader *r) {
    if (r->p >= r->end) return NULL;
    uint8_t b = *r->p;
    if (b == 0xf4 || b == 0xf5) {
        r->p++;
        return Py_NewRef(b == 0xf5 ? Py_True : Py_False);
    }
    if (b == 0xd9) { /* #6.1004("YYYY-MM-DD"), a full-date; the date type decides the calendar */
        const uint8_t *t = r->p + 4;
        if (r->end - r->p < 14 || r->p[1] != 0x03 || r->p[2] != 0xec || r->p[3] != 0x6a) return NULL;
        for (int i = 0; i < 10; i++)
            if (i == 4 || i == 7 ? t[i] != '-' : (t[i] < '0' || t[i] > '9')) return NULL;
        r->p += 14;
        int year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
        PyObject *day = PyDate_FromDate(year, (t[5] - '0') * 10 + (t[6] - '0'), (t[8] - '0') * 10 + (t[9] - '0'));
        if (day == NULL && PyErr_ExceptionMatches(PyExc_ValueError)) PyErr_Clear();
        return day;
    }
    int major;
    uint64_t len;
    const uint8_t *s;
    if (head(r, &major, &len) < 0) return NULL;
    if (major == 2) {
        if (span(r, len, &s) < 0) return NULL;
        return PyBytes_FromStringAndSize((const char *)s, (Py_ssize_t)len);
    }
    if (major == 3) return dr_text_of(r, len);
    if (major != 4 || len > (uint64_t)(r->end - r->p)) return NULL;
    PyObject *list = PyList_New((Py_ssize_t)len);
    if (list == NULL) return NULL;
    for (uint64_t i = 0; i < len; i++) {
        PyObject *text = dr_text(r);
        if (text == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, text);
    }
    return list;
}

/* One #6.24(bstr .cbor IssuerSignedItem) as an element tuple; NULL without an exception when
 * it is not in the shape. */
static PyObject *dr_element(Reader *r) {
    uint64_t len, id;
    const uint8_t *start = r->p, *s;
    if (r->end - r->p < 2 || r->p[0] != 0xd8 || r->p[1] != 24) return NULL;
    r->p += 2;
    if (expect(r, 2, &len, "mdoc") < 0 || len > (uint64_t)(r->end - r->p)) return NULL;
    Reader item = {r->p, r->p + len, NULL};
    r->p += len;
    if (LITERAL(&item, "\xa4" "\x66" "random", "mdoc") < 0 || expect(&item, 2, &len, "mdoc") < 0
        || span(&item, len, &s) < 0 || LITERAL(&item, "\x68" "digestID", "mdoc") < 0
        || expect(&item, 0, &id, "mdoc") < 0 || LITERAL(&item, "\x6c" "elementValue", "mdoc") < 0)
        return NULL;
    PyObject *value = dr_value(&item), *name = NULL, *digest_id = NULL, *tagged = NULL, *out = NULL;
    if (value == NULL || LITERAL(&item, "\x71" "elementIdentifier", "mdoc") < 0) goto done;
    if ((name = dr_text(&item)) == NULL || item.p != item.end) goto done;
    digest_id = PyLong_FromUnsignedLongLong(id);
    tagged = PyBytes_FromStringAndSize((const char *)start, r->p - start);
    if (digest_id != NULL && tagged != NULL) out = PyTuple_Pack(4, name, digest_id, value, tagged);
done:
    Py_XDECREF(value);
    Py_XDECREF(name);
    Py_XDECREF(digest_id);
    Py_XDECREF(tagged);
    return out;
}

static PyObject *fastpath_device_response(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_CheckExact(arg) || PyBytes_GET_SIZE(arg) > CC_MAX_INPUT) Py_RETURN_NONE;
    Reader r = {(const uint8_t *)PyBytes_AS_STRING(arg), NULL, NULL};
    r.end = r.p + PyBytes_GET_SIZE(arg);
    uint64_t count;
    int major;
    PyObject *device_sig = NULL, *protected = NULL, *unprotected = NULL, *payload = NULL;
    PyObject *signature = NULL, *elements = NULL, *names = NULL, *auth = NULL, *out = NULL;
    if (LITERAL(&r, DR_HEAD, "mdoc") < 0 || r.end - r.p < 64) Py_RETURN_NONE;
    if ((device_sig = PyBytes_FromStringAndSize((const char *)r.p, 64)) == NULL) return NULL;
    r.p += 64;
    if (LITERAL(&r, DR_MIDDLE, "mdoc") < 0) goto none;
    if ((protected = read_bytes(&r, 0, UINT64_MAX, "mdoc")) == NULL) goto none_or_error;
    if ((unprotected = PyDict_New()) == NULL) goto error;
    if (r.p < r.end && *r.p == 0xa0) {
        r.p++;
    } else if (r.end - r.p >= 3 && r.p[0] == 0xa1 && r.p[1] == 0x18 && r.p[2] == 33) { /* x5chain */
        r.p += 3;
        PyObject *cert = read_bytes(&r, 0, UINT64_MAX, "mdoc"), *label = NULL;
        int bad = cert == NULL || (label = PyLong_FromLong(33)) == NULL
                  || PyDict_SetItem(unprotected, label, cert) < 0;
        Py_XDECREF(cert);
        Py_XDECREF(label);
        if (bad) goto none_or_error;
    } else {
        goto none;
    }
    if ((payload = read_bytes(&r, 0, UINT64_MAX, "mdoc")) == NULL) goto none_or_error;
    if ((signature = read_bytes(&r, 0, UINT64_MAX, "mdoc")) == NULL) goto none_or_error;
    if (LITERAL(&r, DR_NAMESPACES, "mdoc") < 0) goto none;
    if (head(&r, &major, &count) < 0 || major != 4 || count > (uint64_t)(r.end - r.p)) goto none;
    if ((elements = PyList_New((Py_ssize_t)count)) == NULL || (names = PySet_New(NULL)) == NULL) goto error;
    for (uint64_t i = 0; i < count; i++) {
        PyObject *element = dr_element(&r);
        if (element == NULL) goto none_or_error;
        PyList_SET_ITEM(elements, (Py_ssize_t)i, element);
        PyObject *name = PyTuple_GET_ITEM(element, 0);
        int seen = PySet_Contains(names, name);
        if (seen < 0 || (seen == 0 && PySet_Add(names, name) < 0)) goto error;
        if (seen) goto none; /* an element named twice: the general path says so */
    }
    if (r.p != r.end) goto none;
    if ((auth = PyList_New(4)) == NULL) goto error;
    PyList_SET_ITEM(auth, 0, Py_NewRef(protected));
    PyList_SET_ITEM(auth, 1, Py_NewRef(unprotected));
    PyList_SET_ITEM(auth, 2, Py_NewRef(payload));
    PyList_SET_ITEM(auth, 3, Py_NewRef(signature));
    out = PyTuple_Pack(3, auth, elements, device_sig);
    goto done;
none_or_error:
    if (PyErr_Occurred()) goto error;
none:
    out = Py_NewRef(Py_None);
    goto done;
error:
    out = NULL;
done:
    Py_XDECREF(device_sig);
    Py_XDECREF(protected);
    Py_XDECREF(unprotected);
    Py_XDECREF(payload);
    Py_XDECREF(signature);
    Py_XDECREF(elements);
    Py_XDECREF(names);
    Py_XDECREF(auth);
    return out;
}

/* ---- an SD-JWT payload's digests replaced by what they disclose ----------------------------- */

/* unfold(node, by_digest) -> (claims, used) where cardio.sdjwt._unfold(node, by_digest, used,
 * set()) returns claims without refusing: every object's `_sd` digests and every `{"...": d}`
 * array element replaced by the disclosure (cardio.sdjwt.Disclosure) by_digest holds for them,
 * recursively, the undisclosed (and decoys) dropped; used is the set of digests used. None
 * whenever _unfold would refuse (or nesting passes UNFOLD_MAX_DEPTH): _unfold then runs and
 * raises its own reason, so this can only be faster, never another verdict. In C because the
 * walk, a few calls per object, was the largest Python cost of an SD-JWT verify after its
 * signatures. */

#define UNFOLD_MAX_DEPTH 32

static PyObject *S_SD, *S_DOTS, *S_SD_ALG, *S_NAME, *S_VALUE, *S_DIGEST; /* interned at import */

typedef struct {
    PyObject *by_digest, *used, *seen;
    int depth;
    int tuples; /* by_digest holds (name, value, digest) tuples (sd_presentation's own map) */
} Unfold;

static PyObject *unfold_node(Unfold *u, PyObject *node);

static PyObject *unfold_nested(Unfold *u, PyObject *value) {
    if (PyDict_CheckExact(value) || PyList_CheckExact(value)) return unfold_node(u, value);
    if (PyDict_Check(value) || PyList_Check(value)) return NULL; /* not JSON's: _unfold decides */
    return Py_NewRef(value);
}

/* A digest seen for the first time: its disclosure (a new reference, Py_None when there is
 * none), or NULL (refused: not text, or named twice; or an error). */
static PyObject *unfold_take(Unfold *u, PyObject *item) {
    if (!PyUnicode_CheckExact(item)) return NULL;
    int seen = PySet_Contains(u->seen, item);
    if (seen != 0 || PySet_Add(u->seen, item) < 0) return NULL;
    PyObject *found = PyDict_GetItemWithError(u->by_digest, item);
    if (found == NULL) return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    return Py_NewRef(found);
}

/* The disclosure's name, value and digest (new references), and the digest marked used. */
static int unfold_use(Unfold *u, PyObject *found, PyObject **name, PyObject **value) {
    if (u->tuples) {
        *name = Py_NewRef(PyTuple_GET_ITEM(found, 0));
        *value = Py_NewRef(PyTuple_GET_ITEM(found, 1));
        if (PySet_Add(u->used, PyTuple_GET_ITEM(found, 2)) == 0) return 0;
        Py_CLEAR(*name);
        Py_CLEAR(*value);
        return -1;
    }
    PyObject *digest = PyObject_GetAttr(found, S_DIGEST);
    *name = PyObject_GetAttr(found, S_NAME);
    *value = PyObject_GetAttr(found, S_VALUE);
    int bad = digest == NULL || *name == NULL || *value == NULL || PySet_Add(u->used, digest) < 0;
    Py_XDECREF(digest);
    if (bad) {
        Py_CLEAR(*name);
        Py_CLEAR(*value);
        return -1;
    }
    return 0;
}

static PyObject *unfold_dict(Unfold *u, PyObject *node) {
    PyObject *digests = PyDict_GetItemWithError(node, S_SD); /* borrowed */
    if (digests == NULL && PyErr_Occurred()) return NULL;
    if (digests != NULL && !PyList_CheckExact(digests)) return NULL;
    PyObject *out = PyDict_New(), *key, *value;
    if (out == NULL) return NULL;
    Py_ssize_t pos = 0;
    while (PyDict_Next(node, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) goto refused; /* JSON's member names are text */
        if (PyUnicode_Compare(key, S_SD) == 0) continue;
        if (PyUnicode_Compare(key, S_DOTS) == 0 || PyUnicode_Compare(key, S_SD_ALG) == 0) goto refused;
        PyObject *copy = unfold_nested(u, value);
        int bad = copy == NULL || PyDict_SetItem(out, key, copy) < 0;
        Py_XDECREF(copy);
        if (bad) goto refused;
    }
    if (digests == NULL) return out;
    Py_INCREF(digests);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(digests); i++) {
        PyObject *found = unfold_take(u, PyList_GET_ITEM(digests, i)), *name, *disclosed;
        if (found == NULL) goto refused_digests;
        if (found == Py_None) {
            Py_DECREF(found);
            continue;
        }
        int bad = unfold_use(u, found, &name, &disclosed);
        Py_DECREF(found);
        if (bad) goto refused_digests;
        /* an element's disclosure here, or one that would overwrite a claim: refused */
        bad = !PyUnicode_CheckExact(name) || PyDict_Contains(out, name) != 0;
        PyObject *copy = bad ? NULL : unfold_nested(u, disclosed);
        bad = copy == NULL || PyDict_SetItem(out, name, copy) < 0;
        Py_XDECREF(copy);
        Py_DECREF(name);
        Py_DECREF(disclosed);
        if (bad) goto refused_digests;
    }
    Py_DECREF(digests);
    return out;
refused_digests:
    Py_DECREF(digests);
refused:
    Py_DECREF(out);
    return NULL;
}

static PyObject *unfold_list(Unfold *u, PyObject *node) {
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(node); i++) {
        PyObject *element = PyList_GET_ITEM(node, i), *copy;
        int has_dots = PyDict_CheckExact(element) ? PyDict_Contains(element, S_DOTS) : 0;
        if (has_dots < 0) goto refused;
        if (has_dots) {
            if (PyDict_GET_SIZE(element) != 1) goto refused;
            PyObject *item = PyDict_GetItemWithError(element, S_DOTS);
            if (item == NULL) goto refused;
            Py_INCREF(item); /* the element's dict holds it only while the element is unchanged */
            PyObject *found = unfold_take(u, item), *name, *disclosed;
            Py_DECREF(item);
            if (found == NULL) goto refused;
            if (found == Py_None) {
                Py_DECREF(found);
                continue;
            }
            int bad = unfold_use(u, found, &name, &disclosed);
            Py_DECREF(found);
            if (bad) goto refused;
            bad = name != Py_None; /* a member's disclosure as an element: refused */
            copy = bad ? NULL : unfold_nested(u, disclosed);
            Py_DECREF(name);
            Py_DECREF(disclosed);
        } else {
            copy = unfold_nested(u, element);
        }
        int bad = copy == NULL || PyList_Append(out, copy) < 0;
        Py_XDECREF(copy);
        if (bad) goto refused;
    }
    return out;
refused:
    Py_DECREF(out);
    return NULL;
}

/* NULL when refused or on an error (the caller tells them apart by PyErr_Occurred). */
static PyObject *unfold_node(Unfold *u, PyObject *node) {
    if (++u->depth > UNFOLD_MAX_DEPTH) {
        u->depth--;
        return NULL;
    }
    PyObject *out = PyDict_CheckExact(node) ? unfold_dict(u, node) : unfold_list(u, node);
    u->depth--;
    return out;
}

static PyObject *fastpath_unfold(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "unfold(node, by_digest) takes two arguments");
        return NULL;
    }
    PyObject *node = args[0];
    if (!PyDict_CheckExact(args[1])) Py_RETURN_NONE;
    if (!PyDict_CheckExact(node) && !PyList_CheckExact(node)) Py_RETURN_NONE;
    Unfold u = {args[1], PySet_New(NULL), PySet_New(NULL), 0, 0};
    PyObject *out = NULL;
    if (u.used != NULL && u.seen != NULL) {
        PyObject *claims = unfold_node(&u, node);
        if (claims != NULL) {
            out = PyTuple_Pack(2, claims, u.used);
            Py_DECREF(claims);
        } else if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_AttributeError)
                   || PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear(); /* refused: _unfold decides */
            out = Py_NewRef(Py_None);
        }
    }
    Py_XDECREF(u.used);
    Py_XDECREF(u.seen);
    return out;
}

/* ---- an SD-JWT VC presentation, read in one pass ---------------------------------------------- */

/* sd_presentation(text) -> (kid, issuer_input, issuer_der, iss, iat, exp, idx, uri, disclosed,
 * entitlements, jwk, kb_input, kb_der, nonce, aud, kb_iat) of a citycard SD-JWT VC presentation
 * `<JWT>~<disclosure>~...~<KB-JWT>` when cardio.sdjwt and cardio.sdjwt_vc read it without
 * refusing anything they can decide without a key: disclosures() and jws() read it, `typ`
 * dc+sd-jwt, sha-256 digests, no disclosure twice, each used by exactly one digest (unfold),
 * none standing for an always-visible claim, every claim read_vc requires with its type, the
 * disclosed items' types, the entitlements short codes, and a KB-JWT (`typ` kb+jwt) whose
 * sd_hash is the digest of everything before it and whose nonce, aud and iat have their types,
 * and a holder JWK that from_jwk reads (given as its coordinates). None for anything else, and
 * the general path then reads it and decides. Left to the caller: the issuer key by kid (the
 * kid's form too), both signatures (given in DER), whether the holder's point is on the curve,
 * the binding to a request, the status. In C because the same steps as a dozen Python calls
 * and small objects cost a first-seen presentation more than a third of a raw ES256 verify. */

static PyObject *SHA256; /* hashlib.sha256 (OpenSSL's) */
static PyObject *SD_VISIBLE, *SD_ITEMS; /* frozensets: cardio.sdjwt_vc._VISIBLE, wallet_claims.ITEMS */

/* base64url(SHA-256(the n bytes at s)) without padding, as cardio.sdjwt.digest: 43 characters. */
static PyObject *sd_digest(const uint8_t *s, size_t n) {
    PyObject *view = PyMemoryView_FromMemory((char *)s, (Py_ssize_t)n, PyBUF_READ);
    if (view == NULL) return NULL;
    PyObject *hash = PyObject_CallOneArg(SHA256, view);
    Py_DECREF(view);
    if (hash == NULL) return NULL;
    PyObject *raw = PyObject_CallMethodNoArgs(hash, S_DIGEST);
    Py_DECREF(hash);
    if (raw == NULL) return NULL;
    if (!PyBytes_Check(raw) || PyBytes_GET_SIZE(raw) != 32) {
        Py_DECREF(raw);
        PyErr_SetString(PyExc_SystemError, "sha256 gave no 32-byte digest");
        return NULL;
    }
    PyObject *out = PyUnicode_New(43, 127);
    if (out != NULL) b64_encode((const uint8_t *)PyBytes_AS_STRING(raw), 32, PyUnicode_DATA(out), B64U, 0);
    Py_DECREF(raw);
    return out;
}

/* The member `key` of dict `d` when it is exactly the ASCII text `want`. */
static int is_text(PyObject *d, const char *key, const char *want) {
    PyObject *v = PyDict_GetItemString(d, key); /* borrowed */
    return v != NULL && PyUnicode_CheckExact(v) && PyUnicode_CompareWithASCIIString(v, want) == 0;
}

/* The 64 coordinate bytes x || y of the holder's key `jwk` when cardio.jwk.from_jwk reads it
 * (an EC P-256 JWK without a private part, x and y strict base64url of 32 bytes each), so the
 * caller loads the point without a second read of the JWK; NULL without an exception for any
 * other JWK (the general path then says why). Whether the point is on the curve is the
 * caller's load to decide. */
static PyObject *holder_xy(PyObject *jwk) {
    if (!PyDict_CheckExact(jwk) || !is_text(jwk, "kty", "EC") || !is_text(jwk, "crv", "P-256")
        || PyDict_GetItemString(jwk, "d") != NULL)
        return NULL;
    PyObject *x = PyDict_GetItemString(jwk, "x"), *y = PyDict_GetItemString(jwk, "y");
    if (x == NULL || y == NULL || !PyUnicode_CheckExact(x) || !PyUnicode_CheckExact(y) || !PyUnicode_IS_ASCII(x)
        || !PyUnicode_IS_ASCII(y) || PyUnicode_GET_LENGTH(x) != 43 || PyUnicode_GET_LENGTH(y) != 43)
        return NULL; /* 43 characters: 32 bytes */
    PyObject *out = PyBytes_FromStringAndSize(NULL, 64);
    if (out == NULL) return NULL;
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    if (b64u_into(PyUnicode_DATA(x), 43, o) < 0 || b64u_into(PyUnicode_DATA(y), 43, o + 32) < 0) Py_CLEAR(out);
    return out;
}

/* read_vc's _int: an exact int in [0, 2**40). */
static int small_uint(PyObject *v) {
    if (v == NULL || !PyLong_CheckExact(v)) return 0;
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(v, &overflow);
    return !overflow && n >= 0 && n < (1LL << 40);
}

/* read_vc's _checked: 1 when the disclosed `name` may hold `value`. */
static int disclosed_ok(PyObject *name, PyObject *value) {
    if (PyUnicode_CompareWithASCIIString(name, "age_over_18") == 0
        || PyUnicode_CompareWithASCIIString(name, "age_over_65") == 0)
        return PyBool_Check(value);
    if (PyUnicode_CompareWithASCIIString(name, "languages") == 0) {
        if (!PyList_CheckExact(value)) return 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++)
            if (!PyUnicode_CheckExact(PyList_GET_ITEM(value, i))) return 0;
        return 1;
    }
    if (!PyUnicode_CheckExact(value)) return 0;
    Py_ssize_t len = PyUnicode_GET_LENGTH(value);
    if (PyUnicode_CompareWithASCIIString(name, "photo") == 0) return len % 4 == 0;
    return len > 0 && len <= 100;
}

/* The holder's disclosed items (read_vc's `disclosed`) and entitlements of the unfolded claims
 * `c` of `payload`, or 0 (not read here; an error is set only for a failure of Python itself). */
static int sd_items(PyObject *c, PyObject *payload, PyObject **disclosed, PyObject **entitlements) {
    PyObject *name, *value;
    Py_ssize_t pos = 0;
    if ((*disclosed = PyDict_New()) == NULL) return 0;
    while (PyDict_Next(c, &pos, &name, &value)) {
        int visible = PySet_Contains(SD_VISIBLE, name);
        if (visible < 0) goto refused;
        if (visible) continue;
        if (PySet_Contains(SD_ITEMS, name) != 1 || !disclosed_ok(name, value)) goto refused;
        if (PyDict_SetItem(*disclosed, name, value) < 0) goto refused;
    }
    PyObject *signed_list = PyDict_GetItemString(payload, "entitlements");
    if (signed_list != NULL && !PyList_CheckExact(signed_list)) goto refused;
    PyObject *list = PyDict_GetItemString(c, "entitlements");
    if (list == NULL) {
        *entitlements = PyTuple_New(0);
    } else {
        if (!PyList_CheckExact(list)) goto refused;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
            PyObject *e = PyList_GET_ITEM(list, i);
            if (!PyUnicode_CheckExact(e) || !PyUnicode_IS_ASCII(e)
                || !code_ok((const uint8_t *)PyUnicode_DATA(e), (size_t)PyUnicode_GET_LENGTH(e)))
                goto refused;
        }
        *entitlements = PyList_AsTuple(list);
    }
    if (*entitlements != NULL) return 1;
refused:
    Py_CLEAR(*disclosed);
    return 0;
}

static PyObject *fastpath_sd_presentation(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyUnicode_CheckExact(arg) || !PyUnicode_IS_ASCII(arg) || PyUnicode_GET_LENGTH(arg) > CC_MAX_INPUT)
        Py_RETURN_NONE;
    const uint8_t *s = (const uint8_t *)PyUnicode_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg), cut = n;
    while (cut > 0 && s[cut - 1] != '~') cut--;
    if (cut == 0 || cut == n) Py_RETURN_NONE; /* not an SD-JWT, or no KB-JWT */
    PyObject *by_digest = NULL, *token = NULL, *node = NULL, *claims = NULL, *disclosed = NULL;
    PyObject *entitlements = NULL, *kb = NULL, *sd_hash = NULL, *issuer_der = NULL, *kb_der = NULL, *xy = NULL;
    PyObject *out = NULL;
    Unfold u = {NULL, NULL, NULL, 0, 1};

    /* the disclosures, as disclosures() reads them, each under its digest */
    const uint8_t *first = memchr(s, '~', (size_t)cut);
    if ((by_digest = PyDict_New()) == NULL) goto done;
    for (const uint8_t *p = first + 1, *end = s + cut; p < end;) {
        const uint8_t *next = memchr(p, '~', (size_t)(end - p));
        if (PyDict_GET_SIZE(by_digest) >= MAX_DISCLOSURES) goto done;
        PyObject *parts = disclosure_parts(p, (size_t)(next - p));
        if (parts == NULL) goto done;
        Py_ssize_t count = PyList_GET_SIZE(parts);
        PyObject *name = count == 3 ? PyList_GET_ITEM(parts, 1) : Py_None, *digest = NULL, *entry = NULL;
        int bad = name != Py_None && PySet_Contains(SD_VISIBLE, name) != 0; /* always visible */
        if (!bad) bad = (digest = sd_digest(p, (size_t)(next - p))) == NULL || PyDict_Contains(by_digest, digest) != 0;
        if (!bad) bad = (entry = PyTuple_Pack(3, name, PyList_GET_ITEM(parts, count - 1), digest)) == NULL
                        || PyDict_SetItem(by_digest, digest, entry) < 0;
        Py_DECREF(parts);
        Py_XDECREF(digest);
        Py_XDECREF(entry);
        if (bad) goto done;
        p = next + 1;
    }
    if ((token = jws_span(s, (size_t)(first - s))) == NULL || token == Py_None) goto done;
    PyObject *header = PyTuple_GET_ITEM(token, 0), *payload = PyTuple_GET_ITEM(token, 1);
    PyObject *kid = PyDict_GetItemString(header, "kid");
    if (!is_text(header, "typ", "dc+sd-jwt") || kid == NULL) goto done;
    if (PyDict_GetItemString(payload, "_sd_alg") != NULL && !is_text(payload, "_sd_alg", "sha-256")) goto done;
    if ((node = PyDict_Copy(payload)) == NULL) goto done;
    if (PyDict_GetItemString(node, "_sd_alg") != NULL && PyDict_DelItemString(node, "_sd_alg") < 0) goto done;
    u.by_digest = by_digest;
    if ((u.used = PySet_New(NULL)) == NULL || (u.seen = PySet_New(NULL)) == NULL) goto done;
    if ((claims = unfold_node(&u, node)) == NULL) {
        if (PyErr_Occurred() && (PyErr_ExceptionMatches(PyExc_AttributeError)
                                 || PyErr_ExceptionMatches(PyExc_TypeError)))
            PyErr_Clear();
        goto done;
    }
    if (PySet_GET_SIZE(u.used) != PyDict_GET_SIZE(by_digest)) goto done; /* one the issuer never signed */
    /* read_vc: what every citycard has, with its type */
    PyObject *status = PyDict_GetItemString(claims, "status"), *cnf = PyDict_GetItemString(claims, "cnf");
    PyObject *list_ref = status != NULL && PyDict_CheckExact(status) ? PyDict_GetItemString(status, "status_list") : NULL;
    if (list_ref == NULL || !PyDict_CheckExact(list_ref) || cnf == NULL || !PyDict_CheckExact(cnf)) goto done;
    PyObject *idx = PyDict_GetItemString(list_ref, "idx"), *uri = PyDict_GetItemString(list_ref, "uri");
    PyObject *iss = PyDict_GetItemString(claims, "iss"), *iat = PyDict_GetItemString(claims, "iat");
    PyObject *exp = PyDict_GetItemString(claims, "exp"), *jwk = PyDict_GetItemString(cnf, "jwk");
    if (!is_text(claims, "vct", "urn:citycard:resident-card:1") || jwk == NULL) goto done;
    if (!small_uint(iat) || !small_uint(exp) || !small_uint(idx)) goto done;
    if (uri == NULL || !PyUnicode_CheckExact(uri) || iss == NULL || !PyUnicode_CheckExact(iss)) goto done;
    if (!sd_items(claims, payload, &disclosed, &entitlements)) goto done;
    if ((xy = holder_xy(jwk)) == NULL) goto done;
    /* the key binding */
    if ((kb = jws_span(s + cut, (size_t)(n - cut))) == NULL || kb == Py_None) goto done;
    PyObject *kb_payload = PyTuple_GET_ITEM(kb, 1);
    if (!is_text(PyTuple_GET_ITEM(kb, 0), "typ", "kb+jwt")) goto done;
    if ((sd_hash = sd_digest(s, (size_t)cut)) == NULL) goto done;
    PyObject *claimed = PyDict_GetItemString(kb_payload, "sd_hash");
    if (claimed == NULL || !PyUnicode_CheckExact(claimed) || PyUnicode_Compare(claimed, sd_hash) != 0) goto done;
    PyObject *nonce = PyDict_GetItemString(kb_payload, "nonce"), *aud = PyDict_GetItemString(kb_payload, "aud");
    PyObject *kb_iat = PyDict_GetItemString(kb_payload, "iat");
    if (nonce == NULL || !PyUnicode_CheckExact(nonce) || aud == NULL || !PyUnicode_CheckExact(aud)) goto done;
    if (kb_iat == NULL || !PyLong_CheckExact(kb_iat)) goto done;
    /* both 64 bytes: jws() read them */
    if ((issuer_der = fastpath_der_signature(NULL, PyTuple_GET_ITEM(token, 3))) == NULL
        || (kb_der = fastpath_der_signature(NULL, PyTuple_GET_ITEM(kb, 3))) == NULL)
        goto done;
    out = PyTuple_Pack(16, kid, PyTuple_GET_ITEM(token, 2), issuer_der, iss, iat, exp, idx, uri, disclosed,
                       entitlements, xy, PyTuple_GET_ITEM(kb, 2), kb_der, nonce, aud, kb_iat);
done:
    if (out == NULL && !PyErr_Occurred()) out = Py_NewRef(Py_None);
    Py_XDECREF(by_digest);
    Py_XDECREF(token);
    Py_XDECREF(node);
    Py_XDECREF(u.used);
    Py_XDECREF(u.seen);
    Py_XDECREF(claims);
    Py_XDECREF(disclosed);
    Py_XDECREF(entitlements);
    Py_XDECREF(kb);
    Py_XDECREF(sd_hash);
    Py_XDECREF(issuer_der);
    Py_XDECREF(kb_der);
    Py_XDECREF(xy);
    return out;
}

/* ---- module --------------------------------------------------------------------------------- */

static PyMethodDef fastpath_methods[] = {
    {"sign1", fastpath_sign1, METH_O,
     "sign1(data) -> (kid, sig_structure, der_signature, payload) for a COSE_Sign1 in the "
     "credential's fixed shape, or None for any other input."},
    {"claims", fastpath_claims, METH_O,
     "claims(payload) -> Claims, decoded and checked; ValueError with the reason otherwise."},
    {"iso_day", fastpath_iso_day, METH_O,
     "iso_day(days) -> 'YYYY-MM-DD' for a day number since 1970-01-01."},
    {"name_ok", fastpath_name_ok, METH_O,
     "name_ok(text) -> True for a printable name: 1 to 100 characters, not only white space, "
     "no control, format, surrogate, private-use or line-separator characters."},
    {"b64u_decode", fastpath_b64u_decode, METH_O,
     "b64u_decode(text) -> bytes of strict base64url without padding (alphabet only, no length "
     "4k+1, zero unused bits), or None for anything else."},
    {"b64encode", fastpath_b64encode, METH_O,
     "b64encode(data) -> the standard base64 text of bytes, with padding (TypeError for anything "
     "but bytes)."},
    {"der_signature", fastpath_der_signature, METH_O,
     "der_signature(raw) -> the DER ECDSA-Sig-Value of a 64-byte r || s, or None for anything "
     "else."},
    {"json", fastpath_json, METH_O,
     "json(data) -> (value,) for UTF-8 JSON in the subset citycard writes (no white space, no "
     "string escapes, integers of up to 18 digits, no member named twice, nesting up to 32), "
     "or None for anything else."},
    {"mso", fastpath_mso, METH_O,
     "mso(payload) -> (digests, x, y, signed, validFrom, validUntil, idx, uri) of an issuerAuth "
     "payload holding citycard's MSO in its one deterministic shape, or None for any other bytes."},
    {"device_response", fastpath_device_response, METH_O,
     "device_response(data) -> (issuer_auth, elements, device_signature) of an mdoc "
     "DeviceResponse in the one deterministic shape citycard's wallets write, or None for any "
     "other bytes."},
    {"jws", fastpath_jws, METH_O,
     "jws(token) -> (header, payload, signing_input, signature) of a compact ES256 JWS whose "
     "JSON texts json() reads (header with alg ES256 and no crit, payload an object, a 64-byte "
     "signature), or None for anything else."},
    {"disclosures", fastpath_disclosures, METH_O,
     "disclosures(signed) -> (jwt, [(encoded, salt, name, value), ...]) of an SD-JWT's issued "
     "part `<JWT>~<disclosure>~...~` whose disclosures' JSON json() reads, or None."},
    {"unfold", (PyCFunction)(void (*)(void))fastpath_unfold, METH_FASTCALL,
     "unfold(node, by_digest) -> (claims, used) as cardio.sdjwt._unfold reads an SD-JWT payload "
     "when it does not refuse, or None (it refuses, or nests too deep)."},
    {"sd_presentation", fastpath_sd_presentation, METH_O,
     "sd_presentation(text) -> (kid, issuer_input, issuer_der, iss, iat, exp, idx, uri, "
     "disclosed, entitlements, holder_xy, kb_input, kb_der, nonce, aud, kb_iat) of a citycard SD-JWT "
     "VC presentation that cardio.sdjwt_vc and cardio.sdjwt read without refusing anything "
     "they decide without a key, or None for anything else."},
    {NULL, NULL, 0, NULL},
};

/* The digest walk's names, sd_presentation's hash; the two sets are also the module's SD_VISIBLE and SD_ITEMS,
 * which tests hold equal to cardio.sdjwt_vc's and cardio.wallet_claims's. */
static int sd_presentation_init(PyObject *m) {
    PyObject *hashlib = PyImport_ImportModule("hashlib");
    if (hashlib == NULL) return -1;
    SHA256 = PyObject_GetAttrString(hashlib, "sha256");
    Py_DECREF(hashlib);
    if (SHA256 == NULL) return -1;
    S_SD = PyUnicode_InternFromString("_sd");
    S_DOTS = PyUnicode_InternFromString("...");
    S_SD_ALG = PyUnicode_InternFromString("_sd_alg");
    S_NAME = PyUnicode_InternFromString("name");
    S_VALUE = PyUnicode_InternFromString("value");
    S_DIGEST = PyUnicode_InternFromString("digest");
    if (!S_SD || !S_DOTS || !S_SD_ALG || !S_NAME || !S_VALUE || !S_DIGEST) return -1;
    SD_VISIBLE = Py_BuildValue("(sssssss)", "iss", "iat", "exp", "vct", "status", "cnf", "entitlements");
    SD_ITEMS = Py_BuildValue("(sssssssssss)", "family_name", "given_name", "birth_date", "sex", "photo",
                             "languages", "program", "document_number", "age_over_18", "age_over_65",
                             "resident_of");
    if (SD_VISIBLE == NULL || SD_ITEMS == NULL) return -1;
    PyObject *visible = PyFrozenSet_New(SD_VISIBLE), *items = PyFrozenSet_New(SD_ITEMS);
    Py_SETREF(SD_VISIBLE, visible);
    Py_SETREF(SD_ITEMS, items);
    if (SD_VISIBLE == NULL || SD_ITEMS == NULL) return -1;
    if (PyModule_AddObjectRef(m, "SD_VISIBLE", SD_VISIBLE) < 0) return -1;
    return PyModule_AddObjectRef(m, "SD_ITEMS", SD_ITEMS);
}

static struct PyModuleDef fastpath_module = {
    PyModuleDef_HEAD_INIT, "cardio._fastpath",
    "The credential verifier's hot path, compiled (see cardio/_fastpath.c).", -1,
    fastpath_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastpath(void) {
    fill_b64u_table();
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    PyObject *m = PyModule_Create(&fastpath_module);
    if (m == NULL) return NULL;
    ClaimsType = PyStructSequence_NewType(&claims_desc);
    if (ClaimsType == NULL || PyModule_AddObjectRef(m, "Claims", (PyObject *)ClaimsType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    PyObject *codes = PyTuple_New((Py_ssize_t)N_ENTITLEMENT_CODES);
    if (codes == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    for (size_t i = 0; i < N_ENTITLEMENT_CODES; i++) {
        PyObject *code = PyUnicode_FromString(ENTITLEMENT_CODES[i]);
        if (code == NULL) {
            Py_DECREF(codes);
            Py_DECREF(m);
            return NULL;
        }
        PyTuple_SET_ITEM(codes, (Py_ssize_t)i, code);
    }
    int added = PyModule_AddObjectRef(m, "ENTITLEMENT_CODES", codes);
    Py_DECREF(codes);
    if (added < 0 || sd_presentation_init(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
