// SPDX-License-Identifier: Apache-2.0
/* The flame graph of `tgprof record` (flamegraph.svg): the folded stacks
 * become a tree of frames drawn as SVG with its own script (zoom, search),
 * so the file opens from disk in a browser with nothing else installed. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/flamegraph.h"
#include "exporter/frametype.h"
#include "lib/htab.h"
#include "lib/sat.h"

#define FG_MAX_LEVELS 1024 /* rows, the "all" row included */
#define FG_DEFAULT_WIDTH 1200
#define FG_MIN_WIDTH 200 /* narrower leaves no room for the controls */
#define FG_MAX_WIDTH 100000
#define FG_DEFAULT_MIN_PX 0.1
#define FG_PAD 10 /* px left and right of the frames */
#define FG_ROW 16 /* px per level */
#define FG_BOX 15 /* px of a frame's rectangle: one px between rows */
#define FG_TEXT_DY 11 /* label baseline below the top of its frame */
/* Mean glyph width of the 12 px label font in hundredths of a px: labels
 * are cut to what fits without measuring text (the script does the same
 * when it zooms). */
#define FG_CHAR_W100 708
#define FG_LABEL_PAD100 600
#define FG_MATCH_COLOR "rgb(230,0,230)"
/* The legend: one swatch and name per frame type drawn, in rows. */
#define FG_LEGEND_ROW 18
#define FG_LEGEND_BOX 12
/* Types without a color of their own listed by name; more share one
 * "other types" entry. */
#define FG_LEGEND_OTHERS 8

/* One folded stack, borrowed from the struct folded. */
struct fg_stack {
	const char *s;
	uint64_t count;
};

/* A frame on the path being walked: its name points into the stack that
 * opened it; its total is final once it is closed. */
struct fg_open {
	const char *name;
	size_t len;
	uint64_t total;
	uint64_t off; /* samples left of it on its row */
	uint64_t next_off; /* where its next child starts */
};

struct fg_layout {
	FILE *out;
	const char *count_name;
	uint64_t total;
	double px_per_sample;
	double min_px;
	unsigned int width;
	unsigned int top; /* y of the top row */
	bool emit; /* second pass: write the frames */
	uint32_t levels; /* rows drawn */
	size_t omitted; /* frames too narrow to draw */
	uint64_t stacks_cut; /* deeper than FG_MAX_LEVELS */
	uint32_t depth; /* open frames in path[], "all" included */
	/* Frame types among the frames drawn (first pass), for the legend. */
	bool kinds[FRAMETYPE_NKINDS];
	char others[FG_LEGEND_OTHERS][FRAMETYPE_MAX_NAME + 1];
	size_t nothers;
	bool more_others;
	unsigned int legend_rows;
	struct fg_open path[FG_MAX_LEVELS];
};

static int fg__collect(void *ctx, const char *stack, uint64_t count)
{
	struct fg_stack **pos = ctx;

	(*pos)->s = stack;
	(*pos)->count = count;
	(*pos)++;
	return 0;
}

/*
 * Orders stacks frame by frame: ';' sorts before every other byte, so the
 * stacks under one frame ("a;b" and every "a;b;...") are adjacent and each
 * frame is met once, with its children in name order. Plain byte order
 * would put "a;b!;c" between "a;b" and "a;b;c".
 */
static int fg__rank(char c)
{
	if (!c)
		return 0;
	if (c == ';')
		return 1;
	return (unsigned char)c + 2;
}

static int fg__cmp_frames(const void *a, const void *b)
{
	const char *x = ((const struct fg_stack *)a)->s;
	const char *y = ((const struct fg_stack *)b)->s;

	for (; *x && *x == *y; x++, y++)
		;
	return fg__rank(*x) - fg__rank(*y);
}

static int fg__frame(struct fg_layout *l, const struct fg_open *n,
		     uint32_t level);

/* Notes the type of a frame drawn, for the legend. */
static void fg__note_type(struct fg_layout *l, const struct fg_open *n)
{
	struct frametype_mark m;
	size_t i;

	frametype__parse(n->name, n->len, &m);
	l->kinds[m.kind] = true;
	if (m.kind != FRAMETYPE_K_OTHER)
		return;
	for (i = 0; i < l->nothers; i++)
		if (strlen(l->others[i]) == m.name_len &&
		    !memcmp(l->others[i], m.name, m.name_len))
			return;
	if (l->nothers == FG_LEGEND_OTHERS) {
		l->more_others = true;
		return;
	}
	memcpy(l->others[l->nothers], m.name, m.name_len);
	l->others[l->nothers++][m.name_len] = '\0';
}

