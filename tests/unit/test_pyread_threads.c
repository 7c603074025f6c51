// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pyread__thread_names on synthetic CPython memory images built in this
 * process (proc_read_mem reads getpid() like any target): sys.modules,
 * the threading module, its _active dict and Thread objects laid out as
 * each version family keeps them, then damaged ones.
 *
 * 3.13+ readers take their layout from the target's _Py_DebugOffsets;
 * here a 3.12 reader is relabelled instead (pyread_int.h): the object
 * header and str fields it reads are those of every 3.12 - 3.15 default
 * build, and the relabelling makes pyread_threads.c read dicts and
 * instances the 3.13+ way.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>
#include "testlib.h"
#include "pyread.h"
#include "pyread_int.h"

#define ARENA		(4u << 20)
#define TPF_INLINE	(1ul << 2)
#define TPF_MANAGED	(1ul << 4)
#define TPF_HEAP	(1ul << 9)

/* A synthetic image: objects bump-allocated in one mapping. */
struct img {
	uint8_t *base;
	size_t used;
	int minor;		/* the version the objects are laid out for */
	struct pyread *r;
	const struct py_layout *l;
	uint64_t runtime, interp;
	uint64_t t_dict, t_str, t_int, t_module, t_none, t_thread, none;
	uint64_t cached_keys;	/* the Thread class's shared keys */
};

/* the Thread class's attributes, in the order its __init__ sets them */
static const char *const attrs[] = { "_target", "_name", "_args", "_native_id", "_ident" };
#define NR_ATTRS	5
#define A_NAME		1
#define A_NATIVE_ID	3

static void put64(uint64_t addr, uint64_t v)
{
	memcpy((void *)(uintptr_t)addr, &v, sizeof(v));
}

static uint64_t get64(uint64_t addr)
{
	uint64_t v;

	memcpy(&v, (void *)(uintptr_t)addr, sizeof(v));
	return v;
}

static void put8(uint64_t addr, uint8_t v)
{
	*(uint8_t *)(uintptr_t)addr = v;
}

static uint64_t alloc(struct img *m, size_t n)
{
	uint64_t a;

	n = (n + 15) & ~(size_t)15;
	CHECK(m->used + n <= ARENA);
	a = (uint64_t)(uintptr_t)(m->base + m->used);
	m->used += n;
	return a;
}

/* ht_cached_keys per minor, as pyread_threads.c expects it */
static uint32_t cached_keys_off(int minor)
{
	static const uint32_t off[] = { [8] = 872, [9] = 864, [10] = 872, [11] = 872,
					[12] = 880, [13] = 880, [14] = 880, [15] = 888 };
	return off[minor];
}

static uint64_t mk_type(struct img *m, const char *name, uint64_t flags)
{
	uint64_t t = alloc(m, 1024), s = alloc(m, strlen(name) + 1);

	strcpy((char *)(uintptr_t)s, name);
	put64(t + 24, s);
	put64(t + 168, flags);
	return t;
}

static uint64_t mk_obj(struct img *m, uint64_t type, size_t size)
{
	uint64_t o = alloc(m, size);

	put64(o, 1);
	put64(o + 8, type);
	return o;
}

/* A compact str: ASCII, or Latin-1 (one byte a character) when it is not */
static uint64_t mk_str_n(struct img *m, const char *s, size_t n)
{
	bool ascii = true;
	uint32_t state;
	uint64_t o, data;

	for (size_t i = 0; i < n; i++)
		if ((uint8_t)s[i] >= 0x80)
			ascii = false;
	o = mk_obj(m, m->t_str, m->l->str_compact_data + n + 1);
	data = o + (ascii ? m->l->str_ascii_data : m->l->str_compact_data);
	put64(o + m->l->str_length, n);
	put64(o + 24, 0x1234);	/* hash */
	/* kind 1, compact; ascii; ready before 3.12 */
	state = 1u << 2 | 1u << 5 | (ascii ? 1u << 6 : 0) | (m->minor < 12 ? 1u << 7 : 0);
	memcpy((void *)(uintptr_t)(o + m->l->str_state), &state, sizeof(state));
	memcpy((void *)(uintptr_t)data, s, n);
	return o;
}

