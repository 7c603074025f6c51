// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Python names of a live CPython's threads (3.8 - 3.15), read from
 * outside the process in the threading module's own records:
 *
 *   sys.modules["threading"].__dict__["_active"]   {ident: Thread}
 *   Thread._name        str   "MainThread", "worker-1", "ThreadPoolExecutor-0_0"
 *   Thread._native_id   int   the kernel tid (None before the thread runs)
 *
 * _active holds every running thread threading knows: the main thread's
 * _MainThread, each started Thread, and a _DummyThread for a thread
 * started outside threading that called current_thread().
 *
 * Three kinds of CPython objects are read here, each in the layout of its
 * version (measured with offsetof() against each version's headers, see
 * struct pyt_layout):
 *   dicts      3.8 - 3.10: PyDictKeysObject with dk_size and dk_lookup,
 *              entries (hash, key, value); 3.11+: dk_log2_size, dk_kind,
 *              entries (key, value) for str-only keys.  Split tables keep
 *              their values in ma_values, by entry index.
 *   ints       ob_size and 30-bit digits; 3.12+: lv_tag (digits << 3 | sign).
 *   instances  the attributes of a plain Python class's instance:
 *              3.8 - 3.10 a dict at tp_dictoffset; 3.11 a dict or a values
 *              array in two words before the object; 3.12 one tagged word
 *              for either; 3.13+ values inline after the object
 *              (tp_basicsize) keyed by the class's ht_cached_keys, or a
 *              dict once one has been made.
 *
 * The target runs while it is read: any object may be torn, freed or
 * reused under us.  Every object's type is checked by name (a static
 * type's tp_name: "dict", "str", "int", "module"), every size is bounded
 * and every loop has a fixed limit, so a bad image is an error, never a
 * crash or a hang.  Keys are found by a bounded scan of the entries, not
 * by hash: str hashes are seeded per process.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "pyread.h"

/* PyTypeObject, the same in 3.8 - 3.15 default builds (ob_type and
 * tp_name come from pyread's layout) */
#define TP_BASICSIZE		32
#define TP_FLAGS		168
#define TP_DICTOFFSET		288
#define TP_READ			(TP_DICTOFFSET + 8)
#define TPFLAG_INLINE_VALUES	(1ul << 2)	/* 3.13+ */
#define TPFLAG_MANAGED_DICT	(1ul << 4)	/* 3.11+ */
#define TPFLAG_HEAPTYPE		(1ul << 9)
/* 3.11+: the managed dict (3.12: dict or tagged values) before the
 * object, 3.11: the values pointer one word further down */
#define MANAGED_DICT_OFFSET	(-24)
#define MANAGED_VALUES_311	(-32)

/* PyModuleObject */
#define MD_DICT			16

/* PyDictObject */
#define MA_USED			16
#define MA_KEYS			32
#define MA_VALUES		40
#define DICT_READ		48

/* PyDictKeysObject, 3.8 - 3.10 */
#define DK38_SIZE		8	/* Py_ssize_t, a power of 2 */
#define DK38_NENTRIES		32
#define DK38_INDICES		40
/* PyDictKeysObject, 3.11+ */
#define DK_LOG2_SIZE		8	/* uint8_t */
#define DK_LOG2_INDEX_BYTES	9
#define DK_KIND			10	/* DICT_KEYS_GENERAL, _UNICODE, _SPLIT */
#define DK_NENTRIES		24
#define DK_INDICES		32
#define DK_READ			40
#define DICT_KEYS_GENERAL	0
#define DICT_KEYS_UNICODE	1
#define DICT_KEYS_SPLIT		2

#define DK_MIN_LOG2		3	/* PyDict_MINSIZE 8 */
/* 131072 slots, 87381 entries: more than any sys.modules or thread
 * table, and a bound on the work a bad image can ask for */
#define DK_MAX_LOG2		17

/* PyDictValues, 3.13+: capacity, size, embedded, valid, then values */
#define DV_CAPACITY		0
#define DV_VALID		3

/* PyASCIIObject.state: compact (bit 5) and ascii (6) in 3.8 - 3.15
 * default builds; where the length, the state and the text are comes
 * from pyread's layout */
#define STR_COMPACT_ASCII	(3u << 5)
#define STR_HDR_MAX		64