/* Closes the innermost open frame: its total is final, so this is where it
 * is measured (first pass) or drawn (second pass). */
static int fg__close(struct fg_layout *l)
{
	uint32_t level = --l->depth;
	struct fg_open *n = &l->path[level];
	bool drawn;

	if (level)
		l->path[level - 1].next_off += n->total;
	/* A frame is never wider than its parent: what is drawn is a
	 * subtree of what is walked. */
	drawn = !level || (double)n->total * l->px_per_sample >= l->min_px;
	if (l->emit)
		return drawn ? fg__frame(l, n, level) : 0;
	if (!drawn) {
		l->omitted++;
		return 0;
	}
	if (level + 1 > l->levels)
		l->levels = level + 1;
	if (level > 1)
		fg__note_type(l, n);
	return 0;
}

/* Walks the frame tree of @v (in fg__cmp_frames order) holding only the
 * path to the current frame. */
static int fg__walk(struct fg_layout *l, const struct fg_stack *v, size_t n)
{
	const char *s, *end;
	struct fg_open *p;
	uint32_t level;
	size_t i, len;
	int err;

	l->path[0] =
		(struct fg_open){ .name = "all", .len = 3, .total = l->total };
	l->depth = 1;
	for (i = 0; i < n; i++) {
		for (s = v[i].s, level = 1;; s = end + 1, level++) {
			/* The samples of frames cut off stay in the last row
			 * kept, as its self time. */
			if (level == FG_MAX_LEVELS) {
				if (!l->emit)
					l->stacks_cut++;
				break;
			}
			end = strchr(s, ';');
			len = end ? (size_t)(end - s) : strlen(s);
			p = &l->path[level];
			if (level < l->depth && p->len == len &&
			    !memcmp(p->name, s, len)) {
				p->total = sat_add(p->total, v[i].count);
			} else {
				while (l->depth > level) {
					err = fg__close(l);
					if (err)
						return err;
				}
				*p = (struct fg_open){
					.name = s,
					.len = len,
					.total = v[i].count,
					.off = p[-1].next_off,
					.next_off = p[-1].next_off,
				};
				l->depth = level + 1;
			}
			if (!end)
				break;
		}
	}
	while (l->depth) {
		err = fg__close(l);
		if (err)
			return err;
	}
	return 0;
}

/* Decodes one UTF-8 sequence of @s (@len > 0). Returns its length and sets
 * *ret_cp, or returns 1 with *ret_cp = UINT32_MAX when it is invalid. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *ret_cp)
{
	uint32_t cp, min;
	size_t n, i;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		goto invalid;
	}
	if (len < n)
		goto invalid;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto invalid;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		goto invalid;
	*ret_cp = cp;
	return n;

invalid:
	*ret_cp = UINT32_MAX;
	return 1;
}

/* What XML 1.0 lets a document contain, minus the control characters
 * (tab and newlines included: a name is one line). */
static bool xml_char_ok(uint32_t cp)
{
	return (cp >= 0x20 && cp < 0x7f) || (cp >= 0xa0 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t i = 0, n = 0;
	uint32_t cp;

	while (i < len) {
		i += utf8_decode((const unsigned char *)s + i, len - i, &cp);
		n++;
	}
	return n;
}

/* Writes the first @max characters of @s escaped for XML text and
 * attributes; whatever XML cannot hold (invalid UTF-8, control
 * characters) becomes '?'. */
static void xml_put(FILE *out, const char *s, size_t len, size_t max)
{
	size_t i = 0, n, step;
	uint32_t cp;

	for (n = 0; i < len && n < max; n++, i += step) {
		step = utf8_decode((const unsigned char *)s + i, len - i, &cp);
		if (!xml_char_ok(cp)) {
			fputc('?', out);
			continue;
		}
		switch (cp) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			fwrite(s + i, 1, step, out);
		}
	}
}

static void xml_puts(FILE *out, const char *s)
{
	xml_put(out, s, strlen(s), SIZE_MAX);
}

/* A value in hundredths as "12.34", with integers: a host that set a
 * locale must not get "12,34" in its SVG. */
static void put_hundredths(FILE *out, uint64_t v)
{
	fprintf(out, "%" PRIu64 ".%02" PRIu64, v / 100, v % 100);
}

static uint64_t to_hundredths(double v)
{
	return v > 0 ? (uint64_t)(v * 100.0 + 0.5) : 0;
}

static void put_percent(FILE *out, uint64_t part, uint64_t whole)
{
	put_hundredths(out,
		       to_hundredths(whole ? (double)part * 100.0 / whole : 0));
}