static uint64_t mk_str(struct img *m, const char *s)
{
	return mk_str_n(m, s, strlen(s));
}

/* An int of up to 3 30-bit digits */
static uint64_t mk_int(struct img *m, int64_t v)
{
	uint64_t o = mk_obj(m, m->t_int, 40), mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
	int64_t n = 0;

	for (uint64_t x = mag; x; x >>= 30) {
		uint32_t d = x & ((1u << 30) - 1);

		memcpy((void *)(uintptr_t)(o + 24 + 4 * n), &d, sizeof(d));
		n++;
	}
	if (m->minor >= 12)	/* lv_tag: digits << 3, sign 0 +, 1 zero, 2 - */
		put64(o + 16, (uint64_t)n << 3 | (v < 0 ? 2 : v == 0 ? 1 : 0));
	else
		put64(o + 16, v < 0 ? -n : n);
	return o;
}

enum keys_kind { K_GENERAL, K_UNICODE, K_SPLIT };

/* A keys object of @n entries (key, value) with room for them; split
 * tables' values are not in it.  A 0 key is a deleted entry. */
static uint64_t mk_keys(struct img *m, enum keys_kind kind, size_t n, const uint64_t *keys,
			const uint64_t *values)
{
	int log2 = 3, ixlog = 0;
	size_t size, esize, first;
	uint64_t k;

	while ((size_t)((2u << log2) / 3) < n)
		log2++;
	size = (size_t)1 << log2;
	if (m->minor <= 10) {
		size_t ixb = size <= 0xff ? 1 : 2;

		esize = 24;
		first = 40 + size * ixb;
		k = alloc(m, first + n * esize);
		put64(k + 8, size);
		put64(k + 16, 0xdeadbeef);	/* dk_lookup */
		put64(k + 24, (2 * size) / 3 - n);
		put64(k + 32, n);
	} else {
		ixlog = size <= 0xff ? 0 : 1;
		esize = kind == K_GENERAL ? 24 : 16;
		first = 32 + (size << ixlog);
		k = alloc(m, first + n * esize);
		put8(k + 8, log2);
		put8(k + 9, log2 + ixlog);
		put8(k + 10, kind);
		put64(k + 16, (2 * size) / 3 - n);
		put64(k + 24, n);
	}
	put64(k, 1);
	for (size_t i = 0; i < n; i++) {
		uint64_t e = k + first + i * esize, ko = esize == 24 ? 8 : 0;

		if (esize == 24)
			put64(e, keys[i] ? 0x5555 + i : 0);
		put64(e + ko, keys[i]);
		if (kind != K_SPLIT && values)
			put64(e + ko + 8, keys[i] ? values[i] : 0);
	}
	return k;
}

/* A split table's values for @n entries: 3.13+ a PyDictValues */
static uint64_t mk_values(struct img *m, size_t n, const uint64_t *values)
{
	uint64_t v;

	if (m->minor >= 13) {
		v = alloc(m, 8 + 8 * n);
		put8(v, n);		/* capacity */
		put8(v + 1, n);		/* size */
		put8(v + 3, 1);		/* valid */
		for (size_t i = 0; i < n; i++)
			put64(v + 8 + 8 * i, values[i]);
		return v;
	}
	/* 3.11+ keep the insertion order in the bytes before the values */
	v = alloc(m, 16 + 8 * n) + 16;
	for (size_t i = 0; i < n; i++)
		put64(v + 8 * i, values[i]);
	return v;
}

static uint64_t mk_dict(struct img *m, uint64_t keys, uint64_t values, size_t used)
{
	uint64_t d = mk_obj(m, m->t_dict, 48);

	put64(d + 16, used);
	put64(d + 32, keys);
	put64(d + 40, values);
	return d;
}

