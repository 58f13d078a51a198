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
 *   -> (matches, max_height, digest or None, coins, total_sats)
 * labels: one int per key (< 2**32), the watched script it stands for.
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

    (void)self;
    memset(&ks, 0, sizeof ks);
    memset(&r, 0, sizeof r);
    memset(&cols, 0, sizeof cols);
    r.fd = -1;
    if (!PyArg_ParseTuple(args, "O&LKO!O!pOOUnn", PyUnicode_FSConverter, &pathobj, &offset,
                          &count, &PyList_Type, &keys, &PyList_Type, &scripts, &want_hash,
                          &full_script, &err, &where, &chunk, &margin))
        return NULL;
    nkeys = PyList_GET_SIZE(keys);
    if (PyList_GET_SIZE(scripts) != nkeys || chunk < 1 || margin < 64) {
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
            if (ks.count) {
                const slot_t *hit = keyset_find(&ks, script_pos, key_len);
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
                    cols.label[cols.n] = hit->label;
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
        result = Py_BuildValue("(OLNKN)", matches, have_code ? (long long)(max_code >> 1) : -1LL,
                               digest, n, tot);
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

static PyMethodDef methods[] = {
    {"scan", snap_scan, METH_VARARGS,
     "scan(path, offset, count, keys, labels, want_hash, full_script, err, where, chunk, margin)"
     " -> (matches, max_height, digest or None, coins, total_sats)"},
    {"sort", cols_sort, METH_VARARGS,
     "sort(txids, vout, height, coinbase, value, label) -> (columns in Holdings order, dup)"},
    {"group", cols_group, METH_VARARGS,
     "group(label, first, count, oids, oid_target, ntargets) -> (offsets, rows, oids)"},
    {"sums", cols_sums, METH_VARARGS,
     "sums(rows or None, height, coinbase, value, tip) -> (total, immature)"},
    {"json", cols_json, METH_VARARGS,
     "json(start, stop, txids, vout, height, coinbase, value, label, tip, mid, tail, first)"
     " -> str"},
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
    return PyModule_Create(&module);
}