static void hsl_to_rgb(unsigned int hue, unsigned int sat, unsigned int lig,
		       unsigned int rgb[3])
{
	double s = sat / 100.0, l = lig / 100.0, c, x, m, f, v[3];
	unsigned int sector = (hue / 60) % 6, i;

	c = (1.0 - (l > 0.5 ? 2.0 * l - 1.0 : 1.0 - 2.0 * l)) * s;
	f = (hue % 60) / 60.0;
	x = c * (sector % 2 ? 1.0 - f : f);
	m = l - c / 2.0;
	v[0] = v[1] = v[2] = 0;
	switch (sector) {
	case 0:
		v[0] = c, v[1] = x;
		break;
	case 1:
		v[0] = x, v[1] = c;
		break;
	case 2:
		v[1] = c, v[2] = x;
		break;
	case 3:
		v[1] = x, v[2] = c;
		break;
	case 4:
		v[0] = x, v[2] = c;
		break;
	default:
		v[0] = c, v[2] = x;
	}
	for (i = 0; i < 3; i++)
		rgb[i] = (unsigned int)((v[i] + m) * 255.0 + 0.5);
}

/* flamegraph.pl's palettes (its --color=java: red native code, orange
 * kernel, green JIT, aqua inlined), blue for CPython, grey for a type
 * without a color of its own; @v in [0, 1] picks the shade. */
static void fg__palette(enum frametype_kind kind, double v, unsigned int rgb[3])
{
	switch (kind) {
	case FRAMETYPE_K_NATIVE:
		rgb[0] = 200 + (unsigned int)(55 * v);
		rgb[1] = rgb[2] = 50 + (unsigned int)(80 * v);
		break;
	case FRAMETYPE_K_KERNEL:
		rgb[0] = 190 + (unsigned int)(65 * v);
		rgb[1] = 90 + (unsigned int)(65 * v);
		rgb[2] = 0;
		break;
	case FRAMETYPE_K_JIT:
		rgb[0] = rgb[2] = 50 + (unsigned int)(60 * v);
		rgb[1] = 200 + (unsigned int)(55 * v);
		break;
	case FRAMETYPE_K_INLINED:
		rgb[0] = 50 + (unsigned int)(60 * v);
		rgb[1] = rgb[2] = 165 + (unsigned int)(55 * v);
		break;
	case FRAMETYPE_K_CPYTHON:
		rgb[0] = rgb[1] = 80 + (unsigned int)(60 * v);
		rgb[2] = 190 + (unsigned int)(55 * v);
		break;
	default:
		rgb[0] = rgb[1] = rgb[2] = 150 + (unsigned int)(50 * v);
	}
}

/*
 * A frame's color says what it is: its frame type's palette (the mark it
 * carries, frametype.h), violet for the process row, grey for "all".
 * The shade comes from a hash of the name, so a function keeps its color
 * from one profile to the next.
 */
static void fg__color(const struct fg_open *n, uint32_t level,
		      unsigned int rgb[3])
{
	uint64_t h = hash_bytes(n->name, n->len, 0x746770726f66ULL);
	unsigned int a = h % 1000, b = (h >> 20) % 1000, c = (h >> 40) % 1000;
	struct frametype_mark m;

	if (level == 0) {
		hsl_to_rgb(45, 6, 80, rgb);
	} else if (level == 1) {
		hsl_to_rgb(262 + a % 26, 32 + b % 20, 70 + c % 10, rgb);
	} else {
		frametype__parse(n->name, n->len, &m);
		fg__palette(m.kind, a / 999.0, rgb);
	}
}

static int fg__frame(struct fg_layout *l, const struct fg_open *n,
		     uint32_t level)
{
	uint64_t x = to_hundredths(FG_PAD + (double)n->off * l->px_per_sample);
	uint64_t r = to_hundredths(FG_PAD + (double)(n->off + n->total) *
						    l->px_per_sample);
	unsigned int y = l->top + (l->levels - 1 - level) * FG_ROW;
	unsigned int rgb[3];
	size_t fit = 0;
	FILE *out = l->out;

	/* Right edges come from offsets too, so rounding never lets a child
	 * poke out of its parent. */
	if (r - x > FG_LABEL_PAD100)
		fit = (r - x - FG_LABEL_PAD100) / FG_CHAR_W100;
	fg__color(n, level, rgb);

	fprintf(out, "<g data-o=\"%" PRIu64 "\" data-n=\"%" PRIu64 "\"><title>",
		n->off, n->total);
	xml_put(out, n->name, n->len, SIZE_MAX);
	fputs(" (", out);
	if (level > 1) {
		struct frametype_mark m;

		/* The tooltip names the type of a marked frame. */
		frametype__parse(n->name, n->len, &m);
		if (m.kind != FRAMETYPE_K_NATIVE) {
			xml_put(out, m.name, m.name_len, SIZE_MAX);
			fputs(", ", out);
		}
	}
	fprintf(out, "%" PRIu64 " ", n->total);
	xml_puts(out, l->count_name);
	fputs(", ", out);
	put_percent(out, n->total, l->total);
	fputs("%)</title><rect x=\"", out);
	put_hundredths(out, x);
	fprintf(out, "\" y=\"%u\" width=\"", y);
	put_hundredths(out, r - x);
	fprintf(out, "\" height=\"%u\" fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
		FG_BOX, rgb[0], rgb[1], rgb[2]);
	fputs("<text x=\"", out);
	put_hundredths(out, x + 300);
	fprintf(out, "\" y=\"%u\">", y + FG_TEXT_DY);
	if (fit >= 3) {
		if (utf8_chars(n->name, n->len) <= fit) {
			xml_put(out, n->name, n->len, SIZE_MAX);
		} else {
			xml_put(out, n->name, n->len, fit - 2);
			fputs("..", out);
		}
	}
	fputs("</text></g>\n", out);
	return 0;
}