/* A combined dict of str keys @names (NULL: a deleted entry) */
static uint64_t mk_str_dict(struct img *m, size_t n, const char *const *names,
			    const uint64_t *values)
{
	uint64_t keys[64];

	CHECK(n <= 64);
	for (size_t i = 0; i < n; i++)
		keys[i] = names[i] ? mk_str(m, names[i]) : 0;
	return mk_dict(m, mk_keys(m, K_UNICODE, n, keys, values), 0, n);
}

enum inst { I_VALUES, I_DICT };

/*
 * A Thread instance with @name and @native_id (objects; 0 leaves the
 * attribute out): its attributes in values keyed by the class's shared
 * keys (I_VALUES; 3.8 - 3.10: a split dict), or in a combined dict of its
 * own (I_DICT).
 */
static uint64_t mk_thread(struct img *m, enum inst how, uint64_t name, uint64_t native_id)
{
	uint64_t vals[NR_ATTRS] = { m->none, name, m->none, native_id, m->none };
	uint64_t keys[NR_ATTRS], obj, dict = 0, values = 0;

	if (how == I_DICT) {
		for (size_t i = 0; i < NR_ATTRS; i++)
			keys[i] = mk_str(m, attrs[i]);
		/* 3.11+: str keys only, a unicode table */
		dict = mk_dict(m, mk_keys(m, K_UNICODE, NR_ATTRS, keys, vals), 0, NR_ATTRS);
	} else {
		values = mk_values(m, NR_ATTRS, vals);
		if (m->minor <= 10)
			dict = mk_dict(m, m->cached_keys, values, NR_ATTRS);
	}
	if (m->minor <= 10) {
		obj = mk_obj(m, m->t_thread, 32);
		put64(obj + 16, dict);
	} else if (m->minor == 11) {
		obj = alloc(m, 32 + 32) + 32;
		put64(obj + 8, m->t_thread);
		put64(obj - 24, dict);
		put64(obj - 32, values);
	} else if (m->minor == 12) {
		obj = alloc(m, 32 + 32) + 32;
		put64(obj + 8, m->t_thread);
		put64(obj - 24, dict ? dict : values - 1);
	} else {
		/* tp_basicsize 16: the inline values right after the header */
		obj = alloc(m, 32 + 16 + 8 + 8 * NR_ATTRS) + 32;
		put64(obj + 8, m->t_thread);
		put64(obj - 24, dict);
		put8(obj + 16, NR_ATTRS);
		put8(obj + 16 + 1, NR_ATTRS);
		put8(obj + 16 + 2, 1);
		put8(obj + 16 + 3, how == I_VALUES);
		for (size_t i = 0; i < NR_ATTRS; i++)
			put64(obj + 16 + 8 + 8 * i, how == I_VALUES ? vals[i] : 0);
	}
	return obj;
}

/* An image for 3.@minor: types, None, the Thread class, the runtime and
 * the interpreter; no sys.modules yet. */
static void img_init(struct img *m, int minor)
{
	char why[256];
	uint64_t t, keys[NR_ATTRS], thread_flags = TPF_HEAP;

	alarm(10);	/* a loop that does not end fails the case */
	memset(m, 0, sizeof(*m));
	m->minor = minor;
	m->base = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m->base != MAP_FAILED);
	m->runtime = alloc(m, 4096);
	CHECK_I64(pyread__new(getpid(), 3, minor >= 13 ? 12 : minor, m->runtime, &m->r,
			      why, sizeof(why)), 0);
	if (minor >= 13)
		m->r->l.minor = minor;
	m->l = pyread__layout(m->r);
	m->interp = alloc(m, 16384);
	put64(m->runtime + m->l->rt_interp_main, m->interp);

	m->t_dict = mk_type(m, "dict", 0);
	m->t_str = mk_type(m, "str", 0);
	m->t_int = mk_type(m, "int", 0);
	m->t_module = mk_type(m, "module", 0);
	m->t_none = mk_type(m, "NoneType", 0);
	m->none = mk_obj(m, m->t_none, 16);
	if (minor >= 11)
		thread_flags |= TPF_MANAGED;
	if (minor >= 13)
		thread_flags |= TPF_INLINE;
	t = m->t_thread = mk_type(m, "Thread", thread_flags);
	put64(t + 32, minor <= 10 ? 32 : 16);		/* tp_basicsize */
	put64(t + 288, minor <= 10 ? 16 : minor >= 12 ? -1 : 0);	/* tp_dictoffset */
	for (size_t i = 0; i < NR_ATTRS; i++)
		keys[i] = mk_str(m, attrs[i]);
	m->cached_keys = mk_keys(m, minor <= 10 ? K_GENERAL : K_SPLIT, NR_ATTRS, keys, NULL);
	put64(t + cached_keys_off(minor), m->cached_keys);
	put64(t + cached_keys_off(minor) - 8, mk_str(m, "Thread"));	/* ht_qualname */
}