/* PyLongObject: ob_size (< 3.12) or lv_tag, then 30-bit digits */
#define LONG_SIZE		16
#define LONG_DIGITS		24
#define LONG_SHIFT		30

enum pyt_dict_kind {
	PYT_DICT_38 = 1,	/* 3.8 - 3.10 */
	PYT_DICT_311,		/* 3.11+ */
};

enum pyt_inst_kind {
	PYT_INST_DICTOFFSET = 1,	/* 3.8 - 3.10: tp_dictoffset */
	PYT_INST_311,		/* dict at -24, values at -32 */
	PYT_INST_312,		/* dict, or values - 1 tagged with bit 0, at -24 */
	PYT_INST_313,		/* dict at -24, or inline values at tp_basicsize */
};

/* What differs between versions for the objects read here. */
struct pyt_layout {
	int minor;
	uint8_t dict;		/* enum pyt_dict_kind */
	uint8_t inst;		/* enum pyt_inst_kind */
	bool long_tag;		/* 3.12+: lv_tag instead of ob_size */
	uint16_t cached_keys;	/* PyHeapTypeObject.ht_cached_keys */
	uint16_t values;	/* PyDictValues: where values[0] is */
};

/*
 * offsetof() against pyenv's 3.8.18 - 3.13.0 headers; 3.14 and 3.15 from
 * their sources: ht_cached_keys is sizeof(PyTypeObject) + 464 (the five
 * method suites and ht_name, ht_slots, ht_qualname), and the type_object
 * group of their _Py_DebugOffsets gives that size: 416 in 3.14.10 (the
 * new tp_versions_used fits in tp_watched's padding), 424 in 3.15.2
 * (tp_binop_specialize).  Checked live on Debian sid's builds.
 * ht_cached_keys is checked at run time too: the word before it is
 * ht_qualname, which must be a str.  (3.8 - 3.10 instances always have a
 * dict of their own: their ht_cached_keys is never read.)
 */
static const struct pyt_layout pyt_layouts[] = {
	{ 8,  PYT_DICT_38,  PYT_INST_DICTOFFSET, false, 872, 0 },
	{ 9,  PYT_DICT_38,  PYT_INST_DICTOFFSET, false, 864, 0 },
	{ 10, PYT_DICT_38,  PYT_INST_DICTOFFSET, false, 872, 0 },
	{ 11, PYT_DICT_311, PYT_INST_311,        false, 872, 0 },
	{ 12, PYT_DICT_311, PYT_INST_312,        true,  880, 0 },
	{ 13, PYT_DICT_311, PYT_INST_313,        true,  880, 8 },
	{ 14, PYT_DICT_311, PYT_INST_313,        true,  880, 8 },
	{ 15, PYT_DICT_311, PYT_INST_313,        true,  888, 8 },
};

#define NR_PYT_LAYOUTS	(sizeof(pyt_layouts) / sizeof(pyt_layouts[0]))

/* static types recognised by tp_name */
enum pyt_type {
	PYT_DICT,
	PYT_STR,
	PYT_INT,
	PYT_MODULE,
	NR_PYT_TYPES,
};

static const char *const pyt_type_names[NR_PYT_TYPES] = {
	[PYT_DICT] = "dict", [PYT_STR] = "str", [PYT_INT] = "int", [PYT_MODULE] = "module",
};

struct pyt_ctx {
	struct pyread *r;
	const struct py_layout *pl;
	const struct pyt_layout *l;
	/* the type object found to be each of enum pyt_type, and the last
	 * one found not to be */
	uint64_t type_yes[NR_PYT_TYPES], type_no[NR_PYT_TYPES];
};

/* Where a dict's entries are and how to read them. */
struct pyt_entries {
	uint64_t addr;		/* the first entry */
	uint64_t nr;		/* dk_nentries */
	uint32_t size;		/* 24 (hash, key, value) or 16 (key, value) */
	uint32_t key;		/* the key's offset in an entry; the value follows */
	bool split;		/* keys of a split table: values elsewhere */
};

/* How many entries are read at once */
#define ENTRY_BATCH	64

static const struct pyt_layout *pyt_layout_for(int major, int minor)
{
	if (major != 3)
		return NULL;
	for (size_t i = 0; i < NR_PYT_LAYOUTS; i++)
		if (pyt_layouts[i].minor == minor)
			return &pyt_layouts[i];
	return NULL;
}