static const char fg_style[] =
	"<style type=\"text/css\"><![CDATA[\n"
	"text { font-family: Verdana, Helvetica, sans-serif; font-size: 12px;"
	" fill: #000; }\n"
	"#title { font-size: 17px; text-anchor: middle; }\n"
	"#subtitle { text-anchor: middle; fill: #555; }\n"
	"#note, #empty { fill: #666; }\n"
	"#empty { font-size: 17px; text-anchor: middle; }\n"
	"#search, #matched { text-anchor: end; }\n"
	".ctl { fill: #1a4c9c; cursor: pointer; }\n"
	".ctl:hover { text-decoration: underline; }\n"
	"#frames g { cursor: pointer; }\n"
	"#frames rect { stroke: #fff; stroke-width: 0.5; }\n"
	"#frames g:hover rect { stroke: #000; }\n"
	"#frames text { pointer-events: none; }\n"
	".parent { opacity: 0.55; }\n"
	".hide { display: none; }\n"
	"#legend g[data-re] { cursor: pointer; }\n"
	"#legend g[data-re]:hover text { text-decoration: underline; }\n"
	"]]></style>\n";

/* Plain script for any browser: frames know their place in samples
 * (data-o, data-n), so zooming is exact arithmetic. */
static const char fg_script[] =
	"\"use strict\";\n"
	"var tg = { frames: [], root: null, total: 0, re: null, last: \"\" };\n"
	"function tgFrameOf(el) {\n"
	"  while (el && el.parentNode) {\n"
	"    if (el.parentNode.id === \"frames\") return el;\n"
	"    el = el.parentNode;\n"
	"  }\n"
	"  return null;\n"
	"}\n"
	"function tgLabel(g, w) {\n"
	"  var fit = Math.floor((w - 6) / TG_CHAR);\n"
	"  if (fit < 3) return \"\";\n"
	"  if (g.tgChars.length <= fit) return g.tgName;\n"
	"  return g.tgChars.slice(0, fit - 2).join(\"\") + \"..\";\n"
	"}\n"
	"function tgPlace(g, x, w) {\n"
	"  g.tgRect.setAttribute(\"x\", x.toFixed(2));\n"
	"  g.tgRect.setAttribute(\"width\", w.toFixed(2));\n"
	"  g.tgText.setAttribute(\"x\", (x + 3).toFixed(2));\n"
	"  g.tgText.textContent = tgLabel(g, w);\n"
	"}\n"
	"function tgUnzoom() {\n"
	"  var k = TG_WIDTH / tg.total;\n"
	"  tg.frames.forEach(function (f) {\n"
	"    f.classList.remove(\"hide\", \"parent\");\n"
	"    tgPlace(f, TG_PAD + f.tgO * k, f.tgN * k);\n"
	"  });\n"
	"  tg.unzoom.classList.add(\"hide\");\n"
	"}\n"
	"function tgZoom(g) {\n"
	"  var lo = g.tgO, hi = g.tgO + g.tgN, k = TG_WIDTH / g.tgN;\n"
	"  if (g === tg.root) { tgUnzoom(); return; }\n"
	"  tg.frames.forEach(function (f) {\n"
	"    var fhi = f.tgO + f.tgN;\n"
	"    if (f.tgY > g.tgY && f.tgO <= lo && fhi >= hi) {\n"
	"      f.classList.remove(\"hide\");\n"
	"      f.classList.add(\"parent\");\n"
	"      tgPlace(f, TG_PAD, TG_WIDTH);\n"
	"    } else if (f.tgY <= g.tgY && f.tgO >= lo && fhi <= hi) {\n"
	"      f.classList.remove(\"hide\", \"parent\");\n"
	"      tgPlace(f, TG_PAD + (f.tgO - lo) * k, f.tgN * k);\n"
	"    } else {\n"
	"      f.classList.add(\"hide\");\n"
	"    }\n"
	"  });\n"
	"  tg.unzoom.classList.remove(\"hide\");\n"
	"}\n"
	"function tgClearSearch() {\n"
	"  tg.re = null;\n"
	"  tg.frames.forEach(function (f) {\n"
	"    f.tgRect.setAttribute(\"fill\", f.tgFill);\n"
	"  });\n"
	"  tg.matched.textContent = \" \";\n"
	"  tg.search.textContent = \"Search\";\n"
	"}\n"
	"function tgSearch(src) {\n"
	"  var re, spans = [], sum = 0, end = 0;\n"
	"  try {\n"
	"    re = new RegExp(src);\n"
	"  } catch (err) {\n"
	"    tg.matched.textContent = \"Not a regular expression: \" + src;\n"
	"    return;\n"
	"  }\n"
	"  tg.re = re;\n"
	"  tg.last = src;\n"
	"  tg.frames.forEach(function (f) {\n"
	"    if (f !== tg.root && re.test(f.tgName)) {\n"
	"      f.tgRect.setAttribute(\"fill\", TG_MATCH);\n"
	"      spans.push([f.tgO, f.tgO + f.tgN]);\n"
	"    } else {\n"
	"      f.tgRect.setAttribute(\"fill\", f.tgFill);\n"
	"    }\n"
	"  });\n"
	"  /* Nested matches cover the same samples: count their union. */\n"
	"  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
	"  spans.forEach(function (s) {\n"
	"    if (s[1] <= end) return;\n"
	"    sum += s[1] - Math.max(s[0], end);\n"
	"    end = s[1];\n"
	"  });\n"
	"  tg.matched.textContent = \"Matched: \" +\n"
	"    (100 * sum / tg.total).toFixed(2) + \"%\";\n"
	"  tg.search.textContent = \"Reset Search\";\n"
	"}\n"
	"function tgAskSearch() {\n"
	"  var src = window.prompt(\"Search frames (regular expression)\",\n"
	"                          tg.last);\n"
	"  if (src === null) return;\n"
	"  if (src === \"\") tgClearSearch(); else tgSearch(src);\n"
	"}\n"
	"function tgInit() {\n"
	"  var box = document.getElementById(\"frames\");\n"
	"  tg.details = document.getElementById(\"details\");\n"
	"  tg.matched = document.getElementById(\"matched\");\n"
	"  tg.unzoom = document.getElementById(\"unzoom\");\n"
	"  tg.search = document.getElementById(\"search\");\n"
	"  tg.legend = document.getElementById(\"legend\");\n"
	"  if (!box) return;\n"
	"  Array.prototype.forEach.call(box.getElementsByTagName(\"g\"),\n"
	"                               function (g) {\n"
	"    var title = g.getElementsByTagName(\"title\")[0].textContent;\n"
	"    var cut = title.lastIndexOf(\" (\");\n"
	"    g.tgTitle = title;\n"
	"    g.tgName = cut < 0 ? title : title.substring(0, cut);\n"
	"    g.tgChars = Array.from(g.tgName);\n"
	"    g.tgRect = g.getElementsByTagName(\"rect\")[0];\n"
	"    g.tgText = g.getElementsByTagName(\"text\")[0];\n"
	"    g.tgFill = g.tgRect.getAttribute(\"fill\");\n"
	"    g.tgO = Number(g.getAttribute(\"data-o\"));\n"
	"    g.tgN = Number(g.getAttribute(\"data-n\"));\n"
	"    g.tgY = Number(g.tgRect.getAttribute(\"y\"));\n"
	"    if (!tg.root || g.tgY > tg.root.tgY) tg.root = g;\n"
	"    tg.frames.push(g);\n"
	"  });\n"
	"  if (!tg.root) return;\n"
	"  tg.total = tg.root.tgN;\n"
	"  box.addEventListener(\"click\", function (e) {\n"
	"    var g = tgFrameOf(e.target);\n"
	"    if (g) tgZoom(g);\n"
	"  });\n"
	"  box.addEventListener(\"mouseover\", function (e) {\n"
	"    var g = tgFrameOf(e.target);\n"
	"    if (g) tg.details.textContent = g.tgTitle;\n"
	"  });\n"
	"  box.addEventListener(\"mouseout\", function () {\n"
	"    tg.details.textContent = \" \";\n"
	"  });\n"
	"  tg.unzoom.addEventListener(\"click\", tgUnzoom);\n"
	"  /* A legend entry searches for the frames of its type. */\n"
	"  if (tg.legend) tg.legend.addEventListener(\"click\", function (e) {\n"
	"    var el = e.target;\n"
	"    while (el && el !== tg.legend && !el.getAttribute(\"data-re\"))\n"
	"      el = el.parentNode;\n"
	"    if (el && el !== tg.legend) tgSearch(el.getAttribute(\"data-re\"));\n"
	"  });\n"
	"  tg.search.addEventListener(\"click\", function () {\n"
	"    if (tg.re) tgClearSearch(); else tgAskSearch();\n"
	"  });\n"
	"  document.addEventListener(\"keydown\", function (e) {\n"
	"    if ((e.ctrlKey || e.metaKey) && (e.key === \"f\" || e.key === \"F\")) {\n"
	"      e.preventDefault();\n"
	"      tgAskSearch();\n"
	"    } else if (e.key === \"Escape\") {\n"
	"      tgClearSearch();\n"
	"    }\n"
	"  });\n"
	"}\n"
	"window.addEventListener(\"load\", tgInit);\n";