/* sys.modules with "threading" (and a deleted entry before it), its
 * module dict with _active = @active */
static void img_modules(struct img *m, uint64_t active)
{
	const char *tnames[] = { "__name__", "_limbo", "_active", "Thread" };
	const char *mnames[] = { "sys", "builtins", NULL, "threading", "os" };
	uint64_t tvals[4], mvals[5], threading, sys;

	tvals[0] = mk_str(m, "threading");
	tvals[1] = mk_dict(m, mk_keys(m, K_GENERAL, 0, NULL, NULL), 0, 0);
	tvals[2] = active;
	tvals[3] = m->t_thread;
	threading = mk_obj(m, m->t_module, 48);
	put64(threading + 16, mk_str_dict(m, 4, tnames, tvals));
	sys = mk_obj(m, m->t_module, 48);
	put64(sys + 16, mk_str_dict(m, 0, NULL, NULL));
	mvals[0] = mvals[1] = mvals[4] = sys;
	mvals[2] = 0;
	mvals[3] = threading;
	put64(m->interp + m->l->is_modules, mk_str_dict(m, 5, mnames, mvals));
}

/* _active: {ident: thread} */
static uint64_t mk_active(struct img *m, size_t n, const uint64_t *threads)
{
	uint64_t keys[64];

	CHECK(n <= 64);
	for (size_t i = 0; i < n; i++)
		keys[i] = mk_int(m, 0x7f0000001000 + 0x1000 * i);
	return mk_dict(m, mk_keys(m, K_GENERAL, n, keys, threads), 0, n);
}

/* Main thread, two workers (values and dict), one not yet run */
static void check_family(int minor)
{
	struct py_thread_name out[8];
	uint64_t th[4];
	struct img m;

	img_init(&m, minor);
	th[0] = mk_thread(&m, I_VALUES, mk_str(&m, "MainThread"), mk_int(&m, 4242));
	th[1] = mk_thread(&m, I_VALUES, mk_str(&m, "worker-1"), mk_int(&m, 4243));
	th[2] = mk_thread(&m, I_DICT, mk_str(&m, "ThreadPoolExecutor-0_0"), mk_int(&m, 99999));
	th[3] = mk_thread(&m, I_VALUES, mk_str(&m, "not-run"), m.none);
	img_modules(&m, mk_active(&m, 4, th));
	CHECK_I64(pyread__thread_names(m.r, out, 8), 3);
	CHECK_U64(out[0].tid, 4242);
	CHECK_STR(out[0].name, "MainThread");
	CHECK_U64(out[1].tid, 4243);
	CHECK_STR(out[1].name, "worker-1");
	CHECK_U64(out[2].tid, 99999);
	CHECK_STR(out[2].name, "ThreadPoolExecutor-0_0");
	/* as many as asked for */
	CHECK_I64(pyread__thread_names(m.r, out, 1), 1);
	CHECK_STR(out[0].name, "MainThread");
	CHECK_I64(pyread__thread_names(m.r, out, 0), 0);
	pyread__free(m.r);
}

