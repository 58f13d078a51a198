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
    PyObject *script; /* borrowed: kept alive by the caller's list */
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

static PyObject *keyset_find(const keyset_t *ks, const uint8_t *p, size_t n) {
    size_t i;
    size_t f;
    if (!ks->count) return NULL;
    f = filter_index(p, n);
    if (!(ks->filter[f >> 3] & (1u << (f & 7)))) return NULL;
    i = (size_t)key_hash(p, n) & ks->mask;
    for (;;) {
        const slot_t *s = &ks->slots[i];
        if (!s->p) return NULL;
        if ((size_t)s->n == n && memcmp(s->p, p, n) == 0) return s->script;
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

/* scan(path, offset, count, keys, scripts, want_hash, full_script, err, where, chunk, margin)
 *   -> (matches, max_height, digest or None, coins, total_sats)
 * matches: list of (txid bytes internal order, vout, height, coinbase, value, script). */
static PyObject *snap_scan(PyObject *self, PyObject *args) {
    PyObject *pathobj = NULL, *keys, *scripts, *full_script, *err, *where;
    long long offset;
    unsigned long long count;
    int want_hash;
    Py_ssize_t chunk, margin;
    PyObject *matches = NULL, *result = NULL, *digest = Py_None;
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
            ks.slots[j].script = PyList_GET_ITEM(scripts, i);
        }
    }
    matches = PyList_New(0);
    if (!matches) goto done;
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
                PyObject *script = keyset_find(&ks, script_pos, key_len);
                if (script) {
                    uint64_t value;
                    PyObject *t;
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
                    /* Python's reader reports the code of a matched coin as decoded */
                    t = Py_BuildValue("(y#KKOKO)", (const char *)txid, (Py_ssize_t)32,
                                      (unsigned long long)vout, (unsigned long long)(code >> 1),
                                      (code & 1) ? Py_True : Py_False, (unsigned long long)value,
                                      script);
                    if (!t || PyList_Append(matches, t) < 0) { Py_XDECREF(t); goto done; }
                    Py_DECREF(t);
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
    Py_XDECREF(pathobj);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", snap_scan, METH_VARARGS,
     "scan(path, offset, count, keys, scripts, want_hash, full_script, err, where, chunk, margin)"
     " -> (matches, max_height, digest or None, coins, total_sats)"},
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