static int read_u64(struct pyt_ctx *c, uint64_t addr, uint64_t *v)
{
	return pyread__read(c->r, addr, v, sizeof(*v));
}

/* A plausible object address: user space, pointer-aligned */
static bool obj_addr_ok(uint64_t addr)
{
	return addr >= 4096 && addr < (1ull << 47) && !(addr & 7);
}

/* Whether type object @type is the static type @want, by tp_name. */
static int type_is(struct pyt_ctx *c, uint64_t type, enum pyt_type want)
{
	const char *name = pyt_type_names[want];
	size_t n = strlen(name);
	uint64_t tp_name, flags;
	char buf[16];
	int err;

	if (type && type == c->type_yes[want])
		return 1;
	if (type && type == c->type_no[want])
		return 0;
	if (!obj_addr_ok(type))
		return -EINVAL;
	err = read_u64(c, type + c->pl->tp_name, &tp_name);
	if (!err)
		err = read_u64(c, type + TP_FLAGS, &flags);
	if (!err && !tp_name)
		err = -EINVAL;
	/* the name and its NUL: no further, it may end a mapping */
	if (!err)
		err = pyread__read(c->r, tp_name, buf, n + 1);
	if (err)
		return err;
	/* a class of the same name is not the builtin type */
	if (memcmp(buf, name, n + 1) || (flags & TPFLAG_HEAPTYPE)) {
		c->type_no[want] = type;
		return 0;
	}
	c->type_yes[want] = type;
	return 1;
}

/* Whether @obj is a @want: 1, 0, or -errno when it cannot be read. */
static int obj_is(struct pyt_ctx *c, uint64_t obj, enum pyt_type want)
{
	uint64_t type;
	int err;

	if (!obj_addr_ok(obj))
		return -EINVAL;
	err = read_u64(c, obj + c->pl->ob_type, &type);
	return err ? err : type_is(c, type, want);
}

/* Whether str @obj is the ASCII text @want (shorter than 64 bytes). */
static bool str_is(struct pyt_ctx *c, uint64_t obj, const char *want)
{
	size_t n = strlen(want), hdr = c->pl->str_ascii_data;
	uint8_t buf[STR_HDR_MAX + 64];
	uint64_t len;
	uint32_t state;

	if (!obj_addr_ok(obj) || n >= 64 || hdr > STR_HDR_MAX ||
	    c->pl->str_length + 8 > hdr || c->pl->str_state + 4 > hdr)
		return false;
	/* header and text at once: within the object when the lengths match */
	if (pyread__read(c->r, obj, buf, hdr + n))
		return false;
	memcpy(&len, buf + c->pl->str_length, sizeof(len));
	memcpy(&state, buf + c->pl->str_state, sizeof(state));
	if (len != n || (state & STR_COMPACT_ASCII) != STR_COMPACT_ASCII ||
	    memcmp(buf + hdr, want, n))
		return false;
	return obj_is(c, obj, PYT_STR) == 1;
}

/*
 * The entries of keys object @keys, checked for sizes that belong
 * together: a power-of-2 table within DK_MIN_LOG2..DK_MAX_LOG2, index
 * bytes that fit it, at most 2/3 of it used.
 */
static int keys_entries(struct pyt_ctx *c, uint64_t keys, struct pyt_entries *e)
{
	uint8_t buf[DK_READ];
	uint64_t size, nr, ixb;
	int err, log2;

	if (!obj_addr_ok(keys))
		return -EINVAL;
	err = pyread__read(c->r, keys, buf, sizeof(buf));
	if (err)
		return err;
	memset(e, 0, sizeof(*e));
	if (c->l->dict == PYT_DICT_38) {
		memcpy(&size, buf + DK38_SIZE, sizeof(size));
		memcpy(&nr, buf + DK38_NENTRIES, sizeof(nr));
		if (size < (1u << DK_MIN_LOG2) || size > (1u << DK_MAX_LOG2) || (size & (size - 1)))
			return -EINVAL;
		ixb = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		e->addr = keys + DK38_INDICES + size * ixb;
		/* split or not is in dk_lookup, a function: the dict says */
		e->size = 24;
		e->key = 8;
	} else {
		log2 = buf[DK_LOG2_SIZE];
		if (log2 < DK_MIN_LOG2 || log2 > DK_MAX_LOG2)
			return -EINVAL;
		size = 1ull << log2;
		ixb = size <= 0xff ? 0 : size <= 0xffff ? 1 : 2;	/* log2 of it */
		if (buf[DK_LOG2_INDEX_BYTES] != log2 + ixb || buf[DK_KIND] > DICT_KEYS_SPLIT)
			return -EINVAL;
		memcpy(&nr, buf + DK_NENTRIES, sizeof(nr));
		e->addr = keys + DK_INDICES + (size << ixb);
		e->size = buf[DK_KIND] == DICT_KEYS_GENERAL ? 24 : 16;
		e->key = buf[DK_KIND] == DICT_KEYS_GENERAL ? 8 : 0;
		e->split = buf[DK_KIND] == DICT_KEYS_SPLIT;
	}
	/* USABLE_FRACTION: 2/3 of the table */
	if (nr > (size << 1) / 3)
		return -EINVAL;
	e->nr = nr;
	return 0;
}