TEST(pythreads_38_split_and_combined_instance_dicts)
{
	check_family(8);
}

TEST(pythreads_310_split_and_combined_instance_dicts)
{
	check_family(10);
}

TEST(pythreads_311_values_before_the_object_or_a_dict)
{
	check_family(11);
}

TEST(pythreads_312_tagged_values_or_a_dict)
{
	check_family(12);
}

TEST(pythreads_313_inline_values_or_a_dict)
{
	check_family(13);
}

TEST(pythreads_315_inline_values_keyed_at_its_cached_keys)
{
	check_family(15);
}

/* 3.13+: a dict made from inline values shares them (split, ma_values
 * at the inline values); once made, the dict is what counts */
TEST(pythreads_313_materialised_dict_sharing_inline_values)
{
	struct py_thread_name out[4];
	uint64_t th, values;
	struct img m;

	img_init(&m, 13);
	th = mk_thread(&m, I_VALUES, mk_str(&m, "worker-2"), mk_int(&m, 777));
	values = th + 16;
	put64(th - 24, mk_dict(&m, m.cached_keys, values, NR_ATTRS));
	/* the inline values no longer valid: only the dict can say */
	put8(values + 3, 0);
	img_modules(&m, mk_active(&m, 1, &th));
	CHECK_I64(pyread__thread_names(m.r, out, 4), 1);
	CHECK_U64(out[0].tid, 777);
	CHECK_STR(out[0].name, "worker-2");
	/* neither values nor dict: no attributes, nothing to name */
	put64(th - 24, 0);
	CHECK_I64(pyread__thread_names(m.r, out, 4), 0);
	pyread__free(m.r);
}

/* native ids of every int size and sign */
static void check_ids(int minor)
{
	struct py_thread_name out[8];
	uint64_t th[5];
	struct img m;

	img_init(&m, minor);
	th[0] = mk_thread(&m, I_VALUES, mk_str(&m, "big"), mk_int(&m, (1ll << 31) + 5));
	th[1] = mk_thread(&m, I_VALUES, mk_str(&m, "neg"), mk_int(&m, -5));
	th[2] = mk_thread(&m, I_VALUES, mk_str(&m, "zero"), mk_int(&m, 0));
	th[3] = mk_thread(&m, I_VALUES, mk_str(&m, "huge"), mk_int(&m, 1ll << 61));
	th[4] = mk_thread(&m, I_VALUES, mk_str(&m, "one"), mk_int(&m, 1));
	img_modules(&m, mk_active(&m, 5, th));
	CHECK_I64(pyread__thread_names(m.r, out, 8), 2);
	CHECK_U64(out[0].tid, (1ull << 31) + 5);
	CHECK_STR(out[0].name, "big");
	CHECK_U64(out[1].tid, 1);
	CHECK_STR(out[1].name, "one");
	/* when no thread can be read, the first thread's error */
	img_modules(&m, mk_active(&m, 1, &th[1]));
	CHECK_I64(pyread__thread_names(m.r, out, 8), -ERANGE);
	pyread__free(m.r);
}

TEST(pythreads_native_ids_ob_size_digits)
{
	check_ids(9);
}

TEST(pythreads_native_ids_lv_tag)
{
	check_ids(12);
}

/* A name cut at 63 bytes falls before a character that does not fit */
TEST(pythreads_long_name_cut_at_a_character)
{
	char name[80];
	struct py_thread_name out[2];
	uint64_t th;
	struct img m;

	img_init(&m, 11);
	memset(name, 'x', 62);
	name[62] = (char)0xe9;	/* Latin-1 é: two bytes in UTF-8 */
	name[63] = 'z';
	th = mk_thread(&m, I_VALUES, mk_str_n(&m, name, 64), mk_int(&m, 31));
	img_modules(&m, mk_active(&m, 1, &th));
	CHECK_I64(pyread__thread_names(m.r, out, 2), 1);
	CHECK_U64(strlen(out[0].name), 62);
	CHECK(strspn(out[0].name, "x") == 62);
	pyread__free(m.r);
}

