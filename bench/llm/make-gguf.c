/*
 * make-gguf: writes a GGUF v3 model file of llama.cpp's `llama` architecture
 * with pseudo-random weights, for benchmarks that must not download a model.
 *
 * The shape comes from the command line (a preset, then single values); the
 * weights are Q8_0 or F16, the norms F32 ones, the vocabulary a
 * SentencePiece-style ("llama") one: <unk> <s> </s>, the 256 byte tokens
 * <0x00>..<0xFF>, the printable ASCII characters, then "\u2581" words, each
 * with a score. Facts about the format (header, key/value types, tensor
 * infos, 32-byte alignment of the data section and of every tensor, Q8_0's
 * 34-byte block of an fp16 scale and 32 int8 values) come from reading
 * ggml's gguf.cpp and ggml.h; the metadata keys and tensor names from
 * llama.cpp's llama-arch.cpp. Nothing is held in memory beyond one block: the
 * file is streamed, so a 1 GB model needs a few KiB.
 *
 *   make-gguf [--shape 1b|tiny] [--type q8_0|f16] [--n-embd N] [--layers N]
 *             [--heads N] [--kv-heads N] [--n-ff N] [--vocab N] [--ctx N]
 *             [--seed N] OUT.gguf
 *
 * Presets: 1b (default) n_embd 2048, 16 layers, 32 heads, 8 KV heads,
 * n_ff 8192, vocab 32000 (a Llama-3.2-1B-like shape, 1.1 G parameters);
 * tiny: 256, 4, 8, 4, 768, 4096 (small enough for lavapipe).
 * Output: one line on stdout describing what was written.
 * Exit: 0 written; 1 an I/O error (named); 2 usage or an impossible shape.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* GGUF value types (gguf.h). */
enum {
    GGUF_UINT32 = 4,
    GGUF_INT32 = 5,
    GGUF_FLOAT32 = 6,
    GGUF_BOOL = 7,
    GGUF_STRING = 8,
    GGUF_ARRAY = 9,
};
/* ggml tensor types (ggml.h) and llama.cpp file types (llama.h). */
enum { GGML_F32 = 0, GGML_F16 = 1, GGML_Q8_0 = 8 };
enum { FTYPE_F16 = 1, FTYPE_Q8_0 = 7 };
/* SentencePiece token types as llama.cpp stores them. */
enum { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_BYTE = 6 };

#define ALIGNMENT 32u
#define Q8_0_BLOCK 32u
#define Q8_0_BYTES 34u /* fp16 scale + 32 int8 */
#define N_SPECIAL 3u   /* <unk> <s> </s> */
#define N_BYTES 256u
#define N_ASCII 94u    /* '!'..'~' */
#define MIN_VOCAB (N_SPECIAL + N_BYTES + N_ASCII + 1u)

struct shape {
    uint32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    int type; /* GGML_Q8_0 or GGML_F16 */
    uint64_t seed;
};

struct tensor {
    char name[64];
    uint64_t ne0, ne1; /* ne1 == 1 for vectors */
    int type;
    uint64_t offset; /* in the data section */
};

struct out {
    FILE *f;
    const char *path;
    uint64_t pos;
    uint32_t n_kv; /* key/value pairs written */
    bool failed;
};

static void
put(struct out *o, const void *p, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (fwrite(p, 1, n, o->f) != n)
        o->failed = true;
    o->pos += n;
}

/* GGUF is little endian; so is every machine this runs on (checked in main). */
static void put_u32(struct out *o, uint32_t v) { put(o, &v, sizeof(v)); }
static void put_u64(struct out *o, uint64_t v) { put(o, &v, sizeof(v)); }
static void put_f32(struct out *o, float v) { put(o, &v, sizeof(v)); }

static void
put_str(struct out *o, const char *s)
{
    size_t n = strlen(s);
    put_u64(o, n);
    put(o, s, n);
}

static void
put_pad(struct out *o)
{
    static const uint8_t zeros[ALIGNMENT];
    put(o, zeros, (ALIGNMENT - o->pos % ALIGNMENT) % ALIGNMENT);
}