/*
 * Values of a split table: 3.8 - 3.12 an array of PyObject * at @values,
 * 3.13+ a PyDictValues whose capacity bounds the index.
 */
struct pyt_values {
	uint64_t addr;		/* values[0]; 0: a combined table */
	uint64_t nr;		/* entries it can hold */
};

static int values_of(struct pyt_ctx *c, uint64_t values, const struct pyt_entries *e,
		     struct pyt_values *v)
{
	uint8_t hdr[4];
	int err;

	if (!obj_addr_ok(values))
		return -EINVAL;
	v->addr = values + c->l->values;
	v->nr = e->nr;
	if (c->l->inst == PYT_INST_313) {
		err = pyread__read(c->r, values, hdr, sizeof(hdr));
		if (err)
			return err;
		if (hdr[DV_CAPACITY] < v->nr)
			v->nr = hdr[DV_CAPACITY];
	}
	return 0;
}

/*
 * Visits the (key, value) pairs of a table: keys @e, values in the entries
 * or in @v (split).  @fn returns 0 to go on, 1 to stop, or -errno.  Empty
 * and deleted entries are skipped.
 */
typedef int (*pyt_visit_fn)(struct pyt_ctx *c, uint64_t key, uint64_t value, void *arg);

static int entries_visit(struct pyt_ctx *c, const struct pyt_entries *e,
			 const struct pyt_values *v, pyt_visit_fn fn, void *arg)
{
	uint8_t buf[ENTRY_BATCH * 24];
	uint64_t vals[ENTRY_BATCH];
	int err;

	if (e->split != (v->addr != 0) && c->l->dict != PYT_DICT_38)
		return -EINVAL;
	for (uint64_t i = 0; i < e->nr; i += ENTRY_BATCH) {
		uint64_t n = e->nr - i < ENTRY_BATCH ? e->nr - i : ENTRY_BATCH;

		err = pyread__read(c->r, e->addr + i * e->size, buf, n * e->size);
		if (err)
			return err;
		if (v->addr) {
			uint64_t nv = i >= v->nr ? 0 : v->nr - i < n ? v->nr - i : n;

			memset(vals, 0, sizeof(vals));
			if (nv && (err = pyread__read(c->r, v->addr + i * 8, vals, nv * 8)))
				return err;
		}
		for (uint64_t j = 0; j < n; j++) {
			uint64_t key, value;

			memcpy(&key, buf + j * e->size + e->key, sizeof(key));
			if (v->addr)
				value = vals[j];
			else
				memcpy(&value, buf + j * e->size + e->key + 8, sizeof(value));
			if (!key || !value)
				continue;
			err = fn(c, key, value, arg);
			if (err)
				return err < 0 ? err : 0;
		}
	}
	return 0;
}

struct pyt_find {
	const char *name;
	uint64_t value;
};

static int find_visit(struct pyt_ctx *c, uint64_t key, uint64_t value, void *arg)
{
	struct pyt_find *f = arg;

	if (!str_is(c, key, f->name))
		return 0;
	f->value = value;
	return 1;
}