TEST(pythreads_threading_not_imported)
{
	const char *mnames[] = { "sys" };
	struct py_thread_name out[2];
	uint64_t mvals[1];
	struct img m;

	img_init(&m, 12);
	/* no sys.modules yet */
	CHECK_I64(pyread__thread_names(m.r, out, 2), -ENOENT);
	mvals[0] = mk_obj(&m, m.t_module, 48);
	put64(m.interp + m.l->is_modules, mk_str_dict(&m, 1, mnames, mvals));
	CHECK_I64(pyread__thread_names(m.r, out, 2), -ENOENT);
	pyread__free(m.r);
}

/* Objects whose types are not the ones expected */
TEST(pythreads_wrong_types_are_errors)
{
	struct py_thread_name out[2];
	uint64_t th, active, modules, tdict;
	struct img m;

	img_init(&m, 11);
	th = mk_thread(&m, I_VALUES, mk_str(&m, "w"), mk_int(&m, 12));
	active = mk_active(&m, 1, &th);
	img_modules(&m, active);
	CHECK_I64(pyread__thread_names(m.r, out, 2), 1);
	/* _active's type named otherwise */
	put64(active + 8, mk_type(&m, "dixt", 0));
	CHECK_I64(pyread__thread_names(m.r, out, 2), -EINVAL);
	/* a class named "dict" is not the dict type */
	put64(active + 8, mk_type(&m, "dict", TPF_HEAP));
	CHECK_I64(pyread__thread_names(m.r, out, 2), -EINVAL);
	put64(active + 8, m.t_dict);
	CHECK_I64(pyread__thread_names(m.r, out, 2), 1);
	/* threading is not a module */
	modules = get64(m.interp + m.l->is_modules);
	tdict = mk_str_dict(&m, 1, (const char *[]){ "threading" }, &active);
	put64(m.interp + m.l->is_modules, tdict);
	CHECK_I64(pyread__thread_names(m.r, out, 2), -EINVAL);
	/* sys.modules is not a dict */
	put64(m.interp + m.l->is_modules, mk_str(&m, "modules"));
	CHECK_I64(pyread__thread_names(m.r, out, 2), -EINVAL);
	/* a _name that is an int: an error; a _native_id that is a str:
	 * not an id, skipped like None */
	put64(m.interp + m.l->is_modules, modules);
	th = mk_thread(&m, I_DICT, mk_int(&m, 5), mk_int(&m, 13));
	img_modules(&m, mk_active(&m, 1, &th));
	CHECK_I64(pyread__thread_names(m.r, out, 2), -EINVAL);
	th = mk_thread(&m, I_VALUES, mk_str(&m, "x"), mk_str(&m, "13"));
	img_modules(&m, mk_active(&m, 1, &th));
	CHECK_I64(pyread__thread_names(m.r, out, 2), 0);
	pyread__free(m.r);
}