static void fg__header(FILE *out, const char *title, const char *subtitle,
		       unsigned int width, unsigned int height)
{
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n",
	      out);
	fprintf(out,
		"<svg version=\"1.1\" width=\"%u\" height=\"%u\" "
		"viewBox=\"0 0 %u %u\" xmlns=\"http://www.w3.org/2000/svg\">\n",
		width, height, width, height);
	fputs("<!-- tgprof flame graph: click a frame to zoom, Ctrl-F to "
	      "search -->\n",
	      out);
	fputs(fg_style, out);
	fprintf(out,
		"<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" "
		"fill=\"#f7f7f2\"/>\n",
		width, height);
	fprintf(out, "<text id=\"title\" x=\"%u\" y=\"24\">", width / 2);
	xml_puts(out, title);
	fputs("</text>\n", out);
	if (subtitle) {
		fprintf(out, "<text id=\"subtitle\" x=\"%u\" y=\"42\">",
			width / 2);
		xml_puts(out, subtitle);
		fputs("</text>\n", out);
	}
}

/* One legend entry: a frame type's swatch and name; @re, the regular
 * expression a click searches for (NULL: none). */
struct fg_legend_entry {
	const char *label; /* "kernel" */
	const char *mark; /* "_[k]", or NULL */
	enum frametype_kind kind;
	char re[2 * FRAMETYPE_MAX_NAME + 16];
};