static void
kv_str(struct out *o, const char *key, const char *v)
{
    o->n_kv++;
    put_str(o, key);
    put_u32(o, GGUF_STRING);
    put_str(o, v);
}

static void
kv_u32(struct out *o, const char *key, uint32_t v)
{
    o->n_kv++;
    put_str(o, key);
    put_u32(o, GGUF_UINT32);
    put_u32(o, v);
}

static void
kv_f32(struct out *o, const char *key, float v)
{
    o->n_kv++;
    put_str(o, key);
    put_u32(o, GGUF_FLOAT32);
    put_f32(o, v);
}

static void
kv_bool(struct out *o, const char *key, bool v)
{
    o->n_kv++;
    uint8_t b = v;
    put_str(o, key);
    put_u32(o, GGUF_BOOL);
    put(o, &b, 1);
}

static void
kv_array(struct out *o, const char *key, uint32_t elem_type, uint64_t n)
{
    o->n_kv++;
    put_str(o, key);
    put_u32(o, GGUF_ARRAY);
    put_u32(o, elem_type);
    put_u64(o, n);
}

/* xoshiro-style generators are overkill here: splitmix64 is fast, has no bad
 * seeds and gives 8 usable bytes per step. */
static uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* IEEE binary16 from binary32, rounding to nearest even; subnormals and
 * overflow handled, NaN kept a NaN. */
static uint16_t
f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xff)
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10)
            return (uint16_t)sign;
        man |= 0x800000u; /* the implicit bit */
        unsigned shift = (unsigned)(14 - e);
        uint32_t h = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++; /* may carry into the exponent, which is still right */
    return (uint16_t)(sign | h);
}

/* Bytes of a tensor's data (before padding). */
static uint64_t
tensor_bytes(const struct tensor *t)
{
    uint64_t n = t->ne0 * t->ne1;
    switch (t->type) {
    case GGML_F32: return n * 4;
    case GGML_F16: return n * 2;
    default: return n / Q8_0_BLOCK * Q8_0_BYTES;
    }
}

/*
 * Weights uniform with standard deviation 1/sqrt(ne0) (ne0 is the dimension a
 * matrix product sums over), so activations keep their scale through the
 * layers and a pseudo-random model still computes finite numbers. Q8_0 gets
 * int8 values uniform in [-127, 127] (standard deviation 127/sqrt(3)) under
 * one scale per block.
 */
static void
write_tensor_data(struct out *o, const struct tensor *t, uint64_t *rng)
{
    uint64_t n = t->ne0 * t->ne1;
    float sigma = 1.0f / sqrtf((float)t->ne0);
    if (t->type == GGML_F32) {
        float one = 1.0f;
        for (uint64_t i = 0; i < n && !o->failed; i++)
            put(o, &one, sizeof(one));
    } else if (t->type == GGML_F16) {
        float range = sigma * sqrtf(3.0f);
        uint16_t buf[256];
        for (uint64_t i = 0; i < n && !o->failed;) {
            size_t k = 0;
            for (; k < 256 && i < n; k += 4, i += 4) {
                uint64_t r = rng_next(rng);
                for (int j = 0; j < 4; j++) {
                    /* 16 random bits to [-1, 1) */
                    float u = (float)((r >> (16 * j)) & 0xffffu) / 32768.0f - 1.0f;
                    buf[k + (size_t)j] = f32_to_f16(u * range);
                }
            }
            put(o, buf, k * sizeof(buf[0]));
        }
    } else {
        uint16_t d = f32_to_f16(sigma / (127.0f / sqrtf(3.0f)));
        uint8_t block[Q8_0_BYTES];
        memcpy(block, &d, 2);
        for (uint64_t b = 0; b < n / Q8_0_BLOCK && !o->failed; b++) {
            for (unsigned i = 0; i < Q8_0_BLOCK; i += 8) {
                uint64_t r = rng_next(rng);
                for (unsigned j = 0; j < 8; j++) {
                    int8_t q = (int8_t)(uint8_t)(r >> (8 * j));
                    block[2 + i + j] = (uint8_t)(q == -128 ? -127 : q);
                }
            }
            put(o, block, sizeof(block));
        }
    }
}

