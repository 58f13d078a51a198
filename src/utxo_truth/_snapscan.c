/* Compiled pass over a Bitcoin Core UTXO snapshot (dumptxoutset format version 2).
 *
 * One pass over the file in large reads (records straddling two reads are moved to the front of
 * the buffer), Core's VARINT / CompactSize / CompressAmount / CompressedScript decoded in C, the
 * watched scripts in an open-addressing hash set of their stored (compressed and raw) forms, and
 * only the matched coins handed back to Python.  Optionally the UTXO-set hash hash_serialized_3
 * (coinstats.cpp TxOutSer under a double SHA-256) in the same pass, with a self-contained
 * SHA-256 (FIPS 180-4).  Memory: the buffer, the hash set and the matches; not the file.
 *
 * The pure-Python reader in sources/snapshot.py is the reference; every range check here mirrors
 * one there, and the errors are raised as the exception class the caller passes in
 * (SnapshotFormatError), prefixed with the file's name.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SCRIPT_SIZE 10000             /* script.h MAX_SCRIPT_SIZE */
#define MAX_MONEY 2100000000000000ULL     /* amount.h MAX_MONEY */

/* ---------------------------------------------------------------- SHA-256 (FIPS 180-4) */
typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
} sha256_t;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_init(sha256_t *s) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->len = 0;
    s->n = 0;
}

static void sha256_block(uint32_t *h, const uint8_t *p) {
    uint32_t w[64], a, b, c, d, e, f, g, hh;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The same compression function on the x86 SHA extensions (used when the CPU has them). */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_block_shani(uint32_t *h,
                                                                           const uint8_t *p) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i s0, s1, t, abef, cdgh, w[16], m;
    int i;
    t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);  /* CDAB */
    s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* EFGH */
    s0 = _mm_alignr_epi8(t, s1, 8);                                        /* ABEF */
    s1 = _mm_blend_epi16(s1, t, 0xF0);                                     /* CDGH */
    abef = s0;
    cdgh = s1;
    for (i = 0; i < 4; i++)
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), mask);
    for (i = 4; i < 16; i++) {
        t = _mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]),
                          _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
        w[i] = _mm_sha256msg2_epu32(t, w[i - 1]);
    }
    for (i = 0; i < 16; i++) {
        m = _mm_add_epi32(w[i], _mm_loadu_si128((const __m128i *)&K256[4 * i]));
        s1 = _mm_sha256rnds2_epu32(s1, s0, m);
        m = _mm_shuffle_epi32(m, 0x0E);
        s0 = _mm_sha256rnds2_epu32(s0, s1, m);
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
    t = _mm_shuffle_epi32(s0, 0x1B);   /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);  /* DCHG */
    s0 = _mm_blend_epi16(t, s1, 0xF0); /* DCBA */
    s1 = _mm_alignr_epi8(s1, t, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)&h[0], s0);
    _mm_storeu_si128((__m128i *)&h[4], s1);
}
#endif

static void (*sha256_compress)(uint32_t *, const uint8_t *) = sha256_block;

static void sha256_update(sha256_t *s, const uint8_t *p, size_t n) {
    s->len += n;
    if (s->n) {
        size_t k = 64 - s->n;
        if (k > n) k = n;
        memcpy(s->buf + s->n, p, k);
        s->n += k; p += k; n -= k;
        if (s->n < 64) return;
        sha256_compress(s->h, s->buf);
        s->n = 0;
    }
    while (n >= 64) {
        sha256_compress(s->h, p);
        p += 64; n -= 64;
    }
    if (n) {
        memcpy(s->buf, p, n);
        s->n = n;
    }
}

static void sha256_final(sha256_t *s, uint8_t out[32]) {
    uint64_t bits = s->len * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (s->n < 56) ? 56 - s->n : 120 - s->n;
    uint8_t lenb[8];
    int i;
    for (i = 0; i < 8; i++) lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, pad, padlen);
    sha256_update(s, lenb, 8);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

/* ---------------------------------------------------------------- hash set of stored scripts */
typedef struct {
    const uint8_t *p; /* NULL: empty slot */
    Py_ssize_t n;
    uint32_t label; /* which watched script: the caller's label for this key */
} slot_t;

static inline uint64_t key_hash(const uint8_t *p, size_t n) {
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ULL;
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
        h ^= a;
        h *= 0xff51afd7ed558ccdULL;
        h ^= b;
        if (n > 16) {
            uint64_t c;
            memcpy(&c, p + n / 2 - 4, 8);
            h *= 0xc4ceb9fe1a85ec53ULL;
            h ^= c;
        }
    } else {
        size_t i;
        for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
    return h;
}

typedef struct {
    slot_t *slots;
    size_t mask;
    size_t count;
    uint8_t *filter; /* FILTER_BITS bits from a key's last bytes: most coins stop here */
} keyset_t;

#define FILTER_BITS 18
static inline size_t filter_index(const uint8_t *p, size_t n) {
    /* a stored key's last bytes are hash or key bytes for every common script type */
    uint32_t x = (uint32_t)p[n - 1] | (uint32_t)p[n > 1 ? n - 2 : 0] << 8 |
                 (uint32_t)p[n > 2 ? n - 3 : 0] << 16;
    return (size_t)((x ^ ((uint32_t)n * 0x9E3779B1u >> 14)) & ((1u << FILTER_BITS) - 1));
}

static const slot_t *keyset_find(const keyset_t *ks, const uint8_t *p, size_t n) {
    size_t i;
    size_t f;
    if (!ks->count) return NULL;
    f = filter_index(p, n);
    if (!(ks->filter[f >> 3] & (1u << (f & 7)))) return NULL;
    i = (size_t)key_hash(p, n) & ks->mask;
    for (;;) {
        const slot_t *s = &ks->slots[i];
        if (!s->p) return NULL;
        if ((size_t)s->n == n && memcmp(s->p, p, n) == 0) return s;
        i = (i + 1) & ks->mask;
    }
}

/* ---------------------------------------------------------------- decoding */
/* serialize.h ReadVarInt: MSB-first base-128, +1 per continuation byte.  Returns the number of
 * bytes read, 0 when the input ends first; *over is set when the value exceeds 64 bits. */
static inline size_t read_varint(const uint8_t *p, const uint8_t *end, uint64_t *out, int *over) {
    uint64_t n = 0;
    const uint8_t *q = p;
    *over = 0;
    for (;;) {
        uint8_t ch;
        if (q >= end) return 0;
        ch = *q++;
        if (n > (UINT64_MAX >> 7)) *over = 1;
        n = (n << 7) | (ch & 0x7F);
        if (ch & 0x80) {
            if (n == UINT64_MAX) *over = 1;
            n++;
        } else {
            *out = n;
            return (size_t)(q - p);
        }
    }
}

/* compressor.cpp DecompressAmount; returns 0 on overflow of 64 bits. */
static int decompress_amount(uint64_t x, uint64_t *out) {
    unsigned __int128 n;
    int e, i;
    if (x == 0) {
        *out = 0;
        return 1;
    }
    x--;
    e = (int)(x % 10);
    x /= 10;
    if (e < 9) {
        uint64_t d = (x % 9) + 1;
        x /= 9;
        n = (unsigned __int128)x * 10 + d;
    } else {
        n = (unsigned __int128)x + 1;
    }
    for (i = 0; i < e; i++) n *= 10;
    if (n > UINT64_MAX) return 0;
    *out = (uint64_t)n;
    return 1;
}

static PyObject *u128_to_py(unsigned __int128 v) {
    PyObject *hi = PyLong_FromUnsignedLongLong((unsigned long long)(v >> 64));
    PyObject *lo = PyLong_FromUnsignedLongLong((unsigned long long)v);
    PyObject *sh = NULL, *r = NULL, *sixty4 = PyLong_FromLong(64);
    if (hi && lo && sixty4 && (sh = PyNumber_Lshift(hi, sixty4))) r = PyNumber_Or(sh, lo);
    Py_XDECREF(hi); Py_XDECREF(lo); Py_XDECREF(sh); Py_XDECREF(sixty4);
    return r;
}

/* ---------------------------------------------------------------- matched coins as columns */
/* One growable array per field, all of one length: txid (32 bytes, internal order), vout u32,
 * height u32, coinbase u8, value u64, label u32 (the watched script's label).  Handed to Python
 * as bytes, one per column: no object per coin. */
typedef struct {
    uint8_t *txid, *coinbase;
    uint32_t *vout, *height, *label;
    uint64_t *value;
    size_t n, cap;
} cols_t;

static void cols_free(cols_t *c) {
    PyMem_Free(c->txid); PyMem_Free(c->coinbase); PyMem_Free(c->vout);
    PyMem_Free(c->height); PyMem_Free(c->label); PyMem_Free(c->value);
    memset(c, 0, sizeof *c);
}

static int cols_grow(cols_t *c) {
    size_t cap = c->cap ? c->cap * 2 : 1024;
#define GROW(f, w) do { void *q = PyMem_Realloc(c->f, cap * (w)); if (!q) goto nomem; c->f = q; } while (0)
    GROW(txid, 32); GROW(coinbase, 1); GROW(vout, 4); GROW(height, 4); GROW(label, 4); GROW(value, 8);
#undef GROW
    c->cap = cap;
    return 1;
nomem:
    PyErr_NoMemory();
    return 0;
}

/* (txids, vout, height, coinbase, value, label), each a bytes object of n rows */
#define COL(f) (c->f ? (const char *)c->f : "") /* no rows yet: no buffer, an empty column */
static PyObject *cols_to_py(const cols_t *c) {
    return Py_BuildValue("(y#y#y#y#y#y#)", COL(txid), (Py_ssize_t)(32 * c->n),
                         COL(vout), (Py_ssize_t)(4 * c->n), COL(height), (Py_ssize_t)(4 * c->n),
                         COL(coinbase), (Py_ssize_t)c->n, COL(value), (Py_ssize_t)(8 * c->n),
                         COL(label), (Py_ssize_t)(4 * c->n));
}
#undef COL

/* ---------------------------------------------------------------- watch list (issue 19 item 4)
 * A file of addresses and script hex, one a line, read straight into a hash set of the scripts'
 * stored (compressed) forms: no Python object per script. Memory: a record per script in one
 * arena (4-byte line, 2-byte length, the stored form: 21 bytes for P2PKH/P2SH, 23 for P2WPKH, 35
 * for P2WSH/P2TR) and an 8-byte slot per script at a load of 3/8..3/4, plus a bit filter.
 *
 * A line the fast path here does not take whole (anything but a plain address of the network or
 * the hex of a common script, or one that could be mistaken for key material by the Python
 * check) is handed to `fallback(line_number, bytes)`, the pure-Python reader's own function
 * (watchlist.py): it returns the script, None for a blank line or comment, or raises the typed
 * error. So every error, and every answer this path does not give itself, is the reference's. */
#define WL_MAXLINE 65536
#define WL_ALIAS 0x8000u  /* a second stored form of a script (uncompressed P2PK) */
#define WL_MAXOFF 0xFFFFFFFFFFULL

typedef struct {
    PyObject_HEAD
    uint64_t *slots; /* (record offset + 1) | tag << 40; 0: empty */
    size_t mask, count;
    uint8_t *arena;  /* records: u32 line | u16 length (+WL_ALIAS) | stored form [| 67-byte script] */
    size_t used, cap;
    uint8_t *filter;
    size_t filter_mask; /* bits - 1 */
    unsigned long long scripts, lines, repeats;
} WatchSet;

static void ws_dealloc(WatchSet *ws) {
    PyMem_RawFree(ws->slots);
    PyMem_RawFree(ws->arena);
    PyMem_RawFree(ws->filter);
    Py_TYPE(ws)->tp_free((PyObject *)ws);
}

static inline uint16_t ws_klen(const uint8_t *r) {
    uint16_t k;
    memcpy(&k, r + 4, 2);
    return k;
}

static long long ws_find(const WatchSet *ws, const uint8_t *p, size_t n, uint64_t h) {
    size_t i = (size_t)h & ws->mask;
    uint64_t tag = h >> 40;
    for (;;) {
        uint64_t s = ws->slots[i];
        if (!s) return -1;
        if ((s >> 40) == tag) {
            size_t off = (size_t)(s & WL_MAXOFF) - 1;
            const uint8_t *r = ws->arena + off;
            if ((ws_klen(r) & 0x7FFF) == n && !memcmp(r + 6, p, n)) return (long long)off;
        }
        i = (i + 1) & ws->mask;
    }
}

static int ws_grow(WatchSet *ws, size_t size) {
    uint64_t *old = ws->slots, *slots;
    size_t oldsize = old ? ws->mask + 1 : 0, i;
    slots = PyMem_RawCalloc(size, sizeof(uint64_t));
    if (!slots) { PyErr_NoMemory(); return -1; }
    for (i = 0; i < oldsize; i++) {
        uint64_t s = old[i];
        const uint8_t *r;
        size_t j;
        if (!s) continue;
        r = ws->arena + (size_t)(s & WL_MAXOFF) - 1;
        j = (size_t)key_hash(r + 6, ws_klen(r) & 0x7FFF) & (size - 1);
        while (slots[j]) j = (j + 1) & (size - 1);
        slots[j] = s;
    }
    PyMem_RawFree(old);
    ws->slots = slots;
    ws->mask = size - 1;
    return 0;
}

/* Add one stored form; returns 1 if added, 0 if already there, -1 on error. */
static int ws_put(WatchSet *ws, const uint8_t *key, size_t n, uint32_t line, int alias,
                  const uint8_t *full) {
    uint64_t h = key_hash(key, n);
    size_t need = 6 + n + (full ? 67 : 0), j;
    uint16_t kl = (uint16_t)(n | (alias ? WL_ALIAS : 0));
    uint8_t *r;
    if ((ws->count + 1) * 4 > (ws->mask + 1) * 3 && ws_grow(ws, (ws->mask + 1) * 2) < 0) return -1;
    if (ws_find(ws, key, n, h) >= 0) return 0;
    if (ws->used + need > ws->cap) {
        size_t cap = ws->cap ? ws->cap : 1 << 16;
        uint8_t *a;
        while (cap < ws->used + need) cap *= 2;
        a = PyMem_RawRealloc(ws->arena, cap);
        if (!a) { PyErr_NoMemory(); return -1; }
        ws->arena = a;
        ws->cap = cap;
    }
    if (ws->used + 1 > WL_MAXOFF) { PyErr_SetString(PyExc_MemoryError, "watch list too large"); return -1; }
    r = ws->arena + ws->used;
    memcpy(r, &line, 4);
    memcpy(r + 4, &kl, 2);
    memcpy(r + 6, key, n);
    if (full) memcpy(r + 6 + n, full, 67);
    j = (size_t)h & ws->mask;
    while (ws->slots[j]) j = (j + 1) & ws->mask;
    ws->slots[j] = ((h >> 40) << 40) | (uint64_t)(ws->used + 1);
    ws->used += need;
    ws->count++;
    return 1;
}