/* Writes the regular expression of frames ending with "_[@name]". */
static void fg__mark_re(char *buf, const char *name, size_t len)
{
	size_t i, n = 0;

	n += (size_t)sprintf(buf, "_\\[");
	for (i = 0; i < len; i++) {
		if (name[i] == '.' || name[i] == '+')
			buf[n++] = '\\';
		buf[n++] = name[i];
	}
	strcpy(buf + n, "\\]$");
}

/* Calls @fn for every entry of the legend: the known types present in
 * their fixed order, then the others by name (the first
 * FG_LEGEND_OTHERS met). */
static void fg__legend(const struct fg_layout *l,
		       void (*fn)(void *ctx, const struct fg_legend_entry *e),
		       void *ctx)
{
	static const char *const marks[FRAMETYPE_NKINDS] = {
		[FRAMETYPE_K_INLINED] = "i",
		[FRAMETYPE_K_KERNEL] = "k",
		[FRAMETYPE_K_JIT] = "j",
		[FRAMETYPE_K_CPYTHON] = "p",
	};
	struct fg_legend_entry e;
	char mark[FRAMETYPE_SUFFIX_MAX];
	int k;
	size_t i;

	for (k = 0; k < FRAMETYPE_K_OTHER; k++) {
		if (!l->kinds[k])
			continue;
		e.label = frametype__kind_name(k);
		e.kind = k;
		e.mark = NULL;
		e.re[0] = '\0';
		if (marks[k]) {
			snprintf(mark, sizeof(mark), "_[%s]", marks[k]);
			e.mark = mark;
			fg__mark_re(e.re, marks[k], 1);
		}
		fn(ctx, &e);
	}
	for (i = 0; i < l->nothers; i++) {
		e.label = l->others[i];
		e.kind = FRAMETYPE_K_OTHER;
		snprintf(mark, sizeof(mark), "_[%s]", l->others[i]);
		e.mark = mark;
		fg__mark_re(e.re, l->others[i], strlen(l->others[i]));
		fn(ctx, &e);
	}
	if (l->more_others) {
		e.label = "other types";
		e.kind = FRAMETYPE_K_OTHER;
		e.mark = NULL;
		strcpy(e.re, "_\\[(?![ijkp]\\])[A-Za-z0-9._+-]+\\]$");
		fn(ctx, &e);
	}
}