/* The n-th word of the vocabulary's tail: bijective base 26, so "a".."z",
 * "aa".."zz", ... are all distinct. */
static void
word(uint64_t n, char *buf)
{
    char tmp[16];
    size_t len = 0;
    n++;
    while (n > 0 && len < sizeof(tmp)) {
        n--;
        tmp[len++] = (char)('a' + n % 26);
        n /= 26;
    }
    memcpy(buf, "\xe2\x96\x81", 3); /* U+2581, SentencePiece's space */
    for (size_t i = 0; i < len; i++)
        buf[3 + i] = tmp[len - 1 - i];
    buf[3 + len] = '\0';
}

static void
token_text(uint32_t id, char *buf)
{
    static const char *const special[N_SPECIAL] = { "<unk>", "<s>", "</s>" };
    if (id < N_SPECIAL)
        strcpy(buf, special[id]);
    else if (id < N_SPECIAL + N_BYTES)
        snprintf(buf, 8, "<0x%02X>", id - N_SPECIAL);
    else if (id < N_SPECIAL + N_BYTES + N_ASCII)
        buf[0] = (char)('!' + (id - N_SPECIAL - N_BYTES)), buf[1] = '\0';
    else
        word(id - (N_SPECIAL + N_BYTES + N_ASCII), buf);
}

static int32_t
token_type(uint32_t id)
{
    if (id == 0)
        return TOK_UNKNOWN;
    if (id < N_SPECIAL)
        return TOK_CONTROL;
    if (id < N_SPECIAL + N_BYTES)
        return TOK_BYTE;
    return TOK_NORMAL;
}

static void
write_vocab(struct out *o, const struct shape *s)
{
    char buf[32];
    kv_str(o, "tokenizer.ggml.model", "llama");
    kv_array(o, "tokenizer.ggml.tokens", GGUF_STRING, s->n_vocab);
    for (uint32_t i = 0; i < s->n_vocab; i++) {
        token_text(i, buf);
        put_str(o, buf);
    }
    /* Longer pieces first when SentencePiece merges: the score falls with the id. */
    kv_array(o, "tokenizer.ggml.scores", GGUF_FLOAT32, s->n_vocab);
    for (uint32_t i = 0; i < s->n_vocab; i++)
        put_f32(o, i < N_SPECIAL + N_BYTES ? 0.0f : -(float)(i - N_SPECIAL - N_BYTES));
    kv_array(o, "tokenizer.ggml.token_type", GGUF_INT32, s->n_vocab);
    for (uint32_t i = 0; i < s->n_vocab; i++) {
        int32_t t = token_type(i);
        put(o, &t, sizeof(t));
    }
    kv_u32(o, "tokenizer.ggml.unknown_token_id", 0);
    kv_u32(o, "tokenizer.ggml.bos_token_id", 1);
    kv_u32(o, "tokenizer.ggml.eos_token_id", 2);
    kv_bool(o, "tokenizer.ggml.add_bos_token", true);
}

#define N_KV 21u /* the key/value pairs write_header writes (checked as it goes) */