/* serialize.h WriteVarInt (Core's VARINT), as the snapshot stores a raw script's size + 6 */
static size_t core_varint(uint64_t n, uint8_t *out) {
    uint8_t tmp[10];
    size_t len = 0, i;
    for (;;) {
        tmp[len] = (uint8_t)((n & 0x7F) | (len ? 0x80 : 0));
        if (n <= 0x7F) break;
        n = (n >> 7) - 1;
        len++;
    }
    for (i = 0; i <= len; i++) out[i] = tmp[len - i];
    return len + 1;
}

/* compressor.cpp CompressScript: the stored form(s) of a script. Returns 0, or -1 on error. */
static int ws_add_script(WatchSet *ws, const uint8_t *s, size_t n, uint32_t line) {
    uint8_t key[MAX_SCRIPT_SIZE + 16];
    int added;
    if (n > MAX_SCRIPT_SIZE) {
        PyErr_SetString(PyExc_ValueError, "script over MAX_SCRIPT_SIZE");
        return -1;
    }
    if (n == 25 && s[0] == 0x76 && s[1] == 0xa9 && s[2] == 0x14 && s[23] == 0x88 && s[24] == 0xac) {
        key[0] = 0x00; memcpy(key + 1, s + 3, 20); /* IsToKeyID: P2PKH */
        added = ws_put(ws, key, 21, line, 0, NULL);
    } else if (n == 23 && s[0] == 0xa9 && s[1] == 0x14 && s[22] == 0x87) {
        key[0] = 0x01; memcpy(key + 1, s + 2, 20); /* IsToScriptID: P2SH */
        added = ws_put(ws, key, 21, line, 0, NULL);
    } else if (n == 35 && s[0] == 33 && (s[1] == 2 || s[1] == 3) && s[34] == 0xac) {
        added = ws_put(ws, s + 1, 33, line, 0, NULL); /* IsToPubKey, compressed key */
    } else {
        size_t k = core_varint((uint64_t)n + 6, key); /* the raw form: VARINT(size + 6), script */
        memcpy(key + k, s, n);
        added = ws_put(ws, key, k + n, line, 0, NULL);
        if (added == 1 && n == 67 && s[0] == 65 && s[1] == 4 && s[66] == 0xac) {
            /* IsToPubKey, uncompressed key: Core stores it compressed when the key is on the
             * curve (not checked here), raw otherwise: both forms are watched */
            key[0] = (uint8_t)(0x04 | (s[65] & 1));
            memcpy(key + 1, s + 2, 32);
            if (ws_put(ws, key, 33, line, 1, s) < 0) return -1;
        }
    }
    if (added < 0) return -1;
    ws->lines++;
    if (added) ws->scripts++;
    else ws->repeats++;
    return 0;
}

/* The script of a record, from its stored form. */
static PyObject *ws_script(const uint8_t *r) {
    uint16_t kl = ws_klen(r) & 0x7FFF;
    const uint8_t *k = r + 6;
    uint8_t b[35];
    if (kl == 21 && k[0] == 0) {
        b[0] = 0x76; b[1] = 0xa9; b[2] = 0x14; memcpy(b + 3, k + 1, 20); b[23] = 0x88; b[24] = 0xac;
        return PyBytes_FromStringAndSize((const char *)b, 25);
    }
    if (kl == 21 && k[0] == 1) {
        b[0] = 0xa9; b[1] = 0x14; memcpy(b + 2, k + 1, 20); b[22] = 0x87;
        return PyBytes_FromStringAndSize((const char *)b, 23);
    }
    if (kl == 33 && (k[0] == 2 || k[0] == 3)) {
        b[0] = 0x21; memcpy(b + 1, k, 33); b[34] = 0xac;
        return PyBytes_FromStringAndSize((const char *)b, 35);
    }
    if (kl == 33 && (k[0] == 4 || k[0] == 5)) /* uncompressed P2PK: the script follows */
        return PyBytes_FromStringAndSize((const char *)k + 33, 67);
    {
        uint64_t size = 0;
        int over;
        size_t v = read_varint(k, k + kl, &size, &over);
        if (!v || over || size < 6 || v + (size - 6) != kl) {
            PyErr_SetString(PyExc_ValueError, "not a watch-list record");
            return NULL;
        }
        return PyBytes_FromStringAndSize((const char *)k + v, (Py_ssize_t)(size - 6));
    }
}

/* snap_scan's labels for a WatchSet: dense, in the order scripts first match a coin.
 * A 10^7-script list labels only the scripts that hold coins (the coins' columns then index a
 * short list of scripts, as with key lists); a script's label is found again in an
 * open-addressing table of (its line + 1, label), grown at a load of 1/2.  The line names the
 * script (each line holds one script, and a script's records keep its first line), so the two
 * stored forms of an uncompressed P2PK share one label. */
typedef struct {
    uint64_t *off; /* the script's line + 1; 0: empty */
    uint32_t *label;
    size_t mask, count;
    PyObject *scripts; /* label -> the record's script (ws_script) */
} ws_labels_t;

static void wsl_free(ws_labels_t *t) {
    PyMem_RawFree(t->off);
    PyMem_RawFree(t->label);
    Py_XDECREF(t->scripts);
    memset(t, 0, sizeof *t);
}

static int wsl_grow(ws_labels_t *t) {
    size_t size = t->off ? 2 * (t->mask + 1) : 1024, i, oldsize = t->off ? t->mask + 1 : 0;
    uint64_t *off = PyMem_RawCalloc(size, sizeof *off);
    uint32_t *label = PyMem_RawMalloc(size * sizeof *label);
    if (!off || !label) {
        PyMem_RawFree(off);
        PyMem_RawFree(label);
        PyErr_NoMemory();
        return -1;
    }
    for (i = 0; i < oldsize; i++) {
        size_t j;
        if (!t->off[i]) continue;
        j = (size_t)(t->off[i] * 0x9E3779B97F4A7C15ULL >> 20) & (size - 1);
        while (off[j]) j = (j + 1) & (size - 1);
        off[j] = t->off[i];
        label[j] = t->label[i];
    }
    PyMem_RawFree(t->off);
    PyMem_RawFree(t->label);
    t->off = off;
    t->label = label;
    t->mask = size - 1;
    return 0;
}

/* The label of a coin's stored form p[0..n): 1 (and *label) if watched, 0 if not, -1 on error.
 * A script matched for the first time gets the next label and its script appended. */
static int ws_match(WatchSet *ws, ws_labels_t *t, const uint8_t *p, size_t n, uint32_t *label) {
    uint64_t h, key;
    long long off;
    size_t j;
    h = key_hash(p, n);
    if (ws->filter) {
        size_t f = (size_t)(h >> 16) & ws->filter_mask;
        if (!(ws->filter[f >> 3] & (1u << (f & 7)))) return 0;
    }
    off = ws_find(ws, p, n, h);
    if (off < 0) return 0;
    {
        uint32_t line; /* a script's records (its two forms, for P2PK) all keep its first line */
        memcpy(&line, ws->arena + off, 4);
        key = (uint64_t)line + 1;
    }
    if ((t->count + 1) * 2 > (t->off ? t->mask + 1 : 0) && wsl_grow(t) < 0) return -1;
    j = (size_t)(key * 0x9E3779B97F4A7C15ULL >> 20) & t->mask;
    while (t->off[j]) {
        if (t->off[j] == key) {
            *label = t->label[j];
            return 1;
        }
        j = (j + 1) & t->mask;
    }
    if (t->count >= 0xFFFFFFFFULL) {
        PyErr_SetString(PyExc_OverflowError, "more than 2**32-1 watched scripts hold coins");
        return -1;
    }
    {
        PyObject *s = ws_script(ws->arena + off);
        if (!s || PyList_Append(t->scripts, s) < 0) {
            Py_XDECREF(s);
            return -1;
        }
        Py_DECREF(s);
    }
    t->off[j] = key;
    t->label[j] = *label = (uint32_t)t->count++;
    return 1;
}

/* ---- the fast path over one line: a plain address or common script hex, else 0 */
typedef struct {
    const char *hrp;
    size_t hrp_len;
    int p2pkh, p2sh;
} wl_net_t;

static const int8_t *hexval_table(void) {
    static int8_t t[256];
    static int done = 0;
    if (!done) {
        int i;
        for (i = 0; i < 256; i++) t[i] = -1;
        for (i = 0; i < 10; i++) t['0' + i] = (int8_t)i;
        for (i = 0; i < 6; i++) { t['a' + i] = (int8_t)(10 + i); t['A' + i] = (int8_t)(10 + i); }
        done = 1;
    }
    return t;
}

/* Lengths at which targets.py's private-key check (_refuse_private) looks at a token: a line
 * of such a length is left to the Python reader, which refuses it if it is key-like. */
static int risky_length(size_t n) {
    return (n >= 49 && n <= 53) || (n >= 62 && n <= 66) || (n >= 100 && n <= 115);
}

static int fast_hex(const uint8_t *s, size_t n, uint8_t *out, size_t *outn) {
    const int8_t *hv = hexval_table();
    size_t i, m;
    /* Of the forms below only a 31..33-byte witness program is of a length _refuse_private
     * reads as a possible raw key (62..66 hex digits); at 50 and 52 digits (P2PKH, a 24-byte
     * witness program) its WIF test cannot match hex starting 76/5x, and 100..115 is none. */
    if (n < 2 || n % 2 || n > 2 * 67 || (n >= 62 && n <= 66)) return 0;
    for (i = 0; i < n; i += 2) {
        int a = hv[s[i]], b = hv[s[i + 1]];
        if (a < 0 || b < 0) return 0;
        out[i / 2] = (uint8_t)(a << 4 | b);
    }
    m = n / 2;
    /* the common forms of _script.script_type_of; any other script goes to the Python reader */
    if (m == 25 && out[0] == 0x76 && out[1] == 0xa9 && out[2] == 0x14 && out[23] == 0x88 &&
        out[24] == 0xac) goto ok;                                             /* P2PKH */
    if (m == 23 && out[0] == 0xa9 && out[1] == 0x14 && out[22] == 0x87) goto ok; /* P2SH */
    /* BIP141 witness program: a version opcode (OP_0, OP_1..OP_16) and one 2..40-byte push */
    if (m >= 4 && m <= 42 && (out[0] == 0 || (out[0] >= 0x51 && out[0] <= 0x60)) &&
        out[1] == m - 2) goto ok;
    if (m == 35 && out[0] == 33 && (out[1] == 2 || out[1] == 3) && out[34] == 0xac) goto ok;
    if (m == 67 && out[0] == 65 && out[1] == 4 && out[66] == 0xac) goto ok; /* P2PK */
    return 0;
ok:
    *outn = m;
    return 1;
}