/* Visits dict @dict's pairs: -EINVAL when it is not a dict. */
static int dict_visit(struct pyt_ctx *c, uint64_t dict, pyt_visit_fn fn, void *arg)
{
	uint8_t buf[DICT_READ];
	struct pyt_entries e;
	struct pyt_values v = {};
	uint64_t keys, values;
	int err;

	err = obj_is(c, dict, PYT_DICT);
	if (err <= 0)
		return err ? err : -EINVAL;
	err = pyread__read(c->r, dict, buf, sizeof(buf));
	if (err)
		return err;
	memcpy(&keys, buf + MA_KEYS, sizeof(keys));
	memcpy(&values, buf + MA_VALUES, sizeof(values));
	err = keys_entries(c, keys, &e);
	if (!err && values)
		err = values_of(c, values, &e, &v);
	return err ? err : entries_visit(c, &e, &v, fn, arg);
}

/* dict @dict's value for str key @name: 0, -ENOENT, or -errno. */
static int dict_get(struct pyt_ctx *c, uint64_t dict, const char *name, uint64_t *out)
{
	struct pyt_find f = { .name = name };
	int err = dict_visit(c, dict, find_visit, &f);

	if (err)
		return err;
	if (!f.value)
		return -ENOENT;
	*out = f.value;
	return 0;
}

/* The attribute @name of a values array @values keyed by the class's
 * shared keys (ht_cached_keys of heap type @type). */
static int values_get(struct pyt_ctx *c, uint64_t type, uint64_t flags, uint64_t values,
		      const char *name, uint64_t *out)
{
	struct pyt_find f = { .name = name };
	struct pyt_entries e;
	struct pyt_values v;
	uint64_t keys, qualname;
	int err;

	if (!(flags & TPFLAG_HEAPTYPE))
		return -EINVAL;
	err = read_u64(c, type + c->l->cached_keys, &keys);
	if (!err)
		err = read_u64(c, type + c->l->cached_keys - 8, &qualname);
	if (err)
		return err;
	if (obj_is(c, qualname, PYT_STR) != 1)
		return -EINVAL;
	err = keys_entries(c, keys, &e);
	if (!err)
		err = values_of(c, values, &e, &v);
	if (!err)
		err = entries_visit(c, &e, &v, find_visit, &f);
	if (err)
		return err;
	if (!f.value)
		return -ENOENT;
	*out = f.value;
	return 0;
}

/*
 * Instance attribute @name of @obj, an instance of a Python class (one
 * without __slots__): 0, -ENOENT when it has none, or -errno.
 */
static int attr_get(struct pyt_ctx *c, uint64_t obj, const char *name, uint64_t *out)
{
	uint8_t tp[TP_READ];
	uint64_t type, flags, dict = 0, values = 0, word;
	int64_t basicsize, dictoffset;
	uint8_t valid;
	int err;

	if (!obj_addr_ok(obj))
		return -EINVAL;
	err = read_u64(c, obj + c->pl->ob_type, &type);
	if (!err)
		err = obj_addr_ok(type) ? pyread__read(c->r, type, tp, sizeof(tp)) : -EINVAL;
	if (err)
		return err;
	memcpy(&basicsize, tp + TP_BASICSIZE, sizeof(basicsize));
	memcpy(&flags, tp + TP_FLAGS, sizeof(flags));
	memcpy(&dictoffset, tp + TP_DICTOFFSET, sizeof(dictoffset));

	if (c->l->inst == PYT_INST_DICTOFFSET || !(flags & TPFLAG_MANAGED_DICT)) {
		/* a negative offset is from a variable-size object's end */
		if (dictoffset <= 0 || dictoffset > 4096)
			return -ENOENT;
		err = read_u64(c, obj + dictoffset, &dict);
	} else if (c->l->inst == PYT_INST_311) {
		err = read_u64(c, obj + MANAGED_DICT_OFFSET, &dict);
		if (!err && !dict)
			err = read_u64(c, obj + MANAGED_VALUES_311, &values);
	} else if (c->l->inst == PYT_INST_312) {
		err = read_u64(c, obj + MANAGED_DICT_OFFSET, &word);
		if (!err && (word & 1))
			values = word + 1;
		else if (!err)
			dict = word;
	} else {
		err = read_u64(c, obj + MANAGED_DICT_OFFSET, &dict);
		if (!err && !dict && (flags & TPFLAG_INLINE_VALUES)) {
			if (basicsize < 16 || basicsize > 4096)
				return -EINVAL;
			err = pyread__read(c->r, obj + basicsize + DV_VALID, &valid, 1);
			if (!err && valid)
				values = obj + basicsize;
		}
	}
	if (err)
		return err;
	if (dict)
		return dict_get(c, dict, name, out);
	if (values)
		return values_get(c, type, flags, values, name, out);
	return -ENOENT;
}