static void
write_header(struct out *o, const struct shape *s, const struct tensor *t, size_t n_tensors)
{
    char name[64];
    put(o, "GGUF", 4);
    put_u32(o, 3);
    put_u64(o, n_tensors);
    put_u64(o, N_KV);
    snprintf(name, sizeof(name), "pearvisor-random-%ux%u", s->n_embd, s->n_layer);
    kv_str(o, "general.architecture", "llama");
    kv_str(o, "general.name", name);
    kv_u32(o, "general.alignment", ALIGNMENT);
    kv_u32(o, "general.file_type", s->type == GGML_F16 ? FTYPE_F16 : FTYPE_Q8_0);
    kv_u32(o, "llama.context_length", s->n_ctx);
    kv_u32(o, "llama.embedding_length", s->n_embd);
    kv_u32(o, "llama.block_count", s->n_layer);
    kv_u32(o, "llama.feed_forward_length", s->n_ff);
    kv_u32(o, "llama.attention.head_count", s->n_head);
    kv_u32(o, "llama.attention.head_count_kv", s->n_head_kv);
    kv_f32(o, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    kv_u32(o, "llama.rope.dimension_count", s->n_embd / s->n_head);
    kv_f32(o, "llama.rope.freq_base", 10000.0f);
    write_vocab(o, s);
    for (size_t i = 0; i < n_tensors; i++) {
        put_str(o, t[i].name);
        bool vec = t[i].ne1 == 1;
        put_u32(o, vec ? 1 : 2);
        put_u64(o, t[i].ne0);
        if (!vec)
            put_u64(o, t[i].ne1);
        put_u32(o, (uint32_t)t[i].type);
        put_u64(o, t[i].offset);
    }
    put_pad(o);
}

static void
add(struct tensor *t, size_t *n, const char *name, uint64_t ne0, uint64_t ne1, int type,
    uint64_t *offset)
{
    struct tensor *x = &t[(*n)++];
    snprintf(x->name, sizeof(x->name), "%s", name);
    x->ne0 = ne0;
    x->ne1 = ne1;
    x->type = type;
    x->offset = *offset;
    uint64_t bytes = tensor_bytes(x);
    *offset += (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
}

/* The tensors of llama.cpp's llama graph, in its naming, with their offsets. */
static size_t
plan(const struct shape *s, struct tensor *t, uint64_t *data_bytes)
{
    size_t n = 0;
    uint64_t off = 0;
    uint64_t e = s->n_embd, head = s->n_embd / s->n_head, kv = head * s->n_head_kv;
    char name[64];
    add(t, &n, "token_embd.weight", e, s->n_vocab, s->type, &off);
    for (uint32_t l = 0; l < s->n_layer; l++) {
        static const char *const fmt[] = { "attn_norm", "attn_q", "attn_k", "attn_v",
            "attn_output", "ffn_norm", "ffn_gate", "ffn_down", "ffn_up" };
        const uint64_t dims[][2] = { { e, 1 }, { e, e }, { e, kv }, { e, kv }, { e, e },
            { e, 1 }, { e, s->n_ff }, { s->n_ff, e }, { e, s->n_ff } };
        for (size_t k = 0; k < sizeof(fmt) / sizeof(fmt[0]); k++) {
            snprintf(name, sizeof(name), "blk.%u.%s.weight", l, fmt[k]);
            add(t, &n, name, dims[k][0], dims[k][1], dims[k][1] == 1 ? GGML_F32 : s->type, &off);
        }
    }
    add(t, &n, "output_norm.weight", e, 1, GGML_F32, &off);
    add(t, &n, "output.weight", e, s->n_vocab, s->type, &off);
    *data_bytes = off;
    return n;
}

static int
usage(void)
{
    fprintf(stderr,
        "usage: make-gguf [--shape 1b|tiny] [--type q8_0|f16] [--n-embd N] [--layers N]\n"
        "                 [--heads N] [--kv-heads N] [--n-ff N] [--vocab N] [--ctx N]\n"
        "                 [--seed N] OUT.gguf\n");
    return 2;
}

static bool
parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || end == s || *end || v == 0 || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Why a shape cannot be written, or NULL. */
static const char *
check_shape(const struct shape *s)
{
    if (s->n_embd % s->n_head)
        return "n_embd must be a multiple of heads";
    if (s->n_head % s->n_head_kv)
        return "heads must be a multiple of kv-heads";
    if ((s->n_embd / s->n_head) % 2)
        return "the head size (n_embd / heads) must be even (rotary embeddings)";
    if (s->n_embd % Q8_0_BLOCK || s->n_ff % Q8_0_BLOCK)
        return "n_embd and n_ff must be multiples of 32 (Q8_0's block)";
    if (s->n_vocab < MIN_VOCAB)
        return "the vocabulary needs at least 354 tokens (specials, bytes, ASCII, one word)";
    if (s->n_layer > 1000)
        return "at most 1000 layers";
    return NULL;
}

int
main(int argc, char **argv)
{
    const uint16_t probe = 1;
    if (*(const uint8_t *)&probe != 1) {
        fprintf(stderr, "make-gguf: this writer assumes a little-endian machine\n");
        return 2;
    }
    struct shape s = { 2048, 16, 32, 8, 8192, 32000, 4096, GGML_Q8_0, 1 };
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (path)
                return usage();
            path = a;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        uint32_t *field = NULL;
        if (!strcmp(a, "--shape")) {
            if (!strcmp(v, "1b"))
                s = (struct shape){ 2048, 16, 32, 8, 8192, 32000, 4096, s.type, s.seed };
            else if (!strcmp(v, "tiny"))
                s = (struct shape){ 256, 4, 8, 4, 768, 4096, 2048, s.type, s.seed };
            else
                return usage();
        } else if (!strcmp(a, "--type")) {
            if (!strcmp(v, "q8_0"))
                s.type = GGML_Q8_0;
            else if (!strcmp(v, "f16"))
                s.type = GGML_F16;
            else
                return usage();
        } else if (!strcmp(a, "--seed")) {
            s.seed = strtoull(v, NULL, 0);
        } else if (!strcmp(a, "--n-embd")) {
            field = &s.n_embd;
        } else if (!strcmp(a, "--layers")) {
            field = &s.n_layer;
        } else if (!strcmp(a, "--heads")) {
            field = &s.n_head;
        } else if (!strcmp(a, "--kv-heads")) {
            field = &s.n_head_kv;
        } else if (!strcmp(a, "--n-ff")) {
            field = &s.n_ff;
        } else if (!strcmp(a, "--vocab")) {
            field = &s.n_vocab;
        } else if (!strcmp(a, "--ctx")) {
            field = &s.n_ctx;
        } else {
            return usage();
        }
        if (field && !parse_u32(v, field))
            return usage();
    }
    if (!path)
        return usage();
    const char *why = check_shape(&s);
    if (why) {
        fprintf(stderr, "make-gguf: %s\n", why);
        return 2;
    }

    size_t max_tensors = 3 + 9 * (size_t)s.n_layer;
    struct tensor *t = calloc(max_tensors, sizeof(*t));
    if (!t) {
        fprintf(stderr, "make-gguf: out of memory\n");
        return 1;
    }
    uint64_t data_bytes;
    size_t n = plan(&s, t, &data_bytes);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct out o = { .f = fopen(path, "wb"), .path = path };
    if (!o.f) {
        fprintf(stderr, "make-gguf: %s: %s\n", path, strerror(errno));
        free(t);
        return 1;
    }
    write_header(&o, &s, t, n);
    if (o.n_kv != N_KV) {
        fprintf(stderr, "make-gguf: wrote %u key/value pairs, announced %u\n", o.n_kv, N_KV);
        fclose(o.f);
        free(t);
        return 1;
    }
    uint64_t data_start = o.pos;
    uint64_t rng = s.seed;
    uint64_t params = 0;
    for (size_t i = 0; i < n && !o.failed; i++) {
        write_tensor_data(&o, &t[i], &rng);
        put_pad(&o);
        params += t[i].ne0 * t[i].ne1;
    }
    int err = o.failed ? errno : 0;
    if (fclose(o.f) && !err)
        err = errno ? errno : EIO;
    free(t);
    if (err || o.failed) {
        fprintf(stderr, "make-gguf: writing %s: %s\n", path, strerror(err ? err : EIO));
        return 1;
    }
    /* Every offset was planned before a byte was written: check the plan held. */
    if (o.pos != data_start + data_bytes) {
        fprintf(stderr, "make-gguf: wrote %" PRIu64 " data bytes, planned %" PRIu64 "\n",
            o.pos - data_start, data_bytes);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("make-gguf: %s: llama n_embd=%u layers=%u heads=%u kv_heads=%u n_ff=%u vocab=%u "
           "type=%s params=%" PRIu64 " bytes=%" PRIu64 " in %.1f s\n",
        path, s.n_embd, s.n_layer, s.n_head, s.n_head_kv, s.n_ff, s.n_vocab,
        s.type == GGML_F16 ? "f16" : "q8_0", params, o.pos, secs);
    return 0;
}