static const char B32[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t bech32_polymod_step(uint32_t c, uint8_t v) {
    uint32_t top = c >> 25;
    c = ((c & 0x1FFFFFF) << 5) ^ v;
    if (top & 1) c ^= 0x3b6a57b2;
    if (top & 2) c ^= 0x26508e6d;
    if (top & 4) c ^= 0x1ea119fa;
    if (top & 8) c ^= 0x3d4233dd;
    if (top & 16) c ^= 0x2a1462b3;
    return c;
}

static int fast_bech32(const uint8_t *s, size_t n, const wl_net_t *net, uint8_t *out,
                       size_t *outn) {
    static int8_t rev[256];
    static int rev_done = 0;
    uint8_t data[90];
    size_t pos, i, nd, nonhex = 0, m = 0;
    int lower = 0, upper = 0;
    uint32_t c = 1, acc = 0;
    int bits = 0, v;
    if (!rev_done) {
        for (i = 0; i < 256; i++) rev[i] = -1;
        for (i = 0; i < 32; i++) { rev[(uint8_t)B32[i]] = (int8_t)i; rev[(uint8_t)(B32[i] - 32 * (B32[i] >= 'a'))] = (int8_t)i; }
        rev_done = 1;
    }
    if (n > 90 || n < net->hrp_len + 7) return 0; /* BIP173: at most 90 characters */
    for (i = 0; i < n; i++) {
        if (s[i] >= 'a' && s[i] <= 'z') lower = 1;
        else if (s[i] >= 'A' && s[i] <= 'Z') upper = 1;
        if (hexval_table()[s[i]] < 0) nonhex++;
    }
    if (lower && upper) return 0; /* BIP173: mixed case is invalid (left to the Python reader) */
    if (n >= 62 && n <= 66 && nonhex <= 2) return 0; /* what _refuse_private reads as hex */
    if (risky_length(n) && !(n >= 62 && n <= 66)) return 0; /* WIF-long: its test decides */
    for (pos = n; pos > 0 && s[pos - 1] != '1'; pos--) {}
    if (!pos) return 0;
    pos--; /* BIP173: the separator is the last '1' */
    if (pos != net->hrp_len) return 0; /* another network's or no HRP: the Python reader says */
    for (i = 0; i < pos; i++)
        if ((s[i] | 0x20) != (uint8_t)net->hrp[i]) return 0;
    if (pos + 7 > n) return 0; /* BIP173: a 6-character checksum after at least the version */
    /* BIP173 checksum over the HRP expanded (high bits, 0, low bits) and the data part */
    for (i = 0; i < pos; i++) c = bech32_polymod_step(c, (uint8_t)((s[i] | 0x20) >> 5));
    c = bech32_polymod_step(c, 0);
    for (i = 0; i < pos; i++) c = bech32_polymod_step(c, (uint8_t)((s[i] | 0x20) & 31));
    nd = 0;
    for (i = pos + 1; i < n; i++) {
        int8_t d = rev[s[i]];
        if (d < 0) return 0;
        data[nd++] = (uint8_t)d;
        c = bech32_polymod_step(c, (uint8_t)d);
    }
    v = data[0];
    if (v > 16) return 0; /* BIP141: witness versions 0..16 */
    /* BIP350: version 0 takes bech32 (constant 1), versions 1..16 bech32m (0x2bc830a3) */
    if (c != (v == 0 ? 1u : 0x2bc830a3u)) return 0;
    /* BIP173: the 5-bit groups after the version regrouped into bytes; an incomplete group at
     * the end must be 4 bits or less and all zeroes */
    for (i = 1; i < nd - 6; i++) {
        acc = ((acc << 5) | data[i]) & 0xFFF;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (m >= 40) return 0;
            out[2 + m++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 5 || ((acc << (8 - bits)) & 0xFF)) return 0;
    if (m < 2 || m > 40) return 0;                 /* BIP141: a 2..40-byte program */
    if (v == 0 && m != 20 && m != 32) return 0;    /* BIP141: v0 is P2WPKH (20) or P2WSH (32) */
    out[0] = (uint8_t)(v ? 0x50 + v : 0);          /* OP_0, or OP_1..OP_16 */
    out[1] = (uint8_t)m;
    *outn = m + 2;
    return 1;
}

static const char B58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int fast_base58(const uint8_t *s, size_t n, const wl_net_t *net, uint8_t *out,
                       size_t *outn) {
    static int8_t rev[256];
    static int rev_done = 0;
    uint8_t b[40], payload[25], d1[32], d2[32];
    size_t i, zeros = 0, lead, len;
    sha256_t sha;
    if (!rev_done) {
        for (i = 0; i < 256; i++) rev[i] = -1;
        for (i = 0; i < 58; i++) rev[(uint8_t)B58[i]] = (int8_t)i;
        rev_done = 1;
    }
    if (n < 25 || n > 35) return 0;
    if (n >= 4 && s[1] == 'p' && ((s[2] == 'u' && s[3] == 'b') || (s[2] == 'r' && s[3] == 'v')))
        return 0; /* xpub/xprv-like prefixes: the Python reader's concern */
    {
        /* the number in 32-bit limbs (big-endian), fed up to 5 digits at a time (58^5 < 2^32) */
        uint32_t limb[10] = {0};
        size_t k;
        for (i = 0; i < n;) {
            uint64_t mul = 1, add = 0;
            for (k = 0; k < 5 && i < n; k++, i++) {
                int d = rev[s[i]];
                if (d < 0) return 0;
                mul *= 58;
                add = add * 58 + (uint64_t)d;
            }
            for (k = 10; k-- > 0;) {
                uint64_t x = (uint64_t)limb[k] * mul + add;
                limb[k] = (uint32_t)x;
                add = x >> 32;
            }
            if (add) return 0;
        }
        for (k = 0; k < 10; k++) {
            b[4 * k] = (uint8_t)(limb[k] >> 24);
            b[4 * k + 1] = (uint8_t)(limb[k] >> 16);
            b[4 * k + 2] = (uint8_t)(limb[k] >> 8);
            b[4 * k + 3] = (uint8_t)limb[k];
        }
    }
    while (zeros < n && s[zeros] == '1') zeros++;
    for (lead = 0; lead < sizeof b && b[lead] == 0; lead++) {}
    len = zeros + (sizeof b - lead);
    if (len != 25) return 0; /* a version byte, a 20-byte hash and a 4-byte checksum */
    memset(payload, 0, zeros);
    memcpy(payload + zeros, b + lead, sizeof b - lead);
    /* base58check: the checksum is the first 4 bytes of SHA256(SHA256(version | hash)) */
    sha256_init(&sha);
    sha256_update(&sha, payload, 21);
    sha256_final(&sha, d1);
    sha256_init(&sha);
    sha256_update(&sha, d1, 32);
    sha256_final(&sha, d2);
    if (memcmp(d2, payload + 21, 4)) return 0;
    if (payload[0] == net->p2pkh) { /* the network's P2PKH version byte */
        out[0] = 0x76; out[1] = 0xa9; out[2] = 0x14; memcpy(out + 3, payload + 1, 20);
        out[23] = 0x88; out[24] = 0xac;
        *outn = 25;
        return 1;
    }
    if (payload[0] == net->p2sh) { /* the network's P2SH version byte */
        out[0] = 0xa9; out[1] = 0x14; memcpy(out + 2, payload + 1, 20); out[22] = 0x87;
        *outn = 23;
        return 1;
    }
    return 0;
}

/* One line (its newline taken off). Returns 0, or -1 with an exception set. */
static int ws_line(WatchSet *ws, const uint8_t *s, size_t n, unsigned long long number,
                   const wl_net_t *net, PyObject *fallback) {
    uint8_t script[67 + 8];
    size_t m = 0;
    const uint8_t *t = s;
    size_t tn = n;
    PyObject *got;
    if (number > 0xFFFFFFFFULL) {
        PyErr_SetString(PyExc_OverflowError, "more than 2**32-1 lines");
        return -1;
    }
    while (tn && (*t == ' ' || *t == '\t' || *t == '\r')) { t++; tn--; }
    while (tn && (t[tn - 1] == ' ' || t[tn - 1] == '\t' || t[tn - 1] == '\r')) tn--;
    if (!tn || *t == '#') return 0; /* a blank line or a comment */
    if (fast_hex(t, tn, script, &m) || fast_bech32(t, tn, net, script, &m) ||
        fast_base58(t, tn, net, script, &m))
        return ws_add_script(ws, script, m, (uint32_t)number);
    got = PyObject_CallFunction(fallback, "Ky#", number, (const char *)s, (Py_ssize_t)n);
    if (!got) return -1;
    if (got == Py_None) { Py_DECREF(got); return 0; }
    if (!PyBytes_Check(got)) {
        Py_DECREF(got);
        PyErr_SetString(PyExc_TypeError, "fallback must return bytes or None");
        return -1;
    }
    if (ws_add_script(ws, (const uint8_t *)PyBytes_AS_STRING(got), (size_t)PyBytes_GET_SIZE(got),
                      (uint32_t)number) < 0) {
        Py_DECREF(got);
        return -1;
    }
    Py_DECREF(got);
    return 0;
}

static PyTypeObject WatchSetType;

/* watch_list(path, hrp, p2pkh, p2sh, fallback) -> WatchSet: the file read in 1 MiB pieces. */
static PyObject *wl_read(PyObject *self, PyObject *args) {
    PyObject *pathobj = NULL, *fallback;
    const char *hrp;
    Py_ssize_t hrp_len;
    int p2pkh, p2sh, fd = -1;
    WatchSet *ws = NULL;
    uint8_t *buf = NULL;
    size_t cap = (1 << 20) + WL_MAXLINE + 1, have = 0, start;
    unsigned long long number = 0;
    int eof = 0, first = 1;
    wl_net_t net;
    struct stat st;
    (void)self;
    if (!PyArg_ParseTuple(args, "O&s#iiO", PyUnicode_FSConverter, &pathobj, &hrp, &hrp_len, &p2pkh,
                          &p2sh, &fallback))
        return NULL;
    net.hrp = hrp;
    net.hrp_len = (size_t)hrp_len;
    net.p2pkh = p2pkh;
    net.p2sh = p2sh;
    ws = PyObject_New(WatchSet, &WatchSetType);
    if (!ws) goto fail;
    ws->slots = NULL; ws->arena = NULL; ws->filter = NULL;
    ws->mask = 0; ws->count = 0; ws->used = 0; ws->cap = 0; ws->filter_mask = 0;
    ws->scripts = 0; ws->lines = 0; ws->repeats = 0;
    buf = PyMem_RawMalloc(cap);
    if (!buf) { PyErr_NoMemory(); goto fail; }
    fd = open(PyBytes_AS_STRING(pathobj), O_RDONLY);
    if (fd < 0) { PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, pathobj); goto fail; }
    {
        /* sized for the file's lines at about 40 bytes each, so that it rarely grows */
        size_t size = 1 << 10;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
            size_t guess = (size_t)st.st_size / 40;
            if (guess > ((size_t)1 << 24)) guess = (size_t)1 << 24; /* a guess: grown as read */
            while (size * 3 < guess * 4) size <<= 1;
        }
        if (ws_grow(ws, size) < 0) goto fail;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    while (!eof || have) {
        uint8_t *nl;
        start = 0;
        if (!eof) {
            while (have < cap && !eof) {
                ssize_t got;
                Py_BEGIN_ALLOW_THREADS
                got = read(fd, buf + have, cap - have);
                Py_END_ALLOW_THREADS
                if (got < 0) {
                    if (errno == EINTR) continue;
                    PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, pathobj);
                    goto fail;
                }
                if (got == 0) eof = 1;
                have += (size_t)got;
            }
        }
        if (first) { /* a UTF-8 byte order mark, as some editors write */
            first = 0;
            if (have >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) start = 3;
        }
        for (;;) {
            size_t len;
            nl = memchr(buf + start, '\n', have - start);
            if (!nl) {
                if (!eof && have - start <= WL_MAXLINE) break; /* read on */
                if (have - start > WL_MAXLINE) {
                    PyObject *r;
                    number++;
                    r = PyObject_CallFunction(fallback, "KO", number, Py_None);
                    Py_XDECREF(r);
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_ValueError, "fallback accepted a line too long");
                    goto fail;
                }
                if (have == start) break;
                len = have - start; /* the last line, without a newline */
                number++;
                if (ws_line(ws, buf + start, len, number, &net, fallback) < 0) goto fail;
                start = have;
                break;
            }
            len = (size_t)(nl - (buf + start));
            number++;
            if (len > WL_MAXLINE) {
                PyObject *r = PyObject_CallFunction(fallback, "KO", number, Py_None);
                Py_XDECREF(r);
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "fallback accepted a line too long");
                goto fail;
            }
            if (ws_line(ws, buf + start, len, number, &net, fallback) < 0) goto fail;
            start += len + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (eof && !have) break;
    }
    /* shrink the arena to what it holds; then the bit filter, 8 bits a script or so */
    if (ws->used && ws->used < ws->cap) {
        uint8_t *a = PyMem_RawRealloc(ws->arena, ws->used);
        if (a) { ws->arena = a; ws->cap = ws->used; }
    }
    if (ws->count) {
        size_t bits = 1 << 15, i;
        while (bits < ws->count * 8 && bits < ((size_t)1 << 27)) bits <<= 1;
        ws->filter = PyMem_RawCalloc(bits / 8, 1);
        if (!ws->filter) { PyErr_NoMemory(); goto fail; }
        ws->filter_mask = bits - 1;
        for (i = 0; i <= ws->mask; i++) {
            uint64_t s = ws->slots[i];
            const uint8_t *r;
            size_t f;
            if (!s) continue;
            r = ws->arena + (size_t)(s & WL_MAXOFF) - 1;
            f = (size_t)(key_hash(r + 6, ws_klen(r) & 0x7FFF) >> 16) & ws->filter_mask;
            ws->filter[f >> 3] |= (uint8_t)(1u << (f & 7));
        }
    }
    close(fd);
    PyMem_RawFree(buf);
    Py_DECREF(pathobj);
    return (PyObject *)ws;
fail:
    if (fd >= 0) close(fd);
    PyMem_RawFree(buf);
    Py_XDECREF(pathobj);
    Py_XDECREF(ws);
    return NULL;
}

static Py_ssize_t ws_len(WatchSet *ws) { return (Py_ssize_t)ws->scripts; }

/* line_of(script) -> the line number of its first appearance, or None */
static PyObject *ws_line_of(WatchSet *ws, PyObject *arg) {
    uint8_t key[MAX_SCRIPT_SIZE + 16];
    const uint8_t *s;
    size_t n, k;
    long long off;
    uint32_t line;
    if (!PyBytes_Check(arg)) { PyErr_SetString(PyExc_TypeError, "script must be bytes"); return NULL; }
    s = (const uint8_t *)PyBytes_AS_STRING(arg);
    n = (size_t)PyBytes_GET_SIZE(arg);
    if (n > MAX_SCRIPT_SIZE) Py_RETURN_NONE;
    if (n == 25 && s[0] == 0x76 && s[1] == 0xa9 && s[2] == 0x14 && s[23] == 0x88 && s[24] == 0xac) {
        key[0] = 0; memcpy(key + 1, s + 3, 20); k = 21;
    } else if (n == 23 && s[0] == 0xa9 && s[1] == 0x14 && s[22] == 0x87) {
        key[0] = 1; memcpy(key + 1, s + 2, 20); k = 21;
    } else if (n == 35 && s[0] == 33 && (s[1] == 2 || s[1] == 3) && s[34] == 0xac) {
        memcpy(key, s + 1, 33); k = 33;
    } else {
        k = core_varint((uint64_t)n + 6, key);
        memcpy(key + k, s, n);
        k += n;
    }
    off = ws_find(ws, key, k, key_hash(key, k));
    if (off < 0) Py_RETURN_NONE;
    memcpy(&line, ws->arena + off, 4);
    return PyLong_FromUnsignedLong(line);
}

/* chunk(offset, n) -> ([(line, script), ...], next offset): the scripts in file order */
static PyObject *ws_chunk(WatchSet *ws, PyObject *args) {
    Py_ssize_t offset, n, got = 0;
    PyObject *out;
    if (!PyArg_ParseTuple(args, "nn", &offset, &n)) return NULL;
    if (offset < 0 || (size_t)offset > ws->used) { PyErr_SetString(PyExc_ValueError, "bad offset"); return NULL; }
    out = PyList_New(0);
    if (!out) return NULL;
    while ((size_t)offset < ws->used && got < n) {
        const uint8_t *r = ws->arena + offset;
        uint16_t kl;
        size_t klen;
        if ((size_t)offset + 6 > ws->used) { /* not a record's start: its header would be past the end */
            Py_DECREF(out);
            PyErr_SetString(PyExc_ValueError, "bad offset");
            return NULL;
        }
        kl = ws_klen(r);
        klen = kl & 0x7FFF;
        if ((size_t)offset + 6 + klen + ((kl & WL_ALIAS) ? 67 : 0) > ws->used) {
            Py_DECREF(out); /* not an offset chunk() returned */
            PyErr_SetString(PyExc_ValueError, "bad offset");
            return NULL;
        }
        if (!(kl & WL_ALIAS)) {
            uint32_t line;
            PyObject *s = ws_script(r), *t;
            memcpy(&line, r, 4);
            t = s ? Py_BuildValue("(kN)", (unsigned long)line, s) : NULL;
            if (!t || PyList_Append(out, t) < 0) { Py_XDECREF(t); Py_DECREF(out); return NULL; }
            Py_DECREF(t);
            got++;
        }
        offset += (Py_ssize_t)(6 + klen + ((kl & WL_ALIAS) ? 67 : 0));
    }
    return Py_BuildValue("(Nn)", out, offset);
}