/* The value of int @obj when it is one in 1..UINT32_MAX: 0, -ENOENT when
 * it is no int (None: not started), -ERANGE, or -errno. */
static int int_u32(struct pyt_ctx *c, uint64_t obj, uint32_t *out)
{
	uint8_t buf[LONG_DIGITS + 8];
	uint32_t d[2];
	uint64_t v, ndigits;
	int64_t size;
	int err;

	err = obj_is(c, obj, PYT_INT);
	if (err <= 0)
		return err ? err : -ENOENT;
	err = pyread__read(c->r, obj, buf, sizeof(buf));
	if (err)
		return err;
	memcpy(&size, buf + LONG_SIZE, sizeof(size));
	memcpy(d, buf + LONG_DIGITS, sizeof(d));
	if (c->l->long_tag) {
		/* lv_tag: digits << 3, sign in bits 0-1: 0 positive, 1 zero, 2 negative */
		if ((size & 3) != 0)
			return -ERANGE;
		ndigits = (uint64_t)size >> 3;
	} else {
		if (size <= 0)
			return -ERANGE;
		ndigits = size;
	}
	if (ndigits < 1 || ndigits > 2)
		return -ERANGE;
	v = d[0];
	if (ndigits == 2)
		v |= (uint64_t)d[1] << LONG_SHIFT;
	if (!v || v > UINT32_MAX)
		return -ERANGE;
	*out = v;
	return 0;
}

struct pyt_collect {
	struct py_thread_name *out;
	size_t max, n;
	int first_err;		/* of a thread that could not be read */
	size_t bad;
};

/* One Thread object of _active: its tid and name, when it has both. */
static int collect_visit(struct pyt_ctx *c, uint64_t key, uint64_t thread, void *arg)
{
	struct pyt_collect *t = arg;
	struct py_thread_name *p;
	uint64_t id, name;
	uint32_t tid;
	int err;

	(void)key;
	if (t->n >= t->max)
		return 1;
	p = &t->out[t->n];
	err = attr_get(c, thread, "_native_id", &id);
	if (!err)
		err = int_u32(c, id, &tid);
	/* not started, or started and not yet run: no tid to name */
	if (err == -ENOENT)
		return 0;
	if (!err)
		err = attr_get(c, thread, "_name", &name);
	if (!err)
		err = pyread__str(c->r, name, p->name, sizeof(p->name));
	if (err) {
		if (!t->bad++)
			t->first_err = err;
		return 0;
	}
	p->tid = tid;
	t->n++;
	return 0;
}

int pyread__thread_names(struct pyread *r, struct py_thread_name *out, size_t max)
{
	const struct py_layout *pl = pyread__layout(r);
	struct pyt_collect t = { .out = out, .max = max };
	struct pyt_ctx c = { .r = r, .pl = pl };
	uint64_t interp, modules, mod, md, active;
	int err;

	/* free-threaded builds: another object header, dict keys with a
	 * mutex; none to check them against here */
	c.l = pl && !pl->free_threaded ? pyt_layout_for(pl->major, pl->minor) : NULL;
	if (!c.l || !pl->is_modules || !pl->str_ascii_data)
		return -ENOTSUP;
	interp = pyread__interp(r);
	if (!interp)
		return -EFAULT;
	err = read_u64(&c, interp + pl->is_modules, &modules);
	if (err)
		return err;
	/* before sys.modules exists, or after it is gone at exit */
	if (!modules)
		return -ENOENT;
	err = dict_get(&c, modules, "threading", &mod);
	if (err)
		return err;
	err = obj_is(&c, mod, PYT_MODULE);
	if (err <= 0)
		return err ? err : -EINVAL;
	err = read_u64(&c, mod + MD_DICT, &md);
	if (!err)
		err = dict_get(&c, md, "_active", &active);
	if (!err)
		err = dict_visit(&c, active, collect_visit, &t);
	if (err)
		return err;
	if (!t.n && t.bad)
		return t.first_err;
	return t.n;
}