/* Where the legend's next entry goes: entries flow left to right and
 * wrap at the frames' width. */
struct fg_legend_pos {
	const struct fg_layout *l;
	FILE *out; /* NULL: only count the rows */
	unsigned int y; /* baseline of the first row */
	uint64_t x100; /* hundredths of a px */
	unsigned int rows;
};

static uint64_t fg__legend_width100(const struct fg_legend_entry *e)
{
	size_t chars = utf8_chars(e->label, strlen(e->label));

	if (e->mark)
		chars += strlen(e->mark) + 3;
	return (uint64_t)(FG_LEGEND_BOX + 5) * 100 + chars * FG_CHAR_W100 +
	       1200;
}

static void fg__legend_place(void *ctx, const struct fg_legend_entry *e)
{
	struct fg_legend_pos *p = ctx;
	uint64_t w = fg__legend_width100(e);
	uint64_t right = (uint64_t)(p->l->width - FG_PAD) * 100;
	unsigned int rgb[3], y;

	if (!p->rows) {
		p->rows = 1;
		p->x100 = FG_PAD * 100;
	} else if (p->x100 + w > right && p->x100 > FG_PAD * 100) {
		p->rows++;
		p->x100 = FG_PAD * 100;
	}
	y = p->y + (p->rows - 1) * FG_LEGEND_ROW;
	if (p->out) {
		fg__palette(e->kind, 0.5, rgb);
		fputs("<g", p->out);
		if (e->re[0]) {
			fputs(" data-re=\"", p->out);
			xml_puts(p->out, e->re);
			fputs("\"", p->out);
		}
		fputs("><rect x=\"", p->out);
		put_hundredths(p->out, p->x100);
		fprintf(p->out,
			"\" y=\"%u\" width=\"%u\" height=\"%u\" "
			"fill=\"rgb(%u,%u,%u)\" rx=\"2\"/><text x=\"",
			y - FG_LEGEND_BOX + 2, FG_LEGEND_BOX, FG_LEGEND_BOX,
			rgb[0], rgb[1], rgb[2]);
		put_hundredths(p->out, p->x100 + (FG_LEGEND_BOX + 5) * 100);
		fprintf(p->out, "\" y=\"%u\">", y);
		xml_puts(p->out, e->label);
		if (e->mark) {
			fputs(" (", p->out);
			xml_puts(p->out, e->mark);
			fputc(')', p->out);
		}
		fputs("</text></g>\n", p->out);
	}
	p->x100 += w;
}