static PyObject *ws_get_lines(WatchSet *ws, void *c) { (void)c; return PyLong_FromUnsignedLongLong(ws->lines); }
static PyObject *ws_get_repeats(WatchSet *ws, void *c) { (void)c; return PyLong_FromUnsignedLongLong(ws->repeats); }
static PyObject *ws_get_memory(WatchSet *ws, void *c) {
    (void)c;
    return PyLong_FromSize_t((ws->mask + 1) * sizeof(uint64_t) + ws->cap +
                             (ws->filter ? (ws->filter_mask + 1) / 8 : 0));
}

static PyMethodDef ws_methods[] = {
    {"line_of", (PyCFunction)ws_line_of, METH_O, "line_of(script) -> first line number or None"},
    {"chunk", (PyCFunction)ws_chunk, METH_VARARGS, "chunk(offset, n) -> ([(line, script)], next)"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef ws_getset[] = {
    {"lines", (getter)ws_get_lines, NULL, "lines holding a script (repeats included)", NULL},
    {"repeats", (getter)ws_get_repeats, NULL, "lines repeating an earlier line's script", NULL},
    {"memory", (getter)ws_get_memory, NULL, "bytes held: slots, records and filter", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods ws_as_sequence = {.sq_length = (lenfunc)ws_len};

static PyTypeObject WatchSetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "utxo_truth._snapscan.WatchSet",
    .tp_basicsize = sizeof(WatchSet),
    .tp_dealloc = (destructor)ws_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The scripts of a watch list in a hash set of their stored forms.",
    .tp_methods = ws_methods,
    .tp_getset = ws_getset,
    .tp_as_sequence = &ws_as_sequence,
};
/* ---------------------------------------------------------------- end of the watch list */

/* ---------------------------------------------------------------- the pass */
typedef struct {
    int fd;
    uint8_t *buf;
    size_t cap, avail, pos;
    int eof;
} reader_t;

/* Keep at least `margin` bytes ahead of pos unless the file ends. Returns 0 on an I/O error. */
static int refill(reader_t *r, size_t margin) {
    size_t keep;
    if (r->eof || r->avail - r->pos >= margin) return 1;
    keep = r->avail - r->pos;
    memmove(r->buf, r->buf + r->pos, keep);
    r->avail = keep;
    r->pos = 0;
    while (r->avail < r->cap && !r->eof) {
        ssize_t got;
        Py_BEGIN_ALLOW_THREADS
        got = read(r->fd, r->buf + r->avail, r->cap - r->avail);
        Py_END_ALLOW_THREADS
        if (got < 0) {
            if (errno == EINTR) continue;
            PyErr_SetFromErrno(PyExc_OSError);
            return 0;
        }
        if (got == 0) r->eof = 1;
        r->avail += (size_t)got;
    }
    return 1;
}

/* scan(path, offset, count, keys, labels, want_hash, full_script, err, where, chunk, margin)
 *   -> (matches, max_height, digest or None, coins, total_sats, scripts or None)
 * labels: one int per key (< 2**32), the watched script it stands for.
 * Or keys a WatchSet and labels None (c2-watchlist): each record that matches a coin is given
 * the next label (0, 1, ...) and `scripts` lists their scripts, label -> script; None with keys.
 * matches: columns in file order (see cols_to_py): txids, vout, height, coinbase, value, label.
 * A matched coin is range-checked here (vout and height code within uint32, value within
 * MoneyRange), as the Python reader's _check_fields does. */
static PyObject *snap_scan(PyObject *self, PyObject *args) {
    PyObject *pathobj = NULL, *keys, *scripts, *full_script, *err, *where;
    long long offset;
    unsigned long long count;
    int want_hash;
    Py_ssize_t chunk, margin;
    PyObject *matches = NULL, *result = NULL, *digest = Py_None;
    cols_t cols;
    keyset_t ks;
    reader_t r;
    sha256_t sha;
    uint8_t txid[32], rec[32 + 4 + 4 + 8 + 5];
    uint8_t *sbuf = NULL;
    unsigned long long n = 0, group_left = 0;
    uint64_t max_code = 0;
    int have_code = 0, code_too_long = 0, code_over = 0;
    unsigned __int128 total = 0;
    Py_ssize_t i, nkeys;
    const char *fail = NULL; /* a format error, formatted below */
    char failbuf[200];
    WatchSet *ws = NULL; /* c2-watchlist */
    ws_labels_t wsl;

    (void)self;
    memset(&wsl, 0, sizeof wsl);
    memset(&ks, 0, sizeof ks);
    memset(&r, 0, sizeof r);
    memset(&cols, 0, sizeof cols);
    r.fd = -1;
    if (!PyArg_ParseTuple(args, "O&LKOOpOOUnn", PyUnicode_FSConverter, &pathobj, &offset,
                          &count, &keys, &scripts, &want_hash,
                          &full_script, &err, &where, &chunk, &margin))
        return NULL;
    /* c2-watchlist: a WatchSet (watch_list()) in place of the keys and scripts lists */
    if (PyObject_TypeCheck(keys, &WatchSetType) && scripts == Py_None) {
        ws = (WatchSet *)keys;
        keys = scripts = NULL;
        wsl.scripts = PyList_New(0);
        if (!wsl.scripts) goto done;
    } else if (!PyList_Check(keys) || !PyList_Check(scripts)) {
        PyErr_SetString(PyExc_TypeError, "keys and scripts must be lists (or a WatchSet and None)");
        goto done;
    }
    nkeys = keys ? PyList_GET_SIZE(keys) : 0;
    if ((keys && PyList_GET_SIZE(scripts) != nkeys) || chunk < 1 || margin < 64) {
        PyErr_SetString(PyExc_ValueError, "keys and scripts differ in length, or bad chunk");
        goto done;
    }
    if (nkeys) {
        size_t size = 16;
        while (size < (size_t)nkeys * 2) size <<= 1;
        ks.slots = PyMem_Calloc(size, sizeof(slot_t));
        if (!ks.slots) { PyErr_NoMemory(); goto done; }
        ks.mask = size - 1;
        ks.filter = PyMem_Calloc((size_t)1 << (FILTER_BITS - 3), 1);
        if (!ks.filter) { PyErr_NoMemory(); goto done; }
        for (i = 0; i < nkeys; i++) {
            PyObject *k = PyList_GET_ITEM(keys, i);
            const uint8_t *p;
            Py_ssize_t kn;
            size_t j;
            if (!PyBytes_Check(k) || PyBytes_GET_SIZE(k) == 0) {
                PyErr_SetString(PyExc_TypeError, "keys must be non-empty bytes");
                goto done;
            }
            p = (const uint8_t *)PyBytes_AS_STRING(k);
            kn = PyBytes_GET_SIZE(k);
            j = (size_t)key_hash(p, (size_t)kn) & ks.mask;
            while (ks.slots[j].p && !((ks.slots[j].n == kn) && !memcmp(ks.slots[j].p, p, kn)))
                j = (j + 1) & ks.mask;
            if (!ks.slots[j].p) ks.count++;
            {
                size_t f = filter_index(p, (size_t)kn);
                ks.filter[f >> 3] |= (uint8_t)(1u << (f & 7));
            }
            ks.slots[j].p = p;
            ks.slots[j].n = kn;
            {
                unsigned long label = PyLong_AsUnsignedLong(PyList_GET_ITEM(scripts, i));
                if (label == (unsigned long)-1 && PyErr_Occurred()) goto done;
                if (label > 0xFFFFFFFFUL) {
                    PyErr_SetString(PyExc_OverflowError, "a label above 2**32-1");
                    goto done;
                }
                ks.slots[j].label = (uint32_t)label;
            }
        }
    }
    /* a whole record (group header + largest coin) always fits ahead of a record's start */
    if (margin < 32 + 9 + 9 + 10 + 10 + 10 + MAX_SCRIPT_SIZE + 64) margin = 32 + 9 + 9 + 10 + 10 + 10 + MAX_SCRIPT_SIZE + 64;
    r.cap = (size_t)chunk + (size_t)margin;
    r.buf = PyMem_Malloc(r.cap);
    sbuf = PyMem_Malloc(MAX_SCRIPT_SIZE + 67);
    if (!r.buf || !sbuf) { PyErr_NoMemory(); goto done; }
    r.fd = open(PyBytes_AS_STRING(pathobj), O_RDONLY);
    if (r.fd < 0) { PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, pathobj); goto done; }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(r.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    if (lseek(r.fd, (off_t)offset, SEEK_SET) < 0) { PyErr_SetFromErrno(PyExc_OSError); goto done; }
    if (want_hash) sha256_init(&sha);

    while (n < count) {
        const uint8_t *p, *end;
        uint64_t vout, code, amount, size;
        size_t k;
        int over;
        const uint8_t *script_pos;
        size_t key_len, code_len, amount_len;
        int code_bad;
        uint8_t kind;

        if (!refill(&r, (size_t)margin)) goto done;
        p = r.buf + r.pos;
        end = r.buf + r.avail;
#define NEED(m) do { if ((size_t)(end - p) < (size_t)(m)) goto truncated; } while (0)
        if (!group_left) {
            NEED(33);
            memcpy(txid, p, 32);
            p += 32;
            group_left = *p++;
            if (group_left >= 253) { /* serialize.h ReadCompactSize, little-endian tail */
                int w = group_left == 253 ? 2 : group_left == 254 ? 4 : 8, b;
                NEED(w);
                group_left = 0;
                for (b = w - 1; b >= 0; b--) group_left = (group_left << 8) | p[b];
                p += w;
            }
            if (!group_left) { fail = "a transaction with zero coins (corrupt)"; goto format; }
        }
        /* vout: CompactSize */
        NEED(1);
        vout = *p++;
        if (vout >= 253) {
            int w = vout == 253 ? 2 : vout == 254 ? 4 : 8, b;
            NEED(w);
            vout = 0;
            for (b = w - 1; b >= 0; b--) vout = (vout << 8) | p[b];
            p += w;
        }
        /* Coin: VARINT(height*2 + coinbase) */
        k = read_varint(p, end, &code, &over);
        if (!k) goto truncated;
        code_len = k;
        code_bad = k > 10 || over;
        if (k > 10) code_too_long = 1;  /* the Python reader refuses a VARINT over 10 bytes */
        else if (over) code_over = 1;
        else if (!have_code || code > max_code) { max_code = code; have_code = 1; }
        if (want_hash && (k > 10 || over || code > 0xFFFFFFFFULL)) {
            /* coinstats.cpp TxOutSer writes height*2+coinbase as a uint32 */
            fail = k > 10 ? "a VARINT longer than 10 bytes (corrupt snapshot)"
                          : "a coin with a height code above 2**32-1 (corrupt)";
            goto format;
        }
        p += k;
        /* VARINT(CompressAmount(value)), decoded only when needed */
        {
            const uint8_t *amount_pos = p;
            while (p < end && *p > 127) p++;
            if (p >= end) goto truncated;
            p++;
            amount_len = (size_t)(p - amount_pos);
            amount = 0;
            over = 0;
            if (want_hash) {
                if (amount_len > 10) { fail = "a VARINT longer than 10 bytes (corrupt snapshot)"; goto format; }
                read_varint(amount_pos, end, &amount, &over);
            }
            /* CompressedScript */
            NEED(1);
            script_pos = p;
            kind = *p;
            if (kind < 6) {
                key_len = kind < 2 ? 21 : 33;
                NEED(key_len);
                size = kind;
            } else if (kind < 128) {
                size = kind;
                key_len = (size_t)(kind - 5);
                NEED(key_len);
            } else {
                k = read_varint(p, end, &size, &over);
                if (!k) goto truncated;
                if (k > 10) { fail = "a VARINT longer than 10 bytes (corrupt snapshot)"; goto format; }
                if (over || size - 6 > MAX_SCRIPT_SIZE) {
                    snprintf(failbuf, sizeof failbuf,
                             "coin %llu has a script of %s bytes, over the limit", n,
                             over ? "more than 2**64" : "");
                    if (!over)
                        snprintf(failbuf, sizeof failbuf,
                                 "coin %llu has a script of %llu bytes, over the limit", n,
                                 (unsigned long long)(size - 6));
                    fail = failbuf;
                    goto format;
                }
                key_len = k + (size_t)(size - 6);
                NEED(key_len);
            }
            if (ks.count || ws) {
                uint32_t label = 0;
                int hit = 0;
                if (!ws) {
                    const slot_t *slot = keyset_find(&ks, script_pos, key_len);
                    if (slot) { hit = 1; label = slot->label; }
                } else if ((hit = ws_match(ws, &wsl, script_pos, key_len, &label)) < 0) {
                    goto done; /* c2-watchlist: dense labels, scripts in wsl.scripts */
                }
                if (hit) {
                    uint64_t value;
                    if (amount_len > 10 || code_len > 10) {
                        fail = "a VARINT longer than 10 bytes (corrupt snapshot)";
                        goto format;
                    }
                    if (code_bad) {
                        fail = "a coin whose height does not fit 64 bits (corrupt)";
                        goto format;
                    }
                    read_varint(amount_pos, end, &amount, &over);
                    if (over || !decompress_amount(amount, &value) || value > MAX_MONEY) {
                        /* amount.h MoneyRange */
                        fail = "a coin above 21 million BTC (MAX_MONEY; corrupt)";
                        goto format;
                    }
                    if (vout > 0xFFFFFFFFULL) { /* COutPoint::n is a uint32 */
                        snprintf(failbuf, sizeof failbuf,
                                 "a coin with output index %llu, above 2**32-1",
                                 (unsigned long long)vout);
                        fail = failbuf;
                        goto format;
                    }
                    if (code > 0xFFFFFFFFULL) { /* Coin: nHeight and fCoinBase in one uint32 */
                        snprintf(failbuf, sizeof failbuf,
                                 "a coin with height code %llu, above 2**32-1",
                                 (unsigned long long)code);
                        fail = failbuf;
                        goto format;
                    }
                    if (cols.n == cols.cap && !cols_grow(&cols)) goto done;
                    memcpy(cols.txid + 32 * cols.n, txid, 32);
                    cols.vout[cols.n] = (uint32_t)vout;
                    cols.height[cols.n] = (uint32_t)(code >> 1);
                    cols.coinbase[cols.n] = (uint8_t)(code & 1);
                    cols.value[cols.n] = value;
                    cols.label[cols.n] = label;
                    cols.n++;
                }
            }
            if (want_hash) {
                uint64_t value;
                const uint8_t *sp;
                size_t slen;
                int b;
                if (over || !decompress_amount(amount, &value) || value > MAX_MONEY) {
                    /* amount.h MoneyRange, as the Python reader's hash path checks it */
                    fail = "a coin above 21 million BTC (MAX_MONEY; corrupt)";
                    goto format;
                }
                if (vout > 0xFFFFFFFFULL) {
                    /* coinstats.cpp TxOutSer writes the outpoint's n as a uint32 */
                    fail = "a coin with an output index above 2**32-1 (corrupt)";
                    goto format;
                }
                total += value;
                if (kind == 0) { /* P2PKH: OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG */
                    sbuf[0] = 0x76; sbuf[1] = 0xa9; sbuf[2] = 0x14;
                    memcpy(sbuf + 3, script_pos + 1, 20);
                    sbuf[23] = 0x88; sbuf[24] = 0xac;
                    sp = sbuf; slen = 25;
                } else if (kind == 1) { /* P2SH: OP_HASH160 <20> OP_EQUAL */
                    sbuf[0] = 0xa9; sbuf[1] = 0x14;
                    memcpy(sbuf + 2, script_pos + 1, 20);
                    sbuf[22] = 0x87;
                    sp = sbuf; slen = 23;
                } else if (kind < 4) { /* compressed P2PK */
                    sbuf[0] = 0x21;
                    memcpy(sbuf + 1, script_pos, 33);
                    sbuf[34] = 0xac;
                    sp = sbuf; slen = 35;
                } else if (kind < 6) { /* uncompressed P2PK: the key's y is recomputed in Python */
                    PyObject *full = PyObject_CallFunction(full_script, "iy#", (int)kind,
                                                           (const char *)script_pos + 1,
                                                           (Py_ssize_t)32);
                    if (!full) goto done;
                    if (!PyBytes_Check(full) || PyBytes_GET_SIZE(full) != 67) {
                        Py_DECREF(full);
                        PyErr_SetString(PyExc_TypeError, "full_script must return 67 bytes");
                        goto done;
                    }
                    memcpy(sbuf, PyBytes_AS_STRING(full), 67);
                    Py_DECREF(full);
                    sp = sbuf; slen = 67;
                } else {
                    slen = (size_t)(size - 6);
                    sp = script_pos + (key_len - slen);
                }
                /* TxOutSer: outpoint (txid, n u32), height*2+coinbase u32, value i64, script */
                memcpy(rec, txid, 32);
                for (b = 0; b < 4; b++) rec[32 + b] = (uint8_t)(vout >> (8 * b));
                for (b = 0; b < 4; b++) rec[36 + b] = (uint8_t)(code >> (8 * b));
                for (b = 0; b < 8; b++) rec[40 + b] = (uint8_t)(value >> (8 * b));
                k = 48;
                if (slen < 253) {
                    rec[k++] = (uint8_t)slen;
                } else {
                    rec[k++] = 0xfd;
                    rec[k++] = (uint8_t)slen;
                    rec[k++] = (uint8_t)(slen >> 8);
                }
                sha256_update(&sha, rec, k);
                sha256_update(&sha, sp, slen);
            }
            p = script_pos + key_len;
        }
#undef NEED
        r.pos = (size_t)(p - r.buf);
        group_left--;
        n++;
    }
    if (group_left) {
        snprintf(failbuf, sizeof failbuf,
                 "the last transaction promises %llu more coins than the header counts",
                 group_left);
        fail = failbuf;
        goto format;
    }
    if (!refill(&r, 1)) goto done;
    if (r.avail != r.pos) {
        snprintf(failbuf, sizeof failbuf,
                 "data left after the %llu coins the header counts (corrupt or appended)", count);
        fail = failbuf;
        goto format;
    }
    if (code_too_long) { fail = "a VARINT longer than 10 bytes (corrupt snapshot)"; goto format; }
    if (code_over) { fail = "a coin whose height does not fit 64 bits (corrupt)"; goto format; }
    if (want_hash) {
        uint8_t d1[32], d2[32];
        sha256_final(&sha, d1);
        sha256_init(&sha);
        sha256_update(&sha, d1, 32);
        sha256_final(&sha, d2);
        digest = PyBytes_FromStringAndSize((const char *)d2, 32);
        if (!digest) goto done;
    } else {
        Py_INCREF(digest);
    }
    {
        PyObject *tot = u128_to_py(total);
        if (!tot) { Py_DECREF(digest); goto done; }
        matches = cols_to_py(&cols);
        if (!matches) { Py_DECREF(digest); Py_DECREF(tot); goto done; }
        result = Py_BuildValue("(OLNKNO)", matches, have_code ? (long long)(max_code >> 1) : -1LL,
                               digest, n, tot, ws ? wsl.scripts : Py_None);
    }
    goto done;

truncated:
    snprintf(failbuf, sizeof failbuf,
             "truncated: the header promises %llu coins but the file ends after %llu", count, n);
    fail = failbuf;
format:
    PyErr_Format(err, "%U: %s", where, fail);
done:
    if (r.fd >= 0) close(r.fd);
    PyMem_Free(r.buf);
    PyMem_Free(sbuf);
    PyMem_Free(ks.slots);
    PyMem_Free(ks.filter);
    Py_XDECREF(matches);
    cols_free(&cols);
    wsl_free(&wsl);
    Py_XDECREF(pathobj);
    return result;
}

/* ---------------------------------------------------------------- work on the columns
 * The helpers of utxo_truth._columns (each has a pure-Python twin there, tested equal):
 * sort the matched coins, group them per watch target, sum them, and format them as JSON. */

/* A column argument: a read-only buffer of rows of `width` bytes. */
static int col_arg(PyObject *o, Py_buffer *b, Py_ssize_t width, Py_ssize_t n, const char *name) {
    if (PyObject_GetBuffer(o, b, PyBUF_SIMPLE) < 0) return 0;
    if (n >= 0 && b->len != width * n) {
        PyErr_Format(PyExc_ValueError, "column %s holds %zd bytes, not %zd", name, b->len,
                     width * n);
        PyBuffer_Release(b);
        b->obj = NULL;
        return 0;
    }
    return 1;
}

typedef struct {
    uint8_t key[40]; /* height big-endian | txid in display order | vout big-endian */
    uint32_t row;
} sortkey_t;

static int sortkey_cmp(const void *a, const void *b) {
    int c = memcmp(((const sortkey_t *)a)->key, ((const sortkey_t *)b)->key, 40);
    if (c) return c;
    return ((const sortkey_t *)a)->row < ((const sortkey_t *)b)->row ? -1 : 1;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void sortkey_fill(sortkey_t *k, const uint8_t *tx, uint32_t vout, uint32_t height,
                         uint32_t row) {
    int j;
    put_be32(k->key, height);
    for (j = 0; j < 32; j++) k->key[4 + j] = tx[31 - j];
    put_be32(k->key + 36, vout);
    k->row = row;
}

typedef struct {
    uint64_t key; /* height << 32 | the txid's first 4 bytes in display order */
    uint32_t row, pad;
} radix_t;

/* The rows in (height, txid in display order, vout) order: an LSD radix sort on the first 8
 * bytes of that key (16-bit digits, a pass skipped when all rows share its digit), then each run
 * of equal prefixes (the outputs of one transaction, mostly) sorted on the whole key. */
static int order_rows(const uint8_t *tx, const uint32_t *vout, const uint32_t *height, size_t n,
                      uint32_t *order) {
    radix_t *a = PyMem_RawMalloc((n ? n : 1) * sizeof *a), *b = PyMem_RawMalloc((n ? n : 1) * sizeof *b);
    size_t *count = PyMem_RawMalloc(65537 * sizeof *count);
    sortkey_t *run = NULL;
    size_t runcap = 0, i;
    int pass, ok = 0;
    if (!a || !b || !count) goto out;
    for (i = 0; i < n; i++) {
        const uint8_t *t = tx + 32 * i;
        a[i].key = (uint64_t)height[i] << 32 | (uint64_t)t[31] << 24 | (uint64_t)t[30] << 16 |
                   (uint64_t)t[29] << 8 | t[28];
        a[i].row = (uint32_t)i;
        a[i].pad = 0;
    }
    for (pass = 0; pass < 4; pass++) {
        int shift = 16 * pass;
        size_t sum = 0;
        radix_t *tmp;
        memset(count, 0, 65537 * sizeof *count);
        for (i = 0; i < n; i++) count[((a[i].key >> shift) & 0xFFFF) + 1]++;
        if (n && count[((a[0].key >> shift) & 0xFFFF) + 1] == n) continue; /* one digit for all */
        for (i = 1; i <= 65536; i++) { sum += count[i]; count[i] = sum; }
        for (i = 0; i < n; i++) b[count[(a[i].key >> shift) & 0xFFFF]++] = a[i];
        tmp = a; a = b; b = tmp;
    }
    for (i = 0; i < n;) {
        size_t j = i + 1, k;
        while (j < n && a[j].key == a[i].key) j++;
        if (j - i > 1) {
            if (j - i > runcap) {
                sortkey_t *q = PyMem_RawRealloc(run, (j - i) * sizeof *run);
                if (!q) goto out;
                run = q;
                runcap = j - i;
            }
            for (k = i; k < j; k++) {
                uint32_t r = a[k].row;
                sortkey_fill(&run[k - i], tx + 32 * (size_t)r, vout[r], height[r], r);
            }
            qsort(run, j - i, sizeof *run, sortkey_cmp);
            for (k = i; k < j; k++) order[k] = run[k - i].row;
        } else {
            order[i] = a[i].row;
        }
        i = j;
    }
    ok = 1;
out:
    PyMem_RawFree(a);
    PyMem_RawFree(b);
    PyMem_RawFree(count);
    PyMem_RawFree(run);
    return ok;
}

/* Whether each (txid, vout) of n rows is there once: an open-addressing set of row numbers.
 * *dup: the first row whose outpoint an earlier row has, or -1.  Returns 0 without memory. */
static int outpoints_unique(const uint8_t *tx, const uint32_t *vout, size_t n, Py_ssize_t *dup) {
    size_t size = 16, mask, i;
    uint32_t *set;
    while (size < 2 * n) size <<= 1;
    mask = size - 1;
    set = PyMem_RawMalloc(size * sizeof *set);
    if (!set) return 0;
    memset(set, 0xFF, size * sizeof *set); /* 0xFFFFFFFF: empty */
    *dup = -1;
    for (i = 0; i < n; i++) {
        uint64_t h;
        size_t j;
        uint64_t w[4];
        memcpy(w, tx + 32 * i, 32); /* all of the txid: a crafted file's need not look random */
        h = w[0] ^ (w[1] * 0xc4ceb9fe1a85ec53ULL) ^ (w[2] * 0x100000001b3ULL) ^ (w[3] << 7 | w[3] >> 57);
        h ^= (uint64_t)vout[i] * 0x9E3779B97F4A7C15ULL;
        h *= 0xff51afd7ed558ccdULL;
        j = (size_t)(h ^ (h >> 29)) & mask;
        while (set[j] != 0xFFFFFFFFu) {
            uint32_t r = set[j];
            if (vout[r] == vout[i] && !memcmp(tx + 32 * (size_t)r, tx + 32 * i, 32)) {
                *dup = (Py_ssize_t)i;
                PyMem_RawFree(set);
                return 1;
            }
            j = (j + 1) & mask;
        }
        set[j] = (uint32_t)i;
    }
    PyMem_RawFree(set);
    return 1;
}

/* sort(txids, vout, height, coinbase, value, label) -> (the six columns reordered, dup)
 * The order of Holdings.utxos: height, then txid in display (byte-reversed) order, then vout.
 * dup: the row (in the new order) of an outpoint listed twice, or -1. */
static PyObject *cols_sort(PyObject *self, PyObject *args) {
    PyObject *o[6], *result = NULL;
    Py_buffer b[6];
    static const Py_ssize_t width[6] = {32, 4, 4, 1, 8, 4};
    static const char *names[6] = {"txids", "vout", "height", "coinbase", "value", "label"};
    sortkey_t *keys = NULL;
    uint32_t *order = NULL;
    cols_t out;
    Py_ssize_t n = -1, i, dup = -1;
    int k, got = 0;
    (void)self;
    memset(&out, 0, sizeof out);
    memset(b, 0, sizeof b);
    if (!PyArg_ParseTuple(args, "OOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5])) return NULL;
    for (k = 0; k < 6; k++) {
        if (!col_arg(o[k], &b[k], width[k], n, names[k])) goto done;
        got = k + 1;
        if (k == 0) {
            if (b[0].len % 32) { PyErr_SetString(PyExc_ValueError, "txids: not 32-byte rows"); goto done; }
            n = b[0].len / 32;
        }
    }
    if (n > 0xFFFFFFFFLL) { PyErr_SetString(PyExc_OverflowError, "too many rows"); goto done; }
    order = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *order);
    out.cap = (size_t)(n ? n : 1);
    out.txid = PyMem_Malloc(out.cap * 32); out.coinbase = PyMem_Malloc(out.cap);
    out.vout = PyMem_Malloc(out.cap * 4); out.height = PyMem_Malloc(out.cap * 4);
    out.label = PyMem_Malloc(out.cap * 4); out.value = PyMem_Malloc(out.cap * 8);
    if (!order || !out.txid || !out.coinbase || !out.vout || !out.height || !out.label || !out.value) {
        PyErr_NoMemory();
        goto done;
    }
    {
        const uint8_t *tx = b[0].buf, *cb = b[3].buf;
        const uint32_t *vout = b[1].buf, *height = b[2].buf, *label = b[5].buf;
        const uint64_t *value = b[4].buf;
        int ok;
        Py_BEGIN_ALLOW_THREADS
        ok = order_rows(tx, vout, height, (size_t)n, order);
        Py_END_ALLOW_THREADS
        if (!ok) { PyErr_NoMemory(); goto done; }
        for (i = 0; i < n; i++) {
            uint32_t r = order[i];
            memcpy(out.txid + 32 * i, tx + 32 * (size_t)r, 32);
            out.vout[i] = vout[r];
            out.height[i] = height[r];
            out.coinbase[i] = cb[r];
            out.value[i] = value[r];
            out.label[i] = label[r];
        }
        /* an outpoint (txid, vout) twice: a corrupt file; dup is the first row (in the new
         * order) whose outpoint an earlier row has */
        if (!outpoints_unique(out.txid, out.vout, (size_t)n, &dup)) { PyErr_NoMemory(); goto done; }
    }
    out.n = (size_t)n;
    {
        PyObject *c = cols_to_py(&out);
        if (c) result = Py_BuildValue("(Nn)", c, dup);
    }
done:
    for (k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    PyMem_Free(keys);
    PyMem_Free(order);
    cols_free(&out);
    return result;
}

/* group(label, first, count, oids, oid_target, ntargets) -> (offsets, rows, oids)
 * Row r (of the sorted columns) watched as origins oids[first[l] .. first[l]+count[l]) for its
 * label l, each of one target: per target, its (row, origin) items in row order.  offsets (u32,
 * ntargets+1) cut rows and oids (u32 each) per target. */
static PyObject *cols_group(PyObject *self, PyObject *args) {
    PyObject *o[5], *result = NULL;
    Py_buffer b[5];
    Py_ssize_t ntargets, n, nlabels, noids, i;
    uint64_t *fill = NULL, total = 0;
    uint32_t *off = NULL, *rows = NULL, *oids = NULL;
    int k, got = 0;
    (void)self;
    memset(b, 0, sizeof b);
    if (!PyArg_ParseTuple(args, "OOOOOn", &o[0], &o[1], &o[2], &o[3], &o[4], &ntargets)) return NULL;
    for (k = 0; k < 5; k++) {
        if (!col_arg(o[k], &b[k], 1, -1, "")) goto done;
        got = k + 1;
        if (b[k].len % 4) { PyErr_SetString(PyExc_ValueError, "not u32 columns"); goto done; }
    }
    n = b[0].len / 4;
    nlabels = b[1].len / 4;
    noids = b[3].len / 4;
    if (b[2].len != b[1].len || b[4].len != b[3].len || ntargets < 0) {
        PyErr_SetString(PyExc_ValueError, "group: columns of different lengths");
        goto done;
    }
    {
        const uint32_t *label = b[0].buf, *first = b[1].buf, *count = b[2].buf,
                       *lo = b[3].buf, *tgt = b[4].buf;
        fill = PyMem_Calloc((size_t)ntargets + 1, sizeof *fill);
        off = PyMem_Calloc((size_t)ntargets + 1, sizeof *off);
        if (!fill || !off) { PyErr_NoMemory(); goto done; }
        for (i = 0; i < nlabels; i++)
            if ((uint64_t)first[i] + count[i] > (uint64_t)noids) {
                PyErr_SetString(PyExc_ValueError, "group: a label's origins out of range");
                goto done;
            }
        for (i = 0; i < noids; i++)
            if (tgt[i] >= (uint64_t)ntargets) {
                PyErr_SetString(PyExc_ValueError, "group: an origin's target out of range");
                goto done;
            }
        for (i = 0; i < n; i++) {
            uint32_t l = label[i], j;
            if (l >= (uint64_t)nlabels) {
                PyErr_SetString(PyExc_ValueError, "group: a row's label out of range");
                goto done;
            }
            for (j = 0; j < count[l]; j++) fill[tgt[first[l] + j]]++;
        }
        for (i = 0; i < ntargets; i++) {
            off[i] = (uint32_t)total;
            total += fill[i];
            fill[i] = off[i];
        }
        if (total > 0xFFFFFFFFULL) { PyErr_SetString(PyExc_OverflowError, "too many items"); goto done; }
        off[ntargets] = (uint32_t)total;
        rows = PyMem_Malloc((size_t)(total ? total : 1) * 4);
        oids = PyMem_Malloc((size_t)(total ? total : 1) * 4);
        if (!rows || !oids) { PyErr_NoMemory(); goto done; }
        for (i = 0; i < n; i++) {
            uint32_t l = label[i], j;
            for (j = 0; j < count[l]; j++) {
                uint32_t oid = first[l] + j;
                uint64_t at = fill[tgt[oid]]++;
                rows[at] = (uint32_t)i;
                oids[at] = lo[oid];
            }
        }
        result = Py_BuildValue("(y#y#y#)", (const char *)off, (Py_ssize_t)(4 * (ntargets + 1)),
                               (const char *)rows, (Py_ssize_t)(4 * total), (const char *)oids,
                               (Py_ssize_t)(4 * total));
    }
done:
    for (k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    PyMem_Free(fill);
    PyMem_Free(off);
    PyMem_Free(rows);
    PyMem_Free(oids);
    return result;
}

/* A coinbase output is spendable only COINBASE_MATURITY (100) blocks on (consensus,
 * tx_verify.cpp CheckTxInputs): immature at a tip when tip + 1 - height < 100. */
#define COINBASE_MATURITY 100
static inline int immature_at(uint8_t coinbase, uint32_t height, long long tip) {
    return coinbase && tip + 1 - (long long)height < COINBASE_MATURITY;
}

/* sums(rows or None, height, coinbase, value, tip) -> (total, immature) over the rows given
 * (all rows with None). */
static PyObject *cols_sums(PyObject *self, PyObject *args) {
    PyObject *rowsobj, *o[3], *result = NULL;
    Py_buffer b[3], rb;
    long long tip;
    Py_ssize_t n, m, i;
    unsigned __int128 total = 0, immature = 0;
    int k, got = 0, have_rows = 0;
    (void)self;
    memset(b, 0, sizeof b);
    if (!PyArg_ParseTuple(args, "OOOOL", &rowsobj, &o[0], &o[1], &o[2], &tip)) return NULL;
    if (!col_arg(o[0], &b[0], 1, -1, "height")) return NULL;
    got = 1;
    n = b[0].len / 4;
    if (b[0].len % 4) { PyErr_SetString(PyExc_ValueError, "height: not u32"); goto done; }
    if (!col_arg(o[1], &b[1], 1, n, "coinbase")) goto done;
    got = 2;
    if (!col_arg(o[2], &b[2], 8, n, "value")) goto done;
    got = 3;
    if (rowsobj != Py_None) {
        if (!col_arg(rowsobj, &rb, 1, -1, "rows")) goto done;
        have_rows = 1;
        if (rb.len % 4) { PyErr_SetString(PyExc_ValueError, "rows: not u32"); goto done; }
    }
    {
        const uint32_t *height = b[0].buf, *rows = have_rows ? rb.buf : NULL;
        const uint8_t *cb = b[1].buf;
        const uint64_t *value = b[2].buf;
        m = have_rows ? rb.len / 4 : n;
        for (i = 0; i < m; i++) {
            Py_ssize_t r = rows ? (Py_ssize_t)rows[i] : i;
            if (r >= n) { PyErr_SetString(PyExc_IndexError, "sums: a row out of range"); goto done; }
            total += value[r];
            if (immature_at(cb[r], height[r], tip)) immature += value[r];
        }
    }
    {
        PyObject *t = u128_to_py(total), *im = t ? u128_to_py(immature) : NULL;
        if (t && im) result = PyTuple_Pack(2, t, im);
        Py_XDECREF(t);
        Py_XDECREF(im);
    }
done:
    for (k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    if (have_rows) PyBuffer_Release(&rb);
    return result;
}

static char *put_u64(char *p, uint64_t v) {
    char tmp[20];
    int k = 0;
    do { tmp[k++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (k) *p++ = tmp[--k];
    return p;
}

/* json(start, stop, txids, vout, height, coinbase, value, label, tip, mid, tail, first) -> str
 * Rows start..stop-1 as scan --json coin lines (_scanjson's format), each after ",\n" (the very
 * first of a list, `first` true, after "\n"):
 *   '    {"txid": "<hex>", "vout": V, "value": S' mid[label] HEIGHT ', "coinbase": B,
 *   "immature": B' tail[label]
 * mid and tail are lists of ASCII bytes per label (script, address; origin and the rest). */
static PyObject *cols_json(PyObject *self, PyObject *args) {
    PyObject *o[6], *mid, *tail, *result = NULL;
    Py_buffer b[6];
    static const Py_ssize_t width[6] = {32, 4, 4, 1, 8, 4};
    static const char *names[6] = {"txids", "vout", "height", "coinbase", "value", "label"};
    static const char hexd[] = "0123456789abcdef";
    Py_ssize_t start, stop, n = -1, i, size = 0, nl;
    long long tip;
    int first, k, got = 0;
    char *buf = NULL, *p;
    (void)self;
    memset(b, 0, sizeof b);
    if (!PyArg_ParseTuple(args, "nnOOOOOOLO!O!p", &start, &stop, &o[0], &o[1], &o[2], &o[3], &o[4],
                          &o[5], &tip, &PyList_Type, &mid, &PyList_Type, &tail, &first))
        return NULL;
    for (k = 0; k < 6; k++) {
        if (!col_arg(o[k], &b[k], width[k], n, names[k])) goto done;
        got = k + 1;
        if (k == 0) n = b[0].len / 32;
    }
    nl = PyList_GET_SIZE(mid);
    if (PyList_GET_SIZE(tail) != nl || start < 0 || stop > n || start > stop) {
        PyErr_SetString(PyExc_ValueError, "json: bad rows or label lists");
        goto done;
    }
    {
        const uint32_t *label = b[5].buf;
        for (i = start; i < stop; i++) {
            PyObject *m, *t;
            if (label[i] >= (uint64_t)nl) { PyErr_SetString(PyExc_IndexError, "json: label"); goto done; }
            m = PyList_GET_ITEM(mid, label[i]);
            t = PyList_GET_ITEM(tail, label[i]);
            if (!PyBytes_Check(m) || !PyBytes_Check(t)) {
                PyErr_SetString(PyExc_TypeError, "json: mid and tail must be bytes");
                goto done;
            }
            /* ",\n" + the fixed text (146 bytes, the txid's 64 hex digits included) + at most
             * 10 + 20 + 10 digits of vout, value and height, with room to spare */
            size += 2 + 200 + PyBytes_GET_SIZE(m) + PyBytes_GET_SIZE(t);
        }
    }
    buf = PyMem_Malloc((size_t)size + 1);
    if (!buf) { PyErr_NoMemory(); goto done; }
    p = buf;
    {
        const uint8_t *tx = b[0].buf, *cb = b[3].buf;
        const uint32_t *vout = b[1].buf, *height = b[2].buf, *label = b[5].buf;
        const uint64_t *value = b[4].buf;
        for (i = start; i < stop; i++) {
            PyObject *m = PyList_GET_ITEM(mid, label[i]), *t = PyList_GET_ITEM(tail, label[i]);
            int j;
            if (first && i == start) *p++ = '\n';
            else { *p++ = ','; *p++ = '\n'; }
#define LIT(s) do { memcpy(p, s, sizeof(s) - 1); p += sizeof(s) - 1; } while (0)
            LIT("    {\"txid\": \"");
            for (j = 31; j >= 0; j--) { /* display order: the bytes reversed */
                uint8_t c = tx[32 * i + j];
                *p++ = hexd[c >> 4];
                *p++ = hexd[c & 15];
            }
            LIT("\", \"vout\": ");
            p = put_u64(p, vout[i]);
            LIT(", \"value\": ");
            p = put_u64(p, value[i]);
            memcpy(p, PyBytes_AS_STRING(m), (size_t)PyBytes_GET_SIZE(m));
            p += PyBytes_GET_SIZE(m);
            p = put_u64(p, height[i]);
            if (cb[i]) LIT(", \"coinbase\": true, \"immature\": ");
            else LIT(", \"coinbase\": false, \"immature\": ");
            if (immature_at(cb[i], height[i], tip)) LIT("true");
            else LIT("false");
#undef LIT
            memcpy(p, PyBytes_AS_STRING(t), (size_t)PyBytes_GET_SIZE(t));
            p += PyBytes_GET_SIZE(t);
        }
    }
    if (p - buf > size) abort(); /* cannot happen: the sizing above is an upper bound */
    result = PyUnicode_DecodeASCII(buf, p - buf, "strict");
done:
    for (k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    PyMem_Free(buf);
    return result;
}

/* ================================================================ every coin as columns
 * (issue 19 item 5, the Parquet export; sources/parquet.py calls it through _snapfast.columns)
 *
 * columns(path, offset, count, batch, want_hash, full_script, err, where, chunk, margin,
 *         hrp, p2pkh_version, p2sh_version, sink) -> (digest or None, coins, total_sats, max_code)
 *
 * The same walk as snap_scan, over every coin with no filter: each coin decoded (its script
 * decompressed to the full scriptPubKey), classified as _script.script_type_of classifies it and
 * given its address as _script.address_of does (null where it has none), and stored in columnar
 * buffers laid out as Arrow arrays.  Every `batch` coins (or sooner, when the scripts of a batch
 * near 1 GiB) the buffers are handed to sink(n, txid, vout, height, coinbase, value, script_off,
 * script_data, type_off, type_data, addr_valid, addr_off, addr_data), all bytes:
 *   txid        n x 64 hex characters, the display order (bytes reversed); offsets are i*64
 *   vout        n x int64 LE        height   n x int32 LE        value  n x int64 LE (satoshis)
 *   coinbase    Arrow boolean bitmap (bit i of byte i/8, LSB first)
 *   *_off       (n+1) x int32 LE Arrow offsets into the matching *_data
 *   addr_valid  Arrow validity bitmap of the address column (0: null)
 * No Python object per coin, except for an uncompressed P2PK key (kinds 4/5): its y is
 * recomputed by full_script(kind, x) in Python, as snap_scan does.  With want_hash the UTXO-set
 * hash (hash_serialized_3 before its byte reversal) is computed in the same pass.  max_code is
 * the highest height*2+coinbase (-1 with no coins).  The GIL is released while a batch is
 * decoded (taken back for reads, the P2PK callback and the sink), so that a Python thread
 * writing the previous batches (pyarrow releases it too) runs at the same time. */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} cbuf_t;

/* Without the GIL: plain realloc; 0 when out of memory (the caller raises). */
static int cbuf_grow(cbuf_t *b, size_t more) {
    size_t cap;
    uint8_t *q;
    if (b->n + more <= b->cap) return 1;
    cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->n + more) cap *= 2;
    q = realloc(b->p, cap);
    if (!q) return 0;
    b->p = q;
    b->cap = cap;
    return 1;
}

static inline void put_u32le(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static inline void put_u64le(uint8_t *p, uint64_t v) {
    int b;
    for (b = 0; b < 8; b++) p[b] = (uint8_t)(v >> (8 * b));
}

/* _script.script_type_of, rule for rule and in its order; writes the name, returns its length.
 * *wv is set to the witness version (0..16) of a witness program, else -1. */
static size_t script_type(const uint8_t *s, size_t n, char *out, int *wv) {
    const char *t;
    size_t k;
    *wv = -1;
    if (n == 25 && s[0] == 0x76 && s[1] == 0xa9 && s[2] == 0x14 && s[23] == 0x88 && s[24] == 0xac)
        t = "p2pkh";
    else if (n == 23 && s[0] == 0xa9 && s[1] == 0x14 && s[22] == 0x87)
        t = "p2sh";
    else if (n == 22 && s[0] == 0 && s[1] == 0x14) { t = "p2wpkh"; *wv = 0; }
    else if (n == 34 && s[0] == 0 && s[1] == 0x20) { t = "p2wsh"; *wv = 0; }
    else if (n == 34 && s[0] == 0x51 && s[1] == 0x20) { t = "p2tr"; *wv = 1; }
    else if (n >= 4 && n <= 42 && (s[0] == 0 || (s[0] >= 0x51 && s[0] <= 0x60)) &&
             s[1] == n - 2) {
        /* BIP-141 witness program: a version opcode (OP_0, OP_1..OP_16), one push of 2..40 B */
        *wv = s[0] == 0 ? 0 : s[0] - 0x50;
        return (size_t)sprintf(out, "witness_v%d", *wv);
    } else if (((n == 35 && s[0] == 33 && (s[1] == 2 || s[1] == 3)) ||
                (n == 67 && s[0] == 65 && s[1] == 4)) && s[n - 1] == 0xac)
        t = "p2pk";
    else if (n >= 37 && s[n - 1] == 0xae && s[0] >= 0x51 && s[0] <= 0x60 && s[n - 2] >= 0x51 &&
             s[n - 2] <= 0x60)
        t = "multisig";
    else if (n >= 1 && s[0] == 0x6a)
        t = "nulldata";
    else
        t = "nonstandard";
    k = strlen(t);
    memcpy(out, t, k);
    return k;
}

/* B58, the base58 alphabet, is defined with the watch-list reader above */

/* Base58Check (base58.cpp EncodeBase58Check) of a 21-byte payload (version byte + HASH160):
 * the payload, the first 4 bytes of its double SHA-256, in base 58, one '1' per leading zero
 * byte.  The 25 bytes are 7 big-endian 32-bit limbs (3 zero bytes in front); each pass divides
 * them by 58**5, giving 5 digits, and 7 passes cover 200 bits (58**35 > 2**200). */
static size_t base58check21(const uint8_t payload[21], char *out) {
    uint8_t data[28], d1[32], d2[32];
    uint32_t limbs[7];
    uint8_t digits[35];
    sha256_t s;
    int step, j, k, zeros = 0, first = 0;
    size_t n = 0;
    memset(data, 0, 3);
    memcpy(data + 3, payload, 21);
    sha256_init(&s); sha256_update(&s, payload, 21); sha256_final(&s, d1);
    sha256_init(&s); sha256_update(&s, d1, 32); sha256_final(&s, d2);
    memcpy(data + 24, d2, 4);
    for (j = 0; j < 7; j++)
        limbs[j] = (uint32_t)data[4 * j] << 24 | (uint32_t)data[4 * j + 1] << 16 |
                   (uint32_t)data[4 * j + 2] << 8 | data[4 * j + 3];
    for (step = 0; step < 7; step++) {
        uint64_t rem = 0;
        for (j = 0; j < 7; j++) {
            uint64_t cur = (rem << 32) | limbs[j];
            limbs[j] = (uint32_t)(cur / 656356768u); /* 58**5 */
            rem = cur % 656356768u;
        }
        for (k = 0; k < 5; k++) {
            digits[34 - step * 5 - k] = (uint8_t)(rem % 58);
            rem /= 58;
        }
    }
    while (zeros < 25 && data[3 + zeros] == 0) zeros++;
    while (first < 35 && digits[first] == 0) first++;
    for (j = 0; j < zeros; j++) out[n++] = '1';
    for (j = first; j < 35; j++) out[n++] = B58[digits[j]];
    return n;
}

static const char BECH32[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* BIP-173 polymod, one 5-bit value */
static inline uint32_t polymod_step(uint32_t chk, uint32_t v) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    if (top & 1) chk ^= 0x3b6a57b2;
    if (top & 2) chk ^= 0x26508e6d;
    if (top & 4) chk ^= 0x1ea119fa;
    if (top & 8) chk ^= 0x3d4233dd;
    if (top & 16) chk ^= 0x2a1462b3;
    return chk;
}

/* The polymod is linear over GF(2) in (state, value), so the checksum of values d[0..n-1]
 * followed by BIP-173's six zeros, from state S, is ZERO_STEPS(S, n+6) XOR, for each i, the
 * state that d[i] alone leaves after the n-1-i+6 steps that follow it: BECH32_AFTER[j][v] (j
 * zero steps after v, from state 0).  Independent look-ups instead of a chain of n+6 steps.
 * 71 = the most steps after a value: 65 values (a 40-byte program) + 6 - 1 + 1. */
#define BECH32_STEPS 72
static uint32_t BECH32_AFTER[BECH32_STEPS][32];

static void init_bech32_after(void) {
    uint32_t v, c;
    int j;
    for (v = 0; v < 32; v++)
        for (c = polymod_step(0, v), j = 0; j < BECH32_STEPS; j++, c = polymod_step(c, 0))
            BECH32_AFTER[j][v] = c;
}

/* The polymod state after the expanded hrp (BIP-173: high bits, 0, low bits): the same for
 * every address of a network. */
static uint32_t hrp_state(const char *hrp, size_t len) {
    uint32_t chk = 1;
    size_t i;
    for (i = 0; i < len; i++) chk = polymod_step(chk, (uint8_t)hrp[i] >> 5);
    chk = polymod_step(chk, 0);
    for (i = 0; i < len; i++) chk = polymod_step(chk, (uint8_t)hrp[i] & 31);
    return chk;
}

/* A segwit address: BIP-173 (bech32) for witness version 0, BIP-350 (bech32m) for 1..16.
 * zero_steps[k]: the hrp's polymod state after k more zero steps (see BECH32_AFTER). */
static size_t segwit_address(const char *hrp, size_t hrplen, const uint32_t *zero_steps,
                             int version, const uint8_t *prog, size_t plen, char *out) {
    uint8_t data[1 + 64 + 8];
    char text[1 + 64 + 8 + 6];
    size_t dn = 0, i, n = 0;
    uint32_t acc = 0, chk;
    int bits = 0;
    data[dn++] = (uint8_t)version;
    /* BIP-173 convertbits(8 -> 5), zero-padded: 5 bytes are 8 values */
    for (i = 0; i + 5 <= plen; i += 5) {
        uint64_t w = (uint64_t)prog[i] << 32 | (uint64_t)prog[i + 1] << 24 |
                     (uint64_t)prog[i + 2] << 16 | (uint64_t)prog[i + 3] << 8 | prog[i + 4];
        int k;
        for (k = 7; k >= 0; k--) data[dn++] = (uint8_t)((w >> (5 * k)) & 31);
    }
    for (; i < plen; i++) {
        acc = (acc << 8) | prog[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            data[dn++] = (uint8_t)((acc >> bits) & 31);
        }
    }
    if (bits) data[dn++] = (uint8_t)((acc << (5 - bits)) & 31);
    chk = zero_steps[dn + 6];
    for (i = 0; i < dn; i++) {
        chk ^= BECH32_AFTER[dn - 1 - i + 6][data[i]];
        text[i] = BECH32[data[i]];
    }
    /* BIP-350: version 0 keeps bech32's constant 1; versions 1..16 use bech32m's */
    chk ^= version == 0 ? 1u : 0x2bc830a3u;
    for (i = 0; i < 6; i++) text[dn + i] = BECH32[(chk >> (5 * (5 - i))) & 31];
    memcpy(out, hrp, hrplen);
    n = hrplen;
    out[n++] = '1';
    memcpy(out + n, text, dn + 6); /* from a local: char stores to out could alias data */
    return n + dn + 6;
}

typedef struct {
    size_t cap, n;       /* coins per batch; coins in this batch */
    uint8_t *txid, *vout, *height, *coinbase, *value, *soff, *toff, *tdata, *avalid, *aoff;
    size_t tlen;         /* bytes used in tdata */
    cbuf_t sdata, adata; /* scripts, addresses */
} colbatch_t;

static void colbatch_free(colbatch_t *b) {
    PyMem_Free(b->txid); PyMem_Free(b->vout); PyMem_Free(b->height); PyMem_Free(b->coinbase);
    PyMem_Free(b->value); PyMem_Free(b->soff); PyMem_Free(b->toff); PyMem_Free(b->tdata);
    PyMem_Free(b->avalid); PyMem_Free(b->aoff); free(b->sdata.p); free(b->adata.p);
}

static void colbatch_reset(colbatch_t *b) {
    b->n = 0;
    b->tlen = 0;
    b->sdata.n = 0;
    b->adata.n = 0;
    memset(b->coinbase, 0, (b->cap + 7) / 8);
    memset(b->avalid, 0, (b->cap + 7) / 8);
    put_u32le(b->soff, 0);
    put_u32le(b->toff, 0);
    put_u32le(b->aoff, 0);
}

/* Hand the batch to sink as bytes; 0 on an error (the sink's exception stays set). */
static int colbatch_flush(colbatch_t *b, PyObject *sink) {
    size_t n = b->n, bits = (n + 7) / 8;
    PyObject *r;
    if (!n) return 1;
#define BYTES(p, len) PyBytes_FromStringAndSize((const char *)(p), (Py_ssize_t)(len))
    r = PyObject_CallFunction(sink, "nNNNNNNNNNNNN", (Py_ssize_t)n, BYTES(b->txid, 64 * n),
                              BYTES(b->vout, 8 * n), BYTES(b->height, 4 * n),
                              BYTES(b->coinbase, bits), BYTES(b->value, 8 * n),
                              BYTES(b->soff, 4 * (n + 1)), BYTES(b->sdata.p, b->sdata.n),
                              BYTES(b->toff, 4 * (n + 1)), BYTES(b->tdata, b->tlen),
                              BYTES(b->avalid, bits), BYTES(b->aoff, 4 * (n + 1)),
                              BYTES(b->adata.p, b->adata.n));
#undef BYTES
    if (!r) return 0;
    Py_DECREF(r);
    colbatch_reset(b);
    return 1;
}

static char HEX2[256][2]; /* a byte's two hex digits (filled by init_hex2) */

static void init_hex2(void) {
    static const char hex[] = "0123456789abcdef";
    int b;
    for (b = 0; b < 256; b++) {
        HEX2[b][0] = hex[b >> 4];
        HEX2[b][1] = hex[b & 15];
    }
}

static PyObject *snap_columns(PyObject *self, PyObject *args) {
    PyObject *pathobj = NULL, *full_script, *err, *where, *sink, *result = NULL,
             *digest = Py_None;
    long long offset;
    unsigned long long count;
    int want_hash, v_p2pkh, v_p2sh;
    Py_ssize_t chunk, margin, batch, hrplen;
    const char *hrp;
    reader_t r;
    sha256_t sha;
    colbatch_t b;
    uint8_t txid[32], txhex[64], rec[32 + 4 + 4 + 8 + 3];
    unsigned long long n = 0, group_left = 0;
    uint64_t max_code = 0;
    int have_code = 0;
    unsigned __int128 total = 0;
    uint32_t zero_steps[BECH32_STEPS];
    int zi;
    const char *fail = NULL;
    char failbuf[200];
    PyThreadState *unlocked = NULL; /* the GIL is released while this is set */
#define LOCK() do { if (unlocked) { PyEval_RestoreThread(unlocked); unlocked = NULL; } } while (0)
#define UNLOCK() do { if (!unlocked) unlocked = PyEval_SaveThread(); } while (0)

    (void)self;
    memset(&r, 0, sizeof r);
    memset(&b, 0, sizeof b);
    r.fd = -1;
    if (!PyArg_ParseTuple(args, "O&LKnpOOUnns#iiO", PyUnicode_FSConverter, &pathobj, &offset,
                          &count, &batch, &want_hash, &full_script, &err, &where, &chunk,
                          &margin, &hrp, &hrplen, &v_p2pkh, &v_p2sh, &sink))
        return NULL;
    if (batch < 1 || batch > (1 << 24) || chunk < 1 || margin < 64 || hrplen < 1 ||
        hrplen > 16 || v_p2pkh < 0 || v_p2pkh > 255 || v_p2sh < 0 || v_p2sh > 255) {
        PyErr_SetString(PyExc_ValueError, "bad batch, chunk, margin, hrp or version byte");
        goto done;
    }
    zero_steps[0] = hrp_state(hrp, (size_t)hrplen);
    for (zi = 1; zi < BECH32_STEPS; zi++) zero_steps[zi] = polymod_step(zero_steps[zi - 1], 0);
    b.cap = (size_t)batch;
    b.txid = PyMem_Malloc(64 * b.cap);
    b.vout = PyMem_Malloc(8 * b.cap);
    b.height = PyMem_Malloc(4 * b.cap);
    b.value = PyMem_Malloc(8 * b.cap);
    b.coinbase = PyMem_Malloc((b.cap + 7) / 8);
    b.avalid = PyMem_Malloc((b.cap + 7) / 8);
    b.soff = PyMem_Malloc(4 * (b.cap + 1));
    b.toff = PyMem_Malloc(4 * (b.cap + 1));
    b.aoff = PyMem_Malloc(4 * (b.cap + 1));
    b.tdata = PyMem_Malloc(12 * b.cap); /* the longest name: "nonstandard", "witness_v16" */
    if (margin < 32 + 9 + 9 + 10 + 10 + 10 + MAX_SCRIPT_SIZE + 64)
        margin = 32 + 9 + 9 + 10 + 10 + 10 + MAX_SCRIPT_SIZE + 64;
    r.cap = (size_t)chunk + (size_t)margin;
    r.buf = PyMem_Malloc(r.cap);
    if (!b.txid || !b.vout || !b.height || !b.value || !b.coinbase || !b.avalid || !b.soff ||
        !b.toff || !b.aoff || !b.tdata || !r.buf) {
        PyErr_NoMemory();
        goto done;
    }
    colbatch_reset(&b);
    r.fd = open(PyBytes_AS_STRING(pathobj), O_RDONLY);
    if (r.fd < 0) { PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, pathobj); goto done; }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(r.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    if (lseek(r.fd, (off_t)offset, SEEK_SET) < 0) { PyErr_SetFromErrno(PyExc_OSError); goto done; }
    if (want_hash) sha256_init(&sha);

    UNLOCK();
    while (n < count) {
        const uint8_t *p, *end, *script_pos;
        uint64_t vout, code, amount, size, value;
        size_t k, key_len, slen, i = b.n, tl;
        int over, wv;
        uint8_t kind, *sp;

        if (!r.eof && r.avail - r.pos < (size_t)margin) {
            LOCK(); /* refill reads without the GIL, and raises with it */
            if (!refill(&r, (size_t)margin)) goto done;
            UNLOCK();
        }
        p = r.buf + r.pos;
        end = r.buf + r.avail;
#define NEED(m) do { if ((size_t)(end - p) < (size_t)(m)) goto truncated; } while (0)
#define VARINT(dst) do {                                                                  \
        k = read_varint(p, end, &(dst), &over);                                           \
        if (!k) goto truncated;                                                           \
        if (k > 10) { fail = "a VARINT longer than 10 bytes (corrupt snapshot)"; goto format; } \
        p += k;                                                                           \
    } while (0)
        if (!group_left) {
            int w, bb;
            NEED(33);
            memcpy(txid, p, 32);
            for (bb = 0; bb < 32; bb++) /* display order: the bytes reversed */
                memcpy(txhex + 2 * bb, HEX2[txid[31 - bb]], 2);
            p += 32;
            group_left = *p++;
            if (group_left >= 253) { /* serialize.h ReadCompactSize, little-endian tail */
                w = group_left == 253 ? 2 : group_left == 254 ? 4 : 8;
                NEED(w);
                group_left = 0;
                for (bb = w - 1; bb >= 0; bb--) group_left = (group_left << 8) | p[bb];
                p += w;
            }
            if (!group_left) { fail = "a transaction with zero coins (corrupt)"; goto format; }
        }
        NEED(1); /* vout: CompactSize */
        vout = *p++;
        if (vout >= 253) {
            int w = vout == 253 ? 2 : vout == 254 ? 4 : 8, bb;
            NEED(w);
            vout = 0;
            for (bb = w - 1; bb >= 0; bb--) vout = (vout << 8) | p[bb];
            p += w;
        }
        /* COutPoint::n is a uint32 */
        if (vout > 0xFFFFFFFFULL) { fail = "a coin with an output index above 2**32-1 (corrupt)"; goto format; }
        VARINT(code); /* Coin: VARINT(height*2 + coinbase) */
        /* Coin: nHeight (31 bits) and fCoinBase (1 bit) are one uint32 code */
        if (over || code > 0xFFFFFFFFULL) { fail = "a coin with a height code above 2**32-1 (corrupt)"; goto format; }
        VARINT(amount); /* VARINT(CompressAmount(value)) */
        /* amount.h MoneyRange: 0 <= value <= MAX_MONEY */
        if (over || !decompress_amount(amount, &value) || value > MAX_MONEY) {
            fail = "a coin above 21 million BTC (MAX_MONEY; corrupt)";
            goto format;
        }
        /* CompressedScript (compressor.h): kinds 0..5 special forms, else VARINT(len+6), raw */
        NEED(1);
        script_pos = p;
        kind = *p;
        if (kind < 6) {
            key_len = kind < 2 ? 21 : 33;
            NEED(key_len);
            slen = kind == 0 ? 25 : kind == 1 ? 23 : kind < 4 ? 35 : 67;
        } else {
            VARINT(size);
            if (over || size - 6 > MAX_SCRIPT_SIZE) { /* script.h MAX_SCRIPT_SIZE */
                if (over)
                    snprintf(failbuf, sizeof failbuf,
                             "coin %llu has a script of more than 2**64 bytes, over the limit", n);
                else
                    snprintf(failbuf, sizeof failbuf,
                             "coin %llu has a script of %llu bytes, over the limit", n,
                             (unsigned long long)(size - 6));
                fail = failbuf;
                goto format;
            }
            slen = (size_t)(size - 6);
            key_len = k + slen;
            p = script_pos; /* p is moved past the key below */
            NEED(key_len);
        }
        if (b.sdata.n + slen > ((size_t)1 << 30)) {
            LOCK();
            if (!colbatch_flush(&b, sink)) goto done;
            UNLOCK();
        }
        i = b.n;
        /* at least a byte, so that sdata.p is never NULL (an empty script's memcpy of 0) */
        if (!cbuf_grow(&b.sdata, slen ? slen : 1) || !cbuf_grow(&b.adata, 96)) goto nomem;
        sp = b.sdata.p + b.sdata.n;
        if (kind == 0) { /* P2PKH: OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG */
            sp[0] = 0x76; sp[1] = 0xa9; sp[2] = 0x14;
            memcpy(sp + 3, script_pos + 1, 20);
            sp[23] = 0x88; sp[24] = 0xac;
        } else if (kind == 1) { /* P2SH: OP_HASH160 <20> OP_EQUAL */
            sp[0] = 0xa9; sp[1] = 0x14;
            memcpy(sp + 2, script_pos + 1, 20);
            sp[22] = 0x87;
        } else if (kind < 4) { /* compressed P2PK: <33-byte key> OP_CHECKSIG */
            sp[0] = 0x21;
            memcpy(sp + 1, script_pos, 33);
            sp[34] = 0xac;
        } else if (kind < 6) { /* uncompressed P2PK: the key's y is recomputed in Python */
            PyObject *full;
            LOCK();
            full = PyObject_CallFunction(full_script, "iy#", (int)kind,
                                         (const char *)script_pos + 1, (Py_ssize_t)32);
            if (!full) goto done;
            if (!PyBytes_Check(full) || PyBytes_GET_SIZE(full) != 67) {
                Py_DECREF(full);
                PyErr_SetString(PyExc_TypeError, "full_script must return 67 bytes");
                goto done;
            }
            memcpy(sp, PyBytes_AS_STRING(full), 67);
            Py_DECREF(full);
            UNLOCK();
        } else {
            memcpy(sp, script_pos + (key_len - slen), slen);
        }
        p = script_pos + key_len;
#undef VARINT
#undef NEED
        /* the row */
        memcpy(b.txid + 64 * i, txhex, 64);
        put_u64le(b.vout + 8 * i, vout);
        put_u32le(b.height + 4 * i, (uint32_t)(code >> 1));
        if (code & 1) b.coinbase[i >> 3] |= (uint8_t)(1u << (i & 7));
        put_u64le(b.value + 8 * i, value);
        b.sdata.n += slen;
        put_u32le(b.soff + 4 * (i + 1), (uint32_t)b.sdata.n);
        tl = script_type(sp, slen, (char *)b.tdata + b.tlen, &wv);
        b.tlen += tl;
        put_u32le(b.toff + 4 * (i + 1), (uint32_t)b.tlen);
        {
            char *a = (char *)b.adata.p + b.adata.n;
            size_t an = 0;
            uint8_t payload[21];
            if (tl == 5 && !memcmp(b.tdata + b.tlen - 5, "p2pkh", 5)) {
                payload[0] = (uint8_t)v_p2pkh;
                memcpy(payload + 1, sp + 3, 20);
                an = base58check21(payload, a);
            } else if (tl == 4 && !memcmp(b.tdata + b.tlen - 4, "p2sh", 4)) {
                payload[0] = (uint8_t)v_p2sh;
                memcpy(payload + 1, sp + 2, 20);
                an = base58check21(payload, a);
            } else if (wv >= 0 && (wv > 0 || slen == 22 || slen == 34)) {
                /* BIP-141: a version 0 program is 20 or 32 bytes; any other has no address */
                an = segwit_address(hrp, (size_t)hrplen, zero_steps, wv, sp + 2, slen - 2, a);
            }
            if (an) b.avalid[i >> 3] |= (uint8_t)(1u << (i & 7));
            b.adata.n += an;
            put_u32le(b.aoff + 4 * (i + 1), (uint32_t)b.adata.n);
        }
        if (want_hash) {
            /* coinstats.cpp TxOutSer: outpoint (txid, n u32), height*2+coinbase u32,
             * value i64, script with its CompactSize length */
            memcpy(rec, txid, 32);
            put_u32le(rec + 32, (uint32_t)vout);
            put_u32le(rec + 36, (uint32_t)code);
            put_u64le(rec + 40, value);
            k = 48;
            if (slen < 253) {
                rec[k++] = (uint8_t)slen;
            } else {
                rec[k++] = 0xfd;
                rec[k++] = (uint8_t)slen;
                rec[k++] = (uint8_t)(slen >> 8);
            }
            sha256_update(&sha, rec, k);
            sha256_update(&sha, sp, slen);
        }
        total += value;
        if (!have_code || code > max_code) { max_code = code; have_code = 1; }
        b.n++;
        r.pos = (size_t)(p - r.buf);
        group_left--;
        n++;
        if (b.n == b.cap) {
            LOCK();
            if (!colbatch_flush(&b, sink)) goto done;
            UNLOCK();
        }
    }
    LOCK();
    if (group_left) {
        snprintf(failbuf, sizeof failbuf,
                 "the last transaction promises %llu more coins than the header counts",
                 group_left);
        fail = failbuf;
        goto format;
    }
    if (!refill(&r, 1)) goto done;
    if (r.avail != r.pos) {
        snprintf(failbuf, sizeof failbuf,
                 "data left after the %llu coins the header counts (corrupt or appended)", count);
        fail = failbuf;
        goto format;
    }
    if (!colbatch_flush(&b, sink)) goto done;
    if (want_hash) {
        uint8_t d1[32], d2[32];
        sha256_final(&sha, d1);
        sha256_init(&sha);
        sha256_update(&sha, d1, 32);
        sha256_final(&sha, d2);
        digest = PyBytes_FromStringAndSize((const char *)d2, 32);
        if (!digest) goto done;
    } else {
        Py_INCREF(digest);
    }
    {
        PyObject *tot = u128_to_py(total);
        if (!tot) { Py_DECREF(digest); goto done; }
        result = Py_BuildValue("(NKNL)", digest, n, tot, have_code ? (long long)max_code : -1LL);
    }
    goto done;

nomem:
    LOCK();
    PyErr_NoMemory();
    goto done;
truncated:
    snprintf(failbuf, sizeof failbuf,
             "truncated: the header promises %llu coins but the file ends after %llu", count, n);
    fail = failbuf;
format:
    LOCK();
    PyErr_Format(err, "%U: %s", where, fail);
done:
    LOCK();
#undef LOCK
#undef UNLOCK
    if (r.fd >= 0) close(r.fd);
    PyMem_Free(r.buf);
    colbatch_free(&b);
    Py_XDECREF(pathobj);
    return result;
}
/* ================================================================ end of every coin as columns */


static PyMethodDef methods[] = {
    {"scan", snap_scan, METH_VARARGS,
     "scan(path, offset, count, keys, labels, want_hash, full_script, err, where, chunk, margin)"
     " -> (matches, max_height, digest or None, coins, total_sats, scripts or None)"},
    {"sort", cols_sort, METH_VARARGS,
     "sort(txids, vout, height, coinbase, value, label) -> (columns in Holdings order, dup)"},
    {"group", cols_group, METH_VARARGS,
     "group(label, first, count, oids, oid_target, ntargets) -> (offsets, rows, oids)"},
    {"sums", cols_sums, METH_VARARGS,
     "sums(rows or None, height, coinbase, value, tip) -> (total, immature)"},
    {"json", cols_json, METH_VARARGS,
     "json(start, stop, txids, vout, height, coinbase, value, label, tip, mid, tail, first)"
     " -> str"},
    {"watch_list", wl_read, METH_VARARGS,
     "watch_list(path, hrp, p2pkh, p2sh, fallback) -> WatchSet (a file of addresses/scripts)"},
    /* every coin as Arrow-ready columns, for the Parquet export (see its section above) */
    {"columns", snap_columns, METH_VARARGS,
     "columns(path, offset, count, batch, want_hash, full_script, err, where, chunk, margin,"
     " hrp, p2pkh_version, p2sh_version, sink) -> (digest or None, coins, total_sats, max_code)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_snapscan",
                                    "Compiled pass over a UTXO snapshot.", -1, methods};

PyMODINIT_FUNC PyInit__snapscan(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") &&
        getenv("UTXO_TRUTH_NO_SHANI") == NULL)
        sha256_compress = sha256_block_shani;
#endif
    init_bech32_after(); /* for the columns pass's bech32 addresses and txids */
    init_hex2();
    {
        PyObject *m;
        if (PyType_Ready(&WatchSetType) < 0) return NULL;
        m = PyModule_Create(&module);
        if (m && PyModule_AddObjectRef(m, "WatchSet", (PyObject *)&WatchSetType) < 0) {
            Py_DECREF(m);
            return NULL;
        }
        return m;
    }
}