/* Sizes no table has, pointers into nothing, and loops: errors, at once */
static void check_damage(int minor)
{
	struct py_thread_name out[4];
	uint64_t th[2], active, keys, hole;
	struct img m;
	void *p;

	img_init(&m, minor);
	p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	hole = (uint64_t)(uintptr_t)p;
	th[0] = mk_thread(&m, I_VALUES, mk_str(&m, "a"), mk_int(&m, 100));
	th[1] = mk_thread(&m, I_DICT, mk_str(&m, "b"), mk_int(&m, 101));
	active = mk_active(&m, 2, th);
	img_modules(&m, active);
	CHECK_I64(pyread__thread_names(m.r, out, 4), 2);
	keys = get64(active + 32);

	/* a table of 2^40 slots, or more entries than its size allows */
	if (minor <= 10) {
		put64(keys + 8, 1ull << 40);
		CHECK_I64(pyread__thread_names(m.r, out, 4), -EINVAL);
		put64(keys + 8, 8);
		put64(keys + 32, 1000000);
		CHECK_I64(pyread__thread_names(m.r, out, 4), -EINVAL);
		put64(keys + 32, 2);
	} else {
		put8(keys + 8, 60);
		CHECK_I64(pyread__thread_names(m.r, out, 4), -EINVAL);
		put8(keys + 8, 3);
		put8(keys + 9, 7);	/* index bytes that do not fit the size */
		CHECK_I64(pyread__thread_names(m.r, out, 4), -EINVAL);
		put8(keys + 9, 3);
		put64(keys + 24, (uint64_t)-1);
		CHECK_I64(pyread__thread_names(m.r, out, 4), -EINVAL);
		put64(keys + 24, 2);
		put8(keys + 10, 9);	/* no such kind */
		CHECK_I64(pyread__thread_names(m.r, out, 4), -EINVAL);
		put8(keys + 10, 0);
	}
	CHECK_I64(pyread__thread_names(m.r, out, 4), 2);

	/* the keys point into nothing */
	put64(active + 32, hole);
	CHECK_I64(pyread__thread_names(m.r, out, 4), -EFAULT);
	/* a cycle: _active's keys are the dict itself */
	put64(active + 32, active);
	CHECK(pyread__thread_names(m.r, out, 4) < 0);
	put64(active + 32, keys);

	/* a thread whose type, or whose dict, is unreadable: that one skipped */
	put64(th[0] + 8, hole);
	CHECK_I64(pyread__thread_names(m.r, out, 4), 1);
	CHECK_STR(out[0].name, "b");
	put64(th[0] + 8, m.t_thread);
	/* a thread whose dict is _active itself: no _name there, none read */
	if (minor <= 10)
		put64(th[1] + 16, active);
	else
		put64(th[1] - 24, active);
	CHECK_I64(pyread__thread_names(m.r, out, 4), 1);
	CHECK_STR(out[0].name, "a");

	/* sys.modules unreadable, the interpreter gone */
	put64(m.interp + m.l->is_modules, hole + 8);
	CHECK_I64(pyread__thread_names(m.r, out, 4), -EFAULT);
	munmap(p, 4096);
	pyread__free(m.r);
}

TEST(pythreads_damaged_images_38)
{
	check_damage(8);
}

TEST(pythreads_damaged_images_311)
{
	check_damage(11);
}

TEST(pythreads_damaged_images_313)
{
	check_damage(13);
}

/* Inline values that claim more than their capacity, a class whose
 * cached keys are not where they should be */
TEST(pythreads_313_values_bounded_by_capacity_and_keys_checked)
{
	struct py_thread_name out[2];
	uint64_t th;
	struct img m;

	img_init(&m, 13);
	th = mk_thread(&m, I_VALUES, mk_str(&m, "c"), mk_int(&m, 55));
	img_modules(&m, mk_active(&m, 1, &th));
	CHECK_I64(pyread__thread_names(m.r, out, 2), 1);
	/* capacity 2: _native_id (entry 3) is past it, not read */
	put8(th + 16, 2);
	CHECK_I64(pyread__thread_names(m.r, out, 2), 0);
	put8(th + 16, NR_ATTRS);
	/* ht_qualname not a str: the class is not laid out as expected */
	put64(m.t_thread + cached_keys_off(13) - 8, m.none);
	CHECK_I64(pyread__thread_names(m.r, out, 2), -EINVAL);
	pyread__free(m.r);
}

TEST(pythreads_unknown_versions_and_free_threaded)
{
	struct py_thread_name out[2];
	struct img m;

	img_init(&m, 12);
	m.r->l.free_threaded = 1;
	CHECK_I64(pyread__thread_names(m.r, out, 2), -ENOTSUP);
	m.r->l.free_threaded = 0;
	m.r->l.minor = 16;
	CHECK_I64(pyread__thread_names(m.r, out, 2), -ENOTSUP);
	pyread__free(m.r);
}
