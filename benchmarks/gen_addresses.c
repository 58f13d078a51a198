/* Benchmark data only: N random regtest addresses of a realistic mix, one a line, on stdout.
 *
 *   cc -O2 -o gen_addresses benchmarks/gen_addresses.c && ./gen_addresses N SEED > list.txt
 *
 * P2PKH 30%, P2SH 15% (base58check, version bytes 0x6f / 0xc4), P2WPKH 35%, P2WSH 8% (bech32,
 * BIP-173), P2TR 12% (bech32m, BIP-350), HRP "bcrt". Written in C because encoding 10^7
 * addresses in Python (embit) takes most of an hour on a shared machine; bench_watchlist.py
 * checks a sample of the output against embit's decoder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;
static uint64_t next64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static void randbytes(uint8_t *p, size_t n) {
    while (n) {
        uint64_t x = next64();
        size_t k = n < 8 ? n : 8;
        memcpy(p, &x, k);
        p += k;
        n -= k;
    }
}

/* SHA-256 (FIPS 180-4), one short message */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
#define R(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha256(const uint8_t *m, size_t n, uint8_t out[32]) { /* n <= 55: one block */
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t blk[64] = {0};
    uint32_t w[64], a, b, c, d, e, f, g, hh;
    int i;
    memcpy(blk, m, n);
    blk[n] = 0x80;
    blk[62] = (uint8_t)((n * 8) >> 8);
    blk[63] = (uint8_t)(n * 8);
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
               (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
    for (i = 16; i < 64; i++)
        w[i] = w[i - 16] + (R(w[i - 15], 7) ^ R(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 7] +
               (R(w[i - 2], 17) ^ R(w[i - 2], 19) ^ (w[i - 2] >> 10));
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (i = 0; i < 64; i++) {
        uint32_t t1 = hh + (R(e, 6) ^ R(e, 11) ^ R(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (R(a, 2) ^ R(a, 13) ^ R(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24); out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8); out[4 * i + 3] = (uint8_t)h[i];
    }
}

static const char B58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static int base58check(uint8_t version, const uint8_t h[20], char *out) {
    uint8_t p[25], d1[32], d2[32], num[25];
    char tmp[40];
    int n = 0, i, zeros = 0, len = 25;
    p[0] = version;
    memcpy(p + 1, h, 20);
    sha256(p, 21, d1);
    sha256(d1, 32, d2);
    memcpy(p + 21, d2, 4);
    while (zeros < 25 && p[zeros] == 0) zeros++;
    memcpy(num, p, 25);
    for (;;) { /* divide by 58 until zero */
        int rem = 0, nonzero = 0;
        for (i = 0; i < len; i++) {
            int x = rem * 256 + num[i];
            num[i] = (uint8_t)(x / 58);
            rem = x % 58;
            if (num[i]) nonzero = 1;
        }
        tmp[n++] = B58[rem];
        if (!nonzero) break;
    }
    for (i = 0; i < zeros; i++) out[i] = '1';
    for (i = 0; i < n; i++) out[zeros + i] = tmp[n - 1 - i];
    out[zeros + n] = 0;
    return zeros + n;
}

static const char B32[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
static uint32_t polymod(uint32_t c, uint8_t v) {
    uint32_t top = c >> 25;
    c = ((c & 0x1FFFFFF) << 5) ^ v;
    if (top & 1) c ^= 0x3b6a57b2;
    if (top & 2) c ^= 0x26508e6d;
    if (top & 4) c ^= 0x1ea119fa;
    if (top & 8) c ^= 0x3d4233dd;
    if (top & 16) c ^= 0x2a1462b3;
    return c;
}
static int segwit(int version, const uint8_t *prog, int n, char *out) {
    const char *hrp = "bcrt";
    uint8_t data[80];
    int nd = 0, i, bits = 0, len;
    uint32_t acc = 0, c = 1, konst = version ? 0x2bc830a3 : 1;
    data[nd++] = (uint8_t)version;
    for (i = 0; i < n; i++) {
        acc = (acc << 8) | prog[i];
        bits += 8;
        while (bits >= 5) { bits -= 5; data[nd++] = (acc >> bits) & 31; }
    }
    if (bits) data[nd++] = (acc << (5 - bits)) & 31;
    for (i = 0; hrp[i]; i++) c = polymod(c, (uint8_t)(hrp[i] >> 5));
    c = polymod(c, 0);
    for (i = 0; hrp[i]; i++) c = polymod(c, (uint8_t)(hrp[i] & 31));
    for (i = 0; i < nd; i++) c = polymod(c, data[i]);
    for (i = 0; i < 6; i++) c = polymod(c, 0);
    c ^= konst;
    len = sprintf(out, "%s1", hrp);
    for (i = 0; i < nd; i++) out[len++] = B32[data[i]];
    for (i = 0; i < 6; i++) out[len++] = B32[(c >> (5 * (5 - i))) & 31];
    out[len] = 0;
    return len;
}

int main(int argc, char **argv) {
    long long n, i;
    char line[128];
    uint8_t h[32];
    if (argc != 3) { fprintf(stderr, "usage: gen_addresses N SEED\n"); return 2; }
    n = atoll(argv[1]);
    rng_state = (uint64_t)atoll(argv[2]);
    for (i = 0; i < n; i++) {
        unsigned r = (unsigned)(next64() % 100);
        if (r < 30) { randbytes(h, 20); base58check(0x6f, h, line); }
        else if (r < 45) { randbytes(h, 20); base58check(0xc4, h, line); }
        else if (r < 80) { randbytes(h, 20); segwit(0, h, 20, line); }
        else if (r < 88) { randbytes(h, 32); segwit(0, h, 32, line); }
        else { randbytes(h, 32); segwit(1, h, 32, line); }
        fputs(line, stdout);
        fputc('\n', stdout);
    }
    return 0;
}