static int fg__cmp_other(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The rows of the legend (first pass done). */
static unsigned int fg__legend_rows(const struct fg_layout *l)
{
	struct fg_legend_pos p = { .l = l };

	fg__legend(l, fg__legend_place, &p);
	return p.rows;
}

static void fg__legend_write(const struct fg_layout *l, unsigned int y)
{
	struct fg_legend_pos p = { .l = l, .out = l->out, .y = y };

	if (!l->legend_rows)
		return;
	fprintf(l->out, "<g id=\"legend\">\n");
	fg__legend(l, fg__legend_place, &p);
	fputs("</g>\n", l->out);
}

static void fg__controls(const struct fg_layout *l)
{
	unsigned int status = l->top + l->levels * FG_ROW + 18;
	FILE *out = l->out;

	fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n");
	fprintf(out,
		"var TG_PAD = %u, TG_WIDTH = %u, TG_CHAR = %u.%02u, "
		"TG_MATCH = \"%s\";\n",
		FG_PAD, l->width - 2 * FG_PAD, FG_CHAR_W100 / 100,
		FG_CHAR_W100 % 100, FG_MATCH_COLOR);
	fputs(fg_script, out);
	fputs("]]></script>\n", out);
	fprintf(out,
		"<text id=\"unzoom\" class=\"ctl hide\" x=\"%u\" y=\"24\">"
		"Reset Zoom</text>\n",
		FG_PAD);
	fprintf(out,
		"<text id=\"search\" class=\"ctl\" x=\"%u\" y=\"24\">"
		"Search</text>\n",
		l->width - FG_PAD);
	fprintf(out, "<text id=\"details\" x=\"%u\" y=\"%u\"> </text>\n",
		FG_PAD, status);
	fprintf(out, "<text id=\"matched\" x=\"%u\" y=\"%u\"> </text>\n",
		l->width - FG_PAD, status);
}

static void fg__note(const struct fg_layout *l, unsigned int y)
{
	FILE *out = l->out;

	fprintf(out, "<text id=\"note\" x=\"%u\" y=\"%u\">", FG_PAD, y);
	if (l->omitted) {
		fprintf(out, "%zu frame%s narrower than ", l->omitted,
			l->omitted == 1 ? "" : "s");
		put_hundredths(out, to_hundredths(l->min_px));
		fputs(" px not drawn", out);
	}
	if (l->omitted && l->stacks_cut)
		fputs("; ", out);
	if (l->stacks_cut)
		fprintf(out, "%" PRIu64 " stack%s cut at %u levels",
			l->stacks_cut, l->stacks_cut == 1 ? "" : "s",
			FG_MAX_LEVELS);
	fputs("</text>\n", out);
}

#define FG_OPT_SET(o, field)                                         \
	((o) && (o)->sz >= offsetof(struct flamegraph_opts, field) + \
				   sizeof((o)->field))

static int fg__finish(FILE *out)
{
	if (fflush(out) || ferror(out))
		return errno ? -errno : -EIO;
	return 0;
}

int flamegraph__write(const struct folded *f, const struct flamegraph_opts *o,
		      FILE *out)
{
	const char *title = "tgprof CPU flame graph", *subtitle = NULL;
	struct fg_stack *v = NULL, *pos;
	struct fg_layout *l;
	unsigned int height, bottom, legend_y;
	size_t n;
	int err;

	if (!f || !out || (o && o->sz < sizeof(o->sz)))
		return -EINVAL;
	/* The path alone is tens of KiB: not for the caller's stack. */
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->out = out;
	l->count_name = "samples";
	if (FG_OPT_SET(o, title) && o->title)
		title = o->title;
	if (FG_OPT_SET(o, subtitle) && o->subtitle && o->subtitle[0])
		subtitle = o->subtitle;
	if (FG_OPT_SET(o, count_name) && o->count_name && o->count_name[0])
		l->count_name = o->count_name;
	l->width = FG_OPT_SET(o, width) && o->width ? o->width :
						      FG_DEFAULT_WIDTH;
	if (l->width < FG_MIN_WIDTH)
		l->width = FG_MIN_WIDTH;
	if (l->width > FG_MAX_WIDTH)
		l->width = FG_MAX_WIDTH;
	/* NaN and negative widths fail the test: the default applies. */
	l->min_px = FG_OPT_SET(o, min_width_px) && o->min_width_px > 0 ?
			    o->min_width_px :
			    FG_DEFAULT_MIN_PX;
	l->top = subtitle ? 56 : 36;
	l->total = folded__total(f);
	n = folded__stacks(f);

	if (!l->total || !n) {
		height = l->top + 60;
		fg__header(out, title, subtitle, l->width, height);
		fprintf(out,
			"<text id=\"empty\" x=\"%u\" y=\"%u\">no samples</text>\n"
			"</svg>\n",
			l->width / 2, l->top + 30);
		err = fg__finish(out);
		goto out_free;
	}

	v = malloc(n * sizeof(*v));
	if (!v) {
		err = -ENOMEM;
		goto out_free;
	}
	pos = v;
	err = folded__for_each(f, fg__collect, &pos);
	if (err)
		goto out_free;
	qsort(v, n, sizeof(*v), fg__cmp_frames);
	l->px_per_sample = (double)(l->width - 2 * FG_PAD) / l->total;

	/* First pass: how many rows, what is too narrow. */
	err = fg__walk(l, v, n);
	if (err)
		goto out_free;
	/* Below the frames: the status line, the legend, the note. */
	qsort(l->others, l->nothers, sizeof(l->others[0]), fg__cmp_other);
	l->legend_rows = fg__legend_rows(l);
	bottom = l->top + l->levels * FG_ROW + 18;
	legend_y = bottom + 20;
	if (l->legend_rows)
		bottom = legend_y + (l->legend_rows - 1) * FG_LEGEND_ROW;
	if (l->omitted || l->stacks_cut)
		bottom += 16;
	height = bottom + 8;
	fg__header(out, title, subtitle, l->width, height);
	fg__controls(l);
	fg__legend_write(l, legend_y);
	if (l->omitted || l->stacks_cut)
		fg__note(l, bottom);

	/* Second pass: the frames, each written when it closes (children
	 * before their parent). */
	fputs("<g id=\"frames\">\n", out);
	l->emit = true;
	err = fg__walk(l, v, n);
	if (err)
		goto out_free;
	fputs("</g>\n</svg>\n", out);
	err = fg__finish(out);

out_free:
	free(v);
	free(l);
	return err;
}
